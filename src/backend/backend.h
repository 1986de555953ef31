// The device interface: one pure virtual method per primitive. src/ops/ does
// all argument checking, output allocation and autograd; a backend only
// computes. Every method receives tensors already on this backend's device,
// with the dtypes and shapes documented here. A backend that misses a
// method does not compile.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/storage.h"
#include "kiln/core/generator.h"
#include "kiln/core/tensor.h"

namespace kiln::detail {

enum class UnaryOp : uint8_t {
  Neg, Abs, Sign, Exp, Log, Sqrt, Rsqrt, Reciprocal, Tanh, Sigmoid, Relu,
  GeluErf, GeluTanh, Silu, LogicalNot,
  Clamp,     // params.a = min (or -inf), params.b = max (or +inf)
  PowScalar  // params.a = exponent
};
struct UnaryParams {
  double a = 0;
  double b = 0;
};

enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  Eq, Ne, Lt, Le, Gt, Ge,  // out is bool
  LogicalAnd, LogicalOr,   // out is bool
  // Backward helpers f(grad, saved): the derivative times grad.
  ReluBackward,      // saved = x
  SigmoidBackward,   // saved = y = sigmoid(x)
  TanhBackward,      // saved = y = tanh(x)
  GeluErfBackward,   // saved = x
  GeluTanhBackward,  // saved = x
  SiluBackward       // saved = x
};
bool is_comparison(BinaryOp op);

enum class ReduceOp : uint8_t { Sum, Max, Min };
enum class ArgReduceOp : uint8_t { ArgMax, ArgMin };

struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};
struct Pool2dParams {
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  bool ceil_mode = false;
  bool count_include_pad = true;  // avg pool only
};

struct SgdHyper {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // momentum buffer starts as the gradient
};
struct AdamHyper {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false;  // AdamW
  bool amsgrad = false;
  int64_t step = 1;  // for bias correction, already incremented
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceType type() const = 0;

  // --- memory ---------------------------------------------------------------
  virtual std::shared_ptr<Storage> allocate(size_t nbytes, Device device) = 0;
  // Waits for all queued work on the device (no-op on the CPU).
  virtual void synchronize(Device device) = 0;

  // --- copies -----------------------------------------------------------------
  // dst[i] = cast(src[i]) elementwise; same shape (src may be broadcast-strided),
  // any dtypes, any strides, both on this device.
  virtual void copy(const Tensor& src, Tensor& dst) = 0;
  // Copy between this device and the CPU (either direction), same dtype,
  // dst contiguous. non_blocking may return before the copy is done.
  virtual void transfer(const Tensor& src, Tensor& dst, bool non_blocking) = 0;
  virtual void fill(Tensor& out, const Scalar& value) = 0;
  // out[i] = start + i * step, out contiguous 1-D.
  virtual void arange(Tensor& out, double start, double step) = 0;

  // --- elementwise --------------------------------------------------------------
  // x and out have the same dtype (Sign/LogicalNot: out may be bool) and shape.
  virtual void unary(UnaryOp op, const Tensor& x, Tensor& out, const UnaryParams& params) = 0;
  // a, b: same dtype, already broadcast (expanded) to out's shape. out has
  // a's dtype, or bool for comparisons and logical ops.
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) = 0;
  // out = cond ? a : b; cond bool, all expanded to out's shape, a/b/out one dtype.
  virtual void where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) = 0;

  // --- reductions ---------------------------------------------------------------
  // out has x's rank with size 1 in every dim listed in dims (sorted, unique)
  // and x's dtype. f16/bf16 accumulate in f32.
  virtual void reduce(ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) = 0;
  // out (int64, keepdim shape) = index of the first max/min along dim.
  virtual void arg_reduce(ArgReduceOp op, const Tensor& x, int64_t dim, Tensor& out) = 0;
  // Over dim of a contiguous x; log selects log_softmax.
  virtual void softmax_forward(const Tensor& x, int64_t dim, bool log, Tensor& out) = 0;
  // gx from the forward output y and its gradient gy (contiguous, same shape).
  virtual void softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim, bool log, Tensor& gx) = 0;
  // Cross entropy of logits [N,C] (contiguous, floating) with class targets
  // [N] (contiguous int64, each in [0, C) or == ignore_index), eps =
  // label_smoothing: losses[n] = (1-eps)*(lse_n - x[n,t]) + eps*(lse_n -
  // mean_c x[n,c]), 0 for ignored rows; losses [N] has the logits' dtype,
  // lse [N] (f32, or f64 for f64 logits) gets logsumexp_c x[n,c] for the
  // backward. Computed in opmath (f32 for f16/bf16).
  virtual void cross_entropy_forward(const Tensor& logits, const Tensor& target, int64_t ignore_index,
                                     double label_smoothing, Tensor& losses, Tensor& lse) = 0;
  // grad_logits [N,C] (contiguous, logits' dtype, overwritten) =
  // grad_losses[n] * (softmax(x)[n,c] - (1-eps)*[c == t_n] - eps/C), 0 for
  // ignored rows; grad_losses [N] contiguous in the logits' dtype, lse from
  // cross_entropy_forward.
  virtual void cross_entropy_backward(const Tensor& grad_losses, const Tensor& logits, const Tensor& target,
                                      const Tensor& lse, int64_t ignore_index, double label_smoothing,
                                      Tensor& grad_logits) = 0;

  // --- linear algebra -------------------------------------------------------------
  // out[b] = a[b] @ b[b]: a [B,M,K], b [B,K,N], out [B,M,N] contiguous, one
  // floating dtype. a and b each have a unit stride in one of their last two
  // dims (row- or column-major matrices); batch strides may be 0 (broadcast).
  virtual void matmul(const Tensor& a, const Tensor& b, Tensor& out) = 0;

  // --- indexing ---------------------------------------------------------------------
  // index: contiguous int64. x, src, out: any strides.
  virtual void index_select(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) = 0;
  virtual void gather(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) = 0;
  // out (already holding self) += src scattered along dim by index (same shape as src).
  virtual void scatter_add(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) = 0;

  // --- random (Philox 4x32-10; element i uses counter block state.offset + i/2,
  // lanes 2*(i%2) and 2*(i%2)+1; see kernels/functors/philox.h) ---------------------
  virtual void uniform(Tensor& out, double low, double high, const GeneratorState& state) = 0;
  virtual void normal(Tensor& out, double mean, double std, const GeneratorState& state) = 0;
  virtual void randint(Tensor& out, int64_t low, int64_t high, const GeneratorState& state) = 0;

  // --- convolution and pooling (NCHW, contiguous, one floating dtype) ------------
  // x [N,C,H,W], weight [O,C/groups,kh,kw], bias [O] or undefined, out [N,O,Ho,Wo].
  virtual void conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p,
                              Tensor& out) = 0;
  // Overwrites each defined output: gx like x, gw like weight, gb [O].
  virtual void conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Conv2dParams& p,
                               Tensor& gx, Tensor& gw, Tensor& gb) = 0;
  // indices (int64, like out): flat position h * W + w of the max in its input plane.
  virtual void max_pool2d_forward(const Tensor& x, const Pool2dParams& p, Tensor& out, Tensor& indices) = 0;
  // Overwrites gx (zeros where no window picked an element).
  virtual void max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) = 0;
  virtual void avg_pool2d_forward(const Tensor& x, const Pool2dParams& p, Tensor& out) = 0;
  virtual void avg_pool2d_backward(const Tensor& gy, const Pool2dParams& p, Tensor& gx) = 0;

  // --- batch norm over N (and H, W) per channel of x [N,C] or [N,C,H,W] ----------
  // training: normalise with batch statistics, update running stats in
  // place (unbiased variance), write save_mean/save_invstd [C]. Otherwise
  // normalise with the running stats. weight/bias [C] may be undefined.
  virtual void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                  Tensor& running_var, bool training, double momentum, double eps, Tensor& out,
                                  Tensor& save_mean, Tensor& save_invstd) = 0;
  // Overwrites each defined output. In eval mode save_mean/save_invstd hold
  // the running mean and 1/sqrt(running_var + eps).
  virtual void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                   const Tensor& save_invstd, bool training, Tensor& gx, Tensor& gw, Tensor& gb) = 0;

  // --- fused optimizer steps over many tensors (updated in place) -----------------
  // momentum_buffers may be empty when momentum == 0.
  virtual void sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                          const std::vector<Tensor>& momentum_buffers, const SgdHyper& h) = 0;
  // max_exp_avg_sqs is empty unless amsgrad.
  virtual void adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                           const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                           const std::vector<Tensor>& max_exp_avg_sqs, const AdamHyper& h) = 0;
};

// The backend for a device; throws DeviceError when the device is not usable.
Backend& backend_for(const Device& device);
Backend& cpu_backend();

}  // namespace kiln::detail
