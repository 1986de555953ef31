// nn::Functional: a function as a module, so it can sit in a Sequential
// (LibTorch's nn::Functional). Extra arguments are bound after the input:
//   nn::Sequential seq(nn::Linear(4, 8), nn::Functional(kiln::relu),
//                      nn::Functional(kiln::gelu, std::string("tanh")));
#pragma once
#include <functional>
#include <tuple>
#include <utility>

#include "kiln/nn/module.h"

namespace kiln::nn {

class FunctionalImpl : public Cloneable<FunctionalImpl> {
 public:
  using Function = std::function<Tensor(const Tensor&)>;
  explicit FunctionalImpl(Function function);
  // fn(x, args...) with the args stored by value.
  template <class Fn, class Arg, class... Args>
  FunctionalImpl(Fn fn, Arg&& arg, Args&&... args)
      : FunctionalImpl(Function([fn, bound = std::make_tuple(std::forward<Arg>(arg), std::forward<Args>(args)...)](
                                    const Tensor& x) {
          return std::apply([&](const auto&... a) { return fn(x, a...); }, bound);
        })) {}
  void reset() override {}
  Tensor forward(const Tensor& x) { return function_(x); }
  Tensor operator()(const Tensor& x) { return function_(x); }

 private:
  Function function_;
};
using Functional = ModuleHolder<FunctionalImpl>;

}  // namespace kiln::nn
