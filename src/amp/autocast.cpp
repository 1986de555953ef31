// AutocastGuard: sets the per-thread state the op definitions read
// (src/ops/autocast.h) and restores it on exit.
#include "kiln/amp/autocast.h"

#include "kiln/core/error.h"
#include "ops/autocast.h"

namespace kiln::amp {

namespace {

void check_dtype(DType dtype) {
  KILN_CHECK(dtype == kBFloat16 || dtype == kFloat16, ValueError,
             "AutocastGuard: dtype must be bfloat16 or float16, got ", dtype);
}

}  // namespace

void AutocastGuard::enter() {
  const detail::AutocastState cpu = detail::autocast_state(kCPU), cuda = detail::autocast_state(kCUDA);
  prev_cpu_enabled_ = cpu.enabled;
  prev_cpu_dtype_ = cpu.dtype;
  prev_cuda_enabled_ = cuda.enabled;
  prev_cuda_dtype_ = cuda.dtype;
  detail::autocast_increment_nesting();
}

AutocastGuard::AutocastGuard(DType dtype, bool enabled) {
  check_dtype(dtype);
  enter();
  detail::set_autocast_state(kCUDA, {enabled, dtype});
  // The CPU runs f32 under the device-generic guard (bench_autocast_cpu:
  // kiln's bf16 matmul is a widening copy around sgemm, slower than sgemm
  // alone); only an "off" guard changes its setting.
  if (!enabled) detail::set_autocast_state(kCPU, {false, prev_cpu_dtype_});
}

AutocastGuard::AutocastGuard(DeviceType device_type, DType dtype, bool enabled) {
  check_dtype(dtype);
  enter();
  detail::set_autocast_state(device_type, {enabled, dtype});
}

AutocastGuard::~AutocastGuard() {
  detail::set_autocast_state(kCPU, {prev_cpu_enabled_, prev_cpu_dtype_});
  detail::set_autocast_state(kCUDA, {prev_cuda_enabled_, prev_cuda_dtype_});
  if (detail::autocast_decrement_nesting() == 0) detail::clear_autocast_cache();
}

bool is_autocast_enabled(DeviceType device_type) { return detail::autocast_state(device_type).enabled; }
DType get_autocast_dtype(DeviceType device_type) { return detail::autocast_state(device_type).dtype; }
void clear_autocast_cache() { detail::clear_autocast_cache(); }

}  // namespace kiln::amp
