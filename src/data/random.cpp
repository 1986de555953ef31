#include "kiln/data/random.h"

namespace kiln::data {

uint64_t mix_seed(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

RandomEngine sample_engine(uint64_t seed, int64_t epoch, int64_t index) {
  uint64_t s = mix_seed(mix_seed(mix_seed(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
  return RandomEngine(s);
}

RandomEngine epoch_engine(uint64_t seed, int64_t epoch) {
  // A different stream from sample_engine(seed, epoch, *) for the same numbers.
  return RandomEngine(mix_seed(mix_seed(seed ^ 0x5DEECE66Dull) ^ static_cast<uint64_t>(epoch)));
}

double uniform01(RandomEngine& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

uint64_t uniform_below(RandomEngine& rng, uint64_t n) {
  // Reject the top partial block of 2^64 so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

}  // namespace kiln::data
