#!/usr/bin/env bash
# char_gpt's default model, training tokens/s on the CPU, kiln beside
# PyTorch in one run: kiln (build/benchmarks/bench_char_gpt), a current
# PyTorch eager and torch.compile'd (the modern-torch virtual environment,
# ../shared/tools/modern-torch.sh, when it is there) and Debian's
# python3-torch 1.13 eager (when it is installed). Every implementation runs
# once per round, in turn, so that a change in the machine's load hits all
# of them alike; the table gives the median over the rounds. Each run is a
# fresh process: warm-up steps (and torch.compile's compilation) are not
# timed. Prints the JSON lines, then a Markdown table.
#   benchmarks/train/bench-char-gpt.sh [BUILD_DIR] [STEPS] [ROUNDS] [THREADS...]
# THREADS: the thread counts to run (default: the number of cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build} steps=${2:-40} rounds=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
threads_list=("$@")
[[ ${#threads_list[@]} -gt 0 ]] || threads_list=("$(nproc)")
export KILN_GIT_COMMIT="${KILN_GIT_COMMIT:-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
modern=/var/tmp/modern-torch/run
impls=("kiln")
if [[ -x $modern ]] && "$modern" python3 -c "import torch" 2>/dev/null; then impls+=("modern" "modern-compiled"); fi
# Debian's python3-torch (1.13) is /usr/bin/python3's, whatever python3 is first on PATH.
debian_python=${DEBIAN_PYTHON:-/usr/bin/python3}
"$debian_python" -c "import torch" 2>/dev/null && impls+=("debian")
run() {  # impl threads
  case $1 in
    kiln) OMP_NUM_THREADS=$2 "$build/benchmarks/bench_char_gpt" "$steps" ;;
    modern) "$modern" python3 "$root/benchmarks/train/gpt_torch.py" --steps "$steps" --threads "$2" 2>/dev/null ;;
    modern-compiled)
      "$modern" python3 "$root/benchmarks/train/gpt_torch.py" --steps "$steps" --threads "$2" --compile 2>/dev/null ;;
    debian) "$debian_python" "$root/benchmarks/train/gpt_torch.py" --steps "$steps" --threads "$2" 2>/dev/null ;;
  esac
}
echo "# $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
     "commit $KILN_GIT_COMMIT, $steps timed steps per run, $rounds rounds; load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
lines=()
for ((r = 1; r <= rounds; r++)); do
  for threads in "${threads_list[@]}"; do
    for impl in "${impls[@]}"; do
      if ! line=$(run "$impl" "$threads" | tail -1) || [[ "$line" != "{"* ]]; then
        echo "# $impl ($threads threads, round $r) failed: no JSON line"; continue
      fi
      line=${line%\}}", \"round\": $r, \"load\": $(cut -d' ' -f1 /proc/loadavg)}"
      echo "$line"
      lines+=("$line")
    done
  done
done
echo "# load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ " ${impls[*]} " == *" debian "* ]] || echo "# Debian's python3-torch is not installed: no PyTorch 1.13 row"
echo
printf '%s\n' "${lines[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
groups = {}
for j in rows:
    groups.setdefault((j["version"], j["threads"]), []).append(j)
kiln = {t: statistics.median(x["tokens_per_sec"] for x in g) for (v, t), g in groups.items() if v == "kiln"}
print("| implementation | threads | ms/step (median) | tokens/s (median) | tokens/s per round | kiln / this |")
print("|---|---|---|---|---|---|")
for (v, t), g in groups.items():
    tps = statistics.median(x["tokens_per_sec"] for x in g)
    ms = statistics.median(x["ms_per_step"] for x in g)
    per = ", ".join(format(x["tokens_per_sec"], ",.0f") for x in g)
    ratio = f"{kiln[t] / tps:.2f}" if t in kiln else "-"
    print(f"| {v} | {t} | {ms:.1f} | {tps:,.0f} | {per} | {ratio} |")
'
