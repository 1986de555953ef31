#!/usr/bin/env bash
# Memory, undefined-behaviour and strict-C++17 checks:
#   tools/sanitize.sh [BUILD_DIR]      (default: build-sanitize)
# Builds the CPU library and every test with clang -std=c++17 and
# -fsanitize=address,undefined (no recovery: a report is a failure), then runs
# each test executable whole. One clang build serves both purposes: GCC
# accepts some non-standard C++ (a lambda capturing a structured binding, a
# GNU extension before C++20) that clang rejects, so this build keeps kiln
# strict C++17.
# Each executable runs as one process: running each case as its own process,
# as ctest does, takes about 30 minutes under ASan; whole, a few minutes.
# When clang has libFuzzer, the library is also built with coverage
# instrumentation and the fuzz_<harness> executables are built, so
# tools/fuzz.sh can reuse this build.
# Environment: KILN_JOBS (default: nproc), KILN_SANITIZE_TIMEOUT (seconds per
# executable, default 900).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-sanitize}"
jobs="${KILN_JOBS:-$(nproc)}"
per_exe_timeout="${KILN_SANITIZE_TIMEOUT:-900}"
t0=$(date +%s)

command -v clang++ >/dev/null || { echo "sanitize: clang++ not found (tools/install-deps.sh installs it)" >&2; exit 2; }

flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# Coverage for libFuzzer when it links (Debian: libclang-rt-14-dev).
if echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
   clang++ -x c++ -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  flags="$flags -fsanitize=fuzzer-no-link"
else
  echo "sanitize: clang has no libFuzzer; the fuzz harnesses are built only as their replay test"
fi

mkdir -p "$build"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# Keys relative to the clone (another checkout hits the same entries); the
# working directory left out of them although -g is on (it is only the
# debug info's compile directory).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR=1
# -O1 with line tables only: about half the compile time of -O2 -g, and
# ASan's reports still name file and line.
opt="-O1 -gline-tables-only -DNDEBUG"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$opt" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DKILN_CUDA=OFF -DKILN_WERROR=ON -DKILN_BUILD_BENCHMARKS=OFF -DKILN_BUILD_EXAMPLES=OFF \
  "${launcher[@]}" >"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
[[ -n "${KILN_SANITIZE_CONFIGURE_ONLY:-}" ]] && exit 0  # tools/fuzz.sh builds only its targets
# Everything configured here: the library, every test, the fuzzers.
cmake --build "$build" -j "$jobs"
t_build=$(( $(date +%s) - t0 ))
echo "sanitize: built in ${t_build} s"

# Reports fail the run; leaks count too. The cuda tests skip (no CUDA build).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for exe in "$build"/tests/kiln_test_* "$build"/tests/fuzz/kiln_test_fuzz; do
  [[ -x "$exe" ]] || continue
  # The `slow` executables (whole training runs, e.g. the port test) take
  # minutes under ASan and reach no code the others do not; CI's time is short.
  [[ "$exe" == *_slow ]] && continue
  name=$(basename "$exe")
  t1=$(date +%s)
  if timeout "$per_exe_timeout" "$exe" --gtest_brief=1 >"$build/$name.log" 2>&1; then
    echo "sanitize: $name passed ($(( $(date +%s) - t1 )) s)"
  else
    echo "sanitize: $name FAILED ($(( $(date +%s) - t1 )) s); the end of $build/$name.log:"
    tail -n 40 "$build/$name.log"
    failed+=("$name")
  fi
done
echo "sanitize: total $(( $(date +%s) - t0 )) s (build ${t_build} s)"
if (( ${#failed[@]} )); then
  echo "sanitize: FAILED: ${failed[*]}"
  exit 1
fi
echo "sanitize: all test executables clean under ASan+UBSan"
