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

constexpr std::uint64_t kFreshPool = 0xF4E5, kRetain = 0x4E7A, kTrainDraw = 0x7D4A;

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

std::int64_t sum_of(const std::vector<std::int64_t>& ids, const std::vector<std::int64_t>& lengths) {
  std::int64_t n = 0;
  for (const std::int64_t i : ids) n += lengths[static_cast<std::size_t>(i)];
  return n;
}

std::vector<std::int64_t> generation0_real_documents(const ExperimentSettings& s, std::int64_t real_documents,
                                                     std::uint64_t seed) {
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

// One document of the pool: real (generation -1) or synthetic, its index there and its tokens.
struct Pooled {
  std::int64_t generation;
  std::int64_t index;
  std::int64_t tokens;
};

// The training set holding exactly `chosen`, in training-file order: real documents by index,
// then each generation's synthetic documents by index.
TrainSet assemble(std::vector<Pooled> chosen) {
  std::sort(chosen.begin(), chosen.end(), [](const Pooled& a, const Pooled& b) {
    return a.generation != b.generation ? a.generation < b.generation : a.index < b.index;
  });
  TrainSet set;
  for (const Pooled& d : chosen) {
    if (d.generation < 0) {
      set.real.push_back(d.index);
      set.real_tokens += d.tokens;
      continue;
    }
    if (set.synthetic.empty() || set.synthetic.back().generation != d.generation) {
      set.synthetic.push_back({d.generation, {}, 0});
    }
    set.synthetic.back().documents.push_back(d.index);
    set.synthetic.back().tokens += d.tokens;
  }
  return set;
}

// Documents of `order` (a shuffled pool part) until `tokens` tokens are reached; Error naming the
// keys when the part holds fewer.
std::vector<Pooled> draw_tokens(const std::vector<Pooled>& order, std::int64_t tokens, const std::string& what,
                                std::int64_t generation) {
  std::vector<Pooled> out;
  std::int64_t have = 0;
  for (const Pooled& d : order) {
    if (have >= tokens) break;
    out.push_back(d);
    have += d.tokens;
  }
  if (have < tokens) {
    fail("generation {}: {} asks for {} tokens, but its pool holds only {}", generation, what, tokens, have);
  }
  return out;
}

// The draw of mix.train_size (and mix.synthetic_share) from generation k's pool.
TrainSet draw_training_set(const ExperimentSettings& s, std::int64_t generation, std::uint64_t seed,
                           const TrainSet& pool, std::int64_t generation0_tokens,
                           const std::vector<std::int64_t>& real_lengths,
                           const std::vector<std::vector<std::int64_t>>& synthetic_lengths) {
  std::vector<Pooled> items;
  for (const std::int64_t i : pool.real) items.push_back({-1, i, real_lengths[static_cast<std::size_t>(i)]});
  for (const auto& part : pool.synthetic) {
    for (const std::int64_t i : part.documents) {
      items.push_back({part.generation, i,
                       synthetic_lengths[static_cast<std::size_t>(part.generation)][static_cast<std::size_t>(i)]});
    }
  }
  std::vector<Pooled> order;
  for (const std::int64_t i : shuffled(static_cast<std::int64_t>(items.size()), seed, kTrainDraw,
                                       static_cast<std::uint64_t>(generation))) {
    order.push_back(items[static_cast<std::size_t>(i)]);
  }
  const SizeSpec& size = s.mix.train_size;
  const std::string size_text = "[mix] train_size = " + nlohmann::json(size.to_string()).dump();
  if (size.kind == SizeSpec::Kind::documents) {
    if (size.count > static_cast<std::int64_t>(order.size())) {
      fail("generation {}: {} asks for {} documents, but its pool holds only {}", generation, size_text,
           size.count, order.size());
    }
    order.resize(static_cast<std::size_t>(size.count));
    return assemble(order);
  }
  const std::int64_t tokens = size.kind == SizeSpec::Kind::same ? generation0_tokens : size.count;
  if (s.mix.synthetic_share < 0.0) return assemble(draw_tokens(order, tokens, size_text, generation));
  const auto synthetic = static_cast<std::int64_t>(std::llround(s.mix.synthetic_share * static_cast<double>(tokens)));
  std::vector<Pooled> real_part, synthetic_part;
  for (const Pooled& d : order) (d.generation < 0 ? real_part : synthetic_part).push_back(d);
  const std::string share_text = fmt::format("{} with [mix] synthetic_share = {}", size_text, s.mix.synthetic_share);
  std::vector<Pooled> chosen = draw_tokens(synthetic_part, synthetic, share_text + " (synthetic)", generation);
  const std::vector<Pooled> real = draw_tokens(real_part, tokens - synthetic, share_text + " (real)", generation);
  chosen.insert(chosen.end(), real.begin(), real.end());
  return assemble(chosen);
}

}  // namespace

std::int64_t TrainSet::documents() const {
  std::int64_t n = static_cast<std::int64_t>(real.size());
  for (const auto& s : synthetic) n += static_cast<std::int64_t>(s.documents.size());
  return n;
}

std::int64_t TrainSet::synthetic_tokens() const {
  std::int64_t n = 0;
  for (const auto& s : synthetic) n += s.tokens;
  return n;
}

nlohmann::json TrainSet::to_json() const {
  nlohmann::json syn = nlohmann::json::array();
  for (const auto& s : synthetic) {
    syn.push_back({{"generation", s.generation},
                   {"documents", s.documents.size()},
                   {"tokens", s.tokens},
                   {"indices", s.documents}});
  }
  return {{"real", {{"documents", real.size()}, {"tokens", real_tokens}, {"indices", real}}},
          {"synthetic", syn},
          {"total_documents", documents()},
          {"total_tokens", tokens()}};
}

TrainSet generation0_training_set(const ExperimentSettings& s, const std::vector<std::int64_t>& real_lengths,
                                  std::uint64_t seed) {
  TrainSet set;
  set.real = generation0_real_documents(s, static_cast<std::int64_t>(real_lengths.size()), seed);
  set.real_tokens = sum_of(set.real, real_lengths);
  return set;
}

TrainSet mix_training_set(const ExperimentSettings& s, std::int64_t generation, std::uint64_t seed,
                          const std::vector<std::int64_t>& real_lengths,
                          const std::vector<std::vector<std::int64_t>>& synthetic_lengths) {
  if (generation < 1) fail("mix_training_set: generation 0 trains on real data only");
  if (static_cast<std::int64_t>(synthetic_lengths.size()) < generation) {
    fail("mix_training_set: generation {} needs the synthetic corpora of generations 0..{}",
         generation, generation - 1);
  }
  const auto real_documents = static_cast<std::int64_t>(real_lengths.size());
  TrainSet set;
  const std::vector<std::int64_t> base = generation0_real_documents(s, real_documents, seed);
  const auto add_synthetic = [&](std::int64_t j) {
    const auto& lengths = synthetic_lengths[static_cast<std::size_t>(j)];
    std::vector<std::int64_t> ids = take_synthetic(s.mix.synthetic, lengths);
    const std::int64_t tokens = sum_of(ids, lengths);
    set.synthetic.push_back({j, std::move(ids), tokens});
  };
  if (s.mix.regime == MixRegime::accumulate) {
    set.real = base;
    for (std::int64_t j = 0; j < generation; ++j) add_synthetic(j);
  } else {
    // replace and fresh: the retained share (or count) of generation 0's real documents...
    const auto keep = s.mix.real_documents > 0
                          ? s.mix.real_documents
                          : static_cast<std::int64_t>(std::llround(s.mix.real_fraction * static_cast<double>(base.size())));
    if (keep > static_cast<std::int64_t>(base.size())) {
      fail("[mix] real_documents = {} is more than the {} real documents generation 0 trained on", keep,
           base.size());
    }
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
  }
  set.real_tokens = sum_of(set.real, real_lengths);
  if (s.mix.train_size.kind == SizeSpec::Kind::pool) return set;
  return draw_training_set(s, generation, seed, set, sum_of(base, real_lengths), real_lengths, synthetic_lengths);
}

}  // namespace collapse
