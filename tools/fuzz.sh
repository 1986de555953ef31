#!/usr/bin/env bash
# Runs every libFuzzer harness (tests/fuzz/) for a while:
#   tools/fuzz.sh SECONDS [HARNESS...]     (default: all harnesses)
# Uses the ASan+UBSan+coverage build of tools/sanitize.sh (build-sanitize, or
# KILN_SANITIZE_BUILD), building the fuzzers first if needed. Each harness
# starts from its seeds (tests/fuzz/corpus/<folder>) and the regression inputs
# (tests/fuzz/regressions/<folder>); what it learns goes to
# <build>/fuzz/corpus/<harness>, a reproducer of any finding to
# <build>/fuzz/findings/<harness>/. A finding is a crash, a sanitizer report,
# an exception other than kiln::Error, an input that runs over 10 s, or one
# allocation over the harness's limit. Inputs are at most 4 KiB (8 KiB for
# cifar, whose records are 3073 bytes), which gzip may expand about 1000x
# (deflate's limit is ~1032:1): 32 MB is the allocation limit, 64 MB for idx
# and mnist, which widen those bytes to int64 labels or float32 pixels. (The
# bound is larger because of gzip; tests/data measures the tight one: a lying
# header costs no more than the data present.) Longer inputs would let gzip
# bombs of 16 MB through, whose per-element loops take over 10 s under
# ASan with comparison tracing. Prints executions per harness; exits non-zero
# when any harness found something.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:?usage: tools/fuzz.sh SECONDS [HARNESS...]}"
shift
build="${KILN_SANITIZE_BUILD:-build-sanitize}"
harnesses=("$@")
(( ${#harnesses[@]} )) || harnesses=(idx mnist cifar safetensors_bytes safetensors_file checkpoint)

if [[ ! -f "$build/build.ninja" ]] || ! grep -q fuzz_idx "$build/build.ninja"; then
  echo "fuzz: no fuzz build in $build; configuring one (tools/sanitize.sh's build)"
  KILN_SANITIZE_CONFIGURE_ONLY=1 tools/sanitize.sh "$build" || exit 1
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" -j "${KILN_JOBS:-$(nproc)}" --target "${targets[@]}" >"$build/fuzz-build.log" 2>&1 ||
  { tail -n 40 "$build/fuzz-build.log"; exit 1; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
folder_of() { [[ "$1" == safetensors* ]] && echo safetensors || echo "$1"; }
malloc_limit_of() { [[ "$1" == idx || "$1" == mnist ]] && echo 64 || echo 32; }
max_len_of() { [[ "$1" == cifar ]] && echo 8192 || echo 4096; }
status=0
summary=()
for h in "${harnesses[@]}"; do
  f=$(folder_of "$h")
  work="$build/fuzz/corpus/$h"
  findings="$build/fuzz/findings/$h"
  mkdir -p "$work" "$findings"
  log="$build/fuzz/$h.log"
  seeds=(tests/fuzz/corpus/"$f")
  [[ -d tests/fuzz/regressions/$f ]] && seeds+=(tests/fuzz/regressions/"$f")
  echo "fuzz: $h for $seconds s"
  "$build/tests/fuzz/fuzz_$h" "$work" "${seeds[@]}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb="$(malloc_limit_of "$h")" -max_len="$(max_len_of "$h")" -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if (( rc == 0 )); then
    summary+=("$h: ${runs:-?} executions, ${cov:-cov: ?}, no findings")
  else
    status=1
    summary+=("$h: FINDING after ${runs:-?} executions (exit $rc); reproducer in $findings/, log $log")
    grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written|terminate called|what\(\)' "$log" | head -n 12
  fi
done
echo "fuzz: summary ($seconds s each)"
printf '  %s\n' "${summary[@]}"
exit $status
