#include "collapse/generate/sampler_chain.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "collapse/util/error.h"

namespace collapse {
using nlohmann::json;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kRemoved = -kInf;
constexpr float kRemovedF = -std::numeric_limits<float>::infinity();

constexpr SamplerStepInfo kSteps[] = {
    {SamplerStep::repetition_penalty, "repetition_penalty",
     "divide positive (multiply negative) logits of every token seen so far, prompt included",
     true, true},
    {SamplerStep::presence_frequency, "penalties",
     "subtract frequency_penalty per occurrence and presence_penalty once from generated tokens",
     true, true},
    {SamplerStep::temperature, "temperature", "divide the logits by the temperature; 0 = greedy",
     false, true},
    {SamplerStep::top_k, "top_k", "keep the k most likely tokens (ties kept)", false, true},
    {SamplerStep::top_p, "top_p", "keep the smallest head of the distribution with mass >= top_p",
     false, true},
    {SamplerStep::min_p, "min_p", "keep tokens with p >= min_p * the largest p", false, true},
    {SamplerStep::typical_p, "typical_p",
     "keep the most typical tokens (closest to the entropy) up to mass typical_p", false, false},
};

using S = SamplerConfig;
const SamplerSetting kSettings[] = {
    {"temperature", &S::temperature, SamplerStep::temperature, 1.0, 0.0, kInf, false, true,
     "a number >= 0 (0 = greedy, 1 = off)", "softmax temperature; 0 = greedy"},
    {"top_k", &S::top_k, SamplerStep::top_k, 0.0, 0.0, kInf, false, true,
     "an integer >= 0 (0 = off)", "keep the k most likely tokens; 0 = off"},
    {"top_p", &S::top_p, SamplerStep::top_p, 1.0, 0.0, 1.0, true, false,
     "a number in (0, 1] (1 = off)", "nucleus: smallest set with this much mass; 1 = off"},
    {"min_p", &S::min_p, SamplerStep::min_p, 0.0, 0.0, 1.0, false, true,
     "a number in [0, 1) (0 = off)", "keep tokens with p >= min_p * max p; 0 = off"},
    {"typical_p", &S::typical_p, SamplerStep::typical_p, 1.0, 0.0, 1.0, true, false,
     "a number in (0, 1] (1 = off)", "locally typical sampling mass; 1 = off"},
    {"repetition_penalty", &S::repetition_penalty, SamplerStep::repetition_penalty, 1.0, 0.0, kInf,
     true, true, "a number > 0 (1 = off)",
     "Hugging Face repetition penalty over the whole sequence; 1 = off"},
    {"presence_penalty", &S::presence_penalty, SamplerStep::presence_frequency, 0.0, -kInf, kInf,
     true, true, "a finite number (0 = off)", "subtracted once from tokens already generated; 0 = off"},
    {"frequency_penalty", &S::frequency_penalty, SamplerStep::presence_frequency, 0.0, -kInf, kInf,
     true, true, "a finite number (0 = off)",
     "subtracted per occurrence in the generated tokens; 0 = off"},
    {"order", &S::order, std::nullopt, 0.0, 0.0, 0.0, false, false,
     "a list naming every sampler step once",
     "the order the steps run in, comma-separated; steps left out follow in the default order"},
    {"beams", &S::beams, std::nullopt, 1.0, 1.0, kInf, false, true,
     "an integer >= 1 (1 = sampling)", "beam search with this many beams instead of sampling"},
    {"length_penalty", &S::length_penalty, std::nullopt, 1.0, -kInf, kInf, true, true,
     "a finite number (beam search only)", "beam score = sum log p / length^length_penalty"},
};

std::string step_names() {
  std::string out;
  for (const auto& s : kSteps) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

bool in_range(const SamplerSetting& s, double v) {
  return std::isfinite(v) && (s.low_open ? v > s.low : v >= s.low) &&
         (s.high_open ? v < s.high : v <= s.high);
}

// The value as the JSON holds it. Floats as the shortest decimal that reads back as the float:
// 0.95f is stored as 0.95, not as 0.949999988079071, and from_json still gets the very same float.
json setting_json(const SamplerSetting& s, const SamplerConfig& c) {
  return std::visit(
      [&](auto member) -> json {
        const auto& v = c.*member;
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, float>) {
          return std::stod(fmt::format("{}", v));
        } else if constexpr (std::is_same_v<V, std::int64_t>) {
          return v;
        } else {
          json names = json::array();
          for (SamplerStep step : v) names.push_back(to_string(step));
          return names;
        }
      },
      s.member);
}

// A number as the user would write it: "0.95", "40".
std::string number_text(const SamplerSetting& s, const SamplerConfig& c) {
  if (const auto* f = std::get_if<float SamplerConfig::*>(&s.member)) return fmt::format("{}", c.**f);
  return fmt::format("{}", c.*std::get<std::int64_t SamplerConfig::*>(s.member));
}

// Non-finite values (NaN, +-inf, or an overflow in a step) are removed tokens: -inf.
void canonicalize(std::vector<float>& x) {
  for (float& v : x) {
    if (!std::isfinite(v)) v = kRemovedF;
  }
}

// The current distribution over the kept (finite) entries, in double.
std::vector<double> softmax(const std::vector<float>& x) {
  double max = kRemoved;
  for (float v : x) max = std::max(max, static_cast<double>(v));
  std::vector<double> p(x.size(), 0.0);
  if (max == kRemoved) return p;
  double sum = 0.0;
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (x[t] != kRemovedF) sum += p[t] = std::exp(static_cast<double>(x[t]) - max);
  }
  for (double& v : p) v /= sum;
  return p;
}

void apply_repetition_penalty(std::vector<float>& x, std::span<const std::int32_t> history,
                              float r) {
  std::vector<std::int32_t> distinct(history.begin(), history.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (std::int32_t t : distinct) x[t] = x[t] > 0.0f ? x[t] / r : x[t] * r;
}

void apply_presence_frequency(std::vector<float>& x, std::span<const std::int32_t> generated,
                              float presence, float frequency) {
  std::vector<std::int32_t> sorted(generated.begin(), generated.end());
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    // Two statements, so no compiler contracts them into one fused multiply-add: the CUDA kernel
    // rounds the product and the sum separately too.
    const float scaled = frequency * static_cast<float>(j - i);
    const float penalty = scaled + presence;
    x[sorted[i]] = x[sorted[i]] - penalty;
    i = j;
  }
}

void apply_top_k(std::vector<float>& x, std::int64_t k) {
  std::vector<float> finite;
  for (float v : x) {
    if (v != kRemovedF) finite.push_back(v);
  }
  if (k >= static_cast<std::int64_t>(finite.size())) return;
  std::nth_element(finite.begin(), finite.begin() + (k - 1), finite.end(), std::greater<float>());
  const float kth = finite[k - 1];
  for (float& v : x) {
    if (v < kth) v = kRemovedF;
  }
}

void apply_top_p(std::vector<float>& x, float top_p) {
  const std::vector<double> p = softmax(x);
  std::vector<double> sorted;
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (x[t] != kRemovedF) sorted.push_back(p[t]);
  }
  if (sorted.empty()) return;
  std::sort(sorted.begin(), sorted.end(), std::greater<double>());
  double cumulative = 0.0, threshold = sorted.back();  // if rounding never reaches top_p: keep all
  for (double v : sorted) {
    cumulative += v;
    if (cumulative >= static_cast<double>(top_p)) {
      threshold = v;
      break;
    }
  }
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (p[t] < threshold) x[t] = kRemovedF;
  }
}

void apply_min_p(std::vector<float>& x, float min_p) {
  const std::vector<double> p = softmax(x);
  const double cut = static_cast<double>(min_p) * *std::max_element(p.begin(), p.end());
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (x[t] != kRemovedF && p[t] < cut) x[t] = kRemovedF;
  }
}

void apply_typical_p(std::vector<float>& x, float typical_p) {
  const std::vector<double> p = softmax(x);
  double entropy = 0.0;
  std::vector<std::int32_t> kept;
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (x[t] == kRemovedF) continue;
    kept.push_back(static_cast<std::int32_t>(t));
    if (p[t] > 0.0) entropy -= p[t] * std::log(p[t]);
  }
  if (kept.empty()) return;
  std::vector<double> score(x.size(), 0.0);
  for (std::int32_t t : kept) {
    // A probability that underflowed to 0 is infinitely atypical: it sorts last.
    score[t] = p[t] > 0.0 ? std::abs(-std::log(p[t]) - entropy)
                          : std::numeric_limits<double>::infinity();
  }
  std::sort(kept.begin(), kept.end(), [&](std::int32_t a, std::int32_t b) {
    return score[a] != score[b] ? score[a] < score[b] : a < b;
  });
  double cumulative = 0.0;
  std::size_t keep = kept.size();
  for (std::size_t i = 0; i < kept.size(); ++i) {
    cumulative += p[kept[i]];
    if (cumulative >= static_cast<double>(typical_p)) {
      keep = i + 1;
      break;
    }
  }
  for (std::size_t i = keep; i < kept.size(); ++i) x[kept[i]] = kRemovedF;
}

std::int32_t argmax(std::span<const double> x) {
  std::int32_t best = -1;
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (x[t] != kRemoved && (best < 0 || x[t] > x[best])) best = static_cast<std::int32_t>(t);
  }
  return best;
}


// The definition of each step (the header's comment states it in words).
void apply_step(SamplerStep step, std::vector<float>& x, const SamplerConfig& c,
                const SamplingRow& row) {
  switch (step) {
    case SamplerStep::repetition_penalty:
      apply_repetition_penalty(x, row.history, c.repetition_penalty);
      return;
    case SamplerStep::presence_frequency:
      apply_presence_frequency(x, row.history.subspan(row.prompt_length), c.presence_penalty,
                               c.frequency_penalty);
      return;
    case SamplerStep::temperature:
      for (float& v : x) v = v / c.temperature;
      return;
    case SamplerStep::top_k: apply_top_k(x, c.top_k); return;
    case SamplerStep::top_p: apply_top_p(x, c.top_p); return;
    case SamplerStep::min_p: apply_min_p(x, c.min_p); return;
    case SamplerStep::typical_p: apply_typical_p(x, c.typical_p); return;
  }
}

}  // namespace

std::span<const SamplerStepInfo> sampler_steps() { return kSteps; }

const SamplerStepInfo& sampler_step_info(SamplerStep step) {
  for (const auto& s : kSteps) {
    if (s.step == step) return s;
  }
  fail("unknown sampler step {}", static_cast<int>(step));
}

std::span<const SamplerSetting> sampler_settings() { return kSettings; }

double SamplerSetting::value(const SamplerConfig& c) const {
  if (const auto* f = std::get_if<float SamplerConfig::*>(&member)) return c.**f;
  if (const auto* i = std::get_if<std::int64_t SamplerConfig::*>(&member)) {
    return static_cast<double>(c.**i);
  }
  fail("sampler setting '{}' is not a number", key);
}

std::string to_string(SamplerStep step) { return sampler_step_info(step).name; }

SamplerStep parse_sampler_step(const std::string& name, const std::string& what) {
  for (const auto& s : kSteps) {
    if (name == s.name) return s.step;
  }
  fail("{}: unknown sampler step '{}' (the steps are {})", what, name, step_names());
}

std::vector<SamplerStep> SamplerConfig::default_order() {
  std::vector<SamplerStep> order;
  for (const auto& s : kSteps) order.push_back(s.step);
  return order;
}

bool SamplerConfig::active(SamplerStep step) const {
  if (!sampler_step_info(step).penalty && greedy()) return false;
  for (const SamplerSetting& s : kSettings) {
    if (s.step == step && s.value(*this) != s.neutral) return true;
  }
  return false;
}

bool SamplerConfig::penalizes() const {
  for (const auto& s : kSteps) {
    if (s.penalty && active(s.step)) return true;
  }
  return false;
}

void SamplerConfig::validate(const SettingNames& names) const {
  for (const SamplerSetting& s : kSettings) {
    if (s.is_order()) {
      for (const auto& step : kSteps) {
        const auto n = std::count(order.begin(), order.end(), step.step);
        if (n == 0) {
          fail("{} lacks '{}': name every step exactly once ({})", names(s.key), step.name,
               step_names());
        }
        if (n > 1) {
          fail("{} names '{}' {} times: name every step exactly once ({})", names(s.key),
               step.name, n, step_names());
        }
      }
    } else if (!in_range(s, s.value(*this))) {
      fail("{} must be {}, got {}", names(s.key), s.allowed, number_text(s, *this));
    }
  }
}

json SamplerConfig::to_json() const {
  json out = json::object();
  for (const SamplerSetting& s : kSettings) out[s.key] = setting_json(s, *this);
  return out;
}

SamplerConfig SamplerConfig::from_json(const json& j, const std::string& what) {
  if (!j.is_object()) fail("{}: the sampler settings must be a JSON object, got {}", what, j.dump());
  for (const auto& item : j.items()) {
    const std::string& key = item.key();  // a named variable: clang 14 cannot capture a binding
    if (std::none_of(std::begin(kSettings), std::end(kSettings),
                     [&](const SamplerSetting& s) { return key == s.key; })) {
      fail("{}: unknown sampler key '{}'", what, key);
    }
  }
  SamplerConfig c;
  for (const SamplerSetting& s : kSettings) {
    if (!j.contains(s.key)) continue;
    const json& v = j.at(s.key);
    std::visit(
        [&](auto member) {
          auto& out = c.*member;
          using V = std::decay_t<decltype(out)>;
          if constexpr (std::is_same_v<V, float>) {
            if (!v.is_number()) fail("{}: sampler key '{}' must be a number, got {}", what, s.key, v.dump());
            out = v.get<float>();
          } else if constexpr (std::is_same_v<V, std::int64_t>) {
            if (!v.is_number_integer()) {
              fail("{}: sampler key '{}' must be an integer, got {}", what, s.key, v.dump());
            }
            out = v.get<std::int64_t>();
          } else {
            const bool names = v.is_array() && std::all_of(v.begin(), v.end(), [](const json& x) {
              return x.is_string();
            });
            if (!names) {
              fail("{}: sampler key '{}' must be a list of step names, got {}", what, s.key, v.dump());
            }
            out.clear();
            for (const json& name : v) {
              out.push_back(parse_sampler_step(name.get<std::string>(), what + " (sampler order)"));
            }
          }
        },
        s.member);
  }
  return c;
}

std::string SamplerConfig::describe() const {
  std::vector<std::string> parts;
  if (beams > 1) parts.push_back(fmt::format("beams={} length_penalty={}", beams, length_penalty));
  for (SamplerStep step : order) {
    if (beams > 1 && !sampler_step_info(step).penalty) continue;  // beam search ignores them
    if (step == SamplerStep::temperature && greedy()) {
      parts.push_back("greedy");
      continue;
    }
    if (!active(step)) continue;
    for (const SamplerSetting& s : kSettings) {
      if (s.step == step && s.value(*this) != s.neutral) {
        parts.push_back(fmt::format("{}={}", s.key, number_text(s, *this)));
      }
    }
  }
  if (parts.empty()) return "pure sampling (temperature=1)";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

void check_sampling_row(const SamplingRow& row) {
  const std::int64_t vocab = static_cast<std::int64_t>(row.logits.size());
  const std::int64_t length = static_cast<std::int64_t>(row.history.size());
  if (row.prompt_length < 0 || row.prompt_length > length) {
    fail("sampling: prompt length {} outside the history's {} tokens", row.prompt_length, length);
  }
  for (std::int32_t t : row.history) {
    if (t < 0 || t >= vocab) fail("sampling: history token {} outside the vocabulary [0, {})", t, vocab);
  }
  if (row.banned_token >= vocab) {
    fail("sampling: banned token {} outside the vocabulary [0, {})", row.banned_token, vocab);
  }
}

std::vector<double> apply_sampler_chain(const SamplerConfig& config, const SamplingRow& row) {
  check_sampling_row(row);
  std::vector<float> x(row.logits.begin(), row.logits.end());
  if (row.banned_token >= 0) x[row.banned_token] = kRemovedF;
  canonicalize(x);
  for (SamplerStep step : config.order) {
    if (config.active(step)) apply_step(step, x, config, row);
    canonicalize(x);
  }
  return std::vector<double>(x.begin(), x.end());
}

std::int32_t choose_token(std::span<const double> chained_logits, double uniform, bool greedy) {
  if (greedy) return argmax(chained_logits);
  double max = kRemoved;
  std::int32_t last_kept = -1;
  for (std::size_t t = 0; t < chained_logits.size(); ++t) {
    if (chained_logits[t] == kRemoved) continue;
    max = std::max(max, chained_logits[t]);
    last_kept = static_cast<std::int32_t>(t);
  }
  if (last_kept < 0) return -1;
  double total = 0.0;
  for (double v : chained_logits) {
    if (v != kRemoved) total += std::exp(v - max);
  }
  const double target = uniform * total;
  double cumulative = 0.0;
  for (std::size_t t = 0; t < chained_logits.size(); ++t) {
    if (chained_logits[t] == kRemoved) continue;
    cumulative += std::exp(chained_logits[t] - max);
    if (cumulative > target) return static_cast<std::int32_t>(t);
  }
  return last_kept;
}

std::vector<double> sampler_distribution(const SamplerConfig& config, const SamplingRow& row) {
  const std::vector<double> x = apply_sampler_chain(config, row);
  std::vector<double> p(x.size(), 0.0);
  if (config.greedy()) {
    const std::int32_t t = argmax(x);
    if (t >= 0) p[t] = 1.0;
    return p;
  }
  double max = kRemoved, total = 0.0;
  for (double v : x) max = std::max(max, v);
  if (max == kRemoved) return p;
  for (std::size_t t = 0; t < x.size(); ++t) {
    if (x[t] != kRemoved) total += p[t] = std::exp(x[t] - max);
  }
  for (double& v : p) v /= total;
  return p;
}

std::int32_t sample_token_reference(const SamplerConfig& config, const SamplingRow& row,
                                    double uniform) {
  return choose_token(apply_sampler_chain(config, row), uniform, config.greedy());
}

}  // namespace collapse
