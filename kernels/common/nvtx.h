// KILN_NVTX_RANGE("op"): an NVTX range from here to the end of the scope,
// opened by every launcher and named after its op, so an Nsight Systems
// profile of a training step reads like the list of ops it ran. NVTX 3 is
// header-only (the CUDA toolkit's nvtx3/); without a profiler attached a
// range costs a few nanoseconds.
#pragma once
#include <nvtx3/nvToolsExt.h>

namespace kiln::kernels {

class NvtxRange {
 public:
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace kiln::kernels

#define KILN_NVTX_CONCAT_(a, b) a##b
#define KILN_NVTX_NAME_(line) KILN_NVTX_CONCAT_(kiln_nvtx_range_, line)
#define KILN_NVTX_RANGE(name) ::kiln::kernels::NvtxRange KILN_NVTX_NAME_(__LINE__)(name)
