// The process-wide choice between cuDNN and kiln's implicit-GEMM kernel for
// CUDA conv2d forward (see src/cuda/conv_impl.h). Plain C++ and compiled in
// every build, so code that sets it (the CUDA tests, the benchmarks) links
// with or without the CUDA backend; only src/cuda/conv_cuda.cpp reads it.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "cuda/conv_impl.h"
#include "kiln/core/error.h"

namespace kiln::cuda {

namespace {
std::atomic<int> g_conv_impl{-1};  // -1: KILN_CONV_IMPL not read yet
}

ConvImpl conv_impl() {
  int v = g_conv_impl.load();
  if (v < 0) {
    const char* env = std::getenv("KILN_CONV_IMPL");
    const bool kiln = env != nullptr && std::strcmp(env, "kiln") == 0;
    KILN_CHECK(env == nullptr || env[0] == '\0' || kiln || std::strcmp(env, "cudnn") == 0, ValueError,
               "KILN_CONV_IMPL must be 'kiln' or 'cudnn', got '", env, "'");
    int expected = -1;
    g_conv_impl.compare_exchange_strong(expected, kiln ? 1 : 0);  // a concurrent set_conv_impl wins
    v = g_conv_impl.load();
  }
  return v == 1 ? ConvImpl::Kiln : ConvImpl::CuDNN;
}

void set_conv_impl(ConvImpl impl) { g_conv_impl.store(impl == ConvImpl::Kiln ? 1 : 0); }

}  // namespace kiln::cuda
