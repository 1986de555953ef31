// The ncclUniqueId every rank of an NCCL communicator must share: made by
// rank 0 (ncclGetUniqueId needs no GPU) and broadcast over a CPU
// communicator. Separate from the communicator so it is tested without a GPU.
#pragma once
#include <cstdint>
#include <vector>

#include "kiln/dist/communicator.h"

namespace kiln::dist::detail {

// The id's bytes (NCCL_UNIQUE_ID_BYTES), equal on every rank of `bootstrap`
// (null: a world of one). Collective over bootstrap.
std::vector<uint8_t> nccl_unique_id(Communicator* bootstrap);
// The version of the NCCL library loaded at run time (ncclGetVersion:
// 22809 for 2.28.9), which may differ from the headers kiln was built with.
int nccl_runtime_version();

}  // namespace kiln::dist::detail
