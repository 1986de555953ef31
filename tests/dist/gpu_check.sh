#!/usr/bin/env bash
# The data-parallel checks a GPU machine has to run (docs/distributed.md,
# "On a GPU"), on a build made there (tools/gpu-check.sh's build-gpu):
#   tests/dist/gpu_check.sh BUILD OUTDIR
# 1. NCCL at world size 1 (MpiNccl.OneRank*, no launcher)
# 2. two ranks on the one GPU through NCCL: collectives, DDP and ZeRO-1
#    against one process on the whole batch (MpiNccl.*). Needs NCCL >= 2.30
#    with NCCL_MULTI_RANK_GPU_ENABLE=1 (2.28, the toolkit's, stops with
#    "Duplicate GPU detected"); KILN_NCCL_LIB names the directory with that
#    libnccl.so.2 (the nvidia-nccl-cu13 wheel's nvidia/nccl/lib), else the
#    wheel python3 imports is used, else the library the build linked.
# 3. the benchmarks: all-reduce bandwidth and the DDP step breakdown on 2 ranks
# 4. the Fashion-MNIST trainer: 2 ranks x batch 64 against 1 x batch 128
# Writes OUTDIR/dist_gpu.log and OUTDIR/dist_bench.jsonl. Needs mpirun.
set -uo pipefail
build="${1:?usage: tests/dist/gpu_check.sh BUILD OUTDIR}"
out="${2:?usage: tests/dist/gpu_check.sh BUILD OUTDIR}"
mkdir -p "$out"
cd "$(dirname "$0")/../.."
log="$out/dist_gpu.log"
jsonl="$out/dist_bench.jsonl"
: >"$log"
: >"$jsonl"
say() { echo "$*" | tee -a "$log"; }
run() { say "\$ $*"; timeout "${KILN_DIST_STEP_TIMEOUT:-120}" "$@" >>"$log" 2>&1; say "(exit $?)"; }

exe="$build/tests/dist/kiln_test_dist_mpi"
mpiexec="$(command -v mpirun || true)"
say "mpirun: ${mpiexec:-NOT FOUND} $([[ -n $mpiexec ]] && mpirun --version 2>&1 | head -1)"
[[ -x "$exe" ]] || { say "no $exe (built without MPI?): nothing to check"; exit 1; }

nccl_lib="${KILN_NCCL_LIB:-}"
if [[ -z "$nccl_lib" ]]; then
  nccl_lib="$(python3 -c 'import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], "lib"))' 2>/dev/null || true)"
fi
if [[ -n "$nccl_lib" && -f "$nccl_lib/libnccl.so.2" ]]; then
  export LD_LIBRARY_PATH="$nccl_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  v=$(python3 -c 'import ctypes, sys; l = ctypes.CDLL(sys.argv[1]); v = ctypes.c_int(); l.ncclGetVersion(ctypes.byref(v)); print(v.value)' "$nccl_lib/libnccl.so.2" 2>/dev/null || echo unknown)
  say "NCCL library: $nccl_lib/libnccl.so.2 (ncclGetVersion: $v; 23007 = 2.30.7)"
else
  say "NCCL library: the one the build linked"
fi
export NCCL_MULTI_RANK_GPU_ENABLE=1
root=()
[[ $(id -u) -eq 0 ]] && root=(--allow-run-as-root)
mpi=("$mpiexec" "${root[@]}" --oversubscribe -np 2 -x LD_LIBRARY_PATH -x NCCL_MULTI_RANK_GPU_ENABLE -x OMP_NUM_THREADS=4)

say "=== 1. NCCL, world size 1"
run "$exe" --gtest_filter='MpiNccl.OneRank*'
say "=== 2. NCCL, 2 ranks on one GPU (skips name the reason)"
run tests/dist/mpi_launch.sh "$mpiexec" 2 "$exe" --gtest_filter='MpiNccl.*:MpiNcclBootstrap.*'
# NCCL's docs: limit channels if two ranks on one GPU hang.
NCCL_MAX_CTAS=1 run tests/dist/mpi_launch.sh "$mpiexec" 2 "$exe" --gtest_filter='MpiNccl.AllRanks*'

say "=== 3. benchmarks"
run "${mpi[@]}" "$build/benchmarks/bench_allreduce" --device cuda --max-bytes 1073741824 --seconds 0.2 2>>"$jsonl"
for m in mlp cnn; do
  run "${mpi[@]}" "$build/benchmarks/bench_ddp_step" --device cuda --model "$m" --steps 50 2>>"$jsonl"
done

say "=== 4. Fashion-MNIST: 2 ranks x 64 against 1 x 128, 300 steps"
fm="$build/examples/fashion_mnist/fashion_mnist"
if [[ -x "$fm" && -d /usr/share/datasets/fashion-mnist ]]; then
  run "$fm" --device cuda --batch-size 128 --max-steps 300 --save-weights "$out/fm_one.safetensors"
  run "${mpi[@]}" "$fm" --device cuda --batch-size 64 --max-steps 300 --compare-with "$out/fm_one.safetensors"
  run "${mpi[@]}" "$fm" --device cuda --batch-size 64 --max-steps 300 --zero --compare-with "$out/fm_one.safetensors"
  rm -f "$out/fm_one.safetensors"
else
  say "no Fashion-MNIST data or trainer: step 4 skipped"
fi
grep -E "max \|w|PASSED|FAILED|SKIPPED|Skipped|refuses|Duplicate GPU|error" "$log" | sort | uniq -c | tee "$out/dist_summary.txt"
