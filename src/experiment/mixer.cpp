#include "collapse/experiment/mixer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "collapse/util/error.h"
#include "collapse/util/random.h"

namespace collapse {
namespace {

// Seeded Fisher-Yates over 0..n-1, every draw a pure function of (seed, purpose, generation, i).
std::vector<std::int64_t> shuffled(std::int64_t n, std::uint64_t seed, std::uint64_t purpose,
                                   std::uint64_t generation) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(
        uniform_below(random_key(seed, {purpose, generation, static_cast<std::uint64_t>(i)}),
                      static_cast<std::uint64_t>(i + 1)));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

constexpr std::uint64_t kFreshPool = 0xF4E5, kRetain = 0x4E7A;

std::int64_t pool_size(const ExperimentSettings& s) {
  return s.mix.regime == MixRegime::fresh ? (s.generations - 1) * s.mix.fresh_documents : 0;
}

std::vector<std::int64_t> take_synthetic(const SizeSpec& spec, const std::vector<std::int64_t>& lengths) {
  std::vector<std::int64_t> ids;
  std::int64_t tokens = 0;
  for (std::size_t d = 0; d < lengths.size(); ++d) {
    if (spec.kind == SizeSpec::Kind::documents && static_cast<std::int64_t>(ids.size()) >= spec.count) break;
    if (spec.kind == SizeSpec::Kind::tokens && tokens >= spec.count) break;
    ids.push_back(static_cast<std::int64_t>(d));
    tokens += lengths[d];
  }
  return ids;
}

}  // namespace

std::int64_t TrainSet::documents() const {
  std::int64_t n = static_cast<std::int64_t>(real.size());
  for (const auto& s : synthetic) n += static_cast<std::int64_t>(s.documents.size());
  return n;
}

nlohmann::json TrainSet::to_json() const {
  nlohmann::json syn = nlohmann::json::array();
  for (const auto& s : synthetic) {
    syn.push_back({{"generation", s.generation}, {"documents", s.documents.size()}, {"indices", s.documents}});
  }
  return {{"real", {{"documents", real.size()}, {"indices", real}}},
          {"synthetic", syn},
          {"total_documents", documents()}};
}

std::vector<std::int64_t> generation0_real_documents(const ExperimentSettings& s,
                                                     std::int64_t real_documents, std::uint64_t seed) {
  const std::int64_t pool = pool_size(s);
  if (pool == 0) {
    std::vector<std::int64_t> all(static_cast<std::size_t>(real_documents));
    std::iota(all.begin(), all.end(), 0);
    return all;
  }
  if (pool >= real_documents) {
    fail("[mix] fresh_documents = {} x {} later generations needs {} held-in real documents, but "
         "the real train split has only {} (generation 0 needs some too)",
         s.mix.fresh_documents, s.generations - 1, pool, real_documents);
  }
  std::vector<std::int64_t> order = shuffled(real_documents, seed, kFreshPool, 0);
  order.resize(static_cast<std::size_t>(real_documents - pool));
  std::sort(order.begin(), order.end());
  return order;
}

TrainSet mix_training_set(const ExperimentSettings& s, std::int64_t generation, std::uint64_t seed,
                          std::int64_t real_documents,
                          const std::vector<std::vector<std::int64_t>>& synthetic_lengths) {
  if (generation < 1) fail("mix_training_set: generation 0 trains on real data only");
  if (static_cast<std::int64_t>(synthetic_lengths.size()) < generation) {
    fail("mix_training_set: generation {} needs the synthetic corpora of generations 0..{}",
         generation, generation - 1);
  }
  TrainSet set;
  const std::vector<std::int64_t> base = generation0_real_documents(s, real_documents, seed);
  const auto add_synthetic = [&](std::int64_t j) {
    set.synthetic.push_back({j, take_synthetic(s.mix.synthetic, synthetic_lengths[static_cast<std::size_t>(j)])});
  };
  if (s.mix.regime == MixRegime::accumulate) {
    set.real = base;
    for (std::int64_t j = 0; j < generation; ++j) add_synthetic(j);
    return set;
  }
  // replace and fresh: the retained share of generation 0's real documents...
  const auto keep = static_cast<std::int64_t>(std::llround(s.mix.real_fraction * static_cast<double>(base.size())));
  if (keep > 0) {
    std::vector<std::int64_t> order = shuffled(static_cast<std::int64_t>(base.size()), seed, kRetain,
                                               static_cast<std::uint64_t>(generation));
    order.resize(static_cast<std::size_t>(keep));
    std::sort(order.begin(), order.end());
    for (const std::int64_t i : order) set.real.push_back(base[static_cast<std::size_t>(i)]);
  }
  // ...plus, for fresh, this generation's slice of the held-in pool.
  if (s.mix.regime == MixRegime::fresh && s.mix.fresh_documents > 0) {
    const std::vector<std::int64_t> order = shuffled(real_documents, seed, kFreshPool, 0);
    const std::int64_t start = real_documents - pool_size(s) + (generation - 1) * s.mix.fresh_documents;
    for (std::int64_t i = start; i < start + s.mix.fresh_documents; ++i) {
      set.real.push_back(order[static_cast<std::size_t>(i)]);
    }
  }
  add_synthetic(generation - 1);
  return set;
}

}  // namespace collapse
