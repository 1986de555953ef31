#include "kiln/nn/attention.h"

#include <cmath>
#include <limits>

#include "kiln/core/grad_mode.h"
#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/linalg.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "kiln/ops/reduce.h"
#include "kiln/ops/transformer.h"

namespace kiln::nn {

namespace {

constexpr const char* kName = "MultiheadAttention";
constexpr double kInf = std::numeric_limits<double>::infinity();

// What the caller's masks allow, in the form scaled_dot_product_attention
// takes: nothing, a bool mask (true = may attend) or a floating mask added
// to the scores; broadcastable to [B, H, Tq, Tk].
struct CombinedMask {
  Tensor blocked;   // bool, true = may not attend (undefined: none)
  Tensor additive;  // floating, added to the scores (undefined: none)
  bool any() const { return blocked.defined() || additive.defined(); }
};

void add_mask(CombinedMask& m, const Tensor& mask, DType dtype) {
  if (!mask.defined()) return;
  if (mask.dtype() == kBool) {
    m.blocked = m.blocked.defined() ? m.blocked.masked_fill(mask, true) : mask;
  } else {
    KILN_CHECK(is_floating(mask.dtype()), DTypeError, kName, ": masks must be bool or floating, got ",
               dtype_name(mask.dtype()));
    Tensor f = mask.to(dtype);
    m.additive = m.additive.defined() ? m.additive + f : f;
  }
}

// Lower-triangular "may attend" pattern of a self-attention of T positions, as blocked: j > i.
Tensor causal_blocked(int64_t Tq, int64_t Tk, Device device) {
  Tensor rows = arange(Tq, TensorOptions(kInt64).device(device)).unsqueeze(1);
  Tensor cols = arange(Tk, TensorOptions(kInt64).device(device)).unsqueeze(0);
  return cols > rows;
}

}  // namespace

// --- KVCache -----------------------------------------------------------------

Tensor KVCache::keys() const { return keys_.defined() ? keys_.narrow(2, 0, length_) : Tensor(); }
Tensor KVCache::values() const { return values_.defined() ? values_.narrow(2, 0, length_) : Tensor(); }

void KVCache::append(const Tensor& k, const Tensor& v) {
  KILN_CHECK(k.defined() && v.defined() && k.dim() == 4 && v.sizes() == k.sizes(), ShapeError,
             "KVCache::append: keys and values must be [B, H, T, D] of one shape, got ",
             k.defined() ? shape_str(k.sizes()) : "undefined", " and ", v.defined() ? shape_str(v.sizes()) : "undefined");
  const int64_t T = k.size(2);
  const bool same_rows = keys_.defined() && keys_.size(0) == k.size(0) && keys_.size(1) == k.size(1) &&
                         keys_.size(3) == k.size(3) && keys_.dtype() == k.dtype() && keys_.device() == k.device();
  if (length_ > 0)
    KILN_CHECK(same_rows, ShapeError, "KVCache::append: the cache holds ", shape_str(keys().sizes()), " ",
               dtype_name(keys_.dtype()), " on ", keys_.device(), ", cannot append ", shape_str(k.sizes()), " ",
               dtype_name(k.dtype()), " on ", k.device(), " (reset() it for a new batch)");
  NoGradGuard no_grad;
  if (!same_rows || capacity() < length_ + T) {
    // Doubling keeps appends amortised O(T): generation appends one position at a time.
    const int64_t capacity = std::max<int64_t>({length_ + T, 2 * (same_rows ? this->capacity() : 0), 16});
    Shape shape = k.sizes();
    shape[2] = capacity;
    Tensor keys = empty(shape, k.options().requires_grad(false));
    Tensor values = empty(shape, k.options().requires_grad(false));
    if (length_ > 0) {
      keys.narrow(2, 0, length_).copy_(this->keys());
      values.narrow(2, 0, length_).copy_(this->values());
    }
    keys_ = keys;
    values_ = values;
  }
  keys_.narrow(2, length_, T).copy_(k.detach());
  values_.narrow(2, length_, T).copy_(v.detach());
  length_ += T;
}

// --- MultiheadAttention --------------------------------------------------------

MultiheadAttentionImpl::MultiheadAttentionImpl(const MultiheadAttentionOptions& o)
    : Cloneable("MultiheadAttention"), options(o) {
  reset();
}

void MultiheadAttentionImpl::reset() {
  const int64_t E = options.embed_dim(), H = options.num_heads();
  KILN_CHECK(E > 0 && H > 0 && E % H == 0, ValueError, kName, ": embed_dim (", E,
             ") must be positive and divisible by num_heads (", H, ")");
  KILN_CHECK(options.dropout() >= 0 && options.dropout() < 1, ValueError, kName, ": dropout must be in [0, 1), got ",
             options.dropout());
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * E, E}));
  in_proj_bias = options.bias() ? register_parameter("in_proj_bias", empty({3 * E})) : Tensor();
  out_proj = register_module("out_proj", Linear(LinearOptions(E, E).bias(options.bias())));
  reset_parameters();
}

void MultiheadAttentionImpl::reset_parameters() {
  init::xavier_uniform_(in_proj_weight);
  if (in_proj_bias.defined()) init::zeros_(in_proj_bias);
  out_proj->reset_parameters();
  if (out_proj->bias.defined()) init::zeros_(out_proj->bias);
}

Tensor MultiheadAttentionImpl::split_heads(const Tensor& x) const {
  const int64_t B = x.size(0), T = x.size(1);
  return x.view({B, T, options.num_heads(), head_dim()}).transpose(1, 2);
}

Tensor MultiheadAttentionImpl::merge_heads(const Tensor& y, bool batched) const {
  const int64_t B = y.size(0), T = y.size(2);
  Tensor out = out_proj(y.transpose(1, 2).reshape({B, T, options.embed_dim()}));
  if (!batched) return out.squeeze(0);
  return options.batch_first() ? out : out.transpose(0, 1);
}

std::tuple<Tensor, Tensor, Tensor> MultiheadAttentionImpl::project(const Tensor& query, const Tensor& key,
                                                                   const Tensor& value) const {
  const int64_t E = options.embed_dim();
  auto rows = [&](int64_t first, int64_t count) {
    return std::make_pair(in_proj_weight.narrow(0, first * E, count * E),
                          in_proj_bias.defined() ? in_proj_bias.narrow(0, first * E, count * E) : Tensor());
  };
  if (query.is_same(key) && key.is_same(value)) {
    // One GEMM for all three: [B, T, 3E] -> three [B, H, T, D] views.
    auto parts = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1);
    return {split_heads(parts[0]), split_heads(parts[1]), split_heads(parts[2])};
  }
  auto [wq, bq] = rows(0, 1);
  Tensor q = split_heads(linear(query, wq, bq));
  if (key.is_same(value)) {
    auto [wkv, bkv] = rows(1, 2);
    auto kv = linear(key, wkv, bkv).chunk(2, -1);
    return {q, split_heads(kv[0]), split_heads(kv[1])};
  }
  auto [wk, bk] = rows(1, 1);
  auto [wv, bv] = rows(2, 1);
  return {q, split_heads(linear(key, wk, bk)), split_heads(linear(value, wv, bv))};
}

std::tuple<Tensor, Tensor> MultiheadAttentionImpl::forward(const Tensor& query, const Tensor& key,
                                                           const Tensor& value, const Tensor& key_padding_mask,
                                                           bool need_weights, const Tensor& attn_mask,
                                                           bool average_attn_weights, bool is_causal) {
  const int64_t E = options.embed_dim(), H = options.num_heads();
  for (const Tensor* t : {&query, &key, &value})
    KILN_CHECK(t->defined() && (t->dim() == 2 || t->dim() == 3) && t->size(-1) == E, ShapeError, kName,
               ": query, key and value must be [T, B, E] (or [B, T, E] with batch_first, or [T, E]) with E = ", E,
               ", got query ", query.defined() ? shape_str(query.sizes()) : "undefined", ", key ",
               key.defined() ? shape_str(key.sizes()) : "undefined", ", value ",
               value.defined() ? shape_str(value.sizes()) : "undefined");
  KILN_CHECK(key.dim() == query.dim() && value.sizes() == key.sizes(), ShapeError, kName,
             ": key and value must have one shape and query's rank, got query ", shape_str(query.sizes()), ", key ",
             shape_str(key.sizes()), ", value ", shape_str(value.sizes()));
  const bool batched = query.dim() == 3;
  // Everything below is batch first, [B, T, E].
  auto batch_first = [&](const Tensor& t) {
    if (!batched) return t.unsqueeze(0);
    return options.batch_first() ? t : t.transpose(0, 1);
  };
  // Keep "the same tensor" visible to project(): it fuses the projections then.
  const Tensor q_in = batch_first(query);
  const Tensor k_in = key.is_same(query) ? q_in : batch_first(key);
  const Tensor v_in = value.is_same(key) ? k_in : batch_first(value);
  const int64_t B = q_in.size(0), Tq = q_in.size(1), Tk = k_in.size(1);
  KILN_CHECK(k_in.size(0) == B, ShapeError, kName, ": query and key must have one batch size, got query ",
             shape_str(query.sizes()), " and key ", shape_str(key.sizes()));
  auto [q, k, v] = project(q_in, k_in, v_in);

  CombinedMask mask;
  if (attn_mask.defined()) {
    const bool two_d = attn_mask.dim() == 2 && attn_mask.size(0) == Tq && attn_mask.size(1) == Tk;
    const bool three_d =
        attn_mask.dim() == 3 && attn_mask.size(0) == B * H && attn_mask.size(1) == Tq && attn_mask.size(2) == Tk;
    KILN_CHECK(two_d || three_d, ShapeError, kName, ": attn_mask must be [Tq, Tk] = [", Tq, ", ", Tk,
               "] or [B*H, Tq, Tk] = [", B * H, ", ", Tq, ", ", Tk, "], got ", shape_str(attn_mask.sizes()));
    add_mask(mask, three_d ? attn_mask.view({B, H, Tq, Tk}) : attn_mask, q.dtype());
  }
  if (key_padding_mask.defined()) {
    const bool ok = batched ? key_padding_mask.dim() == 2 && key_padding_mask.size(0) == B &&
                                  key_padding_mask.size(1) == Tk
                            : key_padding_mask.dim() == 1 && key_padding_mask.size(0) == Tk;
    KILN_CHECK(ok, ShapeError, kName, ": key_padding_mask must be [B, Tk] = [", B, ", ", Tk, "] ([Tk] unbatched), got ",
               shape_str(key_padding_mask.sizes()));
    add_mask(mask, key_padding_mask.reshape({B, 1, 1, Tk}), q.dtype());
  }
  const bool causal = is_causal || options.causal();
  const double p = is_training() ? options.dropout() : 0.0;

  if (!need_weights) {
    Tensor y;
    if (!mask.any()) {
      y = scaled_dot_product_attention(q, k, v, Tensor(), p, causal);
    } else {
      if (causal) add_mask(mask, causal_blocked(Tq, Tk, q.device()), q.dtype());
      Tensor m;
      if (mask.additive.defined())
        m = mask.blocked.defined() ? mask.additive.masked_fill(mask.blocked, -kInf) : mask.additive;
      else
        m = ones(mask.blocked.sizes(), TensorOptions(kBool).device(q.device())).masked_fill(mask.blocked, false);
      y = scaled_dot_product_attention(q, k, v, m, p);
    }
    return {merge_heads(y, batched), Tensor()};
  }

  // The probabilities are wanted: the unfused composition (they are returned anyway).
  if (causal) add_mask(mask, causal_blocked(Tq, Tk, q.device()), q.dtype());
  Tensor scores = matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(head_dim())));
  if (mask.blocked.defined()) scores = scores.masked_fill(mask.blocked, -kInf);
  if (mask.additive.defined()) scores = scores + mask.additive;
  Tensor probs = softmax(scores, -1);
  Tensor y = matmul(p > 0 ? dropout(probs, p, true) : probs, v);
  Tensor weights = average_attn_weights ? probs.mean({1}) : probs;
  if (!batched) weights = weights.squeeze(0);
  return {merge_heads(y, batched), weights};
}

Tensor MultiheadAttentionImpl::forward(const Tensor& x) {
  return std::get<0>(forward(x, x, x, Tensor(), /*need_weights=*/false));
}

Tensor MultiheadAttentionImpl::forward_cached(const Tensor& x, KVCache& cache) {
  const int64_t E = options.embed_dim();
  KILN_CHECK(x.defined() && (x.dim() == 2 || x.dim() == 3) && x.size(-1) == E, ShapeError, kName,
             "::forward_cached: x must be [T, B, E] (or [B, T, E] with batch_first, or [T, E]) with E = ", E, ", got ",
             x.defined() ? shape_str(x.sizes()) : "undefined");
  NoGradGuard no_grad;
  const bool batched = x.dim() == 3;
  const Tensor xb = !batched ? x.unsqueeze(0) : options.batch_first() ? x : x.transpose(0, 1);
  auto [q, k, v] = project(xb, xb, xb);
  const int64_t past = cache.length(), T = q.size(2);
  cache.append(k, v);
  Tensor y;
  if (past == 0) {
    y = scaled_dot_product_attention(q, cache.keys(), cache.values(), Tensor(), 0.0, /*is_causal=*/T > 1);
  } else if (T == 1) {
    y = scaled_dot_product_attention(q, cache.keys(), cache.values());  // the newest query sees every key
  } else {
    // New query i is position past + i: it sees keys j <= past + i (bottom-right aligned).
    Tensor rows = arange(past, past + T, 1, TensorOptions(kInt64).device(q.device())).unsqueeze(1);
    Tensor cols = arange(past + T, TensorOptions(kInt64).device(q.device())).unsqueeze(0);
    y = scaled_dot_product_attention(q, cache.keys(), cache.values(), cols <= rows);
  }
  return merge_heads(y, batched);
}

void MultiheadAttentionImpl::pretty_print(std::ostream& os) const {
  os << "MultiheadAttention(embed_dim=" << options.embed_dim() << ", num_heads=" << options.num_heads()
     << ", dropout=" << options.dropout() << ", bias=" << (options.bias() ? "true" : "false")
     << ", batch_first=" << (options.batch_first() ? "true" : "false")
     << ", causal=" << (options.causal() ? "true" : "false") << ")";
}

}  // namespace kiln::nn
