// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11): a counter-based generator, so element i of any random tensor
// is a pure function of (seed, offset, i) on every device.
//
// kiln's convention: element i of a request that starts at counter block
// `offset` reads block offset + i / 2 and uses lanes 2*(i%2) and 2*(i%2)+1.
#pragma once
#include <cstdint>

#include "functors/math.h"

namespace kiln::functors {

struct PhiloxBlock {
  uint32_t v[4];
};

KILN_HD inline PhiloxBlock philox4x32_10(uint64_t seed, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return PhiloxBlock{{c0, c1, c2, c3}};
}

// The two 32-bit words of element i.
struct PhiloxPair {
  uint32_t a, b;
};
KILN_HD inline PhiloxPair philox_pair(uint64_t seed, uint64_t offset, uint64_t i) {
  const PhiloxBlock blk = philox4x32_10(seed, offset + i / 2);
  const int lane = static_cast<int>(i % 2) * 2;
  return PhiloxPair{blk.v[lane], blk.v[lane + 1]};
}

// Uniform in [0, 1): 24 bits for float, 53 bits for double.
KILN_HD inline float uniform_float(PhiloxPair p) { return static_cast<float>(p.a >> 8) * (1.0f / 16777216.0f); }
KILN_HD inline double uniform_double(PhiloxPair p) {
  const uint64_t bits = ((static_cast<uint64_t>(p.a) << 32) | p.b) >> 11;
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}
// Standard normal by Box-Muller in double (one value per pair), so the
// CPU and the GPU agree to within rounding of the float result.
KILN_HD inline double normal_double(PhiloxPair p) {
  const double u1 = (static_cast<double>(p.a) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]
  const double u2 = static_cast<double>(p.b) * (1.0 / 4294967296.0);          // [0, 1)
  return sqrt_(-2.0 * log_(u1)) * cos_(6.283185307179586 * u2);
}
KILN_HD inline int64_t randint_value(PhiloxPair p, int64_t low, uint64_t range) {
  const uint64_t bits = (static_cast<uint64_t>(p.a) << 32) | p.b;
  return low + static_cast<int64_t>(bits % range);
}

}  // namespace kiln::functors
