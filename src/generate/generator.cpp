#include "collapse/generate/generator.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "collapse/generate/fixed_step_decoder.h"
#include "collapse/generate/philox.h"
#include "collapse/generate/sampler_batch.h"
#include "collapse/model/device.h"
#include "collapse/util/error.h"

namespace collapse {
namespace {


// The rows of one batch being decoded, in the layout sample_tokens() reads.
struct Rows {
  DecodeCache cache;
  at::Tensor history;         // [R, capacity] int32: BOS, prompt, generated tokens
  at::Tensor lengths;         // [R] int32
  at::Tensor prompt_lengths;  // [R] int32
  at::Tensor logits;          // [R, vocab] fp32: the next token's logits

  // Keeps rows `rows` ([R'] int64 on the device) in that order.
  void select(const at::Tensor& rows) {
    cache.select_rows(rows);
    history = history.index_select(0, rows);
    lengths = lengths.index_select(0, rows);
    prompt_lengths = prompt_lengths.index_select(0, rows);
    logits = logits.index_select(0, rows);
  }
  // Appends one token per row: tokens [R] int64.
  void append(const at::Tensor& tokens) {
    history.scatter_(1, lengths.to(at::kLong).unsqueeze(1), tokens.to(at::kInt).unsqueeze(1));
    lengths.add_(1);
  }
};

// Runs BOS + prompt of every row through the model (left-padded to a common length) with room for
// `max_tokens` more slots.
Rows prefill(GPT& model, const std::vector<const std::vector<std::int32_t>*>& prompts,
             const SpecialIds& special, std::int64_t max_tokens, const c10::Device& device) {
  std::int64_t width = 0;
  for (const auto* p : prompts) width = std::max<std::int64_t>(width, 1 + static_cast<std::int64_t>(p->size()));
  const std::int64_t capacity = width + max_tokens;
  const auto [tokens, history, lengths, pad] = left_pad_prompts(prompts, width, capacity, special);
  Rows rows;
  rows.cache = DecodeCache(pad.to(device), capacity);
  rows.history = history.to(device);
  rows.lengths = lengths.to(device);
  rows.prompt_lengths = rows.lengths.clone();
  rows.logits = model->decode(tokens.to(device), rows.cache);
  return rows;
}

at::Tensor host_tensor(const std::vector<std::int64_t>& v) {
  return at::tensor(at::ArrayRef<std::int64_t>(v), at::kLong);
}

struct BatchContext {
  GPT& model;
  const GenerateOptions& options;
  const c10::Device& device;
  std::int64_t tokens_done = 0, documents_done = 0;
  const GenerateProgress& progress;
  void report() {
    if (progress) progress(documents_done, tokens_done);
  }
};

// Document d's token at generated position g: appended, or the end of the document. Returns
// whether the document goes on.
bool take_token(BatchContext& ctx, GeneratedDocument& d, std::int64_t token, std::int64_t g) {
  if (token < 0) {
    fail("document {}: every next-token logit is -inf or NaN at generated position {} (a "
         "diverged model, or a sampler chain that removes every token)", d.id, g);
  }
  if (token == ctx.options.special.eos) {
    d.ended_with_eos = true;
  } else {
    d.tokens.push_back(static_cast<std::int32_t>(token));
    ++ctx.tokens_done;
    if (static_cast<std::int64_t>(d.tokens.size()) < ctx.options.max_tokens) return true;
  }
  ++ctx.documents_done;
  return false;
}

// The host side of every decode step of one batch: the rows' uniforms and banned tokens going
// to the device and the chosen tokens coming back, in buffers allocated once per batch (pinned on
// CUDA, so the copies are direct) and written through their data pointers.
struct StepBuffers {
  at::Tensor uniforms, banned, picked;  // [B] float64, int32, int64 on the host

  StepBuffers(std::int64_t rows, const c10::Device& device) {
    const auto host = at::TensorOptions().pinned_memory(device.is_cuda());
    uniforms = at::empty({rows}, host.dtype(at::kDouble));
    banned = at::empty({rows}, host.dtype(at::kInt));
    picked = at::empty({rows}, host.dtype(at::kLong));
  }
};

// Sampling (or greedy) decoding of documents `docs` (pointers into the output), each with its
// prompt.
void sample_batch(BatchContext& ctx, std::vector<GeneratedDocument*> docs,
                  const std::vector<const std::vector<std::int32_t>*>& prompts) {
  const GenerateOptions& o = ctx.options;
  Rows rows = prefill(ctx.model, prompts, o.special, o.max_tokens, ctx.device);
  StepBuffers buffers(static_cast<std::int64_t>(docs.size()), ctx.device);
  for (std::int64_t g = 0; g < o.max_tokens && !docs.empty(); ++g) {
    const auto R = static_cast<std::int64_t>(docs.size());
    double* u = buffers.uniforms.data_ptr<double>();
    std::int32_t* ban = buffers.banned.data_ptr<std::int32_t>();
    for (std::int64_t r = 0; r < R; ++r) {
      u[r] = sampling_uniform(o.seed, static_cast<std::uint64_t>(docs[static_cast<std::size_t>(r)]->id),
                              static_cast<std::uint64_t>(g));
      ban[r] = g < o.min_tokens ? o.special.eos : -1;
    }
    // The previous step's read-back synchronised, so no copy still reads these buffers.
    const at::Tensor next = sample_tokens(
        o.sampler, rows.logits, {rows.history, rows.lengths, rows.prompt_lengths},
        buffers.uniforms.narrow(0, 0, R).to(ctx.device, /*non_blocking=*/true),
        buffers.banned.narrow(0, 0, R).to(ctx.device, /*non_blocking=*/true), o.host_sampler);
    // Which rows ended decides what the next step decodes, so the tokens come back every step.
    at::Tensor picked_host = buffers.picked.narrow(0, 0, R);
    picked_host.copy_(next);
    const auto* picked = picked_host.data_ptr<std::int64_t>();
    std::vector<std::int64_t> keep;
    std::vector<GeneratedDocument*> still;
    for (std::int64_t r = 0; r < R; ++r) {
      GeneratedDocument* d = docs[static_cast<std::size_t>(r)];
      if (take_token(ctx, *d, picked[r], g)) {
        keep.push_back(r);
        still.push_back(d);
      }
    }
    ctx.report();
    if (still.empty()) break;
    rows.append(next);
    at::Tensor next_tokens = next;
    if (static_cast<std::int64_t>(still.size()) < R) {
      const at::Tensor index = host_tensor(keep).to(ctx.device);
      rows.select(index);
      next_tokens = next.index_select(0, index);
    }
    docs = std::move(still);
    rows.logits = ctx.model->decode(next_tokens.unsqueeze(1), rows.cache);
  }
}

// The same decoding on a FixedStepDecoder: the batch keeps decoder.batch() rows whatever ends
// (rows beyond `docs` repeat the first prompt and are never read), until every document ended.
void sample_fixed(BatchContext& ctx, FixedStepDecoder& decoder, std::vector<GeneratedDocument*> docs,
                  std::vector<const std::vector<std::int32_t>*> prompts) {
  const GenerateOptions& o = ctx.options;
  const auto B = static_cast<std::size_t>(decoder.batch());
  std::size_t live = docs.size();
  docs.resize(B, nullptr);
  prompts.resize(B, prompts.front());
  decoder.start(prompts);
  std::vector<double> uniforms(B, 0.5);
  std::vector<std::int32_t> banned(B, -1);
  for (std::int64_t g = 0; g < o.max_tokens && live > 0; ++g) {
    for (std::size_t r = 0; r < B; ++r) {
      if (!docs[r]) continue;
      uniforms[r] = sampling_uniform(o.seed, static_cast<std::uint64_t>(docs[r]->id),
                                     static_cast<std::uint64_t>(g));
      banned[r] = g < o.min_tokens ? o.special.eos : -1;
    }
    const std::int64_t* picked = decoder.step(uniforms, banned);
    for (std::size_t r = 0; r < B; ++r) {
      if (docs[r] && !take_token(ctx, *docs[r], picked[r], g)) {
        docs[r] = nullptr;
        --live;
      }
    }
    ctx.report();
  }
}

struct Hypothesis {
  double score;
  std::vector<std::int32_t> tokens;
};

// A document's beam-search state.
struct BeamDocument {
  GeneratedDocument* out;
  std::vector<std::vector<std::int32_t>> beams;  // tokens of each running beam
  std::vector<double> scores;                    // their total log-probabilities
  std::vector<Hypothesis> finished;              // best first, at most `beams`
  bool done = false;

  void add(Hypothesis h, std::size_t keep) {
    const auto at = std::find_if(finished.begin(), finished.end(),
                                 [&](const Hypothesis& x) { return h.score > x.score; });
    finished.insert(at, std::move(h));
    if (finished.size() > keep) finished.pop_back();
  }
};

double length_normalised(double score, std::int64_t length, float length_penalty) {
  return score / std::pow(static_cast<double>(length), static_cast<double>(length_penalty));
}

void beam_batch(BatchContext& ctx, std::vector<GeneratedDocument*> docs,
                const std::vector<const std::vector<std::int32_t>*>& prompts) {
  const GenerateOptions& o = ctx.options;
  const std::int64_t K = o.sampler.beams;
  const auto D = static_cast<std::int64_t>(docs.size());
  Rows rows = prefill(ctx.model, prompts, o.special, o.max_tokens, ctx.device);
  rows.select(at::arange(D, at::TensorOptions().dtype(at::kLong).device(ctx.device)).repeat_interleave(K));
  std::vector<BeamDocument> state;
  for (GeneratedDocument* d : docs) {
    BeamDocument s{d, std::vector<std::vector<std::int32_t>>(static_cast<std::size_t>(K)),
                   std::vector<double>(static_cast<std::size_t>(K), -std::numeric_limits<double>::infinity()),
                   {}};
    s.scores[0] = 0.0;  // all beams start identical: only the first may be extended at step 0
    state.push_back(std::move(s));
  }
  std::vector<BeamDocument*> active;
  for (auto& s : state) active.push_back(&s);
  const double neg_inf = -std::numeric_limits<double>::infinity();

  for (std::int64_t g = 0; g < o.max_tokens && !active.empty(); ++g) {
    const auto A = static_cast<std::int64_t>(active.size());
    at::Tensor logp = at::log_softmax(rows.logits.to(at::kFloat), -1);
    apply_penalties(o.sampler, logp, rows.history, rows.lengths, rows.prompt_lengths);
    if (g < o.min_tokens) logp.select(1, o.special.eos).fill_(neg_inf);
    std::vector<double> running;
    for (const BeamDocument* s : active) running.insert(running.end(), s->scores.begin(), s->scores.end());
    const at::Tensor base = at::tensor(at::ArrayRef<double>(running), at::kDouble).to(ctx.device);
    const at::Tensor total = logp.to(at::kDouble) + base.unsqueeze(1);  // [A*K, V]
    const std::int64_t V = total.size(1);
    const auto top = total.view({A, K * V}).topk(2 * K, 1);
    const at::Tensor values = std::get<0>(top).to(at::kCPU), index = std::get<1>(top).to(at::kCPU);
    const auto val = values.accessor<double, 2>();
    const auto idx = index.accessor<std::int64_t, 2>();

    std::vector<std::int64_t> source_rows, next_tokens;
    std::vector<BeamDocument*> still;
    for (std::int64_t a = 0; a < A; ++a) {
      BeamDocument& s = *active[static_cast<std::size_t>(a)];
      std::vector<std::vector<std::int32_t>> beams;
      std::vector<double> scores;
      std::vector<std::int64_t> sources, tokens;
      for (std::int64_t c = 0; c < 2 * K && static_cast<std::int64_t>(beams.size()) < K; ++c) {
        const double score = val[a][c];
        if (score == neg_inf) break;
        const std::int64_t beam = idx[a][c] / V, token = idx[a][c] % V;
        const auto& prefix = s.beams[static_cast<std::size_t>(beam)];
        if (token == o.special.eos) {
          if (c < K) s.add({length_normalised(score, g + 1, o.sampler.length_penalty), prefix},
                           static_cast<std::size_t>(K));
          continue;
        }
        beams.push_back(prefix);
        beams.back().push_back(static_cast<std::int32_t>(token));
        scores.push_back(score);
        sources.push_back(a * K + beam);
        tokens.push_back(token);
      }
      const bool last = g + 1 == o.max_tokens;
      if (last) {
        for (std::size_t k = 0; k < beams.size(); ++k) {
          s.add({length_normalised(scores[k], g + 1, o.sampler.length_penalty), beams[k]},
                static_cast<std::size_t>(K));
        }
      }
      // Hugging Face's stopping rule (early_stopping=False): done once `beams` hypotheses exist
      // and the best running beam, normalised at the current length, does not beat the worst.
      const bool saturated =
          static_cast<std::int64_t>(s.finished.size()) >= K &&
          (beams.empty() || s.finished.back().score >=
                                length_normalised(scores.front(), g + 1, o.sampler.length_penalty));
      if (last || saturated || beams.empty()) {
        s.done = true;
        ++ctx.documents_done;
        continue;
      }
      // Fewer live continuations than beams (a tiny vocabulary, or bans): the empty slots repeat
      // a live beam at score -inf, so they are never chosen and the row layout stays K per document.
      while (static_cast<std::int64_t>(beams.size()) < K) {
        beams.push_back(beams.front());
        scores.push_back(neg_inf);
        sources.push_back(sources.front());
        tokens.push_back(tokens.front());
      }
      s.beams = std::move(beams);
      s.scores = std::move(scores);
      source_rows.insert(source_rows.end(), sources.begin(), sources.end());
      next_tokens.insert(next_tokens.end(), tokens.begin(), tokens.end());
      still.push_back(&s);
    }
    ctx.tokens_done += static_cast<std::int64_t>(still.size());
    ctx.report();
    active = std::move(still);
    if (active.empty()) break;
    rows.select(host_tensor(source_rows).to(ctx.device));
    const at::Tensor next = host_tensor(next_tokens).to(ctx.device);
    rows.append(next);
    rows.logits = ctx.model->decode(next.unsqueeze(1), rows.cache);
  }
  for (BeamDocument& s : state) {
    if (s.finished.empty()) continue;  // max_tokens == 0 cannot happen (validated)
    s.out->tokens = s.finished.front().tokens;
    s.out->ended_with_eos = static_cast<std::int64_t>(s.out->tokens.size()) < o.max_tokens;
  }
}

std::int64_t longest_prompt(const std::vector<std::vector<std::int32_t>>& prompts) {
  std::size_t longest = 0;
  for (const auto& p : prompts) longest = std::max(longest, p.size());
  return static_cast<std::int64_t>(longest);
}

void validate(const GenerateOptions& o, const ModelConfig& model,
              const std::vector<std::vector<std::int32_t>>& prompts) {
  const SettingNames& name = o.names;
  o.sampler.validate(name);
  if (o.documents < 1) fail("{} must be at least 1, got {}", name("documents"), o.documents);
  if (o.max_tokens < 1) fail("{} must be at least 1, got {}", name("max_tokens"), o.max_tokens);
  if (o.min_tokens < 0 || o.min_tokens > o.max_tokens) {
    fail("{} must be in [0, {} = {}], got {}", name("min_tokens"), name("max_tokens"), o.max_tokens,
         o.min_tokens);
  }
  if (o.batch_size < 1) fail("{} must be at least 1, got {}", name("batch_size"), o.batch_size);
  if (o.prompt_repeat < 1) fail("prompt_repeat must be at least 1, got {}", o.prompt_repeat);
  if (prompts.empty()) fail("no prompts to generate from");
  const SpecialIds& s = o.special;
  for (const std::int32_t id : {s.bos, s.eos, s.pad}) {
    if (id < 0 || id >= model.vocab_size) {
      fail("the special ids {} do not fit the model's vocabulary of {} (are they the tokenizer's?)",
           describe(s), model.vocab_size);
    }
  }
  if (o.vocab_size < 0 || o.vocab_size > model.vocab_size) {
    fail("the tokenizer's {} ids do not fit the model's vocabulary of {}", o.vocab_size, model.vocab_size);
  }
  const std::int64_t limit = window_within(model, o.context, name("context"));
  const std::int64_t longest = longest_prompt(prompts);
  const auto needed = 1 + longest + o.max_tokens;
  if (needed > limit) {
    fail("BOS + the longest prompt ({} tokens) + {} {} = {} positions exceeds the {} {}; lower {} "
         "or shorten the prompts",
         longest, name("max_tokens"), o.max_tokens, needed,
         o.context > 0 ? name("context") : "model context", limit, name("max_tokens"));
  }
  for (const auto& p : prompts) {
    for (const std::int32_t t : p) {
      if (t < 0 || t >= model.vocab_size) fail("prompt token {} is outside the model's vocabulary", t);
    }
  }
}

}  // namespace

DecodeMode resolve_decode_mode(const GenerateOptions& options, const ModelConfig& model,
                               const std::vector<std::vector<std::int32_t>>& prompts,
                               const c10::Device& device) {
  const std::int64_t width = 1 + longest_prompt(prompts);
  std::string why;
  const bool capturable =
      FixedStepDecoder::can_capture(options.sampler, model, width, options.max_tokens, device, &why);
  switch (options.decode) {
    case DecodeMode::automatic: return capturable ? DecodeMode::graph : DecodeMode::eager;
    case DecodeMode::eager: return DecodeMode::eager;
    case DecodeMode::fixed:
      if (options.sampler.beams > 1) {
        fail("{} fixed: beam search decodes eagerly only", options.names("decode"));
      }
      return DecodeMode::fixed;
    case DecodeMode::graph:
      if (!capturable) fail("{} graph: {}", options.names("decode"), why);
      return DecodeMode::graph;
  }
  return DecodeMode::eager;
}

void apply_penalties(const SamplerConfig& config, at::Tensor& scores, const at::Tensor& history,
                     const at::Tensor& lengths, const at::Tensor& prompt_lengths) {
  const bool repetition = config.active(SamplerStep::repetition_penalty);
  const bool presence = config.active(SamplerStep::presence_frequency);
  if (!repetition && !presence) return;
  const auto longs = at::TensorOptions().dtype(at::kLong).device(history.device());
  const at::Tensor position = at::arange(history.size(1), longs).unsqueeze(0);
  const at::Tensor valid = position < lengths.to(at::kLong).unsqueeze(1);
  const at::Tensor ids = at::where(valid, history.to(at::kLong), at::zeros_like(position));
  auto counts_where = [&](const at::Tensor& mask) {
    return at::zeros(scores.sizes(), longs.dtype(at::kInt)).scatter_add_(1, ids, mask.to(at::kInt));
  };
  auto apply_repetition = [&] {
    const float r = config.repetition_penalty;
    const at::Tensor seen = counts_where(valid) > 0;
    scores.copy_(at::where(seen, at::where(scores > 0, scores / r, scores * r), scores));
  };
  auto apply_presence = [&] {
    const at::Tensor generated = valid & (position >= prompt_lengths.to(at::kLong).unsqueeze(1));
    const at::Tensor count = counts_where(generated).to(scores.scalar_type());
    scores.sub_(count * config.frequency_penalty + (count > 0).to(scores.scalar_type()) * config.presence_penalty);
  };
  for (const SamplerStep step : config.order) {
    if (step == SamplerStep::repetition_penalty && repetition) apply_repetition();
    if (step == SamplerStep::presence_frequency && presence) apply_presence();
  }
}

std::vector<GeneratedDocument> generate(GPT& model,
                                        const std::vector<std::vector<std::int32_t>>& prompts,
                                        const GenerateOptions& options, const c10::Device& device,
                                        const GenerateProgress& progress) {
  validate(options, model->config(), prompts);
  const DecodeMode mode = resolve_decode_mode(options, model->config(), prompts, device);
  const DecodedVocabulary vocabulary(model, options.vocab_size);
  c10::InferenceMode inference;
  AutocastScope autocast(device);
  // After the autocast scope: a captured graph may read weight casts that the scope caches and
  // frees on exit, so the decoder (and its graph) must go first.
  std::optional<FixedStepDecoder> decoder;
  if (mode == DecodeMode::fixed || mode == DecodeMode::graph) {
    decoder.emplace(model, options.sampler, std::min(options.batch_size, options.documents),
                    1 + longest_prompt(prompts), options.max_tokens, options.special, device,
                    mode == DecodeMode::graph, options.host_sampler);
  }
  std::vector<GeneratedDocument> out(static_cast<std::size_t>(options.documents));
  BatchContext ctx{model, options, device, 0, 0, progress};
  const auto P = static_cast<std::int64_t>(prompts.size());
  for (std::int64_t first = 0; first < options.documents; first += options.batch_size) {
    const std::int64_t count = std::min(options.batch_size, options.documents - first);
    std::vector<GeneratedDocument*> docs;
    std::vector<const std::vector<std::int32_t>*> batch_prompts;
    for (std::int64_t i = first; i < first + count; ++i) {
      GeneratedDocument& d = out[static_cast<std::size_t>(i)];
      d.id = options.first_document + i;
      d.prompt_id = d.id / options.prompt_repeat % P;
      docs.push_back(&d);
      batch_prompts.push_back(&prompts[static_cast<std::size_t>(d.prompt_id)]);
    }
    if (options.sampler.beams > 1) {
      beam_batch(ctx, std::move(docs), batch_prompts);
    } else if (decoder) {
      sample_fixed(ctx, *decoder, std::move(docs), std::move(batch_prompts));
    } else {
      sample_batch(ctx, std::move(docs), batch_prompts);
    }
  }
  return out;
}

}  // namespace collapse
