// Launchers of kernels/embedding.cu: the embedding lookup and its backward
// (a scatter-add of gradient rows by id). Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// out [N, C] = rows ids[n] of weight [V, C] (contiguous; ids int64 [N]). An
// id outside [0, V) gives a zero row and adds 1 to errors[0] (device int64
// [2]), errors[1] = that id. Floating dtypes.
void launch_embedding_fwd(const void* weight, const int64_t* ids, void* out, int64_t* errors, DType dtype, int64_t N,
                          int64_t V, int64_t C, cudaStream_t stream);
// Scratch bytes launch_embedding_bwd needs.
size_t embedding_bwd_workspace_bytes(DType dtype, int64_t N, int64_t V, int64_t C, bool deterministic);
// grad_weight [V, C] (overwritten) = sum over n with ids[n] == v of grad
// [N, C] row n, skipping padding_idx (>= 0; -1 for none) and ids outside
// [0, V). deterministic: the ids are radix-sorted with their positions
// (stable) and each id's rows are added in position order, one thread per
// (id, column), in f32 (f64 for f64); otherwise f32/f64 atomics (into an f32
// copy for f16/bf16).
void launch_embedding_bwd(const void* grad, const int64_t* ids, void* grad_weight, void* workspace, DType dtype,
                          int64_t N, int64_t V, int64_t C, int64_t padding_idx, bool deterministic,
                          cudaStream_t stream);

}  // namespace kiln::kernels
