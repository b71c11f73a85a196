// Picks where n-grams are counted: the metrics (ngram_metrics.h, self_bleu.h) take an NgramEngine,
// and this makes the one for a device, so `--device cuda` runs them on the CUDA kernels.
#pragma once

#include <memory>

#include <c10/core/Device.h>

#include "collapse/score/ngram_count.h"

namespace collapse {

// A CPU device: the exact CPU engine (cpu_ngram_engine()). A CUDA device: the kernels of
// kernels/ngram.cuh on that device (the corpus is copied to it per call), which count exactly
// like the CPU engine wherever n-gram keys are exact (n * id_bits <= 64: vocabularies up to
// 65,536 ids for 4-grams) and by 64-bit hash beyond. Throws Error for a CUDA device in a build
// without the kernels (CUDA toolkit and a CUDA build of torch are both needed).
std::unique_ptr<NgramEngine> make_ngram_engine(const c10::Device& device);

// True when this build can count n-grams on CUDA devices.
bool cuda_ngram_engine_built();

}  // namespace collapse
