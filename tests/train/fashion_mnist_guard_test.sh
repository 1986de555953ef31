#!/usr/bin/env bash
# The Fashion-MNIST trainer's --guard, --tensorboard and --report together:
# a run with a poisoned batch (NaN inputs at step 5) skips that step, goes
# on, and leaves an HTML report and a TensorBoard event file.
#   tests/train/fashion_mnist_guard_test.sh TRAINER WORKDIR
set -euo pipefail
trainer=$1 work=$2
data=/usr/share/datasets/fashion-mnist
[[ -d $data ]] || { echo "no $data (Debian's dataset-fashion-mnist): skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
out=$("$trainer" --device cpu --epochs 1 --max-steps 30 --guard rollback --poison-step 5 \
        --report "$work/run.html" --tensorboard "$work/tb" 2>&1)
fail() { echo "FAIL: $1"; echo "$out" | tail -20; exit 1; }
grep -q "guard: step 5 skip: the loss is nan" <<<"$out" || fail "no skip at step 5"
[[ $(grep -c "guard: step .* skip" <<<"$out") -eq 1 ]] || fail "more than one skip"
grep -q "^accuracy" <<<"$out" || fail "no final evaluation"
grep -q "<svg" "$work/run.html" || fail "no SVG in the report"
grep -q "the loss is nan; the step is skipped" "$work/run.html" || fail "the skip is not in the report"
ls "$work"/tb/events.out.tfevents.* > /dev/null 2>&1 || fail "no event file"
echo "ok: skipped the poisoned step, wrote $work/run.html and $(ls "$work"/tb)"
