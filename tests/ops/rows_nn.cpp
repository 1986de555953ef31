// Rows for the other ops of include/kiln/ops/nn.h: linear, dropout and the
// losses but cross_entropy (whose rows, like conv2d's, the pools' and
// batch_norm's, are in files of their op's stem: rows_conv2d.cpp,
// rows_pool2d.cpp, rows_batch_norm.cpp, rows_cross_entropy.cpp). Each
// reference below is a plain float64 loop written from the PyTorch
// documentation of the op, sharing no code with kiln's kernels.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// y[..., o] = sum_i x[..., i] * w[o, i] + b[o]
Ref ref_linear(const Ref& x, const Ref& w, const Ref* b) {
  const int64_t in = x.shape.back(), out = w.shape[0];
  const int64_t rows = numel_of(x.shape) / std::max<int64_t>(in, 1);
  Ref y;
  y.shape = x.shape;
  y.shape.back() = out;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? b->v[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += x.v[r * in + i] * w.v[o * in + i];
      y.v.push_back(acc);
    }
  return y;
}

Ref ref_nll_loss(const Ref& x, const Ref& target, int64_t ignore_index, const std::string& reduction) {
  auto [losses, valid] =
      per_position(x, target, ignore_index, [](const std::vector<double>& lp, int64_t t) { return -lp[t]; });
  return reduce_loss(losses, reduction, valid);
}

Ref ref_mse_loss(const Ref& x, const Ref& y, const std::string& reduction) {
  Ref d = map2(x, y, [](double a, double b) { return (a - b) * (a - b); });
  return reduce_loss(d, reduction, static_cast<double>(d.v.size()));
}

// The textbook form -[pw*y*log(sigmoid(x)) + (1-y)*log(1-sigmoid(x))] (the
// inputs stay in [-2, 2], where it is accurate).
Ref ref_bce_with_logits(const Ref& x, const Ref& y, const Ref* pos_weight, const std::string& reduction) {
  Ref loss{x.shape, {}, std::nullopt};
  const int64_t last = x.shape.empty() ? 1 : x.shape.back();
  for (size_t i = 0; i < x.v.size(); ++i) {
    const double sig = 1 / (1 + std::exp(-x.v[i]));
    const double pw = pos_weight ? pos_weight->v[pos_weight->v.size() == 1 ? 0 : i % last] : 1.0;
    loss.v.push_back(-(pw * y.v[i] * std::log(sig) + (1 - y.v[i]) * std::log(1 - sig)));
  }
  return reduce_loss(loss, reduction, static_cast<double>(x.v.size()));
}

// --- rows ----------------------------------------------------------------------------------------
OpRow linear_row() {
  OpRow r;
  r.name = "linear";
  r.dtypes = floating_dtypes();
  r.tolerances = kProductTolerance;
  r.grad = grad_on();
  // Inputs x, weight and, when there are three, bias.
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) {
    return v.size() == 3 ? linear(v[0], v[1], v[2]) : linear(v[0], v[1]);
  });
  r.ref = one_ref(
      [](const std::vector<Ref>& v, const Attrs&) { return ref_linear(v[0], v[1], v.size() == 3 ? &v[2] : nullptr); });
  r.samples = [] {
    auto with_bias = [](std::vector<SampleInput> inputs) { return sample(std::move(inputs), "bias"); };
    auto no_bias = [](std::vector<SampleInput> inputs) { return sample(std::move(inputs), "nobias"); };
    return std::vector<Sample>{
        with_bias({in({3, 5}), in({4, 5}), in({4})}),
        no_bias({in({3, 5}), in({4, 5})}),
        with_bias({in({5}), in({4, 5}), in({4})}),              // a single vector
        with_bias({in({2, 3, 5}), in({4, 5}), in({4})}),        // leading batch dims
        with_bias({in({3, 5}, kT), in({4, 5}, kT), in({4}, kS)}),  // strided operands
        with_bias({in({4, 5}, kE), in({2, 5}), in({2})}),       // broadcast rows (stride 0)
        with_bias({in({1, 1}), in({1, 1}), in({1})}),
        no_bias({in({0, 5}), in({4, 5})}),                      // no rows
        with_bias({in({33, 70}), in({40, 70}), in({40})}),
    };
  };
  r.errors = {
      error("in_features_mismatch", [] { linear(zeros({2, 3}), zeros({4, 5})); }, ErrorKind::Shape,
            {"linear", "in_features = 5", "[2, 3]"}),
      error("bias_shape", [] { linear(zeros({2, 5}), zeros({4, 5}), zeros({3})); }, ErrorKind::Shape,
            {"linear", "bias", "[4]"}),
      error("dtype_mismatch", [] { linear(zeros({2, 5}), zeros({4, 5}, kFloat64)); }, ErrorKind::DType,
            {"linear", "same dtype"}),
  };
  return r;
}

OpRow dropout_row() {
  OpRow r;
  r.name = "dropout";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  // The deterministic settings: p = 0 and eval mode are the identity, p = 1 zeroes everything.
  // Attributes p and training.
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return dropout(v[0], a.d("p"), a.b("training")); });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    if (a.b("training") && a.d("p") == 1.0) return map1(v[0], [](double) { return 0.0; });
    return v[0];  // p = 0, or eval mode: the identity
  });
  r.samples = [] {
    std::vector<Sample> s;
    for (const SampleInput& x : {in({4, 7}), in({3, 5}, kT), in({}), in({1, 1, 5}), in({0, 3})}) {
      s.push_back(sample({x}, Attrs().d("p", 0.0).b("training", true), "p0_train"));
      s.push_back(sample({x}, Attrs().d("p", 0.5).b("training", false), "p05_eval"));
      s.push_back(sample({x}, Attrs().d("p", 1.0).b("training", true), "p1_train"));
    }
    return s;
  };
  r.errors = {
      error("p_above_one", [] { dropout(zeros({2}), 1.5); }, ErrorKind::Value, {"dropout", "p must be in [0, 1]", "1.5"}),
      error("negative_p", [] { dropout(zeros({2}), -0.1); }, ErrorKind::Value, {"dropout", "p must be in [0, 1]"}),
  };
  return r;
}

OpRow nll_loss_row() {
  OpRow r;
  r.name = "nll_loss";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.tolerances = {{kFloat16, {2e-3, 4e-3}}, {kBFloat16, {1.6e-2, 3e-2}}};
  // Attributes ignore_index, reduction.
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return nll_loss(v[0], v[1], a.i("ignore_index"), a.s("reduction"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    return ref_nll_loss(v[0], v[1], a.i("ignore_index"), a.s("reduction"));
  });
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, int64_t ignore, std::string reduction, const std::string& tag,
                    bool differentiable = true) {
      Sample smp = sample(std::move(inputs), Attrs().i("ignore_index", ignore).s("reduction", reduction),
                          tag + "_" + reduction);
      smp.differentiable = differentiable;
      s.push_back(smp);
    };
    const std::vector<double> t4 = {1, 0, 4, 2};
    for (const char* red : {"mean", "sum", "none"}) add({in({4, 5}), targets({4}, t4)}, -100, red, "plain");
    add({in({4, 5}), targets({4}, {1, -100, 4, 0})}, -100, "mean", "ignore_default");
    add({in({4, 5}), targets({4}, {3, 3, 4, 0})}, 3, "sum", "ignore3");
    add({in({2, 2}), targets({2}, {-100, -100})}, -100, "mean", "all_ignored", false);
    add({in({2, 3, 4}), targets({2, 4}, {0, 2, 1, 1, 2, 0, 0, 1})}, -100, "none", "spatial");
    add({in({5}), targets({}, {2})}, -100, "mean", "unbatched");
    add({in({5, 4}, kT), targets({5}, {0, 3, 2, 1, 3})}, -100, "mean", "strided");
    add({in({1, 1}), targets({1}, {0})}, -100, "mean", "one_class");
    return s;
  };
  r.errors = {
      error("target_out_of_range", [] { nll_loss(zeros({2, 3}), tensor(std::vector<int64_t>{-1, 0})); },
            ErrorKind::Index, {"nll_loss", "[0, 3)"}),
      error("target_shape", [] { nll_loss(zeros({2, 3}), zeros({2, 1}, kInt64)); }, ErrorKind::Shape,
            {"nll_loss", "[2, 1]"}),
  };
  return r;
}

OpRow mse_loss_row() {
  OpRow r;
  r.name = "mse_loss";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  // Sums of squares of up to ~1000 terms round once in f16/bf16.
  r.tolerances = {{kFloat32, {1e-5, 1e-5}}, {kFloat16, {4e-3, 1e-2}}, {kBFloat16, {2e-2, 6e-2}}};
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return mse_loss(v[0], v[1], a.s("reduction")); });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) { return ref_mse_loss(v[0], v[1], a.s("reduction")); });
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, std::string reduction) {
      s.push_back(sample(std::move(inputs), Attrs().s("reduction", reduction), reduction));
    };
    for (const char* red : {"mean", "sum", "none"}) {
      add({in({4, 7}), in({4, 7})}, red);
      add({in({3, 5}, kT), in({3, 5}, kS)}, red);
    }
    add({in({}), in({})}, "mean");
    add({in({1, 1, 5}), in({1, 1, 5})}, "sum");
    add({in({5, 6}, kE), in({5, 6})}, "mean");
    add({in({0, 3}), in({0, 3})}, "sum");
    add({in({0, 3}), in({0, 3})}, "none");
    add({in({30, 33}), in({30, 33})}, "mean");
    return s;
  };
  r.errors = {
      error("shape_mismatch", [] { mse_loss(zeros({2, 3}), zeros({3, 2})); }, ErrorKind::Shape,
            {"mse_loss", "[2, 3]", "[3, 2]", "same shape"}),
      error("dtype_mismatch", [] { mse_loss(zeros({2}), zeros({2}, kFloat64)); }, ErrorKind::DType,
            {"mse_loss", "same dtype"}),
      error("bad_reduction", [] { mse_loss(zeros({2}), zeros({2}), "total"); }, ErrorKind::Value,
            {"mse_loss", "reduction", "total"}),
  };
  return r;
}

OpRow bce_with_logits_row() {
  OpRow r;
  r.name = "binary_cross_entropy_with_logits";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.tolerances = {{kFloat32, {1e-5, 1e-5}}, {kFloat16, {4e-3, 1e-2}}, {kBFloat16, {2e-2, 6e-2}}};
  // Inputs x, target and, when there are three, pos_weight. Targets are
  // drawn in (-0.9, 0.9) and mapped to (0.05, 0.95) by both sides.
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return binary_cross_entropy_with_logits(v[0], v[1] * 0.5 + 0.5, v.size() == 3 ? v[2] : Tensor(), a.s("reduction"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    return ref_bce_with_logits(v[0], map1(v[1], [](double t) { return t * 0.5 + 0.5; }), v.size() == 3 ? &v[2] : nullptr,
                               a.s("reduction"));
  });
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&](std::vector<SampleInput> inputs, std::string reduction, bool pos_weight) {
      inputs[1].domain = Domain::Unit;
      if (pos_weight) inputs[2].domain = Domain::Positive;
      s.push_back(sample(std::move(inputs), Attrs().s("reduction", reduction), reduction + (pos_weight ? "_pos_weight" : "")));
    };
    for (const char* red : {"mean", "sum", "none"}) {
      add({in({4, 7}), in({4, 7})}, red, false);
      add({in({4, 7}), in({4, 7}), in({7})}, red, true);
    }
    add({in({3, 5}, kT), in({3, 5}, kS)}, "mean", false);
    add({in({2, 3, 4}), in({2, 3, 4}), in({1})}, "sum", true);
    add({in({5, 6}, kE), in({5, 6}), in({6}, kS)}, "none", true);
    add({in({}), in({})}, "mean", false);
    add({in({1, 1}), in({1, 1}), in({1})}, "mean", true);
    add({in({0, 3}), in({0, 3})}, "sum", false);
    add({in({40, 33}), in({40, 33}), in({33})}, "mean", true);
    return s;
  };
  r.errors = {
      error("shape_mismatch", [] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 4})); }, ErrorKind::Shape,
            {"binary_cross_entropy_with_logits", "[2, 3]", "[2, 4]"}),
      error("pos_weight_does_not_broadcast",
            [] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), zeros({4})); }, ErrorKind::Shape,
            {"binary_cross_entropy_with_logits", "[4]", "[2, 3]"}),
      error("bad_reduction", [] { binary_cross_entropy_with_logits(zeros({2}), zeros({2}), Tensor(), "max"); },
            ErrorKind::Value, {"binary_cross_entropy_with_logits", "reduction", "max"}),
  };
  return r;
}

}  // namespace

std::vector<OpRow> nn_rows() { return {linear_row(), dropout_row(), nll_loss_row(), mse_loss_row(), bce_with_logits_row()}; }

}  // namespace kiln::testing
