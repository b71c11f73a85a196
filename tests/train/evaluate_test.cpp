#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "collapse/train/evaluate.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {
GPT model_with_context(std::int64_t context, std::int64_t vocab = 50) {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = vocab;
  c.context = context;
  GPT m(c);
  initialize_weights(m, 3);
  return m;
}

std::vector<std::int32_t> stream_of(std::int64_t n, std::int64_t vocab = 50) {
  std::vector<std::int32_t> s(n);
  for (std::int64_t i = 0; i < n; ++i) s[i] = static_cast<std::int32_t>((i * 7 + 3) % vocab);
  return s;
}

// The definition written out naively: window i predicts t_{i+1}..t_{i+len} from t_i..
double reference_nll(GPT& m, const std::vector<std::int32_t>& s) {
  torch::NoGradGuard no_grad;
  const std::int64_t C = m->config().context, M = static_cast<std::int64_t>(s.size());
  double total = 0;
  for (std::int64_t i = 0; i < M - 1; i += C) {
    const std::int64_t len = std::min(C, M - 1 - i);
    std::vector<std::int64_t> in(s.begin() + i, s.begin() + i + len);
    const at::Tensor logits = m->forward(at::tensor(in, at::kLong).unsqueeze(0))[0];
    const at::Tensor logp = at::log_softmax(logits.to(at::kDouble), -1);
    for (std::int64_t j = 0; j < len; ++j) total -= logp[j][s[i + j + 1]].item<double>();
  }
  return total;
}
}  // namespace

TEST(Perplexity, PredictsEveryTokenAfterTheFirstExactlyOnce) {
  GPT m = model_with_context(8);
  for (std::int64_t M : {2, 9, 17, 30}) {  // shorter-than-context, exact multiples and a remainder
    const auto s = stream_of(M);
    const EvalResult r = evaluate_stream(m, s, c10::Device(c10::kCPU), 3);
    EXPECT_EQ(r.tokens, M - 1);
    EXPECT_NEAR(r.nll_sum, reference_nll(m, s), 1e-6 * r.nll_sum);
  }
}

TEST(Perplexity, OfAUniformModelIsTheVocabularySize) {
  GPT m = model_with_context(8, 50);
  {
    torch::NoGradGuard no_grad;
    m->output_weight().zero_();  // every logit 0: p = 1/50 for every token
  }
  const EvalResult r = evaluate_stream(m, stream_of(40), c10::Device(c10::kCPU));
  EXPECT_NEAR(r.perplexity(), 50.0, 1e-4);
}

TEST(Perplexity, DoesNotDependOnTheBatchSize) {
  GPT m = model_with_context(8);
  const auto s = stream_of(101);
  const double a = evaluate_stream(m, s, c10::Device(c10::kCPU), 1).nll_sum;
  const double b = evaluate_stream(m, s, c10::Device(c10::kCPU), 64).nll_sum;
  // Same windows, same sums; only fp32 rounding differs with the batch shape (matmul blocking).
  EXPECT_NEAR(a, b, 1e-7 * a);
}

TEST(Perplexity, MaxTokensScoresAPrefixOfTheStream) {
  GPT m = model_with_context(8);
  const auto s = stream_of(101);
  const EvalResult r = evaluate_stream(m, s, c10::Device(c10::kCPU), 4, 25);
  EXPECT_EQ(r.tokens, 24);
  EXPECT_NEAR(r.nll_sum, reference_nll(m, std::vector<std::int32_t>(s.begin(), s.begin() + 25)),
              1e-6 * r.nll_sum);
  EXPECT_THROW(evaluate_stream(m, {1}, c10::Device(c10::kCPU)), Error);
}
