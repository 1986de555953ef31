// CPU ceilings for later work: f32 matmul (GFLOP/s) and the memory-bound
// add and sum over 64M elements (GB/s).
//   matmul: 2*N^3 flops per call
//   add:    3 * 4 bytes per element (two reads, one write)
//   sum:    4 bytes per element (one read)
#include <benchmark/benchmark.h>
#include <kiln/kiln.h>

namespace {

void BM_matmul_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  kiln::manual_seed(0);
  auto a = kiln::randn({n, n}), b = kiln::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(kiln::matmul(a, b).raw_data_ptr());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}
BENCHMARK(BM_matmul_f32)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

constexpr int64_t kElems = 64 * 1024 * 1024;

void BM_add_f32_64M(benchmark::State& state) {
  auto a = kiln::ones({kElems}), b = kiln::ones({kElems});
  auto out = kiln::zeros({kElems});  // touched once, so page faults are not timed
  for (auto _ : state) {
    out.copy_(a);
    out.add_(b);  // in place: read out, read b, write out
    benchmark::ClobberMemory();
  }
  // copy_ (8 B/elem) + add_ (12 B/elem)
  state.counters["GB/s"] = benchmark::Counter(20.0 * kElems, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_add_f32_64M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_add_out_of_place_f32_64M(benchmark::State& state) {
  auto a = kiln::ones({kElems}), b = kiln::ones({kElems});
  for (auto _ : state) benchmark::DoNotOptimize((a + b).raw_data_ptr());
  state.counters["GB/s"] = benchmark::Counter(12.0 * kElems, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_add_out_of_place_f32_64M)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_sum_f32_64M(benchmark::State& state) {
  auto a = kiln::ones({kElems});
  for (auto _ : state) benchmark::DoNotOptimize(a.sum().item<float>());
  state.counters["GB/s"] = benchmark::Counter(4.0 * kElems, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_sum_f32_64M)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
