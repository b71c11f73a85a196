#include "collapse/report/comparison.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/ranges.h>

#include "collapse/report/report.h"
#include "collapse/report/statistics.h"
#include "collapse/util/error.h"

namespace collapse {
namespace {

using json = nlohmann::json;

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// seed -> value of `metric` for `arm` at `generation` (finite values only).
std::map<std::uint64_t, double> by_seed(const RunResults& run, const std::string& arm, std::int64_t generation,
                                        const std::string& metric) {
  std::map<std::uint64_t, double> out;
  for (const MetricRow& r : run.rows) {
    if (r.arm == arm && r.generation == generation && r.metric == metric && std::isfinite(r.value)) out[r.seed] = r.value;
  }
  return out;
}

std::vector<double> values_of(const std::map<std::uint64_t, double>& m) {
  std::vector<double> v;
  for (const auto& [seed, value] : m) v.push_back(value);
  return v;
}

std::string note_of(const Difference& d) {
  if (d.identical) return "identical by construction";
  if (d.zero_variance) return "zero variance";
  if (!std::isfinite(d.ci_low)) return "one seed";
  return "";
}

std::string cell(const json& v, const char* format = "{:.4g}") {
  return v.is_null() ? "–" : fmt::format(fmt::runtime(format), v.get<double>());
}

}  // namespace

json compare_arms(const RunResults& run, const std::string& a, const std::string& b, std::vector<std::string> metrics) {
  for (const std::string& arm : {a, b}) {
    if (std::find(run.arms.begin(), run.arms.end(), arm) == run.arms.end()) {
      fail("{}: no arm named '{}' to compare (the arms are {})", run.dir.string(), arm, fmt::join(run.arms, ", "));
    }
  }
  if (metrics.empty()) metrics = summary_metrics(run);
  json out = {{"comparisons", json::array()}, {"slopes", json::array()}};
  const std::vector<std::int64_t> ga = run.generations(a), gb = run.generations(b);
  std::vector<std::int64_t> both;
  std::set_intersection(ga.begin(), ga.end(), gb.begin(), gb.end(), std::back_inserter(both));
  for (const std::string& metric : metrics) {
    std::vector<json> rows;
    std::vector<double> p;
    for (const std::int64_t g : both) {
      const auto va = by_seed(run, a, g, metric), vb = by_seed(run, b, g, metric);
      if (va.empty() || vb.empty()) continue;
      std::vector<std::uint64_t> sa, sb;
      for (const auto& [s, v] : va) sa.push_back(s);
      for (const auto& [s, v] : vb) sb.push_back(s);
      const Difference d = sa == sb ? paired_difference(values_of(va), values_of(vb))
                                    : welch_difference(values_of(va), values_of(vb));
      rows.push_back({{"a", a}, {"b", b}, {"metric", metric}, {"generation", g}, {"n_a", d.n_a}, {"n_b", d.n_b},
                      {"diff", number(d.diff)}, {"ci_low", number(d.ci_low)}, {"ci_high", number(d.ci_high)},
                      {"p", number(d.p)}, {"test", d.test}, {"note", note_of(d)}});
      p.push_back(d.p);
    }
    const std::vector<double> holm = holm_adjust(p);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i]["p_holm"] = number(holm[i]);
      out["comparisons"].push_back(rows[i]);
    }
  }
  for (const std::string& arm : {a, b}) {
    for (const std::string& metric : metrics) {
      std::map<std::uint64_t, std::pair<std::vector<double>, std::vector<double>>> lineages;
      for (const MetricRow& r : run.rows) {
        if (r.arm == arm && r.metric == metric && std::isfinite(r.value)) {
          lineages[r.seed].first.push_back(static_cast<double>(r.generation));
          lineages[r.seed].second.push_back(r.value);
        }
      }
      std::vector<std::vector<double>> x, y;
      for (auto& [seed, xy] : lineages) {
        x.push_back(xy.first);
        y.push_back(xy.second);
      }
      const Slope s = mean_slope(x, y);
      if (s.seeds == 0) continue;
      out["slopes"].push_back({{"arm", arm}, {"metric", metric}, {"seeds", s.seeds}, {"slope", number(s.slope)},
                               {"ci_low", number(s.ci_low)}, {"ci_high", number(s.ci_high)}});
    }
  }
  return out;
}

std::string comparison_markdown(const json& c) {
  std::string out;
  std::string metric;
  for (const json& r : c.at("comparisons")) {
    if (r.at("metric") != metric) {
      metric = r.at("metric").get<std::string>();
      out += fmt::format("\n### {}: {} − {}\n\n", metric, r.at("a").get<std::string>(), r.at("b").get<std::string>());
      out += "| gen | diff | 95% CI | p | p (Holm) | test | |\n|---:|---:|---|---:|---:|---|---|\n";
    }
    const std::string ci = r.at("ci_low").is_null() ? "–" : fmt::format("[{}, {}]", cell(r.at("ci_low")), cell(r.at("ci_high")));
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", r.at("generation").get<std::int64_t>(), cell(r.at("diff")), ci,
                       cell(r.at("p"), "{:.3g}"), cell(r.at("p_holm"), "{:.3g}"), r.at("test").get<std::string>(),
                       r.at("note").get<std::string>());
  }
  if (!c.at("slopes").empty()) {
    out += "\n### Slope per generation (mean of per-seed least-squares slopes, 95% t-interval over seeds)\n\n";
    out += "| arm | metric | seeds | slope | 95% CI |\n|---|---|---:|---:|---|\n";
    for (const json& s : c.at("slopes")) {
      const std::string ci = s.at("ci_low").is_null() ? "–" : fmt::format("[{}, {}]", cell(s.at("ci_low")), cell(s.at("ci_high")));
      out += fmt::format("| {} | {} | {} | {} | {} |\n", s.at("arm").get<std::string>(), s.at("metric").get<std::string>(),
                         s.at("seeds").get<std::int64_t>(), cell(s.at("slope")), ci);
    }
  }
  return out;
}

}  // namespace collapse
