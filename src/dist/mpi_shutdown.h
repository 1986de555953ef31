// Finalises MPI if kiln started it (no-op without MPI or when never
// started). Kept apart from mpi_runtime.h so callers need no MPI header.
#pragma once

namespace kiln::dist::detail {
void shutdown_mpi();
}  // namespace kiln::dist::detail
