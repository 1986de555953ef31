// Rows for embedding (include/kiln/ops/transformer.h), the op of
// src/ops/embedding.cpp, src/cpu/embedding_cpu.cpp,
// src/cuda/embedding_cuda.cpp and kernels/embedding.cu. The reference picks
// rows; the gradient (a scatter-add, repeated ids included) is checked by
// gradcheck and, on a GPU, against the CPU.
#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

Ref ref_embedding(const Ref& w, const Ref& ids) {
  const int64_t C = w.shape[1];
  Ref out;
  out.shape = ids.shape;
  out.shape.push_back(C);
  for (double id : ids.v)
    for (int64_t c = 0; c < C; ++c) out.v.push_back(w.v[static_cast<int64_t>(id) * C + c]);
  return out;
}

std::vector<double> ids_for(int64_t n, int64_t V) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(static_cast<double>((i * 7 + 3) % V));
  return v;
}

}  // namespace

std::vector<OpRow> embedding_rows() {
  OpRow r;
  r.name = "embedding";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  // Inputs: weight [V, C], ids (fixed int64); attribute padding_idx (optional).
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return embedding(v[0], v[1], a.opt_i("padding_idx"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs&) { return ref_embedding(v[0], v[1]); });
  r.samples = [] {
    std::vector<Sample> s;
    s.push_back(sample({in({10, 4}), fixed({6}, {1, 3, 3, 0, 9, 1})}, "repeated_ids"));
    s.push_back(sample({in({10, 4}), fixed({2, 3}, {1, 3, 3, 0, 9, 1})}, "ids_2d"));
    s.push_back(sample({in({10, 4}), fixed({}, {7})}, "scalar_id"));
    s.push_back(sample({in({10, 4}), fixed({0}, {})}, "no_ids"));
    s.push_back(sample({in({5, 1}), fixed({3}, {4, 4, 4})}, "one_column"));
    s.push_back(sample({in({6, 3}, kT), fixed({4}, {5, 0, 2, 5})}, "strided_weight"));
    // The padding row is read by the forward but gets no gradient (PyTorch's
    // rule), so numeric and analytic gradients differ there by design:
    // tests/ops/transformer_ops_test.cpp checks these gradients instead.
    for (auto [pad, tag] : {std::pair<int64_t, const char*>{3, "padding3"}, {-1, "padding_last"}}) {
      Sample p = sample({in({10, 4}), fixed({6}, {1, 3, 3, 0, 9, 1})}, Attrs().i("padding_idx", pad), tag);
      p.differentiable = false;
      s.push_back(p);
    }
    s.push_back(sample({in({300, 70}), fixed({500}, ids_for(500, 300))}, "large"));
    return s;
  };
  r.errors = {
      error("id_out_of_range", [] { embedding(zeros({10, 4}), tensor(std::vector<int64_t>{1, 10})); },
            ErrorKind::Index, {"embedding", "[0, 10)", "10"}),
      error("negative_id", [] { embedding(zeros({10, 4}), tensor(std::vector<int64_t>{-1})); }, ErrorKind::Index,
            {"embedding", "-1"}),
      error("id_out_of_range_in_rows_of_width_0", [] { embedding(zeros({10, 0}), tensor(std::vector<int64_t>{12})); },
            ErrorKind::Index, {"embedding", "[0, 10)", "12"}),
      error("float_ids", [] { embedding(zeros({10, 4}), zeros({3})); }, ErrorKind::DType, {"embedding", "ids"}),
      error("weight_rank", [] { embedding(zeros({10}), zeros({3}, kInt64)); }, ErrorKind::Shape,
            {"embedding", "[num_embeddings, dim]"}),
      error("padding_idx_range", [] { embedding(zeros({10, 4}), zeros({3}, kInt64), 10); }, ErrorKind::Value,
            {"embedding", "padding_idx"}),
  };
  return {r};
}

}  // namespace kiln::testing
