// The fast CPU sampler (cpu_sampler.h) against the definition (sample_token_reference): the same
// token for the same row and uniform, on more than 10^5 random rows over every step alone and the
// documented combinations and orders, including ties, -inf, NaN, +inf, rows with one finite
// token, vocabularies of every size, and uniforms at the ends of (0, 1).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>

#include "collapse/generate/cpu_sampler.h"
#include "collapse/generate/philox.h"
#include "collapse/generate/sampler_chain.h"
#include "collapse/util/error.h"

#include "support/sampling_row.h"

using namespace collapse;

namespace {

using collapse::tests::Row;

// A random row of one of several shapes: smooth (normal logits at various scales), quantised
// (many exact ties), peaked (one dominant token), with non-finite entries, a single finite token,
// or every token equal; a history with repeats; sometimes a banned token.
Row random_row(std::mt19937_64& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  std::uniform_int_distribution<int> shape_of(0, 6);
  const int sizes[] = {1, 2, 3, 5, 7, 8, 17, 64, 127, 257, 500, 1001};
  const int V = sizes[std::uniform_int_distribution<int>(0, 11)(rng)];
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const float scales[] = {0.3f, 1.0f, 3.0f, 10.0f, 40.0f};
  const float scale = scales[std::uniform_int_distribution<int>(0, 4)(rng)];
  Row row;
  row.logits.resize(static_cast<std::size_t>(V));
  for (float& v : row.logits) v = normal(rng) * scale;
  std::uniform_int_distribution<int> token(0, V - 1);
  switch (shape_of(rng)) {
    case 0: break;  // smooth
    case 1:         // quantised: ties everywhere, including at the top_k / top_p boundaries
      for (float& v : row.logits) v = std::round(v * 2.0f / scale) * 0.5f;
      break;
    case 2:  // peaked
      row.logits[static_cast<std::size_t>(token(rng))] += 25.0f;
      break;
    case 3:  // non-finite entries
      for (int i = 0; i < 1 + V / 8; ++i) {
        const float bad[] = {-inf, inf, std::nanf("")};
        row.logits[static_cast<std::size_t>(token(rng))] = bad[i % 3];
      }
      break;
    case 4:  // one finite token
      for (float& v : row.logits) v = -inf;
      row.logits[static_cast<std::size_t>(token(rng))] = normal(rng);
      break;
    case 5:  // every token equal
      for (float& v : row.logits) v = 1.5f;
      break;
    case 6:  // half of the tokens far below (their probabilities underflow)
      for (int t = 0; t < V; t += 2) row.logits[static_cast<std::size_t>(t)] -= 800.0f;
      break;
  }
  const int length = std::uniform_int_distribution<int>(0, 24)(rng);
  std::uniform_int_distribution<int> frequent(0, std::max(V / 4, 1) - 1);
  for (int i = 0; i < length; ++i) row.history.push_back(i % 3 ? frequent(rng) : token(rng));
  row.prompt_length = std::uniform_int_distribution<int>(0, length)(rng);
  if (std::uniform_int_distribution<int>(0, 4)(rng) == 0) row.banned = token(rng);
  return row;
}

SamplerConfig with_order(SamplerConfig c, std::vector<SamplerStep> first) {
  std::vector<SamplerStep> order = first;
  for (SamplerStep s : SamplerConfig::default_order()) {
    if (std::find(first.begin(), first.end(), s) == first.end()) order.push_back(s);
  }
  c.order = order;
  return c;
}

// Every step alone (at a few strengths), the documented combinations, and other orders.
std::vector<SamplerConfig> chains() {
  std::vector<SamplerConfig> out;
  auto add = [&](auto set) {
    SamplerConfig c;
    set(c);
    out.push_back(c);
  };
  add([](SamplerConfig&) {});  // pure sampling
  add([](SamplerConfig& c) { c.temperature = 0.0f; });
  add([](SamplerConfig& c) { c.temperature = 0.0f, c.repetition_penalty = 1.3f; });
  add([](SamplerConfig& c) { c.repetition_penalty = 1.5f; });
  add([](SamplerConfig& c) { c.repetition_penalty = 0.7f; });
  add([](SamplerConfig& c) { c.presence_penalty = 0.6f, c.frequency_penalty = 0.3f; });
  add([](SamplerConfig& c) { c.frequency_penalty = -0.5f; });
  add([](SamplerConfig& c) { c.temperature = 0.7f; });
  add([](SamplerConfig& c) { c.temperature = 1.6f; });
  add([](SamplerConfig& c) { c.temperature = 1e-30f; });  // overflows to +-inf: removed
  for (std::int64_t k : {1, 2, 5, 40}) add([&](SamplerConfig& c) { c.top_k = k; });
  for (float p : {0.1f, 0.5f, 0.9f, 0.95f, 0.999f}) add([&](SamplerConfig& c) { c.top_p = p; });
  for (float m : {0.01f, 0.1f, 0.5f}) add([&](SamplerConfig& c) { c.min_p = m; });
  for (float q : {0.2f, 0.9f}) add([&](SamplerConfig& c) { c.typical_p = q; });
  add([](SamplerConfig& c) { c.temperature = 0.8f, c.top_p = 0.9f; });
  add([](SamplerConfig& c) { c.temperature = 0.8f, c.top_k = 40, c.top_p = 0.9f; });
  add([](SamplerConfig& c) {  // every step on, default order
    c.repetition_penalty = 1.2f, c.presence_penalty = 0.3f, c.frequency_penalty = 0.1f;
    c.temperature = 0.9f, c.top_k = 20, c.top_p = 0.8f, c.min_p = 0.05f, c.typical_p = 0.95f;
  });
  SamplerConfig min_p_first;
  min_p_first.min_p = 0.1f, min_p_first.temperature = 1.5f;
  out.push_back(with_order(min_p_first, {SamplerStep::repetition_penalty, SamplerStep::presence_frequency,
                                         SamplerStep::min_p}));
  SamplerConfig top_p_first;
  top_p_first.top_p = 0.6f, top_p_first.top_k = 3;
  out.push_back(with_order(top_p_first, {SamplerStep::top_p}));
  SamplerConfig late;  // temperature and penalties after the filters
  late.top_k = 30, late.top_p = 0.9f, late.temperature = 0.5f, late.repetition_penalty = 1.4f;
  late.frequency_penalty = 0.7f;
  out.push_back(with_order(late, {SamplerStep::top_k, SamplerStep::top_p, SamplerStep::temperature,
                                  SamplerStep::repetition_penalty, SamplerStep::presence_frequency}));
  SamplerConfig typical_first;
  typical_first.typical_p = 0.5f, typical_first.top_p = 0.7f, typical_first.min_p = 0.2f;
  out.push_back(with_order(typical_first, {SamplerStep::typical_p}));
  return out;
}

}  // namespace

TEST(CpuSampler, PicksTheDefinitionsTokenOnMoreThan100kRandomRows) {
  std::mt19937_64 rng(2026);
  CpuSamplerScratch scratch;
  const std::vector<SamplerConfig> all = chains();
  const int rows_per_chain = 100000 / static_cast<int>(all.size()) + 1;
  std::int64_t rows = 0;
  for (const SamplerConfig& c : all) {
    int mismatches = 0;
    for (int i = 0; i < rows_per_chain; ++i) {
      const Row row = random_row(rng);
      // Philox uniforms, and the extremes of (0, 1) every so often.
      double u = sampling_uniform(7, static_cast<std::uint64_t>(rows), 0);
      if (i % 50 == 0) u = 0.5 / 4503599627370496.0;
      if (i % 50 == 1) u = 1.0 - 0.5 / 4503599627370496.0;
      const std::int32_t want = sample_token_reference(c, row.view(), u);
      const std::int32_t got = sample_token_fast(c, row.view(), u, scratch);
      if (got != want && ++mismatches <= 3) {
        ADD_FAILURE() << c.describe() << ": row " << i << " (vocab " << row.logits.size() << ", u " << u
                      << "): definition " << want << ", fast " << got;
      }
      ++rows;
    }
    EXPECT_EQ(mismatches, 0) << c.describe();
  }
  EXPECT_GE(rows, 100000);
}

TEST(CpuSampler, LargeVocabulariesAndLongHistories) {
  // Vocabularies as real models have them (not multiples of any vector width), a 4096-token
  // history, every step on: the fast path's growing top_p heads and its reuse of exponentials.
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal(0.0f, 2.5f);
  CpuSamplerScratch scratch;
  for (int V : {32003, 50257, 128256}) {
    Row row;
    row.logits.resize(static_cast<std::size_t>(V));
    for (float& v : row.logits) v = normal(rng);
    std::uniform_int_distribution<int> token(0, V - 1);
    for (int i = 0; i < 4096; ++i) row.history.push_back(token(rng) % 500);
    row.prompt_length = 100;
    for (const SamplerConfig& c : chains()) {
      for (std::uint64_t d = 0; d < 3; ++d) {
        const double u = sampling_uniform(11, d, static_cast<std::uint64_t>(V));
        EXPECT_EQ(sample_token_fast(c, row.view(), u, scratch), sample_token_reference(c, row.view(), u))
            << c.describe() << " vocab " << V;
      }
    }
  }
}

TEST(CpuSampler, RejectsWhatTheDefinitionRejects) {
  CpuSamplerScratch scratch;
  Row row{{0.0f, 1.0f, 2.0f}, {0, 5}, 1, -1};
  SamplerConfig c;
  c.repetition_penalty = 1.2f;
  EXPECT_THROW(sample_token_fast(c, row.view(), 0.5, scratch), Error);
  row.history = {0, 1};
  row.prompt_length = 3;
  EXPECT_THROW(sample_token_fast(c, row.view(), 0.5, scratch), Error);
  row.prompt_length = 1;
  row.banned = 3;
  EXPECT_THROW(sample_token_fast(c, row.view(), 0.5, scratch), Error);
}

TEST(CpuSampler, AgreesWhereTheRunningSumMeetsTopPExactly) {
  // Probabilities (1/2, 1/4, 1/8, 1/8) from logits (ln 4, ln 2, 0, 0): top_p at 0.5, 0.75 and
  // 0.875 is met exactly at a prefix, where `>=` and `>` part ways; a grid of uniforms over each.
  const float ln2 = std::log(2.0f), ln4 = std::log(4.0f);
  const Row row{{ln4, ln2, 0.0f, 0.0f}, {}, 0, -1};
  CpuSamplerScratch scratch;
  for (float p : {0.5f, 0.75f, 0.875f, 1.0f}) {
    for (float m : {0.0f, 0.25f, 0.5f}) {
      SamplerConfig c;
      c.top_p = p;
      c.min_p = m;
      for (int i = 1; i < 1000; ++i) {
        const double u = i / 1000.0;
        EXPECT_EQ(sample_token_fast(c, row.view(), u, scratch), sample_token_reference(c, row.view(), u))
            << c.describe() << " u " << u;
      }
    }
  }
}

TEST(CpuSampler, AgreesWhereTheRunningSumPassesWithinRoundingOfTopP) {
  // Where the descending running sum of the probabilities passes within rounding of top_p, the
  // order of the additions decides whether it reaches top_p there: the fast sampler's unordered
  // mass cannot tell (it steps aside within a margin of more than 3e-12 for any row) and it must
  // add in the definition's order. Such rows are searched for: random rows of 1000 tokens, with
  // top_p the float nearest a prefix sum that lies within 2e-12 of one.
  std::mt19937_64 rng(17);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  CpuSamplerScratch scratch;
  int found = 0;
  for (int attempt = 0; attempt < 2000 && found < 30; ++attempt) {
    Row row;
    row.logits.resize(1000);
    for (float& v : row.logits) v = normal(rng);
    std::vector<double> p = sampler_distribution(SamplerConfig{}, row.view());
    std::sort(p.begin(), p.end(), std::greater<double>());
    double cumulative = 0.0;
    for (double v : p) {
      cumulative += v;
      const float near = static_cast<float>(cumulative);
      if (near >= 1.0f || std::abs(static_cast<double>(near) - cumulative) > 2e-12) continue;
      ++found;
      for (float top_p : {near, std::nextafter(near, 0.0f), std::nextafter(near, 1.0f)}) {
        SamplerConfig c;
        c.top_p = top_p;
        for (int i = 1; i < 100; ++i) {
          const double u = i / 100.0;
          EXPECT_EQ(sample_token_fast(c, row.view(), u, scratch), sample_token_reference(c, row.view(), u))
              << "top_p " << top_p << " u " << u;
        }
      }
      break;
    }
  }
  EXPECT_GE(found, 30);
}
