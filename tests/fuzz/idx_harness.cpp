// IDX files (MNIST's format), plain or gzip: the generic reader and the two
// checked ones, and every byte of what they return is read back.
#include <kiln/data/idx.h>
#include <kiln/kiln.h>

#include "harness.h"

namespace kiln::fuzz {

namespace {
// Reads every element, so a tensor whose shape outran its buffer shows under ASan.
uint64_t touch(const Tensor& t) {
  const Tensor c = t.contiguous();
  const int64_t n = c.numel();
  uint64_t sum = 0;
  if (c.dtype() == kUInt8) {
    const uint8_t* p = c.data_ptr<uint8_t>();
    for (int64_t i = 0; i < n; ++i) sum += p[i];
  } else {
    const int64_t* p = c.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) sum += static_cast<uint64_t>(p[i]);
  }
  return sum;
}
}  // namespace

Outcome run_idx(const uint8_t* data, size_t size) {
  const std::string path = write_scratch("input.idx", data, size);
  Tensor whole;
  const Outcome generic = accepts([&] {
    whole = kiln::data::read_idx(path);
    touch(whole);
  });
  accepts([&] {
    const Tensor images = kiln::data::read_idx_images(path);
    if (generic != Outcome::kAccepted || !kiln::equal(images, whole))
      property_failed("idx", "read_idx_images accepted a file that read_idx read differently");
  });
  accepts([&] {
    const Tensor labels = kiln::data::read_idx_labels(path, 10);
    touch(labels);
    if (generic != Outcome::kAccepted || labels.numel() != whole.numel())
      property_failed("idx", "read_idx_labels accepted a file that read_idx read differently");
  });
  return generic;
}

}  // namespace kiln::fuzz
