#include "kiln/data/idx.h"

#include <cstring>
#include <memory>
#include <vector>

#include "data/file_reader.h"
#include "kiln/ops/factory.h"

namespace kiln::data {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;

struct IdxHeader {
  Shape dims;
  uint64_t payload_bytes = 0;
  uint64_t header_bytes = 0;
};

IdxHeader read_header(detail::FileReader& in, int expected_ndim) {
  uint8_t magic[4];
  in.read_exact(magic, 4, "the IDX magic number");
  KILN_CHECK(magic[0] == 0 && magic[1] == 0, IOError, in.path(), ": bad magic: bytes 0-1 are 0x", std::hex,
             int(magic[0]), " 0x", int(magic[1]), ", expected 0x0 0x0 (not an IDX file)");
  KILN_CHECK(magic[2] == kUnsignedByte, IOError, in.path(), ": unsupported IDX element type 0x", std::hex,
             int(magic[2]), " (only 0x8, unsigned byte, is read)");
  const int ndim = magic[3];
  KILN_CHECK(ndim >= 1, IOError, in.path(), ": wrong dims byte: 0 dimensions");
  KILN_CHECK(expected_ndim < 0 || ndim == expected_ndim, IOError, in.path(), ": wrong dims byte: the file has ",
             ndim, " dimensions, expected ", expected_ndim);

  IdxHeader h;
  h.header_bytes = 4 + 4 * uint64_t(ndim);
  std::vector<uint8_t> raw(4 * size_t(ndim));
  in.read_exact(raw.data(), raw.size(), "the IDX dimension sizes");
  // The sizes are uint32 each; their product can overflow 64 bits, so cap it
  // at a bound no real file reaches (and that Shape's int64 can hold). The
  // cap is on the product of the non-zero sizes: [2^32-1, 2^32-1, 0] holds no
  // data, but a tensor of that shape would have strides past int64.
  constexpr uint64_t kMaxElements = uint64_t(1) << 48;
  uint64_t nonzero = 1;
  bool has_zero = false;
  for (int d = 0; d < ndim; ++d) {
    const uint8_t* b = &raw[4 * size_t(d)];
    uint64_t size = (uint64_t(b[0]) << 24) | (uint64_t(b[1]) << 16) | (uint64_t(b[2]) << 8) | uint64_t(b[3]);
    h.dims.push_back(static_cast<int64_t>(size));
    if (size == 0) has_zero = true;
    else if (nonzero > kMaxElements / size) nonzero = kMaxElements + 1;
    else nonzero *= size;
  }
  KILN_CHECK(nonzero <= kMaxElements, IOError, in.path(), ": header sizes ", shape_str(h.dims),
             has_zero ? " hold no data but are too large for a tensor (the product of the non-zero sizes exceeds 2^48)"
                      : " describe more data than any IDX file holds (over 2^48 bytes)");
  const uint64_t total = has_zero ? 0 : nonzero;
  h.payload_bytes = total;
  if (!in.compressed()) {
    // A plain file's size is known: check it before allocating anything.
    uint64_t actual = in.file_size() - std::min(in.file_size(), h.header_bytes);
    KILN_CHECK(actual >= total, IOError, in.path(), ": truncated: header sizes ", shape_str(h.dims), " need ",
               total, " bytes of data but the file has ", actual);
    KILN_CHECK(actual == total, IOError, in.path(), ": header sizes ", shape_str(h.dims), " need ", total,
               " bytes of data but the file has ", actual, " (", actual - total,
               " extra bytes: the counts disagree with the file size)");
  }
  return h;
}

Tensor read_idx_ndim(const std::string& path, int expected_ndim) {
  detail::FileReader in(path);
  IdxHeader h = read_header(in, expected_ndim);
  auto bytes = std::make_unique<std::vector<uint8_t>>(
      in.read_payload(h.payload_bytes, "the data of shape " + shape_str(h.dims)));
  KILN_CHECK(in.at_end(), IOError, path, ": more data than header sizes ", shape_str(h.dims),
             " describe (the counts disagree with the file size)");
  if (bytes->empty()) return empty(h.dims, kUInt8);
  // Hand the buffer to the tensor without copying it.
  void* data = bytes->data();
  auto* owner = bytes.release();
  return from_blob(data, h.dims, [owner](void*) { delete owner; }, kUInt8);
}

}  // namespace

Tensor read_idx(const std::string& path) { return read_idx_ndim(path, -1); }

Tensor read_idx_images(const std::string& path) { return read_idx_ndim(path, 3); }

Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  KILN_CHECK(num_classes >= 1 && num_classes <= 256, ValueError, "read_idx_labels: num_classes must be in [1, 256], got ",
             num_classes);
  Tensor raw = read_idx_ndim(path, 1);
  const int64_t n = raw.numel();
  Tensor labels = empty({n}, kInt64);
  const uint8_t* src = raw.data_ptr<uint8_t>();
  int64_t* dst = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    KILN_CHECK(src[i] < num_classes, IOError, path, ": label ", int(src[i]), " at index ", i,
               " is out of range (expected 0..", num_classes - 1, ")");
    dst[i] = src[i];
  }
  return labels;
}

}  // namespace kiln::data
