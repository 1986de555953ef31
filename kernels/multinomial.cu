// Multinomial draws with the arithmetic of functors/multinomial.h, which
// the CPU runs too, so both devices draw the same indices.
//
// Three kernels: the weights widened to f64 (one thread per element); the
// chunk sums (one thread per row and chunk of kMultinomialChunk weights);
// then one thread per row checks the row, forms the chunk bases and makes
// the row's draws serially (without replacement: zeroing each drawn weight
// and recomputing its chunk's sum and the bases, as the CPU does). A last
// one-thread kernel counts the bad rows in row order, so the reported row is
// the first, as on the CPU. The per-row serial part is O(S * (chunks +
// kMultinomialChunk)); sampling a few rows of a 50k vocabulary is the case
// this is for.
#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "functors/multinomial.h"
#include "functors/philox.h"
#include "multinomial.h"

namespace kiln::kernels {

namespace {

using functors::kMultinomialChunk;

template <class T>
__global__ void widen_kernel(const T* __restrict__ w, double* __restrict__ w64, int64_t count) {
  for (int64_t i = global_thread(); i < count; i += grid_threads())
    w64[i] = static_cast<double>(static_cast<opmath_t<T>>(w[i]));
}

__global__ void chunk_sums_kernel(const double* __restrict__ w64, double* __restrict__ sums, int64_t R, int64_t n,
                                  int64_t chunks) {
  for (int64_t i = global_thread(); i < R * chunks; i += grid_threads()) {
    const int64_t r = i / chunks, c = i % chunks;
    sums[i] = functors::multinomial_chunk_sum(w64 + r * n, n, c);
  }
}

__global__ void draw_kernel(double* __restrict__ w64, double* __restrict__ sums, double* __restrict__ base,
                            int64_t* __restrict__ out, unsigned char* __restrict__ bad, int64_t R, int64_t n,
                            int64_t chunks, int64_t S, bool replacement, uint64_t seed, uint64_t offset) {
  for (int64_t r = global_thread(); r < R; r += grid_threads()) {
    double* w = w64 + r * n;
    double* s = sums + r * chunks;
    double* b = base + r * chunks;
    int64_t* o = out + r * S;
    if (!functors::multinomial_row_ok(w, n, replacement ? 1 : S)) {
      bad[r] = 1;
      for (int64_t k = 0; k < S; ++k) o[k] = 0;
      continue;
    }
    bad[r] = 0;
    double total = functors::multinomial_bases(s, chunks, b);
    for (int64_t k = 0; k < S; ++k) {
      const double u = functors::uniform_double(functors::philox_pair(seed, offset, static_cast<uint64_t>(r * S + k)));
      const int64_t pick = functors::multinomial_pick(w, n, s, b, chunks, total, u);
      o[k] = pick;
      if (!replacement) {
        w[pick] = 0;
        const int64_t c = pick / kMultinomialChunk;
        s[c] = functors::multinomial_chunk_sum(w, n, c);
        total = functors::multinomial_bases(s, chunks, b);
      }
    }
  }
}

__global__ void count_bad_kernel(const unsigned char* __restrict__ bad, int64_t R, int64_t* __restrict__ errors) {
  if (global_thread() != 0) return;
  int64_t count = 0, first = -1;
  for (int64_t r = 0; r < R; ++r)
    if (bad[r]) {
      if (first < 0) first = r;
      ++count;
    }
  errors[0] = count;
  errors[1] = first < 0 ? 0 : first;
}

size_t align_up(size_t b) { return (b + 255) / 256 * 256; }

}  // namespace

size_t multinomial_workspace_bytes(int64_t R, int64_t n) {
  const int64_t chunks = functors::multinomial_chunks(n);
  return align_up(static_cast<size_t>(R * n) * sizeof(double)) +
         2 * align_up(static_cast<size_t>(R * chunks) * sizeof(double)) + align_up(static_cast<size_t>(R));
}

void launch_multinomial(const void* weights, int64_t* out, int64_t* errors, void* workspace, DType dtype, int64_t R,
                        int64_t n, int64_t S, bool replacement, uint64_t seed, uint64_t offset, cudaStream_t stream) {
  const char* name = "multinomial";
  KILN_NVTX_RANGE(name);
  if (R == 0 || n == 0 || S == 0) return;
  const int64_t chunks = functors::multinomial_chunks(n);
  char* p = static_cast<char*>(workspace);
  double* w64 = reinterpret_cast<double*>(p);
  p += align_up(static_cast<size_t>(R * n) * sizeof(double));
  double* sums = reinterpret_cast<double*>(p);
  p += align_up(static_cast<size_t>(R * chunks) * sizeof(double));
  double* base = reinterpret_cast<double*>(p);
  p += align_up(static_cast<size_t>(R * chunks) * sizeof(double));
  unsigned char* bad = reinterpret_cast<unsigned char*>(p);
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    widen_kernel<T><<<grid_for(R * n, kThreads), kThreads, 0, stream>>>(static_cast<const T*>(weights), w64, R * n);
  });
  chunk_sums_kernel<<<grid_for(R * chunks, kThreads), kThreads, 0, stream>>>(w64, sums, R, n, chunks);
  // Few threads per block: each does a whole row's serial work.
  constexpr int kRowThreads = 64;
  draw_kernel<<<grid_for(R, kRowThreads), kRowThreads, 0, stream>>>(w64, sums, base, out, bad, R, n, chunks, S,
                                                                    replacement, seed, offset);
  count_bad_kernel<<<1, 32, 0, stream>>>(bad, R, errors);
  KILN_CHECK_LAUNCH(name, stream);
}

}  // namespace kiln::kernels
