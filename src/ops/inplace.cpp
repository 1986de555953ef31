#include "ops/inplace.h"

#include "core/tensor_impl.h"
#include "kiln/core/grad_mode.h"
#include "ops/op_util.h"

namespace kiln::detail {

void check_inplace(const char* op, const Tensor& self, std::initializer_list<const Tensor*> others) {
  if (!GradMode::is_enabled()) return;
  bool others_need = false;
  for (const Tensor* t : others) others_need = others_need || (t->defined() && t->requires_grad());
  if (!self.requires_grad() && !others_need) return;
  KILN_CHECK(!(self.requires_grad() && self.is_leaf()), AutogradError, op, ": a leaf tensor that requires grad (",
             describe(self), ") is used in an in-place operation; wrap the update in kiln::NoGradGuard");
  // A view that requires grad got there through a recorded view op (the
  // leaf case is refused above).
  KILN_CHECK(!(self.unsafe_impl()->is_view && self.requires_grad()), AutogradError, op,
             ": in-place write to a view (", describe(self),
             ") of a tensor that requires grad is not supported; clone() the view first");
  KILN_CHECK(!(others_need && self.unsafe_impl()->is_view), AutogradError, op, ": writing a tensor that requires ",
             "grad into a view (", describe(self), ") is not supported, because the gradient would not reach the ",
             "viewed tensor; build the result with cat/stack or out-of-place ops");
}

void rebase_history(Tensor& self, const std::shared_ptr<autograd::Node>& node,
                    std::initializer_list<const Tensor*> inputs) {
  autograd::set_history(self, node, inputs);
}

}  // namespace kiln::detail
