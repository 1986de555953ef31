// The online softmax statistics (functors/online_softmax.h, shared with the
// CPU) in the kernels' namespace, and their combine as a functor for
// warp_allreduce / block_allreduce (common/reduce.cuh). Used by softmax.cu,
// cross_entropy.cu and attention.cu.
#pragma once
#include "functors/online_softmax.h"

namespace kiln::kernels {

using functors::combine_max_sum;
using functors::logsumexp_of;
using functors::max_sum_identity;
using functors::MaxSum;
using functors::neg_inf;
using functors::online_add;
using functors::rescale;
using functors::shift_of;

template <class V>
struct CombineMaxSum {
  __device__ MaxSum<V> operator()(MaxSum<V> a, MaxSum<V> b) const { return combine_max_sum(a, b); }
};

}  // namespace kiln::kernels
