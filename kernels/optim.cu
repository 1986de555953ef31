// Fused multi-tensor optimizer steps: SGD (momentum, dampening, Nesterov,
// weight decay), Adam/AdamW (bias correction, amsgrad), RMSprop (momentum,
// centered) and Adagrad (lr decay). The per-element update is
// kernels/functors/optim.h's SgdStep / AdamStep / RmspropStep / AdagradStep,
// which the CPU backend runs too.
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
// loads are in flight.
#include <array>
#include <cmath>
#include <type_traits>
#include <vector>

#include "common/check.h"
#include "common/nvtx.h"
#include "functors/optim.h"
#include "kiln/core/half.h"
#include "optim.h"

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

}  // namespace

void launch_sgd_update(const std::vector<SgdTensor>& tensors, DType dtype, const SgdHyper& h,
                       cudaStream_t stream) {
  KILN_NVTX_RANGE("sgd_update");
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
  visit_floating(dtype, "sgd_update", [&](auto tag) {
    using T = decltype(tag);
    using Step = functors::SgdStep<opmath_t<T>>;
    const Step op = Step::make(h);
    for_each_table<3>(ptrs, numels, [&](const ChunkTable<3>& table, int blocks) {
      multi_tensor_kernel<T, 3, Step><<<blocks, kOptimThreads, 0, stream>>>(table, op);
      KILN_CHECK_LAUNCH("multi_tensor_sgd", stream);
    });
  });
}

void launch_adam_update(const std::vector<AdamTensor>& tensors, DType dtype, const AdamHyper& h,
                        cudaStream_t stream) {
  KILN_NVTX_RANGE("adam_update");
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
  visit_floating(dtype, "adam_update", [&](auto tag) {
    using T = decltype(tag);
    using Step = functors::AdamStep<opmath_t<T>>;
    const Step op = Step::make(h);
    for_each_table<5>(ptrs, numels, [&](const ChunkTable<5>& table, int blocks) {
      multi_tensor_kernel<T, 5, Step><<<blocks, kOptimThreads, 0, stream>>>(table, op);
      KILN_CHECK_LAUNCH("multi_tensor_adam", stream);
    });
  });
}

void launch_rmsprop_update(const std::vector<RmspropTensor>& tensors, DType dtype, const RmspropHyper& h,
                           cudaStream_t stream) {
  KILN_NVTX_RANGE("rmsprop_update");
  if (tensors.empty()) return;
  const bool momentum = h.momentum > 0;
  std::vector<std::array<void*, 5>> ptrs;
  std::vector<int64_t> numels;
  for (const RmspropTensor& t : tensors) {
    KILN_CHECK(t.square_avg != nullptr && (!momentum || t.momentum_buffer != nullptr) &&
                   (!h.centered || t.grad_avg != nullptr),
               ValueError, "rmsprop_update: a state buffer the options need is missing");
    ptrs.push_back({t.param, const_cast<void*>(t.grad), t.square_avg, momentum ? t.momentum_buffer : nullptr,
                    h.centered ? t.grad_avg : nullptr});
    numels.push_back(t.numel);
  }
  visit_floating(dtype, "rmsprop_update", [&](auto tag) {
    using T = decltype(tag);
    using Step = functors::RmspropStep<opmath_t<T>>;
    const Step op = Step::make(h);
    for_each_table<5>(ptrs, numels, [&](const ChunkTable<5>& table, int blocks) {
      multi_tensor_kernel<T, 5, Step><<<blocks, kOptimThreads, 0, stream>>>(table, op);
      KILN_CHECK_LAUNCH("multi_tensor_rmsprop", stream);
    });
  });
}

void launch_adagrad_update(const std::vector<AdagradTensor>& tensors, DType dtype, const AdagradHyper& h,
                           cudaStream_t stream) {
  KILN_NVTX_RANGE("adagrad_update");
  if (tensors.empty()) return;
  KILN_CHECK(h.step >= 1, ValueError, "adagrad_update: step must be >= 1 (already incremented), got ", h.step);
  std::vector<std::array<void*, 3>> ptrs;
  std::vector<int64_t> numels;
  for (const AdagradTensor& t : tensors) {
    KILN_CHECK(t.sum != nullptr, ValueError, "adagrad_update: every parameter needs its sum");
    ptrs.push_back({t.param, const_cast<void*>(t.grad), t.sum});
    numels.push_back(t.numel);
  }
  visit_floating(dtype, "adagrad_update", [&](auto tag) {
    using T = decltype(tag);
    using Step = functors::AdagradStep<opmath_t<T>>;
    const Step op = Step::make(h);
    for_each_table<3>(ptrs, numels, [&](const ChunkTable<3>& table, int blocks) {
      multi_tensor_kernel<T, 3, Step><<<blocks, kOptimThreads, 0, stream>>>(table, op);
      KILN_CHECK_LAUNCH("multi_tensor_adagrad", stream);
    });
  });
}

}  // namespace kiln::kernels
