// Launchers of kernels/random.cu (Philox: kernels/functors/philox.h). Plain
// C++: device pointers, sizes, a dtype and a stream (see kernels/kernels.h
// for what every launcher does).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// Contiguous out of n elements; element i uses functors::philox_pair(seed,
// offset, i), exactly as the CPU backend, so both devices give the same numbers.
void launch_uniform(void* out, DType dtype, int64_t n, double low, double high, uint64_t seed, uint64_t offset,
                    cudaStream_t stream);
void launch_normal(void* out, DType dtype, int64_t n, double mean, double std, uint64_t seed, uint64_t offset,
                   cudaStream_t stream);
void launch_randint(void* out, DType dtype, int64_t n, int64_t low, int64_t high, uint64_t seed, uint64_t offset,
                    cudaStream_t stream);

}  // namespace kiln::kernels
