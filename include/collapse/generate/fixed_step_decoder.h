// Sampling decode with fixed shapes, captured once as a CUDA graph and replayed on a GPU.
//
// The eager decoder (generator.cpp) drops finished rows and attends over the slots filled so far,
// so every step has new shapes and the host launches a few hundred small kernels per token. Here a
// batch keeps all its rows (finished rows and rows that fill a short last batch keep running;
// their tokens are ignored), the KV cache has a fixed capacity, and the slot being written is a
// counter on the device. One step
//
//   sample every row's next token from the current logits (the fused kernel)
//   -> append it to the row's history -> run the model on it (GPT::decode_at) -> next logits
//
// then launches the same work on the same buffers every time. On CUDA it is captured into a CUDA
// graph at the first step (after that step ran eagerly on the same stream, as a warm-up) and
// replayed for every later step and batch: one graph launch per token for the whole batch. The
// host's part of a step is the per-row uniforms and banned tokens (copied in) and the chosen
// tokens (copied out), so it can end documents at EOS.
//
// Without capture (DecodeMode::fixed, or on the CPU) the same step runs eagerly: that is how the
// tests check, on any machine, that fixed shapes give the eager decoder's tokens.
//
// Lifetime: under bf16 autocast a captured graph reads the weight casts that autocast caches, so
// a decoder must be created inside an AutocastScope (device.h) and destroyed before it ends, as
// generate() does; everything else the graph reads is owned by the decoder.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "collapse/data/special_ids.h"
#include "collapse/generate/sampler_batch.h"
#include "collapse/generate/sampler_chain.h"
#include "collapse/model/model.h"

namespace collapse {

// BOS + each prompt, left-padded to `width` slots, as both decoders prefill them (on the CPU):
//   tokens  [B, width] int64: pad ids, then BOS and the prompt
//   history [B, capacity] int32: BOS and the prompt from slot 0, zeros after
//   lengths [B] int32: 1 + the prompt's length;  pad [B] int64: the slot of the row's BOS
// Error when BOS + a prompt exceeds `width`.
struct LeftPaddedPrompts {
  at::Tensor tokens, history, lengths, pad;
};
LeftPaddedPrompts left_pad_prompts(const std::vector<const std::vector<std::int32_t>*>& prompts,
                                   std::int64_t width, std::int64_t capacity,
                                   const SpecialIds& special);

class FixedStepDecoder {
 public:
  // `batch` rows whose BOS + prompt take at most `width` slots, and at most `max_tokens` steps per
  // batch. With `capture`, the step becomes a CUDA graph: can_capture() must hold (Error otherwise).
  FixedStepDecoder(GPT model, const SamplerConfig& sampler, std::int64_t batch, std::int64_t width,
                   std::int64_t max_tokens, const SpecialIds& special, const c10::Device& device,
                   bool capture, HostSampler host_sampler = HostSampler::fast);
  ~FixedStepDecoder();
  FixedStepDecoder(const FixedStepDecoder&) = delete;
  FixedStepDecoder& operator=(const FixedStepDecoder&) = delete;

  // Whether the step can be captured: a CUDA device, a build with the kernels, no beam search, and
  // a chain the fused sampling kernel runs at this vocabulary and history length (the CPU
  // reference copies to the host, which a graph cannot replay). Otherwise returns false and says
  // why in *reason when given.
  static bool can_capture(const SamplerConfig& sampler, const ModelConfig& model, std::int64_t width,
                          std::int64_t max_tokens, const c10::Device& device,
                          std::string* reason = nullptr);

  std::int64_t batch() const { return batch_; }
  bool captured() const;

  // Starts a batch: exactly batch() prompts (token ids without BOS, each at most width - 1 long),
  // prefilled eagerly into the fixed buffers.
  void start(const std::vector<const std::vector<std::int32_t>*>& prompts);

  // One step of every row: uniforms [batch] (sampling_uniform of each row's document and
  // position), banned [batch] (a token forced to -inf, -1 none). Returns each row's token, or -1
  // for a row without a finite logit, in host memory valid until the next call.
  const std::int64_t* step(std::span<const double> uniforms, std::span<const std::int32_t> banned);

 private:
  struct Graph;           // CUDA builds: the graph, its stream and pinned host buffers
  void run_step();        // the device work of one step
  void capture();         // records run_step() into the graph (CUDA builds only)
  template <class F>
  void on_stream(F&& f);  // runs f with the graph's stream current (CUDA capture only)

  GPT model_;
  SamplerConfig sampler_;
  HostSampler host_sampler_;
  SpecialIds special_;
  std::int64_t batch_, width_, capacity_, max_tokens_;
  c10::Device device_;
  std::int64_t steps_ = 0;  // steps of the current batch

  DecodeCache cache_;
  at::Tensor history_, lengths_, prompt_lengths_;  // sampler_batch.h's TokenHistory layout
  at::Tensor logits_;                              // [B, vocab] fp32: the next token's logits
  at::Tensor next_;                                // [B] int64: the chosen tokens
  at::Tensor slot_;                                // [1] int64: the slot the next token goes to
  at::Tensor uniforms_, banned_;                   // [B] float64 / int32 on the device
  at::Tensor params_;                              // the sampling kernel's per-row parameters
  at::Tensor uniforms_host_, banned_host_, next_host_;
  std::unique_ptr<Graph> graph_;
};

}  // namespace collapse
