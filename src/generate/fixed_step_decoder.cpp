#include "collapse/generate/fixed_step_decoder.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstring>

#include "collapse/data/tokenizer.h"
#include "collapse/generate/sampler_batch.h"
#include "collapse/util/error.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace collapse {
LeftPaddedPrompts left_pad_prompts(const std::vector<const std::vector<std::int32_t>*>& prompts,
                                   std::int64_t width, std::int64_t capacity,
                                   const SpecialIds& special) {
  const auto B = static_cast<std::int64_t>(prompts.size());
  LeftPaddedPrompts out{at::full({B, width}, special.pad, at::kLong), at::zeros({B, capacity}, at::kInt),
                        at::empty({B}, at::kInt), at::empty({B}, at::kLong)};
  auto tok = out.tokens.accessor<std::int64_t, 2>();
  auto hist = out.history.accessor<std::int32_t, 2>();
  auto lengths = out.lengths.accessor<std::int32_t, 1>();
  auto pad = out.pad.accessor<std::int64_t, 1>();
  for (std::int64_t b = 0; b < B; ++b) {
    const auto& p = *prompts[static_cast<std::size_t>(b)];
    const std::int64_t length = 1 + static_cast<std::int64_t>(p.size()), offset = width - length;
    if (offset < 0 || length > capacity) {
      fail("BOS + a prompt of {} tokens exceeds the {} slots given to it", p.size(), width);
    }
    tok[b][offset] = special.bos, hist[b][0] = special.bos;
    for (std::size_t i = 0; i < p.size(); ++i) {
      tok[b][offset + 1 + static_cast<std::int64_t>(i)] = p[i];
      hist[b][1 + static_cast<std::int64_t>(i)] = p[i];
    }
    lengths[b] = static_cast<std::int32_t>(length);
    pad[b] = offset;
  }
  return out;
}

#if defined(COLLAPSE_HAVE_KERNELS)
// Captures need a stream other than the default one; the decoder does all its device work there,
// so the eager warm-up, the capture and the replays are ordered on one stream.
struct FixedStepDecoder::Graph {
  explicit Graph(const c10::Device& device) : stream(c10::cuda::getStreamFromPool(false, device.index())) {}
  c10::cuda::CUDAStream stream;
  at::cuda::CUDAGraph graph;
  bool captured = false;
};
#else
struct FixedStepDecoder::Graph {};
#endif

bool FixedStepDecoder::can_capture(const SamplerConfig& sampler, const ModelConfig& model,
                                   std::int64_t width, std::int64_t max_tokens,
                                   const c10::Device& device, std::string* reason) {
  auto no = [&](std::string why) {
    if (reason) *reason = std::move(why);
    return false;
  };
  if (!device.is_cuda()) return no("CUDA graphs need a CUDA device");
#if !defined(COLLAPSE_HAVE_KERNELS)
  return no("this build has no CUDA kernels (configure with a CUDA build of torch and nvcc)");
#else
  if (sampler.beams > 1) return no("beam search decodes eagerly");
  const std::int64_t capacity = width + max_tokens;
  if (!sampling_kernel_fits(sampler, device, model.vocab_size, capacity)) {
    return no("the fused sampling kernel does not run this sampler chain (typical_p, or steps out "
              "of its order; docs/sampling.md) or this vocabulary/history size");
  }
  return true;
#endif
}

FixedStepDecoder::FixedStepDecoder(GPT model, const SamplerConfig& sampler, std::int64_t batch,
                                   std::int64_t width, std::int64_t max_tokens,
                                   const SpecialIds& special, const c10::Device& device,
                                   bool capture, HostSampler host_sampler)
    : model_(std::move(model)),
      sampler_(sampler),
      host_sampler_(host_sampler),
      special_(special),
      batch_(batch),
      width_(width),
      capacity_(width + max_tokens),
      max_tokens_(max_tokens),
      device_(device) {
  if (batch < 1 || width < 1 || max_tokens < 1) {
    fail("FixedStepDecoder: batch {}, width {} and max_tokens {} must be positive", batch, width,
         max_tokens);
  }
  if (capacity_ > model_->config().context) {
    fail("FixedStepDecoder: width {} + max_tokens {} exceeds the model context {}", width,
         max_tokens, model_->config().context);
  }
  if (capture) {
    std::string why;
    if (!can_capture(sampler, model_->config(), width, max_tokens, device, &why)) {
      fail("cannot decode with CUDA graphs: {}", why);
    }
  }
  const auto on_device = at::TensorOptions().device(device);
  const bool pinned = device.is_cuda();
  uniforms_host_ = at::empty({batch}, at::TensorOptions().dtype(at::kDouble).pinned_memory(pinned));
  banned_host_ = at::empty({batch}, at::TensorOptions().dtype(at::kInt).pinned_memory(pinned));
  next_host_ = at::empty({batch}, at::TensorOptions().dtype(at::kLong).pinned_memory(pinned));
#if defined(COLLAPSE_HAVE_KERNELS)
  if (capture) {
    graph_ = std::make_unique<Graph>(device);
    // Weights and anything else the caller queued are on its stream: ours waits for them. (Raw
    // events: ATen's CUDAEvent header pulls in cuSPARSE's, which a bare toolkit may lack.)
    const c10::cuda::CUDAGuard guard(device);
    cudaEvent_t ready = nullptr;
    cudaError_t e = cudaEventCreateWithFlags(&ready, cudaEventDisableTiming);
    if (e == cudaSuccess) {
      e = cudaEventRecord(ready, c10::cuda::getCurrentCUDAStream(device.index()).stream());
      if (e == cudaSuccess) e = cudaStreamWaitEvent(graph_->stream.stream(), ready, 0);
      cudaEventDestroy(ready);
    }
    if (e != cudaSuccess) {
      fail("cannot order the decoding stream after the current one: {}", cudaGetErrorString(e));
    }
  }
#endif
  on_stream([&] {
    uniforms_ = at::empty({batch}, on_device.dtype(at::kDouble));
    banned_ = at::empty({batch}, on_device.dtype(at::kInt));
    next_ = at::zeros({batch}, on_device.dtype(at::kLong));
    slot_ = at::empty({1}, on_device.dtype(at::kLong));
    if (sampling_kernel_fits(sampler_, device_, model_->config().vocab_size, capacity_)) {
      params_ = sampling_kernel_params(sampler_, batch, device);
    }
  });
}

FixedStepDecoder::~FixedStepDecoder() {
#if defined(COLLAPSE_HAVE_KERNELS)
  // Buffers the graph reads must outlive its last replay. Never throws: this also runs while an
  // error from a failed step unwinds, and that error is the one to report.
  if (!graph_) return;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(graph_->stream.stream(), &capturing) == cudaSuccess &&
      capturing == cudaStreamCaptureStatusNone) {
    cudaStreamSynchronize(graph_->stream.stream());
  }
  cudaGetLastError();  // leave no sticky error from the calls above to the next CUDA user
#endif
}

bool FixedStepDecoder::captured() const {
#if defined(COLLAPSE_HAVE_KERNELS)
  return graph_ && graph_->captured;
#else
  return false;
#endif
}

template <class F>
void FixedStepDecoder::on_stream(F&& f) {
  // Decoding needs no autograd; inside it, the persistent buffers never join an autograd graph.
  const c10::InferenceMode inference;
#if defined(COLLAPSE_HAVE_KERNELS)
  if (graph_) {
    const c10::cuda::CUDAStreamGuard guard(graph_->stream);
    f();
    return;
  }
#endif
  f();
}

void FixedStepDecoder::start(const std::vector<const std::vector<std::int32_t>*>& prompts) {
  if (static_cast<std::int64_t>(prompts.size()) != batch_) {
    fail("FixedStepDecoder::start: {} prompts for a batch of {}", prompts.size(), batch_);
  }
  const auto [tokens, history, lengths, pad] = left_pad_prompts(prompts, width_, capacity_, special_);
  on_stream([&] {
    const at::Tensor device_tokens = tokens.to(device_);
    if (cache_.keys.empty()) {
      // First batch: decode() allocates the cache buffers; every later batch reuses them (a
      // captured graph holds their addresses), so state is copied in, never reassigned.
      cache_ = DecodeCache(pad.to(device_), capacity_);
      logits_ = model_->decode(device_tokens, cache_).contiguous();
      history_ = history.to(device_);
      lengths_ = lengths.to(device_);
      prompt_lengths_ = lengths_.clone();
    } else {
      cache_.pad.copy_(pad);
      cache_.length = 0;
      logits_.copy_(model_->decode(device_tokens, cache_));
      history_.copy_(history);
      lengths_.copy_(lengths);
      prompt_lengths_.copy_(lengths);
    }
    slot_.fill_(width_);
  });
  steps_ = 0;
}

void FixedStepDecoder::run_step() {
  const TokenHistory history{history_, lengths_, prompt_lengths_};
  if (params_.defined()) {
    sample_tokens_with_kernel(sampler_, params_, logits_, history, uniforms_, banned_, next_);
  } else {
    next_.copy_(sample_tokens(sampler_, logits_, history, uniforms_, banned_, host_sampler_));
  }
  // A row may come back -1 (no finite logit): the host fails on it if the row is live, but the
  // model still runs on every row, so it gets a valid id.
  const at::Tensor feed = next_.clamp_min(0);
  if (sampler_.penalizes()) {
    history_.scatter_(1, lengths_.to(at::kLong).unsqueeze(1), feed.to(at::kInt).unsqueeze(1));
  }
  lengths_.add_(1);
  logits_.copy_(model_->decode_at(feed.unsqueeze(1), cache_, slot_));
  slot_.add_(1);
}

#if defined(COLLAPSE_HAVE_KERNELS)
void FixedStepDecoder::capture() {
  graph_->graph.capture_begin();
  try {
    run_step();  // recorded only, not run
  } catch (...) {
    // End the capture, so the stream and the allocator's graph pool are usable again, and keep
    // the step's own error (a capture that failed half-way cannot be replayed).
    try {
      graph_->graph.capture_end();
    } catch (...) {
    }
    graph_.reset();
    throw;
  }
  graph_->graph.capture_end();
  graph_->captured = true;
}
#endif

const std::int64_t* FixedStepDecoder::step(std::span<const double> uniforms,
                                           std::span<const std::int32_t> banned) {
  if (static_cast<std::int64_t>(uniforms.size()) != batch_ ||
      static_cast<std::int64_t>(banned.size()) != batch_) {
    fail("FixedStepDecoder::step: {} uniforms and {} banned tokens for a batch of {}",
         uniforms.size(), banned.size(), batch_);
  }
  if (!logits_.defined() || steps_ >= max_tokens_) {
    fail("FixedStepDecoder::step: step {} of a batch started with room for {}", steps_ + 1, max_tokens_);
  }
  // The previous step synchronised, so the copies reading these pinned buffers are done.
  std::memcpy(uniforms_host_.data_ptr<double>(), uniforms.data(), uniforms.size_bytes());
  std::memcpy(banned_host_.data_ptr<std::int32_t>(), banned.data(), banned.size_bytes());
  on_stream([&] {
    uniforms_.copy_(uniforms_host_, /*non_blocking=*/true);
    banned_.copy_(banned_host_, /*non_blocking=*/true);
#if defined(COLLAPSE_HAVE_KERNELS)
    if (graph_) {
      if (!graph_->captured) {
        run_step();  // this step, eagerly: it warms up cuBLAS and the autocast weight casts
        capture();
      } else {
        graph_->graph.replay();
      }
      next_host_.copy_(next_, /*non_blocking=*/true);
      graph_->stream.synchronize();
      return;
    }
#endif
    run_step();
    next_host_.copy_(next_);
  });
  ++steps_;
  return next_host_.data_ptr<std::int64_t>();
}

}  // namespace collapse
