#!/usr/bin/env bash
# Installs what kiln needs on Debian 12 (idempotent: only missing packages
# are installed). The CUDA 13 toolkit with cuDNN 9 and NCCL is expected
# under /usr/local/cuda and is used when present.
#   tools/install-deps.sh          build + test dependencies, Fashion-MNIST data
#   tools/install-deps.sh --peer   also Debian's LibTorch 1.13, for the peer benchmarks
set -euo pipefail

packages=(build-essential cmake ninja-build ccache pkg-config
          libopenblas-dev libdnnl-dev libomp-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
          libgtest-dev libgmock-dev libbenchmark-dev
          openmpi-bin libopenmpi-dev  # MPI: src/dist (CPU collectives, start-up) and the `mpi` tests
          dataset-fashion-mnist)
if [[ "${1:-}" == "--peer" ]]; then
  packages+=(libtorch-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install-deps: all dependencies present"
