// The MNIST dataset: one input holds both files, as a 4-byte little-endian
// length n, then n bytes of the image file, then the label file.
#include <kiln/data/mnist.h>
#include <kiln/kiln.h>

#include <algorithm>

#include "harness.h"

namespace kiln::fuzz {

Outcome run_mnist(const uint8_t* data, size_t size) {
  uint32_t n = 0;
  for (size_t i = 0; i < 4 && i < size; ++i) n |= uint32_t(data[i]) << (8 * i);
  const size_t head = std::min<size_t>(size, 4);
  const size_t image_bytes = std::min<size_t>(n, size - head);
  write_scratch("train-images-idx3-ubyte", data + head, image_bytes);
  write_scratch("train-labels-idx1-ubyte", data + head + image_bytes, size - head - image_bytes);
  return accepts([&] {
    kiln::data::MNIST ds(scratch_dir(), kiln::data::Split::Train);
    const int64_t count = ds.size();
    if (count > 0) {
      const kiln::data::Example first = ds.get(0);
      const kiln::data::Batch batch = ds.get_batch({0, count - 1});
      // Pixels are bytes scaled to [0, 1]; labels were checked against 10 classes.
      const double lo = batch.data.min().item<float>(), hi = batch.data.max().item<float>();
      const int64_t top = batch.target.max().item<int64_t>();
      if (lo < 0 || hi > 1 || top > 9 || first.data.dim() != 3)
        property_failed("mnist", "an accepted file gave pixels or labels out of range");
    }
    if (accepts([&] { ds.get(count); }) == Outcome::kAccepted)
      property_failed("mnist", "get(size()) did not throw");
  });
}

}  // namespace kiln::fuzz
