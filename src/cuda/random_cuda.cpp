// CudaBackend::uniform / normal / randint: kernels/random.cu, numbering the
// Philox stream exactly as the CPU backend does (same seed, same tensor).
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

void CudaBackend::uniform(Tensor& out, double low, double high, const GeneratorState& st) {
  KILN_INTERNAL_ASSERT(out.is_contiguous(), "uniform expects a contiguous output");
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  kernels::launch_uniform(out.raw_data_ptr(), out.dtype(), out.numel(), low, high, st.seed, st.offset, ctx.stream);
}

void CudaBackend::normal(Tensor& out, double mean, double std, const GeneratorState& st) {
  KILN_INTERNAL_ASSERT(out.is_contiguous(), "normal expects a contiguous output");
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  kernels::launch_normal(out.raw_data_ptr(), out.dtype(), out.numel(), mean, std, st.seed, st.offset, ctx.stream);
}

void CudaBackend::randint(Tensor& out, int64_t low, int64_t high, const GeneratorState& st) {
  KILN_INTERNAL_ASSERT(out.is_contiguous(), "randint expects a contiguous output");
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  kernels::launch_randint(out.raw_data_ptr(), out.dtype(), out.numel(), low, high, st.seed, st.offset, ctx.stream);
}

}  // namespace kiln::cuda
