#!/usr/bin/env bash
# The char_gpt trainer end to end, briefly: a tiny model on a small text
# (the repository's README and LICENSE, so nothing needs installing) for a
# few dozen steps. Its validation loss must fall from the first validation
# to the last and end below the uniform 5.545 nats/byte; a checkpoint must
# be written and a resumed run must go on from its step; a sample must be
# printed; --amp bf16 and --amp f16 (autocast, and for f16 the GradScaler,
# whose state goes into the checkpoint) must train too.
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
for amp in bf16 f16; do
  out=$("$trainer" "${common[@]}" --steps 40 --amp "$amp" --checkpoint-dir "$work/ckpt_$amp" 2>&1) || fail "--amp $amp failed"
  grep -q "amp $amp" <<<"$out" || fail "--amp $amp: the configuration line does not say so"
  grep -q "autocast runs f32" <<<"$out" || fail "--amp $amp on the CPU: no note that f32 is the faster choice"
  val=$(grep -o "val_loss [0-9.]*" <<<"$out" | tail -1 | awk '{print $2}')
  awk -v v="$val" 'BEGIN { exit !(v < 5.545) }' || fail "--amp $amp: validation loss $val not below uniform"
done
grep -q "grad scaler: scale" <<<"$out" || fail "--amp f16: no grad scaler line"
out=$("$trainer" "${common[@]}" --steps 50 --amp f16 --resume "$work/ckpt_f16/last.safetensors" 2>&1) \
  || fail "--amp f16 resume failed"
grep -q "resumed from .* at step 40" <<<"$out" || fail "--amp f16 did not resume at step 40"
echo "ok: validation loss $first -> $last nats/byte, checkpoint, resume, --amp bf16 and f16"
