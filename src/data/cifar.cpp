#include "kiln/data/cifar.h"

#include <cstring>
#include <limits>

#include "data/file_reader.h"
#include "kiln/ops/factory.h"

namespace kiln::data {
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;
constexpr int64_t kRecord = 1 + kPixels;
constexpr int64_t kClasses = 10;

std::vector<uint8_t> read_all_records(detail::FileReader& in) {
  if (!in.compressed()) {
    const uint64_t size = in.file_size();
    KILN_CHECK(size > 0, IOError, in.path(), ": empty file (expected 3073-byte CIFAR-10 records)");
    KILN_CHECK(size % kRecord == 0, IOError, in.path(), ": size ", size,
               " bytes is not a whole number of 3073-byte records (", size % kRecord,
               " bytes left over: truncated or not a CIFAR-10 batch)");
    return in.read_payload(size, std::to_string(size / kRecord) + " records");
  }
  // Compressed: the size is unknown until the stream ends.
  std::vector<uint8_t> bytes = in.read_growing(std::numeric_limits<uint64_t>::max());
  const size_t have = bytes.size();
  KILN_CHECK(have > 0, IOError, in.path(), ": empty file (expected 3073-byte CIFAR-10 records)");
  KILN_CHECK(have % kRecord == 0, IOError, in.path(), ": uncompressed size ", have,
             " bytes is not a whole number of 3073-byte records (", have % kRecord, " bytes left over)");
  return bytes;
}

}  // namespace

CifarBatch read_cifar10_batch(const std::string& path) {
  detail::FileReader in(path);
  std::vector<uint8_t> bytes = read_all_records(in);
  const int64_t n = static_cast<int64_t>(bytes.size()) / kRecord;
  CifarBatch batch{empty({n, 3, 32, 32}, kUInt8), empty({n}, kInt64)};
  uint8_t* images = batch.images.data_ptr<uint8_t>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* record = bytes.data() + i * kRecord;
    KILN_CHECK(record[0] < kClasses, IOError, path, ": label ", int(record[0]), " of record ", i,
               " is out of range (expected 0..9)");
    labels[i] = record[0];
    std::memcpy(images + i * kPixels, record + 1, kPixels);
  }
  return batch;
}

CIFAR10::CIFAR10(const std::string& root, Split split) {
  std::vector<std::string> stems;
  if (split == Split::Train) {
    for (int i = 1; i <= 5; ++i) stems.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    stems.push_back("test_batch.bin");
  }
  std::vector<CifarBatch> parts;
  int64_t total = 0;
  for (const auto& stem : stems) {
    parts.push_back(read_cifar10_batch(find_data_file(root, stem)));
    total += parts.back().labels.numel();
  }
  images_ = empty({total, 3, 32, 32}, kUInt8);
  targets_ = empty({total}, kInt64);
  int64_t at = 0;
  for (const auto& p : parts) {
    const int64_t n = p.labels.numel();
    std::memcpy(images_.data_ptr<uint8_t>() + at * kPixels, p.images.data_ptr<uint8_t>(), size_t(n * kPixels));
    std::memcpy(targets_.data_ptr<int64_t>() + at, p.labels.data_ptr<int64_t>(), size_t(n) * sizeof(int64_t));
    at += n;
  }
}

int64_t CIFAR10::size() const { return targets_.numel(); }

Example CIFAR10::get(int64_t index) const {
  check_index("CIFAR10", index, size());
  Tensor image = empty({3, 32, 32}, kFloat32);
  const uint8_t* src = images_.data_ptr<uint8_t>() + index * kPixels;
  float* dst = image.data_ptr<float>();
  for (int64_t i = 0; i < kPixels; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
  return {image, targets_.select(0, index)};
}

std::vector<std::string> CIFAR10::class_names() {
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

}  // namespace kiln::data
