#include "kiln/core/dtype.h"

#include "kiln/core/error.h"

namespace kiln {

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == kBool) return b;
  if (b == kBool) return a;
  const bool fa = is_floating(a), fb = is_floating(b);
  if (fa && !fb) return a;
  if (fb && !fa) return b;
  if (!fa) {  // both integers: u8 < i32 < i64 (u8 has no negative values but fits in i32)
    auto rank = [](DType t) { return t == kUInt8 ? 0 : (t == kInt32 ? 1 : 2); };
    return rank(a) > rank(b) ? a : b;
  }
  // both floating
  if ((a == kFloat16 && b == kBFloat16) || (a == kBFloat16 && b == kFloat16)) return kFloat32;
  auto rank = [](DType t) { return t == kFloat64 ? 2 : (t == kFloat32 ? 1 : 0); };
  return rank(a) > rank(b) ? a : b;
}

}  // namespace kiln
