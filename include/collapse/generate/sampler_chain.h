// The sampler chain: how one row of next-token logits becomes one token.
//
// A chain is data: a SamplerConfig holds each step's settings and the order the steps run in.
// Steps whose settings are neutral (penalty 1 or 0, temperature 1, top_k 0, top_p 1, min_p 0,
// typical_p 1) do nothing. Two tables below are the one place every step and setting is named:
// the CPU reference, the kernel dispatch, the JSON and TOML keys, the CLI's flags and the docs
// tests all read them. This file is the *definition*: the CPU reference implements every step
// exactly (sort-based where that is simplest); the CUDA kernel (kernels/sampling.cu) is tested
// against it. docs/sampling.md states the same with examples.
//
// One row: logits x[V] (float; bf16 input is widened first), the sequence so far h[0..L) (the
// prompt's n_prompt tokens, BOS included, then the generated ones), and a uniform u in (0, 1).
//   0. min_tokens: while fewer than min_tokens tokens were generated, x[eos] = -inf (always first).
//   repetition_penalty r: for each distinct token t in h (prompt included; Hugging Face
//      semantics): x[t] = x[t] > 0 ? x[t] / r : x[t] * r.                                (float)
//   presence/frequency a_p, a_f: for each distinct token t among the *generated* tokens with
//      count c: x[t] = x[t] - (a_f * c + a_p).                        (float; OpenAI/vLLM semantics)
//   temperature T: T == 0 means greedy: the token is argmax x after the penalties (lowest id on
//      ties) and the filters below are skipped. Otherwise x[t] = x[t] / T.                (float)
//   From here on p = softmax over the finite entries of x, in double; removed tokens get -inf.
//   top_k k: keep t with x[t] >= the k-th largest x (ties at the boundary are all kept).
//   top_p P: sort p descending; m = first index whose cumulative sum >= P; keep t with
//      p[t] >= p_sorted[m] (a threshold, so ties are kept and the result is order-free).
//   min_p M: keep t with p[t] >= M * max p.
//   typical_p Q (Meister et al. 2022): H = -sum p log p; sort by |-log p[t] - H| ascending (ties by
//      id); keep the shortest prefix whose mass >= Q.
//   Choice: q[t] = exp(x[t] - max x) over the kept tokens, Z = sum q. The token is the smallest id
//      t with q[0] + ... + q[t] > u * Z (inverse transform in *vocabulary order*, so no sort is
//      needed to sample); if rounding leaves none, the largest kept id. No finite logit left: -1.
//   Non-finite logits (NaN, +-inf, also from overflow in a step) are removed tokens (-inf).
// Each filter sees the distribution left by the steps before it (Hugging Face warper semantics).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "collapse/util/setting_names.h"

namespace collapse {

enum class SamplerStep {
  repetition_penalty,
  presence_frequency,  // presence_penalty and frequency_penalty together
  temperature,
  top_k,
  top_p,
  min_p,
  typical_p,
};

struct SamplerConfig {
  float repetition_penalty = 1.0f;  // > 0; 1 = off
  float presence_penalty = 0.0f;    // 0 = off
  float frequency_penalty = 0.0f;   // 0 = off
  float temperature = 1.0f;         // >= 0; 0 = greedy
  std::int64_t top_k = 0;           // >= 0; 0 = off
  float top_p = 1.0f;               // (0, 1]; 1 = off
  float min_p = 0.0f;               // [0, 1); 0 = off
  float typical_p = 1.0f;           // (0, 1]; 1 = off
  // The order the steps run in. Every step appears exactly once.
  std::vector<SamplerStep> order = default_order();
  // Beam search instead of sampling when > 1 (see generator.h): penalties apply to the beams'
  // log-probabilities as in Hugging Face; temperature and the filters are not used.
  std::int64_t beams = 1;
  float length_penalty = 1.0f;  // beam score = sum log p / (generated length ^ length_penalty)

  // Every step, in the order of sampler_steps().
  static std::vector<SamplerStep> default_order();
  bool greedy() const { return temperature == 0.0f; }
  // Whether `step` changes anything for this chain: a setting of the step is off its neutral
  // value, and the step is a penalty or the chain is not greedy (greedy skips the filters).
  bool active(SamplerStep step) const;
  // Whether a penalty reads the token history (repetition, presence or frequency).
  bool penalizes() const;
  // Throws Error for an out-of-range setting, naming it through `names` (the CLI's --top-p, an
  // experiment's [sampler] top_p) and saying what is allowed.
  void validate(const SettingNames& names = setting_key) const;
  nlohmann::json to_json() const;
  // Strict: unknown keys or wrong types are an Error naming `what` and the key. Absent keys keep
  // their defaults; values are not range-checked here (call validate()).
  static SamplerConfig from_json(const nlohmann::json& j, const std::string& what);
  // A short human-readable summary, e.g. "temperature=0.8 top_p=0.95".
  std::string describe() const;
};

// --- The two tables: the steps and the settings.

struct SamplerStepInfo {
  SamplerStep step;
  const char* name;         // its name in `order`: "top_p", "penalties"
  const char* description;  // one line, for help texts and docs
  bool penalty;             // reads the token history; applies to greedy chains and beam search
  bool in_kernel;           // the fused CUDA kernel runs it (in table order)
};
// Every step, in the default order.
std::span<const SamplerStepInfo> sampler_steps();
const SamplerStepInfo& sampler_step_info(SamplerStep step);

// Parses one step name; throws Error naming `what` (the caller's name for the setting) and
// listing the names.
SamplerStep parse_sampler_step(const std::string& name, const std::string& what);
std::string to_string(SamplerStep step);

// One setting of SamplerConfig: a number, or `order` (the list of step names).
struct SamplerSetting {
  using Member = std::variant<float SamplerConfig::*, std::int64_t SamplerConfig::*,
                              std::vector<SamplerStep> SamplerConfig::*>;
  const char* key;  // the JSON and TOML key ("top_p"); the CLI names its flag after it
  Member member;
  std::optional<SamplerStep> step;  // the step it sets; none for `order` and beam search's
  // Numbers only: the value at which the setting does nothing, and the allowed values: finite,
  // in [low, high] with an end excluded where open (+-inf: unbounded).
  double neutral, low, high;
  bool low_open, high_open;
  const char* allowed;  // what is allowed, in words: "a number in (0, 1] (1 = off)"
  const char* help;     // one line, for help texts

  bool is_order() const { return std::holds_alternative<std::vector<SamplerStep> SamplerConfig::*>(member); }
  bool is_integer() const { return std::holds_alternative<std::int64_t SamplerConfig::*>(member); }
  // A number's value (not for `order`).
  double value(const SamplerConfig& c) const;
};
// Every setting, in the order of the docs.
std::span<const SamplerSetting> sampler_settings();

// --- The CPU reference.

// One row's inputs for the reference.
struct SamplingRow {
  std::span<const float> logits;         // [vocab]
  std::span<const std::int32_t> history;  // prompt (BOS included) then generated tokens
  std::int64_t prompt_length = 0;         // how many leading history tokens are the prompt
  std::int32_t banned_token = -1;         // set to -inf first (EOS before min_tokens); -1 = none
};

// Throws Error when the row is inconsistent: a prompt length outside its history, a history token
// or banned token outside the vocabulary. Every CPU sampler checks its rows with this.
void check_sampling_row(const SamplingRow& row);

// Steps 0..typical_p applied to one row: the logits the choice sees, in double, with -inf for
// removed tokens. Greedy chains return the penalised logits (filters skipped).
std::vector<double> apply_sampler_chain(const SamplerConfig& config, const SamplingRow& row);

// The final distribution of one row (kept tokens' probabilities summing to 1, others 0): what the
// chi-square tests compare kernel draws against. For greedy chains, 1 at the argmax.
std::vector<double> sampler_distribution(const SamplerConfig& config, const SamplingRow& row);

// The choice on chained logits: inverse transform in vocabulary order with `uniform`, or argmax
// when greedy; -1 when no entry is finite.
std::int32_t choose_token(std::span<const double> chained_logits, double uniform, bool greedy);

// Everything for one row: the reference sampler.
std::int32_t sample_token_reference(const SamplerConfig& config, const SamplingRow& row,
                                    double uniform);

}  // namespace collapse
