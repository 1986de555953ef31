#include "kiln/core/generator.h"

#include <mutex>

namespace kiln {

namespace {
std::mutex& generator_mutex() {
  static std::mutex m;
  return m;
}
GeneratorState& default_state() {
  static GeneratorState s{67280421310721ull, 0};
  return s;
}
}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(generator_mutex());
  default_state() = GeneratorState{seed, 0};
}

GeneratorState get_rng_state() {
  std::lock_guard<std::mutex> lock(generator_mutex());
  return default_state();
}

void set_rng_state(const GeneratorState& state) {
  std::lock_guard<std::mutex> lock(generator_mutex());
  default_state() = state;
}

namespace detail {
GeneratorState reserve_philox_blocks(uint64_t blocks) {
  std::lock_guard<std::mutex> lock(generator_mutex());
  GeneratorState start = default_state();
  default_state().offset += blocks;
  return start;
}
}  // namespace detail

}  // namespace kiln
