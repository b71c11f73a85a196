#include "collapse/generate/sampler_batch.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "collapse/generate/cpu_sampler.h"
#include "collapse/util/error.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "sampling.cuh"
#endif

namespace collapse {
namespace {

// "float32 [2, 5]" or "undefined", for error messages.
std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return std::string(c10::toString(t.scalar_type())) + " " + c10::str(t.sizes());
}

// Whether any row's chain has a penalty on (then the history is read).
bool any_penalty(std::span<const SamplerConfig> configs) {
  return std::any_of(configs.begin(), configs.end(), [](const SamplerConfig& c) { return c.penalizes(); });
}

void check_inputs(std::span<const SamplerConfig> configs, const at::Tensor& logits,
                  const TokenHistory& history, const at::Tensor& uniforms,
                  const at::Tensor& banned) {
  if (!logits.defined() || logits.dim() != 2 ||
      (logits.scalar_type() != at::kFloat && logits.scalar_type() != at::kBFloat16)) {
    fail("sample_tokens: logits must be [batch, vocab] float32 or bfloat16, got {}", describe(logits));
  }
  const std::int64_t batch = logits.size(0);
  if (configs.size() != 1 && static_cast<std::int64_t>(configs.size()) != batch) {
    fail("sample_tokens: {} sampler chains for a batch of {} (give one, or one per row)",
         configs.size(), batch);
  }
  auto check_rows = [&](const char* name, const at::Tensor& t, at::ScalarType type) {
    if (!t.defined() || t.dim() != 1 || t.size(0) != batch || t.scalar_type() != type) {
      fail("sample_tokens: {} must be [{}] {}, got {}", name, batch, c10::toString(type), describe(t));
    }
  };
  check_rows("uniforms", uniforms, at::kDouble);
  check_rows("banned", banned, at::kInt);
  if (any_penalty(configs)) {
    const at::Tensor& tokens = history.tokens;
    if (!tokens.defined() || tokens.dim() != 2 || tokens.size(0) != batch ||
        tokens.scalar_type() != at::kInt) {
      fail("sample_tokens: history tokens must be [{}, capacity] int32 (a penalty is on), got {}",
           batch, describe(tokens));
    }
    check_rows("history lengths", history.lengths, at::kInt);
    check_rows("history prompt lengths", history.prompt_lengths, at::kInt);
  }
}

const SamplerConfig& config_of(std::span<const SamplerConfig> configs, std::int64_t r) {
  return configs[configs.size() == 1 ? 0 : static_cast<std::size_t>(r)];
}

// The CPU path, row by row (rows in parallel; each row's token depends on that row only): the
// fast sampler, which picks the reference's token (cpu_sampler.h), or the reference itself.
at::Tensor sample_on_host(std::span<const SamplerConfig> configs, const at::Tensor& logits,
                          const TokenHistory& history, const at::Tensor& uniforms,
                          const at::Tensor& banned, HostSampler host) {
  const at::Tensor x = logits.to(at::kCPU).to(at::kFloat).contiguous();
  const at::Tensor u = uniforms.to(at::kCPU).contiguous();
  const at::Tensor ban = banned.to(at::kCPU).contiguous();
  const std::int64_t batch = x.size(0), vocab = x.size(1);
  const bool penalties = any_penalty(configs);
  at::Tensor tokens, lengths, prompts;
  std::int64_t capacity = 0;
  if (penalties) {
    tokens = history.tokens.to(at::kCPU).contiguous();
    lengths = history.lengths.to(at::kCPU).contiguous();
    prompts = history.prompt_lengths.to(at::kCPU).contiguous();
    capacity = tokens.size(1);
  }
  at::Tensor out = at::empty({batch}, at::TensorOptions().dtype(at::kLong));
  const float* x_data = x.data_ptr<float>();
  const double* u_data = u.data_ptr<double>();
  const std::int32_t* ban_data = ban.data_ptr<std::int32_t>();
  std::int64_t* out_data = out.data_ptr<std::int64_t>();
  at::parallel_for(0, batch, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const SamplerConfig& config = config_of(configs, r);
      SamplingRow row;
      row.logits = std::span<const float>(x_data + r * vocab, static_cast<std::size_t>(vocab));
      row.banned_token = ban_data[r];
      if (config.penalizes()) {
        const std::int64_t length = lengths.data_ptr<std::int32_t>()[r];
        if (length < 0 || length > capacity) {
          fail("sample_tokens: row {} has history length {} outside [0, {}]", r, length, capacity);
        }
        row.history = std::span<const std::int32_t>(tokens.data_ptr<std::int32_t>() + r * capacity,
                                                    static_cast<std::size_t>(length));
        row.prompt_length = prompts.data_ptr<std::int32_t>()[r];
      }
      if (host == HostSampler::definition) {
        out_data[r] = sample_token_reference(config, row, u_data[r]);
        continue;
      }
      thread_local CpuSamplerScratch scratch;  // grows to the vocabulary once per thread
      out_data[r] = sample_token_fast(config, row, u_data[r], scratch);
    }
  });
  return out.to(logits.device());
}

#if defined(COLLAPSE_HAVE_KERNELS)
static_assert(kernels::kSamplingMaxHistory == kSamplingMaxHistory);

// The kernel's chains: every active step is one the kernel runs (sampler_steps()'s in_kernel),
// and they come in the kernel's fixed order, the table's.
bool kernel_chain(const SamplerConfig& c) {
  std::vector<SamplerStep> kernel_order;
  for (const SamplerStepInfo& s : sampler_steps()) {
    if (s.in_kernel) kernel_order.push_back(s.step);
  }
  std::size_t next = 0;
  for (SamplerStep s : c.order) {
    if (!c.active(s)) continue;
    while (next < kernel_order.size() && kernel_order[next] != s) ++next;
    if (next == kernel_order.size()) return false;
    ++next;
  }
  return true;
}

kernels::SamplingParams kernel_params(const SamplerConfig& config) {
  return {config.repetition_penalty, config.presence_penalty, config.frequency_penalty,
          config.temperature,        config.top_p,            config.min_p,
          static_cast<std::int32_t>(std::min<std::int64_t>(config.top_k, 0x7fffffff)), 0};
}

// The per-row parameters of `batch` rows on `device`. Decoding calls this every step with the
// same chains, so the last upload per thread is kept and reused while its bytes are unchanged
// (the kernel only reads it); a change uploads from pinned memory without blocking the host.
at::Tensor upload_params(std::span<const SamplerConfig> configs, std::int64_t batch,
                         const c10::Device& device) {
  std::vector<kernels::SamplingParams> rows(static_cast<std::size_t>(batch));
  for (std::int64_t r = 0; r < batch; ++r) rows[static_cast<std::size_t>(r)] = kernel_params(config_of(configs, r));
  const std::size_t bytes = rows.size() * sizeof(kernels::SamplingParams);
  struct LastUpload {
    std::vector<kernels::SamplingParams> rows;
    at::Tensor device;
  };
  // Never destroyed: a device tensor must not be freed after the CUDA allocator at exit.
  thread_local auto* last = new LastUpload;
  if (last->device.defined() && last->device.device() == device && last->rows.size() == rows.size() &&
      std::memcmp(last->rows.data(), rows.data(), bytes) == 0) {
    return last->device;
  }
  at::Tensor host = at::empty({static_cast<std::int64_t>(bytes)},
                              at::TensorOptions().dtype(at::kByte).pinned_memory(true));
  std::memcpy(host.data_ptr<std::uint8_t>(), rows.data(), bytes);
  last->device = host.to(device, /*non_blocking=*/true);
  last->rows = std::move(rows);
  return last->device;
}

// The launch itself: every tensor already contiguous, typed and on the logits' device.
void launch(bool penalties, const at::Tensor& params, const at::Tensor& x,
            const TokenHistory& history, const at::Tensor& u, const at::Tensor& ban, at::Tensor& out) {
  kernels::SamplingBatch b;
  b.logits = x.data_ptr();
  b.type = x.scalar_type() == at::kBFloat16 ? kernels::LogitsType::bf16 : kernels::LogitsType::f32;
  b.batch = x.size(0);
  b.vocab = x.size(1);
  b.row_stride = x.stride(0);
  b.params = reinterpret_cast<const kernels::SamplingParams*>(params.data_ptr());
  b.uniforms = u.data_ptr<double>();
  b.banned = ban.data_ptr<std::int32_t>();
  if (penalties) {
    b.history = history.tokens.data_ptr<std::int32_t>();
    b.history_capacity = history.tokens.size(1);
    b.history_lengths = history.lengths.data_ptr<std::int32_t>();
    b.prompt_lengths = history.prompt_lengths.data_ptr<std::int32_t>();
  }
  b.tokens = out.data_ptr<std::int64_t>();
  const cudaError_t e = kernels::sample_tokens(b, c10::cuda::getCurrentCUDAStream());
  if (e != cudaSuccess) fail("sampling kernel failed: {}", cudaGetErrorString(e));
}

// Whether every row's chain is one the kernel runs.
bool all_kernel_chains(std::span<const SamplerConfig> configs) {
  return std::all_of(configs.begin(), configs.end(), kernel_chain);
}

// The fused kernel; false (nothing launched) when the shapes exceed its limits.
bool sample_on_device(std::span<const SamplerConfig> configs, const at::Tensor& logits,
                      const TokenHistory& history, const at::Tensor& uniforms,
                      const at::Tensor& banned, at::Tensor& out) {
  const c10::cuda::CUDAGuard guard(logits.device());
  const bool penalties = any_penalty(configs);
  const std::int64_t capacity = penalties ? history.tokens.size(1) : 0;
  if (!kernels::sampling_fits(logits.size(1), capacity, penalties)) return false;
  const at::Tensor x = logits.stride(1) == 1 ? logits : logits.contiguous();
  const at::Device device = x.device();
  TokenHistory h;
  if (penalties) {
    h = {history.tokens.to(device).contiguous(), history.lengths.to(device).contiguous(),
         history.prompt_lengths.to(device).contiguous()};
  }
  out = at::empty({x.size(0)}, x.options().dtype(at::kLong));
  launch(penalties, upload_params(configs, x.size(0), device), x, h,
         uniforms.to(device, /*non_blocking=*/true).contiguous(),
         banned.to(device, /*non_blocking=*/true).contiguous(), out);
  return true;
}
#endif

}  // namespace

bool sampling_uses_kernel(const SamplerConfig& config, const c10::Device& device) {
#if defined(COLLAPSE_HAVE_KERNELS)
  return device.is_cuda() && kernel_chain(config);
#else
  (void)config;
  (void)device;
  return false;
#endif
}

bool sampling_kernel_fits(const SamplerConfig& config, const c10::Device& device,
                          std::int64_t vocab, std::int64_t history_capacity) {
#if defined(COLLAPSE_HAVE_KERNELS)
  if (!sampling_uses_kernel(config, device)) return false;
  const c10::cuda::CUDAGuard guard(device);
  const bool penalties = config.penalizes();
  return kernels::sampling_fits(vocab, penalties ? history_capacity : 0, penalties);
#else
  (void)config, (void)device, (void)vocab, (void)history_capacity;
  return false;
#endif
}

at::Tensor sampling_kernel_params(const SamplerConfig& config, std::int64_t batch,
                                  const c10::Device& device) {
#if defined(COLLAPSE_HAVE_KERNELS)
  if (sampling_uses_kernel(config, device)) {
    const c10::cuda::CUDAGuard guard(device);
    return upload_params(std::span<const SamplerConfig>(&config, 1), batch, device);
  }
#endif
  (void)batch;
  fail("sampling_kernel_params: the fused sampling kernel does not run this chain on {}",
       device.str());
}

void sample_tokens_with_kernel(const SamplerConfig& config, const at::Tensor& params,
                               const at::Tensor& logits, const TokenHistory& history,
                               const at::Tensor& uniforms, const at::Tensor& banned,
                               at::Tensor& out) {
  check_inputs(std::span<const SamplerConfig>(&config, 1), logits, history, uniforms, banned);
  const c10::Device device = logits.device();
  auto require = [&](const char* name, const at::Tensor& t) {
    if (!t.defined() || !t.is_contiguous() || t.device() != device) {
      fail("sample_tokens_with_kernel: {} must be a contiguous tensor on {}", name, device.str());
    }
  };
  require("logits", logits);
  require("uniforms", uniforms);
  require("banned", banned);
  require("params", params);
  require("out", out);
  if (out.scalar_type() != at::kLong || out.dim() != 1 || out.size(0) != logits.size(0)) {
    fail("sample_tokens_with_kernel: out must be [{}] int64, got {}", logits.size(0), describe(out));
  }
  const bool penalties = config.penalizes();
  if (penalties) {
    require("history tokens", history.tokens);
    require("history lengths", history.lengths);
    require("history prompt lengths", history.prompt_lengths);
  }
#if defined(COLLAPSE_HAVE_KERNELS)
  if (sampling_kernel_fits(config, device, logits.size(1), penalties ? history.tokens.size(1) : 0)) {
    if (params.numel() != logits.size(0) * static_cast<std::int64_t>(sizeof(kernels::SamplingParams))) {
      fail("sample_tokens_with_kernel: params hold {} bytes, not {} rows' worth", params.numel(),
           logits.size(0));
    }
    const c10::cuda::CUDAGuard guard(device);
    launch(penalties, params, logits, history, uniforms, banned, out);
    return;
  }
#endif
  fail("sample_tokens_with_kernel: the fused sampling kernel does not run this chain on {}",
       device.str());
}

std::span<const Named<HostSampler>> host_samplers() {
  static constexpr Named<HostSampler> kHostSamplers[] = {
      {HostSampler::fast, "fast", "the fast CPU sampler: the definition's tokens, by selection"},
      {HostSampler::definition, "definition",
       "the sampler chain's definition, a full sort per row: slow; checks the fast one"},
  };
  return kHostSamplers;
}

at::Tensor sample_tokens(std::span<const SamplerConfig> configs, const at::Tensor& logits,
                         const TokenHistory& history, const at::Tensor& uniforms,
                         const at::Tensor& banned, HostSampler host) {
  check_inputs(configs, logits, history, uniforms, banned);
#if defined(COLLAPSE_HAVE_KERNELS)
  if (logits.is_cuda() && all_kernel_chains(configs)) {
    at::Tensor out;
    if (sample_on_device(configs, logits, history, uniforms, banned, out)) return out;
  }
#endif
  return sample_on_host(configs, logits, history, uniforms, banned, host);
}

at::Tensor sample_tokens(const SamplerConfig& config, const at::Tensor& logits,
                         const TokenHistory& history, const at::Tensor& uniforms,
                         const at::Tensor& banned, HostSampler host) {
  return sample_tokens(std::span<const SamplerConfig>(&config, 1), logits, history, uniforms, banned, host);
}

}  // namespace collapse
