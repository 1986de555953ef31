// The fused optimizer updates, written once for the CPU loop
// (src/cpu/optim_cpu.cpp) and the multi-tensor CUDA kernel (kernels/optim.cu),
// with the one typed set of hyper-parameters that travels from the
// optimizer's options (src/optim/) through the backend to the kernel.
// The formulas are PyTorch's (torch.optim.SGD / Adam / AdamW).
#pragma once
#include <cmath>
#include <cstdint>

#include "functors/math.h"

namespace kiln::functors {

// SGD: g = grad + weight_decay * p; with momentum, b = g on the first step,
// else b = momentum * b + (1 - dampening) * g, and g = g + momentum * b
// (nesterov) or g = b; then p -= lr * g.
struct SgdHyper {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  bool first_step = false;  // the momentum buffer starts as the gradient
};

// Adam/AdamW: decoupled decay p *= 1 - lr*wd (AdamW), or g += wd*p (Adam);
// m = lerp(m, g, 1 - beta1); v = beta2*v + (1 - beta2)*g*g; with amsgrad
// vmax = maximum(vmax, v) is used for v below, and a NaN in either
// propagates, as torch.maximum does; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
// with bc_i = 1 - beta_i^step.
struct AdamHyper {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false;  // AdamW
  bool amsgrad = false;
  int64_t step = 1;  // for bias correction, already incremented
};

// RMSprop: g = grad + weight_decay * p; v = alpha*v + (1 - alpha)*g*g;
// centered: m = alpha*m + (1 - alpha)*g and avg = sqrt(v - m*m) + eps, else
// avg = sqrt(v) + eps; with momentum b = momentum*b + g/avg and p -= lr*b,
// else p -= lr * g/avg (torch.optim.RMSprop).
struct RmspropHyper {
  double lr = 0, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false;
};

// Adagrad: g = grad + weight_decay * p; sum += g*g;
// p -= lr / (1 + (step - 1)*lr_decay) * g / (sqrt(sum) + eps) (torch.optim.Adagrad).
struct AdagradHyper {
  double lr = 0, lr_decay = 0, weight_decay = 0, eps = 1e-10;
  int64_t step = 1;  // already incremented
};

// One SGD update of one element in opmath M. v = {param, grad, momentum
// buffer}; the buffer is read and written only with momentum. The grad is
// never written.
template <class M>
struct SgdStep {
  static constexpr int kLists = 3;
  M lr, momentum, one_minus_dampening, weight_decay;
  bool has_momentum, nesterov, first_step;

  static SgdStep make(const SgdHyper& h) {
    return SgdStep{static_cast<M>(h.lr),
                   static_cast<M>(h.momentum),
                   static_cast<M>(1.0 - h.dampening),
                   static_cast<M>(h.weight_decay),
                   h.momentum != 0,
                   h.nesterov,
                   h.first_step};
  }
  KILN_HD void operator()(M (&v)[kLists]) const {
    const M param = v[0];
    M g = v[1];
    if (weight_decay != M(0)) g = g + weight_decay * param;
    if (has_momentum) {
      const M buf = first_step ? g : momentum * v[2] + one_minus_dampening * g;
      v[2] = buf;
      g = nesterov ? g + momentum * buf : buf;
    }
    v[0] = param - lr * g;
  }
};

// One Adam/AdamW update of one element in opmath M. v = {param, grad,
// exp_avg, exp_avg_sq, max_exp_avg_sq}; the last is used only with amsgrad.
// The step-dependent scalars are computed once in double, as PyTorch
// computes them on the host.
template <class M>
struct AdamStep {
  static constexpr int kLists = 5;
  M one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, decay_factor, step_size, bias_correction2_sqrt;
  bool decoupled, amsgrad;

  static AdamStep make(const AdamHyper& h) {
    const double bias_correction1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
    const double bias_correction2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
    return AdamStep{static_cast<M>(1.0 - h.beta1),
                    static_cast<M>(h.beta2),
                    static_cast<M>(1.0 - h.beta2),
                    static_cast<M>(h.eps),
                    static_cast<M>(h.weight_decay),
                    static_cast<M>(1.0 - h.lr * h.weight_decay),
                    static_cast<M>(h.lr / bias_correction1),
                    static_cast<M>(std::sqrt(bias_correction2)),
                    h.decoupled_weight_decay,
                    h.amsgrad};
  }
  KILN_HD void operator()(M (&v)[kLists]) const {
    M param = v[0];
    M g = v[1];
    if (weight_decay != M(0)) {
      if (decoupled) param = param * decay_factor;
      else g = g + weight_decay * param;
    }
    const M m = v[2] + one_minus_beta1 * (g - v[2]);  // lerp, as PyTorch
    const M s = beta2 * v[3] + one_minus_beta2 * g * g;
    M second = s;
    if (amsgrad) {
      const M prev = v[4];
      second = (s > prev || isnan_(s)) ? s : prev;  // torch.maximum: a NaN on either side propagates
      v[4] = second;
    }
    const M denom = sqrt_(second) / bias_correction2_sqrt + eps;
    v[0] = param - step_size * m / denom;
    v[2] = m;
    v[3] = s;
  }
};

// One RMSprop update of one element in opmath M. v = {param, grad,
// square_avg, momentum_buffer, grad_avg}; the last two are used only with
// momentum and centered.
template <class M>
struct RmspropStep {
  static constexpr int kLists = 5;
  M lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
  bool has_momentum, centered;

  static RmspropStep make(const RmspropHyper& h) {
    return RmspropStep{static_cast<M>(h.lr),           static_cast<M>(h.alpha), static_cast<M>(1.0 - h.alpha),
                       static_cast<M>(h.eps),          static_cast<M>(h.weight_decay),
                       static_cast<M>(h.momentum),     h.momentum > 0,          h.centered};
  }
  KILN_HD void operator()(M (&v)[kLists]) const {
    const M param = v[0];
    M g = v[1];
    if (weight_decay != M(0)) g = g + weight_decay * param;
    const M s = alpha * v[2] + one_minus_alpha * g * g;
    v[2] = s;
    M avg;
    if (centered) {
      const M m = v[4] + one_minus_alpha * (g - v[4]);  // lerp, as PyTorch
      v[4] = m;
      avg = sqrt_(s - m * m) + eps;
    } else {
      avg = sqrt_(s) + eps;
    }
    if (has_momentum) {
      const M b = momentum * v[3] + g / avg;
      v[3] = b;
      v[0] = param - lr * b;
    } else {
      v[0] = param - lr * g / avg;
    }
  }
};

// One Adagrad update of one element in opmath M. v = {param, grad, sum}.
// The decayed lr is computed once in double, as PyTorch computes it on the host.
template <class M>
struct AdagradStep {
  static constexpr int kLists = 3;
  M clr, weight_decay, eps;

  static AdagradStep make(const AdagradHyper& h) {
    const double clr = h.lr / (1.0 + static_cast<double>(h.step - 1) * h.lr_decay);
    return AdagradStep{static_cast<M>(clr), static_cast<M>(h.weight_decay), static_cast<M>(h.eps)};
  }
  KILN_HD void operator()(M (&v)[kLists]) const {
    const M param = v[0];
    M g = v[1];
    if (weight_decay != M(0)) g = g + weight_decay * param;
    const M s = v[2] + g * g;
    v[2] = s;
    v[0] = param - clr * g / (sqrt_(s) + eps);
  }
};

}  // namespace kiln::functors
