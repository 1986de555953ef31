// The device interface: one pure virtual method per primitive. src/ops/ does
// all argument checking, output allocation and autograd; a backend only
// computes. Every method receives tensors already on this backend's device,
// with the dtypes and shapes documented here. A backend that misses a
// method does not compile.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "functors/elementwise.h"
#include "functors/optim.h"
#include "functors/reduce.h"
#include "kiln/core/generator.h"
#include "kiln/core/tensor.h"

namespace kiln::detail {

// The elementwise and reduction ops: one set of enums, defined with their
// functors in kernels/functors/ (shared with the CUDA kernels).
using functors::ArgReduceOp;
using functors::BinaryOp;
using functors::ReduceOp;
using functors::UnaryOp;
using functors::UnaryParams;
bool is_comparison(BinaryOp op);

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

// A contiguous tensor seen as [outer, n, inner] around one dim (softmax,
// cross entropy): the op computes it once for every backend.
struct RowGeometry {
  int64_t outer = 1, n = 1, inner = 1;
};

// The optimizer hyper-parameters, one typed struct each from the options to
// the kernels (kernels/functors/optim.h, with the update formulas).
using functors::AdagradHyper;
using functors::AdamHyper;
using functors::RmspropHyper;
using functors::SgdHyper;

// scaled_dot_product_attention's settings, as the op resolved them.
struct AttentionParams {
  double scale = 1;        // multiplies q.k (the op's default is 1/sqrt(D))
  bool causal = false;     // query i sees keys j <= i (top-left aligned, as PyTorch)
  double dropout_p = 0;    // probability of zeroing an attention probability
  GeneratorState dropout;  // Philox state of the dropout mask (when dropout_p > 0)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceType type() const = 0;

  // --- memory (storage comes from the device's Allocator, core/allocator.h) ---
  // Waits for all queued work on the device (no-op on the CPU), then raises
  // any error a kernel flagged (defer_error_check).
  virtual void synchronize(Device device) = 0;

  // --- errors only a kernel can see (an out-of-range class index) ------------
  // `flag` (int64 [2] on this device, zeroed before the kernels that write
  // it) holds a count of bad values and one of them; raise(count, value)
  // throws the op's error when count > 0. The CPU calls it at once. CUDA
  // calls it when the host next waits for this device anyway (a copy to the
  // CPU such as item(), synchronize()), or at once under
  // KILN_CUDA_SYNC_DEBUG=1, so an op never stalls the GPU to check.
  virtual void defer_error_check(const Tensor& flag, std::function<void(int64_t count, int64_t value)> raise) = 0;

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
  // Over n of a contiguous x seen as [outer, n, inner]; log selects log_softmax.
  virtual void softmax_forward(const Tensor& x, const RowGeometry& g, bool log, Tensor& out) = 0;
  // gx from the forward output y and its gradient gy (contiguous, same shape).
  virtual void softmax_backward(const Tensor& y, const Tensor& gy, const RowGeometry& g, bool log, Tensor& gx) = 0;
  // Cross entropy of logits [N,C] (contiguous, floating) with class targets
  // [N] (contiguous int64, each meant to be in [0, C) or == ignore_index),
  // eps = label_smoothing: losses[n] = (1-eps)*(lse_n - x[n,t]) + eps*(lse_n
  // - mean_c x[n,c]), 0 for ignored rows; losses [N] has the logits' dtype,
  // lse [N] (f32, or f64 for f64 logits) gets logsumexp_c x[n,c] for the
  // backward. Computed in opmath (f32 for f16/bf16). A target outside [0, C)
  // that is not ignore_index gives a NaN loss and is counted in
  // target_errors (int64 [2], zero on entry: the count, then one such
  // target), for defer_error_check; no host synchronisation.
  virtual void cross_entropy_forward(const Tensor& logits, const Tensor& target, int64_t ignore_index,
                                     double label_smoothing, Tensor& losses, Tensor& lse, Tensor& target_errors) = 0;
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
  // The per-channel statistics save_mean/save_invstd [C] are float32 for
  // f32/f16/bf16 x (float64 for f64 x) whatever the input dtype.
  // training: normalise with batch statistics, update running stats (x's
  // dtype) in place (unbiased variance), write save_mean and save_invstd =
  // 1/sqrt(biased var + eps). Eval: normalise with the running stats;
  // save_mean/save_invstd already hold what the backward needs (the op set
  // them to the running mean and 1/sqrt(running_var + eps)) and are not
  // written. weight/bias [C] (x's dtype) may be undefined. relu: out =
  // relu(batch_norm(x)) (batch_norm_relu), as the elementwise relu would
  // give it.
  virtual void batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                  Tensor& running_var, bool training, double momentum, double eps, bool relu,
                                  Tensor& out, Tensor& save_mean, Tensor& save_invstd) = 0;
  // Overwrites each defined output (gw/gb in x's dtype). eps is the
  // forward's (cuDNN's backward takes it). relu_out, when defined, is the
  // forward's output of batch_norm_relu and gy its gradient: gy counts only
  // where relu_out > 0 (a backend may recompute that mask from x, weight and
  // bias instead of reading relu_out). bias is read only then.
  virtual void batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                   const Tensor& save_mean, const Tensor& save_invstd, bool training, double eps,
                                   const Tensor& relu_out, Tensor& gx, Tensor& gw, Tensor& gb) = 0;

  // --- fused optimizer steps over many tensors (updated in place) -----------------
  // momentum_buffers may be empty when momentum == 0.
  virtual void sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                          const std::vector<Tensor>& momentum_buffers, const SgdHyper& h) = 0;
  // max_exp_avg_sqs is empty unless amsgrad.
  virtual void adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                           const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                           const std::vector<Tensor>& max_exp_avg_sqs, const AdamHyper& h) = 0;

  // --- scans, sorting and sampling ---------------------------------------------------
  // out[o, k, i] = sum_{k' <= k} x[o, k', i] (reverse: k' >= k) of a contiguous x seen as
  // [outer, n, inner]; out contiguous, x's dtype (the op widens integers to
  // int64). Floating sums run in opmath (f32 for f16/bf16) or wider.
  virtual void cumsum(const Tensor& x, const RowGeometry& g, bool reverse, Tensor& out) = 0;
  // Each row of x [R, n] (contiguous) sorted, stably: values [R, n] in x's
  // dtype and indices [R, n] int64 (positions in the row), both contiguous
  // and overwritten. NaN orders above +inf (first when descending), as in PyTorch.
  virtual void sort(const Tensor& x, bool descending, Tensor& values, Tensor& indices) = 0;
  // The k largest (or smallest) of each row of x [R, n] in sorted order, ties
  // to the lower index: values [R, k], indices [R, k] int64, 0 <= k <= n.
  virtual void topk(const Tensor& x, int64_t k, bool largest, Tensor& values, Tensor& indices) = 0;
  // out [R, S] int64: S category indices per row of weights [R, n]
  // (contiguous floating, non-negative, not all zero), drawn with or without
  // replacement by functors/multinomial.h from Philox numbers starting at
  // `state` (draw r*S + s uses element r*S + s), so every device draws the
  // same indices. A row with a negative, inf or NaN weight, a zero sum, or
  // (without replacement) fewer than S non-zero weights gets index 0s and is
  // counted in errors (int64 [2], zero on entry: count, one bad row), for
  // defer_error_check.
  virtual void multinomial(const Tensor& weights, int64_t num_samples, bool replacement, const GeneratorState& state,
                           Tensor& out, Tensor& errors) = 0;

  // --- transformer primitives ------------------------------------------------------------
  // Normalises each row of x [R, n] (contiguous floating). Layer norm (rms
  // false): out = (x - mean) * rstd * weight + bias, rstd = 1/sqrt(biased
  // var + eps). RMS norm (rms true; bias and mean undefined): out = x * rstd *
  // weight, rstd = 1/sqrt(mean(x^2) + eps). weight/bias [n] in x's dtype or
  // undefined. Statistics are computed in f32 (f64 for f64 x) and written to
  // mean and rstd [R], f32 (f64 for f64 x).
  virtual void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool rms,
                                  Tensor& out, Tensor& mean, Tensor& rstd) = 0;
  // From the forward's statistics: overwrites each defined output, gx like x,
  // gw and gb [n] in x's dtype (summed over rows in f32 or f64, in an order
  // that does not depend on timing). gy like x, contiguous.
  virtual void layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& rstd, bool rms, Tensor& gx, Tensor& gw, Tensor& gb) = 0;
  // out [N, C] = rows ids[n] of weight [V, C] (both contiguous; ids int64 [N]).
  // An id outside [0, V) gives a zero row and is counted in errors (int64
  // [2], zero on entry: count, one such id), for defer_error_check.
  virtual void embedding_forward(const Tensor& weight, const Tensor& ids, Tensor& out, Tensor& errors) = 0;
  // grad_weight [V, C] (overwritten) = sum over n with ids[n] == v of grad
  // [N, C] row n; rows of padding_idx (>= 0) and ids outside [0, V) get
  // nothing. Deterministic on the CPU; CUDA by kiln::cuda's setting.
  virtual void embedding_backward(const Tensor& grad, const Tensor& ids, int64_t padding_idx,
                                  Tensor& grad_weight) = 0;
  // Attention of q [B, H, Tq, D] over k [B, H, Tk, D], v [B, H, Tk, Dv]
  // (one floating dtype; every [B, H, T, D] tensor here, out and the
  // gradients included, has contiguous rows `stride(2) >= D` apart and any
  // strides for B and H): out [B, H, Tq, Dv] = dropout(softmax(
  // q k^T * scale + mask)) v, never holding more than a tile of the Tq x Tk
  // scores. mask: undefined, bool (true = takes part) or q's dtype (added to
  // the scores), shaped [B, H, Tq, Tk] with any strides (0 where broadcast).
  // A query row that no key may see gets out = 0 and lse = -inf. lse [B, H,
  // Tq]: f32 (f64 for f64 q), the log-sum-exp of the masked, scaled scores.
  // Dropout keeps probability (b, h, i, j) when Philox element
  // ((b*H + h)*Tq + i)*Tk + j of p.dropout, as a float uniform, is >= p.dropout_p,
  // and scales it by 1/(1 - p.dropout_p): the mask of dropout() on a [B, H,
  // Tq, Tk] tensor.
  virtual void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                 const AttentionParams& p, Tensor& out, Tensor& lse) = 0;
  // Gradients from the forward's out and lse (probabilities are recomputed
  // tile by tile): overwrites each defined one of gq, gk, gv (shaped like
  // q, k, v). gout shaped like out.
  virtual void attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& mask, const Tensor& out, const Tensor& lse, const AttentionParams& p,
                                  Tensor& gq, Tensor& gk, Tensor& gv) = 0;
  // --- norms of many tensors at once (the training health guard) -----------------
  // out (float64 [T, 2], contiguous, overwritten): out[i][0] = the L2 norm of
  // tensors[i] over its finite elements, out[i][1] = how many of its elements
  // are NaN or infinite. tensors: contiguous, floating, any mix of dtypes.
  // Summed in double in a fixed order, so the result is reproducible.
  virtual void multi_tensor_norm(const std::vector<Tensor>& tensors, Tensor& out) = 0;
  // momentum_buffers is empty unless momentum > 0, grad_avgs unless centered.
  virtual void rmsprop_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                              const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                              const std::vector<Tensor>& grad_avgs, const RmspropHyper& h) = 0;
  virtual void adagrad_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                              const std::vector<Tensor>& sums, const AdagradHyper& h) = 0;
};

// The backend for a device; throws DeviceError when the device is not usable.
Backend& backend_for(const Device& device);
Backend& cpu_backend();

}  // namespace kiln::detail
