// ZeRO-1 over DistributedDataParallel's flat buffers (see include/kiln/dist/zero.h).
//
// Layout: every bucket of the flat parameter buffer P and gradient buffer G
// splits into world_size equal shards; rank r owns shard r of each bucket.
// Backward reduce-scatters each bucket of G (average) into the owned shard.
// The wrapped optimizer sees one 1-D parameter per owned shard (a view of P
// whose .grad() is the same range of G), so its usual fused update writes
// the new values straight into P. The all-gather of each bucket then fills
// the other ranks' shards of P in place.
#include "kiln/dist/zero.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "dist/ddp_impl.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "core/number_format.h"

namespace kiln::dist {

struct ZeroRedundancyOptimizer::Shard {
  size_t bucket = 0;
  int group = 0;
  int64_t begin = 0;  // inside the bucket
  Tensor values;      // the owned range of the bucket in P (what the wrapped optimizer updates)
  Tensor grads;       // the same range of G (values.grad())
};

namespace {

using ParamMap = std::unordered_map<const void*, size_t>;  // TensorImpl -> index into DDP's params

ParamMap ddp_params(const DistributedDataParallel::Impl& d) {
  ParamMap m;
  for (size_t i = 0; i < d.params.size(); ++i) m[d.params[i].tensor.unsafe_impl()] = i;
  return m;
}

std::vector<optim::OptimizerParamGroup> all_parameters(const DistributedDataParallel& ddp) {
  std::vector<Tensor> ps;
  for (const auto& p : ddp.module().parameters())
    if (p.requires_grad()) ps.push_back(p);
  return {optim::OptimizerParamGroup(std::move(ps))};
}

}  // namespace

// Re-lays DDP's buckets out by group and shard, makes the shard views and
// builds the wrapped optimizer over them, before the Optimizer base exists.
struct ZeroRedundancyOptimizer::Built {
  std::unique_ptr<optim::Optimizer> inner;
  std::vector<Shard> shards;
  std::vector<optim::OptimizerParamGroup> groups;

  Built(DistributedDataParallel& ddp, std::vector<optim::OptimizerParamGroup> groups_in, const Factory& factory)
      : groups(std::move(groups_in)) {
    DistributedDataParallel::Impl& d = impl_of(ddp);
    KILN_CHECK(!d.in_backward, ValueError, "ZeroRedundancyOptimizer: cannot be built during a backward pass");
    KILN_CHECK(!d.reduce_scatter, ValueError,
               "ZeroRedundancyOptimizer: this DistributedDataParallel already has a ZeRO optimizer");
    KILN_CHECK(static_cast<bool>(factory), ValueError, "ZeroRedundancyOptimizer: the optimizer factory is empty");
    const ParamMap index = ddp_params(d);
    std::vector<int> group_of(d.params.size(), -1);
    for (size_t g = 0; g < groups.size(); ++g) {
      for (const Tensor& p : groups[g].params()) {
        auto it = index.find(p.defined() ? p.unsafe_impl() : nullptr);
        KILN_CHECK(it != index.end(), ValueError, "ZeroRedundancyOptimizer: a parameter of group ", g,
                   " is not one the DistributedDataParallel trains (frozen, or of another model)");
        KILN_CHECK(group_of[it->second] == -1, ValueError, "ZeroRedundancyOptimizer: parameter '",
                   d.params[it->second].name, "' is in groups ", group_of[it->second], " and ", g);
        group_of[it->second] = static_cast<int>(g);
      }
    }
    for (size_t i = 0; i < d.params.size(); ++i)
      KILN_CHECK(group_of[i] >= 0, ValueError, "ZeroRedundancyOptimizer: parameter '", d.params[i].name,
                 "' is in no group; every trained parameter must be in one");

    const int world = d.comm->world_size();
    d.layout(group_of, int64_t{world} * kBucketAlign);
    d.reduce_scatter = true;

    std::vector<std::vector<Tensor>> per_group(groups.size());
    for (size_t b = 0; b < d.buckets.size(); ++b) {
      const auto& bucket = d.buckets[b];
      Shard s;
      s.bucket = b;
      s.group = bucket.group;
      s.begin = d.shard_begin(bucket);
      s.values = bucket.values.narrow(0, s.begin, d.shard_numel(bucket));
      s.grads = bucket.grads.narrow(0, s.begin, d.shard_numel(bucket));
      s.values.set_grad(s.grads);
      per_group[static_cast<size_t>(s.group)].push_back(s.values);
      shards.push_back(std::move(s));
    }
    std::vector<optim::OptimizerParamGroup> shard_groups;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (groups[g].has_options()) shard_groups.emplace_back(per_group[g], groups[g].options().clone());
      else shard_groups.emplace_back(per_group[g]);
    }
    inner = factory(std::move(shard_groups));
    KILN_CHECK(inner != nullptr, ValueError, "ZeroRedundancyOptimizer: the factory returned no optimizer");
    KILN_CHECK(inner->param_groups().size() == groups.size(), ValueError, "ZeroRedundancyOptimizer: the factory's ",
               "optimizer has ", inner->param_groups().size(), " groups, expected ", groups.size());
  }
};

ZeroRedundancyOptimizer::ZeroRedundancyOptimizer(DistributedDataParallel& ddp, const Factory& make_optimizer)
    : ZeroRedundancyOptimizer(ddp, all_parameters(ddp), make_optimizer) {}

ZeroRedundancyOptimizer::ZeroRedundancyOptimizer(DistributedDataParallel& ddp,
                                                 std::vector<optim::OptimizerParamGroup> groups,
                                                 const Factory& make_optimizer)
    : ZeroRedundancyOptimizer(ddp, Built(ddp, std::move(groups), make_optimizer)) {}

ZeroRedundancyOptimizer::ZeroRedundancyOptimizer(DistributedDataParallel& ddp, Built&& built)
    : optim::Optimizer(built.inner->name(), built.groups, built.inner->defaults().clone()),
      ddp_(ddp),
      inner_(std::move(built.inner)),
      shards_(std::move(built.shards)),
      last_stepped_sync_(ddp.sync_count()) {
  copy_options_to_shards();
}

ZeroRedundancyOptimizer::~ZeroRedundancyOptimizer() = default;

// Schedules change the hyper-parameters of the model-facing groups; the
// shard optimizer takes them before every step.
void ZeroRedundancyOptimizer::copy_options_to_shards() {
  for (size_t g = 0; g < param_groups().size(); ++g)
    inner_->param_groups()[g].set_options(param_groups()[g].options().clone());
}

void ZeroRedundancyOptimizer::step() {
  KILN_CHECK(ddp_.sync_count() > last_stepped_sync_, ValueError, name(),
             " (ZeRO-1).step: no gradient-synchronising backward since the last step (a backward under no_sync() "
             "only accumulates)");
  NoGradGuard no_grad;
  copy_options_to_shards();
  inner_->step();
  DistributedDataParallel::Impl& d = impl_of(ddp_);
  std::vector<Work> works;
  for (const Shard& s : shards_) works.push_back(d.comm->all_gather_async(d.buckets[s.bucket].values, s.values));
  for (const Work& w : works) w.wait();
  last_stepped_sync_ = ddp_.sync_count();
}

double ZeroRedundancyOptimizer::clip_grad_norm(double max_norm) {
  NoGradGuard no_grad;
  DistributedDataParallel::Impl& d = impl_of(ddp_);
  Tensor total = zeros({1}, TensorOptions().dtype(kFloat64).device(d.device));
  for (const Shard& s : shards_) {
    if (s.grads.numel() == 0) continue;
    Tensor g = s.grads.to(kFloat64);
    total.add_((g * g).sum().view({1}));
  }
  d.comm->all_reduce(total, ReduceOp::Sum);
  const double norm = std::sqrt(total.item<double>());
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0)
    for (Shard& s : shards_) s.grads.mul_(coef);
  return norm;
}

size_t ZeroRedundancyOptimizer::state_bytes() const {
  size_t bytes = 0;
  for (const auto& [name, t] : inner_->state_dict().tensors) bytes += static_cast<size_t>(t.numel()) * t.element_size();
  return bytes;
}

// --- state in the per-parameter form -----------------------------------------------

optim::OptimizerState ZeroRedundancyOptimizer::state_dict() const {
  // The model-facing groups hold no state: the base gives the metadata of
  // the groups (hyper-parameters, parameter numbering) and nothing else.
  optim::OptimizerState out = optim::Optimizer::state_dict();
  const optim::OptimizerState inner = inner_->state_dict();
  DistributedDataParallel::Impl& d = impl_of(ddp_);
  const ParamMap index = ddp_params(d);

  // Which saved index each DDP parameter has (groups in order, as the base numbers them).
  std::vector<int64_t> saved_index(d.params.size(), -1);
  int64_t k = 0;
  for (const auto& g : param_groups())
    for (const Tensor& p : g.params()) saved_index[index.at(p.unsafe_impl())] = k++;

  // Shards are numbered by the wrapped optimizer group by group too.
  std::vector<size_t> shard_of_inner;
  for (size_t g = 0; g < param_groups().size(); ++g)
    for (size_t s = 0; s < shards_.size(); ++s)
      if (shards_[s].group == static_cast<int>(g)) shard_of_inner.push_back(s);

  for (size_t j = 0; j < shard_of_inner.size(); ++j) {
    const Shard& s = shards_[shard_of_inner[j]];
    const auto& bucket = d.buckets[s.bucket];
    const std::string sp = "state." + std::to_string(j) + ".";
    auto step_it = inner.metadata.find(sp + "step");
    if (step_it == inner.metadata.end()) continue;  // never updated (the same on every rank)
    for (auto it = inner.tensors.lower_bound(sp); it != inner.tensors.end() && it->first.compare(0, sp.size(), sp) == 0;
         ++it) {
      const std::string buffer = it->first.substr(sp.size());
      Tensor full = empty({bucket.numel}, TensorOptions().dtype(it->second.dtype()).device(d.device));
      d.comm->all_gather(full, it->second.contiguous());
      for (size_t pi : bucket.params) {
        const auto& p = d.params[pi];
        const std::string key = "state." + std::to_string(saved_index[pi]) + "." + buffer;
        out.tensors[key] = full.narrow(0, p.offset - bucket.offset, p.tensor.numel()).view(p.tensor.sizes()).clone();
      }
    }
    for (size_t pi : bucket.params)
      out.metadata["state." + std::to_string(saved_index[pi]) + ".step"] = step_it->second;
  }
  return out;
}

void ZeroRedundancyOptimizer::load_state_dict(const optim::OptimizerState& state) {
  const std::string who = name() + " (ZeRO-1)";
  auto require = [&](const std::string& key) -> const std::string& {
    auto it = state.metadata.find(key);
    KILN_CHECK(it != state.metadata.end(), ValueError, who, ".load_state_dict: the state has no \"", key, "\" entry");
    return it->second;
  };
  KILN_CHECK(require("optimizer") == name(), ValueError, who, ".load_state_dict: the state was saved by ",
             require("optimizer"));
  const int64_t num_groups = kiln::detail::parse_int(require("num_groups"), "num_groups");
  KILN_CHECK(num_groups == static_cast<int64_t>(param_groups().size()), ValueError, who, ".load_state_dict: the state has ",
             num_groups, " parameter groups, this optimizer has ", param_groups().size());

  DistributedDataParallel::Impl& d = impl_of(ddp_);
  const ParamMap index = ddp_params(d);
  std::vector<int64_t> saved_index(d.params.size(), -1);
  std::vector<std::unique_ptr<optim::OptimizerOptions>> new_options;
  int64_t k = 0;
  for (size_t g = 0; g < param_groups().size(); ++g) {
    const std::string prefix = "group." + std::to_string(g) + ".";
    const std::string& ids = require(prefix + "params");
    const int64_t count = ids.empty() ? 0 : 1 + static_cast<int64_t>(std::count(ids.begin(), ids.end(), ','));
    KILN_CHECK(count == static_cast<int64_t>(param_groups()[g].params().size()), ValueError, who,
               ".load_state_dict: group ", g, " has ", count, " parameters in the state and ",
               param_groups()[g].params().size(), " in this optimizer");
    std::map<std::string, double> hyper;
    for (const auto& [key, value] : state.metadata)
      if (key.compare(0, prefix.size(), prefix) == 0 && key != prefix + "params")
        hyper[key.substr(prefix.size())] = kiln::detail::parse_double(value, key);
    new_options.push_back(param_groups()[g].options().clone());
    new_options.back()->from_map(hyper);
    for (const Tensor& p : param_groups()[g].params()) saved_index[index.at(p.unsafe_impl())] = k++;
  }

  // The wrapped optimizer's state: each owned shard cut from the per-parameter tensors.
  optim::OptimizerState inner;
  inner.metadata["optimizer"] = inner_->name();
  inner.metadata["num_groups"] = std::to_string(param_groups().size());
  int64_t j = 0;
  for (size_t g = 0; g < param_groups().size(); ++g) {
    const std::string prefix = "group." + std::to_string(g) + ".";
    for (const auto& [key, value] : new_options[g]->to_map()) inner.metadata[prefix + key] = kiln::detail::format_double(value);
    std::string ids;
    for (const Shard& s : shards_) {
      if (s.group != static_cast<int>(g)) continue;
      if (!ids.empty()) ids += ",";
      ids += std::to_string(j);
      const auto& bucket = d.buckets[s.bucket];
      const int64_t n = s.values.numel();
      const std::string sp = "state." + std::to_string(j) + ".";
      int64_t step = -1;
      std::map<std::string, Tensor> buffers;
      for (size_t pi : bucket.params) {
        const auto& p = d.params[pi];
        const std::string pp = "state." + std::to_string(saved_index[pi]) + ".";
        auto step_it = state.metadata.find(pp + "step");
        if (step_it == state.metadata.end()) continue;
        step = std::max(step, kiln::detail::parse_int(step_it->second, pp + "step"));
        // The part of this parameter inside the owned shard, in bucket coordinates.
        const int64_t p_begin = p.offset - bucket.offset, p_end = p_begin + p.tensor.numel();
        const int64_t lo = std::max(p_begin, s.begin), hi = std::min(p_end, s.begin + n);
        for (auto it = state.tensors.lower_bound(pp); it != state.tensors.end() && it->first.compare(0, pp.size(), pp) == 0;
             ++it) {
          const Tensor& saved = it->second;
          KILN_CHECK(saved.numel() == p.tensor.numel(), ShapeError, who, ".load_state_dict: ", it->first, " has shape ",
                     shape_str(saved.sizes()), " but parameter '", p.name, "' has shape ", shape_str(p.tensor.sizes()));
          Tensor& buf = buffers[it->first.substr(pp.size())];
          if (!buf.defined()) buf = zeros({n}, TensorOptions().dtype(p.tensor.dtype()).device(d.device));
          if (lo < hi)
            buf.narrow(0, lo - s.begin, hi - lo).copy_(saved.reshape({-1}).narrow(0, lo - p_begin, hi - lo).to(d.device));
        }
      }
      if (step >= 0) {
        inner.metadata[sp + "step"] = std::to_string(step);
        for (auto& [bname, buf] : buffers) inner.tensors[sp + bname] = buf;
      }
      ++j;
    }
    inner.metadata[prefix + "params"] = ids;
  }
  inner_->load_state_dict(inner);
  for (size_t g = 0; g < param_groups().size(); ++g) param_groups()[g].set_options(std::move(new_options[g]));
}

}  // namespace kiln::dist
