#include "collapse/generate/sampler_chain.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "collapse/util/error.h"

namespace collapse {
using nlohmann::json;

namespace {

constexpr double kRemoved = -std::numeric_limits<double>::infinity();
constexpr float kRemovedF = -std::numeric_limits<float>::infinity();

struct StepName {
  SamplerStep step;
  const char* name;
};
constexpr StepName kStepNames[] = {
    {SamplerStep::repetition_penalty, "repetition_penalty"},
    {SamplerStep::presence_frequency, "penalties"},
    {SamplerStep::temperature, "temperature"},
    {SamplerStep::top_k, "top_k"},
    {SamplerStep::top_p, "top_p"},
    {SamplerStep::min_p, "min_p"},
    {SamplerStep::typical_p, "typical_p"},
};

std::string step_names() {
  std::string out;
  for (const auto& s : kStepNames) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

// The shortest decimal that reads back as `f`, as a double: 0.95f is stored as 0.95, not as
// 0.949999988079071, and from_json still gets the very same float back.
double json_float(float f) { return std::stod(fmt::format("{}", f)); }

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

}  // namespace

std::string to_string(SamplerStep step) {
  for (const auto& s : kStepNames) {
    if (s.step == step) return s.name;
  }
  fail("unknown sampler step {}", static_cast<int>(step));
}

SamplerStep parse_sampler_step(const std::string& name, const std::string& what) {
  for (const auto& s : kStepNames) {
    if (name == s.name) return s.step;
  }
  fail("{}: unknown sampler step '{}' (the steps are {})", what, name, step_names());
}

std::vector<SamplerStep> SamplerConfig::default_order() {
  return {SamplerStep::repetition_penalty, SamplerStep::presence_frequency,
          SamplerStep::temperature,        SamplerStep::top_k,
          SamplerStep::top_p,              SamplerStep::min_p,
          SamplerStep::typical_p};
}

void SamplerConfig::validate() const {
  auto finite = [](const char* flag, float v) {
    if (!std::isfinite(v)) fail("{} must be a finite number, got {}", flag, v);
  };
  finite("--repetition-penalty", repetition_penalty);
  if (!(repetition_penalty > 0.0f)) {
    fail("--repetition-penalty must be positive (1 = off), got {}", repetition_penalty);
  }
  finite("--presence-penalty", presence_penalty);
  finite("--frequency-penalty", frequency_penalty);
  finite("--temperature", temperature);
  if (!(temperature >= 0.0f)) {
    fail("--temperature must be >= 0 (0 = greedy), got {}", temperature);
  }
  if (top_k < 0) fail("--top-k must be >= 0 (0 = off), got {}", top_k);
  if (!(top_p > 0.0f && top_p <= 1.0f)) fail("--top-p must be in (0, 1], got {}", top_p);
  if (!(min_p >= 0.0f && min_p < 1.0f)) fail("--min-p must be in [0, 1), got {}", min_p);
  if (!(typical_p > 0.0f && typical_p <= 1.0f)) {
    fail("--typical-p must be in (0, 1], got {}", typical_p);
  }
  for (const auto& s : kStepNames) {
    const auto n = std::count(order.begin(), order.end(), s.step);
    if (n == 0) fail("--sampler-order lacks '{}': name every step exactly once ({})", s.name, step_names());
    if (n > 1) {
      fail("--sampler-order names '{}' {} times: name every step exactly once ({})", s.name, n,
           step_names());
    }
  }
  if (beams < 1) fail("--beams must be >= 1 (1 = sampling), got {}", beams);
  finite("--length-penalty", length_penalty);
}

json SamplerConfig::to_json() const {
  json names = json::array();
  for (SamplerStep s : order) names.push_back(to_string(s));
  return {{"repetition_penalty", json_float(repetition_penalty)},
          {"presence_penalty", json_float(presence_penalty)},
          {"frequency_penalty", json_float(frequency_penalty)},
          {"temperature", json_float(temperature)},
          {"top_k", top_k},
          {"top_p", json_float(top_p)},
          {"min_p", json_float(min_p)},
          {"typical_p", json_float(typical_p)},
          {"order", names},
          {"beams", beams},
          {"length_penalty", json_float(length_penalty)}};
}

SamplerConfig SamplerConfig::from_json(const json& j, const std::string& what) {
  if (!j.is_object()) fail("{}: the sampler settings must be a JSON object, got {}", what, j.dump());
  SamplerConfig c;
  const json reference = c.to_json();
  for (const auto& [key, value] : j.items()) {
    if (!reference.contains(key)) fail("{}: unknown sampler key '{}'", what, key);
  }
  auto number = [&](const char* key, float& out) {
    if (!j.contains(key)) return;
    const json& v = j.at(key);
    if (!v.is_number()) fail("{}: sampler key '{}' must be a number, got {}", what, key, v.dump());
    out = v.get<float>();
  };
  auto integer = [&](const char* key, std::int64_t& out) {
    if (!j.contains(key)) return;
    const json& v = j.at(key);
    if (!v.is_number_integer()) {
      fail("{}: sampler key '{}' must be an integer, got {}", what, key, v.dump());
    }
    out = v.get<std::int64_t>();
  };
  number("repetition_penalty", c.repetition_penalty);
  number("presence_penalty", c.presence_penalty);
  number("frequency_penalty", c.frequency_penalty);
  number("temperature", c.temperature);
  integer("top_k", c.top_k);
  number("top_p", c.top_p);
  number("min_p", c.min_p);
  number("typical_p", c.typical_p);
  integer("beams", c.beams);
  number("length_penalty", c.length_penalty);
  if (j.contains("order")) {
    const json& v = j.at("order");
    if (!v.is_array()) {
      fail("{}: sampler key 'order' must be a list of step names, got {}", what, v.dump());
    }
    c.order.clear();
    for (const json& name : v) {
      if (!name.is_string()) {
        fail("{}: sampler key 'order' must be a list of step names, got {}", what, v.dump());
      }
      c.order.push_back(parse_sampler_step(name.get<std::string>(), what + " (sampler order)"));
    }
  }
  return c;
}

std::string SamplerConfig::describe() const {
  std::vector<std::string> parts;
  if (beams > 1) parts.push_back(fmt::format("beams={} length_penalty={}", beams, length_penalty));
  for (SamplerStep s : order) {
    switch (s) {
      case SamplerStep::repetition_penalty:
        if (repetition_penalty != 1.0f) {
          parts.push_back(fmt::format("repetition_penalty={}", repetition_penalty));
        }
        break;
      case SamplerStep::presence_frequency:
        if (presence_penalty != 0.0f) {
          parts.push_back(fmt::format("presence_penalty={}", presence_penalty));
        }
        if (frequency_penalty != 0.0f) {
          parts.push_back(fmt::format("frequency_penalty={}", frequency_penalty));
        }
        break;
      case SamplerStep::temperature:
        if (beams == 1 && temperature != 1.0f) {
          parts.push_back(greedy() ? "greedy" : fmt::format("temperature={}", temperature));
        }
        break;
      case SamplerStep::top_k:
        if (beams == 1 && !greedy() && top_k != 0) parts.push_back(fmt::format("top_k={}", top_k));
        break;
      case SamplerStep::top_p:
        if (beams == 1 && !greedy() && top_p != 1.0f) {
          parts.push_back(fmt::format("top_p={}", top_p));
        }
        break;
      case SamplerStep::min_p:
        if (beams == 1 && !greedy() && min_p != 0.0f) {
          parts.push_back(fmt::format("min_p={}", min_p));
        }
        break;
      case SamplerStep::typical_p:
        if (beams == 1 && !greedy() && typical_p != 1.0f) {
          parts.push_back(fmt::format("typical_p={}", typical_p));
        }
        break;
    }
  }
  if (parts.empty()) return "pure sampling (temperature=1)";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

std::vector<double> apply_sampler_chain(const SamplerConfig& config, const SamplingRow& row) {
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
  std::vector<float> x(row.logits.begin(), row.logits.end());
  if (row.banned_token >= 0) x[row.banned_token] = kRemovedF;
  canonicalize(x);
  const bool greedy = config.greedy();
  for (SamplerStep step : config.order) {
    switch (step) {
      case SamplerStep::repetition_penalty:
        if (config.repetition_penalty != 1.0f) {
          apply_repetition_penalty(x, row.history, config.repetition_penalty);
        }
        break;
      case SamplerStep::presence_frequency:
        if (config.presence_penalty != 0.0f || config.frequency_penalty != 0.0f) {
          apply_presence_frequency(x, row.history.subspan(row.prompt_length),
                                   config.presence_penalty, config.frequency_penalty);
        }
        break;
      case SamplerStep::temperature:
        if (!greedy && config.temperature != 1.0f) {
          for (float& v : x) v = v / config.temperature;
        }
        break;
      case SamplerStep::top_k:
        if (!greedy && config.top_k > 0) apply_top_k(x, config.top_k);
        break;
      case SamplerStep::top_p:
        if (!greedy && config.top_p < 1.0f) apply_top_p(x, config.top_p);
        break;
      case SamplerStep::min_p:
        if (!greedy && config.min_p > 0.0f) apply_min_p(x, config.min_p);
        break;
      case SamplerStep::typical_p:
        if (!greedy && config.typical_p < 1.0f) apply_typical_p(x, config.typical_p);
        break;
    }
    canonicalize(x);
  }
  return std::vector<double>(x.begin(), x.end());
}

std::int32_t choose_token(std::span<const double> chained_logits, float uniform, bool greedy) {
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
  const double target = static_cast<double>(uniform) * total;
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
                                    float uniform) {
  return choose_token(apply_sampler_chain(config, row), uniform, config.greedy());
}

}  // namespace collapse
