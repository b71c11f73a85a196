// The HTML page of `collapse report` (report.h): one file, inline CSS and SVG, no scripts.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "collapse/generate/samples_file.h"
#include "collapse/report/headline.h"
#include "collapse/report/report.h"
#include "collapse/report/svg_plot.h"
#include "comparison_html.h"
#include "collapse/score/metric_catalog.h"
#include "collapse/util/atomic_file.h"
#include "collapse/util/error.h"

namespace collapse {
namespace fs = std::filesystem;
using nlohmann::json;
using svg::escape;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kSamplesPerGeneration = 3;
constexpr std::size_t kSampleChars = 600;

const char* kCss = R"css(
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --panel: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1400px; margin: 0 auto; padding: 28px 36px 56px; }
h1 { font-size: 27px; margin: 0 0 2px; font-weight: 650; }
h2 { font-size: 20px; margin: 40px 0 6px; padding-bottom: 6px; border-bottom: 1px solid var(--line); font-weight: 620; }
h3 { font-size: 15.5px; margin: 18px 0 6px; font-weight: 620; }
p { margin: 6px 0; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace;
  background: var(--panel); padding: 1px 4px; border-radius: 4px; }
.sub, .muted, .def { color: var(--muted); }
.sub { margin-bottom: 18px; }
.lead { max-width: 980px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 12px 6px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 22px; height: 4px; border-radius: 2px; vertical-align: middle; margin-right: 7px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 10px 0 4px; font-size: 14px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(450px, 1fr)); gap: 14px; margin-top: 10px; }
.live { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 6px 12px; }
.headline { border: 1px solid var(--line); border-radius: 8px; background: var(--panel); padding: 4px 18px 12px; margin-top: 24px; }
.headline h2 { margin-top: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 10px 10px; background: #fff; }
.card svg { display: block; width: 100%; height: auto; }
.def { font-size: 12.5px; margin: 4px 6px 0; line-height: 1.4; }
details { border: 1px solid var(--line); border-radius: 8px; padding: 6px 14px 10px; margin: 10px 0; }
summary { font-weight: 600; cursor: pointer; padding: 4px 0; }
.samples { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 10px; }
pre.sample { white-space: pre-wrap; word-break: break-word; margin: 0; padding: 8px 10px; border-radius: 6px;
  background: var(--panel); font: 13.5px/1.5 Georgia, "DejaVu Serif", serif; }
.sample-id { display: block; color: var(--muted); font: 11.5px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin-bottom: 3px; }
footer { margin-top: 48px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line); padding-top: 10px; }
)css";

std::string arm_color(const RunResults& run, const std::string& arm) {
  const auto& palette = svg::categorical_palette();
  const auto it = std::find(run.arms.begin(), run.arms.end(), arm);
  return palette[static_cast<std::size_t>(it - run.arms.begin()) % palette.size()];
}

std::string swatch(const std::string& color) {
  return fmt::format("<span class=\"swatch\" style=\"background:{}\"></span>", color);
}

std::string join_seeds(const std::vector<std::uint64_t>& seeds) {
  std::string out;
  for (auto s : seeds) out += (out.empty() ? "" : ", ") + std::to_string(s);
  return out;
}

// "200 documents", "as many documents as the real train split", "documents until 5000 tokens".
std::string documents(const SizeSpec& spec) {
  switch (spec.kind) {
    case SizeSpec::Kind::documents: return fmt::format("{} documents", spec.count);
    case SizeSpec::Kind::tokens: return fmt::format("documents until {} tokens", spec.count);
    default: return "as many documents as real train documents";
  }
}

// "corpus sotu (vocab 2048) · model tiny ..." : the settings that shape a run, in one line.
std::string describe_settings(const ExperimentSettings& s) {
  ModelConfig m;
  try {
    m = s.model.resolve(s.corpus.vocab_size);
    m.context = s.model.window(m);
  } catch (const Error&) {  // a pretrained folder moved since the run: the report still renders
    m = ModelConfig{};
  }
  fs::path source(s.corpus.source);
  return fmt::format(
      "corpus <code>{}</code> (vocab {}) · model {} ({} layers, d_model {}, context {}) · train {} "
      "× batch {}, init {} · generate {} of ≤ {} tokens, prompt {} · sampler: {} · "
      "mix: {} · curate: {}",
      escape(source.is_absolute() ? source.filename().string() : s.corpus.source),
      s.corpus.vocab_size,
      escape(s.model.pretrained.empty() ? s.model.preset : "pretrained " + fs::path(s.model.pretrained).filename().string()),
      m.n_layer, m.d_model, m.context,
      s.train.epochs > 0 ? fmt::format("{} epochs", s.train.epochs)
                         : fmt::format("{} steps", s.train.steps),
      s.train.batch_size, to_string(s.train.init), escape(documents(s.generate.documents)),
      s.generate.max_tokens, escape(s.generate.prompt), escape(s.sampler.describe()),
      escape(s.mix.describe()), escape(s.curate.describe()));
}

std::string header_section(const RunResults& run) {
  const ExperimentConfig& c = run.config;
  std::int64_t planned = 0, finished = 0;
  std::set<std::uint64_t> all_seeds;
  for (const ArmConfig& a : c.arms) {
    planned += static_cast<std::int64_t>(a.settings.seeds.size()) * a.settings.generations;
    all_seeds.insert(a.settings.seeds.begin(), a.settings.seeds.end());
  }
  for (const FinishedGeneration& g : run.finished) {
    all_seeds.insert(g.seed);
    ++finished;
  }
  std::string out = fmt::format("<header>\n<h1>Experiment <code>{}</code></h1>\n", escape(c.name));
  out += fmt::format(
      "<p class=\"sub\">Model-collapse report of <code>{}</code> · {} arm{} · seeds {} · {} "
      "generations planned per arm and seed · {} of {} generation runs finished</p>\n",
      escape(run.dir.string()), run.arms.size(), run.arms.size() == 1 ? "" : "s",
      escape(join_seeds({all_seeds.begin(), all_seeds.end()})), c.base.generations, finished,
      planned);
  out += "<p class=\"lead\"><b>Base settings:</b> " + describe_settings(c.base) + "</p>\n";
  out += "<table>\n<tr><th>arm</th><th>differences from the base</th>";
  for (auto s : all_seeds) out += fmt::format("<th>seed {}</th>", s);
  out += "</tr>\n";
  for (const std::string& arm : run.arms) {
    const ArmConfig* config = nullptr;
    for (const ArmConfig& a : c.arms) {
      if (a.name == arm) config = &a;
    }
    std::string diff;
    if (!config) {
      diff = "<span class=\"muted\">not in experiment.toml (found in metrics.csv)</span>";
    } else if (config->overrides.empty()) {
      diff = "<span class=\"muted\">none</span>";
    } else {
      for (const auto& [key, value] : config->overrides.items()) {
        if (!diff.empty()) diff += ' ';
        diff += fmt::format("<code>{} = {}</code>", escape(key), escape(value.dump()));
      }
    }
    out += fmt::format("<tr><td>{}{}</td><td>{}</td>", swatch(arm_color(run, arm)), escape(arm), diff);
    for (auto seed : all_seeds) {
      std::int64_t done = 0;
      for (const FinishedGeneration& g : run.finished) {
        if (g.arm == arm && g.seed == seed) ++done;
      }
      const bool planned_seed =
          config && std::find(config->settings.seeds.begin(), config->settings.seeds.end(), seed) !=
                        config->settings.seeds.end();
      if (!planned_seed && done == 0) {
        out += "<td class=\"muted\">–</td>";
      } else {
        out += fmt::format("<td class=\"num\">{} / {} generations</td>", done,
                           config ? std::to_string(config->settings.generations) : "?");
      }
    }
    out += "</tr>\n";
  }
  out += "</table>\n";
  if (run.unfinished_rows > 0) {
    out += fmt::format(
        "<p class=\"muted\">{} rows of metrics.csv belong to generations without a DONE marker "
        "(unfinished) and are left out.</p>\n",
        run.unfinished_rows);
  }
  return out + "</header>\n";
}

// "(3 seeds)", "(1 seed: no band)" or "(1–3 seeds)" for an arm's legend entry.
std::string seeds_note(const RunResults& run, const std::string& arm) {
  std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = 0;
  for (std::int64_t g : run.generations(arm)) {
    std::int64_t n = 0;
    for (const FinishedGeneration& f : run.finished) {
      if (f.arm == arm && f.generation == g) ++n;
    }
    lo = std::min(lo, n), hi = std::max(hi, n);
  }
  if (hi == 0) return "(nothing finished yet)";
  if (hi == 1) return "(1 seed: no band)";
  if (lo == hi) return fmt::format("({} seeds)", hi);
  return fmt::format("({}–{} seeds; no band where 1)", lo, hi);
}

std::string metrics_section(const RunResults& run) {
  std::string out = "<section>\n<h2>Metrics by generation</h2>\n";
  if (run.metrics.empty()) {
    return out + "<p class=\"muted\">No metrics of finished generations yet.</p>\n</section>\n";
  }
  out += "<p class=\"lead\">Lines: the mean over seeds; bands: the 95% confidence interval of "
         "the mean (Student's t, n − 1 degrees of freedom; no band where only one seed "
         "finished). Generation 0 is trained on real data only.</p>\n<div class=\"legend\">";
  for (const std::string& arm : run.arms) {
    out += fmt::format("<span>{}{} <span class=\"muted\">{}</span></span>",
                       swatch(arm_color(run, arm)), escape(arm), seeds_note(run, arm));
  }
  out += "</div>\n<div class=\"grid\">\n";
  for (const std::string& metric : run.metrics) {
    const MetricInfo* info = find_metric(metric);
    svg::LineChart chart;
    chart.title = info ? info->title : metric;
    chart.note = metric;
    chart.x = {"generation", false, std::nullopt, std::nullopt, true};
    chart.y.label = info ? info->unit : metric;
    const double bound_low = info ? info->low : -std::numeric_limits<double>::infinity();
    const double bound_high = info ? info->high : std::numeric_limits<double>::infinity();
    if (std::isfinite(bound_low)) chart.y.floor = std::min(0.0, bound_low);
    if (std::isfinite(bound_high)) chart.y.ceiling = bound_high;
    double lo = std::numeric_limits<double>::infinity(), hi = 0;
    for (const std::string& arm : run.arms) {
      const MetricSeries m = summarize_metric(run, arm, metric);
      svg::Series s;
      s.label = arm;
      s.color = arm_color(run, arm);
      for (std::size_t i = 0; i < m.generations.size(); ++i) {
        const MeanCI& ci = m.stats[i];
        s.x.push_back(static_cast<double>(m.generations[i]));
        s.y.push_back(ci.mean);
        // The band is clipped to the values the metric can take.
        s.low.push_back(std::isfinite(ci.half_width) ? std::max(bound_low, ci.low()) : kNaN);
        s.high.push_back(std::isfinite(ci.half_width) ? std::min(bound_high, ci.high()) : kNaN);
        if (std::isfinite(ci.mean) && ci.mean > 0) lo = std::min(lo, ci.mean), hi = std::max(hi, ci.mean);
      }
      if (!s.x.empty()) chart.series.push_back(std::move(s));
    }
    // Perplexities that grow by an order of magnitude read better on a log axis.
    const bool perplexity = metric.find("perplexity") != std::string::npos ||
                            metric.starts_with("ppl_");
    if (perplexity && hi / lo >= 10.0) {
      chart.y.log = true;
      chart.y.label += " (log scale)";
    }
    out += "<div class=\"card\">\n" + svg::render_line_chart(chart);
    out += fmt::format("<p class=\"def\">{}</p>\n</div>\n",
                       escape(info ? info->definition : "(no definition: not a metric this "
                                                        "version of collapse knows)"));
  }
  return out + "</div>\n</section>\n";
}

// A json array of numbers as doubles; empty when it is not one.
std::vector<double> numbers(const json& j) {
  std::vector<double> out;
  if (!j.is_array()) return out;
  for (const json& v : j) {
    if (!v.is_number()) return {};
    out.push_back(v.get<double>());
  }
  return out;
}

const json* histogram_of(const FinishedGeneration& g) {
  if (!g.metrics.is_object()) return nullptr;
  const auto h = g.metrics.find("histograms");
  if (h == g.metrics.end() || !h->is_object()) return nullptr;
  const auto p = h->find("synthetic_ppl_under_gen0");
  return p != h->end() && p->is_object() ? &*p : nullptr;
}

// A histogram's quantile q, linear within the bin that holds it (mass spread evenly over a bin).
double histogram_quantile(const std::vector<double>& edges, const std::vector<double>& counts, double q) {
  double total = 0;
  for (double c : counts) total += c;
  double below = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0 && below + counts[i] >= q * total) {
      return edges[i] + (edges[i + 1] - edges[i]) * (q * total - below) / counts[i];
    }
    below += counts[i];
  }
  return edges.back();
}

// The share of a histogram's mass above x, a bin straddling x counted in proportion.
double share_above(const std::vector<double>& edges, const std::vector<double>& counts, double x) {
  double total = 0, above = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    total += counts[i];
    if (edges[i] >= x) {
      above += counts[i];
    } else if (edges[i + 1] > x) {
      above += counts[i] * (edges[i + 1] - x) / (edges[i + 1] - edges[i]);
    }
  }
  return total > 0 ? above / total : kNaN;
}

std::string histogram_section(const RunResults& run) {
  std::string out =
      "<section>\n<h2>Perplexity of synthetic documents under the generation-0 model</h2>\n"
      "<p class=\"lead\">Each curve is one generation's synthetic corpus: the density of its "
      "documents over log<sub>10</sub> perplexity (the share per bin divided by the bin's width), "
      "pooled over the seeds that finished, overlaid as in Shumailov et al. (2024), Fig. 1. "
      "Collapse shows as mass moving to low perplexity while a tail of high-perplexity documents "
      "grows; the legend gives each generation's tail: the share of its documents above generation "
      "0's 90th percentile (10% at generation 0).</p>\n<div class=\"grid\">\n";
  bool any = false;
  for (const std::string& arm : run.arms) {
    std::vector<double> edges;
    std::map<std::int64_t, std::vector<double>> pooled;  // generation -> counts
    std::set<std::uint64_t> seeds;
    std::int64_t skipped = 0;
    for (const FinishedGeneration& g : run.finished) {
      if (g.arm != arm) continue;
      const json* h = histogram_of(g);
      if (!h) continue;
      const std::vector<double> e = numbers(h->value("log10_edges", json()));
      const std::vector<double> c = numbers(h->value("counts", json()));
      if (e.size() < 2 || c.size() + 1 != e.size()) {
        fail("{}: histograms.synthetic_ppl_under_gen0 needs log10_edges (n + 1 numbers) and "
             "counts (n numbers)",
             (g.dir / "metrics.json").string());
      }
      if (edges.empty()) edges = e;
      if (e != edges) {  // different bins cannot be pooled or overlaid
        ++skipped;
        continue;
      }
      auto& sum = pooled[g.generation];
      sum.resize(c.size(), 0.0);
      for (std::size_t i = 0; i < c.size(); ++i) sum[i] += c[i];
      seeds.insert(g.seed);
    }
    if (pooled.empty()) continue;
    any = true;
    // Trim to the bins with documents (one empty bin of margin each side).
    std::size_t first = edges.size(), last = 0;
    for (const auto& [generation, counts] : pooled) {
      for (std::size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] > 0) first = std::min(first, i), last = std::max(last, i);
      }
    }
    if (first > last) first = 0, last = edges.size() - 2;
    first = first > 0 ? first - 1 : 0;
    last = std::min(last + 1, edges.size() - 2);

    svg::LineChart chart;
    chart.title = arm;
    chart.note = fmt::format("seeds {} pooled{}", join_seeds({seeds.begin(), seeds.end()}),
                             skipped ? fmt::format("; {} with other bins left out", skipped) : "");
    chart.x = {"perplexity under the gen-0 model (log scale)", true,
               std::pow(10.0, edges[first]), std::pow(10.0, edges[last + 1]), false};
    chart.y = {"density per log10 unit", false, 0.0, std::nullopt, false};
    chart.legend = true;
    const std::int64_t max_generation = pooled.rbegin()->first;
    // The tail: mass above generation 0's 90th percentile, where generation 0 is there.
    const auto zero = pooled.find(0);
    const double p90 = zero != pooled.end() ? histogram_quantile(edges, zero->second, 0.9) : kNaN;
    for (const auto& [generation, counts] : pooled) {
      double total = 0;
      for (double c : counts) total += c;
      svg::Series s;
      s.label = std::isfinite(p90)
          ? fmt::format("gen {} (tail {:.0f}%)", generation, 100.0 * share_above(edges, counts, p90))
          : fmt::format("gen {}", generation);
      s.color = svg::ramp_color(max_generation > 0 ? static_cast<double>(generation) /
                                                         static_cast<double>(max_generation)
                                                   : 0.0);
      s.markers = false;
      s.width = 1.8;
      // A point per bin at its centre (in log10), the curve drawn through them.
      for (std::size_t i = first; i <= last; ++i) {
        const double width = edges[i + 1] - edges[i];
        s.x.push_back(std::pow(10.0, 0.5 * (edges[i] + edges[i + 1])));
        s.y.push_back(total > 0 && width > 0 ? counts[i] / total / width : 0.0);
      }
      chart.series.push_back(std::move(s));
    }
    out += "<div class=\"card\">\n" + svg::render_line_chart(chart) + "</div>\n";
  }
  if (!any) {
    out += "</div>\n<p class=\"muted\">No histogram yet: no finished generation's metrics.json "
           "has <code>histograms.synthetic_ppl_under_gen0</code>.</p>\n";
    return out + "</section>\n";
  }
  return out + "</div>\n</section>\n";
}

std::vector<double> frequencies(const FinishedGeneration& g, const char* key) {
  if (!g.metrics.is_object()) return {};
  const auto r = g.metrics.find(key);
  if (r == g.metrics.end() || !r->is_object()) return {};
  return numbers(r->value("frequencies", json()));
}

// Rank-frequency as a series: rank r (1-based) against frequency / sum, thinned to about 100
// points per decade of rank (the curve is drawn the same, the page stays small).
svg::Series rank_series(const std::vector<double>& f, const std::string& label,
                        const std::string& color, const std::string& dash) {
  svg::Series s;
  s.label = label;
  s.color = color;
  s.dash = dash;
  s.markers = false;
  double total = 0;
  for (double v : f) total += v;
  long last_bucket = -1;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const long bucket = std::lround(std::log10(static_cast<double>(i + 1)) * 100.0);
    if (bucket == last_bucket && i + 1 != f.size()) continue;
    last_bucket = bucket;
    s.x.push_back(static_cast<double>(i + 1));
    s.y.push_back(total > 0 && f[i] > 0 ? f[i] / total : kNaN);
  }
  return s;
}

// A generation's training loss per step from its model/train_log.jsonl, at most `points` of
// them (every k-th logged step, the last one kept); empty without a log.
std::pair<std::vector<double>, std::vector<double>> training_loss(const FinishedGeneration& g, std::size_t points) {
  std::vector<double> steps, losses;
  const fs::path log = g.dir / "model" / "train_log.jsonl";
  std::error_code ec;
  if (!fs::exists(log, ec)) return {};
  std::istringstream lines(read_file(log));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    json e;
    try {
      e = json::parse(line);
    } catch (const json::exception&) {
      fail("{}: a line that is not JSON: {}", log.string(), line.substr(0, 80));
    }
    if (e.contains("loss") && e["loss"].is_number() && e.contains("step")) {
      steps.push_back(e["step"].get<double>());
      losses.push_back(e["loss"].get<double>());
    }
  }
  if (steps.size() <= points) return {steps, losses};
  std::vector<double> x, y;
  const std::size_t stride = (steps.size() + points - 1) / points;
  for (std::size_t i = 0; i < steps.size(); i += stride) x.push_back(steps[i]), y.push_back(losses[i]);
  if (x.back() != steps.back()) x.push_back(steps.back()), y.push_back(losses.back());
  return {x, y};
}

std::string training_section(const RunResults& run) {
  std::string out =
      "<section>\n<h2>Training loss by generation</h2>\n"
      "<p class=\"lead\">The training loss of each generation's model against its optimizer step "
      "(from <code>model/train_log.jsonl</code>, at most 200 points a line), the first seed of each "
      "arm. A generation that trains on collapsed text reaches a lower loss on it, while its real "
      "test perplexity rises.</p>\n<div class=\"grid\">\n";
  bool any = false;
  for (const std::string& arm : run.arms) {
    const auto seeds = run.seeds(arm);
    if (seeds.empty()) continue;
    svg::LineChart chart;
    chart.title = arm;
    chart.note = fmt::format("seed {}", seeds.front());
    chart.x = {"optimizer step", false, std::nullopt, std::nullopt, false};
    chart.y = {"training loss (nats per token)", false, std::nullopt, std::nullopt, false};
    chart.legend = true;
    const std::vector<std::int64_t> generations = run.generations(arm);
    const double last = generations.empty() ? 0.0 : static_cast<double>(generations.back());
    for (const FinishedGeneration& g : run.finished) {
      if (g.arm != arm || g.seed != seeds.front()) continue;
      auto [x, y] = training_loss(g, 200);
      if (x.empty()) continue;
      svg::Series s;
      s.label = fmt::format("gen {}", g.generation);
      s.color = svg::ramp_color(last > 0 ? static_cast<double>(g.generation) / last : 0.0);
      s.markers = false;
      s.width = 1.5;
      s.x = std::move(x);
      s.y = std::move(y);
      chart.series.push_back(std::move(s));
    }
    if (chart.series.empty()) continue;
    out += "<div class=\"card\">\n" + svg::render_line_chart(chart) + "</div>\n";
    any = true;
  }
  out += "</div>\n";
  if (!any) out += "<p class=\"muted\">No training log yet (<code>model/train_log.jsonl</code>).</p>\n";
  return out + "</section>\n";
}

std::string rank_frequency_section(const RunResults& run) {
  std::string out =
      "<section>\n<h2>Rank-frequency of tokens: generation 0 vs the last</h2>\n"
      "<p class=\"lead\">Unigram frequency against frequency rank (both log scale), each curve "
      "normalised to sum to 1 over its listed ranks (at most 5000). A synthetic curve that falls "
      "off early has lost the tail of the real distribution (Dohmatob et al., 2024).</p>\n"
      "<div class=\"grid\">\n";
  // The real split's curve: from any finished generation that carries it.
  std::vector<double> real;
  for (const FinishedGeneration& g : run.finished) {
    real = frequencies(g, "real_rank_frequency");
    if (!real.empty()) break;
  }
  bool any = false;
  for (const std::string& arm : run.arms) {
    for (std::uint64_t seed : run.seeds(arm)) {
      const FinishedGeneration* first = run.find(arm, seed, 0);
      const FinishedGeneration* last = nullptr;
      for (const FinishedGeneration& g : run.finished) {
        if (g.arm == arm && g.seed == seed && !frequencies(g, "rank_frequency").empty()) last = &g;
      }
      if (!first || !last || frequencies(*first, "rank_frequency").empty()) continue;
      svg::LineChart chart;
      chart.title = arm;
      chart.note = fmt::format("seed {}", seed);
      chart.x = {"rank (log scale)", true, std::nullopt, std::nullopt, false};
      chart.y = {"relative frequency (log scale)", true, std::nullopt, std::nullopt, false};
      chart.legend = true;
      chart.series.push_back(
          rank_series(frequencies(*first, "rank_frequency"), "gen 0", svg::ramp_color(0.0), ""));
      if (last->generation != 0) {
        chart.series.push_back(rank_series(frequencies(*last, "rank_frequency"),
                                           fmt::format("gen {}", last->generation),
                                           svg::ramp_color(1.0), ""));
      }
      if (!real.empty()) {  // last, so the dashed line stays visible over the synthetic ones
        chart.series.push_back(rank_series(real, "real test split", "#222", "5 3"));
        chart.series.back().width = 1.6;
      }
      out += "<div class=\"card\">\n" + svg::render_line_chart(chart) + "</div>\n";
      any = true;
      break;  // the first seed with both curves
    }
  }
  out += "</div>\n";
  if (!any) {
    out += "<p class=\"muted\">No rank-frequency data yet: no finished generation 0 with "
           "<code>rank_frequency</code> in its metrics.json.</p>\n";
  }
  return out + "</section>\n";
}

std::string coverage_section(const RunResults& run) {
  std::vector<std::string> groups, labels;
  for (const char* prefix : {"coverage_", "rare_coverage_"}) {
    for (int n = 1; n <= 4; ++n) {
      const std::string name = prefix + std::to_string(n);
      if (std::find(run.metrics.begin(), run.metrics.end(), name) != run.metrics.end()) {
        groups.push_back(name);
        labels.push_back(fmt::format("{}{}-grams", prefix[0] == 'r' ? "rare " : "", n));
      }
    }
  }
  std::string out =
      "<section>\n<h2>Coverage of real n-grams by the last generation</h2>\n"
      "<p class=\"lead\">Bars: the share of the real test split's distinct n-grams (all, and the "
      "rare ones: all but the 10% most frequent) that occur in each arm's last finished "
      "generation's synthetic corpus, mean over seeds with 95% CI whiskers. Dashed ticks: the "
      "same arm's generation 0.</p>\n";
  if (groups.empty()) {
    return out + "<p class=\"muted\">No coverage metrics (coverage_n, rare_coverage_n) in "
                 "metrics.csv.</p>\n</section>\n";
  }
  svg::BarChart chart;
  chart.groups = labels;
  chart.y = {"share of real test n-grams", false, 0.0, 1.0, false};
  chart.reference_label = "generation 0";
  for (const std::string& arm : run.arms) {
    const std::vector<std::int64_t> gens = run.generations(arm);
    if (gens.empty()) continue;
    svg::BarSeries s;
    s.color = arm_color(run, arm);
    std::int64_t shown = -1;
    for (const std::string& metric : groups) {
      // The last generation that has this metric.
      MeanCI at_last{0, kNaN, kNaN, kNaN};
      for (auto g = gens.rbegin(); g != gens.rend(); ++g) {
        const std::vector<double> v = run.values(arm, *g, metric);
        if (v.empty()) continue;
        at_last = mean_ci95(v);
        shown = std::max(shown, *g);
        break;
      }
      s.value.push_back(at_last.mean);
      // Shares: the whiskers are clipped to [0, 1].
      s.low.push_back(std::isfinite(at_last.half_width) ? std::max(0.0, at_last.low()) : kNaN);
      s.high.push_back(std::isfinite(at_last.half_width) ? std::min(1.0, at_last.high()) : kNaN);
      const std::vector<double> v0 = run.values(arm, 0, metric);
      s.reference.push_back(v0.empty() ? kNaN : mean_ci95(v0).mean);
    }
    s.label = fmt::format("{} (gen {})", arm, shown);
    chart.series.push_back(std::move(s));
  }
  chart.width = std::max(640, std::min(1320, 140 * static_cast<int>(groups.size()) + 120));
  return out + "<div class=\"card wide\">\n" + svg::render_bar_chart(chart) +
         "</div>\n</section>\n";
}

// The first kSampleChars characters (UTF-8 code points) of `text`.
std::string truncate_utf8(const std::string& text, bool& cut) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (chars++ == kSampleChars) {
      cut = true;
      return text.substr(0, i);
    }
  }
  cut = false;
  return text;
}

struct EnoughSamples {};

std::string samples_of(const FinishedGeneration& g) {
  fs::path path = g.dir / "samples";
  if (!fs::exists(path)) path = g.dir / "samples.jsonl";
  if (!fs::exists(path)) return "<p class=\"muted\">no samples saved</p>\n";
  std::vector<json> docs;
  try {
    for_each_sample_json(path, [&](const json& doc) {
      docs.push_back(doc);
      if (docs.size() >= kSamplesPerGeneration) throw EnoughSamples{};
    });
  } catch (const EnoughSamples&) {
  } catch (const std::exception& e) {
    return fmt::format("<p class=\"muted\">samples unreadable: {}</p>\n", escape(e.what()));
  }
  if (docs.empty()) return "<p class=\"muted\">no documents</p>\n";
  std::string out = "<div class=\"samples\">\n";
  for (const json& doc : docs) {
    bool cut = false;
    const std::string text = doc.value("text", std::string());
    const std::string shown = truncate_utf8(text, cut);
    out += fmt::format(
        "<pre class=\"sample\"><span class=\"sample-id\">document {} · {} tokens{}</span>{}{}</pre>\n",
        doc.value("id", std::int64_t{-1}),
        doc.contains("tokens") && doc["tokens"].is_array() ? doc["tokens"].size() : 0,
        cut ? fmt::format(" · first {} characters", kSampleChars) : "", escape(shown),
        cut ? "…" : "");
  }
  return out + "</div>\n";
}

std::string samples_section(const RunResults& run) {
  std::string out = fmt::format(
      "<section>\n<h2>Sample documents</h2>\n<p class=\"lead\">The first {} documents each "
      "generation's model wrote, for the first seed of each arm (text as decoded, cut at {} "
      "characters). Click an arm to unfold it.</p>\n",
      kSamplesPerGeneration, kSampleChars);
  bool any = false;
  for (const std::string& arm : run.arms) {
    const std::vector<std::uint64_t> seeds = run.seeds(arm);
    if (seeds.empty()) continue;
    // The first arm open, the others folded (no script needed: <details>).
    out += fmt::format("<details{}>\n<summary>{}{} · seed {}</summary>\n", any ? "" : " open",
                       swatch(arm_color(run, arm)), escape(arm), seeds.front());
    any = true;
    for (const FinishedGeneration& g : run.finished) {
      if (g.arm != arm || g.seed != seeds.front()) continue;
      out += fmt::format("<h3>Generation {}</h3>\n", g.generation) + samples_of(g);
    }
    out += "</details>\n";
  }
  if (!any) out += "<p class=\"muted\">No finished generation yet.</p>\n";
  return out + "</section>\n";
}

}  // namespace

std::int64_t planned_generation_runs(const RunResults& run) {
  std::int64_t planned = 0;
  for (const ArmConfig& a : run.config.arms) {
    planned += static_cast<std::int64_t>(a.settings.seeds.size()) * a.settings.generations;
  }
  return planned;
}

std::string report_html(const RunResults& run, const std::vector<std::string>& compare, int refresh_seconds) {
  const auto pairs = compared_pairs(run, compare);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  if (refresh_seconds > 0) out += fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">\n", refresh_seconds);
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += fmt::format("<title>{} · collapse report</title>\n", escape(run.config.name));
  out += std::string("<style>") + kCss + "</style>\n</head>\n<body>\n<main>\n";
  if (refresh_seconds > 0) {
    out += fmt::format("<p class=\"live\">Live: {} of {} generation runs finished; this page is rewritten as "
                       "generations finish and reloads every {} s.</p>\n",
                       run.finished.size(), planned_generation_runs(run), refresh_seconds);
  }
  out += header_section(run);
  out += headline_section(run, pairs);
  out += metrics_section(run);
  out += histogram_section(run);
  out += training_section(run);
  out += rank_frequency_section(run);
  out += coverage_section(run);
  out += comparison_section(run, pairs);
  out += samples_section(run);
  out += "<footer>Written by <code>collapse report</code>. Confidence intervals: mean ± "
         "t<sub>0.975, n−1</sub> · s / √n over the seeds that finished a generation (s: the "
         "sample standard deviation). Metric definitions: docs/metrics.md; this page: "
         "docs/report.md.</footer>\n";
  out += "</main>\n</body>\n</html>\n";
  return out;
}

}  // namespace collapse
