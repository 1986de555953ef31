// KILN_NCCL_CHECK: throws kiln::NcclError naming the call, NCCL's error
// string and its last message, file and line.
#pragma once
#include <nccl.h>

#include "kiln/core/error.h"

#define KILN_NCCL_CHECK(expr)                                                                              \
  do {                                                                                                     \
    ncclResult_t kiln_nccl_rc_ = (expr);                                                                   \
    if (kiln_nccl_rc_ != ncclSuccess)                                                                      \
      throw ::kiln::NcclError(::kiln::detail::str_cat(#expr, " failed: ", ncclGetErrorString(kiln_nccl_rc_), \
                                                      " (", ncclGetLastError(nullptr), ") at ", __FILE__, \
                                                      ":", __LINE__));                                    \
  } while (0)
