// Builders shared by the rows of the nn ops (rows_nn.cpp, rows_conv2d.cpp,
// rows_pool2d.cpp, rows_batch_norm.cpp, rows_cross_entropy.cpp): NCHW
// image geometry, per-position class losses, fixed targets. The references
// are plain float64 loops written from the PyTorch documentation of each
// op, sharing no code with kiln's kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ops/rows_common.h"

namespace kiln::testing::rows {

// Treats a 3-D [C,H,W] reference as a batch of one; `squeezed` says so.
struct Image {
  int64_t N, C, H, W;
  bool squeezed;
};
inline Image image_of(const Ref& x) {
  if (x.shape.size() == 3) return {1, x.shape[0], x.shape[1], x.shape[2], true};
  return {x.shape[0], x.shape[1], x.shape[2], x.shape[3], false};
}
inline Shape image_shape(const Image& im, int64_t C, int64_t H, int64_t W) {
  if (im.squeezed) return {C, H, W};
  return {im.N, C, H, W};
}

inline Ref reduce_loss(const Ref& per_element, const std::string& reduction, double count) {
  if (reduction == "none") return per_element;
  double total = 0;
  for (double v : per_element.v) total += v;
  return Ref{{}, {reduction == "sum" ? total : total / count}, std::nullopt};
}

// Class scores x [N,C,d...] (or [C]) with targets [N,d...] (or []): calls
// f(scores of one position, its target) for each position in target order.
// Returns the per-position losses shaped like the target and the number of
// positions whose target is not ignore_index.
template <class PerRow>
inline std::pair<Ref, double> per_position(const Ref& x, const Ref& target, int64_t ignore_index, PerRow f) {
  const bool single = x.shape.size() == 1;
  const int64_t N = single ? 1 : x.shape[0], C = single ? x.shape[0] : x.shape[1];
  const int64_t S = single ? 1 : numel_of(x.shape) / std::max<int64_t>(N * C, 1);
  Ref out{target.shape, {}, std::nullopt};
  double valid = 0;
  std::vector<double> scores(C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t t = static_cast<int64_t>(target.v[n * S + s]);
      if (t == ignore_index) {
        out.v.push_back(0.0);
        continue;
      }
      for (int64_t c = 0; c < C; ++c) scores[c] = x.v[(n * C + c) * S + s];
      out.v.push_back(f(scores, t));
      valid += 1;
    }
  return {out, valid};
}

// Class-index targets: int64 values, never differentiated.
inline SampleInput targets(Shape s, std::vector<double> values) { return fixed(std::move(s), std::move(values)); }

inline const std::vector<std::pair<DType, Tolerance>> kProductTolerance = {
    {kFloat32, {1e-4, 1e-4}}, {kFloat16, {2e-3, 5e-3}}, {kBFloat16, {1.6e-2, 4e-2}}};

inline std::string size2_tag(const char* what, Size2 s) {
  return std::string(what) + std::to_string(s.h) + (s.h == s.w ? "" : "x" + std::to_string(s.w));
}

// A Size2 attribute {h, w}.
inline Size2 size2(const Attrs& a, const std::string& key) {
  const Shape& s = a.shape(key);
  return Size2(s[0], s[1]);
}
inline Shape shape_of(Size2 s) { return {s.h, s.w}; }

}  // namespace kiln::testing::rows
