// IDX readers on small files written by the tests: plain and gzipped, valid
// and each kind of damage.
#include <kiln/data/idx.h>

#include "data/test_files.h"

namespace kiln::testing {
namespace {

const Bytes kPixels = iota_bytes(3 * 4 * 5);

TEST(IdxReader, ReadsPlainImagesAsUint8NxRowsxCols) {
  ScratchDir dir;
  auto path = dir.write("img-idx3-ubyte", idx_bytes({3, 4, 5}, kPixels));
  Tensor t = data::read_idx_images(path);
  EXPECT_EQ(t.sizes(), (Shape{3, 4, 5}));
  EXPECT_EQ(t.dtype(), kUInt8);
  EXPECT_EQ(t.to_vector<uint8_t>(), kPixels);
}

TEST(IdxReader, ReadsGzippedImagesDetectedFromContent) {
  ScratchDir dir;
  // No .gz suffix on purpose: the reader looks at the bytes.
  auto path = dir.write("img-idx3-ubyte", gzip(idx_bytes({3, 4, 5}, kPixels)));
  Tensor t = data::read_idx_images(path);
  EXPECT_EQ(t.sizes(), (Shape{3, 4, 5}));
  EXPECT_EQ(t.to_vector<uint8_t>(), kPixels);
}

TEST(IdxReader, ReadsLabelsAsInt64) {
  ScratchDir dir;
  Bytes labels{0, 9, 3, 3, 7};
  for (auto path : {dir.write("l", idx_bytes({5}, labels)), dir.write("l.gz", gzip(idx_bytes({5}, labels)))}) {
    Tensor t = data::read_idx_labels(path);
    EXPECT_EQ(t.dtype(), kInt64);
    EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{0, 9, 3, 3, 7}));
  }
}

TEST(IdxReader, ReadsAnEmptySet) {
  ScratchDir dir;
  Tensor t = data::read_idx_images(dir.write("e", idx_bytes({0, 28, 28}, {})));
  EXPECT_EQ(t.sizes(), (Shape{0, 28, 28}));
}

TEST(IdxReader, GenericReaderKeepsTheFileDims) {
  ScratchDir dir;
  Tensor t = data::read_idx(dir.write("g", idx_bytes({2, 3, 2, 5}, iota_bytes(60))));
  EXPECT_EQ(t.sizes(), (Shape{2, 3, 2, 5}));
}

TEST(IdxReader, MissingFileIsIOErrorNamingIt) {
  EXPECT_TRUE(throws_io_error([] { data::read_idx_images("/nonexistent/kiln/x-idx3-ubyte"); },
                              {"/nonexistent/kiln/x-idx3-ubyte", "cannot open"}));
}

TEST(IdxReader, BadMagicIsIOError) {
  ScratchDir dir;
  Bytes b = idx_bytes({3, 4, 5}, kPixels);
  b[0] = 0x1f;
  b[1] = 0x00;  // not gzip either
  auto path = dir.write("bad", b);
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(path); }, {path, "bad magic"}));
}

TEST(IdxReader, UnsupportedElementTypeIsIOError) {
  ScratchDir dir;
  auto path = dir.write("f32", idx_bytes({3, 4, 5}, kPixels, 0x0D));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(path); }, {path, "element type"}));
}

TEST(IdxReader, WrongDimsByteIsIOError) {
  ScratchDir dir;
  auto labels_as_images = dir.write("l", idx_bytes({60}, kPixels));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(labels_as_images); },
                              {labels_as_images, "wrong dims byte", "1 dimensions, expected 3"}));
  auto images_as_labels = dir.write("i", idx_bytes({3, 4, 5}, kPixels));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_labels(images_as_labels); }, {"wrong dims byte"}));
  auto zero_dims = dir.write("z", idx_bytes({}, {}));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx(zero_dims); }, {"0 dimensions"}));
}

TEST(IdxReader, TruncatedHeaderIsIOError) {
  ScratchDir dir;
  Bytes b = idx_bytes({3, 4, 5}, {});
  b.resize(9);  // cut inside the dimension sizes
  auto plain = dir.write("h", b);
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(plain); }, {plain, "truncated", "dimension sizes"}));
  auto tiny = dir.write("t", Bytes{0, 0});
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(tiny); }, {tiny, "truncated", "magic"}));
  auto empty_file = dir.write("empty", Bytes{});
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(empty_file); }, {empty_file, "truncated"}));
}

TEST(IdxReader, TruncatedDataIsIOError) {
  ScratchDir dir;
  Bytes short_payload(kPixels.begin(), kPixels.end() - 7);
  auto plain = dir.write("p", idx_bytes({3, 4, 5}, short_payload));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(plain); }, {plain, "truncated", "60 bytes"}));
  auto gz = dir.write("p.gz", gzip(idx_bytes({3, 4, 5}, short_payload)));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(gz); }, {gz, "truncated"}));
}

TEST(IdxReader, ExtraDataDisagreeingWithCountsIsIOError) {
  ScratchDir dir;
  Bytes long_payload = iota_bytes(kPixels.size() + 4);
  auto plain = dir.write("p", idx_bytes({3, 4, 5}, long_payload));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(plain); }, {plain, "disagree"}));
  auto gz = dir.write("p.gz", gzip(idx_bytes({3, 4, 5}, long_payload)));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(gz); }, {gz, "disagree"}));
}

TEST(IdxReader, HugeClaimedCountsFailWithoutAllocatingThem) {
  ScratchDir dir;
  // 4e9 * 4e9 * 4e9 elements overflow 64 bits; 2^32-1 x 28 x 28 is 3.4 TB.
  auto overflow = dir.write("o", idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, kPixels));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(overflow); }, {overflow, "more data than"}));
  auto huge = dir.write("h", idx_bytes({0xFFFFFFFFu, 28, 28}, kPixels));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(huge); }, {huge, "truncated"}));
  auto huge_gz = dir.write("h.gz", gzip(idx_bytes({0xFFFFFFFFu, 28, 28}, kPixels)));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(huge_gz); }, {huge_gz, "truncated"}));
}

TEST(IdxReader, LabelOutOfRangeIsIOError) {
  ScratchDir dir;
  auto path = dir.write("l", idx_bytes({4}, Bytes{1, 2, 10, 3}));
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_labels(path); }, {path, "label 10 at index 2", "out of range"}));
  // A wider class count accepts it.
  EXPECT_EQ(data::read_idx_labels(path, 11).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 10, 3}));
}

TEST(IdxReader, CutGzipStreamIsIOError) {
  ScratchDir dir;
  Bytes gz = gzip(idx_bytes({3, 4, 5}, iota_bytes(60, 7)));
  gz.resize(gz.size() - 12);  // lose the end of the deflate stream and the trailer
  auto path = dir.write("cut.gz", gz);
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(path); }, {path, "gzip error", "unexpected end of file"}));
}

TEST(IdxReader, CorruptGzipStreamIsIOErrorNamingGzip) {
  ScratchDir dir;
  Bytes gz = gzip(idx_bytes({30, 40, 50}, iota_bytes(60000, 13)));
  for (size_t i = 20; i < 40 && i < gz.size(); ++i) gz[i] ^= 0xA5;  // damage the deflate data
  auto path = dir.write("bad.gz", gz);
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(path); }, {path, "gzip error"}));
}

TEST(IdxReader, DirectoryIsIOError) {
  ScratchDir dir;
  EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(dir.path()); }, {dir.path(), "not a regular file"}));
}

}  // namespace
}  // namespace kiln::testing
