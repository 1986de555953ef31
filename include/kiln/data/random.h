// Randomness for data loading: std::mt19937_64 engines seeded from
// (seed, epoch, index) by splitmix64, and bounded draws written here rather
// than std::uniform_*_distribution (whose results differ between standard
// libraries), so a seed gives the same order and augmentations everywhere,
// whatever the number of loader threads. Kept apart from kiln's Philox
// generator so data loading never advances the model's random stream.
#pragma once
#include <cstdint>
#include <random>

namespace kiln::data {

using RandomEngine = std::mt19937_64;

// splitmix64 finaliser: decorrelates nearby seeds.
uint64_t mix_seed(uint64_t x);
// The engine for one example of one epoch.
RandomEngine sample_engine(uint64_t seed, int64_t epoch, int64_t index);
// The engine for one epoch's shuffle.
RandomEngine epoch_engine(uint64_t seed, int64_t epoch);
// Uniform in [0, 1) with 53 random bits.
double uniform01(RandomEngine& rng);
// Uniform integer in [0, n), n >= 1, without modulo bias.
uint64_t uniform_below(RandomEngine& rng, uint64_t n);

}  // namespace kiln::data
