// Small builders shared by the rows_*.cpp files.
#pragma once
#include <cmath>

#include "ops/op_table.h"

namespace kiln::testing::rows {

inline SampleInput in(Shape s, Layout l = Layout::Contiguous) {
  SampleInput i;
  i.shape = std::move(s);
  i.layout = l;
  return i;
}
inline SampleInput in_domain(Shape s, Domain d, Layout l = Layout::Contiguous) {
  SampleInput i = in(std::move(s), l);
  i.domain = d;
  return i;
}
inline SampleInput fixed(Shape s, std::vector<double> values, DType dtype = kInt64) {
  SampleInput i = in(std::move(s));
  i.fixed = std::move(values);
  i.fixed_dtype = dtype;
  return i;
}

constexpr Layout kT = Layout::Transposed;
constexpr Layout kS = Layout::Sliced;
constexpr Layout kE = Layout::Expanded;

// Shapes every unary op runs on: scalars, size-0 and size-1 dims, odd sizes,
// non-contiguous layouts, and one large enough for the threaded CPU path.
inline std::vector<std::vector<SampleInput>> unary_inputs() {
  return {{in({})},          {in({1})},           {in({7})},         {in({4, 7})},      {in({3, 5}, kT)},
          {in({2, 3, 4}, kS)}, {in({4, 6}, kE)}, {in({0, 3})},      {in({1, 1, 5})},  {in({70, 513})}};
}

// Pairs for binary ops: equal shapes, broadcasting both ways, a 0-dim
// operand, non-contiguous operands, empty and large.
inline std::vector<std::vector<SampleInput>> binary_inputs() {
  return {{in({4, 7}), in({4, 7})},     {in({4, 7}), in({7})},          {in({4, 1}), in({1, 7})},
          {in({}), in({3, 4})},         {in({3, 4}), in({})},           {in({3, 4}, kT), in({3, 4})},
          {in({2, 3, 4}, kS), in({3, 1})}, {in({5, 6}, kE), in({6}, kS)}, {in({0, 3}), in({3})},
          {in({1}), in({1})},           {in({2, 1, 3}), in({4, 1})},    {in({70, 513}), in({513})}};
}

// A sample: inputs and attributes; `extra` names it after its inputs.
inline Sample sample(std::vector<SampleInput> inputs, Attrs attrs = {}, const std::string& extra = "") {
  Sample s;
  s.name = extra.empty() ? "" : describe_inputs(inputs, extra);
  s.inputs = std::move(inputs);
  s.attrs = std::move(attrs);
  return s;
}
inline Sample sample(std::vector<SampleInput> inputs, const std::string& extra) {
  return sample(std::move(inputs), Attrs{}, extra);
}

// A row's fn and ref for a single output.
inline KilnFn one_output(std::function<Tensor(const std::vector<Tensor>&, const Attrs&)> f) {
  return [f](const std::vector<Tensor>& v, const Attrs& a) { return std::vector<Tensor>{f(v, a)}; };
}
inline RefFn one_ref(std::function<Ref(const std::vector<Ref>&, const Attrs&)> r) {
  return [r](const std::vector<Ref>& v, const Attrs& a) { return std::vector<Ref>{r(v, a)}; };
}

inline ErrorCase error(std::string name, std::function<void()> call, ErrorKind kind, std::vector<std::string> expect) {
  return ErrorCase{std::move(name), std::move(call), kind, std::move(expect)};
}

inline GradcheckSpec grad_on(double atol = 1e-5, double rtol = 1e-3) {
  GradcheckSpec g;
  g.enabled = true;
  g.atol = atol;
  g.rtol = rtol;
  return g;
}

inline std::string shape_tag(const Shape& dims, bool keepdim) {
  std::string s = "dims";
  for (int64_t d : dims) s += (d < 0 ? "m" + std::to_string(-d) : std::to_string(d));
  if (dims.empty()) s += "all";
  if (keepdim) s += "_keepdim";
  return s;
}

}  // namespace kiln::testing::rows
