// Autograd rules for in-place ops (add_, mul_, copy_, ...).
#pragma once
#include <initializer_list>
#include <memory>

#include "autograd/node.h"

namespace kiln::detail {

// Refuses in-place writes that would corrupt autograd: to a leaf that
// requires grad, or to a view of a tensor with history, while recording.
void check_inplace(const char* op, const Tensor& self, std::initializer_list<const Tensor*> others);
// Makes `node` (whose inputs are `inputs`, the first being self's value
// before the write) the new grad_fn of self.
void rebase_history(Tensor& self, const std::shared_ptr<autograd::Node>& node,
                    std::initializer_list<const Tensor*> inputs);

}  // namespace kiln::detail
