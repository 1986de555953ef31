// The transformer primitives on CUDA beyond what the op table checks (every
// row of tests/ops runs on cuda:0 against the CPU when a GPU is present):
// attention's tensor-core forward against its general kernel and against
// the unfused composition on the GPU at the head sizes, lengths, masks and
// dropout the kernels special-case (bool and additive float masks at head
// sizes 32 and 128 too); the two embedding backward paths; the
// layer-norm backward's shared-memory and workspace paths; sort, topk,
// cumsum and multinomial bit for bit against the CPU. Skipped without a GPU.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#if KILN_TEST_CUDA_BUILD
#include "attention.h"
#endif

// The switch between the tensor-core and general attention kernels lives in
// kernels/, which a CPU-only build (where these tests skip) does not link.
#if KILN_TEST_CUDA_BUILD
static void force_general_attention(bool force) { kiln::kernels::set_attention_force_general(force); }
#else
static void force_general_attention(bool) {}
#endif

namespace kiln {
namespace {

const Device kGpu("cuda:0");
const Device kCpu("cpu");

double max_diff(const Tensor& a, const Tensor& b) {
  return amax(abs(a.to(kCpu).to(kFloat64) - b.to(kCpu).to(kFloat64))).item<double>();
}

Tensor unfused(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal) {
  const int64_t D = q.size(-1), Tq = q.size(-2), Tk = k.size(-2);
  Tensor s = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(D)));
  if (causal)
    s = masked_fill(s, triu(ones({Tq, Tk}, TensorOptions(kBool).device(q.device())), 1),
                    -std::numeric_limits<double>::infinity());
  if (mask.defined() && mask.dtype() == kBool)
    s = where(mask, s, full({}, -std::numeric_limits<double>::infinity(), s.options()));
  else if (mask.defined())
    s = s + mask.to(s.dtype());
  return matmul(softmax(s, -1), v);
}

struct AttnCase {
  int64_t B, H, Tq, Tk, D;
  bool causal, mask;
};

class CudaAttention : public ::testing::TestWithParam<std::tuple<AttnCase, DType>> {};

// The tensor-core kernels (f16/bf16, D in {32, 64, 128}) and the general
// ones give the same forward and backward within rounding; the forward
// matches the f32 unfused composition on the GPU, both match the CPU.
TEST_P(CudaAttention, TensorCoreGeneralUnfusedAndCpuAgree) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  const auto [c, dtype] = GetParam();
  manual_seed(17);
  Tensor q = randn({c.B, c.H, c.Tq, c.D}), k = randn({c.B, c.H, c.Tk, c.D}), v = randn({c.B, c.H, c.Tk, c.D});
  Tensor mask;
  if (c.mask) mask = rand({c.Tq, c.Tk}) > full({}, 0.3);
  if (mask.defined()) mask = masked_fill(mask, eq(arange(c.Tk).unsqueeze(0), zeros({1, 1}, kInt64)), true);  // key 0 always
  Tensor qg = q.to(kGpu).to(dtype), kg = k.to(kGpu).to(dtype), vg = v.to(kGpu).to(dtype);
  Tensor mg = mask.defined() ? mask.to(kGpu) : Tensor();
  const double tol = dtype == kBFloat16 ? 3e-2 : (dtype == kFloat16 ? 5e-3 : 1e-4);

  force_general_attention(false);
  Tensor fast = scaled_dot_product_attention(qg, kg, vg, mg, 0.0, c.causal);
  force_general_attention(true);
  Tensor general = scaled_dot_product_attention(qg, kg, vg, mg, 0.0, c.causal);
  force_general_attention(false);
  Tensor plain = unfused(qg.to(kFloat32), kg.to(kFloat32), vg.to(kFloat32), mg, c.causal);
  EXPECT_LT(max_diff(fast, general), tol) << "tensor-core vs general";
  EXPECT_LT(max_diff(fast, plain), tol) << "fused vs unfused on the GPU";

  Tensor cpu_q = qg.to(kCpu).requires_grad_(), cpu_k = kg.to(kCpu).requires_grad_(),
         cpu_v = vg.to(kCpu).requires_grad_();
  Tensor gq = qg.detach().requires_grad_(), gk = kg.detach().requires_grad_(), gv = vg.detach().requires_grad_();
  Tensor w = randn({c.B, c.H, c.Tq, c.D}).to(dtype);
  Tensor cpu_out = scaled_dot_product_attention(cpu_q, cpu_k, cpu_v, mask, 0.0, c.causal);
  Tensor gpu_out = scaled_dot_product_attention(gq, gk, gv, mg, 0.0, c.causal);
  EXPECT_LT(max_diff(gpu_out, cpu_out), tol) << "forward vs cpu";
  std::vector<Tensor> g_cpu = autograd::grad({sum(cpu_out.to(kFloat32) * w.to(kFloat32))}, {cpu_q, cpu_k, cpu_v});
  std::vector<Tensor> g_gpu =
      autograd::grad({sum(gpu_out.to(kFloat32) * w.to(kGpu).to(kFloat32))}, {gq, gk, gv});
  const char* names[] = {"dq", "dk", "dv"};
  for (int i = 0; i < 3; ++i) EXPECT_LT(max_diff(g_gpu[i], g_cpu[i]), 4 * tol) << names[i];
  // The general backward (and forward) against the default (tensor-core where it applies).
  force_general_attention(true);
  Tensor gen_out = scaled_dot_product_attention(gq, gk, gv, mg, 0.0, c.causal);
  std::vector<Tensor> g_gen =
      autograd::grad({sum(gen_out.to(kFloat32) * w.to(kGpu).to(kFloat32))}, {gq, gk, gv});
  force_general_attention(false);
  for (int i = 0; i < 3; ++i) EXPECT_LT(max_diff(g_gpu[i], g_gen[i]), 4 * tol) << names[i] << " vs general";
}

std::vector<AttnCase> attn_cases() {
  std::vector<AttnCase> out;
  for (int64_t D : {32, 64, 128})
    for (bool causal : {false, true}) {
      out.push_back({2, 3, 65, 65, D, causal, false});   // one query and key past a tile of 64
      out.push_back({1, 2, 200, 130, D, causal, false}); // Tq > Tk, several tiles
    }
  out.push_back({1, 2, 77, 150, 64, false, true});
  out.push_back({1, 1, 1, 1, 64, false, false});
  out.push_back({1, 2, 33, 47, 48, false, false});  // a head size the tensor-core kernel does not take
  return out;
}

INSTANTIATE_TEST_SUITE_P(Kernels, CudaAttention,
                         ::testing::Combine(::testing::ValuesIn(attn_cases()),
                                            ::testing::Values(kBFloat16, kFloat16, kFloat32)));

// A bool mask [B, 1, Tq, Tk] (per batch, broadcast over heads) and an
// additive float one [1, H, Tq, Tk] (per head, with -inf where the bool mask
// forbids): Tq, Tk not multiples of a tile, key 0 always allowed. The GPU
// agrees with the CPU forward and backward and with the unfused
// composition on the GPU, in f32, bf16 and f16.
TEST(CudaAttentionMasks, BoolAndFloatMasksAtHeadSizes32And128MatchTheCpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(27);
  const int64_t B = 2, H = 2, Tq = 70, Tk = 90;
  Tensor allowed = rand({B, 1, Tq, Tk}) > full({}, 0.3);
  allowed = masked_fill(allowed, eq(arange(Tk), zeros({}, kInt64)), true);
  Tensor additive = where(allowed.narrow(0, 0, 1), randn({1, H, Tq, Tk}) * 0.5,
                          full({}, -std::numeric_limits<double>::infinity()));
  for (int64_t D : {32, 128})
    for (bool boolean : {true, false})
      for (DType dtype : {kFloat32, kBFloat16, kFloat16}) {
        const std::string what = "D " + std::to_string(D) + (boolean ? " bool " : " float ") + dtype_name(dtype);
        const double tol = dtype == kBFloat16 ? 3e-2 : (dtype == kFloat16 ? 5e-3 : 1e-4);
        Tensor q = randn({B, H, Tq, D}).to(dtype), k = randn({B, H, Tk, D}).to(dtype), v = randn({B, H, Tk, D}).to(dtype);
        Tensor w = randn({B, H, Tq, D});
        Tensor mask = boolean ? allowed : additive.to(dtype);
        auto run = [&](const Device& dev) {
          Tensor qd = q.to(dev).detach().requires_grad_(), kd = k.to(dev).detach().requires_grad_(),
                 vd = v.to(dev).detach().requires_grad_();
          Tensor out = scaled_dot_product_attention(qd, kd, vd, mask.to(dev));
          std::vector<Tensor> g = autograd::grad({sum(out.to(kFloat32) * w.to(dev))}, {qd, kd, vd});
          g.insert(g.begin(), out);
          return g;
        };
        std::vector<Tensor> cpu = run(kCpu), gpu = run(kGpu);
        ASSERT_TRUE(gpu[0].device() == kGpu) << what;
        const char* names[] = {"out", "dq", "dk", "dv"};
        for (int i = 0; i < 4; ++i) EXPECT_LT(max_diff(gpu[i], cpu[i]), (i == 0 ? 1 : 4) * tol) << what << " " << names[i];
        NoGradGuard no_grad;
        Tensor plain = unfused(q.to(kGpu).to(kFloat32), k.to(kGpu).to(kFloat32), v.to(kGpu).to(kFloat32),
                               mask.to(kGpu), false);
        EXPECT_LT(max_diff(gpu[0], plain), tol) << what << " fused vs unfused on the GPU";
      }
}

// The dropout mask on the GPU is the CPU's (the same Philox elements),
// forward and backward, for the tensor-core (bf16) and general (f32)
// kernels, with and without an additive float mask.
TEST(CudaAttentionDropout, SameMaskAsTheCpuForwardAndBackward) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(5);
  Tensor q = randn({2, 2, 70, 64}), k = randn({2, 2, 90, 64}), v = randn({2, 2, 90, 64});
  Tensor w = randn({2, 2, 70, 64});
  Tensor bias = randn({70, 90}) * 0.5;
  for (DType dtype : {kFloat32, kBFloat16})
    for (bool with_bias : {false, true}) {
      const double tol = dtype == kBFloat16 ? 3e-2 : 1e-4;
      auto run = [&](const Device& dev) {
        Tensor qd = q.to(dev).to(dtype).requires_grad_(), kd = k.to(dev).to(dtype).requires_grad_(),
               vd = v.to(dev).to(dtype).requires_grad_();
        manual_seed(9);
        Tensor out = scaled_dot_product_attention(qd, kd, vd, with_bias ? bias.to(dev).to(dtype) : Tensor(), 0.25,
                                                  !with_bias);
        std::vector<Tensor> g = autograd::grad({sum(out.to(kFloat32) * w.to(dev))}, {qd, kd, vd});
        g.insert(g.begin(), out);
        return g;
      };
      std::vector<Tensor> cpu = run(kCpu), gpu = run(kGpu);
      const char* names[] = {"out", "dq", "dk", "dv"};
      for (int i = 0; i < 4; ++i)
        EXPECT_LT(max_diff(gpu[i], cpu[i]), (i == 0 ? 1 : 4) * tol) << dtype << " bias " << with_bias << " " << names[i];
    }
}

TEST(CudaEmbedding, DeterministicAndAtomicBackwardsAgreeWithTheCpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(3);
  const int64_t V = 500, C = 96;
  Tensor ids = randint(0, 40, {8, 300});  // many repeats
  for (DType dtype : {kFloat32, kBFloat16, kFloat64}) {
    Tensor w = randn({V, C}).to(dtype);
    Tensor g = randn({8, 300, C}).to(dtype);
    Tensor wc = w.detach().requires_grad_();
    Tensor ref = autograd::grad({sum(embedding(wc, ids, 3).to(kFloat64) * g.to(kFloat64))}, {wc})[0];
    for (bool det : {true, false}) {
      cuda::set_embedding_deterministic(det);
      Tensor wg = w.to(kGpu).requires_grad_();
      Tensor out = embedding(wg, ids.to(kGpu), 3);
      EXPECT_LT(max_diff(out, embedding(w, ids, 3)), 0.0 + 1e-300) << "lookup";
      Tensor gw = autograd::grad({sum(out.to(kFloat64) * g.to(kGpu).to(kFloat64))}, {wg})[0];
      EXPECT_LT(max_diff(gw, ref), dtype == kBFloat16 ? 5e-2 : 1e-4) << "deterministic " << det;
      if (det) {
        Tensor again = autograd::grad({sum(embedding(wg, ids.to(kGpu), 3).to(kFloat64) * g.to(kGpu).to(kFloat64))},
                                      {wg})[0];
        EXPECT_TRUE(equal(gw, again)) << "the deterministic path repeats bit for bit";
      }
    }
    cuda::set_embedding_deterministic(true);
  }
}

TEST(CudaEmbedding, OutOfRangeIdIsRaisedAtTheNextSynchronisation) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  // Rows of width 0 have no element to check an id at; the ids are checked all the same, as on the CPU.
  for (int64_t width : {4, 0}) {
    Tensor w = randn({10, width}).to(kGpu);
    EXPECT_THROW(
        {
          Tensor out = embedding(w, tensor(std::vector<int64_t>{1, 12}).to(kGpu));
          cuda::synchronize();
          (void)out.to(kCpu);
        },
        IndexError)
        << "width " << width;
  }
}

// Rows short enough for the shared-memory partials and long enough (n =
// 7000: 2n f32 > 48 KB) for the workspace ones; n = 6144 is the edge (2n
// f32 = 48 KB exactly, over the limit with the kernel's static shared
// memory, so layer norm takes the workspace and RMS norm the shared path).
TEST(CudaLayerNorm, BackwardPathsMatchTheCpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(8);
  for (int64_t n : {768, 6144, 7000})
    for (bool rms : {false, true}) {
      Tensor x = randn({37, n}), w = randn({n}), b = randn({n}), gy = randn({37, n});
      auto run = [&](const Device& dev) {
        Tensor xd = x.to(dev).requires_grad_(), wd = w.to(dev).requires_grad_(), bd = b.to(dev).requires_grad_();
        Tensor y = rms ? rms_norm(xd, {n}, wd, 1e-5) : layer_norm(xd, {n}, wd, bd);
        std::vector<Tensor> in{xd, wd};
        if (!rms) in.push_back(bd);
        std::vector<Tensor> g = autograd::grad({sum(y * gy.to(dev))}, in);
        g.insert(g.begin(), y);
        return g;
      };
      std::vector<Tensor> cpu = run(kCpu), gpu = run(kGpu);
      for (size_t i = 0; i < cpu.size(); ++i)
        EXPECT_LT(max_diff(gpu[i], cpu[i]), 1e-3 * std::sqrt(37.0)) << "n " << n << " rms " << rms << " output " << i;
    }
}

TEST(CudaSortCumsumMultinomial, MatchTheCpuExactly) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(4);
  Tensor x = randint(-5, 5, {7, 300}).to(kFloat32);  // many ties
  x = where(rand({7, 300}) > full({}, 0.97), full({}, NAN), x);
  for (bool desc : {false, true}) {
    EXPECT_TRUE(equal(std::get<1>(sort(x, -1, desc)), std::get<1>(sort(x.to(kGpu), -1, desc)).to(kCpu)))
        << "sort indices, descending " << desc;
    EXPECT_TRUE(equal(std::get<1>(topk(x, 17, -1, desc)), std::get<1>(topk(x.to(kGpu), 17, -1, desc)).to(kCpu)))
        << "topk indices, largest " << desc;
  }
  Tensor xi = randint(-100, 100, {5, 400, 3});
  EXPECT_TRUE(equal(cumsum(xi, 1), cumsum(xi.to(kGpu), 1).to(kCpu)));
  Tensor xf = randn({5, 400, 3});
  EXPECT_TRUE(equal(cumsum(xf, 1), cumsum(xf.to(kGpu), 1).to(kCpu))) << "f64 accumulation on both";
  Tensor p = rand({6, 1000});
  for (bool replacement : {true, false}) {
    manual_seed(12);
    Tensor a = multinomial(p, 50, replacement);
    manual_seed(12);
    Tensor b = multinomial(p.to(kGpu), 50, replacement);
    EXPECT_TRUE(equal(a, b.to(kCpu))) << "replacement " << replacement;
  }
}

}  // namespace
}  // namespace kiln
