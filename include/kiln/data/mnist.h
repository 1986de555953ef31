// MNIST and Fashion-MNIST: 28x28 grey images in ten classes, read from the
// four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), each plain or with .gz.
#pragma once
#include <string>
#include <vector>

#include "kiln/data/dataset.h"

namespace kiln::data {

enum class Split { Train, Test };

// Examples are float32 images [1, 28, 28] scaled to [0, 1] and int64 scalar
// labels. All images are converted once at load time (60000 images take
// 188 MB as float32) so get() returns a view and batching is a memcpy.
class MNIST : public Dataset {
 public:
  // Reads <root>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].
  explicit MNIST(const std::string& root, Split split = Split::Train);
  int64_t size() const override;
  Example get(int64_t index) const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  const Tensor& images() const { return images_; }   // float32 [N, 1, 28, 28]
  const Tensor& targets() const { return targets_; }  // int64 [N]
  virtual std::vector<std::string> class_names() const;

 private:
  Tensor images_;
  Tensor targets_;
};

class FashionMNIST : public MNIST {
 public:
  // Where Debian's dataset-fashion-mnist package installs the files.
  static constexpr const char* kDefaultRoot = "/usr/share/datasets/fashion-mnist";
  explicit FashionMNIST(const std::string& root = kDefaultRoot, Split split = Split::Train);
  std::vector<std::string> class_names() const override;
};

// The path of <root>/<stem> or <root>/<stem>.gz, whichever exists; IOError
// naming both when neither does.
std::string find_data_file(const std::string& root, const std::string& stem);

}  // namespace kiln::data
