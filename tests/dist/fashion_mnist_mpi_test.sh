#!/usr/bin/env bash
# The Fashion-MNIST trainer under mpirun (ctest, label mpi):
#   tests/dist/fashion_mnist_mpi_test.sh MPIEXEC TRAINER WORKDIR
# 1. 2 ranks x batch 32 (SyncBatchNorm) end a few steps at the weights of one
#    process on batch 64, with and without ZeRO-1 (f32 rounding: < 1e-5;
#    longer runs drift apart as any two reduction orders do, docs/distributed.md)
# 2. 2 ranks: 3 steps, checkpoint, resume to 6 = 6 steps straight (bitwise),
#    and a ZeRO-1 checkpoint resumed without ZeRO-1 (rounding-level)
# 3. resuming a 2-rank checkpoint in one process is refused
# Skips (exit 77) when the Fashion-MNIST files are not installed.
set -uo pipefail
mpiexec=$1 trainer=$(realpath "$2") work=$3
here=$(cd "$(dirname "$0")" && pwd)
data=/usr/share/datasets/fashion-mnist
[[ -d $data ]] || { echo "no $data (Debian's dataset-fashion-mnist): skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
launch=("$here/mpi_launch.sh" "$mpiexec" 2)
fail=0
# The "max |w - w(file)| = X" line's X must be below $2.
check() {
  local what=$1 limit=$2 out=$3
  local x
  x=$(grep -o 'max |w - w([^)]*)| = [0-9.e+-]*' <<<"$out" | awk '{print $NF}')
  if [[ -z $x ]]; then echo "FAIL $what: no comparison printed"; echo "$out" | tail -20; fail=1; return; fi
  if awk -v x="$x" -v l="$limit" 'BEGIN { exit !(x < l) }'; then echo "ok   $what: max |w - w_ref| = $x (< $limit)"
  else echo "FAIL $what: max |w - w_ref| = $x (limit $limit)"; fail=1; fi
}
common=(--device cpu --workers 0 --seed 3)
OMP_NUM_THREADS=1 "$trainer" "${common[@]}" --batch-size 64 --max-steps 4 --save-weights one.safetensors >one.log 2>&1 ||
  { echo "FAIL one process"; tail -20 one.log; exit 1; }
check "2 ranks x 32 vs 1 x 64, 4 steps" 1e-5 "$("${launch[@]}" "$trainer" "${common[@]}" --batch-size 32 --max-steps 4 --compare-with one.safetensors 2>&1)"
check "2 ranks x 32 ZeRO-1 vs 1 x 64, 4 steps" 1e-5 "$("${launch[@]}" "$trainer" "${common[@]}" --batch-size 32 --max-steps 4 --zero --compare-with one.safetensors 2>&1)"

"${launch[@]}" "$trainer" "${common[@]}" --batch-size 32 --max-steps 6 --save-weights straight.safetensors >straight.log 2>&1 ||
  { echo "FAIL 6 steps"; tail -20 straight.log; exit 1; }
for zero in "" "--zero"; do
  rm -rf ckpt
  "${launch[@]}" "$trainer" "${common[@]}" --batch-size 32 --max-steps 3 $zero --checkpoint-dir ckpt >first.log 2>&1 ||
    { echo "FAIL first half $zero"; tail -20 first.log; fail=1; continue; }
  # Bitwise for plain DDP; a ZeRO-1 update is the same arithmetic on a flat shard (rounding-level at most).
  limit=1e-12
  [[ -n $zero ]] && limit=1e-6
  check "resumed at step 3 ${zero:-(plain)} -> plain, 6 steps" $limit \
    "$("${launch[@]}" "$trainer" "${common[@]}" --batch-size 32 --max-steps 6 --resume ckpt/last.safetensors --compare-with straight.safetensors 2>&1)"
done
if out=$(OMP_NUM_THREADS=1 "$trainer" "${common[@]}" --batch-size 64 --max-steps 6 --resume ckpt/last.safetensors 2>&1); then
  echo "FAIL a 2-rank checkpoint resumed in one process"; fail=1
elif grep -q "saved by 2 ranks" <<<"$out"; then echo "ok   a 2-rank checkpoint is refused by one process"
else echo "FAIL unexpected error: $out"; fail=1; fi
exit $fail
