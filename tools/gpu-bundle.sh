#!/usr/bin/env bash
# Builds kiln for a GPU machine that has only CUDA (the toolkit, cuDNN/NCCL
# perhaps only as pip wheels; no Debian development packages, no network)
# and packs what the check there needs into .gpu/ (ignored by git):
#   tools/gpu-bundle.sh [BUILD_DIR]        (default build-gpu-bundle)
# then, on the GPU machine, in a copy of this repository with .gpu/ beside it:
#   tools/gpu-check.sh OUTDIR              (docs/gpu.md)
#
# .gpu/ holds kiln-gpu.tar.xz and bundle.txt (commit, contents, sizes). The
# tarball has
#   bin/     every test, benchmark and example executable (tests/dist's as
#            kiln_dist_test_mpi)
#   lib/     libkiln.so.0 and every shared library those load that is neither
#            CUDA's (cudart, cuBLAS, cuDNN, NCCL, NVRTC, the driver) nor
#            libc's: OpenBLAS, oneDNN, OpenCL's loader, libgfortran, libgomp,
#            zlib, ... as ldd resolves them here
#   cxxrt/   libstdc++ and libgcc_s, used there only if the machine's own are
#            too old for these binaries
#   data/fashion-mnist/   the IDX files the tests read (raw; xz packs them
#            tighter than their gzip)
# kiln's files carry no RPATH/RUNPATH (CMAKE_SKIP_RPATH): gpu-check.sh sets
# LD_LIBRARY_PATH, so no path of this machine is baked in. Tests that read
# repository files read them relative to the directory they run in (the
# repository root; KILN_TEST_SOURCE_DIR=.). Fails if the bundle is 48 MiB or
# more (the GPU machine takes 64 MiB of working tree in all).
# Environment: KILN_JOBS (default nproc), KILN_CUDA_ARCHS (default 90),
# KILN_WERROR (default ON, as CI builds), KILN_BUNDLE_CPU_ARCH (default x86-64-v3:
# AVX2, which every H100/H200 host has; the default build is -march=native,
# whose AVX-512 or AMX code could stop with SIGILL on the GPU machine's CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
build="${1:-build-gpu-bundle}"
limit_mib=48
out="$root/.gpu"
stage="$(mktemp -d "${TMPDIR:-/tmp}/kiln-gpu-stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

tools/install-deps.sh --tests

# --- 1. build --------------------------------------------------------------------------
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHS:-90}" \
  -DKILN_BUILD_TESTS=ON -DKILN_BUILD_BENCHMARKS=ON -DKILN_BUILD_EXAMPLES=ON \
  -DCMAKE_SKIP_RPATH=ON -DKILN_CPU_ARCH="${KILN_BUNDLE_CPU_ARCH:-x86-64-v3}" \
  -DKILN_TEST_SOURCE_DIR=. -DKILN_WERROR="${KILN_WERROR:-ON}" "${launcher[@]}"
cmake --build "$build" -j "${KILN_JOBS:-$(nproc)}"

# --- 2. stage --------------------------------------------------------------------------
mkdir -p "$stage/bin" "$stage/lib" "$stage/cxxrt" "$stage/data/fashion-mnist"
is_elf_exe() { [[ -f "$1" && -x "$1" ]] && head -c 4 "$1" | grep -q $'\x7fELF'; }
# Not benchmarks/peer: those are CPU peers linked against Debian's LibTorch,
# whose library tree (OpenCV, FFmpeg, ...) alone is several times the
# bundle's limit; the GPU machine has PyTorch for its own peers.
for exe in "$build"/tests/kiln_test_* "$build"/benchmarks/bench_* "$build"/examples/*/*; do
  is_elf_exe "$exe" && cp "$exe" "$stage/bin/"
done
# The data-parallel tests (several ranks under mpirun here), renamed so that
# gpu-check.sh's "every kiln_test_*" stage leaves them out: on the GPU machine
# only their one-rank NCCL case runs (it needs no launcher).
[[ -x "$build/tests/dist/kiln_test_dist_mpi" ]] && cp "$build/tests/dist/kiln_test_dist_mpi" "$stage/bin/kiln_dist_test_mpi"
soname="$(readelf -d "$build/src/libkiln.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
cp -L "$build/src/libkiln.so" "$stage/lib/$soname"

# CUDA's libraries come from the GPU machine's toolkit or wheels (and must
# match its driver); libc's from its system.
skip_re='^(linux-vdso|ld-linux|libc\.so|libm\.so|libmvec\.so|libpthread\.so|libdl\.so|librt\.so|libresolv\.so|libutil\.so)'
cuda_re='^(libcuda\.so|libcudart|libcublas|libcublasLt|libcudnn|libnccl|libnvrtc|libnvJitLink|libcufft|libcurand|libcusparse|libcusolver|libnvToolsExt)'
cxx_re='^(libstdc\+\+\.so|libgcc_s\.so)'
unresolved=()
for f in "$stage"/bin/* "$stage"/lib/*; do
  while read -r name arrow path _; do
    [[ "$arrow" == "=>" ]] || continue
    [[ "$name" =~ $skip_re || "$name" =~ $cuda_re || "$name" == "$soname" ]] && continue
    if [[ "$path" == "not" ]]; then unresolved+=("$(basename "$f"): $name"); continue; fi
    dest="$stage/lib"
    [[ "$name" =~ $cxx_re ]] && dest="$stage/cxxrt"
    [[ -e "$dest/$name" ]] || cp -L "$path" "$dest/$name"
  done < <(LD_LIBRARY_PATH="$stage/lib" ldd "$f")
done
if ((${#unresolved[@]})); then
  printf 'gpu-bundle: unresolved here: %s\n' "${unresolved[@]}" >&2
  exit 1
fi
# An RPATH or RUNPATH in kiln's own files would point at this build's paths.
# (Debian's libraries may carry their own, e.g. Open MPI's to its plugin
# directory: a path that does not exist on the GPU machine is skipped, and
# LD_LIBRARY_PATH is searched before RUNPATH anyway.)
for f in "$stage"/bin/* "$stage/lib/$soname"; do
  if readelf -d "$f" | grep -qE '\((RPATH|RUNPATH)\)'; then
    echo "gpu-bundle: $f carries an RPATH/RUNPATH; the bundle must not" >&2
    exit 1
  fi
done
strip --strip-unneeded "$stage"/bin/* "$stage"/lib/* "$stage"/cxxrt/* 2>/dev/null || true

fm=/usr/share/datasets/fashion-mnist
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [[ -f "$fm/$f.gz" ]]; then gzip -dc "$fm/$f.gz" >"$stage/data/fashion-mnist/$f"
  elif [[ -f "$fm/$f" ]]; then cp "$fm/$f" "$stage/data/fashion-mnist/$f"
  else echo "gpu-bundle: $fm/$f(.gz) is missing (tools/install-deps.sh installs dataset-fashion-mnist)" >&2; exit 1
  fi
done

commit="$(git rev-parse HEAD)"
git diff --quiet HEAD || commit="$commit+dirty"
{
  echo "commit: $commit"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(. /etc/os-release && echo "$PRETTY_NAME"), $(c++ --version | head -1), nvcc $(sed -n 's/^set(CMAKE_CUDA_COMPILER_VERSION "\(.*\)")/\1/p' "$build"/CMakeFiles/*/CMakeCUDACompiler.cmake)"
  echo "cuda archs: ${KILN_CUDA_ARCHS:-90}"
  echo "needs from the GPU machine: the CUDA runtime, cuBLAS/cuBLASLt, cuDNN 9 (+ NVRTC), the driver"
  echo "--- contents (bytes before compression)"
  (cd "$stage" && find . -type f -printf '%s %p\n' | sort -k2)
} >"$stage/bundle.txt"

# --- 3. pack ---------------------------------------------------------------------------
rm -rf "$out"
mkdir -p "$out"
cp "$stage/bundle.txt" "$out/bundle.txt"
XZ_OPT="-9 -T${KILN_JOBS:-$(nproc)} --block-size=64MiB" tar -C "$stage" -cJf "$out/kiln-gpu.tar.xz" .
bytes=$(du -cb "$out"/* | tail -1 | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "gpu-bundle: $out: $(ls "$stage/bin" | wc -l) executables, $(ls "$stage/lib" | wc -l) libraries, $mib MiB"
if ((bytes >= limit_mib * 1048576)); then
  echo "gpu-bundle: the bundle is $mib MiB, over the $limit_mib MiB limit" >&2
  exit 1
fi
