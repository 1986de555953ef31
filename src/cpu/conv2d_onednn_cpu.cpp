// CPU 2-D convolution through oneDNN (f32), used when the library was built
// with oneDNN (KILN_WITH_ONEDNN). Tensors stay in kiln's plain NCHW/OIHW
// layouts; oneDNN picks its implementation for those layouts. Primitive
// creation is costly, so primitives are cached per shape and parameters.
#include "cpu/conv2d_cpu.h"

#include "core/tensor_impl.h"
#include "cpu/cpu_backend.h"

#if KILN_WITH_ONEDNN
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace kiln::cpu {

#if KILN_WITH_ONEDNN

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

struct Context {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};
// The CPU engine is a process-wide resource (no device state to own).
Context& context() {
  static Context ctx;
  return ctx;
}

struct ConvPrimitives {
  memory::desc src, wei, bias, dst;
  dnnl::convolution_forward::primitive_desc fwd_pd;
  dnnl::convolution_forward fwd;
  // Created on first backward use.
  bool has_bwd = false;
  dnnl::convolution_backward_data bwd_data;
  dnnl::convolution_backward_weights bwd_weights;
};

struct ConvShape {
  memory::dims src, wei, bias, dst, strides, dilates, pad_l, pad_r;
  bool grouped = false;
};

ConvShape conv_shape(const Tensor& x, const Tensor& w, const detail::Conv2dParams& p, int64_t Ho, int64_t Wo) {
  ConvShape s;
  const int64_t G = p.groups;
  s.src = {x.size(0), x.size(1), x.size(2), x.size(3)};
  s.grouped = G > 1;
  if (s.grouped) s.wei = {G, w.size(0) / G, w.size(1), w.size(2), w.size(3)};
  else s.wei = {w.size(0), w.size(1), w.size(2), w.size(3)};
  s.bias = {w.size(0)};
  s.dst = {x.size(0), w.size(0), Ho, Wo};
  s.strides = {p.stride[0], p.stride[1]};
  s.dilates = {p.dilation[0] - 1, p.dilation[1] - 1};  // oneDNN counts the gaps
  s.pad_l = {p.padding[0], p.padding[1]};
  // Right padding so that the last window ends where the output says.
  auto right = [](int64_t in, int64_t out, int64_t k, int64_t st, int64_t pad, int64_t dil) {
    return (out - 1) * st + (k - 1) * dil + 1 - in - pad;
  };
  s.pad_r = {right(x.size(2), Ho, w.size(2), p.stride[0], p.padding[0], p.dilation[0]),
             right(x.size(3), Wo, w.size(3), p.stride[1], p.padding[1], p.dilation[1])};
  return s;
}

std::string key_of(const ConvShape& s) {
  std::ostringstream os;
  for (const auto* v : {&s.src, &s.wei, &s.dst, &s.strides, &s.dilates, &s.pad_l, &s.pad_r}) {
    for (auto d : *v) os << d << ',';
    os << ';';
  }
  return os.str();
}

ConvPrimitives& primitives_for(const ConvShape& s) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<ConvPrimitives>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key_of(s)];
  if (slot) return *slot;
  auto prims = std::make_unique<ConvPrimitives>();
  prims->src = memory::desc(s.src, dt::f32, tag::nchw);
  prims->wei = memory::desc(s.wei, dt::f32, s.grouped ? tag::goihw : tag::oihw);
  prims->bias = memory::desc(s.bias, dt::f32, tag::x);
  prims->dst = memory::desc(s.dst, dt::f32, tag::nchw);
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                    prims->src, prims->wei, prims->bias, prims->dst, s.strides, s.dilates, s.pad_l,
                                    s.pad_r);
  prims->fwd_pd = dnnl::convolution_forward::primitive_desc(d, context().engine);
  prims->fwd = dnnl::convolution_forward(prims->fwd_pd);
  slot = std::move(prims);
  return *slot;
}

void ensure_backward(ConvPrimitives& pr, const ConvShape& s) {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (pr.has_bwd) return;
  auto& eng = context().engine;
  dnnl::convolution_backward_data::desc dd(dnnl::algorithm::convolution_direct, pr.src, pr.wei, pr.dst, s.strides,
                                           s.dilates, s.pad_l, s.pad_r);
  pr.bwd_data = dnnl::convolution_backward_data(dnnl::convolution_backward_data::primitive_desc(dd, eng, pr.fwd_pd));
  dnnl::convolution_backward_weights::desc wd(dnnl::algorithm::convolution_direct, pr.src, pr.wei, pr.bias, pr.dst,
                                              s.strides, s.dilates, s.pad_l, s.pad_r);
  pr.bwd_weights =
      dnnl::convolution_backward_weights(dnnl::convolution_backward_weights::primitive_desc(wd, eng, pr.fwd_pd));
  pr.has_bwd = true;
}

memory wrap(const memory::desc& md, const Tensor& t) { return memory(md, context().engine, t.raw_data_ptr()); }

}  // namespace

bool onednn_available() { return true; }

void conv2d_forward_onednn(const Tensor& x, const Tensor& w, const Tensor& b, const detail::Conv2dParams& p,
                           Tensor& out) {
  KILN_CHECK(x.dtype() == kFloat32, DTypeError, "conv2d: oneDNN path takes float32, got ", x.dtype());
  const ConvShape s = conv_shape(x, w, p, out.size(2), out.size(3));
  ConvPrimitives& pr = primitives_for(s);
  auto& ctx = context();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(pr.src, x)},
                                       {DNNL_ARG_WEIGHTS, wrap(pr.wei, w)},
                                       {DNNL_ARG_DST, wrap(pr.dst, out)}};
  // Without a bias, a zero bias keeps one primitive per shape.
  Tensor bias = b;
  if (!bias.defined()) {
    bias = detail::make_empty({w.size(0)}, kFloat32, x.device());
    detail::cpu_backend().fill(bias, 0);
  }
  args.emplace(DNNL_ARG_BIAS, wrap(pr.bias, bias));
  pr.fwd.execute(ctx.stream, args);
  ctx.stream.wait();
}

void conv2d_backward_onednn(const Tensor& gy, const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                            Tensor& gx, Tensor& gw, Tensor& gb) {
  KILN_CHECK(x.dtype() == kFloat32, DTypeError, "conv2d_backward: oneDNN path takes float32, got ", x.dtype());
  const ConvShape s = conv_shape(x, w, p, gy.size(2), gy.size(3));
  ConvPrimitives& pr = primitives_for(s);
  ensure_backward(pr, s);
  auto& ctx = context();
  if (gx.defined()) {
    pr.bwd_data.execute(ctx.stream, {{DNNL_ARG_DIFF_DST, wrap(pr.dst, gy)},
                                     {DNNL_ARG_WEIGHTS, wrap(pr.wei, w)},
                                     {DNNL_ARG_DIFF_SRC, wrap(pr.src, gx)}});
  }
  if (gw.defined() || gb.defined()) {
    Tensor gw_out = gw.defined() ? gw : detail::make_empty(w.sizes(), kFloat32, x.device());
    Tensor gb_out = gb.defined() ? gb : detail::make_empty({w.size(0)}, kFloat32, x.device());
    pr.bwd_weights.execute(ctx.stream, {{DNNL_ARG_SRC, wrap(pr.src, x)},
                                        {DNNL_ARG_DIFF_DST, wrap(pr.dst, gy)},
                                        {DNNL_ARG_DIFF_WEIGHTS, wrap(pr.wei, gw_out)},
                                        {DNNL_ARG_DIFF_BIAS, wrap(pr.bias, gb_out)}});
  }
  ctx.stream.wait();
}

#else  // !KILN_WITH_ONEDNN

bool onednn_available() { return false; }

void conv2d_forward_onednn(const Tensor&, const Tensor&, const Tensor&, const detail::Conv2dParams&, Tensor&) {
  throw InternalError("conv2d: kiln was built without oneDNN");
}
void conv2d_backward_onednn(const Tensor&, const Tensor&, const Tensor&, const detail::Conv2dParams&, Tensor&,
                            Tensor&, Tensor&) {
  throw InternalError("conv2d_backward: kiln was built without oneDNN");
}

#endif

}  // namespace kiln::cpu
