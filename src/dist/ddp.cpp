// DistributedDataParallel: start-up checks and broadcast, the flat buffers,
// and the per-backward bucket protocol (see include/kiln/dist/ddp.h).
#include "kiln/dist/ddp.h"

#include <cstring>
#include <sstream>

#include "autograd/node.h"
#include "core/tensor_impl.h"
#include "dist/bucket_layout.h"
#include "dist/ddp_impl.h"
#include "kiln/core/grad_mode.h"
#include "kiln/dist/init.h"
#include "kiln/ops/factory.h"
#include "core/tensor_checks.h"

namespace kiln::dist {

namespace {

using Clock = std::chrono::steady_clock;

// Points `param` (keeping its TensorImpl, so every handle to it follows) at
// `place`, which has its shape, dtype and device. Module::to does the same.
void reseat(const Tensor& param, const Tensor& place) {
  kiln::detail::TensorImpl& d = *param.unsafe_impl();
  const kiln::detail::TensorImpl& s = *place.unsafe_impl();
  d.storage = s.storage;
  d.sizes = s.sizes;
  d.strides = s.strides;
  d.offset = s.offset;
  d.dtype = s.dtype;
  d.numel = s.numel;
}

std::string signature_line(char kind, const std::string& name, const Tensor& t) {
  std::ostringstream os;
  os << (kind == 'P' ? "parameter" : "buffer") << " '" << name << "' " << shape_str(t.sizes()) << " "
     << dtype_name(t.dtype());
  return os.str();
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::string line;
  std::istringstream is(s);
  while (std::getline(is, line)) out.push_back(line);
  return out;
}

}  // namespace

// --- construction --------------------------------------------------------------------

DistributedDataParallel::Impl::Impl(std::shared_ptr<nn::Module> m, DDPOptions opts, std::shared_ptr<Communicator> c)
    : module(std::move(m)), comm(std::move(c)), options(std::move(opts)) {
  KILN_CHECK(module != nullptr, ValueError, "DistributedDataParallel: the module is null");
  const auto named = module->named_parameters();
  bool have_device = false;
  for (const auto& [name, p] : named) {
    if (!have_device) {
      device = p.device();
      have_device = true;
    }
    KILN_CHECK(p.device() == device, DeviceError, "DistributedDataParallel: parameter '", name, "' is on ", p.device(),
               " but parameter '", named.front().first, "' is on ", device, "; move the whole model to one device");
    if (!p.requires_grad()) continue;
    KILN_CHECK(p.is_floating_point(), DTypeError, "DistributedDataParallel: parameter '", name, "' is ", p.dtype(),
               "; trained parameters must be floating point");
    Param q;
    q.name = name;
    q.tensor = p;
    params.push_back(std::move(q));
  }
  KILN_CHECK(!params.empty(), ValueError, "DistributedDataParallel: the module (", module->name(),
             ") has no parameters that require grad");
  // By default the process's communicator for the model's device: NCCL for
  // a GPU, MPI for a CPU model (also on a machine whose ranks have GPUs).
  if (!comm) comm = dist::communicator()->supports(device) ? dist::communicator() : dist::cpu_communicator();
  KILN_CHECK(comm->supports(device), DeviceError, "DistributedDataParallel: the model is on ", device, " but the ",
             comm->backend(), " communicator does not handle that device (move the model to dist::device())");
  for (const auto& [name, b] : module->named_buffers())
    KILN_CHECK(b.device() == device, DeviceError, "DistributedDataParallel: buffer '", name, "' is on ", b.device(),
               " but the parameters are on ", device);

  check_agreement();
  layout(std::vector<int>(params.size(), 0), 1);
  broadcast_parameters_and_buffers(options.broadcast_buffers());

  for (size_t i = 0; i < params.size(); ++i) {
    Param& p = params[i];
    p.pre_hook = p.tensor.register_hook([this](const Tensor&) { on_gradient_arriving(); });
    p.post_hook = autograd::add_post_accumulate_grad_hook(p.tensor, [this, i](const Tensor&) { on_gradient_ready(i); });
  }
}

DistributedDataParallel::Impl::~Impl() {
  try {
    wait_in_flight();
  } catch (...) {
    // Destructors never throw; the error was (or will be) reported by the wait of finish_backward.
  }
  for (Param& p : params) {
    p.tensor.remove_hook(p.pre_hook);
    autograd::remove_post_accumulate_grad_hook(p.tensor, p.post_hook);
  }
}

// Every rank describes its parameters and buffers in one text; all texts are
// gathered everywhere and compared with rank 0's, so every rank reaches the
// same verdict and either all continue or all throw.
void DistributedDataParallel::Impl::check_agreement() const {
  const int world = comm->world_size();
  if (world == 1) return;
  std::string mine;
  for (const auto& [name, p] : module->named_parameters())
    mine += signature_line('P', name, p) + (p.requires_grad() ? "" : " (frozen)") + "\n";
  for (const auto& [name, b] : module->named_buffers()) mine += signature_line('B', name, b) + "\n";

  const TensorOptions on_device = TensorOptions().device(device);
  Tensor my_len = tensor(std::vector<int64_t>{static_cast<int64_t>(mine.size())}).to(device);
  Tensor lens = empty({world}, on_device.dtype(kInt64));
  comm->all_gather(lens, my_len);
  const std::vector<int64_t> sizes = lens.to_vector<int64_t>();
  int64_t longest = 1;
  for (int64_t n : sizes) longest = std::max(longest, n);
  Tensor text = zeros({longest}, kUInt8);
  std::memcpy(text.raw_data_ptr(), mine.data(), mine.size());
  Tensor all = empty({world * longest}, on_device.dtype(kUInt8));
  comm->all_gather(all, text.to(device));
  const Tensor host = all.cpu();
  const char* bytes = static_cast<const char*>(host.raw_data_ptr());
  auto text_of = [&](int r) { return std::string(bytes + r * longest, static_cast<size_t>(sizes[r])); };

  const std::vector<std::string> reference = split_lines(text_of(0));
  for (int r = 1; r < world; ++r) {
    const std::vector<std::string> theirs = split_lines(text_of(r));
    for (size_t i = 0; i < std::max(reference.size(), theirs.size()); ++i) {
      const std::string a = i < reference.size() ? reference[i] : "nothing";
      const std::string b = i < theirs.size() ? theirs[i] : "nothing";
      KILN_CHECK(a == b, ValueError, "DistributedDataParallel: the ranks' models differ: entry ", i, " is ", a,
                 " on rank 0 but ", b, " on rank ", r, " (every rank must build the same model)");
    }
  }
}

void DistributedDataParallel::Impl::layout(const std::vector<int>& group_of, int64_t multiple) {
  NoGradGuard no_grad;
  std::vector<detail::ParamSpec> specs;
  for (size_t i = 0; i < params.size(); ++i)
    specs.push_back({params[i].tensor.numel(), params[i].tensor.dtype(), group_of[i]});
  const detail::BucketPlan plan =
      detail::plan_buckets(specs, options.first_bucket_cap_bytes(), options.bucket_cap_bytes(), kBucketAlign, multiple);

  std::map<DType, Tensor> new_params, new_grads;
  for (const auto& [dtype, numel] : plan.buffer_numel) {
    new_params[dtype] = zeros({numel}, TensorOptions().dtype(dtype).device(device));
    new_grads[dtype] = zeros({numel}, TensorOptions().dtype(dtype).device(device));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    Param& p = params[i];
    const Tensor& t = p.tensor;
    const int64_t off = plan.param_offset[i];
    Tensor place = new_params[t.dtype()].narrow(0, off, t.numel()).view(t.sizes());
    place.copy_(t.detach());
    Tensor grad_place = new_grads[t.dtype()].narrow(0, off, t.numel()).view(t.sizes());
    const Tensor g = t.grad();
    reseat(t, place);
    if (g.defined()) {
      grad_place.copy_(g);
      t.set_grad(grad_place);
    }
    p.grad_view = grad_place;
    p.bucket = plan.param_bucket[i];
    p.offset = off;
  }
  flat_params = std::move(new_params);
  flat_grads = std::move(new_grads);

  buckets.clear();
  info.clear();
  for (const detail::PlannedBucket& pb : plan.buckets) {
    Bucket b;
    b.dtype = pb.dtype;
    b.group = pb.group;
    b.offset = pb.offset;
    b.numel = pb.numel;
    b.params = pb.params;
    b.grads = flat_grads[pb.dtype].narrow(0, pb.offset, pb.numel);
    b.values = flat_params[pb.dtype].narrow(0, pb.offset, pb.numel);
    BucketInfo bi;
    bi.dtype = pb.dtype;
    bi.offset = pb.offset;
    bi.numel = pb.numel;
    bi.group = pb.group;
    for (size_t k : pb.params) bi.params.push_back(params[k].name);
    buckets.push_back(std::move(b));
    info.push_back(std::move(bi));
  }
  arrived.assign(params.size(), 0);
}

void DistributedDataParallel::Impl::broadcast_parameters_and_buffers(bool with_buffers) {
  if (comm->world_size() == 1) return;
  NoGradGuard no_grad;
  for (auto& [dtype, flat] : flat_params) comm->broadcast(flat, 0);
  // Frozen parameters are not in the flat buffers.
  for (auto [name, p] : module->named_parameters()) {
    if (p.requires_grad()) continue;
    Tensor c = p.contiguous();
    comm->broadcast(c, 0);
    if (!c.is_same(p)) p.copy_(c);
  }
  if (with_buffers) broadcast_buffers();
}

void DistributedDataParallel::Impl::broadcast_buffers() {
  if (comm->world_size() == 1) return;
  NoGradGuard no_grad;
  for (auto [name, b] : module->named_buffers()) {
    Tensor c = b.contiguous();
    comm->broadcast(c, 0);
    if (!c.is_same(b)) b.copy_(c);
  }
}

// --- one backward ------------------------------------------------------------------

void DistributedDataParallel::Impl::on_gradient_arriving() {
  // autograd::grad() runs leaf hooks too but accumulates nothing: not ours.
  if (!in_backward && autograd::in_backward_pass()) begin_backward();
}

void DistributedDataParallel::Impl::begin_backward() {
  for (const Param& p : params) {
    const auto flat = flat_params.find(p.tensor.dtype());
    KILN_CHECK(flat != flat_params.end() && p.tensor.unsafe_impl()->storage == flat->second.unsafe_impl()->storage &&
                   p.tensor.storage_offset() == p.offset,
               ValueError, "DistributedDataParallel: parameter '", p.name, "' (", kiln::detail::describe(p.tensor),
               ") was replaced, moved or converted after the model was wrapped; move and convert the model before "
               "wrapping it");
  }
  bind_gradients();
  in_backward = true;
  syncing = sync_enabled;
  if (syncing) {
    next_launch = 0;
    for (Bucket& b : buckets) b.pending = static_cast<int>(b.params.size());
    std::fill(arrived.begin(), arrived.end(), 0);
    last_works.clear();
    last_launch_seconds.clear();
    backward_start = Clock::now();
  }
  autograd::queue_callback([this] { finish_backward(); });
}

// Makes every parameter's .grad() its slot in the flat buffer: a gradient the
// program left (or set) elsewhere is copied in, an undefined one becomes zeros.
void DistributedDataParallel::Impl::bind_gradients() {
  NoGradGuard no_grad;
  for (Param& p : params) {
    const Tensor g = p.tensor.grad();
    if (g.defined() && g.unsafe_impl() == p.grad_view.unsafe_impl()) continue;
    if (g.defined()) p.grad_view.copy_(g);
    else p.grad_view.zero_();
    p.tensor.set_grad(p.grad_view);
  }
}

void DistributedDataParallel::Impl::on_gradient_ready(size_t i) {
  if (!in_backward || !syncing || arrived[i]) return;
  arrived[i] = 1;
  Bucket& b = buckets[params[i].bucket];
  --b.pending;
  // Strictly in bucket order, so every rank issues the same sequence.
  while (next_launch < buckets.size() && buckets[next_launch].pending == 0) launch(next_launch++);
}

void DistributedDataParallel::Impl::launch(size_t index) {
  Bucket& b = buckets[index];
  if (reduce_scatter) {
    Tensor shard = b.grads.narrow(0, shard_begin(b), shard_numel(b));
    b.work = comm->reduce_scatter_async(shard, b.grads, ReduceOp::Avg);
  } else {
    b.work = comm->all_reduce_async(b.grads, ReduceOp::Avg);
  }
  last_works.push_back(b.work);
  last_launch_seconds.push_back(std::chrono::duration<double>(Clock::now() - backward_start).count());
}

void DistributedDataParallel::Impl::finish_backward() {
  in_backward = false;
  if (!syncing) return;
  syncing = false;
  const auto t0 = Clock::now();
  last_backward_seconds = std::chrono::duration<double>(t0 - backward_start).count();
  // Buckets whose gradients did not all arrive (parameters unused on this
  // rank) go now, still in order; their missing slots hold zeros.
  while (next_launch < buckets.size()) launch(next_launch++);
  wait_in_flight();
  last_wait_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  last_bytes = 0;
  for (const Bucket& b : buckets) last_bytes += static_cast<size_t>(b.numel) * element_size(b.dtype);
  ++syncs;
}

void DistributedDataParallel::Impl::wait_in_flight() {
  std::exception_ptr first;
  for (Bucket& b : buckets) {
    try {
      b.work.wait();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
    b.work = Work();
  }
  if (first) std::rethrow_exception(first);
}

// --- the public handle ---------------------------------------------------------------

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions options,
                                                 std::shared_ptr<Communicator> comm)
    : impl_(std::make_unique<Impl>(std::move(module), std::move(options), std::move(comm))) {}

DistributedDataParallel::~DistributedDataParallel() = default;

nn::Module& DistributedDataParallel::module() const { return *impl_->module; }
Communicator& DistributedDataParallel::communicator() const { return *impl_->comm; }
const std::vector<BucketInfo>& DistributedDataParallel::buckets() const { return impl_->info; }
bool DistributedDataParallel::sync_enabled() const { return impl_->sync_enabled; }
void DistributedDataParallel::broadcast_buffers() { impl_->broadcast_buffers(); }
int64_t DistributedDataParallel::sync_count() const { return impl_->syncs; }

SyncTiming DistributedDataParallel::last_timing() const {
  SyncTiming t;
  for (const Work& w : impl_->last_works) t.comm_seconds += w.seconds();
  t.wait_seconds = impl_->last_wait_seconds;
  t.backward_seconds = impl_->last_backward_seconds;
  t.launch_seconds = impl_->last_launch_seconds;
  t.buckets = static_cast<int64_t>(impl_->last_works.size());
  t.bytes = impl_->last_bytes;
  return t;
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel* owner)
    : owner_(owner), previous_(owner->impl_->sync_enabled) {
  owner_->impl_->sync_enabled = false;
}
DistributedDataParallel::NoSync::NoSync(NoSync&& other) noexcept : owner_(other.owner_), previous_(other.previous_) {
  other.owner_ = nullptr;
}
DistributedDataParallel::NoSync::~NoSync() {
  if (owner_) owner_->impl_->sync_enabled = previous_;
}
DistributedDataParallel::NoSync DistributedDataParallel::no_sync() { return NoSync(this); }

}  // namespace kiln::dist
