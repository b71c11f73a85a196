// Per-document perplexity (document_perplexity.h) against its definition written out naively, and
// the summary statistics of perplexities (perplexity_summary.h).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>

#include "collapse/score/document_perplexity.h"
#include "collapse/score/length_batches.h"
#include "collapse/score/perplexity_summary.h"
#include "collapse/train/evaluate.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

GPT tiny_model(std::int64_t context, std::int64_t vocab = 50) {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = vocab;
  c.context = context;
  GPT m(c);
  initialize_weights(m, 5);
  return m;
}

std::vector<std::int32_t> document_of(std::int64_t length, std::int64_t salt, std::int64_t vocab = 50) {
  std::vector<std::int32_t> d(static_cast<std::size_t>(length));
  for (std::int64_t i = 0; i < length; ++i) d[i] = static_cast<std::int32_t>(3 + (i * 11 + salt * 5) % (vocab - 3));
  return d;
}

// The per-document definition written out naively: s = BOS + doc + EOS, windows at 0, C, 2C, ...
// each fed alone and unpadded, log-softmax in double.
double naive_document_nll(GPT& m, const std::vector<std::int32_t>& doc, std::int32_t bos, std::int32_t eos) {
  torch::NoGradGuard no_grad;
  std::vector<std::int64_t> s = {bos};
  s.insert(s.end(), doc.begin(), doc.end());
  s.push_back(eos);
  const std::int64_t C = m->config().context, predicted = static_cast<std::int64_t>(s.size()) - 1;
  double total = 0;
  for (std::int64_t i = 0; i < predicted; i += C) {
    const std::int64_t len = std::min(C, predicted - i);
    const std::vector<std::int64_t> in(s.begin() + i, s.begin() + i + len);
    const at::Tensor logp = at::log_softmax(m->forward(at::tensor(in, at::kLong).unsqueeze(0))[0].to(at::kDouble), -1);
    for (std::int64_t j = 0; j < len; ++j) total -= logp[j][s[i + j + 1]].item<double>();
  }
  return total;
}

}  // namespace

TEST(LengthBatches, SortsLongestFirstAndBoundsPaddedTokens) {
  using Batches = std::vector<std::vector<std::int64_t>>;
  EXPECT_EQ(length_batches({3, 8, 1, 8, 5}, 16), (Batches{{1, 3}, {4, 0, 2}}));
  EXPECT_EQ(length_batches({20, 2, 2}, 16), (Batches{{0}, {1, 2}}));  // too long: alone
  EXPECT_EQ(length_batches({}, 16), Batches{});
}

TEST(DocumentPerplexity, EqualsANaivePerDocumentEvaluation) {
  GPT m = tiny_model(8);
  const std::int32_t bos = 1, eos = 2;
  // Empty, shorter than the context, exactly C - 1 tokens (C predictions), longer (several windows).
  std::vector<std::vector<std::int32_t>> docs;
  for (std::int64_t len : {0, 3, 6, 7, 12, 20, 1}) docs.push_back(document_of(len, len));
  const auto scored = document_perplexities(m, docs, bos, eos, c10::Device(c10::kCPU), 40);
  ASSERT_EQ(scored.size(), docs.size());
  for (std::size_t d = 0; d < docs.size(); ++d) {
    SCOPED_TRACE(testing::Message() << "document " << d);
    EXPECT_EQ(scored[d].tokens, static_cast<std::int64_t>(docs[d].size()) + 1);
    const double naive = naive_document_nll(m, docs[d], bos, eos);
    EXPECT_NEAR(scored[d].nll_sum, naive, 1e-5 * naive);
    EXPECT_NEAR(scored[d].perplexity(), std::exp(naive / static_cast<double>(docs[d].size() + 1)),
                1e-5 * scored[d].perplexity());
    // The same windows as `collapse eval` on the stream BOS + doc + EOS alone.
    std::vector<std::int32_t> stream = {bos};
    stream.insert(stream.end(), docs[d].begin(), docs[d].end());
    stream.push_back(eos);
    const EvalResult eval = evaluate_stream(m, stream, c10::Device(c10::kCPU));
    EXPECT_EQ(eval.tokens, scored[d].tokens);
    EXPECT_NEAR(eval.nll_sum, scored[d].nll_sum, 1e-5 * naive);
  }
}

TEST(DocumentPerplexity, DoesNotDependOnBatchingOrPadding) {
  GPT m = tiny_model(8);
  std::vector<std::vector<std::int32_t>> docs;
  for (std::int64_t i = 0; i < 23; ++i) docs.push_back(document_of((i * 7) % 19, i));
  const auto one = document_perplexities(m, docs, 1, 2, c10::Device(c10::kCPU), 1);  // unpadded
  for (std::int64_t batch_tokens : {16, 50, 100000}) {
    const auto many = document_perplexities(m, docs, 1, 2, c10::Device(c10::kCPU), batch_tokens);
    for (std::size_t d = 0; d < docs.size(); ++d) {
      EXPECT_EQ(many[d].tokens, one[d].tokens);
      EXPECT_NEAR(many[d].nll_sum, one[d].nll_sum, 1e-5 * one[d].nll_sum) << "document " << d;
    }
  }
  // A document's score does not depend on the other documents scored with it.
  const auto alone = document_perplexities(m, {docs[5]}, 1, 2, c10::Device(c10::kCPU));
  EXPECT_NEAR(alone[0].nll_sum, one[5].nll_sum, 1e-5 * one[5].nll_sum);
  EXPECT_TRUE(document_perplexities(m, {}, 1, 2, c10::Device(c10::kCPU)).empty());
  EXPECT_THROW(document_perplexities(m, {{3, 50}}, 1, 2, c10::Device(c10::kCPU)), Error);
}

TEST(DocumentPerplexity, OfAUniformModelIsTheVocabularySize) {
  GPT m = tiny_model(8, 50);
  {
    torch::NoGradGuard no_grad;
    m->output_weight().zero_();
  }
  const auto scored = document_perplexities(m, {document_of(3, 0), document_of(30, 1)}, 1, 2,
                                            c10::Device(c10::kCPU));
  for (const double p : perplexities_of(scored)) EXPECT_NEAR(p, 50.0, 1e-4);
}

TEST(PerplexitySummary, QuantilesInterpolateLinearlyLikeNumpy) {
  // numpy.quantile([1, 2, 3, 4, 5], [0.1, 0.5, 0.9]) = [1.4, 3.0, 4.6]
  EXPECT_DOUBLE_EQ(quantile({5, 1, 4, 2, 3}, 0.1), 1.4);
  EXPECT_DOUBLE_EQ(quantile({5, 1, 4, 2, 3}, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(quantile({5, 1, 4, 2, 3}, 0.9), 4.6);
  // numpy.quantile([10, 1, 4], [0.1, 0.9]) = [1.6, 8.8]; the extremes are the min and max.
  EXPECT_DOUBLE_EQ(quantile({10, 1, 4}, 0.1), 1.6);
  EXPECT_DOUBLE_EQ(quantile({10, 1, 4}, 0.9), 8.8);
  EXPECT_DOUBLE_EQ(quantile({10, 1, 4}, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile({10, 1, 4}, 1.0), 10.0);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.3), 7.0);
  EXPECT_THROW(quantile({}, 0.5), Error);
  EXPECT_THROW(quantile({1, 2}, 1.5), Error);
}

TEST(PerplexitySummary, SummarisesAndBinsOnALogScale) {
  const PerplexitySummary s =
      summarize_perplexities({1.0, 1.5, 10.0, 99.0, 1e6, 0.5}, LogHistogramBins{0.0, 2.0, 2});
  EXPECT_EQ(s.documents, 6);
  EXPECT_DOUBLE_EQ(s.mean, (1.0 + 1.5 + 10.0 + 99.0 + 1e6 + 0.5) / 6.0);
  EXPECT_DOUBLE_EQ(s.median, 0.5 * (1.5 + 10.0));  // sorted 0.5 1 1.5 10 99 1e6: h = 2.5
  EXPECT_DOUBLE_EQ(s.p10, 0.5 + 0.5 * (1.0 - 0.5));  // h = 0.5
  EXPECT_DOUBLE_EQ(s.p90, 99.0 + 0.5 * (1e6 - 99.0));  // h = 4.5
  EXPECT_EQ(s.log10_edges, (std::vector<double>{0.0, 1.0, 2.0}));
  // [0, 1): 1, 1.5 and 0.5 (below the first edge, counted in the first bin);
  // [1, 2]: 10 (on the edge: the upper bin), 99 and 1e6 (beyond the last edge: the last bin).
  EXPECT_EQ(s.counts, (std::vector<std::int64_t>{3, 3}));
  const nlohmann::json j = to_json(s);
  EXPECT_EQ(j["documents"], 6);
  EXPECT_EQ(j["histogram"]["counts"], nlohmann::json::parse("[3, 3]"));
  EXPECT_DOUBLE_EQ(j["p90"].get<double>(), s.p90);

  const PerplexitySummary d = summarize_perplexities({2.0, 3.0});  // default bins
  ASSERT_EQ(d.log10_edges.size(), 51u);
  EXPECT_DOUBLE_EQ(d.log10_edges.front(), 0.0);
  EXPECT_DOUBLE_EQ(d.log10_edges.back(), 5.0);
  EXPECT_EQ(d.counts[3], 1);  // log10 2 = 0.301: [0.3, 0.4)
  EXPECT_EQ(d.counts[4], 1);  // log10 3 = 0.477: [0.4, 0.5)
  EXPECT_THROW(summarize_perplexities({}), Error);
  EXPECT_THROW(summarize_perplexities({2.0, std::nan("")}), Error);
  EXPECT_THROW(summarize_perplexities({2.0, 0.0}), Error);
  EXPECT_THROW(summarize_perplexities({2.0}, LogHistogramBins{1.0, 1.0, 4}), Error);
}
