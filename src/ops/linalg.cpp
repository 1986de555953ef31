// matmul with NumPy semantics, reduced to one batched product (bmm).
#include "autograd/derivatives/linalg.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/linalg.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace {
// The backend takes matrices with a unit stride in one of the last two dims.
Tensor gemm_operand(const Tensor& t) {
  const int64_t rows = t.size(1), cols = t.size(2), rs = t.stride(1), cs = t.stride(2);
  const bool row_major = cs == 1 && (rows == 1 || rs >= cols);
  const bool col_major = rs == 1 && (cols == 1 || cs >= rows);
  if (row_major || col_major) return t;
  return t.contiguous();
}
// [B, R, C] stored column by column (a transposed view), not row by row.
bool is_column_major(const Tensor& t) {
  return t.size(1) > 1 && t.size(2) > 1 && t.stride(1) == 1 && t.stride(2) >= t.size(1);
}
}  // namespace

Tensor bmm(const Tensor& a, const Tensor& b) {
  if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&a, &b})) return bmm(c[0], c[1]);
  detail::check_defined("bmm", a, "first input");
  detail::check_defined("bmm", b, "second input");
  detail::check_same_device("bmm", {&a, &b});
  KILN_CHECK(a.dim() == 3 && b.dim() == 3, ShapeError, "bmm: expected 3-D tensors, got ", detail::describe(a),
             " and ", detail::describe(b));
  KILN_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1), ShapeError, "bmm: shapes ", shape_str(a.sizes()),
             " and ", shape_str(b.sizes()), " cannot be multiplied (batch ", a.size(0), " vs ", b.size(0), ", inner ",
             a.size(2), " vs ", b.size(1), ")");
  KILN_CHECK(a.dtype() == b.dtype(), DTypeError, "bmm: expected both inputs to have the same dtype, got ",
             detail::describe(a), " and ", detail::describe(b));
  KILN_CHECK(is_floating(a.dtype()), DTypeError, "bmm: expected floating point inputs, got ", detail::describe(a));
  Tensor out = detail::make_empty({a.size(0), a.size(1), b.size(2)}, a.dtype(), a.device());
  if (out.numel() > 0) {
    if (a.size(2) == 0) {
      detail::backend_of(out).fill(out, 0);
    } else {
      NoGradGuard no_grad;
      detail::backend_of(out).matmul(gemm_operand(a.detach()), gemm_operand(b.detach()), out);
    }
  }
  if (autograd::needs_grad({&a, &b})) {
    auto node = std::make_shared<autograd::BmmBackward>();
    if (b.requires_grad()) node->a = autograd::SavedTensor(a);
    if (a.requires_grad()) node->b = autograd::SavedTensor(b);
    node->a_column_major = is_column_major(a);
    node->b_column_major = is_column_major(b);
    autograd::set_history(out, node, {&a, &b});
  }
  return out;
}

Tensor mm(const Tensor& a, const Tensor& b) {
  if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&a, &b})) return mm(c[0], c[1]);
  detail::check_defined("mm", a, "first input");
  detail::check_defined("mm", b, "second input");
  KILN_CHECK(a.dim() == 2 && b.dim() == 2, ShapeError, "mm: expected 2-D tensors, got ", detail::describe(a),
             " and ", detail::describe(b));
  return matmul(a, b);
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&a, &b})) return matmul(c[0], c[1]);
  detail::check_defined("matmul", a, "first input");
  detail::check_defined("matmul", b, "second input");
  KILN_CHECK(a.dim() >= 1 && b.dim() >= 1, ShapeError, "matmul: both arguments need at least 1 dim, got ",
             detail::describe(a), " and ", detail::describe(b));
  if (a.dim() == 1 && b.dim() == 1) {
    KILN_CHECK(a.size(0) == b.size(0), ShapeError, "matmul: 1-D inputs of different lengths ", shape_str(a.sizes()),
               " and ", shape_str(b.sizes()));
    return matmul(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(1)).squeeze(-1);

  const int64_t m = a.size(-2), k = a.size(-1), k2 = b.size(-2), n = b.size(-1);
  KILN_CHECK(k == k2, ShapeError, "matmul: shapes ", shape_str(a.sizes()), " and ", shape_str(b.sizes()),
             " cannot be multiplied (", m, "x", k, " and ", k2, "x", n, ")");
  if (b.dim() == 2 && a.dim() > 2) {
    // [..., M, K] @ [K, N] is one [(...*M), K] @ [K, N] product.
    Shape out_shape(a.sizes().begin(), a.sizes().end() - 1);
    out_shape.push_back(n);
    // The row count is explicit: reshape({-1, k}) cannot infer it when k == 0.
    int64_t rows = 1;
    for (int64_t i = 0; i + 1 < a.dim(); ++i) rows *= a.size(i);
    return matmul(a.reshape({rows, k}), b).view(out_shape);
  }
  Shape a_batch(a.sizes().begin(), a.sizes().end() - 2), b_batch(b.sizes().begin(), b.sizes().end() - 2);
  Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
  int64_t nb = 1;
  for (int64_t s : batch) nb *= s;
  Shape a_full = batch, b_full = batch;
  a_full.insert(a_full.end(), {m, k});
  b_full.insert(b_full.end(), {k, n});
  Tensor a3 = a.expand(a_full).reshape({nb, m, k});
  Tensor b3 = b.expand(b_full).reshape({nb, k, n});
  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {m, n});
  return bmm(a3, b3).view(out_shape);
}

}  // namespace kiln

#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"

namespace kiln {

// linear is matmul plus a broadcast bias; autograd comes from those two ops.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  // Here and not in matmul alone: matmul sees weight.t(), a view, whose cast would not be cached.
  if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&x, &weight, &bias}))
    return linear(c[0], c[1], c[2]);
  detail::check_defined("linear", x);
  detail::check_defined("linear", weight, "weight");
  detail::check_same_device("linear", {&x, &weight, &bias});
  KILN_CHECK(weight.dim() == 2, ShapeError, "linear: weight must be 2-D [out, in], got ", detail::describe(weight));
  KILN_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), ShapeError, "linear: input ", detail::describe(x),
             " must end in in_features = ", weight.size(1), " (weight ", detail::describe(weight), ")");
  KILN_CHECK(x.dtype() == weight.dtype(), DTypeError, "linear: input ", detail::describe(x), " and weight ",
             detail::describe(weight), " must have the same dtype");
  if (bias.defined()) {
    KILN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), ShapeError, "linear: bias ",
               detail::describe(bias), " must be [", weight.size(0), "]");
    KILN_CHECK(bias.dtype() == x.dtype(), DTypeError, "linear: bias ", detail::describe(bias),
               " must have the input's dtype ", x.dtype());
  }
  // The product and the bias in place on its fresh output, recorded as one
  // node (LinearBackward) instead of a transpose, a product, views and an add.
  const int64_t in = weight.size(1), out_features = weight.size(0);
  Shape out_shape = x.sizes();
  out_shape.back() = out_features;
  Tensor y;
  Tensor x2;
  {
    NoGradGuard no_grad;
    x2 = x.reshape({-1, in});
    Tensor y2 = mm(x2, weight.t());
    if (bias.defined()) y2.add_(bias);
    y = y2.view(out_shape);
  }
  if (autograd::needs_grad({&x, &weight, &bias})) {
    auto node = std::make_shared<autograd::LinearBackward>();
    node->input2d = autograd::SavedTensor(x2.detach());
    node->weight = autograd::SavedTensor(weight.detach());
    node->input_shape = x.sizes();
    node->has_bias = bias.defined();
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    autograd::set_history(y, node, inputs);
  }
  return y;
}

}  // namespace kiln
