#include <kiln/data/cifar.h>

#include "data/test_files.h"

namespace kiln::testing {
namespace {

Bytes cifar_records(const std::vector<uint8_t>& labels) {
  Bytes b;
  for (size_t r = 0; r < labels.size(); ++r) {
    b.push_back(labels[r]);
    for (int i = 0; i < 3072; ++i) b.push_back(static_cast<uint8_t>((r * 31 + i) % 256));
  }
  return b;
}

TEST(CifarReader, ReadsRecordsAsUint8Nx3x32x32AndInt64Labels) {
  ScratchDir dir;
  auto path = dir.write("data_batch_1.bin", cifar_records({3, 0, 9}));
  data::CifarBatch b = data::read_cifar10_batch(path);
  EXPECT_EQ(b.images.sizes(), (Shape{3, 3, 32, 32}));
  EXPECT_EQ(b.images.dtype(), kUInt8);
  EXPECT_EQ(b.labels.to_vector<int64_t>(), (std::vector<int64_t>{3, 0, 9}));
  // Record 1, green plane (offset 1024), row 2, column 5.
  EXPECT_EQ(b.images.at<int>({1, 1, 2, 5}), (31 + 1024 + 2 * 32 + 5) % 256);
}

TEST(CifarReader, ReadsGzippedBatches) {
  ScratchDir dir;
  auto path = dir.write("test_batch.bin", gzip(cifar_records({1, 2})));
  data::CifarBatch b = data::read_cifar10_batch(path);
  EXPECT_EQ(b.labels.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(b.images.at<int>({0, 2, 31, 31}), 3071 % 256);
}

TEST(CifarReader, PartialRecordIsIOError) {
  ScratchDir dir;
  Bytes b = cifar_records({1, 2});
  b.resize(b.size() - 100);
  auto plain = dir.write("p.bin", b);
  EXPECT_TRUE(throws_io_error([&] { data::read_cifar10_batch(plain); }, {plain, "not a whole number", "2973"}));
  auto gz = dir.write("p.bin.gz", gzip(b));
  EXPECT_TRUE(throws_io_error([&] { data::read_cifar10_batch(gz); }, {gz, "not a whole number"}));
}

TEST(CifarReader, EmptyFileIsIOError) {
  ScratchDir dir;
  auto path = dir.write("e.bin", {});
  EXPECT_TRUE(throws_io_error([&] { data::read_cifar10_batch(path); }, {path, "empty"}));
}

TEST(CifarReader, LabelOutOfRangeIsIOError) {
  ScratchDir dir;
  auto path = dir.write("l.bin", cifar_records({1, 10, 2}));
  EXPECT_TRUE(throws_io_error([&] { data::read_cifar10_batch(path); }, {path, "label 10 of record 1"}));
}

TEST(Cifar10Dataset, ConcatenatesTheFiveTrainingBatchesAndScalesToUnitFloat) {
  ScratchDir dir;
  for (int i = 1; i <= 5; ++i) dir.write("data_batch_" + std::to_string(i) + ".bin", cifar_records({uint8_t(i), 0}));
  dir.write("test_batch.bin", cifar_records({7}));
  data::CIFAR10 train(dir.path(), data::Split::Train);
  data::CIFAR10 test(dir.path(), data::Split::Test);
  EXPECT_EQ(train.size(), 10);
  EXPECT_EQ(test.size(), 1);
  data::Example ex = train.get(4);  // batch 3, record 0
  EXPECT_EQ(ex.target.item<int64_t>(), 3);
  EXPECT_EQ(ex.data.sizes(), (Shape{3, 32, 32}));
  EXPECT_EQ(ex.data.dtype(), kFloat32);
  EXPECT_FLOAT_EQ(ex.data.at<float>({0, 0, 7}), 7.0f / 255.0f);
  EXPECT_THROW(train.get(10), IndexError);
}

TEST(Cifar10Dataset, MissingBatchFileIsIOErrorNamingIt) {
  ScratchDir dir;
  dir.write("data_batch_1.bin", cifar_records({1}));
  EXPECT_TRUE(throws_io_error([&] { data::CIFAR10 d(dir.path()); }, {"data_batch_2.bin", "not found"}));
}

}  // namespace
}  // namespace kiln::testing
