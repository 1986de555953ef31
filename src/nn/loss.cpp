#include "kiln/nn/loss.h"

#include "kiln/nn/functional.h"

namespace kiln::nn {

CrossEntropyLossImpl::CrossEntropyLossImpl(const CrossEntropyLossOptions& o)
    : Cloneable("CrossEntropyLoss"), options(o) {
  reset();
}
void CrossEntropyLossImpl::reset() { weight = register_buffer("weight", options.weight()); }
Tensor CrossEntropyLossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::cross_entropy(input, target, CrossEntropyLossOptions(options).weight(weight));
}
void CrossEntropyLossImpl::pretty_print(std::ostream& os) const {
  os << "CrossEntropyLoss(reduction=" << reduction_name(options.reduction())
     << ", ignore_index=" << options.ignore_index() << ", label_smoothing=" << options.label_smoothing() << ")";
}

NLLLossImpl::NLLLossImpl(const NLLLossOptions& o) : Cloneable("NLLLoss"), options(o) { reset(); }
void NLLLossImpl::reset() { weight = register_buffer("weight", options.weight()); }
Tensor NLLLossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::nll_loss(input, target, NLLLossOptions(options).weight(weight));
}
void NLLLossImpl::pretty_print(std::ostream& os) const {
  os << "NLLLoss(reduction=" << reduction_name(options.reduction()) << ", ignore_index=" << options.ignore_index()
     << ")";
}

MSELossImpl::MSELossImpl(const MSELossOptions& o) : Cloneable("MSELoss"), options(o) {}
void MSELossImpl::reset() {}
Tensor MSELossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::mse_loss(input, target, options);
}
void MSELossImpl::pretty_print(std::ostream& os) const {
  os << "MSELoss(reduction=" << reduction_name(options.reduction()) << ")";
}

BCEWithLogitsLossImpl::BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& o)
    : Cloneable("BCEWithLogitsLoss"), options(o) {
  reset();
}
void BCEWithLogitsLossImpl::reset() {
  weight = register_buffer("weight", options.weight());
  pos_weight = register_buffer("pos_weight", options.pos_weight());
}
Tensor BCEWithLogitsLossImpl::forward(const Tensor& input, const Tensor& target) {
  return functional::binary_cross_entropy_with_logits(input, target,
                                                      BCEWithLogitsLossOptions(options).weight(weight).pos_weight(pos_weight));
}
void BCEWithLogitsLossImpl::pretty_print(std::ostream& os) const {
  os << "BCEWithLogitsLoss(reduction=" << reduction_name(options.reduction()) << ")";
}

}  // namespace kiln::nn
