// How much memory a training run needs at the least, and the refusal of a run that cannot fit.
#pragma once

#include <cstdint>
#include <string>

#include <c10/core/Device.h>

#include "collapse/model/model_config.h"
#include "collapse/util/setting_names.h"

namespace collapse {

// Bytes a training step holds at its peak, counted from below: only tensors that certainly
// coexist are counted, so a run this estimate refuses could not have fitted, while a run it
// accepts may still run out (allocator slack, attention workspaces, the data). Two moments bound
// the peak: the optimizer step, when the fp32 weights, their gradients and AdamW's two moments all
// exist (16 bytes a parameter); and the end of the forward pass, when the weights and moments
// (12 bytes a parameter) sit beside what the forward pass keeps for the backward pass.
struct TrainingMemory {
  double weights = 0.0;      // fp32 parameters
  double gradients = 0.0;    // one fp32 gradient per parameter
  double optimizer = 0.0;    // AdamW's two fp32 moments
  double activations = 0.0;  // what each layer keeps for the backward pass (bf16 under autocast)
  double logits = 0.0;       // the fp32 logits and the loss's log-softmax of them
  double peak() const;       // the larger of the two moments above
};

// For micro-batches of `batch` sequences of `window` tokens; `autocast` when the matmuls run in
// bf16 (CUDA).
TrainingMemory estimate_training_memory(const ModelConfig& config, std::int64_t batch, std::int64_t window,
                                        bool autocast);

// Refuses, with the estimate's parts and what to change (named by `names`), a run whose estimate
// exceeds what `device` has available (available_memory_bytes). `resident` bytes of it are held already (a model loaded
// into the CPU's memory before training on the CPU).
void check_training_fits(const TrainingMemory& need, double resident, const c10::Device& device,
                         std::int64_t batch, std::int64_t window, const SettingNames& names);

}  // namespace collapse
