// Tensor::index / index_put_ with kiln::indexing (Python's x[...] as LibTorch
// spells it): each case states the NumPy result it must give.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "support/tensor_assert.h"

namespace kiln {
namespace {

// A bool tensor from 0/1 values.
Tensor mask(std::initializer_list<int> v) { return tensor(v).to(kBool); }

using namespace kiln::indexing;

// x = arange(24).view({2, 3, 4}) as float64: x[i, j, k] = 12 i + 4 j + k.
Tensor x234() { return arange(24).to(kFloat64).view({2, 3, 4}); }

TEST(Index, IntegersSlicesNoneAndEllipsisAreViews) {
  Tensor x = x234();
  Tensor a = x.index({Slice(), 0});  // x[:, 0]
  EXPECT_EQ(a.sizes(), (Shape{2, 4}));
  EXPECT_EQ(a.to_vector<double>(), (std::vector<double>{0, 1, 2, 3, 12, 13, 14, 15}));
  EXPECT_EQ(a.data_ptr<double>(), x.data_ptr<double>()) << "a view";
  EXPECT_EQ(x.index({1, 2, 3}).item<double>(), 23);
  EXPECT_EQ(x.index({-1, -1, -1}).item<double>(), 23);
  Tensor s = x.index({"...", Slice(1, None, 2)});  // x[..., 1::2]
  EXPECT_EQ(s.sizes(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.index({0, 0}).to_vector<double>(), (std::vector<double>{1, 3}));
  EXPECT_EQ(x.index({Ellipsis, 0}).sizes(), (Shape{2, 3}));
  EXPECT_EQ(x.index({None, Slice(), None}).sizes(), (Shape{1, 2, 1, 3, 4}));
  EXPECT_EQ(x.index({0, Slice(-2, None)}).sizes(), (Shape{2, 4}));
  EXPECT_EQ(x.index({0, Slice(None, 100)}).sizes(), (Shape{3, 4})) << "bounds clamp as in Python";
  EXPECT_EQ(x.index({true}).sizes(), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(x.index({false}).sizes(), (Shape{0, 2, 3, 4}));
}

TEST(Index, IntegerTensorsGather) {
  Tensor x = x234();
  Tensor rows = tensor({1, 0, 1});
  Tensor g = x.index({rows});  // x[[1, 0, 1]]
  EXPECT_EQ(g.sizes(), (Shape{3, 3, 4}));
  EXPECT_EQ(g.index({0, 0, 0}).item<double>(), 12);
  // Two adjacent tensor indices broadcast together: x[:, [0, 2], [1, 3]] -> [2, 2].
  Tensor p = x.index({Slice(), tensor({0, 2}), tensor({1, 3})});
  EXPECT_EQ(p.sizes(), (Shape{2, 2}));
  EXPECT_EQ(p.to_vector<double>(), (std::vector<double>{1, 11, 13, 23}));
  // Separated tensor indices put the broadcast dims first: x[[0, 1], :, [2, 3]] -> [2, 3].
  Tensor q = x.index({tensor({0, 1}), Slice(), tensor({2, 3})});
  EXPECT_EQ(q.sizes(), (Shape{2, 3}));
  EXPECT_EQ(q.to_vector<double>(), (std::vector<double>{2, 6, 10, 15, 19, 23}));
  // Negative and int32 indices.
  EXPECT_EQ(x.index({0, 0, tensor({-1, 0}).to(kInt32)}).to_vector<double>(), (std::vector<double>{3, 0}));
  // A 2-D index keeps its shape: x[0, 0][[[0, 1], [2, 3]]].
  EXPECT_EQ(x.index({0, 0, tensor({0, 1, 2, 3}).view({2, 2})}).sizes(), (Shape{2, 2}));
}

TEST(Index, BoolMasks) {
  Tensor x = tensor({1.0, -2.0, 3.0, -4.0, 5.0, -6.0}).view({2, 3});
  Tensor pos = x.index({x.gt(0)});  // x[x > 0]
  EXPECT_EQ(pos.to_vector<double>(), (std::vector<double>{1, 3, 5}));
  Tensor cols = x.index({Slice(), mask({1, 0, 1})});
  EXPECT_EQ(cols.sizes(), (Shape{2, 2}));
  EXPECT_EQ(cols.to_vector<double>(), (std::vector<double>{1, 3, -4, -6}));
  EXPECT_EQ(x.index({x.gt(100)}).sizes(), (Shape{0}));
}

TEST(Index, ErrorsNameTheIndex) {
  Tensor x = x234();
  EXPECT_THROW(x.index({0, 0, 0, 0}), IndexError);
  EXPECT_THROW(x.index({2}), IndexError);
  EXPECT_THROW(x.index({"...", "..."}), IndexError);
  EXPECT_THROW(x.index({"oops"}), ValueError);
  EXPECT_THROW(x.index({tensor({0.5f})}), DTypeError);
  EXPECT_THROW(x.index({tensor({5})}), IndexError);
  EXPECT_THROW(x.index({Slice(0, 2, -1)}), ValueError);
  EXPECT_THROW(x.index({mask({1, 0, 1})}), IndexError) << "mask shape [3] vs dim of size 2";
  try {
    x.index({0, 0, 9});
    FAIL();
  } catch (const IndexError& e) {
    EXPECT_NE(std::string(e.what()).find("index 9"), std::string::npos) << e.what();
  }
  EXPECT_EQ(describe({Slice(), 0, None, Slice(1, None, 2), "..."}), "[:, 0, None, 1::2, ...]");
}

TEST(IndexPut, BasicIndicesWriteThroughAView) {
  Tensor x = zeros({2, 3});
  x.index_put_({Slice(), 1}, 5.0);  // x[:, 1] = 5
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{0, 5, 0, 0, 5, 0}));
  x.index_put_({0}, tensor({1.0f, 2.0f, 3.0f}));  // x[0] = [1, 2, 3]
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{1, 2, 3, 0, 5, 0}));
  EXPECT_THROW(x.index_put_({0}, tensor({1.0f, 2.0f})), ShapeError);
}

TEST(IndexPut, TensorIndicesAndMasks) {
  Tensor x = zeros({5});
  x.index_put_({tensor({0, 3})}, tensor({7.0f, 8.0f}));
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{7, 0, 0, 8, 0}));
  x.index_put_({x.eq(0)}, -1.0);  // x[x == 0] = -1
  EXPECT_EQ(x.to_vector<float>(), (std::vector<float>{7, -1, -1, 8, -1}));
  // A repeated index: the last write wins.
  x.index_put_({tensor({1, 1})}, tensor({2.0f, 3.0f}));
  EXPECT_EQ(x.at<float>({1}), 3.0f);
  Tensor i = zeros({2, 2}, kInt64);
  i.index_put_({Slice(), tensor({1})}, 9);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{0, 9, 0, 9}));
  Tensor b = zeros({3}, kBool);
  b.index_put_({tensor({2})}, true);
  EXPECT_EQ(b.to_vector<bool>(), (std::vector<bool>{false, false, true}));
}

TEST(IndexAutograd, GradientsFlowThroughIndexAndIndexPut) {
  Tensor x = x234().requires_grad_();
  // y = x[:, [0, 2], 1].sum(): ones at those positions.
  x.index({Slice(), tensor({0, 2}), 1}).sum().backward();
  Tensor expect = zeros({2, 3, 4}, kFloat64);
  for (int64_t i : {0, 1})
    for (int64_t j : {0, 2}) expect.index_put_({i, j, 1}, 1.0);
  EXPECT_TENSOR_CLOSE(x.grad(), expect);

  // index_put_ on a copy: the overwritten positions get no gradient from
  // the old value, the value gets theirs.
  Tensor a = ones({4}, kFloat64).requires_grad_();
  Tensor v = tensor({2.0, 3.0}).requires_grad_();
  Tensor c = a * 1.0;
  c.index_put_({tensor({1, 3})}, v);
  (c * tensor({1.0, 10.0, 100.0, 1000.0})).sum().backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{1, 0, 100, 0}));
  EXPECT_EQ(v.grad().to_vector<double>(), (std::vector<double>{10, 1000}));

  // gradcheck through a mask and a slice.
  Tensor m = tensor({0.3, -1.2, 2.0, 0.7, -0.1, 1.5}).view({2, 3}).requires_grad_();
  auto f = [](const std::vector<Tensor>& in) {
    return in[0].index({in[0].detach().gt(0)}) * 2 + in[0].index({Slice(), Slice(1, None)}).sum();
  };
  EXPECT_TRUE(autograd::gradcheck(f, {m}).ok);
  // index_put_ into a leaf that requires grad is refused, as in PyTorch.
  EXPECT_THROW(a.index_put_({0}, 1.0), AutogradError);
}

}  // namespace
}  // namespace kiln
