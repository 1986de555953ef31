#!/usr/bin/env bash
# Installs what kiln needs on Debian 12 (idempotent: only missing packages
# are installed). The CUDA 13 toolkit with cuDNN 9 is expected under
# /usr/local/cuda and is used when present (see docs/gpu.md).
#   tools/install-deps.sh           the library and the examples, Fashion-MNIST data
#   tools/install-deps.sh --tests   also what the tests and benchmarks need
#   tools/install-deps.sh --peer    also Debian's LibTorch 1.13, PyTorch 1.13 and Google Benchmark, for the peer benchmarks
# Installs with --no-install-recommends, so a package that a -dev package only
# recommends but the build needs is named here (ocl-icd-opencl-dev: oneDNN's
# CMake config looks for OpenCL). Checked in a brand-new Debian 12 root with
# ../shared/tools/fresh-debian.sh.
set -euo pipefail

packages=(build-essential cmake ninja-build      # g++ (with OpenMP's libgomp), binutils, make
          libopenblas-dev                        # BLAS for matmul and the CPU convolution
          libdnnl-dev ocl-icd-opencl-dev         # oneDNN, the CPU's second convolution path
          zlib1g-dev                             # gzipped IDX files
          nlohmann-json3-dev                     # safetensors headers
          libcli11-dev                           # the example trainers' flags
          openmpi-bin libopenmpi-dev             # src/dist across processes (mpirun), CPU collectives
          dataset-fashion-mnist                  # the Fashion-MNIST example and tests
          fortunes)                              # examples/char_gpt's default text
for arg in "$@"; do
  case "$arg" in
    --tests) packages+=(libgtest-dev              # the test suite
                        libbenchmark-dev          # benchmarks/cpu
                        clang                     # tests/install builds a consumer with clang too; tools/sanitize.sh
                        libclang-rt-14-dev        # clang's sanitizers and libFuzzer (tools/sanitize.sh, tools/fuzz.sh)
                        libomp-dev                # OpenMP for the clang build
                        ccache) ;;                # rebuilds in tools/run-tests.sh
    --peer) packages+=(libtorch-dev               # LibTorch 1.13: benchmarks/peer (the CNN and models' C++ peers)
                       libbenchmark-dev           # Google Benchmark, which benchmarks/ links
                       python3-torch) ;;          # PyTorch 1.13, the older Python peer (benchmarks/train/bench-char-gpt.sh, train_models_torch.py)
    *) echo "usage: tools/install-deps.sh [--tests] [--peer]" >&2; exit 2 ;;
  esac
done

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
