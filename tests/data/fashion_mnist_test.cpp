// The real Fashion-MNIST files from Debian's dataset-fashion-mnist package,
// and the MNIST dataset class on small files.
#include <sys/stat.h>

#include <vector>
#include <kiln/data/dataloader.h>
#include <kiln/data/mnist.h>

#include "data/test_files.h"
#include "support/test_data.h"

namespace kiln::testing {
namespace {

bool have_fashion_mnist() {
  struct stat st {};
  return ::stat(fashion_mnist_root().c_str(), &st) == 0;
}

TEST(FashionMNIST, RealTrainingSetHas60000ImagesInTenClasses) {
  if (!have_fashion_mnist())
    GTEST_SKIP() << fashion_mnist_root() << " is absent (install Debian's dataset-fashion-mnist)";
  data::FashionMNIST train(fashion_mnist_root());
  ASSERT_EQ(train.size(), 60000);
  EXPECT_EQ(train.images().sizes(), (Shape{60000, 1, 28, 28}));
  std::vector<int64_t> labels = train.targets().to_vector<int64_t>();
  std::vector<int64_t> per_class(10, 0);
  for (int64_t l : labels) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, 10);
    ++per_class[size_t(l)];
  }
  for (int64_t c : per_class) EXPECT_EQ(c, 6000);  // the set is balanced
  EXPECT_GE(train.images().min().item<float>(), 0.0f);
  EXPECT_LE(train.images().max().item<float>(), 1.0f);
  EXPECT_EQ(train.class_names()[9], "Ankle boot");
}

TEST(FashionMNIST, RealTestSetHas10000Images) {
  if (!have_fashion_mnist())
    GTEST_SKIP() << fashion_mnist_root() << " is absent (install Debian's dataset-fashion-mnist)";
  data::FashionMNIST test(fashion_mnist_root(), data::Split::Test);
  ASSERT_EQ(test.size(), 10000);
  data::Example ex = test.get(0);
  EXPECT_EQ(ex.data.sizes(), (Shape{1, 28, 28}));
  EXPECT_EQ(ex.data.dtype(), kFloat32);
  EXPECT_EQ(ex.target.dtype(), kInt64);
  EXPECT_EQ(ex.target.item<int64_t>(), 9);  // the first test image is an ankle boot
}

TEST(FashionMNIST, AnEpochOfShuffledBatchesHoldsEveryImageOnce) {
  if (!have_fashion_mnist())
    GTEST_SKIP() << fashion_mnist_root() << " is absent (install Debian's dataset-fashion-mnist)";
  auto train = std::make_shared<data::FashionMNIST>(fashion_mnist_root());
  data::DataLoader loader(train, data::DataLoaderOptions().batch_size(128).shuffle(true).seed(3).num_workers(1));
  // The training set has 6000 images of each class; a shuffled epoch that
  // dropped or repeated images would be off in some class. (Its speed is
  // measured by benchmarks/cpu/bench_dataloader.cpp, not here.)
  std::vector<int64_t> per_class(10, 0);
  int64_t seen = 0;
  for (auto& batch : loader) {
    seen += batch.size();
    const Tensor t = batch.target.contiguous();
    const int64_t* p = t.data_ptr<int64_t>();
    for (int64_t i = 0; i < t.numel(); ++i) ++per_class.at(static_cast<size_t>(p[i]));
  }
  EXPECT_EQ(seen, 60000);
  EXPECT_EQ(per_class, std::vector<int64_t>(10, 6000));
}

TEST(MNISTDataset, FindsPlainOrGzippedFilesAndChecksCountsAgree) {
  ScratchDir dir;
  dir.write("t10k-images-idx3-ubyte.gz", gzip(idx_bytes({2, 28, 28}, iota_bytes(2 * 784))));
  dir.write("t10k-labels-idx1-ubyte", idx_bytes({2}, Bytes{4, 5}));
  data::MNIST test(dir.path(), data::Split::Test);
  EXPECT_EQ(test.size(), 2);
  EXPECT_EQ(test.get(1).target.item<int64_t>(), 5);
  EXPECT_FLOAT_EQ(test.get(0).data.at<float>({0, 0, 3}), 3.0f / 255.0f);

  dir.write("train-images-idx3-ubyte", idx_bytes({3, 28, 28}, iota_bytes(3 * 784)));
  dir.write("train-labels-idx1-ubyte", idx_bytes({2}, Bytes{4, 5}));
  EXPECT_TRUE(throws_io_error([&] { data::MNIST m(dir.path()); }, {"3 images", "2 labels"}));
}

TEST(MNISTDataset, MissingDirectoryIsIOError) {
  EXPECT_TRUE(throws_io_error([] { data::MNIST m("/nonexistent/kiln-mnist"); },
                              {"/nonexistent/kiln-mnist/train-images-idx3-ubyte", "not found"}));
}

}  // namespace
}  // namespace kiln::testing
