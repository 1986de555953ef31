// kiln::set_num_threads / get_num_threads: one call sets kiln's pool,
// OpenMP (oneDNN's runtime here) and OpenBLAS.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "cpu/parallel.h"

namespace kiln {
namespace {

// Restores the thread count a test changed.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(get_num_threads()) {}
  ~ThreadCountGuard() { set_num_threads(saved_); }

 private:
  int saved_;
};

TEST(SetNumThreads, SetsAllThreePools) {
  ThreadCountGuard guard;
  set_num_threads(3);
  EXPECT_EQ(get_num_threads(), 3);
  EXPECT_EQ(cpu::pool_threads(), 3);
  EXPECT_EQ(cpu::openmp_threads(), 3);
  EXPECT_EQ(cpu::blas_threads(), 3);
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  EXPECT_EQ(cpu::blas_threads(), 1);
  EXPECT_EQ(cpu::openmp_threads(), 1);
}

TEST(SetNumThreads, TheOpsStillComputeTheSameWithOneThread) {
  ThreadCountGuard guard;
  manual_seed(0);
  Tensor a = randn({300, 200}), b = randn({200, 100});
  set_num_threads(4);
  Tensor many = matmul(a, b), many_sum = a.sum(1);
  set_num_threads(1);
  Tensor one = matmul(a, b), one_sum = a.sum(1);
  EXPECT_TRUE(allclose(many, one, 1e-5, 1e-5));
  EXPECT_TRUE(allclose(many_sum, one_sum, 1e-5, 1e-5));
}

TEST(SetNumThreads, RefusesNonPositive) {
  EXPECT_THROW(set_num_threads(0), ValueError);
  EXPECT_THROW(set_num_threads(-2), ValueError);
}

}  // namespace
}  // namespace kiln
