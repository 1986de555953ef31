// CPU fused optimizer updates (SGD, Adam/AdamW) over lists of tensors.
// Every list entry i holds a parameter, its gradient and its state buffers,
// all of one dtype and shape. Elements are independent, so each tensor is
// one OpenMP loop; f16/bf16 values are loaded into f32 (opmath), updated and
// stored back. The formulas are PyTorch's (torch.optim.SGD / Adam / AdamW).
#include <algorithm>
#include <cmath>

#include "core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/loops.h"

namespace kiln::cpu {

namespace {

// Runs `update(tensors...)` on contiguous versions of the tensors and copies
// back any that were strided, so the kernels below only see dense memory.
template <size_t N, class Update>
void with_contiguous(std::array<Tensor, N> ts, Update&& update) {
  std::array<Tensor, N> dense;
  for (size_t k = 0; k < N; ++k)
    dense[k] = ts[k].defined() && !ts[k].is_contiguous() ? ts[k].detach().contiguous() : ts[k];
  update(dense);
  for (size_t k = 0; k < N; ++k)
    if (dense[k].defined() && !dense[k].is_same(ts[k])) detail::cpu_backend().copy(dense[k], ts[k]);
}

template <class T>
void sgd_kernel(T* p, const T* g, T* buf, int64_t n, const detail::SgdHyper& h) {
  using M = opmath_t<T>;
  const M lr = static_cast<M>(h.lr), wd = static_cast<M>(h.weight_decay), mom = static_cast<M>(h.momentum);
  const M keep = static_cast<M>(1.0 - h.dampening);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    M pi = static_cast<M>(p[i]);
    M d = static_cast<M>(g[i]);
    if (wd != M(0)) d += wd * pi;
    if (mom != M(0)) {
      const M b = h.first_step ? d : mom * static_cast<M>(buf[i]) + keep * d;
      buf[i] = static_cast<T>(b);
      d = h.nesterov ? d + mom * b : b;
    }
    p[i] = static_cast<T>(pi - lr * d);
  }
}

template <class T>
void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const detail::AdamHyper& h) {
  using M = opmath_t<T>;
  // Step-dependent factors are computed once in double, like PyTorch's host-side scalars.
  const double bias1 = 1.0 - std::pow(h.beta1, static_cast<double>(h.step));
  const double bias2 = 1.0 - std::pow(h.beta2, static_cast<double>(h.step));
  const M step_size = static_cast<M>(h.lr / bias1);
  const M bias2_sqrt = static_cast<M>(std::sqrt(bias2));
  const M b1 = static_cast<M>(h.beta1), b2 = static_cast<M>(h.beta2);
  const M eps = static_cast<M>(h.eps), wd = static_cast<M>(h.weight_decay);
  const M decay = static_cast<M>(1.0 - h.lr * h.weight_decay);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (int64_t i = 0; i < n; ++i) {
    M pi = static_cast<M>(p[i]);
    M gi = static_cast<M>(g[i]);
    if (h.weight_decay != 0) {
      if (h.decoupled_weight_decay) {
        pi *= decay;
      } else {
        gi += wd * pi;
      }
    }
    M mi = static_cast<M>(m[i]);
    mi += (M(1) - b1) * (gi - mi);  // lerp towards the gradient, as torch does
    const M vi = b2 * static_cast<M>(v[i]) + (M(1) - b2) * gi * gi;
    M vhat = vi;
    if (h.amsgrad) {
      vhat = std::max(static_cast<M>(vmax[i]), vi);
      vmax[i] = static_cast<T>(vhat);
    }
    m[i] = static_cast<T>(mi);
    v[i] = static_cast<T>(vi);
    const M denom = std::sqrt(vhat) / bias2_sqrt + eps;
    p[i] = static_cast<T>(pi - step_size * mi / denom);
  }
}

}  // namespace

void CpuBackend::sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                            const std::vector<Tensor>& momentum_buffers, const detail::SgdHyper& h) {
  const bool use_buffers = h.momentum != 0;
  KILN_INTERNAL_ASSERT(grads.size() == params.size() && (!use_buffers || momentum_buffers.size() == params.size()),
                       "sgd_update: list sizes differ");
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].numel() == 0) continue;
    Tensor buf = use_buffers ? momentum_buffers[i] : Tensor();
    with_contiguous<3>({params[i], grads[i], buf}, [&](std::array<Tensor, 3>& t) {
      visit_floating(t[0].dtype(), "sgd_update", [&](auto tag) {
        using T = decltype(tag);
        sgd_kernel<T>(static_cast<T*>(t[0].raw_data_ptr()), static_cast<const T*>(t[1].raw_data_ptr()),
                      use_buffers ? static_cast<T*>(t[2].raw_data_ptr()) : nullptr, t[0].numel(), h);
      });
    });
  }
}

void CpuBackend::adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                             const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                             const std::vector<Tensor>& max_exp_avg_sqs, const detail::AdamHyper& h) {
  KILN_INTERNAL_ASSERT(grads.size() == params.size() && exp_avgs.size() == params.size() &&
                           exp_avg_sqs.size() == params.size() && (!h.amsgrad || max_exp_avg_sqs.size() == params.size()),
                       "adam_update: list sizes differ");
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].numel() == 0) continue;
    Tensor vmax = h.amsgrad ? max_exp_avg_sqs[i] : Tensor();
    with_contiguous<5>({params[i], grads[i], exp_avgs[i], exp_avg_sqs[i], vmax}, [&](std::array<Tensor, 5>& t) {
      visit_floating(t[0].dtype(), "adam_update", [&](auto tag) {
        using T = decltype(tag);
        adam_kernel<T>(static_cast<T*>(t[0].raw_data_ptr()), static_cast<const T*>(t[1].raw_data_ptr()),
                       static_cast<T*>(t[2].raw_data_ptr()), static_cast<T*>(t[3].raw_data_ptr()),
                       h.amsgrad ? static_cast<T*>(t[4].raw_data_ptr()) : nullptr, t[0].numel(), h);
      });
    });
  }
}

}  // namespace kiln::cpu
