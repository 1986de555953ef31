#!/usr/bin/env bash
# Installs dependencies, configures, builds and runs the whole test suite.
#   tools/run-tests.sh [BUILD_DIR]     (default: build)
# Environment: KILN_CUDA (AUTO/ON/OFF, default AUTO), KILN_CUDA_ARCHS
# (default 90), KILN_WERROR (default OFF; CI sets ON), KILN_JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
tools/install-deps.sh --tests

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
# Paths relative to the clone in ccache's keys, so another clone of the
# same sources (CI's, a second checkout) hits the same cache entries.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DKILN_CUDA="${KILN_CUDA:-AUTO}" -DCMAKE_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHS:-90}" \
  -DKILN_WERROR="${KILN_WERROR:-OFF}" "${launcher[@]}"
cmake --build "$build" -j "${KILN_JOBS:-$(nproc)}"
# Tests that need a GPU skip themselves (with a reason) when there is none.
ctest --test-dir "$build" --output-on-failure -j "${KILN_JOBS:-$(nproc)}" --timeout 900
