#include "collapse/generate/cpu_sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "collapse/util/error.h"

namespace collapse {
namespace {

constexpr float kRemovedF = -std::numeric_limits<float>::infinity();
constexpr double kRemoved = -std::numeric_limits<double>::infinity();

// One row on its way through the chain. The candidates are the tokens still kept: every token
// with a finite x while `listed` is false, then (once a filter has run) scratch.kept, ascending.
// Every operation below is the reference's (src/generate/sampler_chain.cpp), applied to the
// candidates only: a removed token never comes back, so nothing else can change the result.
class Row {
 public:
  Row(const SamplingRow& row, CpuSamplerScratch& s) : row_(row), s_(s) {
    s_.x.resize(row.logits.size());
    std::transform(row.logits.begin(), row.logits.end(), s_.x.begin(),
                   [](float v) { return std::isfinite(v) ? v : kRemovedF; });
    if (row.banned_token >= 0) s_.x[static_cast<std::size_t>(row.banned_token)] = kRemovedF;
    s_.e.resize(s_.x.size());
    s_.prob.resize(s_.x.size());
  }

  void apply(SamplerStep step, const SamplerConfig& c) {
    switch (step) {
      case SamplerStep::repetition_penalty: repetition_penalty(c.repetition_penalty); return;
      case SamplerStep::presence_frequency:
        presence_frequency(c.presence_penalty, c.frequency_penalty);
        return;
      case SamplerStep::temperature: temperature(c.temperature); return;
      case SamplerStep::top_k: top_k(c.top_k); return;
      case SamplerStep::top_p: top_p(c.top_p); return;
      case SamplerStep::min_p: min_p(c.min_p); return;
      case SamplerStep::typical_p: typical_p(c.typical_p); return;
    }
  }

  // The reference's argmax: the lowest id among the largest finite values; -1 when none.
  std::int32_t argmax() const {
    std::int32_t best = -1;
    for_candidates([&](std::int32_t t) {
      if (best < 0 || x(t) > x(best)) best = t;
    });
    return best;
  }

  // The reference's choice: the smallest id whose running sum of exp(x - max), in vocabulary
  // order, exceeds u * Z; the largest kept id if rounding leaves none; -1 without candidates.
  std::int32_t choose(double uniform) {
    const double max = candidate_max();
    if (max == kRemoved) return -1;
    const double total = exponentials(max);
    std::int32_t last = -1;
    if (listed_) {
      last = s_.kept.back();  // candidates exist: max is finite
    } else {
      for (auto t = static_cast<std::int32_t>(s_.x.size()) - 1; t >= 0 && last < 0; --t) {
        if (x(t) != kRemovedF) last = t;
      }
    }
    const double target = uniform * total;
    double cumulative = 0.0;
    std::int32_t chosen = -1;
    for_candidates_until([&](std::int32_t t) {
      cumulative += s_.e[static_cast<std::size_t>(t)];
      if (cumulative > target) {
        chosen = t;
        return true;
      }
      return false;
    });
    return chosen >= 0 ? chosen : last;
  }

 private:
  float x(std::int32_t t) const { return s_.x[static_cast<std::size_t>(t)]; }
  float& x(std::int32_t t) { return s_.x[static_cast<std::size_t>(t)]; }

  template <typename F>
  void for_candidates(F f) const {
    if (listed_) {
      for (std::int32_t t : s_.kept) f(t);
      return;
    }
    const auto V = static_cast<std::int32_t>(s_.x.size());
    for (std::int32_t t = 0; t < V; ++t) {
      if (s_.x[static_cast<std::size_t>(t)] != kRemovedF) f(t);
    }
  }

  // for_candidates, stopping at the first call that returns true.
  template <typename F>
  void for_candidates_until(F f) const {
    if (listed_) {
      for (std::int32_t t : s_.kept) {
        if (f(t)) return;
      }
      return;
    }
    const auto V = static_cast<std::int32_t>(s_.x.size());
    for (std::int32_t t = 0; t < V; ++t) {
      if (s_.x[static_cast<std::size_t>(t)] != kRemovedF && f(t)) return;
    }
  }

  // Keeps the candidates for which keep(t) holds (every later step sees only them).
  template <typename Keep>
  void keep_if(Keep keep) {
    if (listed_) {
      s_.kept.erase(std::remove_if(s_.kept.begin(), s_.kept.end(), [&](std::int32_t t) { return !keep(t); }),
                    s_.kept.end());
      return;
    }
    // Written without a branch on keep(t): a filter that keeps about every other token would
    // mispredict at every one.
    s_.kept.resize(s_.x.size());
    std::int32_t* kept = s_.kept.data();
    std::size_t n = 0;
    for_candidates([&](std::int32_t t) {
      kept[n] = t;
      n += keep(t) ? 1 : 0;
    });
    s_.kept.resize(n);
    listed_ = true;
  }

  // After a step changed some values: those that left the finite range are removed tokens.
  void drop_non_finite() {
    if (listed_) keep_if([&](std::int32_t t) { return std::isfinite(x(t)); });
    e_valid_ = false;
  }

  double candidate_max() const {
    double max = kRemoved;
    for_candidates([&](std::int32_t t) { max = std::max(max, static_cast<double>(x(t))); });
    return max;
  }

  // e[t] = exp(double(x[t]) - max) for every candidate, unless the values of this max are
  // already there (filters only remove candidates; the max itself only goes with typical_p).
  // Returns their sum in vocabulary order, the reference's softmax denominator and choice total.
  double exponentials(double max) {
    double sum = 0.0;
    if (e_valid_ && e_max_ == max) {
      for_candidates([&](std::int32_t t) { sum += s_.e[static_cast<std::size_t>(t)]; });
      return sum;
    }
    for_candidates([&](std::int32_t t) {
      const double e = std::exp(static_cast<double>(x(t)) - max);
      s_.e[static_cast<std::size_t>(t)] = e;
      sum += e;
    });
    e_valid_ = true;
    e_max_ = max;
    return sum;
  }

  // The reference's softmax over the candidates: p[t] = e[t] / sum, sum the exponentials' sum
  // in vocabulary order. Sets sum_ and returns false when there is no candidate.
  bool softmax() {
    const double max = candidate_max();
    if (max == kRemoved) return false;
    sum_ = exponentials(max);
    return true;
  }
  double p(std::int32_t t) const { return s_.e[static_cast<std::size_t>(t)] / sum_; }

  // Calls f(t, p[t]) over the candidates after softmax().
  template <typename F>
  void for_probabilities(F f) const {
    for_candidates([&](std::int32_t t) { f(t, p(t)); });
  }

  void repetition_penalty(float r) {
    s_.tokens.assign(row_.history.begin(), row_.history.end());
    std::sort(s_.tokens.begin(), s_.tokens.end());
    s_.tokens.erase(std::unique(s_.tokens.begin(), s_.tokens.end()), s_.tokens.end());
    for (std::int32_t t : s_.tokens) {
      float& v = x(t);
      v = v > 0.0f ? v / r : v * r;
      if (!std::isfinite(v)) v = kRemovedF;
    }
    drop_non_finite();
  }

  void presence_frequency(float presence, float frequency) {
    const auto generated = row_.history.subspan(static_cast<std::size_t>(row_.prompt_length));
    s_.tokens.assign(generated.begin(), generated.end());
    std::sort(s_.tokens.begin(), s_.tokens.end());
    for (std::size_t i = 0; i < s_.tokens.size();) {
      std::size_t j = i;
      while (j < s_.tokens.size() && s_.tokens[j] == s_.tokens[i]) ++j;
      // Two statements, as in the reference, so no fused multiply-add.
      const float scaled = frequency * static_cast<float>(j - i);
      const float penalty = scaled + presence;
      float& v = x(s_.tokens[i]);
      v = v - penalty;
      if (!std::isfinite(v)) v = kRemovedF;
      i = j;
    }
    drop_non_finite();
  }

  void temperature(float T) {
    // -inf stays -inf (T > 0); an overflow becomes a removed token.
    for_each_value([T](float& v) {
      const float y = v / T;
      v = std::isfinite(y) ? y : kRemovedF;
    });
    drop_non_finite();
  }

  template <typename F>
  void for_each_value(F f) {
    if (listed_) {
      for (std::int32_t t : s_.kept) f(x(t));
    } else {
      for (float& v : s_.x) f(v);
    }
  }

  void top_k(std::int64_t k) {
    s_.values.clear();
    for_candidates([&](std::int32_t t) { s_.values.push_back(x(t)); });
    if (k >= static_cast<std::int64_t>(s_.values.size())) return;
    std::nth_element(s_.values.begin(), s_.values.begin() + (k - 1), s_.values.end(), std::greater<float>());
    const float kth = s_.values[static_cast<std::size_t>(k - 1)];
    keep_if([&](std::int32_t t) { return x(t) >= kth; });
  }

  void top_p(float top_p) {
    if (!softmax()) return;
    const double target = static_cast<double>(top_p);
    double threshold = 0.0;
    if (!nucleus_threshold_by_mass(target, threshold)) threshold = nucleus_threshold_by_sorting(target);
    // The probabilities nucleus_threshold_by_mass stored: p(t), without dividing again.
    const double* prob = s_.prob.data();
    keep_if([&](std::int32_t t) { return prob[t] >= threshold; });
  }

  // The reference's top_p threshold without sorting, in passes over the candidates: the
  // probabilities' mass in factor-of-2 bands, then in 4096 slices of the band where the
  // descending running sum reaches the target; only that slice's values are sorted. The
  // reference's running sum is sequential and this one is not, so the two agree only up to
  // rounding: the threshold is taken only when the sum before its value stays below the target,
  // and the sum through its value reaches it, each by a margin (`margin`) above both sums'
  // rounding error (n values each, every partial sum at most the total). Otherwise (a sum within
  // about n * 1e-16 of the target, which ties and hand-made rows produce) it returns false and
  // the sorting path, the reference's own sequence of additions, decides.
  // Stores p(t) of every candidate in s_.prob either way. The later passes test membership
  // without branching: in a flat distribution the tested band holds about every other value, and
  // a mispredicted branch per value cost more than the rest of the pass.
  // Sums land in kLanes copies of every bin, chosen by token: consecutive values mostly share a
  // bin (one band, or the slot of values outside the band), and one copy would chain every
  // addition to the previous one's store.
  bool nucleus_threshold_by_mass(double target, double& threshold) {
    constexpr int kBands = 64, kSliceBits = 12, kSlices = 1 << kSliceBits, kLanes = 4;
    double* prob = s_.prob.data();
    double lane_mass[kLanes][kBands] = {};
    std::size_t n = 0;
    for_candidates([&](std::int32_t t) {
      const double v = p(t);
      prob[t] = v;
      lane_mass[t % kLanes][band(v)] += v;
      ++n;
    });
    double band_mass[kBands] = {}, total = 0.0;
    for (int b = 0; b < kBands; ++b) {
      for (int l = 0; l < kLanes; ++l) band_mass[b] += lane_mass[l][b];
      total += band_mass[b];
    }
    // Both running sums are within (values summed) * 2^-53 * total of the exact one; 4x that.
    const double margin = static_cast<double>(2 * n + 2 * kSlices + 2 * kBands) * 0x1p-51 * std::max(1.0, total);
    double before = 0.0;  // the mass above the band (then the slice) reached
    int b = 0;
    for (; b < kBands - 1 && before + band_mass[b] < target; ++b) before += band_mass[b];
    if (b == kBands - 1) return false;  // reached (if at all) only among zeros and subnormals
    // Band b is one binary exponent: the values' top 12 exponent-and-sign bits equal `exponent`,
    // and their next kSliceBits mantissa bits order them, highest slice first. Values of other
    // bands go to kLanes extra slots past the slices (by token, as above), which are never read.
    const std::uint64_t exponent = static_cast<std::uint64_t>(1023 - b);
    auto slice_of = [exponent](double v) {
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      const bool inside = (bits >> 52) == exponent;
      return inside ? static_cast<std::size_t>((bits >> (52 - kSliceBits)) & (kSlices - 1)) : std::size_t{kSlices};
    };
    std::vector<double>& slice_mass = s_.slice_mass;
    slice_mass.assign(kSlices + kLanes, 0.0);
    for_candidates([&](std::int32_t t) {
      const std::size_t s = slice_of(prob[t]);
      slice_mass[s + (s == kSlices ? static_cast<std::size_t>(t % kLanes) : 0)] += prob[t];
    });
    std::size_t c = kSlices - 1;
    for (; c > 0 && before + slice_mass[c] < target; --c) before += slice_mass[c];
    std::vector<double>& v = s_.sorted;
    v.resize(n);
    std::size_t m = 0;
    for_candidates([&](std::int32_t t) {
      v[m] = prob[t];
      m += slice_of(prob[t]) == c;
    });
    v.resize(m);
    std::sort(v.begin(), v.end(), std::greater<double>());
    // Runs of equal values: the reference's threshold is the value w with sum(> w) < target <=
    // sum(>= w), wherever inside w's run its running sum crosses.
    for (std::size_t i = 0; i < v.size();) {
      std::size_t j = i;
      double through = before;
      while (j < v.size() && v[j] == v[i]) through += v[j++];
      if (through >= target) {
        if (!(before < target - margin && through >= target + margin)) return false;
        threshold = v[i];
        return true;
      }
      before = through;
      i = j;
    }
    return false;  // the slices' mass and the sorted values' disagree by rounding: let sorting decide
  }

  // The reference's top_p threshold by its own running sum: the descending cumulative sum until
  // it reaches top_p, over heads of the values selected (nth_element) and sorted, each after the
  // previous, so only what the sum needs is sorted.
  double nucleus_threshold_by_sorting(double target) {
    std::vector<double>& v = s_.sorted;
    const std::size_t surely = gather_head_of_mass(target, v);
    const std::size_t n = v.size();
    double cumulative = 0.0;
    // The first head: what the bands say the sum needs, and 64 more (a flat distribution needs
    // most of the row at once; growing from 64 would select again and again).
    // A head of half the values or more is sorted whole: selecting it first would cost as much.
    auto grown = [n](std::size_t head) { return head * 2 >= n ? n : head; };
    for (std::size_t done = 0, head = grown(std::min(n, surely + 64)); done < n;
         done = head, head = grown(std::min(n, head * 4))) {
      const auto first = v.begin() + static_cast<std::ptrdiff_t>(done);
      const auto mid = v.begin() + static_cast<std::ptrdiff_t>(head);
      if (mid != v.end()) std::nth_element(first, mid, v.end(), std::greater<double>());
      sort_descending(first, mid);
      for (auto it = first; it != mid; ++it) {
        cumulative += *it;
        if (cumulative >= target) return *it;
      }
    }
    return v.back();  // rounding never reached top_p: keep all (all sorted)
  }

  // Sorts probabilities (non-negative doubles) descending, as std::sort with std::greater would:
  // equal values are equal bit patterns, so any correct sort gives the same sequence. Long runs
  // go through a least-significant-digit radix sort of the bit patterns (which order as the
  // values do for non-negative doubles), 8 bits a pass, skipping the digits every value shares:
  // for a flat distribution most of the row is sorted here, and comparisons cost far more.
  void sort_descending(std::vector<double>::iterator first, std::vector<double>::iterator last) {
    const auto n = static_cast<std::size_t>(last - first);
    if (n < 256) {
      std::sort(first, last, std::greater<double>());
      return;
    }
    std::vector<std::uint64_t>& a = s_.radix_a;
    std::vector<std::uint64_t>& b = s_.radix_b;
    a.resize(n);
    b.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t bits;
      std::memcpy(&bits, &first[static_cast<std::ptrdiff_t>(i)], sizeof bits);
      a[i] = ~bits;  // ascending ~bits = descending value
    }
    for (int shift = 0; shift < 64; shift += 8) {
      std::size_t count[257] = {};
      for (std::uint64_t k : a) ++count[((k >> shift) & 0xff) + 1];
      if (std::any_of(count + 1, count + 257, [n](std::size_t c) { return c == n; })) continue;
      for (int d = 0; d < 256; ++d) count[d + 1] += count[d];
      for (std::uint64_t k : a) b[count[(k >> shift) & 0xff]++] = k;
      a.swap(b);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t bits = ~a[i];
      std::memcpy(&first[static_cast<std::ptrdiff_t>(i)], &bits, sizeof bits);
    }
  }

  // The probabilities the descending running sum to `target` can reach, into v: those in the
  // fewest factor-of-2 bands of exp(x - max) from the top whose mass, summed in any order, exceeds
  // target by a margin (1e-9 of the total) far above that sum's rounding. They are the head of the
  // descending order (p is monotone in e, and equal values are interchangeable in a sum), so the
  // running sum reaches the target inside them exactly where it would over every candidate.
  // Every candidate when no band does (a target within rounding of the whole mass).
  // Returns how many values lie in the bands above the last one taken (the running sum needs
  // about that many: a size for the first head, nothing more).
  std::size_t gather_head_of_mass(double target, std::vector<double>& v) {
    constexpr int kBands = 64;
    double band_mass[kBands] = {};
    std::size_t band_count[kBands] = {};
    for_candidates([&](std::int32_t t) {
      const double e = s_.e[static_cast<std::size_t>(t)];
      const int b = band(e);
      band_mass[b] += e;
      ++band_count[b];
    });
    const double need = (target + 1e-9) * sum_;
    double mass = 0.0;
    std::size_t above = 0;
    int last = kBands;  // every candidate
    for (int b = 0; b < kBands - 1; ++b) {
      mass += band_mass[b];
      if (mass >= need) {
        last = b;
        break;
      }
      above += band_count[b];
    }
    v.clear();
    for_probabilities([&](std::int32_t t, double prob) {
      if (last == kBands || band(s_.e[static_cast<std::size_t>(t)]) <= last) v.push_back(prob);
    });
    return above;
  }

  // The band of e = exp(x - max) in (0, 1]: b = -(binary exponent of e), so band 0 is e = 1 and
  // band b holds [2^-b, 2^-b+1); everything below 2^-62 (zero and subnormals too) is band 63.
  static int band(double e) {
    std::uint64_t bits;
    std::memcpy(&bits, &e, sizeof bits);
    const int exponent = static_cast<int>((bits >> 52) & 0x7ff) - 1023;  // e = 1: 0; [0.5, 1): -1
    return std::min(63, std::max(0, -exponent));
  }

  void min_p(float min_p) {
    if (!softmax()) return;
    double max_p = 0.0;
    for_probabilities([&](std::int32_t, double prob) { max_p = std::max(max_p, prob); });
    const double cut = static_cast<double>(min_p) * max_p;
    keep_by_probability([&](double prob) { return !(prob < cut); });
  }

  void typical_p(float typical_p) {
    if (!softmax()) return;
    double entropy = 0.0;
    for_probabilities([&](std::int32_t, double prob) {
      if (prob > 0.0) entropy -= prob * std::log(prob);
    });
    // The candidates by |-log p - H| (ties by id), as (score, token, p).
    std::vector<CpuSamplerScratch::Scored>& scored = s_.scored;
    scored.clear();
    for_probabilities([&](std::int32_t t, double prob) {
      const double score = prob > 0.0 ? std::abs(-std::log(prob) - entropy) : std::numeric_limits<double>::infinity();
      scored.push_back({score, t, prob});
    });
    using Scored = CpuSamplerScratch::Scored;
    std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
      return a.score != b.score ? a.score < b.score : a.token < b.token;
    });
    double cumulative = 0.0;
    std::size_t keep = scored.size();
    for (std::size_t i = 0; i < scored.size(); ++i) {
      cumulative += scored[i].p;
      if (cumulative >= static_cast<double>(typical_p)) {
        keep = i + 1;
        break;
      }
    }
    s_.kept.clear();
    for (std::size_t i = 0; i < keep; ++i) s_.kept.push_back(scored[i].token);
    std::sort(s_.kept.begin(), s_.kept.end());
    listed_ = true;
  }

  // Keeps the candidates whose probability (after softmax()) passes `keep`.
  template <typename Keep>
  void keep_by_probability(Keep keep) {
    keep_if([&](std::int32_t t) { return keep(p(t)); });
  }

  const SamplingRow& row_;
  CpuSamplerScratch& s_;
  bool listed_ = false;
  bool e_valid_ = false;
  double e_max_ = 0.0;
  double sum_ = 0.0;  // the last softmax()'s denominator
};

}  // namespace

std::int32_t sample_token_fast(const SamplerConfig& config, const SamplingRow& row, double uniform,
                               CpuSamplerScratch& scratch) {
  check_sampling_row(row);
  Row r(row, scratch);
  for (SamplerStep step : config.order) {
    if (config.active(step)) r.apply(step, config);
  }
  return config.greedy() ? r.argmax() : r.choose(uniform);
}

}  // namespace collapse
