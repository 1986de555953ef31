// CIFAR-10 in its binary form (cifar-10-batches-bin): data_batch_1.bin ..
// data_batch_5.bin and test_batch.bin, each a run of 3073-byte records: one
// label byte (0..9) then 3072 pixel bytes, the red, green and blue planes of a
// 32x32 image in row-major order.
#pragma once
#include <string>
#include <vector>

#include "kiln/data/dataset.h"
#include "kiln/data/mnist.h"  // Split

namespace kiln::data {

struct CifarBatch {
  Tensor images;  // uint8 [N, 3, 32, 32]
  Tensor labels;  // int64 [N]
};

// One batch file (plain or gzipped). A size that is not a whole number of
// records, an empty file or a label >= 10 throws IOError naming the file.
CifarBatch read_cifar10_batch(const std::string& path);

// The training set is the five data batches, the test set test_batch.bin,
// under `root`. Examples are float32 [3, 32, 32] in [0, 1] (converted in get()
// from the uint8 images, which keeps the training set at 150 MB) and int64
// scalar labels.
class CIFAR10 : public Dataset {
 public:
  explicit CIFAR10(const std::string& root, Split split = Split::Train);
  int64_t size() const override;
  Example get(int64_t index) const override;
  const Tensor& images() const { return images_; }  // uint8 [N, 3, 32, 32]
  const Tensor& targets() const { return targets_; }
  static std::vector<std::string> class_names();

 private:
  Tensor images_;
  Tensor targets_;
};

}  // namespace kiln::data
