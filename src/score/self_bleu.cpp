#include "collapse/score/self_bleu.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>
#include <map>
#include <numeric>

#include "collapse/util/error.h"
#include "collapse/util/random.h"

namespace collapse {
namespace {

// Sum with Neumaier's compensation (close to Python's math.fsum, which NLTK uses).
double compensated_sum(std::span<const double> xs) {
  double sum = 0, compensation = 0;
  for (double x : xs) {
    const double t = sum + x;
    compensation += std::abs(sum) >= std::abs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  return sum + compensation;
}

// The reference lengths of a pool, for the closest-length rule with one member left out.
class ReferenceLengths {
 public:
  explicit ReferenceLengths(std::vector<std::int64_t> lengths) {
    std::sort(lengths.begin(), lengths.end());
    for (std::int64_t len : lengths) {
      if (lengths_.empty() || lengths_.back() != len) lengths_.push_back(len), counts_.push_back(0);
      ++counts_.back();
    }
  }
  // The length closest to `length` (the shorter on a tie) among the pool less one document of
  // length `length` when `excluding_one` (the hypothesis itself). The pool minus it is not empty.
  std::int64_t closest(std::int64_t length, bool excluding_one) const {
    const auto i = static_cast<std::size_t>(
        std::lower_bound(lengths_.begin(), lengths_.end(), length) - lengths_.begin());
    std::size_t up = i;
    if (up < lengths_.size() && excluding_one && lengths_[up] == length && counts_[up] == 1) ++up;
    const bool has_up = up < lengths_.size(), has_down = i > 0;
    if (!has_down) return lengths_[up];
    if (!has_up) return lengths_[i - 1];
    const std::int64_t down_len = lengths_[i - 1], up_len = lengths_[up];
    return up_len - length < length - down_len ? up_len : down_len;
  }

 private:
  std::vector<std::int64_t> lengths_, counts_;  // distinct lengths ascending, multiplicities
};

}  // namespace

std::vector<std::int64_t> seeded_subset(std::int64_t documents, std::int64_t size,
                                        std::uint64_t seed, std::uint64_t purpose) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(documents));
  std::iota(ids.begin(), ids.end(), 0);
  if (size <= 0 || size >= documents) return ids;
  std::vector<std::pair<std::uint64_t, std::int64_t>> keyed(ids.size());
  for (std::int64_t d = 0; d < documents; ++d) {
    keyed[d] = {random_key(seed, {purpose, static_cast<std::uint64_t>(d)}), d};
  }
  std::nth_element(keyed.begin(), keyed.begin() + size, keyed.end());
  ids.resize(static_cast<std::size_t>(size));
  for (std::int64_t i = 0; i < size; ++i) ids[i] = keyed[i].second;
  std::sort(ids.begin(), ids.end());
  return ids;
}

double bleu4_from_counts(std::span<const std::int64_t, kBleuOrder> matches,
                         std::int64_t hypothesis_length, std::int64_t reference_length) {
  if (matches[0] == 0) return 0.0;  // no unigram match (an empty hypothesis included)
  const double c = static_cast<double>(hypothesis_length);
  const double brevity = hypothesis_length > reference_length
                             ? 1.0
                             : std::exp(1.0 - static_cast<double>(reference_length) / c);
  std::array<double, kBleuOrder> terms{};
  for (int n = 1; n <= kBleuOrder; ++n) {
    const double windows = static_cast<double>(std::max<std::int64_t>(1, hypothesis_length - n + 1));
    const std::int64_t m = matches[n - 1];
    const double p = m > 0 ? static_cast<double>(m) / windows : kBleuEpsilon / windows;
    terms[n - 1] = 0.25 * std::log(p);
  }
  return brevity * std::exp(compensated_sum(terms));
}

double sentence_bleu4(std::span<const std::span<const std::int32_t>> references,
                      std::span<const std::int32_t> hypothesis) {
  if (references.empty()) fail("BLEU needs at least one reference");
  using Counts = std::map<std::vector<std::int32_t>, std::int64_t>;
  auto count = [](std::span<const std::int32_t> doc, int n) {
    Counts counts;
    for (std::size_t i = 0; i + n <= doc.size(); ++i) ++counts[{doc.begin() + i, doc.begin() + i + n}];
    return counts;
  };
  std::array<std::int64_t, kBleuOrder> matches{};
  for (int n = 1; n <= kBleuOrder; ++n) {
    const Counts hyp = count(hypothesis, n);
    Counts max_ref;
    for (const auto& ref : references) {
      const Counts rc = count(ref, n);
      for (const auto& [gram, c] : hyp) {
        const auto it = rc.find(gram);
        if (it != rc.end()) max_ref[gram] = std::max(max_ref[gram], it->second);
      }
    }
    for (const auto& [gram, c] : hyp) matches[n - 1] += std::min(c, max_ref[gram]);
  }
  const auto c = static_cast<std::int64_t>(hypothesis.size());
  std::int64_t closest = static_cast<std::int64_t>(references[0].size());
  for (const auto& ref : references) {
    const auto r = static_cast<std::int64_t>(ref.size());
    if (std::abs(r - c) < std::abs(closest - c) || (std::abs(r - c) == std::abs(closest - c) && r < closest)) {
      closest = r;
    }
  }
  return bleu4_from_counts(matches, c, closest);
}

SelfBleuResult self_bleu(const TokenCorpus& corpus, const SelfBleuOptions& options,
                         const NgramEngine& engine) {
  const std::int64_t D = corpus.documents();
  if (D < 2) fail("self-BLEU needs at least 2 documents, the corpus has {}", D);
  if (options.max_hypotheses < 0 || options.max_references < 0 || options.max_references == 1) {
    fail("self-BLEU: max_hypotheses ({}) must be >= 0 and max_references ({}) 0 or >= 2",
         options.max_hypotheses, options.max_references);
  }
  const auto hyps = seeded_subset(D, options.max_hypotheses, options.seed, 0);
  const auto refs = seeded_subset(D, options.max_references, options.seed, 1);

  // The documents either role needs, in corpus order, with their roles.
  std::vector<std::int64_t> used;
  std::set_union(hyps.begin(), hyps.end(), refs.begin(), refs.end(), std::back_inserter(used));
  const TokenCorpus sub = corpus.subset(used);
  BleuRoles roles;
  roles.is_reference.assign(used.size(), 0);
  roles.hypothesis_slot.assign(used.size(), -1);
  roles.hypotheses = static_cast<std::int64_t>(hyps.size());
  for (std::size_t u = 0, h = 0, r = 0; u < used.size(); ++u) {
    if (h < hyps.size() && hyps[h] == used[u]) roles.hypothesis_slot[u] = static_cast<std::int32_t>(h++);
    if (r < refs.size() && refs[r] == used[u]) roles.is_reference[u] = 1, ++r;
  }

  constexpr std::array<int, kBleuOrder> kOrders{1, 2, 3, 4};
  const auto matches = engine.bleu_matches(sub, roles, kOrders, ngram_id_bits_of({&sub}));

  std::vector<std::int64_t> ref_lengths;
  for (std::int64_t d : refs) ref_lengths.push_back(corpus.length(d));
  const ReferenceLengths pool(std::move(ref_lengths));

  SelfBleuResult result;
  result.hypotheses = static_cast<std::int64_t>(hyps.size());
  result.references = static_cast<std::int64_t>(refs.size());
  result.hypothesis_ids = hyps;
  result.scores.resize(hyps.size());
  double sum = 0;
  for (std::size_t h = 0; h < hyps.size(); ++h) {
    const std::int64_t len = corpus.length(hyps[h]);
    const bool in_pool = std::binary_search(refs.begin(), refs.end(), hyps[h]);
    std::array<std::int64_t, kBleuOrder> m{};
    for (int n = 0; n < kBleuOrder; ++n) m[n] = matches[n].matches[h];
    result.scores[h] = bleu4_from_counts(m, len, pool.closest(len, in_pool));
    sum += result.scores[h];
  }
  result.self_bleu = sum / static_cast<double>(hyps.size());
  return result;
}

}  // namespace collapse
