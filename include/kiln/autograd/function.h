// Custom autograd functions, as LibTorch's torch::autograd::Function:
//
//   struct ScaledTanh : kiln::autograd::Function<ScaledTanh> {
//     static Tensor forward(AutogradContext* ctx, Tensor x, double alpha) {
//       Tensor y = kiln::tanh(x) * alpha;
//       ctx->save_for_backward({y});
//       ctx->saved_data["alpha"] = alpha;
//       return y;
//     }
//     static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
//       Tensor y = ctx->get_saved_variables()[0];
//       double alpha = ctx->saved_data["alpha"].toDouble();
//       return {grad_outputs[0] * (alpha - y * y / alpha), Tensor()};  // one per forward argument
//     }
//   };
//   Tensor y = ScaledTanh::apply(x, 2.0);
//
// forward runs with gradient recording off and returns a Tensor or a
// variable_list. Its Tensor arguments (also std::optional<Tensor> and
// std::vector<Tensor>, one input per element) are the inputs the gradient
// flows to. backward receives one gradient per output (zeros for an output
// no gradient reached, unless set_materialize_grads(false) leaves it
// undefined) and returns one gradient per forward argument: an undefined
// Tensor for a non-tensor argument or an input that needs none (more may be
// returned if all the extra ones are undefined). A wrong count, a defined
// gradient for a non-tensor argument or a gradient of the wrong shape is an
// error naming the function.
//
// Differences from LibTorch: no higher-order gradients (backward runs with
// recording off, and saved tensors come back without history); no forward
// mode (jvp); get_saved_variables() also works after a backward that kept
// the graph (retain_graph), and throws AutogradError after one that freed it.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <vector>

#include "kiln/core/grad_mode.h"
#include "kiln/core/ivalue.h"
#include "kiln/core/tensor.h"

namespace kiln::autograd {
using tensor_list = std::vector<Tensor>;
using variable_list = std::vector<Tensor>;
class AutogradContext;
}  // namespace kiln::autograd

namespace kiln::detail {

// The untemplated work of autograd::Function<T>::apply (src/autograd/function.cpp).
class FunctionRecorder {
 public:
  using BackwardFn = autograd::variable_list (*)(autograd::AutogradContext*, autograd::variable_list);
  FunctionRecorder(const char* mangled_name, BackwardFn backward);
  ~FunctionRecorder();
  FunctionRecorder(const FunctionRecorder&) = delete;
  FunctionRecorder& operator=(const FunctionRecorder&) = delete;

  void add_arg(const Tensor& t);
  void add_arg(const std::optional<Tensor>& t);
  void add_arg(const std::vector<Tensor>& ts);
  template <class A> void add_arg(const A&) { add_non_tensor(); }
  void add_non_tensor();
  // After the arguments: decides whether a graph is recorded and returns the context.
  autograd::AutogradContext* start();
  // After forward: gives the outputs their history and records saved tensors.
  autograd::variable_list finish(autograd::variable_list outputs);

 private:
  struct State;
  State* state_;
};

}  // namespace kiln::detail

namespace kiln::autograd {

// What forward leaves for backward. One per call of Function<T>::apply.
class AutogradContext {
 public:
  AutogradContext() = default;
  AutogradContext(const AutogradContext&) = delete;
  AutogradContext& operator=(const AutogradContext&) = delete;

  // Non-tensor values for backward: ctx->saved_data["alpha"] = 2.0.
  std::unordered_map<std::string, IValue> saved_data;

  // Tensors for backward (inputs or outputs). They are recorded when forward
  // returns, so modifying one in place afterwards makes get_saved_variables()
  // throw AutogradError instead of giving a wrong gradient.
  void save_for_backward(variable_list to_save);
  variable_list get_saved_variables() const;
  // Inputs forward modified in place (they must be returned as outputs).
  void mark_dirty(const variable_list& inputs);
  // Outputs that are not differentiable: they get no history and their
  // gradient in backward is zeros (or undefined without materialization).
  void mark_non_differentiable(const variable_list& outputs);
  // false: backward sees undefined tensors, not zeros, for outputs no gradient reached.
  void set_materialize_grads(bool value) { materialize_grads_ = value; }
  // Whether tensor input `index` (counting Tensor arguments only, in order,
  // a std::vector<Tensor> as one per element) needs a gradient.
  bool needs_input_grad(size_t index) const;

 private:
  friend class ::kiln::detail::FunctionRecorder;
  friend class CustomFunctionNode;
  std::string name_;
  variable_list to_save_;
  variable_list saved_;
  std::vector<uint32_t> saved_versions_;
  std::vector<bool> saved_defined_;
  std::vector<const void*> dirty_, non_differentiable_;
  std::vector<bool> needs_input_grad_;
  bool materialize_grads_ = true;
  bool released_ = false;
};

template <class T>
struct Function {
  template <class X = T, class... Args>
  static auto apply(Args&&... args) {
    ::kiln::detail::FunctionRecorder rec(typeid(X).name(), &call_backward<X>);
    (rec.add_arg(args), ...);
    AutogradContext* ctx = rec.start();
    using R = decltype(X::forward(ctx, std::forward<Args>(args)...));
    static_assert(std::is_same_v<R, Tensor> || std::is_same_v<R, variable_list>,
                  "autograd::Function: forward must return a Tensor or a variable_list");
    R out;
    {
      AutoGradMode no_recording(false);
      out = X::forward(ctx, std::forward<Args>(args)...);
    }
    if constexpr (std::is_same_v<R, Tensor>) {
      return rec.finish(variable_list{std::move(out)})[0];
    } else {
      return rec.finish(std::move(out));
    }
  }

 private:
  template <class X>
  static variable_list call_backward(AutogradContext* ctx, variable_list grad_outputs) {
    return X::backward(ctx, std::move(grad_outputs));
  }
};

}  // namespace kiln::autograd
