// Backward formula of softmax and log_softmax (src/ops/softmax.cpp): the
// backend's fused softmax_backward, from the saved forward output.
#pragma once
#include "autograd/node.h"
#include "backend/backend.h"

namespace kiln::autograd {

struct SoftmaxBackward : Node {
  SavedTensor result;
  detail::RowGeometry geometry;  // as the forward computed it
  bool log = false;
  std::string name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { result.reset(); }
};

}  // namespace kiln::autograd
