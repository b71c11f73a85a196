// The generator: batched left-padded decoding equals decoding each prompt alone, tokens depend on
// (seed, document, position) only, greedy and beam search find what a naive search finds.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>

#include "collapse/data/tokenizer.h"
#include "collapse/generate/generator.h"
#include "collapse/generate/sampler_chain.h"
#include "collapse/model/model.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

constexpr std::int64_t kVocab = 61;

GPT tiny_model(std::uint64_t seed = 3) {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = kVocab;
  c.context = 48;
  c.tie_embeddings = false;  // tied random weights mostly predict the input token again
  GPT m(c);
  initialize_weights(m, seed);
  // Sharpen the output so that sampling and search have real preferences to find.
  {
    torch::NoGradGuard no_grad;
    m->output_weight().mul_(8.0);  // logits with a spread of a few nats
  }
  m->eval();
  return m;
}

std::vector<std::vector<std::int32_t>> prompts_of_mixed_lengths() {
  return {{7, 8, 9, 10, 11}, {}, {42}, {5, 6, 7, 30, 31, 32, 33, 34, 35}, {12, 12}};
}

at::Tensor with_bos(const std::vector<std::int32_t>& prompt) {
  std::vector<std::int64_t> ids{Tokenizer::kTrainedIds.bos};
  ids.insert(ids.end(), prompt.begin(), prompt.end());
  return at::tensor(at::ArrayRef<std::int64_t>(ids), at::kLong).unsqueeze(0);
}

std::vector<std::vector<std::int32_t>> tokens_of(const std::vector<GeneratedDocument>& docs) {
  std::vector<std::vector<std::int32_t>> out;
  for (const auto& d : docs) out.push_back(d.tokens);
  return out;
}

}  // namespace

TEST(DecodeCache, LeftPaddedBatchGivesEachPromptsOwnLogits) {
  GPT m = tiny_model();
  torch::NoGradGuard no_grad;
  const auto prompts = prompts_of_mixed_lengths();
  const std::int64_t B = static_cast<std::int64_t>(prompts.size()), width = 10;
  at::Tensor tokens = at::full({B, width}, Tokenizer::kTrainedIds.pad, at::kLong);
  at::Tensor pad = at::empty({B}, at::kLong);
  for (std::int64_t b = 0; b < B; ++b) {
    const at::Tensor p = with_bos(prompts[b]);
    pad[b] = width - p.size(1);
    tokens[b].narrow(0, width - p.size(1), p.size(1)).copy_(p[0]);
  }
  DecodeCache cache(pad, width + 3);
  const at::Tensor batched = m->decode(tokens, cache);
  const at::Tensor next = at::arange(B, at::kLong).add(20).unsqueeze(1);
  const at::Tensor batched_next = m->decode(next, cache);
  for (std::int64_t b = 0; b < B; ++b) {
    const at::Tensor alone = m->forward(with_bos(prompts[b]));
    EXPECT_LT((batched[b] - alone[0][-1]).abs().max().item<double>(), 1e-4) << "row " << b;
    const at::Tensor extended = m->forward(at::cat({with_bos(prompts[b]), next[b].unsqueeze(0)}, 1));
    EXPECT_LT((batched_next[b] - extended[0][-1]).abs().max().item<double>(), 1e-4) << "row " << b;
  }
}

TEST(DecodeCache, SelectingRowsKeepsTheirState) {
  GPT m = tiny_model();
  torch::NoGradGuard no_grad;
  at::Tensor tokens = at::tensor({1, 5, 6, 1, 9, 9}, at::kLong).view({2, 3});
  DecodeCache cache(at::zeros({2}, at::kLong), 5);
  m->decode(tokens, cache);
  cache.select_rows(at::tensor({1, 1, 0}, at::kLong));
  const at::Tensor logits = m->decode(at::tensor({4, 4, 4}, at::kLong).view({3, 1}), cache);
  const at::Tensor row1 = m->forward(at::tensor({1, 9, 9, 4}, at::kLong).view({1, 4}))[0][-1];
  const at::Tensor row0 = m->forward(at::tensor({1, 5, 6, 4}, at::kLong).view({1, 4}))[0][-1];
  EXPECT_LT((logits[0] - row1).abs().max().item<double>(), 1e-4);
  EXPECT_LT((logits[1] - row1).abs().max().item<double>(), 1e-4);
  EXPECT_LT((logits[2] - row0).abs().max().item<double>(), 1e-4);
}

TEST(DecodeCache, DroppingAndReorderingRowsMovesOnlyTheirFilledSlots) {
  // Three rows, then rows {2, 0}: fewer rows reuse the buffers' leading rows, and row 2 lands
  // where row 0 was while row 0 moves to row 1, so every kept row must be read before any write.
  // Two more decodes afterwards must see exactly each row's own history.
  GPT m = tiny_model();
  torch::NoGradGuard no_grad;
  at::Tensor tokens = at::tensor({1, 5, 6, 1, 9, 9, 1, 7, 3}, at::kLong).view({3, 3});
  DecodeCache cache(at::zeros({3}, at::kLong), 8);
  m->decode(tokens, cache);
  const at::Tensor before = cache.keys.front().clone();
  cache.select_rows(at::tensor({2, 0}, at::kLong));
  EXPECT_EQ(cache.batch(), 2);
  EXPECT_EQ(cache.keys.front().size(0), 2);
  EXPECT_EQ(cache.keys.front().size(2), 8) << "the capacity stays";
  EXPECT_TRUE(cache.keys.front().narrow(2, 0, 3).equal(before.index_select(0, at::tensor({2, 0}, at::kLong)).narrow(2, 0, 3)));
  m->decode(at::tensor({4, 4}, at::kLong).view({2, 1}), cache);
  const at::Tensor logits = m->decode(at::tensor({8, 2}, at::kLong).view({2, 1}), cache);
  const at::Tensor row2 = m->forward(at::tensor({1, 7, 3, 4, 8}, at::kLong).view({1, 5}))[0][-1];
  const at::Tensor row0 = m->forward(at::tensor({1, 5, 6, 4, 2}, at::kLong).view({1, 5}))[0][-1];
  EXPECT_LT((logits[0] - row2).abs().max().item<double>(), 1e-4);
  EXPECT_LT((logits[1] - row0).abs().max().item<double>(), 1e-4);
}

TEST(Generate, SameSeedSameDocumentsWhateverTheBatchSize) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 13;
  o.max_tokens = 12;
  o.seed = 77;
  o.sampler.top_p = 0.9f;
  o.batch_size = 1;
  const auto one = tokens_of(generate(m, prompts_of_mixed_lengths(), o, at::kCPU));
  o.batch_size = 64;
  const auto all = tokens_of(generate(m, prompts_of_mixed_lengths(), o, at::kCPU));
  o.batch_size = 4;
  const auto some = tokens_of(generate(m, prompts_of_mixed_lengths(), o, at::kCPU));
  EXPECT_EQ(one, all);
  EXPECT_EQ(one, some);
  o.seed = 78;
  EXPECT_NE(tokens_of(generate(m, prompts_of_mixed_lengths(), o, at::kCPU)), one);
}

TEST(Generate, APromptDecodedAloneOrInAMixedBatchGivesTheSameTokens) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.max_tokens = 15;
  o.seed = 5;
  const auto prompts = prompts_of_mixed_lengths();
  o.documents = static_cast<std::int64_t>(prompts.size());
  o.batch_size = o.documents;
  const auto mixed = generate(m, prompts, o, at::kCPU);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    // Document i alone: the same document id, so the same uniforms.
    GenerateOptions single = o;
    single.documents = static_cast<std::int64_t>(i) + 1;
    single.batch_size = 1;
    const auto alone = generate(m, prompts, single, at::kCPU);
    EXPECT_EQ(alone[i].tokens, mixed[i].tokens) << "prompt " << i;
    EXPECT_EQ(mixed[i].prompt_id, static_cast<std::int64_t>(i));
  }
}

TEST(Generate, DocumentsTakePromptsRoundRobinAndRespectTheLengthLimits) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 12;
  o.min_tokens = 4;
  o.max_tokens = 9;
  const auto docs = generate(m, prompts_of_mixed_lengths(), o, at::kCPU);
  ASSERT_EQ(docs.size(), 12u);
  for (const auto& d : docs) {
    EXPECT_EQ(d.prompt_id, d.id % 5);
    EXPECT_GE(d.tokens.size(), 4u);
    EXPECT_LE(d.tokens.size(), 9u);
    for (std::int32_t t : d.tokens) EXPECT_NE(t, Tokenizer::kTrainedIds.eos);
    if (d.tokens.size() < 9u) {
      EXPECT_TRUE(d.ended_with_eos);
    }
  }
}

TEST(Generate, GreedyIsTheArgmaxOfTheFullForwardAtEveryStep) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 3;
  o.max_tokens = 10;
  o.min_tokens = 10;
  o.sampler.temperature = 0.0f;
  const auto prompts = prompts_of_mixed_lengths();
  const auto docs = generate(m, prompts, o, at::kCPU);
  torch::NoGradGuard no_grad;
  for (const auto& d : docs) {
    at::Tensor seq = with_bos(prompts[d.prompt_id]);
    for (std::int32_t t : d.tokens) {
      at::Tensor last = m->forward(seq)[0][-1].clone();
      last[Tokenizer::kTrainedIds.eos] = -std::numeric_limits<float>::infinity();  // min_tokens
      EXPECT_EQ(last.argmax().item<std::int64_t>(), t);
      seq = at::cat({seq, at::full({1, 1}, t, at::kLong)}, 1);
    }
  }
}

TEST(Generate, BeamSearchWithAsManyBeamsAsTokensFindsTheBestSequence) {
  // With beams >= vocabulary every two-token continuation survives the first step, so beam search
  // must return the exhaustive argmax of log p(t1) + log p(t2 | t1) (fixed length: no EOS).
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 2;
  o.max_tokens = 2;
  o.min_tokens = 2;
  o.sampler.beams = kVocab;
  const std::vector<std::vector<std::int32_t>> prompts{{9, 10}, {33}};
  const auto docs = generate(m, prompts, o, at::kCPU);
  torch::NoGradGuard no_grad;
  for (const auto& d : docs) {
    const at::Tensor prefix = with_bos(prompts[d.prompt_id]);
    at::Tensor first = at::log_softmax(m->forward(prefix)[0][-1], -1);
    first[Tokenizer::kTrainedIds.eos] = -std::numeric_limits<float>::infinity();
    double best = -1e300;
    std::vector<std::int32_t> best_seq;
    for (std::int64_t a = 0; a < kVocab; ++a) {
      if (a == Tokenizer::kTrainedIds.eos) continue;
      const at::Tensor seq = at::cat({prefix, at::full({1, 1}, a, at::kLong)}, 1);
      const at::Tensor second = at::log_softmax(m->forward(seq)[0][-1], -1);
      for (std::int64_t b = 0; b < kVocab; ++b) {
        if (b == Tokenizer::kTrainedIds.eos) continue;
        const double score = first[a].item<double>() + second[b].item<double>();
        if (score > best) best = score, best_seq = {static_cast<std::int32_t>(a), static_cast<std::int32_t>(b)};
      }
    }
    EXPECT_EQ(d.tokens, best_seq) << "document " << d.id;
  }
}

TEST(Generate, BeamSearchIsTheSameWhateverTheBatchSize) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 4;
  o.max_tokens = 12;
  o.sampler.beams = 3;
  o.sampler.repetition_penalty = 2.0f;
  const auto a = generate(m, prompts_of_mixed_lengths(), o, at::kCPU);
  o.batch_size = 1;
  const auto b = generate(m, prompts_of_mixed_lengths(), o, at::kCPU);
  EXPECT_EQ(tokens_of(a), tokens_of(b));
  for (const auto& d : a) {
    EXPECT_LE(d.tokens.size(), 12u);
    for (std::int32_t t : d.tokens) EXPECT_NE(t, Tokenizer::kTrainedIds.eos);
  }
}

TEST(Generate, BeamSearchEndsADocumentAtEosAsSoonAsEosIsAllowed) {
  // A model that all but says EOS everywhere: dimension 0 of the residual stream is 100 for every
  // token, the final norm reads only that dimension, and only EOS's output row reads it. EOS then
  // has a logit near 11 and every other token 0, so a beam search must stop at the first step
  // where EOS is allowed (min_tokens); one that never stops writes max_tokens tokens.
  GPT m = tiny_model();
  {
    torch::NoGradGuard no_grad;
    m->embed_tokens->weight.select(1, 0).fill_(100.0);
    m->norm->weight.zero_();
    m->norm->weight[0] = 1.0;
    m->output_weight().zero_();
    m->output_weight()[Tokenizer::kTrainedIds.eos][0] = 1.0;
  }
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.documents = 4;
  o.max_tokens = 12;
  o.min_tokens = 3;
  o.sampler.beams = 3;
  for (const auto& d : generate(m, prompts_of_mixed_lengths(), o, at::kCPU)) {
    EXPECT_EQ(d.tokens.size(), 3u) << "document " << d.id;
    EXPECT_TRUE(d.ended_with_eos) << "document " << d.id;
  }
}

TEST(Generate, TorchPenaltiesEqualTheReferenceChain) {
  SamplerConfig c;
  c.repetition_penalty = 1.7f;
  c.presence_penalty = 0.3f;
  c.frequency_penalty = 0.45f;
  at::Generator gen = at::detail::createCPUGenerator(11);
  at::Tensor scores = at::randn({3, 20}, gen);
  const at::Tensor history = at::tensor({1, 4, 4, 7, 9, 9, 9, 0,  //
                                         1, 2, 3, 3, 0, 0, 0, 0,  //
                                         1, 5, 5, 5, 5, 6, 19, 4},
                                        at::kInt).view({3, 8});
  const at::Tensor lengths = at::tensor({7, 4, 8}, at::kInt), prompt = at::tensor({3, 1, 2}, at::kInt);
  at::Tensor torch_scores = scores.clone();
  apply_penalties(c, torch_scores, history, lengths, prompt);
  SamplerConfig penalties_only = c;
  penalties_only.temperature = 0.0f;  // greedy: the reference returns the penalised logits
  for (std::int64_t r = 0; r < 3; ++r) {
    const at::Tensor row = scores[r].contiguous();
    std::vector<std::int32_t> h(history[r].data_ptr<std::int32_t>(),
                                history[r].data_ptr<std::int32_t>() + lengths[r].item<int>());
    SamplingRow in{{row.data_ptr<float>(), 20}, h, prompt[r].item<std::int64_t>(), -1};
    const auto expected = apply_sampler_chain(penalties_only, in);
    for (std::int64_t v = 0; v < 20; ++v) {
      EXPECT_FLOAT_EQ(torch_scores[r][v].item<float>(), static_cast<float>(expected[v])) << r << "," << v;
    }
  }
}

TEST(Generate, RefusesPromptsThatDoNotFitTheContext) {
  GPT m = tiny_model();
  GenerateOptions o;
  o.special = Tokenizer::kTrainedIds;
  o.max_tokens = 40;
  try {
    generate(m, prompts_of_mixed_lengths(), o, at::kCPU);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the model context 48"), std::string::npos) << e.what();
  }
}
