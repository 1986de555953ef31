// Fused multi-tensor optimizer steps: SGD (momentum, dampening, Nesterov,
// weight decay) and Adam/AdamW (bias correction, amsgrad).
//
// Shapes: every tensor contiguous; a parameter, its gradient and its state
// tensors share numel and one dtype. Precision: f32/f64/f16/bf16 storage,
// f16/bf16 computed in f32 (opmath). Parameters and state are updated in
// place; gradients are only read.
//
// Algorithm (multi-tensor apply): the tensors of a step are cut into chunks of
// kChunk elements and each block of a launch updates one chunk. A launch's
// kernel argument is a table (kept under the 4 KB parameter limit) holding
// the pointers of up to kMaxTensors tensors and, for each block, which tensor
// and which chunk it owns. The host packs tensors into tables in order and
// launches whenever a table runs out of tensor slots or block slots; a tensor
// split across two launches keeps its place in the next table. So a model of
// hundreds of small parameters costs a handful of launches instead of one per
// tensor. Each thread handles kIlp elements per pass so several independent
// loads are in flight. Status: compiled, not yet run on a GPU.
#include <array>
#include <cmath>
#include <type_traits>
#include <vector>

#include "common/check.h"
#include "kiln/core/half.h"
#include "optim.cuh"

namespace kiln::kernels {
namespace {

constexpr int64_t kChunk = 65536;
constexpr int kOptimThreads = 512;
constexpr int kIlp = 4;

// L pointer lists (list 1 is always the read-only gradient).
template <int L>
struct ChunkTable {
  static constexpr int kMaxTensors = L <= 3 ? 36 : 24;
  static constexpr int kMaxBlocks = 320;
  void* ptr[L][kMaxTensors];
  int64_t numel[kMaxTensors];
  uint8_t tensor_of_block[kMaxBlocks];
  int32_t chunk_of_block[kMaxBlocks];
};
static_assert(sizeof(ChunkTable<5>) <= 3900, "kernel parameters must stay under 4 KB");
static_assert(sizeof(ChunkTable<3>) <= 3900, "kernel parameters must stay under 4 KB");

template <class T, int L, class Op>
__global__ void __launch_bounds__(kOptimThreads)
    multi_tensor_kernel(const __grid_constant__ ChunkTable<L> table, const __grid_constant__ Op op) {
  using M = opmath_t<T>;
  const int t = table.tensor_of_block[blockIdx.x];
  const int64_t start = static_cast<int64_t>(table.chunk_of_block[blockIdx.x]) * kChunk;
  const int64_t n = min(kChunk, table.numel[t] - start);
  T* p[L];
#pragma unroll
  for (int l = 0; l < L; ++l) {
    T* base = static_cast<T*>(table.ptr[l][t]);
    p[l] = base == nullptr ? nullptr : base + start;
  }
  for (int64_t pass = 0; pass < n; pass += static_cast<int64_t>(blockDim.x) * kIlp) {
    M v[kIlp][L];
#pragma unroll
    for (int e = 0; e < kIlp; ++e) {
      const int64_t i = pass + threadIdx.x + static_cast<int64_t>(e) * blockDim.x;
#pragma unroll
      for (int l = 0; l < L; ++l) v[e][l] = (i < n && p[l] != nullptr) ? static_cast<M>(p[l][i]) : M(0);
    }
#pragma unroll
    for (int e = 0; e < kIlp; ++e) op(v[e]);
#pragma unroll
    for (int e = 0; e < kIlp; ++e) {
      const int64_t i = pass + threadIdx.x + static_cast<int64_t>(e) * blockDim.x;
      if (i >= n) continue;
#pragma unroll
      for (int l = 0; l < L; ++l)
        if (l != 1 && p[l] != nullptr) p[l][i] = static_cast<T>(v[e][l]);
    }
  }
}

// Lists: 0 param, 1 grad, 2 momentum buffer.
template <class M>
struct SgdOp {
  M lr, momentum, one_minus_dampening, weight_decay;
  bool has_momentum, nesterov, first_step;
  __device__ void operator()(M (&v)[3]) const {
    const M param = v[0];
    M g = v[1];
    if (weight_decay != M(0)) g = g + weight_decay * param;
    if (has_momentum) {
      const M buf = first_step ? g : momentum * v[2] + one_minus_dampening * g;
      v[2] = buf;
      g = nesterov ? g + momentum * buf : buf;
    }
    v[0] = param - lr * g;
  }
};

// Lists: 0 param, 1 grad, 2 exp_avg, 3 exp_avg_sq, 4 max_exp_avg_sq.
template <class M>
struct AdamOp {
  M one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, decay_factor, step_size, bias_correction2_sqrt;
  bool decoupled, amsgrad;
  __device__ void operator()(M (&v)[5]) const {
    M param = v[0];
    M g = v[1];
    if (weight_decay != M(0)) {
      if (decoupled) param = param * decay_factor;
      else g = g + weight_decay * param;
    }
    const M m = v[2] + one_minus_beta1 * (g - v[2]);  // lerp, as PyTorch
    const M s = beta2 * v[3] + one_minus_beta2 * g * g;
    M second = s;
    if (amsgrad) {
      const M prev = v[4];
      second = (s > prev || s != s) ? s : prev;  // torch.maximum: NaN propagates
      v[4] = second;
    }
    const M denom = sqrt(second) / bias_correction2_sqrt + eps;
    v[0] = param - step_size * m / denom;
    v[2] = m;
    v[3] = s;
  }
};

// Packs the tensors into chunk tables and calls launch(table, blocks) for each.
template <int L, class Launch>
void for_each_table(const std::vector<std::array<void*, L>>& ptrs, const std::vector<int64_t>& numels,
                    Launch&& launch) {
  using Table = ChunkTable<L>;
  Table table{};
  int tensors = 0, blocks = 0;
  for (size_t i = 0; i < ptrs.size(); ++i) {
    if (numels[i] == 0) continue;
    for (int l = 0; l < L; ++l) table.ptr[l][tensors] = ptrs[i][l];
    table.numel[tensors] = numels[i];
    ++tensors;
    const int64_t chunks = (numels[i] + kChunk - 1) / kChunk;
    KILN_CHECK(chunks <= 0x7fffffff, ValueError, "optimizer step: a tensor of ", numels[i], " elements is too large");
    for (int64_t c = 0; c < chunks; ++c) {
      table.tensor_of_block[blocks] = static_cast<uint8_t>(tensors - 1);
      table.chunk_of_block[blocks] = static_cast<int32_t>(c);
      ++blocks;
      const bool last_chunk = c == chunks - 1;
      if (blocks == Table::kMaxBlocks || (tensors == Table::kMaxTensors && last_chunk)) {
        launch(table, blocks);
        blocks = 0;
        if (last_chunk) {
          tensors = 0;
        } else {  // the rest of this tensor starts the next table
          for (int l = 0; l < L; ++l) table.ptr[l][0] = table.ptr[l][tensors - 1];
          table.numel[0] = table.numel[tensors - 1];
          tensors = 1;
        }
      }
    }
  }
  if (blocks > 0) launch(table, blocks);
}

template <class Fn>
void visit_optim_dtype(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case kFloat32: return fn(float{});
    case kFloat64: return fn(double{});
    case kFloat16: return fn(Half{});
    case kBFloat16: return fn(BFloat16{});
    default: break;
  }
  throw DTypeError(detail::str_cat(op, ": parameters must be floating, got ", dtype_name(dtype)));
}

}  // namespace

void launch_sgd_update(const std::vector<SgdTensor>& tensors, DType dtype, const SgdKernelHyper& h,
                       cudaStream_t stream) {
  if (tensors.empty()) return;
  const bool has_momentum = h.momentum != 0;
  std::vector<std::array<void*, 3>> ptrs;
  std::vector<int64_t> numels;
  for (const SgdTensor& t : tensors) {
    KILN_CHECK(!has_momentum || t.momentum_buffer != nullptr, ValueError,
               "sgd_update: momentum ", h.momentum, " needs a momentum buffer for every parameter");
    ptrs.push_back({t.param, const_cast<void*>(t.grad), has_momentum ? t.momentum_buffer : nullptr});
    numels.push_back(t.numel);
  }
  visit_optim_dtype(dtype, "sgd_update", [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    const SgdOp<M> op{static_cast<M>(h.lr), static_cast<M>(h.momentum), static_cast<M>(1.0 - h.dampening),
                      static_cast<M>(h.weight_decay), has_momentum, h.nesterov, h.first_step};
    for_each_table<3>(ptrs, numels, [&](const ChunkTable<3>& table, int blocks) {
      multi_tensor_kernel<T, 3, SgdOp<M>><<<blocks, kOptimThreads, 0, stream>>>(table, op);
      KILN_CHECK_LAUNCH("multi_tensor_sgd", stream);
    });
  });
}

void launch_adam_update(const std::vector<AdamTensor>& tensors, DType dtype, const AdamKernelHyper& h,
                        cudaStream_t stream) {
  if (tensors.empty()) return;
  KILN_CHECK(h.step >= 1, ValueError, "adam_update: step must be >= 1 (already incremented), got ", h.step);
  std::vector<std::array<void*, 5>> ptrs;
  std::vector<int64_t> numels;
  for (const AdamTensor& t : tensors) {
    KILN_CHECK(!h.amsgrad || t.max_exp_avg_sq != nullptr, ValueError,
               "adam_update: amsgrad needs max_exp_avg_sq for every parameter");
    ptrs.push_back({t.param, const_cast<void*>(t.grad), t.exp_avg, t.exp_avg_sq, h.amsgrad ? t.max_exp_avg_sq : nullptr});
    numels.push_back(t.numel);
  }
  // Scalars in double on the host, as PyTorch computes them in Python floats.
  const double bias_correction1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bias_correction2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  visit_optim_dtype(dtype, "adam_update", [&](auto tag) {
    using T = decltype(tag);
    using M = opmath_t<T>;
    const AdamOp<M> op{static_cast<M>(1.0 - h.beta1),
                       static_cast<M>(h.beta2),
                       static_cast<M>(1.0 - h.beta2),
                       static_cast<M>(h.eps),
                       static_cast<M>(h.weight_decay),
                       static_cast<M>(1.0 - h.lr * h.weight_decay),
                       static_cast<M>(h.lr / bias_correction1),
                       static_cast<M>(std::sqrt(bias_correction2)),
                       h.decoupled_weight_decay,
                       h.amsgrad};
    for_each_table<5>(ptrs, numels, [&](const ChunkTable<5>& table, int blocks) {
      multi_tensor_kernel<T, 5, AdamOp<M>><<<blocks, kOptimThreads, 0, stream>>>(table, op);
      KILN_CHECK_LAUNCH("multi_tensor_adam", stream);
    });
  });
}

}  // namespace kiln::kernels
