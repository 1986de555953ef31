#include "kiln/nn/gpt.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "core/tensor_checks.h"
#include "kiln/core/generator.h"
#include "kiln/core/grad_mode.h"
#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "kiln/ops/reduce.h"
#include "kiln/ops/sort.h"

namespace kiln::nn {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Puts the module's mode and the default generator back when generation
// ends, also by an exception.
class GenerationScope {
 public:
  GenerationScope(Module& m, const std::optional<uint64_t>& seed)
      : module_(m), was_training_(m.is_training()), saved_(get_rng_state()), seeded_(seed.has_value()) {
    module_.eval();
    if (seed) manual_seed(*seed);
  }
  ~GenerationScope() {
    module_.train(was_training_);
    if (seeded_) set_rng_state(saved_);
  }
  GenerationScope(const GenerationScope&) = delete;
  GenerationScope& operator=(const GenerationScope&) = delete;

 private:
  Module& module_;
  bool was_training_;
  GeneratorState saved_;
  bool seeded_;
  NoGradGuard no_grad_;
};

// One token per row of logits [B, V]: [B, 1] int64.
Tensor sample(const Tensor& logits, const GenerateOptions& o) {
  if (o.temperature() == 0) return logits.argmax(-1, /*keepdim=*/true);
  Tensor l = logits.to(kFloat32) / o.temperature();
  const int64_t V = l.size(-1);
  if (o.top_k() > 0 && o.top_k() < V) {
    auto [values, indices] = topk(l, o.top_k(), -1);
    l = l.masked_fill(l < values.narrow(-1, o.top_k() - 1, 1), -kInf);
  }
  if (o.top_p() < 1) {
    // Keep the most likely tokens until their mass reaches top_p: a token
    // stays when the mass of the tokens ranked above it is below top_p.
    auto [sorted, order] = sort(l, -1, /*descending=*/true);
    Tensor probs = softmax(sorted, -1);
    Tensor keep = (cumsum(probs, -1) - probs) < o.top_p();
    Tensor kept = keep.to(kInt64).sum({-1}, /*keepdim=*/true);
    l = l.masked_fill(l < sorted.gather(-1, kept - 1), -kInf);
  }
  return multinomial(softmax(l, -1), 1);
}

// A Hugging Face name for each of this model's tensors, and whether it is
// a Conv1D weight (stored [in, out]).
struct HFName {
  std::string name;
  bool transposed = false;
};

std::map<std::string, HFName> gpt2_names(const GPTConfig& c, const std::string& prefix) {
  std::map<std::string, HFName> m;
  m["wte.weight"] = {prefix + "wte.weight"};
  m["wpe.weight"] = {prefix + "wpe.weight"};
  m["ln_f.weight"] = {prefix + "ln_f.weight"};
  if (c.bias()) m["ln_f.bias"] = {prefix + "ln_f.bias"};
  for (int64_t i = 0; i < c.n_layer(); ++i) {
    const std::string k = "h." + std::to_string(i) + ".", hf = prefix + k;
    m[k + "ln_1.weight"] = {hf + "ln_1.weight"};
    m[k + "ln_2.weight"] = {hf + "ln_2.weight"};
    m[k + "attn.in_proj_weight"] = {hf + "attn.c_attn.weight", true};
    m[k + "attn.out_proj.weight"] = {hf + "attn.c_proj.weight", true};
    m[k + "fc.weight"] = {hf + "mlp.c_fc.weight", true};
    m[k + "proj.weight"] = {hf + "mlp.c_proj.weight", true};
    if (c.bias()) {
      m[k + "ln_1.bias"] = {hf + "ln_1.bias"};
      m[k + "ln_2.bias"] = {hf + "ln_2.bias"};
      m[k + "attn.in_proj_bias"] = {hf + "attn.c_attn.bias"};
      m[k + "attn.out_proj.bias"] = {hf + "attn.c_proj.bias"};
      m[k + "fc.bias"] = {hf + "mlp.c_fc.bias"};
      m[k + "proj.bias"] = {hf + "mlp.c_proj.bias"};
    }
  }
  return m;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string hf_prefix(const StateDict& hf) { return hf.count("transformer.wte.weight") ? "transformer." : ""; }

const Tensor& hf_tensor(const StateDict& hf, const std::string& name) {
  auto it = hf.find(name);
  KILN_CHECK(it != hf.end(), ValueError, "GPTConfig::from_gpt2_state_dict: no tensor ", name,
             " (not a GPT2LMHeadModel's tensors?)");
  return it->second;
}

}  // namespace

// --- GPTConfig -------------------------------------------------------------------

GPTConfig GPTConfig::from_gpt2_state_dict(const StateDict& hf, int64_t n_head) {
  const std::string prefix = hf_prefix(hf);
  const Tensor& wte = hf_tensor(hf, prefix + "wte.weight");
  const Tensor& wpe = hf_tensor(hf, prefix + "wpe.weight");
  KILN_CHECK(wte.dim() == 2 && wpe.dim() == 2 && wte.size(1) == wpe.size(1), ValueError,
             "GPTConfig::from_gpt2_state_dict: wte ", shape_str(wte.sizes()), " and wpe ", shape_str(wpe.sizes()),
             " must be [vocab, n_embd] and [positions, n_embd]");
  int64_t layers = 0;
  while (hf.count(prefix + "h." + std::to_string(layers) + ".ln_1.weight")) ++layers;
  KILN_CHECK(n_head > 0 && wte.size(1) % n_head == 0, ValueError, "GPTConfig::from_gpt2_state_dict: n_embd ",
             wte.size(1), " is not divisible by n_head ", n_head);
  return GPTConfig()
      .vocab_size(wte.size(0))
      .block_size(wpe.size(0))
      .n_embd(wte.size(1))
      .n_layer(layers)
      .n_head(n_head)
      .bias(hf.count(prefix + "ln_f.bias") > 0);
}

// --- GPT ---------------------------------------------------------------------------

GPTImpl::GPTImpl(const GPTConfig& config) : Cloneable("GPT"), config_(config) { reset(); }

void GPTImpl::reset() {
  const GPTConfig& c = config_;
  KILN_CHECK(c.vocab_size() > 0 && c.block_size() > 0 && c.n_layer() >= 0 && c.n_head() > 0 && c.n_embd() > 0,
             ValueError, "GPT: vocab_size, block_size, n_head and n_embd must be positive and n_layer >= 0, got ",
             c.vocab_size(), ", ", c.block_size(), ", ", c.n_head(), ", ", c.n_embd(), " and ", c.n_layer());
  KILN_CHECK(c.n_embd() % c.n_head() == 0, ValueError, "GPT: n_embd (", c.n_embd(), ") must be divisible by n_head (",
             c.n_head(), ")");
  KILN_CHECK(c.dropout() >= 0 && c.dropout() < 1, ValueError, "GPT: dropout must be in [0, 1), got ", c.dropout());
  wte = register_module("wte", Embedding(c.vocab_size(), c.n_embd()));
  wpe = register_module("wpe", Embedding(c.block_size(), c.n_embd()));
  drop = register_module("drop", Dropout(c.dropout()));
  h = register_module("h", ModuleList());
  for (int64_t i = 0; i < c.n_layer(); ++i)
    h->push_back(TransformerBlock(TransformerBlockOptions(c.n_embd(), c.n_head())
                                      .dropout(c.dropout())
                                      .bias(c.bias())
                                      .layer_norm_eps(c.layer_norm_eps())));
  ln_f = register_module("ln_f", LayerNorm(LayerNormOptions({c.n_embd()}).eps(c.layer_norm_eps()).bias(c.bias())));
  reset_parameters();
}

void GPTImpl::reset_parameters() {
  const double std = 0.02, residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(std::max<int64_t>(config_.n_layer(), 1)));
  init::normal_(wte->weight, 0.0, std);
  init::normal_(wpe->weight, 0.0, std);
  for (size_t i = 0; i < h->size(); ++i) {
    TransformerBlockImpl& b = block(i);
    for (LayerNormImpl* ln : {b.ln_1.get(), b.ln_2.get()}) ln->reset_parameters();
    init::normal_(b.attn->in_proj_weight, 0.0, std);
    init::normal_(b.attn->out_proj->weight, 0.0, residual_std);
    init::normal_(b.fc->weight, 0.0, std);
    init::normal_(b.proj->weight, 0.0, residual_std);
    for (const Tensor& bias : {b.attn->in_proj_bias, b.attn->out_proj->bias, b.fc->bias, b.proj->bias})
      if (bias.defined()) init::zeros_(bias);
  }
  ln_f->reset_parameters();
}

Tensor GPTImpl::embed(const Tensor& ids, int64_t first_position) {
  KILN_CHECK(ids.defined() && (ids.dtype() == kInt64 || ids.dtype() == kInt32) && ids.dim() == 2, ValueError,
             "GPT: token ids must be int64 (or int32) [B, T] or [T], got ", detail::describe(ids));
  const int64_t T = ids.size(1);
  KILN_CHECK(T > 0 && first_position + T <= config_.block_size(), ShapeError, "GPT: ", first_position + T,
             " positions do not fit block_size ", config_.block_size(), " (ids ", shape_str(ids.sizes()),
             first_position > 0 ? " after " + std::to_string(first_position) + " cached positions" : std::string(),
             ")");
  Tensor positions = arange(first_position, first_position + T, 1, TensorOptions(kInt64).device(ids.device()));
  return drop(wte(ids) + wpe(positions));
}

Tensor GPTImpl::head(const Tensor& x, bool batched) {
  Tensor logits = linear(ln_f(x), wte->weight);
  return batched ? logits : logits.squeeze(0);
}

Tensor GPTImpl::forward(const Tensor& ids) {
  const bool batched = !ids.defined() || ids.dim() != 1;
  Tensor x = embed(batched ? ids : ids.unsqueeze(0), 0);
  for (const auto& b : *h) x = static_cast<TransformerBlockImpl&>(*b).forward(x);
  return head(x, batched);
}

GPTCache GPTImpl::make_cache() const {
  GPTCache cache;
  cache.layers.resize(static_cast<size_t>(config_.n_layer()));
  return cache;
}

Tensor GPTImpl::forward_cached(const Tensor& ids, GPTCache& cache) {
  KILN_CHECK(cache.layers.size() == h->size(), ValueError, "GPT::forward_cached: the cache has ", cache.layers.size(),
             " layers, the model ", h->size(), " (make it with make_cache())");
  NoGradGuard no_grad;
  const bool batched = !ids.defined() || ids.dim() != 1;
  Tensor x = embed(batched ? ids : ids.unsqueeze(0), cache.length());
  for (size_t i = 0; i < h->size(); ++i) x = block(i).forward_cached(x, cache.layers[i]);
  return head(x, batched);
}

Tensor GPTImpl::generate(const Tensor& prompt_ids, int64_t max_new_tokens, const GenerateOptions& o) {
  KILN_CHECK(prompt_ids.defined() && (prompt_ids.dim() == 1 || prompt_ids.dim() == 2) && prompt_ids.size(-1) > 0,
             ShapeError, "GPT::generate: prompt_ids must be [T] or [B, T] with T >= 1, got ",
             prompt_ids.defined() ? shape_str(prompt_ids.sizes()) : "undefined");
  KILN_CHECK(max_new_tokens >= 0, ValueError, "GPT::generate: max_new_tokens must be >= 0, got ", max_new_tokens);
  KILN_CHECK(o.temperature() >= 0 && std::isfinite(o.temperature()), ValueError,
             "GPT::generate: temperature must be finite and >= 0, got ", o.temperature());
  KILN_CHECK(o.top_k() >= 0, ValueError, "GPT::generate: top_k must be >= 0, got ", o.top_k());
  KILN_CHECK(o.top_p() > 0 && o.top_p() <= 1, ValueError, "GPT::generate: top_p must be in (0, 1], got ", o.top_p());
  const bool batched = prompt_ids.dim() == 2;
  Tensor ids = (batched ? prompt_ids : prompt_ids.unsqueeze(0)).to(kInt64);
  GenerationScope scope(*this, o.seed());
  const int64_t block = config_.block_size();
  std::vector<Tensor> pieces{ids};
  GPTCache cache = make_cache();
  // A prompt longer than the context: its last block_size tokens are the context.
  Tensor context = ids.size(1) > block ? ids.narrow(1, ids.size(1) - block, block) : ids;
  Tensor logits = forward_cached(context, cache);
  for (int64_t n = 0; n < max_new_tokens; ++n) {
    Tensor next = sample(logits.select(1, logits.size(1) - 1), o);
    pieces.push_back(next);
    if (n + 1 == max_new_tokens) break;
    if (cache.length() < block) {
      logits = forward_cached(next, cache);
    } else {
      // The context is full: start again from its second half, so that the
      // next block_size / 2 tokens are cheap again.
      const int64_t keep = std::max<int64_t>(block / 2, 1);
      Tensor all = cat(pieces, 1);
      pieces.assign({all});
      cache.reset();
      logits = forward_cached(all.narrow(1, all.size(1) - keep, keep), cache);
    }
  }
  Tensor out = cat(pieces, 1);
  return batched ? out : out.squeeze(0);
}

std::pair<std::vector<Tensor>, std::vector<Tensor>> GPTImpl::parameters_for_weight_decay() const {
  std::pair<std::vector<Tensor>, std::vector<Tensor>> groups;
  for (const auto& item : named_parameters())
    (item.value().dim() >= 2 ? groups.first : groups.second).push_back(item.value());
  return groups;
}

void GPTImpl::load_gpt2_state_dict(const StateDict& hf) {
  const std::string prefix = hf_prefix(hf);
  const auto names = gpt2_names(config_, prefix);
  const StateDict own = state_dict();
  std::vector<std::string> problems;
  std::set<std::string> used;
  StateDict converted;
  for (const auto& [name, hf_name] : names) {
    auto it = hf.find(hf_name.name);
    if (it == hf.end()) {
      problems.push_back("missing " + hf_name.name);
      continue;
    }
    used.insert(hf_name.name);
    Tensor t = hf_name.transposed && it->second.dim() == 2 ? it->second.t() : it->second;
    const Tensor& mine = own.at(name);
    if (t.sizes() != mine.sizes()) {
      problems.push_back(hf_name.name + " is " + shape_str(it->second.sizes()) + ", expected " +
                         shape_str(hf_name.transposed ? Shape{mine.size(1), mine.size(0)} : mine.sizes()) +
                         (hf_name.transposed ? " (Conv1D: [in, out])" : ""));
      continue;
    }
    converted[name] = t.contiguous();
  }
  for (const auto& [hf_name, t] : hf) {
    if (used.count(hf_name)) continue;
    if (ends_with(hf_name, ".attn.bias") || ends_with(hf_name, ".attn.masked_bias")) continue;  // mask buffers
    if (hf_name == "lm_head.weight") {
      if (t.sizes() != wte->weight.sizes())
        problems.push_back("lm_head.weight is " + shape_str(t.sizes()) + ", expected the tied wte's " +
                           shape_str(wte->weight.sizes()));
      continue;
    }
    problems.push_back("unexpected " + hf_name);
  }
  if (!problems.empty()) {
    std::ostringstream msg;
    msg << "GPT::load_gpt2_state_dict: the tensors do not fit GPT(vocab_size=" << config_.vocab_size()
        << ", block_size=" << config_.block_size() << ", n_layer=" << config_.n_layer()
        << ", n_embd=" << config_.n_embd() << "):";
    for (const auto& p : problems) msg << "\n  " << p;
    throw ValueError(msg.str());
  }
  load_state_dict(converted);
}

StateDict GPTImpl::gpt2_state_dict() const {
  const StateDict own = state_dict();
  StateDict out;
  for (const auto& [name, hf_name] : gpt2_names(config_, "transformer.")) {
    const Tensor& t = own.at(name);
    out[hf_name.name] = hf_name.transposed ? t.t().contiguous() : t;
  }
  return out;
}

void GPTImpl::pretty_print(std::ostream& os) const {
  os << "GPT(vocab_size=" << config_.vocab_size() << ", block_size=" << config_.block_size()
     << ", n_layer=" << config_.n_layer() << ", n_head=" << config_.n_head() << ", n_embd=" << config_.n_embd()
     << ", dropout=" << config_.dropout() << ")";
}

}  // namespace kiln::nn
