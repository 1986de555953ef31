// Shapes whose element count, strides or byte size would overflow int64 are
// refused with a ShapeError wherever they enter: factories, from_blob and
// views (issue 12). Before, [0, 2^62, 2^62] made a tensor with wrapped strides.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <string>
#include <vector>

namespace {

using kiln::Shape;
using kiln::Tensor;

constexpr int64_t k2e31 = int64_t(1) << 31;
constexpr int64_t k2e32 = int64_t(1) << 32;
constexpr int64_t k2e62 = int64_t(1) << 62;

template <class Fn>
std::string shape_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const kiln::ShapeError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("another error: ") + e.what();
  }
  return "no error";
}

TEST(ShapeOverflow, FactoriesRefuseZeroElementShapesWhoseStridesOverflow) {
  for (const Shape& s : {Shape{0, k2e62, k2e62}, Shape{4294967295, 4294967295, 0}}) {
    const std::string msg = shape_error_of([&] { kiln::empty(s); });
    EXPECT_NE(msg.find("empty: shape "), std::string::npos) << msg;
    EXPECT_NE(msg.find("overflows a 64-bit integer"), std::string::npos) << msg;
    EXPECT_NE(shape_error_of([&] { kiln::zeros(s); }), "no error");
  }
}

TEST(ShapeOverflow, FactoriesRefuseElementCountsAndByteSizesPastInt64) {
  EXPECT_NE(shape_error_of([] { kiln::zeros({k2e32, k2e32}); }).find("product of its dimensions"), std::string::npos);
  // 2^61 doubles fit as a count but not as bytes.
  EXPECT_NE(shape_error_of([] { kiln::empty({int64_t(1) << 61}, kiln::kFloat64); }).find("size in bytes"),
            std::string::npos);
  EXPECT_NE(shape_error_of([] { kiln::empty({-1, 2}); }).find("negative dimension"), std::string::npos);
}

TEST(ShapeOverflow, ARepresentableZeroElementShapeStillWorks) {
  Tensor t = kiln::empty({0, k2e31, k2e31});
  EXPECT_EQ(t.numel(), 0);
  EXPECT_EQ(t.strides(), (Shape{k2e31 * k2e31, k2e31, 1}));
}

TEST(ShapeOverflow, FromBlobRefusesOverflowingShapesAndStrides) {
  std::vector<float> data(4);
  EXPECT_NE(shape_error_of([&] { kiln::from_blob(data.data(), {0, k2e62, k2e62}); }), "no error");
  const std::string msg = shape_error_of([&] { kiln::from_blob(data.data(), {3}, {k2e62}); });
  EXPECT_NE(msg.find("from_blob:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflows"), std::string::npos) << msg;
  EXPECT_NE(shape_error_of([&] { kiln::from_blob(data.data(), {2}, {-1}); }).find("negative stride"),
            std::string::npos);
}

TEST(ShapeOverflow, ViewsRefuseOverflowingTargetShapes) {
  Tensor empty = kiln::zeros({0});
  EXPECT_NE(shape_error_of([&] { empty.view({0, k2e62, k2e62}); }).find("view: shape"), std::string::npos);
  EXPECT_NE(shape_error_of([&] { empty.reshape({k2e62, k2e62, 0}); }), "no error");
  EXPECT_NE(shape_error_of([&] { kiln::zeros({4}).view({k2e62, k2e62, 4}); }).find("invalid for input of size 4"),
            std::string::npos);
  EXPECT_NE(shape_error_of([&] { kiln::ones({1, 1}).expand({k2e62, k2e62}); }).find("expand:"), std::string::npos);
  EXPECT_NE(shape_error_of([&] { kiln::ones({1}).expand({0, k2e62, k2e62}); }), "no error");
}

TEST(ShapeOverflow, AsStridedRefusesOverflowingAndNegativeOffsets) {
  Tensor t = kiln::zeros({4});
  EXPECT_NE(shape_error_of([&] { t.as_strided({3}, {k2e62}); }).find("as_strided:"), std::string::npos);
  // A negative offset used to pass the bounds check and read before the storage.
  EXPECT_NE(shape_error_of([&] { t.as_strided({2}, {1}, -1); }).find("negative storage offset"), std::string::npos);
  EXPECT_THROW(t.as_strided({2}, {int64_t(1) << 40}), kiln::IndexError);  // representable, past the storage
}

TEST(ShapeOverflow, ArangeRefusesACountPastInt64) {
  EXPECT_THROW(kiln::arange(0.0, 1e30, 1.0), kiln::ValueError);
}

}  // namespace
