#include "kiln/data/mnist.h"

#include <sys/stat.h>

#include "kiln/data/idx.h"
#include "kiln/ops/factory.h"

namespace kiln::data {
namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// uint8 [N, H, W] -> float32 [N, 1, H, W] in [0, 1].
Tensor to_unit_float(const Tensor& images) {
  Tensor out = empty({images.size(0), 1, images.size(1), images.size(2)}, kFloat32);
  const uint8_t* src = images.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  const int64_t n = images.numel();
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
  return out;
}

}  // namespace

std::string find_data_file(const std::string& root, const std::string& stem) {
  std::string plain = root + "/" + stem;
  if (is_file(plain)) return plain;
  if (is_file(plain + ".gz")) return plain + ".gz";
  throw IOError(kiln::detail::str_cat("dataset file not found: neither ", plain, " nor ", plain, ".gz exists"));
}

MNIST::MNIST(const std::string& root, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string image_path = find_data_file(root, prefix + "-images-idx3-ubyte");
  const std::string label_path = find_data_file(root, prefix + "-labels-idx1-ubyte");
  Tensor images = read_idx_images(image_path);
  targets_ = read_idx_labels(label_path, 10);
  KILN_CHECK(images.size(0) == targets_.size(0), IOError, image_path, " holds ", images.size(0), " images but ",
             label_path, " holds ", targets_.size(0), " labels");
  images_ = to_unit_float(images);
}

int64_t MNIST::size() const { return images_.size(0); }

Example MNIST::get(int64_t index) const {
  check_index("MNIST", index, size());
  return {images_.select(0, index), targets_.select(0, index)};
}

Batch MNIST::get_batch(const std::vector<int64_t>& indices) const {
  for (int64_t i : indices) check_index("MNIST", i, size());
  return {gather_rows(images_, indices), gather_rows(targets_, indices)};
}

std::vector<std::string> MNIST::class_names() const { return {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}; }

FashionMNIST::FashionMNIST(const std::string& root, Split split) : MNIST(root, split) {}

std::vector<std::string> FashionMNIST::class_names() const {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
}

}  // namespace kiln::data
