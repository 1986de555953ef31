// Assertions on tensors for GoogleTest.
#pragma once
#include <gtest/gtest.h>

#include <kiln/kiln.h>

namespace kiln::testing {

// Passes when a and b have the same shape and |a - b| <= atol + rtol * |b|
// everywhere; the failure message shows the worst element.
::testing::AssertionResult tensors_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);

}  // namespace kiln::testing

#define EXPECT_TENSOR_CLOSE(a, b, ...) EXPECT_TRUE(::kiln::testing::tensors_close((a), (b), ##__VA_ARGS__))
