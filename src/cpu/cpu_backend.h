// The CPU backend: the reference implementation of every primitive.
#pragma once
#include "backend/backend.h"

namespace kiln::cpu {

class CpuBackend final : public detail::Backend {
 public:
  DeviceType type() const override { return DeviceType::CPU; }
  void synchronize(Device) override {}
  void defer_error_check(const Tensor& flag, std::function<void(int64_t, int64_t)> raise) override;
  void copy(const Tensor& src, Tensor& dst) override;
  void transfer(const Tensor& src, Tensor& dst, bool non_blocking) override;
  void fill(Tensor& out, const Scalar& value) override;
  void arange(Tensor& out, double start, double step) override;
  void unary(detail::UnaryOp op, const Tensor& x, Tensor& out, const detail::UnaryParams& params) override;
  void binary(detail::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) override;
  void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) override;
  void reduce(detail::ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) override;
  void arg_reduce(detail::ArgReduceOp op, const Tensor& x, int64_t dim, Tensor& out) override;
  void softmax_forward(const Tensor& x, const detail::RowGeometry& g, bool log, Tensor& out) override;
  void softmax_backward(const Tensor& y, const Tensor& gy, const detail::RowGeometry& g, bool log,
                        Tensor& gx) override;
  void cross_entropy_forward(const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                             Tensor& losses, Tensor& lse, Tensor& target_errors) override;
  void cross_entropy_backward(const Tensor& grad_losses, const Tensor& logits, const Tensor& target, const Tensor& lse,
                              int64_t ignore_index, double label_smoothing, Tensor& grad_logits) override;
  void matmul(const Tensor& a, const Tensor& b, Tensor& out) override;
  void index_select(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) override;
  void gather(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) override;
  void scatter_add(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) override;
  void uniform(Tensor& out, double low, double high, const GeneratorState& state) override;
  void normal(Tensor& out, double mean, double std, const GeneratorState& state) override;
  void randint(Tensor& out, int64_t low, int64_t high, const GeneratorState& state) override;
  void conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const detail::Conv2dParams& p,
                      Tensor& out) override;
  void conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const detail::Conv2dParams& p,
                       Tensor& gx, Tensor& gw, Tensor& gb) override;
  void max_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out, Tensor& indices) override;
  void max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) override;
  void avg_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out) override;
  void avg_pool2d_backward(const Tensor& gy, const detail::Pool2dParams& p, Tensor& gx) override;
  void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                          Tensor& running_var, bool training, double momentum, double eps, bool relu, Tensor& out,
                          Tensor& save_mean, Tensor& save_invstd) override;
  void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& bias,
                           const Tensor& save_mean, const Tensor& save_invstd, bool training, double eps,
                           const Tensor& relu_out, Tensor& gx, Tensor& gw, Tensor& gb) override;
  void sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& momentum_buffers, const detail::SgdHyper& h) override;
  void adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                   const std::vector<Tensor>& max_exp_avg_sqs, const detail::AdamHyper& h) override;
  // --- scans, sorting, sampling and the transformer primitives ---
  void cumsum(const Tensor& x, const detail::RowGeometry& g, bool reverse, Tensor& out) override;
  void sort(const Tensor& x, bool descending, Tensor& values, Tensor& indices) override;
  void topk(const Tensor& x, int64_t k, bool largest, Tensor& values, Tensor& indices) override;
  void multinomial(const Tensor& weights, int64_t num_samples, bool replacement, const GeneratorState& state,
                   Tensor& out, Tensor& errors) override;
  void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool rms, Tensor& out,
                          Tensor& mean, Tensor& rstd) override;
  void layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                           const Tensor& rstd, bool rms, Tensor& gx, Tensor& gw, Tensor& gb) override;
  void embedding_forward(const Tensor& weight, const Tensor& ids, Tensor& out, Tensor& errors) override;
  void embedding_backward(const Tensor& grad, const Tensor& ids, int64_t padding_idx, Tensor& grad_weight) override;
  void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                         const detail::AttentionParams& p, Tensor& out, Tensor& lse) override;
  void attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                          const Tensor& out, const Tensor& lse, const detail::AttentionParams& p, Tensor& gq,
                          Tensor& gk, Tensor& gv) override;
  void multi_tensor_norm(const std::vector<Tensor>& tensors, Tensor& out) override;
  void rmsprop_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                      const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                      const std::vector<Tensor>& grad_avgs, const detail::RmspropHyper& h) override;
  void adagrad_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                      const std::vector<Tensor>& sums, const detail::AdagradHyper& h) override;
};

}  // namespace kiln::cpu
