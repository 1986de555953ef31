// CPU fused optimizer updates (SGD, Adam/AdamW, RMSprop, Adagrad) over lists of tensors.
// Every list entry i holds a parameter, its gradient and its state buffers,
// all of one dtype and shape. Elements are independent, so each tensor is
// one loop over kiln's pool; f16/bf16 values are loaded into f32 (opmath), updated and
// stored back. The update itself is kernels/functors/optim.h's, as on CUDA.
#include <algorithm>
#include <array>

#include "core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/loops.h"
#include "cpu/parallel.h"
#include "functors/optim.h"

namespace kiln::cpu {

namespace {

// Runs `update(tensors...)` on contiguous versions of the tensors and copies
// back any that were strided, so the kernels below only see dense memory.
template <size_t N, class Update>
void with_contiguous(std::array<Tensor, N> ts, Update&& update) {
  std::array<Tensor, N> dense;
  for (size_t k = 0; k < N; ++k) {
    dense[k] = ts[k];
    if (!ts[k].defined() || ts[k].is_contiguous()) continue;
    dense[k] = detail::make_empty(ts[k].sizes(), ts[k].dtype(), ts[k].device());
    detail::cpu_backend().copy(ts[k], dense[k]);
  }
  update(dense);
  for (size_t k = 0; k < N; ++k)
    if (dense[k].defined() && !dense[k].is_same(ts[k])) detail::cpu_backend().copy(dense[k], ts[k]);
}

// Runs one update functor (kernels/functors/optim.h, shared with the CUDA
// kernel) over n elements of its lists: p[0] param, p[1] grad (only read),
// the rest state buffers, which may be null (unused by this update).
// The elements are split over kiln's pool, and within a range they go in
// chunks copied into local arrays, an absent list as zeros (never written
// back): the update loop then has no per-element test of which lists exist
// (one, on OpenMP threads, made the MLP benchmark's SGD step 17% of its
// training step) and no pointers that may alias.
// The functor is copied to a local so that its fields are loop invariants:
// used through the reference, they were reloaded every element and the loop
// stayed scalar, local arrays or not (AdamW on char_gpt's 834k parameters
// 1.5-2.0 ms, against 0.37-0.52 ms vectorised; an add over the same memory
// runs at 80 GB/s). This file is built with -fno-math-errno for Adam's sqrt.
template <class T, class Step>
void apply_step(const std::array<T*, Step::kLists>& p, int64_t n, const Step& step) {
  using M = opmath_t<T>;
  constexpr int L = Step::kLists;
  constexpr int64_t kChunk = 256;
  parallel_ranges(n, n * L, [&](int64_t begin, int64_t end) {
    const Step st = step;  // a local copy: its fields are loop invariants, not loads through a reference
    alignas(64) M v[L][kChunk];
    for (int64_t c = begin; c < end; c += kChunk) {
      const int64_t len = std::min(kChunk, end - c);
      for (int l = 0; l < L; ++l) {
        if (p[l] == nullptr) {
          std::fill(v[l], v[l] + len, M(0));
        } else {
          const T* src = p[l] + c;
          for (int64_t i = 0; i < len; ++i) v[l][i] = static_cast<M>(src[i]);
        }
      }
      for (int64_t i = 0; i < len; ++i) {
        M e[L];
        for (int l = 0; l < L; ++l) e[l] = v[l][i];
        st(e);
        for (int l = 0; l < L; ++l) v[l][i] = e[l];
      }
      for (int l = 0; l < L; ++l) {
        if (l == 1 || p[l] == nullptr) continue;  // the gradient is only read
        T* dst = p[l] + c;
        for (int64_t i = 0; i < len; ++i) dst[i] = static_cast<T>(v[l][i]);
      }
    }
  });
}

template <class T, size_t N>
std::array<T*, N> data_of(const std::array<Tensor, N>& t) {
  std::array<T*, N> p;
  for (size_t k = 0; k < N; ++k) p[k] = t[k].defined() ? static_cast<T*>(t[k].raw_data_ptr()) : nullptr;
  return p;
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
        apply_step(data_of<T>(t), t[0].numel(), functors::SgdStep<opmath_t<T>>::make(h));
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
        apply_step(data_of<T>(t), t[0].numel(), functors::AdamStep<opmath_t<T>>::make(h));
      });
    });
  }
}

void CpuBackend::rmsprop_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                                const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                                const std::vector<Tensor>& grad_avgs, const detail::RmspropHyper& h) {
  const bool momentum = h.momentum > 0;
  KILN_INTERNAL_ASSERT(grads.size() == params.size() && square_avgs.size() == params.size() &&
                           (!momentum || momentum_buffers.size() == params.size()) &&
                           (!h.centered || grad_avgs.size() == params.size()),
                       "rmsprop_update: list sizes differ");
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].numel() == 0) continue;
    Tensor buf = momentum ? momentum_buffers[i] : Tensor();
    Tensor avg = h.centered ? grad_avgs[i] : Tensor();
    with_contiguous<5>({params[i], grads[i], square_avgs[i], buf, avg}, [&](std::array<Tensor, 5>& t) {
      visit_floating(t[0].dtype(), "rmsprop_update", [&](auto tag) {
        using T = decltype(tag);
        apply_step(data_of<T>(t), t[0].numel(), functors::RmspropStep<opmath_t<T>>::make(h));
      });
    });
  }
}

void CpuBackend::adagrad_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                                const std::vector<Tensor>& sums, const detail::AdagradHyper& h) {
  KILN_INTERNAL_ASSERT(grads.size() == params.size() && sums.size() == params.size(),
                       "adagrad_update: list sizes differ");
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].numel() == 0) continue;
    with_contiguous<3>({params[i], grads[i], sums[i]}, [&](std::array<Tensor, 3>& t) {
      visit_floating(t[0].dtype(), "adagrad_update", [&](auto tag) {
        using T = decltype(tag);
        apply_step(data_of<T>(t), t[0].numel(), functors::AdagradStep<opmath_t<T>>::make(h));
      });
    });
  }
}

}  // namespace kiln::cpu
