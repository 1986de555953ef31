// Links against kiln_kernels and the CUDA runtime only, not libkiln: the
// hand-written kernels must stay usable on their own (benchmarks, other
// programs). Runs without a GPU: every call below returns or throws before
// touching the device.
#include <cstdio>

#include "kernels.h"

int main() {
  using namespace kiln::kernels;
  StridedArray empty;
  empty.ndim = 1;  // sizes[0] == 0: no work
  launch_copy(empty, empty, nullptr);
  launch_fill(empty, nullptr, nullptr);
  try {
    launch_softmax_fwd(nullptr, nullptr, kiln::kInt64, 1, 1, 1, false, nullptr);
    std::puts("FAIL: softmax on int64 did not throw");
    return 1;
  } catch (const kiln::DTypeError& e) {
    std::printf("ok: %s\n", e.what());
  }
  return 0;
}
