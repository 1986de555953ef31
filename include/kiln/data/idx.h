// Readers for the IDX format of MNIST and Fashion-MNIST, plain or gzipped
// (detected from the content, not the file name).
//
// IDX layout: bytes 0-1 zero, byte 2 the element type (0x08 = unsigned byte,
// the only type these datasets use), byte 3 the number of dimensions, then one
// big-endian uint32 per dimension, then the elements in row-major order.
// A damaged file (bad magic, wrong dimension count, sizes that disagree with
// the data, gzip errors, labels out of range) throws kiln::IOError naming the
// file and the problem.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/core/tensor.h"

namespace kiln::data {

// Any unsigned-byte IDX file: a uint8 tensor with the file's dimensions.
Tensor read_idx(const std::string& path);
// An image file: uint8 [N, rows, cols].
Tensor read_idx_images(const std::string& path);
// A label file: int64 [N]. Every label must be < num_classes (10 for MNIST
// and Fashion-MNIST).
Tensor read_idx_labels(const std::string& path, int64_t num_classes = 10);

}  // namespace kiln::data
