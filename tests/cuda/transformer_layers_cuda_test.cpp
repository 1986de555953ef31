// The transformer layers on CUDA against the same layers on the CPU with
// the same parameters (a CPU module, cloned and moved to cuda:0):
// MultiheadAttention forward and backward (causal, head sizes 32 and 64,
// the weights path too), its KV cache, TransformerBlock, a tiny GPT's
// logits, loss and parameter gradients (f32, and bf16 under autocast),
// greedy generation, and the Hugging Face GPT-2 fixture's logits. Also the
// dropout mask of a non-contiguous 4-d tensor. Skipped without a GPU.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace kiln {
namespace {

const Device kGpu("cuda:0");
const Device kCpu("cpu");

double max_abs(const Tensor& t) { return amax(abs(t.to(kCpu).to(kFloat64))).item<double>(); }

double max_diff(const Tensor& a, const Tensor& b) {
  return amax(abs(a.to(kCpu).to(kFloat64) - b.to(kCpu).to(kFloat64))).item<double>();
}

// max |a - b| relative to max |b|, for values (gradients) of any scale.
double rel_diff(const Tensor& a, const Tensor& b) { return max_diff(a, b) / std::max(max_abs(b), 1e-30); }

// The CPU module's copy on cuda:0 (LibTorch's clone(device)).
template <class Impl>
std::shared_ptr<Impl> gpu_copy(const Impl& cpu) {
  auto copy = std::dynamic_pointer_cast<Impl>(cpu.clone(kGpu));
  EXPECT_TRUE(copy);
  return copy;
}

// Gives every bias and layer-norm parameter of m random values, so that
// their gradients and uses are not hidden by zero and one.
void randomise_vectors(nn::Module& m) {
  NoGradGuard no_grad;
  for (const auto& item : m.named_parameters()) {
    Tensor t = item.value();
    if (t.dim() == 1) t.normal_(0.0, 0.5);
  }
}

constexpr double kF32 = 1e-4;

TEST(CudaMultiheadAttention, CausalForwardAndBackwardMatchTheCpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  for (int64_t heads : {4, 2}) {  // head size 32, 64
    manual_seed(21);
    nn::MultiheadAttention cpu(nn::MultiheadAttentionOptions(128, heads).batch_first(true).causal(true));
    randomise_vectors(*cpu);
    auto gpu = gpu_copy(*cpu);
    Tensor x = randn({2, 37, 128}), g = randn({2, 37, 128});
    Tensor xc = x.clone().requires_grad_(), xg = x.to(kGpu).requires_grad_();
    Tensor yc = cpu->forward(xc), yg = gpu->forward(xg);
    EXPECT_LT(rel_diff(yg, yc), kF32) << "heads " << heads << " output";
    std::vector<Tensor> gc = autograd::grad({sum(yc * g)}, {xc, cpu->in_proj_weight, cpu->in_proj_bias,
                                                            cpu->out_proj->weight, cpu->out_proj->bias});
    std::vector<Tensor> gg = autograd::grad({sum(yg * g.to(kGpu))}, {xg, gpu->in_proj_weight, gpu->in_proj_bias,
                                                                     gpu->out_proj->weight, gpu->out_proj->bias});
    const char* names[] = {"dx", "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"};
    for (size_t i = 0; i < gc.size(); ++i)
      EXPECT_LT(rel_diff(gg[i], gc[i]), kF32) << "heads " << heads << " " << names[i];
    // The weights path (matmul, softmax, matmul) with the causal flag.
    NoGradGuard no_grad;
    auto [yw_c, w_c] = cpu->forward(x, x, x, Tensor(), true, Tensor(), true, /*is_causal=*/true);
    Tensor xd = x.to(kGpu);
    auto [yw_g, w_g] = gpu->forward(xd, xd, xd, Tensor(), true, Tensor(), true, /*is_causal=*/true);
    EXPECT_LT(rel_diff(yw_g, yw_c), kF32) << "heads " << heads << " weights path output";
    EXPECT_LT(rel_diff(w_g, w_c), kF32) << "heads " << heads << " attention weights";
  }
}

// forward_cached step by step on the GPU: a chunk of 5, single positions,
// then a chunk of 7 after cached ones, past the cache's first capacity.
TEST(CudaMultiheadAttention, KVCacheStepByStepEqualsTheWholeSequence) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(22);
  nn::MultiheadAttention cpu(nn::MultiheadAttentionOptions(64, 2).batch_first(true).causal(true));
  randomise_vectors(*cpu);
  auto gpu = gpu_copy(*cpu);
  Tensor x = randn({2, 40, 64}).to(kGpu);
  NoGradGuard no_grad;
  Tensor full = gpu->forward(x);
  nn::KVCache cache;
  std::vector<Tensor> pieces{gpu->forward_cached(x.narrow(1, 0, 5), cache)};
  for (int64_t t = 5; t < 33; ++t) pieces.push_back(gpu->forward_cached(x.narrow(1, t, 1), cache));
  pieces.push_back(gpu->forward_cached(x.narrow(1, 33, 7), cache));
  EXPECT_EQ(cache.length(), 40);
  ASSERT_TRUE(cache.keys().device() == kGpu);
  Tensor cached = cat(pieces, 1);
  EXPECT_EQ(cached.sizes(), full.sizes());
  EXPECT_LT(rel_diff(cached, full), kF32) << "cached vs whole sequence on the GPU";
  EXPECT_LT(rel_diff(cached, cpu->forward(x.to(kCpu))), kF32) << "cached on the GPU vs the CPU";
}

TEST(CudaTransformerBlock, ForwardBackwardAndCacheMatchTheCpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(23);
  nn::TransformerBlock cpu(nn::TransformerBlockOptions(64, 2));
  randomise_vectors(*cpu);
  auto gpu = gpu_copy(*cpu);
  Tensor x = randn({2, 33, 64}), g = randn({2, 33, 64});
  Tensor xc = x.clone().requires_grad_(), xg = x.to(kGpu).requires_grad_();
  Tensor yc = cpu->forward(xc), yg = gpu->forward(xg);
  EXPECT_LT(rel_diff(yg, yc), kF32) << "output";
  std::vector<Tensor> gc = autograd::grad(
      {sum(yc * g)}, {xc, cpu->ln_1->weight, cpu->attn->in_proj_weight, cpu->ln_2->bias, cpu->fc->weight, cpu->proj->bias});
  std::vector<Tensor> gg = autograd::grad({sum(yg * g.to(kGpu))}, {xg, gpu->ln_1->weight, gpu->attn->in_proj_weight,
                                                                  gpu->ln_2->bias, gpu->fc->weight, gpu->proj->bias});
  const char* names[] = {"dx", "ln_1.weight", "attn.in_proj_weight", "ln_2.bias", "fc.weight", "proj.bias"};
  for (size_t i = 0; i < gc.size(); ++i) EXPECT_LT(rel_diff(gg[i], gc[i]), kF32) << names[i];
  NoGradGuard no_grad;
  nn::KVCache cache;
  Tensor xd = x.to(kGpu);
  Tensor a = gpu->forward_cached(xd.narrow(1, 0, 20), cache), b = gpu->forward_cached(xd.narrow(1, 20, 13), cache);
  EXPECT_LT(rel_diff(cat({a, b}, 1), yc.detach()), kF32) << "cached on the GPU vs the CPU";
}

nn::GPTConfig tiny_gpt() { return nn::GPTConfig().vocab_size(97).block_size(32).n_layer(2).n_head(2).n_embd(64); }

// Logits, the loss and the gradients of the tied embedding, the position
// embedding, one matrix per block and the final norm.
TEST(CudaGPT, ForwardAndBackwardMatchTheCpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(24);
  nn::GPT cpu(tiny_gpt());
  auto gpu = gpu_copy(*cpu);
  Tensor ids = randint(0, 97, {3, 32}), targets = randint(0, 97, {3, 32});
  Tensor lc = cpu(ids), lg = gpu->forward(ids.to(kGpu));
  EXPECT_LT(rel_diff(lg, lc), kF32) << "logits";
  Tensor loss_c = cross_entropy(lc.view({-1, 97}), targets.view({-1}));
  Tensor loss_g = cross_entropy(lg.view({-1, 97}), targets.to(kGpu).view({-1}));
  EXPECT_NEAR(loss_g.item<double>(), loss_c.item<double>(), 1e-5);
  loss_c.backward();
  loss_g.backward();
  auto pc = cpu->named_parameters(), pg = gpu->named_parameters();
  for (const char* name : {"wte.weight", "wpe.weight", "h.0.attn.in_proj_weight", "h.0.ln_1.bias",
                                 "h.1.fc.weight", "h.1.proj.weight", "ln_f.weight"}) {
    const Tensor gc = pc[name].grad(), gg = pg[name].grad();
    ASSERT_TRUE(gc.defined() && gg.defined()) << name;
    ASSERT_TRUE(gg.device() == kGpu) << name;
    EXPECT_GT(max_abs(gc), 0.0) << name;
    EXPECT_LT(rel_diff(gg, gc), kF32) << name;
  }
}

// Under bf16 autocast on the GPU the logits and loss stay near the CPU's f32.
TEST(CudaGPT, Bf16AutocastForwardStaysNearTheF32Cpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(25);
  nn::GPT cpu(tiny_gpt());
  auto gpu = gpu_copy(*cpu);
  Tensor ids = randint(0, 97, {3, 32}), targets = randint(0, 97, {3, 32});
  NoGradGuard no_grad;
  Tensor lc = cpu(ids);
  Tensor lg;
  {
    amp::AutocastGuard guard(kBFloat16);
    lg = gpu->forward(ids.to(kGpu));
  }
  EXPECT_LT(rel_diff(lg, lc), 5e-2) << "logits";
  const double loss_c = cross_entropy(lc.view({-1, 97}), targets.view({-1})).item<double>();
  const double loss_g = cross_entropy(lg.to(kFloat32).view({-1, 97}), targets.to(kGpu).view({-1})).item<double>();
  EXPECT_NEAR(loss_g, loss_c, 2e-2 * loss_c);
}

// 30 new tokens after a 5-token prompt: past block_size, so the cache is
// rebuilt once on the way.
TEST(CudaGPT, GreedyGenerateGivesTheCpusTokens) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  manual_seed(26);
  nn::GPT cpu(tiny_gpt());
  auto gpu = gpu_copy(*cpu);
  Tensor prompt = randint(0, 97, {2, 5});
  Tensor on_cpu = cpu->generate(prompt, 30, {/*temperature=*/0.0});
  Tensor on_gpu = gpu->generate(prompt.to(kGpu), 30, {0.0});
  ASSERT_TRUE(on_gpu.device() == kGpu);
  ASSERT_EQ(on_gpu.sizes(), (Shape{2, 35}));
  EXPECT_TRUE(equal(on_gpu.to(kCpu), on_cpu)) << "cpu " << on_cpu << "\ngpu " << on_gpu.to(kCpu);
}

std::string fixture(const std::string& file) { return std::string(KILN_SOURCE_DIR) + "/tests/data/gpt2_tiny/" + file; }

// tests/data/gpt2_tiny (see tests/nn/gpt2_hf_test.cpp) on the GPU: the
// logits transformers computed, whole and through the KV cache.
TEST(CudaGPT2HuggingFace, LogitsMatchTransformersOnTheGpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  const auto hf = io::load_safetensors(fixture("model.safetensors")).tensors;
  const auto expected = io::load_safetensors(fixture("logits.safetensors")).tensors;
  nn::GPT model(nn::GPTConfig::from_gpt2_state_dict(hf, /*n_head=*/4));
  model->load_gpt2_state_dict(hf);
  model->eval();
  model->to(kGpu);
  const Tensor ids = expected.at("input_ids").to(kGpu);
  const Tensor want = expected.at("logits");
  NoGradGuard no_grad;
  const Tensor got = model(ids);
  ASSERT_TRUE(got.device() == kGpu);
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_LT(max_diff(got, want), 1e-4) << "whole sequence";
  nn::GPTCache cache = model->make_cache();
  std::vector<Tensor> pieces{model->forward_cached(ids.narrow(1, 0, 5), cache)};
  for (int64_t t = 5; t < ids.size(1); ++t) pieces.push_back(model->forward_cached(ids.narrow(1, t, 1), cache));
  EXPECT_LT(max_diff(cat(pieces, 1), want), 1e-4) << "through the KV cache";
}

// The same seed gives the same dropout mask on both devices, also for a
// transposed 4-d input, and the gradient carries it.
TEST(CudaDropout, NonContiguousMaskAndGradientAreTheCpus) {
  if (!cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << cuda::unavailable_reason();
  Tensor base = rand({4, 8, 16, 32}) + 0.5;
  for (bool transposed : {false, true}) {
    auto run = [&](const Device& dev) {
      Tensor leaf = base.to(dev).detach().requires_grad_();
      Tensor x = transposed ? leaf.transpose(1, 3) : leaf;
      manual_seed(41);
      Tensor y = dropout(x, 0.3, true);
      sum(y).backward();
      return std::vector<Tensor>{y, leaf.grad()};
    };
    std::vector<Tensor> cpu = run(kCpu), gpu = run(kGpu);
    EXPECT_TRUE(equal(gpu[0].to(kCpu), cpu[0])) << "output, transposed " << transposed;
    EXPECT_TRUE(equal(gpu[1].to(kCpu), cpu[1])) << "gradient, transposed " << transposed;
  }
}

}  // namespace
}  // namespace kiln
