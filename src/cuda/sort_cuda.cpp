// CudaBackend::sort / topk: kernels/sort.cu (cub's segmented radix sort) over
// contiguous [R, n] rows, its buffers in a cuda::Workspace.
#include <climits>

#include "core/tensor_checks.h"
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"
#include "cuda/workspace.h"

namespace kiln::cuda {

namespace {

// cub counts a segment's items in int: a longer row is refused, not overflowed.
void check_row_length(const char* op, const Tensor& x) {
  KILN_CHECK(x.size(1) < INT_MAX, ShapeError, op, ": on CUDA a row to sort must have fewer than 2^31 - 1 elements, got ",
             x.size(1), " (", detail::describe(x), " as rows)");
}

}  // namespace

void CudaBackend::sort(const Tensor& x, bool descending, Tensor& values, Tensor& indices) {
  KILN_INTERNAL_ASSERT(x.is_contiguous() && values.is_contiguous() && indices.is_contiguous(),
                       "sort expects contiguous tensors");
  if (x.numel() == 0) return;
  check_row_length("sort", x);
  LaunchContext ctx(x.device());
  const int64_t R = x.size(0), n = x.size(1);
  Workspace ws(x.device().index(), kernels::sort_workspace_bytes(R, n));
  kernels::launch_sort(x.raw_data_ptr(), values.raw_data_ptr(), static_cast<int64_t*>(indices.raw_data_ptr()),
                       ws.data(), x.dtype(), R, n, descending, ctx.stream);
}

void CudaBackend::topk(const Tensor& x, int64_t k, bool largest, Tensor& values, Tensor& indices) {
  KILN_INTERNAL_ASSERT(x.is_contiguous() && values.is_contiguous() && indices.is_contiguous(),
                       "topk expects contiguous tensors");
  if (values.numel() == 0) return;
  check_row_length("topk", x);
  LaunchContext ctx(x.device());
  const int64_t R = x.size(0), n = x.size(1);
  Workspace ws(x.device().index(), kernels::sort_workspace_bytes(R, n));
  kernels::launch_topk(x.raw_data_ptr(), values.raw_data_ptr(), static_cast<int64_t*>(indices.raw_data_ptr()),
                       ws.data(), x.dtype(), R, n, k, largest, ctx.stream);
}

}  // namespace kiln::cuda
