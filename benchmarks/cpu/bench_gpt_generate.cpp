// The cost of each generated token as the sequence grows, with the KV cache
// (GPT::forward_cached: one token's forward against the cached keys and
// values) and without it (the whole sequence's forward for every new token,
// what generation costs without a cache). With the cache the cost per token
// stays nearly flat (only the attention over the cached positions grows,
// 2 * L * T * C multiply-adds per token against the 12 * L * C^2 of the
// weights); without it, it grows linearly with T.
//   bench_gpt_generate [block_size] [layers heads width] [device]
// One JSON line per bucket of 64 positions (ms per token for both), then a
// Markdown table of the same figures.
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const int64_t block = argc > 1 ? std::atoll(argv[1]) : 512;
  const int64_t layers = argc > 2 ? std::atoll(argv[2]) : 4, heads = argc > 3 ? std::atoll(argv[3]) : 4,
                width = argc > 4 ? std::atoll(argv[4]) : 128;
  const kiln::Device device(argc > 5 ? argv[5] : "cpu");
  kiln::manual_seed(0);
  kiln::nn::GPT model(
      kiln::nn::GPTConfig().vocab_size(256).block_size(block).n_layer(layers).n_head(heads).n_embd(width));
  model->to(device);
  model->eval();
  kiln::NoGradGuard no_grad;
  const kiln::Tensor ids = kiln::randint(0, 256, {1, block}).to(device);
  using Clock = std::chrono::steady_clock;
  const int64_t bucket = 64;
  const char* commit = std::getenv("KILN_GIT_COMMIT");
  struct Row {
    int64_t first, last;
    double cached_ms, uncached_ms;
  };
  std::vector<Row> rows;
  kiln::nn::GPTCache cache = model->make_cache();
  model->forward_cached(ids.narrow(1, 0, 1), cache);  // warm-up
  cache.reset();
  for (int64_t start = 0; start < block; start += bucket) {
    const int64_t n = std::min(bucket, block - start);
    // Cached: tokens start .. start+n-1, one at a time, after the cache holds 0 .. start-1.
    auto t0 = Clock::now();
    for (int64_t t = start; t < start + n; ++t) model->forward_cached(ids.narrow(1, t, 1), cache).cpu();
    const double cached_ms = 1e3 * std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(n);
    // Uncached: the forward of the whole prefix for each new token (a sample of 4 per bucket).
    const int64_t samples = 4;
    t0 = Clock::now();
    for (int64_t k = 0; k < samples; ++k) {
      const int64_t len = start + 1 + k * (n - 1) / std::max<int64_t>(samples - 1, 1);
      model(ids.narrow(1, 0, len)).cpu();
    }
    const double full_ms = 1e3 * std::chrono::duration<double>(Clock::now() - t0).count() / samples;
    std::printf("{\"bench\": \"gpt_generate\", \"device\": \"%s\", \"layers\": %lld, \"heads\": %lld, "
                "\"width\": %lld, \"positions\": \"%lld-%lld\", \"cached_ms_per_token\": %.3f, "
                "\"uncached_ms_per_token\": %.3f, \"commit\": \"%s\"}\n",
                device.str().c_str(), static_cast<long long>(layers), static_cast<long long>(heads),
                static_cast<long long>(width), static_cast<long long>(start), static_cast<long long>(start + n - 1),
                cached_ms, full_ms, commit ? commit : "unknown");
    rows.push_back({start, start + n - 1, cached_ms, full_ms});
  }
  std::printf("\n| positions | cached ms/token | uncached ms/token | uncached / cached |\n|---|---|---|---|\n");
  for (const Row& r : rows)
    std::printf("| %lld-%lld | %.3f | %.3f | %.1f |\n", static_cast<long long>(r.first),
                static_cast<long long>(r.last), r.cached_ms, r.uncached_ms, r.uncached_ms / r.cached_ms);
}
