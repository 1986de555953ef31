// The random number generator: Philox 4x32-10, counter based. A (seed, offset)
// pair fully determines the numbers, so CPU and CUDA give the same stream.
#pragma once
#include <cstdint>

namespace kiln {

struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // in Philox counter blocks already consumed
};

// Seeds the default generator (and resets its offset).
void manual_seed(uint64_t seed);
GeneratorState get_rng_state();
void set_rng_state(const GeneratorState& state);

namespace detail {
// Reserves `blocks` consecutive Philox counter blocks and returns the state
// at which the caller must start.
GeneratorState reserve_philox_blocks(uint64_t blocks);
}  // namespace detail

}  // namespace kiln
