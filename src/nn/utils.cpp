#include "kiln/nn/utils.h"

#include "core/tensor_checks.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/indexing.h"

namespace kiln::nn::utils {

namespace {
void check_params(const char* op, const std::vector<Tensor>& parameters) {
  for (size_t i = 0; i < parameters.size(); ++i) {
    KILN_CHECK(parameters[i].defined(), ValueError, op, ": parameter ", i, " is undefined");
    KILN_CHECK(parameters[i].device() == parameters[0].device(), DeviceError, op, ": parameter ", i, " is ",
               detail::describe(parameters[i]), " but parameter 0 is ", detail::describe(parameters[0]),
               "; all must be on one device");
  }
}
}  // namespace

Tensor parameters_to_vector(const std::vector<Tensor>& parameters) {
  check_params("parameters_to_vector", parameters);
  KILN_CHECK(!parameters.empty(), ValueError, "parameters_to_vector: no parameters");
  std::vector<Tensor> flat;
  flat.reserve(parameters.size());
  for (const Tensor& p : parameters) flat.push_back(p.reshape({-1}));
  return cat(flat, 0);
}

void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters) {
  const char* op = "vector_to_parameters";
  detail::check_defined(op, vec, "vec");
  check_params(op, parameters);
  KILN_CHECK(vec.dim() == 1, ShapeError, op, ": vec must be 1-D, got ", detail::describe(vec));
  int64_t total = 0;
  for (const Tensor& p : parameters) total += p.numel();
  KILN_CHECK(vec.numel() == total, ShapeError, op, ": vec has ", vec.numel(), " elements but the parameters have ",
             total);
  NoGradGuard no_grad;
  int64_t offset = 0;
  for (const Tensor& p : parameters) {
    Tensor dst = p;
    dst.copy_(vec.narrow(0, offset, p.numel()).reshape(p.sizes()).to(p.device()).to(p.dtype()));
    offset += p.numel();
  }
}

}  // namespace kiln::nn::utils
