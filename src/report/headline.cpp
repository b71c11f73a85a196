#include "collapse/report/headline.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "collapse/report/comparison.h"
#include "collapse/report/confidence.h"
#include "collapse/util/error.h"

namespace collapse {

std::vector<FoldChange> fold_changes(const RunResults& run, const std::string& metric) {
  std::vector<FoldChange> out;
  for (const std::string& arm : run.arms) {
    // seed -> generation -> value
    std::map<std::uint64_t, std::map<std::int64_t, double>> lineage;
    for (const MetricRow& r : run.rows) {
      if (r.arm == arm && r.metric == metric && std::isfinite(r.value)) lineage[r.seed][r.generation] = r.value;
    }
    std::int64_t last = 0;
    for (const auto& [seed, values] : lineage) {
      if (values.count(0) && values.rbegin()->first > 0) last = std::max(last, values.rbegin()->first);
    }
    if (last == 0) continue;
    std::vector<double> ratios;
    for (const auto& [seed, values] : lineage) {
      const auto zero = values.find(0), end = values.find(last);
      if (zero != values.end() && end != values.end() && zero->second != 0.0) ratios.push_back(end->second / zero->second);
    }
    if (ratios.empty()) continue;
    const MeanCI ci = mean_ci95(ratios);
    out.push_back({arm, last, ci.n, ci.mean, ci.n > 1 ? ci.low() : NAN, ci.n > 1 ? ci.high() : NAN});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> compared_pairs(const RunResults& run,
                                                                 const std::vector<std::string>& extra) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> all = run.config.base.report.compare;
  all.insert(all.end(), extra.begin(), extra.end());
  for (const std::string& pair : all) {
    const auto comma = pair.find(',');
    if (comma == std::string::npos || pair.find(',', comma + 1) != std::string::npos) {
      fail("compare {}: name two arms as A,B", pair);
    }
    std::pair<std::string, std::string> p{pair.substr(0, comma), pair.substr(comma + 1)};
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  }
  return out;
}

PairVerdict pair_verdict(const RunResults& run, const std::string& a, const std::string& b, const std::string& metric) {
  PairVerdict v{a, b, nullptr, "no generation finished by both arms yet"};
  const nlohmann::json c = compare_arms(run, a, b, {metric});
  if (c.at("comparisons").empty()) return v;
  v.row = c.at("comparisons").back();  // ascending generations: the last one both finished
  const std::string note = v.row.at("note").get<std::string>();
  if (note == "identical by construction") {
    v.verdict = "identical by construction";
  } else if (note == "zero variance") {
    v.verdict = fmt::format("{} − {} = {:.4g} in every seed (zero variance)", a, b, v.row.at("diff").get<double>());
  } else if (v.row.at("p_holm").is_null()) {
    v.verdict = "not testable with one seed";
  } else if (v.row.at("p_holm").get<double>() < 0.05) {
    v.verdict = fmt::format("{} is {} than {}", a, v.row.at("diff").get<double>() > 0 ? "higher" : "lower", b);
  } else {
    v.verdict = "no difference detected";
  }
  return v;
}

std::string verdicts_markdown(const RunResults& run, const std::vector<std::pair<std::string, std::string>>& pairs) {
  if (pairs.empty()) return "";
  const std::string& metric = run.config.base.report.headline;
  std::string out = fmt::format("\n### Compared pairs: {} at the last generation both finished\n\n", metric);
  out += "| A − B | gen | diff | 95% CI | p (Holm) | test | verdict |\n|---|---:|---:|---|---:|---|---|\n";
  for (const auto& [a, b] : pairs) {
    const PairVerdict v = pair_verdict(run, a, b, metric);
    if (v.row.is_null()) {
      out += fmt::format("| {} − {} | | | | | | {} |\n", a, b, v.verdict);
      continue;
    }
    auto number = [](const nlohmann::json& x, const char* f) {
      return x.is_null() ? std::string("–") : fmt::format(fmt::runtime(f), x.get<double>());
    };
    const std::string ci = v.row.at("ci_low").is_null()
        ? "–" : fmt::format("[{}, {}]", number(v.row.at("ci_low"), "{:.4g}"), number(v.row.at("ci_high"), "{:.4g}"));
    out += fmt::format("| {} − {} | {} | {} | {} | {} | {} | {} |\n", a, b, v.row.at("generation").get<std::int64_t>(),
                       number(v.row.at("diff"), "{:.4g}"), ci, number(v.row.at("p_holm"), "{:.3g}"),
                       v.row.at("test").get<std::string>(), v.verdict);
  }
  return out;
}

}  // namespace collapse
