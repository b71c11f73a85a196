#include "collapse/model/token_nll.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <optional>

#include "collapse/model/device.h"
#include "collapse/util/error.h"

#if defined(COLLAPSE_HAVE_KERNELS)
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "nll.cuh"
#endif

namespace collapse {
namespace {

// Chunk logits per row block when row_block is automatic: 2^24 values, 64 MiB in fp32.
constexpr std::int64_t kChunkValues = std::int64_t{1} << 24;

void check_targets(const char* what, const at::Tensor& targets, std::int64_t rows,
                   std::int64_t vocab, const c10::Device& device) {
  if (targets.dim() != 1 || targets.size(0) != rows) {
    fail("{}: targets must be [{}], got {}", what, rows, targets.sizes());
  }
  if (targets.scalar_type() != at::kLong && targets.scalar_type() != at::kInt) {
    fail("{}: targets must be int32 or int64, got {}", what, c10::toString(targets.scalar_type()));
  }
  if (targets.device() != device) {
    fail("{}: targets are on {} but the scores on {}", what, targets.device().str(), device.str());
  }
  if (rows == 0) return;
  const auto [lo, hi] = at::aminmax(targets);
  const at::Tensor range = at::stack({lo, hi}).to(at::kCPU, at::kLong);  // one device sync
  const std::int64_t min = range[0].item<std::int64_t>(), max = range[1].item<std::int64_t>();
  if (min < 0 || max >= vocab) {
    fail("{}: target id {} is outside the vocabulary [0, {})", what, min < 0 ? min : max, vocab);
  }
}

#if defined(COLLAPSE_HAVE_KERNELS)
void check_launch(cudaError_t status, const char* what) {
  if (status != cudaSuccess) fail("{}: CUDA kernel launch failed: {}", what, cudaGetErrorString(status));
}

kernels::IndexType index_type(const at::Tensor& targets) {
  return targets.scalar_type() == at::kLong ? kernels::IndexType::i64 : kernels::IndexType::i32;
}
#endif

}  // namespace

at::Tensor reference_token_nll(const at::Tensor& logits, const at::Tensor& targets) {
  if (logits.dim() != 2) fail("token_nll: logits must be [N, vocab], got {}", logits.sizes());
  check_targets("token_nll", targets, logits.size(0), logits.size(1), logits.device());
  const at::Tensor logp = at::log_softmax(logits.to(at::kFloat), 1);
  return logp.gather(1, targets.to(at::kLong).unsqueeze(1)).squeeze(1).neg();
}

at::Tensor token_nll(const at::Tensor& logits, const at::Tensor& targets) {
#if defined(COLLAPSE_HAVE_KERNELS)
  if (logits.is_cuda()) {
    if (logits.dim() != 2) fail("token_nll: logits must be [N, vocab], got {}", logits.sizes());
    const std::int64_t rows = logits.size(0), vocab = logits.size(1);
    check_targets("token_nll", targets, rows, vocab, logits.device());
    at::Tensor x = logits;
    if (x.scalar_type() != at::kFloat && x.scalar_type() != at::kBFloat16) x = x.to(at::kFloat);
    // The kernel needs unit column stride and non-overlapping rows (not an expanded tensor).
    if ((vocab > 1 && x.stride(1) != 1) || (rows > 1 && x.stride(0) < vocab)) x = x.contiguous();
    const c10::cuda::CUDAGuard guard(x.device());
    at::Tensor nll = at::empty({rows}, x.options().dtype(at::kFloat));
    const at::Tensor t = targets.contiguous();
    check_launch(kernels::token_nll(x.const_data_ptr(),
                                    x.scalar_type() == at::kFloat ? kernels::LogitsType::f32
                                                                  : kernels::LogitsType::bf16,
                                    rows, vocab, rows > 1 ? x.stride(0) : vocab,
                                    t.const_data_ptr(), index_type(t), nll.mutable_data_ptr<float>(),
                                    c10::cuda::getCurrentCUDAStream(x.device().index()).stream()),
                 "token_nll");
    return nll;
  }
#endif
  return reference_token_nll(logits, targets);
}

at::Tensor chunked_token_nll(const at::Tensor& hidden, const at::Tensor& weight,
                             const at::Tensor& targets, std::int64_t vocab_chunk,
                             std::int64_t row_block) {
  if (hidden.dim() != 2 || weight.dim() != 2 || hidden.size(1) != weight.size(1)) {
    fail("chunked_token_nll: hidden must be [N, d] and weight [vocab, d], got {} and {}",
         hidden.sizes(), weight.sizes());
  }
  if (hidden.device() != weight.device()) {
    fail("chunked_token_nll: hidden is on {} but weight on {}", hidden.device().str(),
         weight.device().str());
  }
  if (vocab_chunk < 1) fail("chunked_token_nll: vocab_chunk must be positive, got {}", vocab_chunk);
  const std::int64_t N = hidden.size(0), V = weight.size(0);
  if (V == 0) fail("chunked_token_nll: the weight has no vocabulary rows");
  check_targets("chunked_token_nll", targets, N, V, hidden.device());
  vocab_chunk = std::min(vocab_chunk, V);
  if (row_block <= 0) row_block = std::max<std::int64_t>(1, kChunkValues / vocab_chunk);

  NoAutocastScope fp32;  // every matmul below in fp32, as GPT::logits does
  const at::Tensor W = weight.to(at::kFloat);
  const at::Tensor t = targets.to(at::kLong);
  const auto f32 = hidden.options().dtype(at::kFloat);
  at::Tensor nll = at::empty({N}, f32);

  auto c_of = [&](std::int64_t v0) { return std::min(vocab_chunk, V - v0); };
  bool use_kernel = false;
#if defined(COLLAPSE_HAVE_KERNELS)
  use_kernel = hidden.is_cuda();
  std::optional<c10::cuda::CUDAGuard> guard;
  at::Tensor buffer;  // one chunk of logits, reused: [rows * chunk] fp32
  if (use_kernel) {
    guard.emplace(hidden.device());
    buffer = at::empty({std::min(row_block, N) * vocab_chunk}, f32);
  }
#endif

  for (std::int64_t r0 = 0; r0 < N; r0 += row_block) {
    const std::int64_t R = std::min(row_block, N - r0);
    const at::Tensor h = hidden.narrow(0, r0, R).to(at::kFloat).contiguous();  // [R, d]
    // The running log-sum-exp over the vocabulary chunks as (max m, sum s of exp(z - m)).
    at::Tensor row_max = at::full({R}, -std::numeric_limits<float>::infinity(), f32);
    at::Tensor row_sum = at::zeros({R}, f32);
#if defined(COLLAPSE_HAVE_KERNELS)
    if (use_kernel) {
      const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(hidden.device().index()).stream();
      for (std::int64_t v0 = 0; v0 < V; v0 += vocab_chunk) {
        const std::int64_t c = std::min(vocab_chunk, V - v0);
        at::Tensor z = buffer.narrow(0, 0, R * c).view({R, c});
        at::mm_out(z, h, W.narrow(0, v0, c).t());
        check_launch(kernels::logsumexp_update(z.const_data_ptr(), kernels::LogitsType::f32, R, c, c,
                                               row_max.mutable_data_ptr<float>(),
                                               row_sum.mutable_data_ptr<float>(), stream),
                     "chunked_token_nll");
      }
    }
#endif
    if (!use_kernel) {
      for (std::int64_t v0 = 0; v0 < V; v0 += vocab_chunk) {
        const at::Tensor z = at::mm(h, W.narrow(0, v0, c_of(v0)).t());
        const at::Tensor m = at::maximum(row_max, std::get<0>(z.max(1)));
        // A row whose values so far are all -inf keeps s = 0 (exp(-inf - -inf) would be NaN).
        const at::Tensor rescale = at::where(row_max == m, at::ones_like(m), (row_max - m).exp());
        const at::Tensor shifted = at::where(m.unsqueeze(1).isinf(), at::zeros_like(z), (z - m.unsqueeze(1)).exp());
        row_sum = row_sum * rescale + shifted.sum(1);
        row_max = m;
      }
    }
    // (max - target) first, as the kernel: for a confident token both are large and nearly equal,
    // and lse - target would lose its small NLL to one ulp of lse.
    const at::Tensor target_logit = (h * W.index_select(0, t.narrow(0, r0, R))).sum(1);
    nll.narrow(0, r0, R).copy_((row_max - target_logit) + row_sum.log());
  }
  return nll;
}

}  // namespace collapse
