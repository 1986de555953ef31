#!/usr/bin/env bash
# char_gpt's default model, training tokens/s on the CPU, kiln beside
# PyTorch in one run: kiln (build/benchmarks/bench_char_gpt), a current
# PyTorch (the modern-torch virtual environment, ../shared/tools/modern-torch.sh,
# when it is there) and Debian's python3-torch 1.13 (when it is installed),
# each on 1 thread and on all cores, alternating so that a change in the
# machine's load hits every implementation alike. Prints the JSON lines,
# then a Markdown table with the load average before and after each line.
#   benchmarks/train/bench-char-gpt.sh [BUILD_DIR] [STEPS] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build} steps=${2:-30} rounds=${3:-2}
export KILN_GIT_COMMIT="${KILN_GIT_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
modern=/var/tmp/modern-torch/run
cores=$(nproc)
impls=("kiln")
[[ -x $modern ]] && "$modern" python3 -c "import torch" 2>/dev/null && impls+=("modern")
python3 -c "import torch" 2>/dev/null && impls+=("debian")
load() { cut -d' ' -f1 /proc/loadavg; }
run() {  # impl threads
  case $1 in
    kiln) OMP_NUM_THREADS=$2 "$build/benchmarks/bench_char_gpt" "$steps" ;;
    modern) "$modern" python3 "$root/benchmarks/train/gpt_torch.py" --steps "$steps" --threads "$2" 2>/dev/null ;;
    debian) python3 "$root/benchmarks/train/gpt_torch.py" --steps "$steps" --threads "$2" 2>/dev/null ;;
  esac
}
rows=()
for ((r = 1; r <= rounds; r++)); do
  for threads in 1 "$cores"; do
    for impl in "${impls[@]}"; do
      before=$(load)
      line=$(run "$impl" "$threads")
      after=$(load)
      echo "$line"
      rows+=("$r|$before|$after|$line")
    done
  done
done
[[ " ${impls[*]} " == *" debian "* ]] || echo "(Debian's python3-torch is not installed: no PyTorch 1.13 row)"
echo
echo "| round | implementation | threads | ms/step | tokens/s | load before / after |"
echo "|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
  IFS='|' read -r r before after line <<<"$row"
  python3 - "$r" "$before" "$after" "$line" <<'PY'
import json, sys
r, before, after, line = sys.argv[1:5]
j = json.loads(line)
print(f"| {r} | {j['version']} | {j['threads']} | {j['ms_per_step']:.1f} | {j['tokens_per_sec']:,.0f} | {before} / {after} |")
PY
done
