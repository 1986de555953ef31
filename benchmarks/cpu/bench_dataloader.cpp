// One shuffled epoch of Fashion-MNIST through data::DataLoader (batch 128),
// against the bandwidth ceiling of the same bytes copied by one memcpy per
// batch, measured in the same run. One JSON line per measurement:
// {"bench":"dataloader","workers":W,"epoch_ms":...,"images_per_s":...,
//  "memcpy_epoch_ms":...,"ratio_to_memcpy":...}
//
//   ./bench_dataloader [repeats=5]        (needs Debian's dataset-fashion-mnist,
//                                          or KILN_FASHION_MNIST_DIR)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kiln/kiln.h"

using namespace kiln;

namespace {

template <class Fn>
double median_ms(int repeats, Fn fn) {
  fn();  // warm-up: the first epoch also pages the files in
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    auto a = std::chrono::steady_clock::now();
    fn();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
  const char* dir = std::getenv("KILN_FASHION_MNIST_DIR");
  const std::string root = dir && *dir ? dir : data::FashionMNIST::kDefaultRoot;
  std::shared_ptr<data::FashionMNIST> train;
  try {
    train = std::make_shared<data::FashionMNIST>(root);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_dataloader: %s\n", e.what());
    return 2;
  }
  const int64_t batch = 128;
  const int64_t n = train->size();

  // The ceiling: the same float32 image bytes, one memcpy per batch.
  const size_t bytes_per_image = 28 * 28 * sizeof(float);
  std::vector<char> src(static_cast<size_t>(n) * bytes_per_image), dst(static_cast<size_t>(batch) * bytes_per_image);
  auto copy_epoch = [&] {
    for (int64_t i = 0; i < n; i += batch) {
      const size_t count = static_cast<size_t>(std::min(batch, n - i)) * bytes_per_image;
      std::memcpy(dst.data(), src.data() + static_cast<size_t>(i) * bytes_per_image, count);
    }
  };

  for (int workers : {0, 1, 2}) {
    // Measured beside each loader setting, so both see the same machine load.
    const double memcpy_ms = median_ms(repeats, copy_epoch);
    data::DataLoader loader(train, data::DataLoaderOptions().batch_size(batch).shuffle(true).seed(3).num_workers(workers));
    int64_t seen = 0;
    const double ms = median_ms(repeats, [&] {
      seen = 0;
      for (auto& b : loader) seen += b.size();
    });
    if (seen != n) {
      std::fprintf(stderr, "bench_dataloader: an epoch held %lld images, not %lld\n", static_cast<long long>(seen),
                   static_cast<long long>(n));
      return 1;
    }
    std::printf(
        "{\"bench\":\"dataloader\",\"workers\":%d,\"batch\":%lld,\"epoch_ms\":%.2f,\"images_per_s\":%.0f,"
        "\"memcpy_epoch_ms\":%.3f,\"ratio_to_memcpy\":%.1f}\n",
        workers, static_cast<long long>(batch), ms, n / (ms / 1e3), memcpy_ms, ms / memcpy_ms);
  }
  return 0;
}
