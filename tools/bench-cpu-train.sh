#!/usr/bin/env bash
# CPU training steps of the models in benchmarks/train/train_models.h in kiln,
# LibTorch 1.13 (when built) and PyTorch 2.15 eager and torch.compile, in one
# invocation. Each round runs every implementation once per model, in turn
# (kiln, LibTorch, PyTorch; eager and compiled alternate inside the Python
# process), so slow phases of a shared machine hit them all; the table gives
# each one's median over rounds and kiln's step time over the faster PyTorch.
# For the MLP, whose step is mostly matrix products, each round also times
# the step's products alone in kiln and in PyTorch (MKL); the faster is the
# ceiling the issue sets beside the ratio, and the summary gives the share of
# it that kiln's whole step reaches.
# char_gpt (the default model of examples/char_gpt) runs in the same rounds:
# benchmarks/train/bench_char_gpt against benchmarks/train/gpt_torch.py in
# PyTorch 2.15 eager and compiled, and in Debian's PyTorch 1.13 (Python,
# /usr/bin/python3, where installed; its row is pytorch-1.13..., not a peer
# of the ratio). Its "samples/s" column counts tokens (16 x 64 a step).
#   tools/bench-cpu-train.sh [BUILD_DIR] [ROUNDS] [MODELS...]
# Environment: THREADS (default: nproc), WINDOWS (5), STEPS (20),
# PYTHON (python3; a command that runs a Python with PyTorch 2.x).
set -euo pipefail
build="${1:-build}"
rounds="${2:-3}"
shift 2 || true
models=("$@")
[[ ${#models[@]} -gt 0 ]] || models=(cnn cnn_wide mlp char_gpt)
threads="${THREADS:-$(nproc)}"
windows="${WINDOWS:-5}"
steps="${STEPS:-20}"
read -r -a python <<< "${PYTHON:-python3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
export KILN_GIT_COMMIT="${KILN_GIT_COMMIT:-$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
lines="$(mktemp)"
trap 'rm -f "$lines"' EXIT
echo "# $(date -u +%FT%TZ) commit $KILN_GIT_COMMIT, $threads threads, $rounds rounds x $windows windows x $steps steps" >&2
char_gpt_steps="${CHAR_GPT_STEPS:-60}"
debian_python="${DEBIAN_PYTHON:-/usr/bin/python3}"
# bench_char_gpt's and gpt_torch.py's JSON lines in this script's fields:
# versions kiln, torch-<v>-eager|compiled (2.x) or pytorch-<v>-eager (1.13), tokens as samples.
char_gpt_line() {
  python3 -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    v = d["version"]
    if v.startswith("pytorch "):
        _, ver, mode = v.split()
        ver = ver.split("+")[0]
        v = ("torch-" if not ver.startswith("1.") else "pytorch-") + ver + "-" + mode
    print(json.dumps({"bench": "train_char_gpt", "version": v, "threads": d["threads"],
                      "batch": d["batch"] * d["context"], "ms_per_step": d["ms_per_step"]}))
'
}
run_char_gpt() {
  OMP_NUM_THREADS="$threads" "$build/benchmarks/bench_char_gpt" "$char_gpt_steps" | char_gpt_line | tee -a "$lines"
  for compile in "" --compile; do
    "${python[@]}" "$here/benchmarks/train/gpt_torch.py" --steps "$char_gpt_steps" --threads "$threads" $compile \
      2>/dev/null | char_gpt_line | tee -a "$lines"
  done
  if "$debian_python" -c "import torch" 2>/dev/null; then
    "$debian_python" "$here/benchmarks/train/gpt_torch.py" --steps "$char_gpt_steps" --threads "$threads" \
      2>/dev/null | char_gpt_line | tee -a "$lines"
  fi
}
for ((r = 1; r <= rounds; ++r)); do
  for m in "${models[@]}"; do
    echo "# round $r $m: $(uptime | sed 's/.*load/load/')" >&2
    if [[ $m == char_gpt ]]; then
      run_char_gpt
      continue
    fi
    "$build/benchmarks/bench_train_models" "$m" "$windows" "$steps" "$threads" | tee -a "$lines"
    if [[ -x "$build/benchmarks/peer/bench_train_models_libtorch" ]]; then
      "$build/benchmarks/peer/bench_train_models_libtorch" "$m" "$windows" "$steps" "$threads" | tee -a "$lines"
    fi
    "${python[@]}" "$here/benchmarks/train/train_models_torch.py" "$m" "$windows" "$steps" "$threads" 2>/dev/null \
      | tee -a "$lines"
    if [[ $m == mlp ]]; then
      "$build/benchmarks/bench_train_models" mlp_products "$windows" "$steps" "$threads" | tee -a "$lines"
      "${python[@]}" "$here/benchmarks/train/train_models_torch.py" mlp_products "$windows" "$steps" "$threads" \
        2>/dev/null | tee -a "$lines"
    fi
  done
done
python3 - "$lines" <<'PY'
import collections, json, statistics, sys
runs = collections.defaultdict(list)
threads = {}
batch = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    runs[(d["bench"], d["version"])].append(d["ms_per_step"])
    threads[(d["bench"], d["version"])] = d["threads"]
    batch[d["bench"]] = d["batch"]
print("\n| model | implementation | threads | ms/step (median of rounds) | rounds' medians | samples/s | kiln / this |")
print("|---|---|---|---|---|---|---|")
benches = sorted({b for b, _ in runs}, key=lambda b: list(dict.fromkeys(b for b, _ in runs)).index(b))
summary = []
for b in benches:
    kiln = statistics.median(runs[(b, "kiln")]) if (b, "kiln") in runs else None
    torch_best = None
    products = [statistics.median(ms) for (bb, v), ms in runs.items() if bb == b and v.startswith("products-")]
    for (bb, v), ms in runs.items():
        if bb != b:
            continue
        med = statistics.median(ms)
        if v.startswith("torch-"):
            torch_best = med if torch_best is None else min(torch_best, med)
        ratio = f"{kiln / med:.2f}" if kiln else "-"
        print(f"| {b[6:]} | {v} | {threads[(bb, v)]} | {med:.2f} | {', '.join(f'{x:.2f}' for x in ms)} | "
              f"{1e3 * batch[b] / med:,.0f} | {ratio} |")
    if kiln and torch_best:
        # Each round's own ratio too: the host's speed drifts between rounds,
        # and a round's implementations run within seconds of each other.
        torch_runs = [ms for (bb, v), ms in runs.items() if bb == b and v.startswith("torch-")]
        paired = [k / min(t[r] for t in torch_runs) for r, k in enumerate(runs[(b, "kiln")])
                  if all(r < len(t) for t in torch_runs)]
        summary.append(f"{b[6:]}: kiln / faster PyTorch = {kiln / torch_best:.2f} (medians of rounds); "
                       f"round by round {', '.join(f'{x:.2f}' for x in paired)}, median {statistics.median(paired):.2f}")
    if kiln and products:
        product_runs = [ms for (bb, v), ms in runs.items() if bb == b and v.startswith("products-")]
        shares = [min(p[r] for p in product_runs) / k for r, k in enumerate(runs[(b, "kiln")])
                  if all(r < len(p) for p in product_runs)]
        summary.append(f"{b[6:]}: the step's products alone take {min(products):.2f} ms at the faster library; "
                       f"kiln's whole step runs at {min(products) / kiln:.0%} of that ceiling; round by round "
                       f"{', '.join(f'{x:.0%}' for x in shares)}")
print()
for s in summary:
    print(s)
PY
