#!/usr/bin/env bash
# tools/gpu-report.py on the invented OUTDIR in tests/data/gpu_report (its
# README: the numbers are made up, not measurements): the cells it computes
# (ratios, MFU, percents), "not measured" for the records the fixture leaves
# out, the docs/gpu.md status row, the headline lines, that it refuses to
# overwrite without --force and to report a run that saw no GPU.
#   tests/tools/gpu_report_test.sh REPO_ROOT WORKDIR
# Exit 77 (skipped) without python3.
set -uo pipefail
root=$1 work=$2
command -v python3 >/dev/null || { echo "no python3: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
tool="$root/tools/gpu-report.py" fixture="$root/tests/data/gpu_report" report="$work/report.md"
failures=0
fail() { echo "FAIL: $1"; failures=$((failures + 1)); }
# has FILE LINE: FILE holds LINE exactly, as a whole line.
has() { grep -qxF -- "$2" "$1" || fail "$(basename "$1") lacks the line: $2"; }

python3 "$tool" "$fixture" --out "$report" >"$work/stdout" 2>"$work/stderr" || { cat "$work/stderr"; fail "rc $?"; }
[[ -f $report ]] || { echo "FAIL: no report written"; cat "$work/stderr"; exit 1; }

# The status row: the date of env.txt, the GPU's name, the bundle commit,
# pass / fail / skip, each sanitizer's verdict, the benchmarks line with
# the 11 that timed out or did not run.
has "$work/stdout" '| 2026-12-04 | FIXTURE GPU | `0123456789ab` | 7321 / 0 / 25 | PASS (22 tests) | FAIL: 1 hazard displayed (1 error, 0 warnings) (8 tests) | 5 ran, 0 failed, 0 skipped; 58 measurements; 11 timed out, failed or not run ([results](../benchmarks/results/report.md)) |'
# Headline lines: attention ratios 0.80..1.20 (median of the 8 forward
# shapes' PyTorch ms / kiln ms), the backward's missing shape, the layer
# norm's missing PyTorch bf16 backward, GPT-2 tokens/s ratio 150000/180000.
has "$work/stdout" '- attention forward, bf16, kiln / PyTorch SDPA (> 1: kiln faster): 0.80 to 1.20, median 0.97 over 8 of 8 shapes; kiln at 24.9% to 53.0% of the bf16 cuBLAS ceiling (600.0 TFLOP/s)'
has "$work/stdout" '- attention backward, bf16, kiln / PyTorch SDPA (> 1: kiln faster): 0.60 to 0.80, median 0.70 over 7 of 8 shapes; kiln at 12.4% to 27.5% of the bf16 cuBLAS ceiling (600.0 TFLOP/s); not measured: [1, 4, 2048, 128] causal'
has "$work/stdout" '- layer norm backward, kiln / PyTorch: [8192, 768] f32 0.95 (kiln 64.5% of copy), [8192, 768] bf16 not measured'
has "$work/stdout" '- GPT-2 124M step, bf16 autocast, batch 4 x 1024: kiln 150,000 tokens/s (MFU 20.4%), PyTorch 2.9.1+cu130 eager 180,000 tokens/s (MFU 23.7%); kiln / PyTorch 0.83'
has "$work/stdout" '- fashion_mnist: PASS: test accuracy cuda 0.8561, cpu 0.8549 (tolerance 0.03, and over 0.75)'

# The results file: the header, summary.txt verbatim, then the tables.
has "$report" '# FIXTURE GPU, 2026-12-04: tools/gpu-check.sh'
has "$report" 'Bundle commit: `0123456789abcdef0123456789abcdef01234567`  '
while IFS= read -r line; do has "$report" "$line"; done <"$fixture/summary.txt"
# Attention: the production forward kernel (not kiln_general), 0.01200 / 0.01000 ms.
has "$report" '| [1, 32, 512, 64] | tensor_core | 214.75 | 178.96 | 1.20 | 35.8 | 29.3 |'
has "$report" '| [1, 8, 2048, 64] causal | tensor_core | 238.61 | 298.26 | 0.80 | 39.8 | 48.9 |'
# kiln's backward failed validation at that shape: not measured, and why.
has "$report" '| [1, 4, 2048, 128] causal | not measured | 178.96 | not measured | not measured | 29.3 |'
has "$report" '- [1, 4, 2048, 128] causal, kiln: failed validation in bench_attention (`[1, 4, 2048, 128] causal/kiln_bwd: INVALID at 37: got 0.3671875 want 0.21337890625`)'
# Layer norm: 0.01650 / 0.01500 ms; PyTorch's bf16 backward never came (timeout).
has "$report" '| [8192, 768] | f32 | forward | 3355.4 | 3050.4 | 1.10 | 86.0 | 79.2 |'
has "$report" '| [8192, 768] | bf16 | backward | 2097.2 | not measured | not measured | 53.8 | not measured |'
has "$report" '- [8192, 768] bf16 backward, PyTorch: torch_attention_layer_norm.py: TIMEOUT after 30 s'
# GPT-2: MFU of each, as a percent, and the tokens/s ratio.
has "$report" '| kiln | 4 x 1024 | 5 | 27.31 | 150,000 | 120.49 | 590.0 | 20.4% | 10.9876 |'
has "$report" '| PyTorch 2.9.1+cu130 eager | 4 x 1024 | 5 | 22.76 | 180,000 | 144.59 | 610.0 | 23.7% | 10.9912 |'
has "$report" 'kiln / PyTorch eager, tokens/s: 0.83.'
# Other benchmarks: bench.md's table as it is, its heading one level down;
# one that never ran, with summary.txt's reason.
has "$report" '#### batch_norm on FIXTURE GPU (copy ceiling 3900 GB/s, commit 0123456789ab)'
has "$report" '| kiln | N32_C64_H56_W56 | bf16 | 0.0140 | 2752.5 | 70.6 | 1.214x |'
has "$report" "not measured (bench_matmul: NOT RUN (the benchmark stage's 120 s were used up))."
has "$report" 'not measured (bench_conv2d: TIMEOUT after 15 s).'
grep -q 'bench_attention$' <(grep '^### ' "$report") && fail "bench_attention's section repeated under the other benchmarks"

# An existing file is kept unless --force.
cp "$report" "$work/before.md"
echo "changed" >>"$report"
python3 "$tool" "$fixture" --out "$report" >/dev/null 2>&1; rc=$?
[[ $rc -eq 1 ]] || fail "overwriting without --force: rc $rc, want 1"
[[ $(tail -1 "$report") == changed ]] || fail "the existing file was overwritten without --force"
python3 "$tool" "$fixture" --out "$report" --force >/dev/null 2>&1 || fail "--force: rc $?"
cmp -s "$report" "$work/before.md" || fail "--force did not write the same report again"

# A run that saw no GPU has nothing to report.
mkdir -p "$work/nogpu"
printf '%s\n' 'kiln gpu-check summary (2026-12-03T08:39:39Z)' \
  'device: NO GPU VISIBLE (there is no nvidia-smi, so no driver)' >"$work/nogpu/summary.txt"
python3 "$tool" "$work/nogpu" --out "$work/nogpu.md" >/dev/null 2>&1; rc=$?
[[ $rc -eq 2 && ! -e $work/nogpu.md ]] || fail "no-GPU summary: rc $rc and a file written, want rc 2 and none"

if ((failures)); then
  echo "--- stdout"; cat "$work/stdout"; echo "--- $failures failure(s); the report is $report"
  exit 1
fi
echo "ok: $(grep -c 'not measured' "$report") 'not measured' cells and notes; status row and headline as expected"
