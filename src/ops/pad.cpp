// pad: constant padding as a concatenation with filled blocks (a negative
// pad narrows), and reflect / replicate / circular padding as one
// index_select per padded dim with the source index of every output
// position. Composite: its gradient is that of cat, narrow and
// index_select, on every device, with no kernel of its own.
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/image.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

// The source position of output position o (in [0, n + lo + hi)) along a dim of size n.
int64_t source_index(const std::string& mode, int64_t o, int64_t n, int64_t lo) {
  int64_t i = o - lo;
  if (mode == "replicate") return std::min(std::max<int64_t>(i, 0), n - 1);
  if (mode == "circular") return ((i % n) + n) % n;
  // reflect: mirror about the edge element, which is not repeated
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

Tensor pad_dim_constant(const Tensor& x, int64_t dim, int64_t lo, int64_t hi, double value) {
  Tensor y = x;
  if (lo < 0) y = y.narrow(dim, -lo, y.size(dim) + lo);
  if (hi < 0) y = y.narrow(dim, 0, y.size(dim) + hi);
  std::vector<Tensor> parts;
  auto block = [&](int64_t n) {
    Shape s = y.sizes();
    s[static_cast<size_t>(dim)] = n;
    return full(s, value, TensorOptions(y.dtype()).device(y.device()));
  };
  if (lo > 0) parts.push_back(block(lo));
  parts.push_back(y);
  if (hi > 0) parts.push_back(block(hi));
  return parts.size() == 1 ? y : cat(parts, dim);
}

Tensor pad_dim_indexed(const char* op, const Tensor& x, int64_t dim, int64_t lo, int64_t hi, const std::string& mode) {
  const int64_t n = x.size(dim);
  KILN_CHECK(lo >= 0 && hi >= 0, ValueError, op, ": ", mode, " padding must be >= 0, got (", lo, ", ", hi,
             ") for dim ", dim);
  KILN_CHECK(n > 0, ShapeError, op, ": ", mode, " padding of an empty dim ", dim, " of ", detail::describe(x));
  if (mode == "reflect")
    KILN_CHECK(lo < n && hi < n, ValueError, op, ": reflect padding (", lo, ", ", hi, ") must be smaller than dim ",
               dim, " of size ", n, " (input ", detail::describe(x), ")");
  if (mode == "circular")
    KILN_CHECK(lo <= n && hi <= n, ValueError, op, ": circular padding (", lo, ", ", hi,
               ") must be at most dim ", dim, " of size ", n, " (input ", detail::describe(x), ")");
  std::vector<int64_t> idx(static_cast<size_t>(n + lo + hi));
  for (int64_t o = 0; o < n + lo + hi; ++o) idx[static_cast<size_t>(o)] = source_index(mode, o, n, lo);
  return index_select(x, dim, tensor(idx, {static_cast<int64_t>(idx.size())}).to(x.device()));
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, const std::string& mode, double value) {
  const char* op = "pad";
  detail::check_defined(op, x);
  KILN_CHECK(pad.size() % 2 == 0, ValueError, op, ": pad must have an even number of entries, got ", pad.size());
  const int64_t dims = static_cast<int64_t>(pad.size()) / 2;
  KILN_CHECK(dims <= x.dim(), ValueError, op, ": ", pad.size(), " pad entries pad ", dims, " dims but input ",
             detail::describe(x), " has ", x.dim());
  KILN_CHECK(mode == "constant" || mode == "reflect" || mode == "replicate" || mode == "circular", ValueError, op,
             ": mode must be \"constant\", \"reflect\", \"replicate\" or \"circular\", got \"", mode, "\"");
  KILN_CHECK(mode == "constant" || value == 0.0, ValueError, op, ": a fill value applies only to mode \"constant\"");
  Tensor y = x;
  for (int64_t k = 0; k < dims; ++k) {
    const int64_t dim = x.dim() - 1 - k;
    const int64_t lo = pad[static_cast<size_t>(2 * k)], hi = pad[static_cast<size_t>(2 * k + 1)];
    if (mode == "constant") {
      KILN_CHECK(y.size(dim) + lo + hi >= 0, ShapeError, op, ": padding (", lo, ", ", hi, ") of dim ", dim,
                 " of size ", y.size(dim), " gives a negative size");
      y = pad_dim_constant(y, dim, lo, hi, value);
    } else if (lo != 0 || hi != 0) {
      y = pad_dim_indexed(op, y, dim, lo, hi, mode);
    }
  }
  return y;
}

}  // namespace kiln
