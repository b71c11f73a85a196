// The fixed-shape decode step (the body that a CUDA graph captures) on the CPU: GPT::decode_at
// gives decode()'s logits, and generating with --decode fixed gives the eager decoder's documents
// for every kind of chain, prompt mix, batch split and min_tokens. The capture itself is checked
// on a GPU (decode_graph_test.cpp).
#include <gtest/gtest.h>

#include <set>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include "collapse/data/tokenizer.h"
#include "collapse/generate/fixed_step_decoder.h"
#include "collapse/generate/generator.h"
#include "collapse/generate/philox.h"
#include "collapse/model/model.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

GPT tiny_model() {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = 61;
  c.context = 48;
  c.tie_embeddings = false;
  GPT m(c);
  initialize_weights(m, 11);
  {
    torch::NoGradGuard no_grad;
    m->output_weight().mul_(8.0);  // real preferences for sampling to find
  }
  m->eval();
  return m;
}

std::vector<std::vector<std::int32_t>> mixed_prompts() {
  return {{7, 8, 9, 10, 11}, {}, {42}, {5, 6, 7, 30, 31, 32, 33, 34, 35}, {12, 12}};
}

// The same options generated eagerly and with the fixed-shape step.
void expect_fixed_equals_eager(GPT& m, GenerateOptions o,
                               const std::vector<std::vector<std::int32_t>>& prompts) {
  o.decode = DecodeMode::eager;
  const auto eager = generate(m, prompts, o, at::kCPU);
  o.decode = DecodeMode::fixed;
  const auto fixed = generate(m, prompts, o, at::kCPU);
  ASSERT_EQ(eager.size(), fixed.size());
  for (std::size_t i = 0; i < eager.size(); ++i) {
    EXPECT_EQ(fixed[i].tokens, eager[i].tokens) << "document " << i;
    EXPECT_EQ(fixed[i].ended_with_eos, eager[i].ended_with_eos) << "document " << i;
    EXPECT_EQ(fixed[i].prompt_id, eager[i].prompt_id) << "document " << i;
  }
}

}  // namespace

TEST(DecodeAt, GivesDecodesLogitsAtEverySlotOfALeftPaddedBatch) {
  GPT m = tiny_model();
  torch::NoGradGuard no_grad;
  const auto prompts = mixed_prompts();
  const auto B = static_cast<std::int64_t>(prompts.size());
  const std::int64_t width = 10, steps = 6;
  at::Tensor tokens = at::full({B, width}, Tokenizer::kTrainedIds.pad, at::kLong);
  at::Tensor pad = at::empty({B}, at::kLong);
  for (std::int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[static_cast<std::size_t>(b)];
    const auto length = 1 + static_cast<std::int64_t>(p.size());
    pad[b] = width - length;
    tokens[b][width - length] = Tokenizer::kTrainedIds.bos;
    for (std::size_t i = 0; i < p.size(); ++i) tokens[b][width - length + 1 + static_cast<std::int64_t>(i)] = p[i];
  }
  DecodeCache grown(pad, width + steps), fixed(pad, width + steps);
  EXPECT_TRUE(m->decode(tokens, grown).equal(m->decode(tokens, fixed)));
  const at::Tensor slot = at::full({1}, width, at::kLong);
  for (std::int64_t s = 0; s < steps; ++s) {
    const at::Tensor next = at::arange(B, at::kLong).add(13 + 3 * s).unsqueeze(1);
    const at::Tensor expected = m->decode(next, grown);
    const at::Tensor got = m->decode_at(next, fixed, slot);
    slot.add_(1);
    EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5) << "step " << s;
  }
}

TEST(FixedStepDecoder, StepsGiveTheEagerDecodersTokensRowByRow) {
  // The decoder driven directly, not through generate(): row r is document r, prompt r.
  GPT m = tiny_model();
  const auto prompts = mixed_prompts();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = static_cast<std::int64_t>(prompts.size());
  o.max_tokens = 12;
  o.seed = 8;
  o.sampler.top_k = 20;
  o.decode = DecodeMode::eager;
  const auto eager = generate(m, prompts, o, at::kCPU);
  FixedStepDecoder decoder(m, o.sampler, o.documents, 10, o.max_tokens, o.special, at::kCPU, /*capture=*/false);
  std::vector<const std::vector<std::int32_t>*> rows;
  for (const auto& p : prompts) rows.push_back(&p);
  decoder.start(rows);
  std::vector<std::vector<std::int32_t>> got(prompts.size());
  std::vector<bool> ended(prompts.size(), false);
  std::vector<double> u(prompts.size());
  const std::vector<std::int32_t> ban(prompts.size(), -1);
  for (std::int64_t g = 0; g < o.max_tokens; ++g) {
    for (std::size_t r = 0; r < prompts.size(); ++r) u[r] = sampling_uniform(o.seed, r, static_cast<std::uint64_t>(g));
    const std::int64_t* t = decoder.step(u, ban);
    for (std::size_t r = 0; r < prompts.size(); ++r) {
      if (ended[r]) continue;
      if (t[r] == Tokenizer::kTrainedIds.eos) {
        ended[r] = true;
      } else {
        got[r].push_back(static_cast<std::int32_t>(t[r]));
      }
    }
  }
  for (std::size_t r = 0; r < prompts.size(); ++r) EXPECT_EQ(got[r], eager[r].tokens) << "row " << r;
}

TEST(DecodeAt, RefusesACacheThatWasNeverFilled) {
  GPT m = tiny_model();
  DecodeCache empty(at::zeros({2}, at::kLong), 8);
  EXPECT_THROW(m->decode_at(at::zeros({2, 1}, at::kLong), empty, at::zeros({1}, at::kLong)), Error);
}

TEST(FixedDecode, SamplingGivesTheEagerDecodersDocuments) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 11;
  o.max_tokens = 14;
  o.batch_size = 4;  // three batches, the last one short: padding rows run and are ignored
  o.seed = 21;
  o.sampler.top_p = 0.9f;
  o.sampler.temperature = 1.3f;
  expect_fixed_equals_eager(m, o, mixed_prompts());
}

TEST(FixedDecode, PenaltiesMinTokensAndGreedyGiveTheEagerDecodersDocuments) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 7;
  o.max_tokens = 12;
  o.min_tokens = 5;
  o.batch_size = 7;
  o.seed = 4;
  o.sampler.repetition_penalty = 1.4f;
  o.sampler.frequency_penalty = 0.3f;
  o.sampler.presence_penalty = 0.2f;
  o.sampler.top_k = 9;
  o.sampler.min_p = 0.05f;
  expect_fixed_equals_eager(m, o, mixed_prompts());
  o.sampler = SamplerConfig{};
  o.sampler.temperature = 0.0f;  // greedy
  o.sampler.repetition_penalty = 1.2f;
  expect_fixed_equals_eager(m, o, mixed_prompts());
}

TEST(FixedDecode, DocumentsThatEndEarlyLeaveTheOthersUnchanged) {
  // Documents end at different steps while their batch keeps running.
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 16;
  o.max_tokens = 20;
  o.batch_size = 16;
  o.seed = 9;
  o.decode = DecodeMode::eager;
  const auto eager = generate(m, mixed_prompts(), o, at::kCPU);
  std::size_t ended = 0;
  for (const auto& d : eager) ended += d.ended_with_eos && d.tokens.size() < 19 ? 1 : 0;
  EXPECT_GE(ended, 3u) << "the test needs documents that end early";
  expect_fixed_equals_eager(m, o, mixed_prompts());
}

TEST(DecodeMode, AutoIsEagerOffCudaAndGraphCannotBeHadOnTheCpu) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  EXPECT_EQ(resolve_decode_mode(o, m->config(), mixed_prompts(), at::kCPU), DecodeMode::eager);
  o.decode = DecodeMode::fixed;
  EXPECT_EQ(resolve_decode_mode(o, m->config(), mixed_prompts(), at::kCPU), DecodeMode::fixed);
  o.decode = DecodeMode::graph;
  EXPECT_THROW(resolve_decode_mode(o, m->config(), mixed_prompts(), at::kCPU), Error);
  o.decode = DecodeMode::fixed;
  o.sampler.beams = 3;
  EXPECT_THROW(resolve_decode_mode(o, m->config(), mixed_prompts(), at::kCPU), Error);
}

TEST(DecodeMode, TheTableNamesEveryModeOnce) {
  std::set<std::string> names;
  for (DecodeMode mode : {DecodeMode::automatic, DecodeMode::eager, DecodeMode::fixed, DecodeMode::graph}) {
    EXPECT_EQ(find_named(decode_modes(), decode_mode_name(mode)), mode);
    names.insert(decode_mode_name(mode));
  }
  EXPECT_EQ(names.size(), decode_modes().size());
  EXPECT_EQ(names_of(decode_modes()), "auto, eager, fixed or graph");
  EXPECT_FALSE(find_named(decode_modes(), "cudagraph"));
}

TEST(FixedStepDecoder, RefusesStepsBeforeStartAndACacheBeyondTheContext) {
  GPT m = tiny_model();  // context 48
  FixedStepDecoder decoder(m, SamplerConfig{}, 2, 3, 2, Tokenizer::kTrainedIds, at::kCPU, /*capture=*/false);
  const std::vector<double> u{0.5, 0.5};
  const std::vector<std::int32_t> ban{-1, -1};
  EXPECT_THROW(decoder.step(u, ban), Error);
  EXPECT_THROW(FixedStepDecoder(m, SamplerConfig{}, 2, 10, 39, Tokenizer::kTrainedIds, at::kCPU, false), Error);
}

TEST(FixedStepDecoder, RefusesMoreStepsThanItHasRoomFor) {
  GPT m = tiny_model();
  FixedStepDecoder decoder(m, SamplerConfig{}, 2, 3, 2, Tokenizer::kTrainedIds, at::kCPU, /*capture=*/false);
  const std::vector<std::int32_t> prompt{4, 5};
  decoder.start({&prompt, &prompt});
  const std::vector<double> u{0.5, 0.5};
  const std::vector<std::int32_t> ban{-1, -1};
  decoder.step(u, ban);
  decoder.step(u, ban);
  EXPECT_THROW(decoder.step(u, ban), Error);
  EXPECT_FALSE(decoder.captured());
}
