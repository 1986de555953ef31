// Multi-tensor norm: for each tensor of a list, the L2 norm and the number of
// non-finite (NaN or infinite) elements. The training health guard reads it
// once per step for every gradient (src/train/health_guard.cpp).
//
// Shapes: every tensor contiguous, any floating dtype (f16/bf16/f32/f64),
// read only. out is double [T, 2], overwritten. Precision: every element is
// widened to double before it is squared, so f32 gradients whose squares
// would overflow f32 still give a finite norm.
//
// Algorithm (deterministic two-pass, no atomics): each tensor is cut into
// chunks of kNormChunk elements, laid out tensor after tensor. Pass 1: one
// block per chunk sums x^2 and counts non-finite values over its chunk and
// writes the pair to partials[chunk]. Blocks find their chunk through a
// table in the kernel arguments (tensor pointer and numel, and for each
// block which tensor and which chunk), packed by the host in order and
// launched whenever a table fills. Pass 2: one block per tensor adds the
// tensor's partials in a fixed order and writes sqrt(sum) and the count.
#include <cmath>
#include <map>

#include "common/check.h"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "common/reduce.cuh"
#include "kiln/core/half.h"
#include "multi_tensor_norm.h"

namespace kiln::kernels {
namespace {

constexpr int64_t kNormChunk = 65536;
constexpr int kNormThreads = 512;

struct NormTable {
  static constexpr int kMaxTensors = 48;
  static constexpr int kMaxBlocks = 288;
  const void* ptr[kMaxTensors];
  int64_t numel[kMaxTensors];
  int64_t first_partial[kMaxTensors];  // the partial of the tensor's chunk 0
  uint8_t tensor_of_block[kMaxBlocks];
  int32_t chunk_of_block[kMaxBlocks];
};
static_assert(sizeof(NormTable) <= 3900, "kernel parameters must stay under 4 KB");

struct SumTable {
  static constexpr int kMaxTensors = 240;
  int64_t first_partial[kMaxTensors];
  int32_t chunks[kMaxTensors];
  int32_t first_out;  // the output row of entry 0
};
static_assert(sizeof(SumTable) <= 3900, "kernel parameters must stay under 4 KB");

struct SumCount {
  double sum, count;
};
struct AddSumCount {
  __device__ SumCount operator()(SumCount a, SumCount b) const { return {a.sum + b.sum, a.count + b.count}; }
};

template <class T>
__global__ void __launch_bounds__(kNormThreads) norm_partials_kernel(const __grid_constant__ NormTable table,
                                                                     double* partials) {
  const int t = table.tensor_of_block[blockIdx.x];
  const int64_t chunk = table.chunk_of_block[blockIdx.x];
  const int64_t start = chunk * kNormChunk;
  const int64_t n = min(kNormChunk, table.numel[t] - start);
  const T* x = static_cast<const T*>(table.ptr[t]) + start;
  SumCount acc{0.0, 0.0};
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double v = static_cast<double>(static_cast<opmath_t<T>>(x[i]));
    if (isfinite(v)) acc.sum += v * v;
    else acc.count += 1.0;
  }
  acc = block_allreduce(acc, SumCount{0.0, 0.0}, AddSumCount{});
  if (threadIdx.x == 0) {
    double* p = partials + 2 * (table.first_partial[t] + chunk);
    p[0] = acc.sum;
    p[1] = acc.count;
  }
}

__global__ void __launch_bounds__(kNormThreads) norm_finish_kernel(const __grid_constant__ SumTable table,
                                                                   const double* partials, double* out) {
  const int e = blockIdx.x;
  const double* p = partials + 2 * table.first_partial[e];
  SumCount acc{0.0, 0.0};
  for (int c = threadIdx.x; c < table.chunks[e]; c += blockDim.x) {
    acc.sum += p[2 * c];
    acc.count += p[2 * c + 1];
  }
  acc = block_allreduce(acc, SumCount{0.0, 0.0}, AddSumCount{});
  if (threadIdx.x == 0) {
    double* o = out + 2 * (static_cast<int64_t>(table.first_out) + e);
    o[0] = sqrt(acc.sum);
    o[1] = acc.count;
  }
}

int64_t chunks_of(int64_t numel) { return (numel + kNormChunk - 1) / kNormChunk; }

}  // namespace

int64_t multi_tensor_norm_partials(const std::vector<NormTensor>& tensors) {
  int64_t chunks = 0;
  for (const NormTensor& t : tensors) chunks += chunks_of(t.numel);
  return 2 * chunks;
}

void launch_multi_tensor_norm(const std::vector<NormTensor>& tensors, double* partials, double* out,
                              cudaStream_t stream) {
  KILN_NVTX_RANGE("multi_tensor_norm");
  if (tensors.empty()) return;
  std::vector<int64_t> first(tensors.size());
  int64_t next = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    KILN_CHECK(chunks_of(tensors[i].numel) <= 0x7fffffff, ValueError, "multi_tensor_norm: a tensor of ",
               tensors[i].numel, " elements is too large");
    first[i] = next;
    next += chunks_of(tensors[i].numel);
  }
  // Pass 1, one launch family per dtype.
  std::map<DType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].numel > 0) by_dtype[tensors[i].dtype].push_back(i);
  for (const auto& entry : by_dtype) {
    const std::vector<size_t>& indices = entry.second;  // a lambda may not capture a structured binding in C++17
    visit_floating(entry.first, "multi_tensor_norm", [&](auto tag) {
      using T = decltype(tag);
      NormTable table{};
      int slots = 0, blocks = 0;
      auto flush = [&] {
        if (blocks == 0) return;
        norm_partials_kernel<T><<<blocks, kNormThreads, 0, stream>>>(table, partials);
        KILN_CHECK_LAUNCH("multi_tensor_norm_partials", stream);
        slots = blocks = 0;
      };
      for (size_t i : indices) {
        const int64_t chunks = chunks_of(tensors[i].numel);
        for (int64_t c = 0; c < chunks; ++c) {
          if (blocks == NormTable::kMaxBlocks || (c == 0 && slots == NormTable::kMaxTensors)) flush();
          if (c == 0 || blocks == 0) {  // the tensor takes a slot in this table
            table.ptr[slots] = tensors[i].data;
            table.numel[slots] = tensors[i].numel;
            table.first_partial[slots] = first[i];
            ++slots;
          }
          table.tensor_of_block[blocks] = static_cast<uint8_t>(slots - 1);
          table.chunk_of_block[blocks] = static_cast<int32_t>(c);
          ++blocks;
        }
      }
      flush();
    });
  }
  // Pass 2: every tensor, including empty ones (norm 0, count 0).
  SumTable table{};
  int entries = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (entries == 0) table.first_out = static_cast<int32_t>(i);
    table.first_partial[entries] = first[i];
    table.chunks[entries] = static_cast<int32_t>(chunks_of(tensors[i].numel));
    ++entries;
    if (entries == SumTable::kMaxTensors || i + 1 == tensors.size()) {
      norm_finish_kernel<<<entries, kNormThreads, 0, stream>>>(table, partials, out);
      KILN_CHECK_LAUNCH("multi_tensor_norm_finish", stream);
      entries = 0;
    }
  }
}

}  // namespace kiln::kernels
