// The CIFAR-10 dataset over one batch file (the test split: one file).
#include <kiln/data/cifar.h>
#include <kiln/kiln.h>

#include "harness.h"

namespace kiln::fuzz {

Outcome run_cifar(const uint8_t* data, size_t size) {
  write_scratch("test_batch.bin", data, size);
  return accepts([&] {
    kiln::data::CIFAR10 ds(scratch_dir(), kiln::data::Split::Test);
    const int64_t count = ds.size();
    if (count <= 0) property_failed("cifar", "an accepted file holds no records");
    const kiln::data::Example last = ds.get(count - 1);
    const float hi = last.data.max().item<float>();
    if (hi > 1 || last.target.item<int64_t>() > 9 || last.data.sizes() != Shape{3, 32, 32})
      property_failed("cifar", "an accepted record gave pixels, a label or a shape out of range");
  });
}

}  // namespace kiln::fuzz
