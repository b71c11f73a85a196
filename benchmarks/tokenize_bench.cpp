// Encoding throughput of a Hugging Face tokenizer.json (collapse's reader) on the built-in
// corpora, on 1 and 2 threads. The baseline, the `tokenizers` library on the same files and
// documents, is benchmarks/tokenize_hf.py; benchmarks/RESULTS.md has both.
//
// The tokenizer: COLLAPSE_BENCH_TOKENIZER (a folder or file), by default GPT-2's real vocabulary
// as the tokenizer tests build it (build/test-work/hf-tokenizers/gpt2-real: run ctest once).
// The corpus: COLLAPSE_BENCH_CORPUS (a built-in corpus name, default moby-dick).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "collapse/data/corpus.h"
#include "collapse/data/tokenizer.h"

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

struct Inputs {
  collapse::Tokenizer tokenizer{env_or("COLLAPSE_BENCH_TOKENIZER", COLLAPSE_BENCH_DEFAULT_TOKENIZER)};
  collapse::Corpus corpus = collapse::load_builtin_corpus(env_or("COLLAPSE_BENCH_CORPUS", "moby-dick"));
  std::vector<std::string_view> texts;
  std::int64_t bytes = 0;
  Inputs() {
    for (const auto& d : corpus.documents) {
      texts.emplace_back(d.text);
      bytes += static_cast<std::int64_t>(d.text.size());
    }
  }
};

const Inputs& inputs() {
  static const Inputs in;
  return in;
}

// Every document of the corpus, encoded on state.range(0) threads.
void BM_encode_corpus(benchmark::State& state) {
  const Inputs& in = inputs();
  const int threads = static_cast<int>(state.range(0));
  std::int64_t tokens = 0;
  for (auto _ : state) {
    const auto ids = in.tokenizer.encode_batch(in.texts, threads);
    tokens = 0;
    for (const auto& d : ids) tokens += static_cast<std::int64_t>(d.size());
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(state.iterations() * in.bytes);
  state.counters["documents"] = static_cast<double>(in.texts.size());
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["corpus_MB"] = static_cast<double>(in.bytes) / 1e6;
}
BENCHMARK(BM_encode_corpus)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// One word of N letters without spaces: the merge loop's cost in the word's length.
void BM_encode_long_word(benchmark::State& state) {
  const Inputs& in = inputs();
  std::string text;
  for (std::int64_t i = 0; i < state.range(0); ++i) text += static_cast<char>('a' + (i * 7919 % 26));
  for (auto _ : state) benchmark::DoNotOptimize(in.tokenizer.encode(text).data());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_encode_long_word)->ArgName("letters")->Arg(1000)->Arg(50000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
