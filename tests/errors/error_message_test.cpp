// One test per error class: the right kiln::Error subclass, and a message
// that names the op and the shapes/dtypes/devices involved.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

namespace kiln {
namespace {

// Runs fn, expects E, and returns the message.
template <class E, class Fn>
std::string expect_error(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "nothing was thrown";
  return "";
}

void expect_contains(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "\"" << msg << "\" lacks \"" << p << "\"";
}

TEST(Errors, AllDeriveFromKilnError) {
  EXPECT_THROW(zeros({2}) + zeros({3}), Error);
  EXPECT_THROW(zeros({2}) + zeros({3}), std::runtime_error);
}

TEST(Errors, ShapeErrorNamesOpAndShapes) {
  expect_contains(expect_error<ShapeError>([] { mul(zeros({2, 3}), zeros({2, 4})); }), {"mul", "[2, 3]", "[2, 4]"});
  expect_contains(expect_error<ShapeError>([] { matmul(zeros({2, 3}), zeros({2, 3})); }), {"matmul", "[2, 3]"});
  expect_contains(expect_error<ShapeError>([] { zeros({6}).view({4, -1}); }), {"view", "[4, -1]", "6"});
  Tensor a = zeros({2, 3});
  expect_contains(expect_error<ShapeError>([&] { a.add_(zeros({4, 2, 3})); }), {"add_", "[4, 2, 3]", "[2, 3]"});
}

TEST(Errors, DTypeErrorNamesOpAndDtypes) {
  expect_contains(expect_error<DTypeError>([] { gather(zeros({3}), 0, zeros({3})); }), {"gather", "float32"});
  expect_contains(expect_error<DTypeError>([] { zeros({2}, kInt32).requires_grad_(); }), {"requires_grad_", "int32"});
  expect_contains(expect_error<DTypeError>([] { bmm(zeros({1, 2, 2}), zeros({1, 2, 2}, kFloat16)); }),
                  {"bmm", "float32", "float16"});
  Tensor i = zeros({2}, kInt64);
  expect_contains(expect_error<DTypeError>([&] { i.mul_(full({2}, 0.5)); }), {"mul_", "float32", "int64"});
}

TEST(Errors, DeviceErrorNamesTheDevice) {
  if (cuda::is_available()) {
    Tensor g = zeros({2}, "cuda:0");
    expect_contains(expect_error<DeviceError>([&] { add(zeros({2}), g); }), {"add", "cpu", "cuda:0"});
  } else {
    expect_contains(expect_error<DeviceError>([] { zeros({2}, "cuda:0"); }), {"cuda"});
  }
}

TEST(Errors, ValueErrorNamesOpAndValue) {
  expect_contains(expect_error<ValueError>([] { zeros({2, 2}).item<float>(); }), {"item", "[2, 2]"});
  expect_contains(expect_error<ValueError>([] { arange(0, 10, 0); }), {"arange", "step"});
  expect_contains(expect_error<ValueError>([] { Device("tpu"); }), {"Device", "tpu"});
  expect_contains(expect_error<ValueError>([] { split(zeros({4}), -2); }), {"split", "-2"});
}

TEST(Errors, IndexErrorNamesOpIndexAndShape) {
  expect_contains(expect_error<IndexError>([] { zeros({2, 3}).select(0, 5); }), {"select", "5", "[2, 3]"});
  expect_contains(expect_error<IndexError>([] { index_select(zeros({4, 2}), 0, tensor({1, 9})); }),
                  {"index_select", "[0, 4)", "9"});
  expect_contains(expect_error<IndexError>([] { sum(zeros({2, 3}), {-3}); }), {"sum", "-3", "rank 2"});
}

TEST(Errors, AutogradErrorExplainsTheMisuse) {
  Tensor w = ones({2}).requires_grad_();
  expect_contains(expect_error<AutogradError>([&] { w.sub_(1); }), {"sub_", "leaf", "NoGradGuard"});
  Tensor y = w * 2;
  expect_contains(expect_error<AutogradError>([&] { y.backward(); }), {"backward", "[2]"});
}

}  // namespace
}  // namespace kiln
