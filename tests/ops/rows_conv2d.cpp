// Rows for conv2d (include/kiln/ops/nn.h), the op of src/ops/conv2d.cpp,
// src/cpu/conv2d_cpu.cpp, src/cuda/conv2d_cuda.cpp and kernels/conv2d.cu.
#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

struct ConvArgs {
  Size2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
};

Ref ref_conv2d(const Ref& x, const Ref& w, const Ref* b, const ConvArgs& a) {
  const Image im = image_of(x);
  const int64_t O = w.shape[0], Cg = w.shape[1], kh = w.shape[2], kw = w.shape[3], Og = O / a.groups;
  const int64_t Ho = (im.H + 2 * a.padding.h - a.dilation.h * (kh - 1) - 1) / a.stride.h + 1;
  const int64_t Wo = (im.W + 2 * a.padding.w - a.dilation.w * (kw - 1) - 1) / a.stride.w + 1;
  Ref y;
  y.shape = image_shape(im, O, Ho, Wo);
  for (int64_t n = 0; n < im.N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          double acc = b ? b->v[o] : 0.0;
          const int64_t first_channel = (o / Og) * Cg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t h = oh * a.stride.h - a.padding.h + i * a.dilation.h;
                const int64_t ww = ow * a.stride.w - a.padding.w + j * a.dilation.w;
                if (h < 0 || h >= im.H || ww < 0 || ww >= im.W) continue;  // zero padding
                acc += x.v[((n * im.C + first_channel + c) * im.H + h) * im.W + ww] *
                       w.v[((o * Cg + c) * kh + i) * kw + j];
              }
          y.v.push_back(acc);
        }
  return y;
}

// The attributes of a convolution: stride, padding, dilation {h, w}, groups.
ConvArgs conv_args(const Attrs& a) {
  ConvArgs c;
  c.stride = size2(a, "stride");
  c.padding = size2(a, "padding");
  c.dilation = size2(a, "dilation");
  c.groups = a.i("groups");
  return c;
}
Attrs conv_attrs(const ConvArgs& c) {
  return Attrs()
      .shape("stride", shape_of(c.stride))
      .shape("padding", shape_of(c.padding))
      .shape("dilation", shape_of(c.dilation))
      .i("groups", c.groups);
}

}  // namespace

std::vector<OpRow> conv2d_rows() {
  OpRow r;
  r.name = "conv2d";
  r.dtypes = floating_dtypes();
  r.tolerances = kProductTolerance;
  r.grad = grad_on();
  // Inputs x, weight and, when there are three, bias.
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    const ConvArgs c = conv_args(a);
    return conv2d(v[0], v[1], v.size() == 3 ? v[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    return ref_conv2d(v[0], v[1], v.size() == 3 ? &v[2] : nullptr, conv_args(a));
  });
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, ConvArgs a, const std::string& tag) {
      s.push_back(sample(std::move(inputs), conv_attrs(a), tag));
    };
    add({in({2, 3, 6, 5}), in({4, 3, 3, 3}), in({4})}, {}, "plain");
    add({in({2, 2, 7, 6}), in({3, 2, 3, 3}), in({3})}, {2, 1, 1, 1}, "stride2_pad1");
    add({in({1, 2, 7, 8}), in({3, 2, 3, 2}), in({3})}, {{2, 1}, {1, 0}, 1, 1}, "stride2x1_pad1x0");
    add({in({1, 2, 7, 7}), in({2, 2, 3, 3})}, {1, 2, 2, 1}, "dilation2_pad2_nobias");
    add({in({1, 2, 6, 7}), in({2, 2, 2, 3}), in({2})}, {1, 0, {2, 1}, 1}, "dilation2x1");
    add({in({2, 4, 5, 5}), in({6, 2, 3, 3}), in({6})}, {1, 1, 1, 2}, "groups2");
    add({in({1, 3, 5, 5}), in({3, 1, 3, 3}), in({3})}, {1, 1, 1, 3}, "depthwise");
    add({in({2, 5, 3, 4}), in({7, 5, 1, 1})}, {}, "pointwise_nobias");
    add({in({3, 5, 5}), in({2, 3, 3, 3}), in({2})}, {1, 1, 1, 1}, "unbatched");
    add({in({2, 2, 5, 6}, kT), in({3, 2, 3, 3}, kS), in({3}, kS)}, {1, 1, 1, 1}, "strided");
    add({in({3, 2, 4, 4}, kE), in({2, 2, 3, 3}), in({2})}, {}, "expanded_batch");
    add({in({1, 1, 1, 5}), in({1, 1, 1, 3}), in({1})}, {}, "size1_dims");
    add({in({2, 2, 3, 3}), in({4, 2, 3, 3}), in({4})}, {}, "kernel_equals_input");
    add({in({0, 2, 4, 4}), in({3, 2, 3, 3}), in({3})}, {}, "empty_batch");
    add({in({4, 8, 16, 16}), in({16, 8, 3, 3}), in({16})}, {1, 1, 1, 1}, "large");
    // "Same" padding, which the CPU unrolls as shifted planes: an asymmetric
    // kernel, and planes two rows or two columns small.
    add({in({2, 2, 6, 7}), in({3, 2, 5, 3}), in({3})}, {1, {2, 1}, 1, 1}, "same_5x3_pad2x1");
    add({in({1, 2, 2, 6}), in({2, 2, 3, 3}), in({2})}, {1, 1, 1, 1}, "same_two_rows");
    add({in({1, 2, 5, 2}), in({2, 2, 3, 3})}, {1, 1, 1, 1}, "same_two_columns_nobias");
    return s;
  };
  r.errors = {
      error("channels_mismatch", [] { conv2d(zeros({1, 3, 5, 5}), zeros({2, 2, 3, 3})); }, ErrorKind::Shape,
            {"conv2d", "[2, 2, 3, 3]", "[1, 3, 5, 5]"}),
      error("groups_do_not_divide", [] { conv2d(zeros({1, 3, 5, 5}), zeros({2, 1, 3, 3}), Tensor(), 1, 0, 1, 2); },
            ErrorKind::Shape, {"conv2d", "divisible by groups 2"}),
      error("kernel_larger_than_input", [] { conv2d(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 3})); }, ErrorKind::Shape,
            {"conv2d", "smaller than the dilated kernel"}),
      error("zero_stride", [] { conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), Tensor(), 0); }, ErrorKind::Value,
            {"conv2d", "stride must be >= 1"}),
      error("rank2_input", [] { conv2d(zeros({4, 4}), zeros({1, 1, 3, 3})); }, ErrorKind::Shape,
            {"conv2d", "[N,C,H,W] or [C,H,W]", "[4, 4]"}),
      error("integer_input", [] { conv2d(zeros({1, 1, 4, 4}, kInt64), zeros({1, 1, 3, 3}, kInt64)); },
            ErrorKind::DType, {"conv2d", "int64"}),
  };
  return {r};
}

}  // namespace kiln::testing
