// The n-gram metrics at scale: distinct-1..4 (with entropy: one ngram_stats call) over 10M tokens,
// and self-BLEU-4 over N documents of 128 tokens with every other document as references, on the
// engine of COLLAPSE_BENCH_DEVICE (default "auto": CUDA when available, else the CPU engine).
//
//   build/bin/ngram_bench                                        # every benchmark, default device
//   COLLAPSE_BENCH_DEVICE=cpu build/bin/ngram_bench --benchmark_filter=Distinct
//   COLLAPSE_BENCH_DEVICE=cuda build/bin/ngram_bench --benchmark_filter='SelfBleu/10000'
//
// The corpora are a pure function of (seed, document, position), integers only, so
// benchmarks/self_bleu_nltk.py builds the very same documents and times NLTK on them:
//   token(d, i) = min over j = 0, 1, 2 of uniform_below(random_key(seed, {d, i, j}), 8192)
// (random.h; a skewed distribution: low ids are frequent, as in text). SelfBleuSample/N scores
// the seeded sample of 20 hypotheses NLTK is timed on (self_bleu_nltk.py --hypotheses 20), so
// its "self_bleu" counter can be compared with the script's mean. Results: benchmarks/RESULTS.md.
//
// Timing: host wall time of each metric call, on either engine. The engines take host token
// arrays and return host numbers (the CUDA engine uploads the corpus, runs its kernels and reads
// the counts back inside the call), so a call's time is what a scorer pays for it, upload
// included; there is no device-only part to put CUDA events around without changing that API.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <map>

#include "collapse/model/device.h"
#include "collapse/score/ngram_engine.h"
#include "collapse/score/ngram_metrics.h"
#include "collapse/score/self_bleu.h"
#include "collapse/util/random.h"

namespace {

constexpr std::uint64_t kSeed = 2024;
constexpr std::uint64_t kVocab = 8192;
constexpr std::int64_t kDocLength = 128;

const collapse::NgramEngine& engine() {
  static const auto e = [] {
    const char* name = std::getenv("COLLAPSE_BENCH_DEVICE");
    return collapse::make_ngram_engine(collapse::resolve_device(name ? name : "auto"));
  }();
  return *e;
}

// `documents` documents of kDocLength tokens (shared with benchmarks/self_bleu_nltk.py).
const collapse::TokenCorpus& corpus(std::int64_t documents) {
  static std::map<std::int64_t, collapse::TokenCorpus> made;
  auto it = made.find(documents);
  if (it != made.end()) return it->second;
  collapse::TokenCorpus c;
  c.tokens.reserve(static_cast<std::size_t>(documents * kDocLength));
  for (std::int64_t d = 0; d < documents; ++d) {
    for (std::int64_t i = 0; i < kDocLength; ++i) {
      std::uint64_t id = kVocab;
      for (std::uint64_t j = 0; j < 3; ++j) {
        const std::uint64_t key = collapse::random_key(
            kSeed, {static_cast<std::uint64_t>(d), static_cast<std::uint64_t>(i), j});
        id = std::min(id, collapse::uniform_below(key, kVocab));
      }
      c.tokens.push_back(static_cast<std::int32_t>(id));
    }
    c.offsets.push_back(static_cast<std::int64_t>(c.tokens.size()));
  }
  return made.emplace(documents, std::move(c)).first->second;
}

// state.range(0): tokens (in documents of 128).
void Distinct1to4(benchmark::State& state) {
  const collapse::TokenCorpus& c = corpus(state.range(0) / kDocLength);
  constexpr std::array<int, 4> orders{1, 2, 3, 4};
  std::vector<collapse::NgramStats> stats;
  for (auto _ : state) {
    stats = collapse::ngram_stats(c, orders, engine());
    benchmark::DoNotOptimize(stats.data());
  }
  state.SetLabel(engine().name());
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(c.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  for (const auto& s : stats) state.counters["distinct_" + std::to_string(s.n)] = collapse::distinct_n(s);
}
BENCHMARK(Distinct1to4)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

// state.range(0): documents; every document a hypothesis, all others its references.
void SelfBleu(benchmark::State& state) {
  const collapse::TokenCorpus& c = corpus(state.range(0));
  collapse::SelfBleuResult r;
  for (auto _ : state) {
    r = collapse::self_bleu(c, {}, engine());
    benchmark::DoNotOptimize(r.self_bleu);
  }
  state.SetLabel(engine().name());
  state.counters["self_bleu"] = r.self_bleu;
  state.counters["hypotheses/s"] = benchmark::Counter(static_cast<double>(r.hypotheses),
                                                      benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(SelfBleu)->Arg(1000)->Arg(2000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

// The 20 seeded hypotheses NLTK is timed on (self_bleu_nltk.py --hypotheses 20 --seed 0).
void SelfBleuSample(benchmark::State& state) {
  const collapse::TokenCorpus& c = corpus(state.range(0));
  collapse::SelfBleuOptions options;
  options.max_hypotheses = 20;
  collapse::SelfBleuResult r;
  for (auto _ : state) {
    r = collapse::self_bleu(c, options, engine());
    benchmark::DoNotOptimize(r.self_bleu);
  }
  state.SetLabel(engine().name());
  state.counters["self_bleu"] = r.self_bleu;
}
BENCHMARK(SelfBleuSample)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
