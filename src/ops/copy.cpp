// Copies and conversions: contiguous, clone, to(dtype), to(device), copy_.
#include "autograd/derivatives/view.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "ops/inplace.h"
#include "ops/op_util.h"

namespace kiln {

using detail::backend_of;

namespace {
Tensor record_identity(Tensor out, const Tensor& input, const char* label) {
  if (autograd::needs_grad({&input})) {
    auto node = std::make_shared<autograd::IdentityBackward>();
    node->label = label;
    autograd::set_history(out, node, {&input});
  }
  return out;
}

// A contiguous copy of x with dtype `dtype` on x's device.
Tensor copy_as(const Tensor& x, DType dtype) {
  Tensor out = detail::make_empty(x.sizes(), dtype, x.device());
  if (x.numel() > 0) backend_of(x).copy(x, out);
  return out;
}
}  // namespace

Tensor Tensor::contiguous() const {
  detail::check_defined("contiguous", *this);
  if (is_contiguous()) return *this;
  return record_identity(copy_as(*this, dtype()), *this, "ContiguousBackward");
}

Tensor Tensor::clone() const {
  detail::check_defined("clone", *this);
  return record_identity(copy_as(*this, dtype()), *this, "CloneBackward");
}

Tensor Tensor::to(DType target, bool /*non_blocking*/, bool copy) const {
  detail::check_defined("to", *this);
  if (target == dtype()) return copy ? clone() : *this;
  // Like PyTorch, a conversion to an integer dtype gives a tensor without
  // history (integers carry no gradient).
  if (!is_floating(target)) return copy_as(*this, target);
  return record_identity(copy_as(*this, target), *this, "ToDtypeBackward");
}

Tensor Tensor::to(Device target, bool non_blocking, bool copy) const {
  detail::check_defined("to", *this);
  if (target == device()) return copy ? clone() : *this;
  Tensor src = contiguous();
  Tensor out = detail::make_empty(sizes(), dtype(), target);
  if (numel() > 0) {
    // The non-CPU side's backend knows how to move bytes across.
    detail::Backend& b = target.is_cpu() ? backend_of(src) : detail::backend_for(target);
    if (!src.device().is_cpu() && !target.is_cpu()) {
      Tensor staged = src.to(Device(kCPU));
      detail::backend_for(target).transfer(staged, out, false);
    } else {
      b.transfer(src, out, non_blocking);
    }
  }
  if (autograd::needs_grad({this})) {
    auto node = std::make_shared<autograd::ToDeviceBackward>();
    node->source = device();
    autograd::set_history(out, node, {this});
  }
  return out;
}

Tensor Tensor::to(Device device, DType dtype, bool non_blocking, bool copy) const {
  detail::check_defined("to", *this);
  if (device == this->device() && dtype == this->dtype()) return copy ? clone() : *this;
  // Storage-only dtypes convert on the CPU only: convert on whichever side is the CPU.
  if (is_storage_only(dtype) || is_storage_only(this->dtype())) {
    return this->device().is_cpu() ? to(dtype).to(device, non_blocking) : to(device, non_blocking).to(dtype);
  }
  // Convert where the data is smaller, so the transfer moves fewer bytes.
  if (kiln::element_size(dtype) < element_size()) return to(dtype).to(device, non_blocking);
  return to(device, non_blocking).to(dtype);
}

Tensor Tensor::to(const Tensor& other, bool non_blocking, bool copy) const {
  detail::check_defined("to", other, "other");
  return to(other.device(), other.dtype(), non_blocking, copy);
}

Tensor Tensor::to(const TensorOptions& opts, bool non_blocking, bool copy) const {
  detail::check_defined("to", *this);
  return to(opts.has_device() ? opts.device() : device(), opts.has_dtype() ? opts.dtype() : dtype(), non_blocking,
            copy);
}

Tensor& Tensor::copy_(const Tensor& src) {
  detail::check_defined("copy_", *this, "self");
  detail::check_defined("copy_", src, "src");
  KILN_CHECK(broadcast_shapes(src.sizes(), sizes(), "copy_") == sizes(), ShapeError, "copy_: source ",
             shape_str(src.sizes()), " does not broadcast to destination ", shape_str(sizes()));
  detail::check_inplace("copy_", *this, {&src});
  if (numel() == 0) return *this;
  Tensor source = src.detach();
  if (source.device() != device()) source = source.to(device());
  {
    NoGradGuard no_grad;
    backend_of(*this).copy(source.expand(sizes()), *this);
  }
  detail::bump_version(*this);
  if (autograd::needs_grad({this, &src})) {
    auto node = std::make_shared<autograd::CopyBackward>();
    node->src_sizes = src.sizes();
    node->src_device = src.device();
    Tensor self = *this;
    detail::rebase_history(self, node, {this, &src});
  }
  return *this;
}

}  // namespace kiln
