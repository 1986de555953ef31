// Regression tests for issue 12's reader defects, each with the input that
// showed it (the same inputs live in tests/fuzz/regressions/ for the fuzzers):
// zero-element IDX shapes whose strides overflow int64, a gzip file claiming
// far more data than it holds, and a data-loader position that overflows.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <limits>
#include <memory>

#include <kiln/data/cifar.h>
#include <kiln/data/dataloader.h>
#include <kiln/data/idx.h>
#include <kiln/data/mnist.h>
#include <kiln/kiln.h>

#include "data/test_files.h"

namespace kiln::testing {
namespace {

TEST(IdxHardening, ZeroElementShapeWithHugeDimsIsIOErrorNotAWrappedTensor) {
  ScratchDir dir;
  // The issue's reproducer: printf '\0\0\x08\x03\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff'
  const Bytes issue_bytes = {0, 0, 8, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  auto first = dir.write("first", issue_bytes);
  auto last = dir.write("last", idx_bytes({0xFFFFFFFFu, 0xFFFFFFFFu, 0}, {}));
  for (const auto& path : {first, last}) {
    EXPECT_TRUE(throws_io_error([&] { data::read_idx(path); }, {path, "hold no data", "too large for a tensor"}));
    EXPECT_TRUE(throws_io_error([&] { data::read_idx_images(path); }, {path, "too large for a tensor"}));
  }
  // Zero-element shapes that a tensor can hold still read.
  auto fine = dir.write("fine", idx_bytes({0, 1u << 16, 1u << 16}, {}));
  EXPECT_EQ(data::read_idx(fine).sizes(), (Shape{0, 1 << 16, 1 << 16}));
}

TEST(IdxHardening, MnistWithZeroImagesOfHugeSizeIsIOError) {
  ScratchDir dir;
  dir.write("train-images-idx3-ubyte", idx_bytes({0, 0xFFFFFFFFu, 0xFFFFFFFFu}, {}));
  dir.write("train-labels-idx1-ubyte", idx_bytes({0}, {}));
  EXPECT_TRUE(throws_io_error([&] { data::MNIST(dir.path(), data::Split::Train); }, {"too large for a tensor"}));
}

// Runs fn in a child process and returns how much its peak resident memory
// grew (bytes), or -1 when fn did not throw an IOError there. A fresh
// process starts its peak at its current size, so earlier tests do not mask it.
int64_t peak_rss_growth_of_failing_read(const std::function<void()>& fn) {
  int pipe_fd[2];
  if (::pipe(pipe_fd) != 0) return -2;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(pipe_fd[0]);
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    int64_t growth = -1;
    try {
      fn();
    } catch (const kiln::IOError&) {
      ::getrusage(RUSAGE_SELF, &after);
      growth = (int64_t(after.ru_maxrss) - int64_t(before.ru_maxrss)) * 1024;  // ru_maxrss is in KiB
    } catch (...) {
    }
    const ssize_t n = ::write(pipe_fd[1], &growth, sizeof growth);
    ::_exit(n == sizeof growth ? 0 : 1);
  }
  ::close(pipe_fd[1]);
  int64_t growth = -3;
  if (::read(pipe_fd[0], &growth, sizeof growth) != sizeof growth) growth = -3;
  ::close(pipe_fd[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return growth;
}

TEST(IdxHardening, GzipClaimingTwoToThe48BytesFailsWithoutAllocatingAhead) {
  ScratchDir dir;
  // A header of 2^16 x 2^16 x 2^16 (the largest count accepted) with no data, gzipped: 29 bytes.
  const Bytes gz = gzip(idx_bytes({1u << 16, 1u << 16, 1u << 16}, {}));
  EXPECT_LT(gz.size(), 40u);
  auto path = dir.write("claims.gz", gz);
  EXPECT_TRUE(throws_io_error([&] { data::read_idx(path); }, {path, "truncated", "281474976710656 bytes"}));
  // It used to reserve (and zero) 64 MiB before finding out; now the buffer
  // follows the data. 16 MiB leaves room for zlib's buffers and page noise.
  const int64_t growth = peak_rss_growth_of_failing_read([&] { data::read_idx(path); });
  EXPECT_GE(growth, 0) << "the read in the child did not fail with an IOError";
  EXPECT_LT(growth, int64_t(16) << 20) << "peak memory grew by " << growth << " bytes reading a " << gz.size()
                                       << "-byte file";
}

TEST(IdxHardening, LargeGzipPayloadStillReadsWhole) {
  // The growing buffer must still deliver every byte of a real-sized file.
  ScratchDir dir;
  const Bytes payload = iota_bytes(size_t(3) << 20, 253);
  auto path = dir.write("big.gz", gzip(idx_bytes({3, 1024, 1024}, payload)));
  Tensor t = data::read_idx(path);
  ASSERT_EQ(t.sizes(), (Shape{3, 1024, 1024}));
  EXPECT_EQ(std::memcmp(t.data_ptr<uint8_t>(), payload.data(), payload.size()), 0);
}

TEST(CifarHardening, SmallGzipFileDoesNotAllocateASlabAhead) {
  ScratchDir dir;
  Bytes record(3073, 7);
  record[0] = 3;
  record.push_back(1);  // one byte too many: the read fails after reading everything
  auto path = dir.write("one.bin.gz", gzip(record));
  const int64_t growth = peak_rss_growth_of_failing_read([&] { data::read_cifar10_batch(path); });
  EXPECT_GE(growth, 0) << "the read in the child did not fail with an IOError";
  // The reader used to grow in 12.6 MB slabs.
  EXPECT_LT(growth, int64_t(8) << 20) << "peak memory grew by " << growth << " bytes";
}

TEST(LoaderHardening, APositionWhoseNextEpochOverflowsIsRefused) {
  auto ds = std::make_shared<data::TensorDataset>(kiln::zeros({8, 2}), kiln::zeros({8}));
  data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(2));
  // batch == size() means "the start of epoch + 1".
  EXPECT_THROW(loader.load_state({std::numeric_limits<int64_t>::max(), loader.size()}), kiln::ValueError);
  EXPECT_THROW(loader.load_state({int64_t(1) << 53, 0}), kiln::ValueError);  // the bound of every restored counter
  EXPECT_THROW(loader.load_state({-1, 0}), kiln::ValueError);
  loader.load_state({5, loader.size()});
  EXPECT_EQ(loader.state().epoch, 6);
}

}  // namespace
}  // namespace kiln::testing
