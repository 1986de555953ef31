#!/usr/bin/env bash
# Runs a test executable on NP MPI ranks (ctest's `mpi2` test runs the whole
# tests/dist/mpi executable through it):
#   tests/dist/mpi_launch.sh MPIEXEC NP EXE ARGS...
# A run that outlives
# KILN_MPI_TEST_TIMEOUT seconds (default 150) is stopped with SIGTERM (mpirun
# passes it to every rank), so a hang fails instead of stalling CI.
set -euo pipefail
mpiexec=$1 np=$2
shift 2
extra=(--oversubscribe)
[[ $(id -u) -eq 0 ]] && extra+=(--allow-run-as-root)
# One compute thread per rank: the ranks share the machine's cores.
exec timeout --signal=TERM --kill-after=20 "${KILN_MPI_TEST_TIMEOUT:-150}" \
  "$mpiexec" "${extra[@]}" -np "$np" -x OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" "$@"
