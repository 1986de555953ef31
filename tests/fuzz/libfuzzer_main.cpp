// libFuzzer's entry point for one harness, chosen when the executable is
// built (fuzz_<name>, see CMakeLists.txt). libFuzzer supplies main().
#include "harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const kiln::fuzz::Harness& harness = kiln::fuzz::harness_named(KILN_FUZZ_HARNESS);
  harness.run(data, size);
  return 0;
}
