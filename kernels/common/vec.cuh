// Vector loads and stores: N elements of T moved as one aligned access
// (16 bytes when N * sizeof(T) == 16, compiled to LDG.128 / STG.128).
#pragma once
#include <cstdint>

namespace kiln::kernels {

template <class T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

// Elements per 16-byte vector for T.
template <class T> constexpr int kVec16 = 16 / sizeof(T) > 0 ? static_cast<int>(16 / sizeof(T)) : 1;

template <class T, int N>
__device__ inline Vec<T, N> load_vec(const T* p) {
  return *reinterpret_cast<const Vec<T, N>*>(p);
}
template <class T, int N>
__device__ inline void store_vec(T* p, const Vec<T, N>& v) {
  *reinterpret_cast<Vec<T, N>*>(p) = v;
}

// Host check that p may be accessed as Vec<T, N>.
template <class T, int N>
inline bool is_vec_aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % (sizeof(T) * N) == 0;
}

}  // namespace kiln::kernels
