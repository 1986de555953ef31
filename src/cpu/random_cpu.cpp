// CPU random fills from Philox (kernels/functors/philox.h), element by element,
// so any thread count and any device produce the same values.
#include "cpu/cpu_backend.h"
#include "cpu/loops.h"
#include "functors/philox.h"

namespace kiln::cpu {

namespace {
// out must be contiguous: element i is the i-th number of the request.
template <class Fn>
void fill_random(Tensor& out, const char* op, Fn&& value_at) {
  KILN_INTERNAL_ASSERT(out.is_contiguous(), op, " expects a contiguous output");
  const int64_t n = out.numel();
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.raw_data_ptr());
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) p[i] = value_at(i, T{});
  });
}
}  // namespace

void CpuBackend::uniform(Tensor& out, double low, double high, const GeneratorState& st) {
  fill_random(out, "uniform", [&](int64_t i, auto tag) {
    using T = decltype(tag);
    const auto pair = functors::philox_pair(st.seed, st.offset, static_cast<uint64_t>(i));
    if constexpr (std::is_same_v<T, double>) {
      return low + (high - low) * functors::uniform_double(pair);
    } else {
      const float u = functors::uniform_float(pair);
      return static_cast<T>(static_cast<float>(low) + static_cast<float>(high - low) * u);
    }
  });
}

void CpuBackend::normal(Tensor& out, double mean, double std, const GeneratorState& st) {
  fill_random(out, "normal", [&](int64_t i, auto tag) {
    using T = decltype(tag);
    const auto pair = functors::philox_pair(st.seed, st.offset, static_cast<uint64_t>(i));
    return static_cast<T>(static_cast<opmath_t<T>>(mean + std * functors::normal_double(pair)));
  });
}

void CpuBackend::randint(Tensor& out, int64_t low, int64_t high, const GeneratorState& st) {
  const uint64_t range = static_cast<uint64_t>(high - low);
  fill_random(out, "randint", [&](int64_t i, auto tag) {
    using T = decltype(tag);
    const auto pair = functors::philox_pair(st.seed, st.offset, static_cast<uint64_t>(i));
    return static_cast<T>(static_cast<opmath_t<T>>(functors::randint_value(pair, low, range)));
  });
}

}  // namespace kiln::cpu
