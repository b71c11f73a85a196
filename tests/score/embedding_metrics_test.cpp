#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <vector>

#include "collapse/score/embedding_metrics.h"
#include "collapse/util/error.h"

using namespace collapse;

namespace {

// 2-D points as an fp64 tensor [n, 2] (small integers and halves: the matmul distances are exact).
at::Tensor points(const std::vector<std::pair<double, double>>& xy) {
  std::vector<double> flat;
  for (const auto& [x, y] : xy) flat.push_back(x), flat.push_back(y);
  return at::tensor(flat, at::kDouble).view({static_cast<std::int64_t>(xy.size()), 2});
}

// The definition written out with plain loops over exact differences, for comparison.
double naive_share_inside(const at::Tensor& pts, const at::Tensor& centers, std::int64_t k) {
  const auto p = pts.accessor<double, 2>();
  const auto c = centers.accessor<double, 2>();
  const std::int64_t n = pts.size(0), m = centers.size(0), d = pts.size(1);
  auto dist2 = [&](auto a, auto b) {
    double s = 0;
    for (std::int64_t i = 0; i < d; ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
  };
  std::vector<double> radius2(static_cast<std::size_t>(m));
  for (std::int64_t j = 0; j < m; ++j) {
    std::vector<double> others;
    for (std::int64_t i = 0; i < m; ++i) {
      if (i != j) others.push_back(dist2(c[j], c[i]));
    }
    std::sort(others.begin(), others.end());
    radius2[static_cast<std::size_t>(j)] = others[static_cast<std::size_t>(k - 1)];
  }
  std::int64_t inside = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < m; ++j) {
      if (dist2(p[i], c[j]) <= radius2[static_cast<std::size_t>(j)]) {
        ++inside;
        break;
      }
    }
  }
  return static_cast<double>(inside) / static_cast<double>(n);
}

GPT tiny_model(std::int64_t context) {
  ModelConfig c = ModelConfig::preset("tiny");
  c.vocab_size = 50;
  c.context = context;
  GPT m(c);
  initialize_weights(m, 8);
  return m;
}

}  // namespace

TEST(EmbeddingMetrics, KnnRadiiByHand) {
  // (0,0), (3,4), (6,8) on a line, 5 apart: 1-NN distance 5 for all, 2-NN 10, 5, 10.
  const at::Tensor f = points({{0, 0}, {3, 4}, {6, 8}});
  EXPECT_TRUE(at::equal(knn_squared_radii(f, 1), at::tensor({25.0, 25.0, 25.0}, at::kDouble)));
  EXPECT_TRUE(at::equal(knn_squared_radii(f, 2), at::tensor({100.0, 25.0, 100.0}, at::kDouble)));
  // A duplicate is a neighbour at distance 0; only the point itself is excluded.
  EXPECT_TRUE(at::equal(knn_squared_radii(points({{1, 1}, {1, 1}, {4, 5}}), 1),
                        at::tensor({0.0, 0.0, 25.0}, at::kDouble)));
  EXPECT_THROW(knn_squared_radii(f, 3), Error);  // needs more than k points
  EXPECT_THROW(knn_squared_radii(f, 0), Error);
}

TEST(EmbeddingMetrics, PrecisionAndRecallOfHandMadeSetsWithK1) {
  // Real: two pairs 1 apart, so every real radius is 1.
  const at::Tensor real = points({{0, 0}, {1, 0}, {10, 0}, {11, 0}});
  // Synthetic: (0.5, 0) and (10, 1) lie in real balls, (5, 0) and (20, 20) do not: precision 2/4.
  // Synthetic 1-NN radii: 4.5, 4.5, sqrt(26), sqrt(461). Every real point is within one of them
  // ((0,0), (1,0) of (0.5,0); (10,0), (11,0) of (10,1)): recall 1.
  const at::Tensor synthetic = points({{0.5, 0}, {5, 0}, {10, 1}, {20, 20}});
  const PrecisionRecall pr = precision_recall(real, synthetic, 1);
  EXPECT_DOUBLE_EQ(pr.precision, 0.5);
  EXPECT_DOUBLE_EQ(pr.recall, 1.0);
  EXPECT_EQ(pr.k, 1);
  EXPECT_EQ(pr.real, 4);
  EXPECT_EQ(pr.synthetic, 4);
  const nlohmann::json j = to_json(pr);
  EXPECT_DOUBLE_EQ(j["precision"].get<double>(), 0.5);
  EXPECT_EQ(j["k"], 1);
}

TEST(EmbeddingMetrics, ModeCollapseKeepsPrecisionAndLosesRecall) {
  // Real: (0,0) .. (9,0); with k = 5 the real ball of (0,0) has radius 5. Synthetic: six copies of
  // (0,0), all inside it (precision 1); their own 5-NN radius is 0, so the synthetic manifold is
  // the single point (0,0), which holds one real point of ten (recall 0.1).
  std::vector<std::pair<double, double>> line;
  for (int i = 0; i < 10; ++i) line.emplace_back(i, 0);
  const PrecisionRecall pr = precision_recall(points(line), points(std::vector<std::pair<double, double>>(6, {0, 0})));
  EXPECT_EQ(pr.k, 5);
  EXPECT_DOUBLE_EQ(pr.precision, 1.0);
  EXPECT_DOUBLE_EQ(pr.recall, 0.1);
  // The same set against itself: every point is the center of its own ball.
  const PrecisionRecall same = precision_recall(points(line), points(line));
  EXPECT_DOUBLE_EQ(same.precision, 1.0);
  EXPECT_DOUBLE_EQ(same.recall, 1.0);
  // Far apart: nothing of either set lies in the other's manifold.
  std::vector<std::pair<double, double>> shifted;
  for (const auto& [x, y] : line) shifted.emplace_back(x + 100, y);
  const PrecisionRecall apart = precision_recall(points(line), points(shifted));
  EXPECT_DOUBLE_EQ(apart.precision, 0.0);
  EXPECT_DOUBLE_EQ(apart.recall, 0.0);
}

TEST(EmbeddingMetrics, BlockedMatmulDistancesEqualTheNaiveDefinition) {
  at::Generator gen = at::detail::createCPUGenerator(11);
  const at::Tensor real = at::randn({40, 3}, gen, at::TensorOptions().dtype(at::kDouble));
  const at::Tensor synthetic = at::randn({30, 3}, gen, at::TensorOptions().dtype(at::kDouble)) * 0.6 + 0.8;
  for (std::int64_t k : {1, 3, 5}) {
    const double precision = naive_share_inside(synthetic, real, k);
    const double recall = naive_share_inside(real, synthetic, k);
    // A narrower, shifted synthetic set: part of the real manifold is left uncovered.
    EXPECT_GT(precision, 0.0);
    EXPECT_GT(recall, 0.0);
    EXPECT_LT(recall, 1.0);
    for (std::int64_t block : {std::int64_t{1}, std::int64_t{100}, kDistanceBlockValues}) {
      const PrecisionRecall pr = precision_recall(real, synthetic, k, block);
      EXPECT_DOUBLE_EQ(pr.precision, precision) << "k " << k << " block " << block;
      EXPECT_DOUBLE_EQ(pr.recall, recall) << "k " << k << " block " << block;
    }
  }
  // fp32 features: the same shares up to boundary ties, which random data does not have.
  const PrecisionRecall f32 = precision_recall(real.to(at::kFloat), synthetic.to(at::kFloat), 5);
  EXPECT_DOUBLE_EQ(f32.precision, naive_share_inside(synthetic, real, 5));
  EXPECT_DOUBLE_EQ(f32.recall, naive_share_inside(real, synthetic, 5));
  EXPECT_THROW(precision_recall(real, synthetic.narrow(1, 0, 2)), Error);
  EXPECT_THROW(precision_recall(real.narrow(0, 0, 5), synthetic), Error);  // 5 points, k = 5
}

TEST(EmbeddingMetrics, FeaturesAreTheMeanHiddenStateOfBosPlusTokensTruncatedToTheContext) {
  GPT m = tiny_model(8);
  const std::vector<std::vector<std::int32_t>> docs = {
      {5, 6, 7}, {}, {9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, {20}, {21, 22, 23, 24, 25, 26, 27}};
  const at::Tensor batched = document_features(m, docs, 1, c10::Device(c10::kCPU), 64);
  const at::Tensor single = document_features(m, docs, 1, c10::Device(c10::kCPU), 1);
  ASSERT_EQ(batched.size(0), 5);
  ASSERT_EQ(batched.size(1), m->config().d_model);
  torch::NoGradGuard no_grad;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    std::vector<std::int64_t> in = {1};
    in.insert(in.end(), docs[d].begin(), docs[d].end());
    in.resize(std::min<std::size_t>(in.size(), 8));  // the first C tokens of BOS + tokens
    const at::Tensor expected = m->hidden_states(at::tensor(in, at::kLong).unsqueeze(0))[0].mean(0);
    EXPECT_TRUE(at::allclose(batched[d], expected, 1e-5, 1e-5)) << "document " << d;
    EXPECT_TRUE(at::allclose(single[d], expected, 1e-5, 1e-5)) << "document " << d;
  }
  EXPECT_THROW(document_features(m, {{3, 77}}, 1, c10::Device(c10::kCPU)), Error);
}

TEST(EmbeddingMetrics, TheTokenLossIsTheMeanAndSpreadOfEachTokensNllWithinTheWindowWithoutEos) {
  GPT m = tiny_model(8);
  const std::vector<std::vector<std::int32_t>> docs = {
      {5, 6, 7}, {}, {9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, {20}, {21, 22, 23, 24, 25, 26, 27}};
  at::Tensor batched, single;
  const at::Tensor features = document_features(m, docs, 1, c10::Device(c10::kCPU), 64, 0, &batched);
  document_features(m, docs, 1, c10::Device(c10::kCPU), 1, 0, &single);
  EXPECT_TRUE(at::equal(features, document_features(m, docs, 1, c10::Device(c10::kCPU), 64)))
      << "asking for the loss changes nothing else";
  ASSERT_EQ(batched.size(0), 5);
  ASSERT_EQ(batched.size(1), 2);
  torch::NoGradGuard no_grad;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    std::vector<std::int64_t> in = {1};
    in.insert(in.end(), docs[d].begin(), docs[d].end());
    in.resize(std::min<std::size_t>(in.size(), 8));
    double mean = 0.0, spread = 0.0;
    if (in.size() > 1) {
      const at::Tensor log_probs = at::log_softmax(m->forward(at::tensor(in, at::kLong).unsqueeze(0))[0], -1);
      std::vector<double> nll;
      for (std::size_t j = 0; j + 1 < in.size(); ++j) nll.push_back(-log_probs[static_cast<std::int64_t>(j)][in[j + 1]].item<double>());
      for (const double x : nll) mean += x / static_cast<double>(nll.size());
      for (const double x : nll) spread += (x - mean) * (x - mean) / static_cast<double>(nll.size());
      spread = std::sqrt(spread);
    }
    EXPECT_NEAR(batched[d][0].item<double>(), mean, 1e-5) << "document " << d;
    EXPECT_NEAR(batched[d][1].item<double>(), spread, 1e-5) << "document " << d;
    EXPECT_NEAR(single[d][0].item<double>(), mean, 1e-5) << "document " << d;
    EXPECT_NEAR(single[d][1].item<double>(), spread, 1e-5) << "document " << d;
  }
}
