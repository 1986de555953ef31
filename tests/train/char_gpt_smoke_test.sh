#!/usr/bin/env bash
# The char_gpt trainer end to end, briefly: a tiny model on a small text
# (the repository's README and LICENSE, so nothing needs installing) for a
# few dozen steps. Its validation loss must fall from the first validation
# to the last and end below the uniform 5.545 nats/byte; a checkpoint must
# be written and a resumed run must go on from its step; --amp must refuse
# while kiln has no mixed precision; a sample must be printed.
#   tests/train/char_gpt_smoke_test.sh TRAINER REPO_ROOT WORKDIR
set -euo pipefail
trainer=$1 root=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cat "$root/README.md" "$root/LICENSE" > "$work/text.txt"
common=(--data "$work/text.txt" --device cpu --layers 1 --heads 2 --width 32 --context 32 --batch-size 8
        --lr 3e-3 --warmup 5 --eval-every 40 --eval-windows 64 --sample-tokens 40 --log "$work/log.csv")
out=$("$trainer" "${common[@]}" --steps 120 --checkpoint-dir "$work/ckpt" 2>&1)
fail() { echo "FAIL: $1"; echo "$out" | tail -25; exit 1; }
vals=$(grep -o "val_loss [0-9.]*" <<<"$out" | awk '{print $2}')
[[ $(wc -l <<<"$vals") -eq 3 ]] || fail "expected 3 validations"
first=$(head -1 <<<"$vals") last=$(tail -1 <<<"$vals")
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f && l < 5.545) }' || fail "val loss did not fall ($first -> $last)"
grep -q "^--- sample" <<<"$out" || fail "no sample"
grep -q "tokens/s" <<<"$out" || fail "no tokens/s"
[[ -f $work/ckpt/last.safetensors ]] || fail "no checkpoint"
[[ $(wc -l < "$work/log.csv") -ge 121 ]] || fail "the log has fewer than 120 steps"
out=$("$trainer" "${common[@]}" --steps 160 --resume "$work/ckpt/last.safetensors" 2>&1) || fail "resume failed"
grep -q "resumed from .* at step 120" <<<"$out" || fail "did not resume at step 120"
[[ $(grep -c "val_loss" <<<"$out") -eq 1 ]] || fail "the resumed run should validate once (step 160)"
if out=$("$trainer" "${common[@]}" --steps 1 --amp bf16 2>&1); then fail "--amp bf16 did not refuse"; fi
grep -q "mixed precision" <<<"$out" || fail "--amp refused without saying why"
echo "ok: validation loss $first -> $last nats/byte, checkpoint, resume and --amp refusal"
