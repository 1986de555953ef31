// Rows for scaled_dot_product_attention (include/kiln/ops/transformer.h),
// the op of src/ops/attention.cpp, src/cpu/attention_cpu.cpp,
// src/cuda/attention_cuda.cpp and kernels/attention.cu. The reference is
// the textbook composition in float64: scores = q k^T * scale + mask (or
// -inf where a bool mask is false or causality hides a key), a softmax per
// query (zeros for a query that sees no key), times v. Samples cross the
// CPU kernel's tiles (64 queries, 128 keys) and the CUDA kernel's. Dropout
// and the comparison with kiln's own unfused ops are in
// tests/ops/attention_test.cpp.
#include <cmath>
#include <limits>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// q [..., Tq, D], k [..., Tk, D], v [..., Tk, Dv], mask broadcast to [..., Tq, Tk].
Ref ref_attention(const Ref& q, const Ref& k, const Ref& v, const Ref* mask, bool mask_is_bool, bool causal,
                  std::optional<double> scale_attr) {
  const size_t r = q.shape.size();
  const int64_t Tq = q.shape[r - 2], D = q.shape[r - 1], Tk = k.shape[r - 2], Dv = v.shape[r - 1];
  const int64_t batch = Tq * D > 0 ? numel_of(q.shape) / (Tq * D) : numel_of(Shape(q.shape.begin(), q.shape.end() - 2));
  const double scale = scale_attr ? *scale_attr : (D > 0 ? 1.0 / std::sqrt(static_cast<double>(D)) : 1.0);
  Shape out_shape = q.shape;
  out_shape.back() = Dv;
  Ref out{out_shape, std::vector<double>(static_cast<size_t>(numel_of(out_shape)), 0.0), std::nullopt};
  Shape scores_shape = q.shape;
  scores_shape.back() = Tk;
  std::vector<double> s(static_cast<size_t>(Tk));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < Tq; ++i) {
      double m = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < Tk; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += q.v[(b * Tq + i) * D + d] * k.v[(b * Tk + j) * D + d];
        double x = dot * scale;
        if (causal && j > i) x = -std::numeric_limits<double>::infinity();
        if (mask) {
          const double mv = at_broadcast(*mask, unravel((b * Tq + i) * Tk + j, scores_shape));
          if (mask_is_bool) {
            if (mv == 0) x = -std::numeric_limits<double>::infinity();
          } else {
            x += mv;
          }
        }
        s[j] = x;
        m = std::max(m, x);
      }
      if (m == -std::numeric_limits<double>::infinity()) continue;  // sees nothing: zeros
      double total = 0;
      for (int64_t j = 0; j < Tk; ++j) total += s[j] == -std::numeric_limits<double>::infinity() ? 0 : std::exp(s[j] - m);
      for (int64_t j = 0; j < Tk; ++j) {
        const double p = s[j] == -std::numeric_limits<double>::infinity() ? 0 : std::exp(s[j] - m) / total;
        for (int64_t d = 0; d < Dv; ++d) out.v[(b * Tq + i) * Dv + d] += p * v.v[(b * Tk + j) * Dv + d];
      }
    }
  return out;
}

// A fixed bool mask of `shape`: true except a pattern of falses (every
// query keeps at least its first key); `hide_row` hides every key of the
// second-to-last query row (a query that sees nothing).
SampleInput bool_mask(Shape shape, bool hide_row = false) {
  const int64_t Tq = shape[shape.size() - 2], Tk = shape.back();
  std::vector<double> v;
  for (int64_t e = 0; e < numel_of(shape); ++e) {
    const int64_t j = e % Tk, i = (e / Tk) % Tq;
    bool keep = j == 0 || (i * 3 + j * 5 + e / (Tq * Tk)) % 4 != 0;
    if (hide_row && i == Tq - 2) keep = false;
    v.push_back(keep ? 1.0 : 0.0);
  }
  return fixed(std::move(shape), v, kBool);
}

// A fixed additive float mask (never differentiated): small values and
// some -inf (every query keeps its first key).
SampleInput float_mask(Shape shape, DType dtype) {
  const int64_t Tk = shape.back();
  std::vector<double> v;
  for (int64_t e = 0; e < numel_of(shape); ++e) {
    const int64_t j = e % Tk;
    v.push_back(j != 0 && e % 7 == 3 ? -std::numeric_limits<double>::infinity() : 0.25 * ((e * 13) % 9) - 1.0);
  }
  return fixed(std::move(shape), v, dtype);
}

// Inputs q, k, v (and a mask as the attribute "mask" says: "bool", "float").
Sample qkv(Shape q, Shape k, Shape v, const std::string& tag, Attrs a = {}, std::optional<SampleInput> mask = {},
           Layout layout = Layout::Contiguous) {
  std::vector<SampleInput> inputs{in(std::move(q), layout), in(std::move(k), layout), in(std::move(v))};
  if (mask) inputs.push_back(*mask);
  return sample(std::move(inputs), std::move(a), tag);
}

std::vector<Sample> attention_samples() {
  std::vector<Sample> s;
  const Attrs causal = Attrs().b("causal", true);
  // Plain, causal, odd lengths, cross attention (Tq != Tk), Dv != D.
  s.push_back(qkv({1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, "one"));
  s.push_back(qkv({2, 3, 5, 4}, {2, 3, 5, 4}, {2, 3, 5, 4}, "plain"));
  s.push_back(qkv({2, 3, 5, 4}, {2, 3, 5, 4}, {2, 3, 5, 4}, "causal", causal));
  s.push_back(qkv({1, 2, 7, 8}, {1, 2, 9, 8}, {1, 2, 9, 3}, "cross_dv3"));
  s.push_back(qkv({1, 2, 9, 8}, {1, 2, 7, 8}, {1, 2, 7, 8}, "causal_tq_gt_tk", causal));
  s.push_back(qkv({1, 2, 5, 8}, {1, 2, 9, 8}, {1, 2, 9, 8}, "causal_tq_lt_tk", causal));
  s.push_back(qkv({2, 3, 6, 4}, {2, 3, 6, 4}, {2, 3, 6, 4}, "scale2", Attrs().d("scale", 2.0)));
  // Other ranks: [H, T, D] and [T, D], and non-contiguous q and k.
  s.push_back(qkv({3, 5, 4}, {3, 5, 4}, {3, 5, 4}, "rank3", causal));
  s.push_back(qkv({5, 4}, {6, 4}, {6, 2}, "rank2"));
  s.push_back(qkv({2, 2, 5, 4}, {2, 2, 5, 4}, {2, 2, 5, 4}, "transposed_qk", causal, std::nullopt, Layout::Transposed));
  // Masks: bool broadcast from [Tq, Tk] and from [B, 1, Tq, Tk]; a query with no key; float masks.
  s.push_back(qkv({2, 3, 5, 4}, {2, 3, 6, 4}, {2, 3, 6, 4}, "bool_mask_2d", Attrs().s("mask", "bool"), bool_mask({5, 6})));
  s.push_back(qkv({2, 3, 5, 4}, {2, 3, 6, 4}, {2, 3, 6, 4}, "bool_mask_b1", Attrs().s("mask", "bool"),
                  bool_mask({2, 1, 5, 6})));
  s.push_back(qkv({1, 2, 5, 4}, {1, 2, 6, 4}, {1, 2, 6, 4}, "bool_mask_empty_row", Attrs().s("mask", "bool"),
                  bool_mask({5, 6}, true)));
  s.push_back(qkv({2, 2, 5, 4}, {2, 2, 6, 4}, {2, 2, 6, 4}, "float_mask", Attrs().s("mask", "float"),
                  float_mask({2, 2, 5, 6}, kFloat64)));
  s.push_back(qkv({2, 2, 5, 4}, {2, 2, 6, 4}, {2, 2, 6, 4}, "float_mask_row", Attrs().s("mask", "float"),
                  float_mask({6}, kFloat64)));
  // Empty: no queries, no keys, D = 0.
  s.push_back(qkv({1, 2, 0, 4}, {1, 2, 5, 4}, {1, 2, 5, 4}, "no_queries"));
  s.push_back(qkv({1, 2, 3, 4}, {1, 2, 0, 4}, {1, 2, 0, 4}, "no_keys"));
  s.push_back(qkv({1, 2, 3, 0}, {1, 2, 4, 0}, {1, 2, 4, 3}, "d0"));
  // Across tiles (CPU: 64 queries x 128 keys), small enough for gradcheck with D = 1.
  s.push_back(qkv({1, 1, 70, 1}, {1, 1, 130, 1}, {1, 1, 130, 1}, "tiles_d1"));
  s.push_back(qkv({1, 1, 130, 1}, {1, 1, 130, 1}, {1, 1, 130, 1}, "tiles_d1_causal", causal));
  // Head sizes of the CUDA kernel with lengths off its tiles.
  for (int64_t D : {32, 64, 128}) {
    s.push_back(qkv({1, 2, 67, D}, {1, 2, 67, D}, {1, 2, 67, D}, "d" + std::to_string(D) + "_causal", causal));
    s.push_back(qkv({2, 1, 33, D}, {2, 1, 150, D}, {2, 1, 150, D}, "d" + std::to_string(D) + "_cross"));
  }
  s.push_back(qkv({1, 2, 67, 64}, {1, 2, 67, 64}, {1, 2, 67, 64}, "d64_bool_mask", Attrs().s("mask", "bool"),
                  bool_mask({67, 67})));
  s.push_back(qkv({2, 4, 200, 16}, {2, 4, 200, 16}, {2, 4, 200, 16}, "threaded_causal", causal));
  return s;
}

}  // namespace

std::vector<OpRow> attention_rows() {
  OpRow r;
  r.name = "scaled_dot_product_attention";
  r.dtypes = floating_dtypes();
  r.grad = grad_on(1e-5, 1e-3);
  r.tolerances = {{kFloat32, {2e-5, 2e-5}}, {kFloat16, {5e-3, 5e-3}}, {kBFloat16, {3e-2, 3e-2}}};
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    const Tensor mask = v.size() > 3 ? v[3] : Tensor();
    return scaled_dot_product_attention(v[0], v[1], v[2], mask, 0.0, a.b("causal"), a.opt_d("scale"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    const Ref* mask = v.size() > 3 ? &v[3] : nullptr;
    return ref_attention(v[0], v[1], v[2], mask, a.has("mask") && a.s("mask") == "bool", a.b("causal"),
                         a.opt_d("scale"));
  });
  r.samples = attention_samples;
  const Tensor q = zeros({2, 3, 5, 4});
  r.errors = {
      error("dtype_mismatch", [q] { scaled_dot_product_attention(q, q.to(kFloat64), q); }, ErrorKind::DType,
            {"scaled_dot_product_attention", "one dtype"}),
      error("head_size_mismatch", [q] { scaled_dot_product_attention(q, zeros({2, 3, 5, 8}), q); }, ErrorKind::Shape,
            {"scaled_dot_product_attention", "key's last dim", "[2, 3, 5, 8]"}),
      error("value_length", [q] { scaled_dot_product_attention(q, q, zeros({2, 3, 6, 4})); }, ErrorKind::Shape,
            {"scaled_dot_product_attention", "value must have key's length 5"}),
      error("batch_mismatch", [q] { scaled_dot_product_attention(q, zeros({2, 2, 5, 4}), q); }, ErrorKind::Shape,
            {"scaled_dot_product_attention", "leading"}),
      error("mask_and_causal", [q] { scaled_dot_product_attention(q, q, q, ones({5, 5}, kBool), 0.0, true); },
            ErrorKind::Value, {"scaled_dot_product_attention", "not both"}),
      error("mask_shape", [q] { scaled_dot_product_attention(q, q, q, ones({4, 5}, kBool)); }, ErrorKind::Shape,
            {"scaled_dot_product_attention", "attn_mask [4, 5]", "[2, 3, 5, 5]"}),
      error("mask_dtype", [q] { scaled_dot_product_attention(q, q, q, ones({5, 5}, kInt64)); }, ErrorKind::DType,
            {"scaled_dot_product_attention", "attn_mask must be bool or floating"}),
      error("mask_requires_grad",
            [q] { scaled_dot_product_attention(q, q, q, zeros({5, 5}).requires_grad_()); }, ErrorKind::Value,
            {"scaled_dot_product_attention", "detach"}),
      error("dropout_range", [q] { scaled_dot_product_attention(q, q, q, Tensor(), 1.5); }, ErrorKind::Value,
            {"scaled_dot_product_attention", "dropout_p", "1.5"}),
      error("integer_input", [] { scaled_dot_product_attention(zeros({2, 3}, kInt64), zeros({2, 3}, kInt64), zeros({2, 3}, kInt64)); },
            ErrorKind::DType, {"scaled_dot_product_attention", "int64"}),
      error("vector_input", [] { scaled_dot_product_attention(zeros({3}), zeros({3}), zeros({3})); }, ErrorKind::Shape,
            {"scaled_dot_product_attention", "rank >= 2"}),
  };
  return {r};
}

}  // namespace kiln::testing
