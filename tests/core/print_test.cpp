// operator<< prints like PyTorch's repr.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include <kiln/kiln.h>

namespace kiln {
namespace {

std::string printed(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

TEST(Print, FloatVectors) {
  EXPECT_EQ(printed(tensor({1.0f, 2.0f, 3.0f})), "tensor([1., 2., 3.])");
  EXPECT_EQ(printed(tensor({1.5f, -2.0f})), "tensor([ 1.5000, -2.0000])");
  EXPECT_EQ(printed(tensor({1e-5f, 1.0f})), "tensor([1.0000e-05, 1.0000e+00])");
  EXPECT_EQ(printed(tensor({1.0f, NAN, INFINITY})), "tensor([1., nan, inf])");
}

TEST(Print, IntegersAndBools) {
  EXPECT_EQ(printed(tensor({1, -20, 3})), "tensor([  1, -20,   3])");
  EXPECT_EQ(printed(tensor({1, 0, 1}).to(kBool)), "tensor([ True, False,  True])");
}

TEST(Print, Matrices) {
  EXPECT_EQ(printed(arange(6).reshape({2, 3})), "tensor([[0, 1, 2],\n        [3, 4, 5]])");
  EXPECT_EQ(printed(arange(8).reshape({2, 2, 2})),
            "tensor([[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]])");
  EXPECT_EQ(printed(arange(4, kFloat32).reshape({2, 2}).t()), "tensor([[0., 2.],\n        [1., 3.]])");
}

TEST(Print, ScalarsEmptyAndDtypes) {
  EXPECT_EQ(printed(scalar_tensor(3.5)), "tensor(3.5000)");
  EXPECT_EQ(printed(scalar_tensor(7, kInt64)), "tensor(7)");
  EXPECT_EQ(printed(zeros({0})), "tensor([])");
  EXPECT_EQ(printed(zeros({0, 3})), "tensor([], size=(0, 3))");
  EXPECT_EQ(printed(tensor({1.0, 2.5})), "tensor([1.0000, 2.5000], dtype=kiln.float64)");
  EXPECT_EQ(printed(tensor({1, 2}, kInt32)), "tensor([1, 2], dtype=kiln.int32)");
  EXPECT_EQ(printed(ones({2}, kFloat16)), "tensor([1., 1.], dtype=kiln.float16)");
  EXPECT_EQ(printed(Tensor()), "tensor(undefined)");
}

TEST(Print, AutogradState) {
  Tensor x = zeros({2}).requires_grad_();
  EXPECT_EQ(printed(x), "tensor([0., 0.], requires_grad=True)");
  EXPECT_EQ(printed(x * 2), "tensor([0., 0.], grad_fn=<MulBackward>)");
  EXPECT_EQ(printed(x.detach()), "tensor([0., 0.])");
}

TEST(Print, SummarisesLargeTensors) {
  const std::string s = printed(arange(2000));
  EXPECT_EQ(s, "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])");
}

TEST(Print, StrMatchesStream) { EXPECT_EQ(tensor({2.0f}).str(), "tensor([2.])"); }

}  // namespace
}  // namespace kiln
