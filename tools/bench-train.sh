#!/usr/bin/env bash
# Trains the benchmark CNN in kiln and (when built) in LibTorch in one run and
# prints both JSON lines and the ratio of kiln's step time to LibTorch's.
#   tools/bench-train.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build="${1:-build}"
steps="${2:-60}"
export KILN_GIT_COMMIT="${KILN_GIT_COMMIT:-$(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo unknown)}"
kiln_line=$("$build/benchmarks/bench_train_cnn" "$steps" cpu)
echo "$kiln_line"
if [[ -x "$build/benchmarks/peer/bench_train_libtorch" ]]; then
  torch_line=$("$build/benchmarks/peer/bench_train_libtorch" "$steps")
  echo "$torch_line"
  # LibTorch picks 1 thread here (one per physical core); also time it on
  # all cores so the comparison is fair either way.
  torch2_line=$("$build/benchmarks/peer/bench_train_libtorch" "$steps" "$(nproc)")
  echo "$torch2_line"
  python3 - "$kiln_line" "$torch_line" "$torch2_line" <<'PY'
import json, sys
k = json.loads(sys.argv[1])
for line in sys.argv[2:]:
    t = json.loads(line)
    print(f"kiln/libtorch step time: {k['ms_per_step'] / t['ms_per_step']:.2f}x "
          f"(kiln {k['samples_per_sec']:.0f} samples/s, {t['version']} with {t['threads']} threads "
          f"{t['samples_per_sec']:.0f} samples/s)")
PY
else
  echo "LibTorch peer not built (tools/install-deps.sh --peer, then reconfigure)"
fi
if [[ "${KILN_BENCH_GPU:-0}" == 1 ]]; then "$build/benchmarks/bench_train_cnn" "$steps" cuda:0; fi
