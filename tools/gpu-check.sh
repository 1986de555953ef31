#!/usr/bin/env bash
# The one command to run on a GPU machine, in a copy of this repository with
# the bundle from tools/gpu-bundle.sh in .gpu/ (docs/gpu.md):
#   tools/gpu-check.sh OUTDIR
# The machine needs the CUDA toolkit (cuBLAS, compute-sanitizer) and cuDNN 9
# in the toolkit or as a pip wheel (nvidia-cudnn-cu13); nothing is built
# there. Stages, each with its own time cap:
#   1. unpack the bundle; find cuBLAS (toolkit), cuDNN and NCCL (toolkit or
#      wheels); set LD_LIBRARY_PATH; print every library ldd cannot resolve
#   2. every test executable, run directly (ctest's files carry the build
#      machine's paths), JUnit XML
#   3. compute-sanitizer memcheck on one test per kernel family, racecheck on
#      one test per kernel that uses shared memory (at the same time)
#   4. the example trainers, each on the CPU and on the GPU with the same
#      settings: char_gpt (bf16 autocast on the GPU) on the repository's
#      docs/, the Fashion-MNIST CNN; the GPU's final loss / accuracy must be
#      within a tolerance of the CPU's
#   5. in quick mode: attention and layer norm against PyTorch's, a GPT-2
#      124M training step (kiln and PyTorch, bf16 autocast), the other kernel
#      benchmarks and a short CNN training benchmark, in that order
#   6. the summary (printed last, also summary.txt)
# A stage that runs out of time is reported as TIMEOUT, never as a pass or a
# failure. If a GPU is visible and any CUDA test skipped, the run fails: a
# skip there means the GPU was never used. The stages' caps add up to 9.5
# minutes (a device call may last 10). Writes these 7 files to OUTDIR:
# summary.txt env.txt tests.log junit.xml sanitizer.log bench.jsonl bench.md.
# Exit status: 0 pass (with no GPU: everything that could run passed),
# 1 something failed, 3 nothing failed but something timed out.
# Environment: KILN_GPU_BUNDLE (default .gpu/kiln-gpu.tar.xz), KILN_GPU_WORK
# (unpack directory, default ${TMPDIR:-/tmp}/kiln-gpu-check).
set -uo pipefail

out="${1:?usage: tools/gpu-check.sh OUTDIR}"
mkdir -p "$out" && out="$(cd "$out" && pwd)"
cd "$(dirname "$0")/.."
repo="$(pwd)"
bundle="${KILN_GPU_BUNDLE:-$repo/.gpu/kiln-gpu.tar.xz}"
work="${KILN_GPU_WORK:-${TMPDIR:-/tmp}/kiln-gpu-check}"
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }
# Stage caps in seconds: with the unpacking and NCCL's 60 s at most 9.5
# minutes in all (4 trainer runs of 40 s at most).
cap_tests=120 cap_memcheck=90 cap_racecheck=90 cap_trainer_each=40 cap_bench_each=30 cap_bench=120
rm -f "$out"/{summary.txt,env.txt,tests.log,junit.xml,sanitizer.log,bench.jsonl,bench.md}
summary=()
say() { summary+=("$*"); echo "gpu-check: $*"; }
failures=() timeouts=() not_run=()

# --- 1. bundle, libraries, device ---------------------------------------------------------
if [[ ! -f "$bundle" ]]; then
  echo "gpu-check: no bundle at $bundle (make it with tools/gpu-bundle.sh on a build machine)" | tee "$out/summary.txt"
  exit 1
fi
rm -rf "$work" && mkdir -p "$work/xml" "$work/logs"
# xz where it is installed, else Python's tarfile (the GPU machine has PyTorch's python3).
if command -v xz >/dev/null; then tar -C "$work" -xJf "$bundle"
elif command -v python3 >/dev/null; then python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$bundle" "$work"
else false; fi || { echo "gpu-check: cannot unpack $bundle (needs xz or python3)" | tee "$out/summary.txt"; exit 1; }
bundle_commit="$(sed -n 's/^commit: //p' "$work/bundle.txt")"
repo_commit="$(git rev-parse HEAD 2>/dev/null || true)"
export KILN_COMMIT="${bundle_commit:0:12}"

# Library directories: the toolkit's first, then pip wheels' (PyTorch's
# nvidia-* packages put cuDNN and NCCL under site-packages/nvidia/).
toolkit_dirs=()
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/*/lib; do
  [[ -d "$d" ]] && toolkit_dirs+=("$(readlink -f "$d")")
done
site_dirs=()
if command -v python3 >/dev/null; then
  while read -r d; do [[ -d "$d/nvidia" ]] && site_dirs+=("$d/nvidia"); done < <(python3 -c \
    'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)
fi
for d in /opt/*/.venv/lib/python3*/site-packages /usr/local/lib/python3*/dist-packages /usr/lib/python3/dist-packages; do
  [[ -d "$d/nvidia" ]] && site_dirs+=("$d/nvidia")
done
# find_lib NAME: the directory of libNAME.so* in the toolkit, else in a wheel; "where" says which.
find_lib() {
  local f
  for d in "${toolkit_dirs[@]}"; do
    f=$(compgen -G "$d/lib$1.so*" | head -1)
    [[ -n "$f" ]] && { echo "$d toolkit"; return; }
  done
  for d in "${site_dirs[@]}"; do
    f=$(find "$d" -maxdepth 4 -name "lib$1.so*" 2>/dev/null | head -1)
    [[ -n "$f" ]] && { echo "$(dirname "$f") wheel"; return; }
  done
}
declare -A lib_at
ld_dirs=("$work/lib")
for name in cudart cublas cublasLt cudnn nccl nvrtc; do
  read -r dir where <<<"$(find_lib "$name")"
  lib_at[$name]="${dir:-NOT FOUND}${where:+ ($where)}"
  [[ -n "$dir" && ! " ${ld_dirs[*]} " =~ " $dir " ]] && ld_dirs+=("$dir")
done
# cuDNN loads NVRTC from the toolkit at run time; the driver may live apart.
for d in /usr/local/cuda/lib64 /usr/local/nvidia/lib64; do
  [[ -d "$d" && ! " ${ld_dirs[*]} " =~ " $d " ]] && ld_dirs+=("$d")
done
ld_path="$(IFS=:; echo "${ld_dirs[*]}")"
export LD_LIBRARY_PATH="$ld_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# libstdc++/libgcc_s from the build machine only if this one's are too old.
# The bundle's files, and cuDNN's libraries (it dlopens its engines, which
# need cuBLASLt and NVRTC, at run time).
cudnn_dir="$(cut -d' ' -f1 <<<"${lib_at[cudnn]}")"
ldd_all() {
  for f in "$work"/bin/* "$work"/lib/* $(compgen -G "$cudnn_dir/libcudnn*.so*"); do
    ldd "$f" 2>&1 | sed "s|^|$(basename "$f"): |"
  done
}
if ldd_all | grep -qE "(GLIBCXX|CXXABI|GCC)_[0-9.]+' not found|libstdc\+\+.*not found|libgcc_s.*not found"; then
  export LD_LIBRARY_PATH="$work/cxxrt:$LD_LIBRARY_PATH"
  cxxrt="the bundle's (this machine's are too old)"
else
  cxxrt="this machine's"
fi
ldd_report="$(ldd_all)"
missing="$(grep -E "not found" <<<"$ldd_report" | sort -u)"
if [[ -n "$missing" ]]; then
  echo "=== ldd: NOT FOUND ==="; echo "$missing"; echo
fi

export PATH="/usr/local/cuda/bin:/usr/local/cuda/compute-sanitizer:$PATH"
gpus="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | grep -v '^$')"
gpu_visible=0
[[ -n "$gpus" ]] && gpu_visible=1
sanitizer="$(command -v compute-sanitizer || true)"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"); $(nproc) cores"
  echo "bundle: $bundle"; cat "$work/bundle.txt" | sed -n '1,4p'
  echo "repository: $repo at ${repo_commit:-unknown commit}"
  echo "--- nvidia-smi"; nvidia-smi 2>&1 | head -25
  echo "--- nvcc: $(nvcc --version 2>/dev/null | tail -2 | tr '\n' ' ' || echo 'not found')"
  echo "--- compute-sanitizer: ${sanitizer:-not found} $([[ -n "$sanitizer" ]] && "$sanitizer" --version 2>/dev/null | tail -1)"
  echo "--- libraries"
  for name in cudart cublas cublasLt cudnn nccl nvrtc; do printf '%-9s %s\n' "$name" "${lib_at[$name]}"; done
  echo "libstdc++: $cxxrt"
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  echo "--- ldd of every bundled file (not found first)"
  [[ -n "$missing" ]] && { echo "$missing"; echo; }
  echo "$ldd_report"
} >"$out/env.txt" 2>&1

if ((gpu_visible)); then say "device: $(head -1 <<<"$gpus")$( (($(wc -l <<<"$gpus") > 1)) && echo " (+$(($(wc -l <<<"$gpus") - 1)) more)")"
elif command -v nvidia-smi >/dev/null; then say "device: NO GPU VISIBLE (nvidia-smi lists none)"
else say "device: NO GPU VISIBLE (there is no nvidia-smi, so no driver)"; fi
if [[ -z "$repo_commit" ]]; then repo_note="repository commit unknown (no git here)"
elif [[ "${bundle_commit%+dirty}" == "$repo_commit" ]]; then repo_note="the repository is at the same commit"
else repo_note="the repository is at ${repo_commit:0:12}: DIFFERENT (tests read repository files; rebuild the bundle)"; fi
say "bundle: commit ${bundle_commit:0:12}$([[ $bundle_commit == *+dirty ]] && echo ' with uncommitted changes'); $repo_note"
say "libraries: cuBLAS ${lib_at[cublas]}; cuDNN ${lib_at[cudnn]}; NCCL ${lib_at[nccl]}; NVRTC ${lib_at[nvrtc]}"
if [[ -n "$missing" ]]; then
  say "ldd: $(wc -l <<<"$missing") unresolved (listed at the top of env.txt): $(head -3 <<<"$missing" | tr '\n' ';')"
  failures+=("unresolved libraries")
else
  say "ldd: every library of the $(ls "$work/bin" | wc -l) executables, libkiln and cuDNN resolves (bundle, toolkit$( ((${#site_dirs[@]})) && echo ', wheels'), system)"
fi

# --- 2. tests -------------------------------------------------------------------------------
export KILN_FASHION_MNIST_DIR="$work/data/fashion-mnist"
mapfile -t tests < <(ls -S "$work"/bin/kiln_test_*)   # the largest (slowest) first
jobs=$(( $(nproc) < 8 ? $(nproc) : 8 ))
ts=$(date +%s)
deadline=$((ts + cap_tests))
run_test() {   # runs one executable until the stage's deadline; its exit status goes to logs/NAME.rc
  local exe=$1 name left; name=$(basename "$1") left=$((deadline - $(date +%s)))
  ((left < 5)) && left=5
  timeout -k 10 "$left" "$exe" --gtest_brief=1 --gtest_output="xml:$work/xml/$name.xml" \
    >"$work/logs/$name.log" 2>&1
  echo $? >"$work/logs/$name.rc"
}
for exe in "${tests[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n; done
  run_test "$exe" &
done
wait
test_s=$(( $(date +%s) - ts ))
passed=0 failed=0 skipped=0 cuda_skipped=0 other_skipped=0
bad_exes=()
: >"$out/tests.log"
for exe in "${tests[@]}"; do
  name=$(basename "$exe") log="$work/logs/$name.log" rc=$(cat "$work/logs/$name.rc")
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0})) skipped=$((skipped + ${s:-0}))
  state="rc $rc"
  if ((rc == 124 || rc == 137)); then state="TIMEOUT (the stage's ${cap_tests} s ran out)"; timeouts+=("$name"); bad_exes+=("$name: timeout")
  elif ((rc > 128)); then state="CRASHED (signal $((rc - 128)))"; failures+=("$name crashed"); bad_exes+=("$name: crashed")
  elif ((rc != 0)); then state="FAILED (rc $rc)"; failures+=("$name"); bad_exes+=("$name: ${f:-?} failed")
  elif [[ -z "$p" ]]; then state="NO SUMMARY (rc 0)"; failures+=("$name printed no summary"); bad_exes+=("$name: no summary")
  fi
  { echo "=== $name: $state; passed ${p:-?}, failed ${f:-0}, skipped ${s:-0}"
    tail -n 400 "$log"; echo; } >>"$out/tests.log"
done
# One JUnit file: the executables' <testsuite> elements under one <testsuites>.
{
  echo '<?xml version="1.0" encoding="UTF-8"?>'
  echo "<testsuites name=\"kiln gpu-check ${bundle_commit:0:12}\">"
  for x in "$work"/xml/*.xml; do
    [[ -f "$x" ]] && grep -vE '^<\?xml|^<testsuites|^</testsuites>' "$x"
  done
  echo '</testsuites>'
} >"$out/junit.xml"
# Skipped test cases, from the XML, as "EXE<TAB>Suite.test<TAB>message".
# A CUDA skip is one for want of a device ("no usable CUDA device: ...",
# "no CUDA device: ..."), or any other skip in kiln_test_cuda except the
# tests of what happens without a GPU ("a GPU is present").
skipped_cases="$(for x in "$work"/xml/*.xml; do
  [[ -f "$x" ]] || continue
  awk -v exe="$(basename "$x" .xml)" '
    function attr(line, key,   m) { if (match(line, key "=\"[^\"]*\"")) return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 3); return "" }
    /<testsuite / { suite = attr($0, "name") }
    /<testcase / { tc = attr($0, "name"); if ($0 ~ /result="skipped"/) skip[suite "." tc] = "skipped" }
    /<skipped/ { m = attr($0, "message"); gsub(/&#x0A;/, " ", m); skip[suite "." tc] = m }
    END { for (k in skip) print exe "\t" k "\t" skip[k] }' "$x"
done | sort)"
if [[ -n "$skipped_cases" ]]; then
  cuda_list="$(awk -F'\t' '$3 ~ /[Nn]o (usable )?CUDA device/ || ($1 == "kiln_test_cuda" && $3 !~ /GPU is present/)' <<<"$skipped_cases")"
  cuda_skipped=$(grep -c . <<<"$cuda_list")
  other_skipped=$(( $(grep -c . <<<"$skipped_cases") - cuda_skipped ))
fi
{ echo "=== skipped test cases (executable, test, message)"; echo "${skipped_cases:-none}"; } >>"$out/tests.log"
say "tests: ${#tests[@]} executables in ${test_s} s: $passed passed, $failed failed, $skipped skipped ($cuda_skipped CUDA, $other_skipped other)"
for b in "${bad_exes[@]}"; do say "  $b"; done
if ((failed > 0)); then failures+=("$failed test(s)"); fi
if ((gpu_visible && cuda_skipped > 0)); then
  say "  FAIL: a GPU is visible but $cuda_skipped CUDA test(s) skipped, e.g. $(cut -f2,3 <<<"$cuda_list" | head -3 | tr '\t\n' ': ')"
  failures+=("CUDA tests skipped with a GPU visible")
elif ((!gpu_visible)); then
  not_run+=("$cuda_skipped CUDA tests (skipped: no device)" "the op table's CUDA cases (made only when a GPU is visible)")
fi
if ((other_skipped > 0)); then
  say "  skipped, not CUDA: $(grep -vxF -f <(echo "$cuda_list") <<<"$skipped_cases" | cut -f2,3 | head -4 | tr '\t' ' ' | sed 's/$/;/' | tr '\n' ' ')"
fi

# NCCL at world size 1 (tests/dist's one case that needs no launcher; two
# ranks on one GPU need mpirun and NCCL >= 2.30, which the GPU machine lacks:
# docs/distributed.md, "On a GPU").
dist_exe="$work/bin/kiln_dist_test_mpi"
if ((!gpu_visible)); then
  not_run+=("NCCL at world size 1")
elif [[ -x "$dist_exe" ]]; then
  timeout -k 5 60 "$dist_exe" --gtest_brief=1 --gtest_filter='MpiNccl.OneRank*' >"$work/logs/nccl.log" 2>&1; rc=$?
  { echo "=== NCCL at world size 1: rc $rc"; cat "$work/logs/nccl.log"; echo; } >>"$out/tests.log"
  if ((rc == 124 || rc == 137)); then say "NCCL, world size 1: TIMEOUT after 60 s"; timeouts+=("NCCL one rank")
  elif ((rc != 0)); then say "NCCL, world size 1: FAILED (rc $rc)"; failures+=("NCCL one rank")
  elif grep -q 'SKIPPED' "$work/logs/nccl.log"; then say "NCCL, world size 1: SKIPPED with a GPU visible: $(grep -m1 -i 'skip' "$work/logs/nccl.log")"; failures+=("NCCL one rank skipped")
  else say "NCCL, world size 1: PASS"; fi
fi

# --- 3. compute-sanitizer ---------------------------------------------------------------------
# One test per kernel family (kernels/*.cu, and cuBLASLt's matmul) for
# memcheck; one per kernel using shared memory (conv2d's tiles, the block
# reductions of reduce, softmax, cross_entropy, batch_norm) for racecheck.
# Each pattern's first matching test is taken, so the cases' names may change.
memcheck_patterns=(CudaKernels.Copy* CudaKernels.Fill* CudaKernels.Unary* CudaKernels.Binary* CudaKernels.Reduce*
  CudaKernels.Softmax* CudaKernels.IndexSelect* CudaKernels.Rand* CudaCrossEntropy.* CudaConv2dKernel.*
  '*CudaConv2d.Forward*' '*CudaPool2d.MaxPool*' '*CudaBatchNorm.*' '*CudaSgd.*' '*CudaAdam.*' CudaMatmul.*
  CudaTransfer.* '*CudaAttention.*' CudaAttentionDropout.* CudaEmbedding.Deterministic* CudaLayerNorm.*
  CudaSortCumsumMultinomial.*)
racecheck_patterns=(CudaConv2dKernel.* CudaKernels.Reduce* CudaKernels.Softmax* CudaCrossEntropy.* '*CudaBatchNorm.*'
  '*CudaAttention.*' CudaLayerNorm.* CudaSortCumsumMultinomial.*)
cuda_exe="$work/bin/kiln_test_cuda"
# first_tests PATTERN...: "A.b:C.d:..." of the first listed test matching each.
first_tests() {
  local listing filter="" p t
  listing="$("$cuda_exe" --gtest_list_tests 2>/dev/null | awk '/^[^ ]/ { s = $1 } /^  / { print s $1 }')"
  for p in "$@"; do
    t="$(while read -r n; do [[ "$n" == $p ]] && { echo "$n"; break; }; done <<<"$listing")"
    [[ -n "$t" ]] && filter="$filter:$t" || echo "gpu-check: sanitizer pattern '$p' matches no test" >&2
  done
  echo "${filter#:}"
}
sanitize() {   # TOOL CAP FILTER -> log in $work/logs/san-TOOL.log, status in .rc
  local tool=$1 cap=$2 filter=$3 extra=()
  [[ "$tool" == racecheck ]] && extra=(--racecheck-report hazard)
  timeout -k 10 "$cap" "$sanitizer" --tool "$tool" "${extra[@]}" --error-exitcode 86 --print-limit 50 \
    "$cuda_exe" --gtest_brief=1 --gtest_filter="$filter" >"$work/logs/san-$tool.log" 2>&1
  echo $? >"$work/logs/san-$tool.rc"
}
: >"$out/sanitizer.log"
if ((!gpu_visible)); then
  say "compute-sanitizer: NOT RUN (no GPU visible; ${sanitizer:-compute-sanitizer not found})"
  not_run+=("compute-sanitizer memcheck and racecheck")
elif [[ -z "$sanitizer" ]]; then
  say "compute-sanitizer: NOT FOUND in /usr/local/cuda"; failures+=("no compute-sanitizer")
else
  mfilter="$(first_tests "${memcheck_patterns[@]}" 2>>"$out/sanitizer.log")"
  rfilter="$(first_tests "${racecheck_patterns[@]}" 2>>"$out/sanitizer.log")"
  sanitize memcheck "$cap_memcheck" "$mfilter" &
  sanitize racecheck "$cap_racecheck" "$rfilter" &
  wait
  for tool in memcheck racecheck; do
    rc=$(cat "$work/logs/san-$tool.rc") log="$work/logs/san-$tool.log"
    cap=$([[ $tool == memcheck ]] && echo "$cap_memcheck" || echo "$cap_racecheck")
    filter=$([[ $tool == memcheck ]] && echo "$mfilter" || echo "$rfilter")
    n=$(tr ':' '\n' <<<"$filter" | grep -c .)
    errs="$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$log" | tail -1)"
    case $rc in
      0) state="PASS" ;;
      86) state="FAIL: ${errs:-errors reported}"; failures+=("$tool") ;;
      124|137) state="TIMEOUT after $cap s"; timeouts+=("$tool") ;;
      *) state="FAIL: the tests under it exited with $rc"; failures+=("tests under $tool") ;;
    esac
    say "compute-sanitizer $tool: $state ($n tests${errs:+; $errs})"
    { echo "=== $tool on $n tests: $state"; echo "filter: $filter"; tail -n 1500 "$log"; echo; } >>"$out/sanitizer.log"
  done
fi

# --- 4. the example trainers on the GPU, against the same runs on the CPU ------------------------
# A short char_gpt run on the repository's own text (the fortunes are not on
# the GPU machine) and 200 steps of the Fashion-MNIST CNN. The CPU runs the
# same seeds and settings in f32, so the tolerance covers bf16 autocast
# (char_gpt) and cuDNN's order of additions, not a different experiment.
char_gpt_args=(--data docs --steps 200 --eval-every 100 --eval-windows 256 --sample-tokens 80 --seed 0)
fashion_args=(--data "$KILN_FASHION_MNIST_DIR" --epochs 1 --max-steps 200 --seed 0)
# run_trainer LABEL EXE ARGS...: its output to logs/LABEL.log, its status echoed.
run_trainer() {
  local label=$1; shift
  timeout -k 5 "$cap_trainer_each" "$@" >"$work/logs/$label.log" 2>&1
  echo $?
}
# compare_trainer NAME METRIC PATTERN CONDITION TOLERANCE CUDA_FLAGS ARGS...:
# runs the bundle's NAME on the CPU and on cuda:0 (CUDA_FLAGS added there),
# reads METRIC from each log with the sed PATTERN, and passes when the
# Python CONDITION on c (the CPU's value) and g (the GPU's) holds.
compare_trainer() {
  local name=$1 metric=$2 pattern=$3 condition=$4 tol=$5 cuda_flags=$6; shift 6
  local exe="$work/bin/$name" cpu_rc gpu_rc cpu gpu ok
  cpu_rc=$(run_trainer "$name-cpu" "$exe" --device cpu "$@")
  # shellcheck disable=SC2086  # CUDA_FLAGS is a list of words
  gpu_rc=$(run_trainer "$name-cuda" "$exe" --device cuda:0 $cuda_flags "$@")
  cpu=$(sed -n "$pattern" "$work/logs/$name-cpu.log" | tail -1) gpu=$(sed -n "$pattern" "$work/logs/$name-cuda.log" | tail -1)
  ok=$(python3 -c "import sys; c, g = map(float, sys.argv[1:]); print(int($condition))" "${cpu:-nan}" "${gpu:-nan}" \
         2>/dev/null || echo 0)
  if ((gpu_rc == 124 || gpu_rc == 137)); then say "  $name on cuda: TIMEOUT after $cap_trainer_each s"; timeouts+=("$name on cuda")
  elif ((gpu_rc != 0)); then say "  $name on cuda: FAILED (rc $gpu_rc): $(tail -1 "$work/logs/$name-cuda.log")"; failures+=("$name on cuda")
  elif ((cpu_rc == 124 || cpu_rc == 137)); then say "  $name on cpu (the reference): TIMEOUT after $cap_trainer_each s; cuda's $metric ${gpu:-none}"; timeouts+=("$name on cpu")
  elif ((cpu_rc != 0)); then say "  $name on cpu (the reference): FAILED (rc $cpu_rc); cuda's $metric ${gpu:-none}"; failures+=("$name on cpu")
  elif ((ok)); then say "  $name: PASS: $metric cuda $gpu, cpu $cpu (tolerance $tol)"
  else say "  $name: FAIL: $metric cuda ${gpu:-none}, cpu ${cpu:-none} (tolerance $tol)"; failures+=("$name: cuda against cpu"); fi
  for d in cpu cuda; do
    { echo "=== trainer $name on $d"; tail -n 60 "$work/logs/$name-$d.log"; echo; } >>"$out/tests.log"
  done
}
if ((!gpu_visible)); then
  say "trainers: NOT RUN (no GPU visible)"
  not_run+=("char_gpt and the Fashion-MNIST trainer on cuda")
elif [[ ! -x "$work/bin/char_gpt" || ! -x "$work/bin/fashion_mnist" ]]; then
  say "trainers: the bundle lacks char_gpt or fashion_mnist"; failures+=("trainers missing from the bundle")
else
  say "trainers (each on cpu and on cuda, ${cap_trainer_each} s each):"
  compare_trainer char_gpt "validation loss (nats/byte)" 's/^final validation loss \([0-9.]*\) nats.*/\1/p' \
    'abs(c - g) <= 0.15 and g < 3.3' "0.15, and under 3.3" "--amp bf16" "${char_gpt_args[@]}"
  compare_trainer fashion_mnist "test accuracy" 's/^accuracy  *\([0-9.]*\) .*/\1/p' \
    'abs(c - g) <= 0.03 and g > 0.75' "0.03, and over 0.75" "" "${fashion_args[@]}"
fi

# --- 5. benchmarks ------------------------------------------------------------------------------
: >"$out/bench.jsonl"
{ echo "# kiln kernel benchmarks (quick mode)"; echo
  echo "device: ${gpus:-no GPU visible}  "; echo "date: $(date -u +%Y-%m-%d)  "; echo "commit: ${bundle_commit:0:12}"
} >"$out/bench.md"
export KILN_BENCH_QUICK=1
bench_ok=0 bench_bad=0 bench_skip=0
bs=$(date +%s)
bench_cmds=()
# In the order of what the 120 s are for, so that a stage that runs out
# leaves out the least wanted: issue 9's attention and layer norm against
# PyTorch's, the GPT-2 124M step in kiln and PyTorch, then the other kernel
# benchmarks, then the CNN training benchmark.
torch_ok=0
((gpu_visible)) && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null && torch_ok=1
first_kernels=(bench_attention bench_layer_norm)
for name in "${first_kernels[@]}"; do
  [[ -x "$work/bin/$name" ]] && bench_cmds+=("$work/bin/$name --quick")
done
# PyTorch on the same shapes and GPU, in the same JSON lines (the GPU machine has torch).
((torch_ok)) && bench_cmds+=("python3 benchmarks/kernels/torch_attention_layer_norm.py")
# GPT-2 124M training step in kiln under bf16 autocast: tokens/s and MFU, and
# its peer in PyTorch under torch.autocast bf16 (quick: batch 4, 2 warm-up
# and 5 timed steps, 4096^3 ceiling).
((gpu_visible)) && [[ -x "$work/bin/bench_gpt2_step" ]] && bench_cmds+=("$work/bin/bench_gpt2_step --quick")
((torch_ok)) && bench_cmds+=("python3 benchmarks/train/gpt_torch.py --preset gpt2 --dtype bf16 --quick")
# Every other kernel benchmark (benchmarks/kernels/*.cu), in quick mode.
for cu in benchmarks/kernels/*.cu; do
  name="$(basename "$cu" .cu)"; exe="$work/bin/$name"
  [[ " ${first_kernels[*]} " == *" $name "* ]] && continue
  [[ -x "$exe" ]] && bench_cmds+=("$exe --quick")
done
((gpu_visible)) && [[ -x "$work/bin/bench_train_cnn" ]] && bench_cmds+=("$work/bin/bench_train_cnn 20 cuda:0")
for cmd in "${bench_cmds[@]}"; do
  name=$(basename "${cmd%% *}")
  [[ "$name" == python3 ]] && name=$(basename "$(cut -d' ' -f2 <<<"$cmd")")
  left=$((cap_bench - ($(date +%s) - bs)))
  if ((left < 5)); then say "  $name: NOT RUN (the benchmark stage's $cap_bench s were used up)"; timeouts+=("$name"); continue; fi
  cap=$((left < cap_bench_each ? left : cap_bench_each))
  log="$(timeout -k 5 "$cap" $cmd 2>&1)"; rc=$?
  grep -E '^\{' <<<"$log" >>"$out/bench.jsonl"
  { echo; echo "## $name"; echo; grep -vE '^\{' <<<"$log" | tail -n 80; } >>"$out/bench.md"
  if ((rc == 124 || rc == 137)); then say "  $name: TIMEOUT after $cap s"; timeouts+=("$name")
  elif ((rc != 0)); then say "  $name: FAILED (rc $rc): $(tail -1 <<<"$log")"; failures+=("$name"); bench_bad=$((bench_bad + 1))
  elif grep -qi 'skipped' <<<"$log" && ! grep -qE '^\{' <<<"$log"; then bench_skip=$((bench_skip + 1))
  else bench_ok=$((bench_ok + 1)); fi
done
if ((gpu_visible)); then
  say "benchmarks: $bench_ok ran, $bench_bad failed, $bench_skip skipped; $(grep -c . "$out/bench.jsonl") measurements in $(( $(date +%s) - bs )) s"
  ((bench_skip > 0)) && failures+=("$bench_skip benchmark(s) skipped with a GPU visible")
else
  say "benchmarks: NOT RUN (no GPU visible): $bench_skip of ${#bench_cmds[@]} kernel benchmarks started, loaded their libraries and reported no CUDA device"
  ((bench_ok > 0)) && say "  but $bench_ok printed measurements without a visible GPU"
  not_run+=("the kernel benchmarks and the GPU training benchmarks (CNN, GPT-2 step)")
fi

# --- 6. summary -----------------------------------------------------------------------------------
if ((${#failures[@]})); then result="FAIL: $(IFS=';'; echo "${failures[*]}" | sed 's/;/; /g')"; status=1
elif ((${#timeouts[@]})); then result="INCOMPLETE: timed out: ${timeouts[*]}"; status=3
elif ((!gpu_visible)); then result="PASS on the CPU; NOTHING WAS CHECKED ON A GPU"; status=0
else result="PASS"; status=0; fi
((${#not_run[@]})) && say "not run, because no GPU was visible: $(IFS=';'; echo "${not_run[*]}" | sed 's/;/; /g')"
say "result: $result"
say "total: $(elapsed) s"
printf '%s\n' "kiln gpu-check summary ($(date -u +%Y-%m-%dT%H:%M:%SZ))" "${summary[@]}" >"$out/summary.txt"
echo
echo "=== summary (also $out/summary.txt) ==="
cat "$out/summary.txt"
exit $status
