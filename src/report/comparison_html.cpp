#include "comparison_html.h"

#include <cmath>

#include <fmt/format.h>

#include "collapse/report/comparison.h"
#include "collapse/report/headline.h"
#include "collapse/report/report.h"
#include "collapse/report/svg_plot.h"
#include "collapse/score/metric_catalog.h"

namespace collapse {
namespace {

using nlohmann::json;
using svg::escape;

std::string num(double v, const char* format = "{:.4g}") {
  return std::isfinite(v) ? fmt::format(fmt::runtime(format), v) : "–";
}
std::string num(const json& v, const char* format = "{:.4g}") {
  return v.is_null() ? "–" : num(v.get<double>(), format);
}
std::string interval(const json& low, const json& high) {
  return low.is_null() ? "–" : fmt::format("[{}, {}]", num(low), num(high));
}

std::string title_of(const std::string& metric) {
  const MetricInfo* info = find_metric(metric);
  return info ? info->title : metric;
}

}  // namespace

std::string headline_section(const RunResults& run, const std::vector<std::pair<std::string, std::string>>& pairs) {
  const std::string metric = run.config.base.report.headline;
  std::string out = fmt::format("<section class=\"headline\">\n<h2>Headline: {} <code>{}</code></h2>\n",
                                escape(title_of(metric)), escape(metric));
  const std::vector<FoldChange> folds = fold_changes(run, metric);
  if (folds.empty()) {
    out += "<p class=\"muted\">No arm has finished a generation after generation 0 with this metric yet.</p>\n";
  } else {
    out += "<p class=\"lead\">Each arm's last finished generation against its own generation 0: the ratio "
           "per seed (one seed's generations are one lineage), then the mean ratio and its 95% "
           "t-interval over seeds.</p>\n<table>\n<tr><th>arm</th><th>generation</th><th>x-fold of "
           "generation 0</th><th>95% CI</th><th>seeds</th></tr>\n";
    for (const FoldChange& f : folds) {
      out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\"><b>{}x</b></td><td>{}</td>"
                         "<td class=\"num\">{}</td></tr>\n",
                         escape(f.arm), f.generation, num(f.mean, "{:.3f}"),
                         std::isfinite(f.ci_low) ? fmt::format("{}x – {}x", num(f.ci_low, "{:.3f}"), num(f.ci_high, "{:.3f}"))
                                                 : "– (one seed)",
                         f.seeds);
    }
    out += "</table>\n";
  }
  if (!pairs.empty()) {
    out += "<p class=\"lead\">Compared pairs at the last generation both arms finished: mean(A) − mean(B), "
           "paired by seed where both ran the same seeds (Welch otherwise), p Holm-corrected across the "
           "generations compared; \"detected\" means Holm p &lt; 0.05.</p>\n<table>\n<tr><th>A − B</th>"
           "<th>generation</th><th>difference</th><th>95% CI</th><th>p (Holm)</th><th>test</th><th>verdict</th></tr>\n";
    for (const auto& [a, b] : pairs) {
      const PairVerdict v = pair_verdict(run, a, b, metric);
      if (v.row.is_null()) {
        out += fmt::format("<tr><td>{} − {}</td><td colspan=\"6\" class=\"muted\">{}</td></tr>\n", escape(a),
                           escape(b), escape(v.verdict));
        continue;
      }
      out += fmt::format("<tr><td>{} − {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>"
                         "<td class=\"num\">{}</td><td>{}</td><td><b>{}</b></td></tr>\n",
                         escape(a), escape(b), v.row.at("generation").get<std::int64_t>(), num(v.row.at("diff")),
                         interval(v.row.at("ci_low"), v.row.at("ci_high")), num(v.row.at("p_holm"), "{:.3g}"),
                         escape(v.row.at("test").get<std::string>()), escape(v.verdict));
    }
    out += "</table>\n";
  }
  return out + "</section>\n";
}

std::string comparison_section(const RunResults& run, const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.empty()) return "";
  std::string out =
      "<section>\n<h2>Comparisons</h2>\n<p class=\"lead\">Per metric and generation: mean(A) − mean(B) over "
      "seeds with its 95% confidence interval and two-sided p-value: a paired t-test where both arms "
      "finished the same seeds, Welch's t-test otherwise; the p-values of a metric are Holm-corrected "
      "across the generations shown. Arms that share generation 0 are identical there by "
      "construction. Slopes: each seed's least-squares slope over its generations, their mean and "
      "t-interval over seeds.</p>\n";
  for (const auto& [a, b] : pairs) {
    const json c = compare_arms(run, a, b);
    out += fmt::format("<h3>{} − {}</h3>\n<div class=\"grid\">\n", escape(a), escape(b));
    std::string metric;
    for (const json& r : c.at("comparisons")) {
      if (r.at("metric") != metric) {
        if (!metric.empty()) out += "</table>\n</div>\n";
        metric = r.at("metric").get<std::string>();
        out += fmt::format("<div class=\"card\">\n<p><b>{}</b> <code>{}</code></p>\n<table>\n<tr><th>gen</th>"
                           "<th>diff</th><th>95% CI</th><th>p</th><th>p (Holm)</th><th>test</th><th></th></tr>\n",
                           escape(title_of(metric)), escape(metric));
      }
      out += fmt::format("<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>"
                         "<td class=\"num\">{}</td><td>{}</td><td class=\"muted\">{}</td></tr>\n",
                         r.at("generation").get<std::int64_t>(), num(r.at("diff")), interval(r.at("ci_low"), r.at("ci_high")),
                         num(r.at("p"), "{:.3g}"), num(r.at("p_holm"), "{:.3g}"), escape(r.at("test").get<std::string>()),
                         escape(r.at("note").get<std::string>()));
    }
    if (!metric.empty()) out += "</table>\n</div>\n";
    out += "</div>\n";
    if (!c.at("slopes").empty()) {
      out += "<table>\n<tr><th>arm</th><th>metric</th><th>seeds</th><th>slope per generation</th><th>95% CI</th></tr>\n";
      for (const json& s : c.at("slopes")) {
        out += fmt::format("<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                           "<td>{}</td></tr>\n",
                           escape(s.at("arm").get<std::string>()), escape(s.at("metric").get<std::string>()),
                           s.at("seeds").get<std::int64_t>(), num(s.at("slope")), interval(s.at("ci_low"), s.at("ci_high")));
      }
      out += "</table>\n";
    }
  }
  return out + "</section>\n";
}

}  // namespace collapse
