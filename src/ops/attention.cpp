// scaled_dot_product_attention: one fused backend primitive forward and
// backward (src/cpu/attention_cpu.cpp, kernels/attention.cu), PyTorch's
// signature and semantics. Here: argument checks, the [B, H, T, D] view of
// any leading dims (strided, see attention_layout.h), the mask broadcast to [B, H, Tq, Tk] without copying,
// the default scale, the Philox state of the dropout mask (kept for the
// backward), and the autograd record.
#include <cmath>
#include <limits>

#include "autograd/derivatives/attention.h"
#include "kiln/core/generator.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/transformer.h"
#include "ops/attention_layout.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// [..., T, D] as [B, H, T, D]: rank 2 and 3 get leading 1s, rank > 4 folds
// all leading dims but the last into B.
Shape four_d(const Tensor& t) {
  const int64_t r = t.dim();
  const int64_t T = t.size(-2), D = t.size(-1);
  if (r == 2) return {1, 1, T, D};
  if (r == 3) return {1, t.size(0), T, D};
  int64_t B = 1;
  for (int64_t i = 0; i + 3 < r; ++i) B *= t.size(i);
  return {B, t.size(r - 3), T, D};
}

// Whether `from` broadcasts to `to` (trailing dims equal or 1, rank no larger).
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

// The mask broadcast to the batch dims of q and [Tq, Tk], as [B, H, Tq, Tk];
// broadcast dims keep stride 0 (no copy) up to rank 4.
Tensor mask_4d(const Tensor& mask, const Tensor& q, int64_t Tk) {
  Shape full = q.sizes();
  full.back() = Tk;
  Tensor m = mask.expand(full);
  while (m.dim() < 4) m = m.unsqueeze(0);
  if (m.dim() > 4) m = m.reshape({-1, m.size(-3), m.size(-2), m.size(-1)});
  return m;
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale) {
  if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&query, &key, &value, &attn_mask}))
    return scaled_dot_product_attention(c[0], c[1], c[2], c[3], dropout_p, is_causal, scale);
  detail::check_defined(kOp, query, "query");
  detail::check_defined(kOp, key, "key");
  detail::check_defined(kOp, value, "value");
  detail::check_same_device(kOp, {&query, &key, &value, &attn_mask});
  detail::check_floating(kOp, query);
  KILN_CHECK(key.dtype() == query.dtype() && value.dtype() == query.dtype(), DTypeError, kOp,
             ": query, key and value must have one dtype, got ", detail::describe(query), ", ", detail::describe(key),
             " and ", detail::describe(value));
  KILN_CHECK(query.dim() >= 2 && key.dim() == query.dim() && value.dim() == query.dim(), ShapeError, kOp,
             ": query, key and value must have one rank >= 2 ([..., T, D]), got ", detail::describe(query), ", ",
             detail::describe(key), " and ", detail::describe(value));
  const int64_t r = query.dim();
  for (int64_t i = 0; i + 2 < r; ++i)
    KILN_CHECK(key.size(i) == query.size(i) && value.size(i) == query.size(i), ShapeError, kOp,
               ": query, key and value must have the same leading (batch, head) dims, got ", detail::describe(query),
               ", ", detail::describe(key), " and ", detail::describe(value));
  const int64_t Tq = query.size(-2), D = query.size(-1), Tk = key.size(-2), Dv = value.size(-1);
  KILN_CHECK(key.size(-1) == D, ShapeError, kOp, ": key's last dim must equal query's (", D, "), got key ",
             detail::describe(key));
  KILN_CHECK(value.size(-2) == Tk, ShapeError, kOp, ": value must have key's length ", Tk, ", got value ",
             detail::describe(value));
  KILN_CHECK(dropout_p >= 0 && dropout_p <= 1, ValueError, kOp, ": dropout_p must be in [0, 1], got ", dropout_p);
  KILN_CHECK(!(is_causal && attn_mask.defined()), ValueError, kOp,
             ": pass either attn_mask or is_causal=true, not both (as PyTorch)");
  if (scale) KILN_CHECK(std::isfinite(*scale), ValueError, kOp, ": scale must be finite, got ", *scale);

  Tensor mask;
  if (attn_mask.defined()) {
    KILN_CHECK(attn_mask.dtype() == kBool || is_floating(attn_mask.dtype()), DTypeError, kOp,
               ": attn_mask must be bool or floating, got ", detail::describe(attn_mask));
    KILN_CHECK(!(attn_mask.requires_grad() && GradMode::is_enabled()), ValueError, kOp,
               ": attn_mask requires grad, but the mask gets no gradient here; detach() it");
    Shape scores_shape = query.sizes();
    scores_shape.back() = Tk;
    KILN_CHECK(broadcasts_to(attn_mask.sizes(), scores_shape), ShapeError, kOp,
               ": attn_mask ", shape_str(attn_mask.sizes()), " must broadcast to the scores' shape ",
               shape_str(scores_shape), " (query ", detail::describe(query), ", key ", detail::describe(key), ")");
    NoGradGuard no_grad;
    Tensor m = attn_mask.detach();
    if (m.dtype() != kBool && m.dtype() != query.dtype()) m = m.to(query.dtype());
    mask = mask_4d(m, query, Tk);
  }

  detail::AttentionParams p;
  p.scale = scale ? *scale : (D > 0 ? 1.0 / std::sqrt(static_cast<double>(D)) : 1.0);
  p.causal = is_causal;
  p.dropout_p = dropout_p;
  const Shape q4s = four_d(query), k4s = four_d(key), v4s = four_d(value);
  const int64_t B = q4s[0], H = q4s[1];
  if (dropout_p > 0) {
    const uint64_t elements = static_cast<uint64_t>(B * H * Tq * Tk);
    p.dropout = detail::reserve_philox_blocks((elements + 1) / 2);
  }
  Tensor q = detail::attention_operand(query.detach().reshape(q4s));
  Tensor k = detail::attention_operand(key.detach().reshape(k4s));
  Tensor v = detail::attention_operand(value.detach().reshape(v4s));
  const DType lse_dtype = q.dtype() == kFloat64 ? kFloat64 : kFloat32;
  Tensor out = detail::attention_result_like(q, {B, H, Tq, Dv}, q.dtype());
  Tensor lse = detail::make_empty({B, H, Tq}, lse_dtype, q.device());
  detail::Backend& backend = detail::backend_of(q);
  if (out.numel() > 0 || lse.numel() > 0) {
    if (Tk > 0) {
      backend.attention_forward(q, k, v, mask, p, out, lse);
    } else {
      // No keys: every query sees nothing.
      if (out.numel() > 0) backend.fill(out, 0);
      if (lse.numel() > 0) backend.fill(lse, -std::numeric_limits<double>::infinity());
    }
  }
  if (autograd::needs_grad({&query, &key, &value})) {
    auto node = std::make_shared<autograd::AttentionBackward>();
    node->q = autograd::SavedTensor(q);
    node->k = autograd::SavedTensor(k);
    node->v = autograd::SavedTensor(v);
    if (mask.defined()) node->mask = autograd::SavedTensor(mask);
    node->out = autograd::SavedTensor(out);
    node->lse = autograd::SavedTensor(lse);
    node->params = p;
    node->q_sizes = query.sizes();
    node->k_sizes = key.sizes();
    node->v_sizes = value.sizes();
    autograd::set_history(out, node, {&query, &key, &value});
  }
  Shape result = query.sizes();
  result.back() = Dv;
  return result == out.sizes() ? out : out.reshape(result);  // [B, H, T, D] queries: no reshape node
}

}  // namespace kiln
