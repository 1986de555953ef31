// Where tests find data sets that are installed, not generated.
#pragma once
#include <cstdlib>
#include <string>

#include <kiln/data/mnist.h>

namespace kiln::testing {

// The Fashion-MNIST directory: $KILN_FASHION_MNIST_DIR when set (the GPU
// bundle carries the files and tools/gpu-check.sh points it there), else
// Debian's dataset-fashion-mnist location.
inline std::string fashion_mnist_root() {
  const char* dir = std::getenv("KILN_FASHION_MNIST_DIR");
  return dir && *dir ? dir : data::FashionMNIST::kDefaultRoot;
}

}  // namespace kiln::testing
