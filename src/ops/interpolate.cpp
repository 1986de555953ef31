// interpolate: nearest and bilinear resizing of [N,C,H,W], each spatial dim
// separately (bilinear is linear along H, then along W). Nearest is one
// index_select per dim; linear is two index_selects blended with per-row
// weights. Composite: gradients come from index_select and the elementwise
// ops, on every device, with no kernel of its own.
#include <cmath>

#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/image.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

Tensor index_tensor(const std::vector<int64_t>& v, const Device& d) {
  return tensor(v, {static_cast<int64_t>(v.size())}).to(d);
}

// PyTorch's source-index scale: in/out, or 1/scale_factor when one was given.
double area_scale(int64_t in, int64_t out, std::optional<double> scale) {
  return scale ? 1.0 / *scale : static_cast<double>(in) / static_cast<double>(out);
}

Tensor nearest_dim(const Tensor& x, int64_t dim, int64_t out, std::optional<double> scale) {
  const int64_t in = x.size(dim);
  const double s = area_scale(in, out, scale);
  std::vector<int64_t> idx(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o)
    idx[static_cast<size_t>(o)] = std::min(static_cast<int64_t>(std::floor(static_cast<double>(o) * s)), in - 1);
  return index_select(x, dim, index_tensor(idx, x.device()));
}

Tensor linear_dim(const Tensor& x, int64_t dim, int64_t out, std::optional<double> scale, bool align_corners) {
  const int64_t in = x.size(dim);
  std::vector<int64_t> i0(static_cast<size_t>(out)), i1(static_cast<size_t>(out));
  std::vector<double> w1(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    double src;
    if (align_corners) {
      src = out > 1 ? static_cast<double>(o) * static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
    } else {
      src = (static_cast<double>(o) + 0.5) * area_scale(in, out, scale) - 0.5;
      src = std::max(src, 0.0);
    }
    const int64_t lo = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
    const auto k = static_cast<size_t>(o);
    i0[k] = lo;
    i1[k] = std::min(lo + 1, in - 1);
    w1[k] = src - static_cast<double>(lo);
  }
  Shape wshape(static_cast<size_t>(x.dim()), 1);
  wshape[static_cast<size_t>(dim)] = out;
  const Tensor lam = tensor(w1, {out}).reshape(wshape).to(x.dtype()).to(x.device());
  const Tensor a = index_select(x, dim, index_tensor(i0, x.device()));
  const Tensor b = index_select(x, dim, index_tensor(i1, x.device()));
  return a + (b - a) * lam;
}

}  // namespace

Tensor interpolate(const Tensor& x, std::optional<Size2> size, std::optional<std::pair<double, double>> scale_factor,
                   const std::string& mode, bool align_corners) {
  const char* op = "interpolate";
  detail::check_defined(op, x);
  detail::check_floating(op, x);
  KILN_CHECK(x.dim() == 4, ShapeError, op, ": input must be [N,C,H,W], got ", detail::describe(x));
  KILN_CHECK(size.has_value() != scale_factor.has_value(), ValueError, op,
             ": give exactly one of size and scale_factor");
  KILN_CHECK(mode == "nearest" || mode == "bilinear", ValueError, op,
             ": mode must be \"nearest\" or \"bilinear\", got \"", mode, "\"");
  KILN_CHECK(mode == "bilinear" || !align_corners, ValueError, op, ": align_corners applies only to \"bilinear\"");
  const int64_t H = x.size(2), W = x.size(3);
  int64_t Ho, Wo;
  std::optional<double> sh, sw;
  if (size) {
    Ho = size->h;
    Wo = size->w;
  } else {
    KILN_CHECK(scale_factor->first > 0 && scale_factor->second > 0, ValueError, op,
               ": scale_factor must be positive, got (", scale_factor->first, ", ", scale_factor->second, ")");
    sh = scale_factor->first;
    sw = scale_factor->second;
    Ho = static_cast<int64_t>(std::floor(static_cast<double>(H) * *sh));
    Wo = static_cast<int64_t>(std::floor(static_cast<double>(W) * *sw));
  }
  KILN_CHECK(Ho >= 1 && Wo >= 1, ShapeError, op, ": output size (", Ho, ", ", Wo, ") must be positive (input ",
             detail::describe(x), ")");
  KILN_CHECK(H >= 1 && W >= 1, ShapeError, op, ": input ", detail::describe(x), " has an empty spatial dim");
  if (mode == "nearest") return nearest_dim(nearest_dim(x, 2, Ho, sh), 3, Wo, sw);
  return linear_dim(linear_dim(x, 2, Ho, sh, align_corners), 3, Wo, sw, align_corners);
}

}  // namespace kiln
