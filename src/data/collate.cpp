#include <cstring>

#include "kiln/data/dataloader.h"
#include "kiln/ops/factory.h"

namespace kiln::data {
namespace {

// Stacks the `pick`ed tensor of every example into [B, ...] with one memcpy
// per example (examples are usually contiguous views, so no copy is made to
// get there).
template <class Pick>
Tensor stack_examples(const std::vector<Example>& examples, const char* what, Pick pick) {
  const Tensor& first = pick(examples[0]);
  Shape shape = first.sizes();
  shape.insert(shape.begin(), static_cast<int64_t>(examples.size()));
  Tensor out = empty(shape, first.dtype());
  const size_t bytes = static_cast<size_t>(first.numel()) * first.element_size();
  auto* dst = static_cast<char*>(out.raw_data_ptr());
  for (size_t i = 0; i < examples.size(); ++i) {
    const Tensor& t = pick(examples[i]);
    KILN_CHECK(t.defined(), ValueError, "collate: example ", i, " has no ", what, " but example 0 has one");
    KILN_CHECK(t.sizes() == first.sizes() && t.dtype() == first.dtype(), ShapeError, "collate: example ", i, " ",
               what, " is ", shape_str(t.sizes()), " ", dtype_name(t.dtype()), " but example 0's is ",
               shape_str(first.sizes()), " ", dtype_name(first.dtype()));
    Tensor c = t.device().is_cpu() ? t.contiguous() : t.to(Device(kCPU)).contiguous();
    if (bytes) std::memcpy(dst + i * bytes, c.raw_data_ptr(), bytes);
  }
  return out;
}

}  // namespace

Batch collate(const std::vector<Example>& examples) {
  KILN_CHECK(!examples.empty(), ValueError, "collate: no examples");
  KILN_CHECK(examples[0].data.defined(), ValueError, "collate: example 0 has no data");
  Batch batch;
  batch.data = stack_examples(examples, "data", [](const Example& e) -> const Tensor& { return e.data; });
  if (examples[0].target.defined()) {
    batch.target = stack_examples(examples, "target", [](const Example& e) -> const Tensor& { return e.target; });
  } else {
    for (size_t i = 1; i < examples.size(); ++i)
      KILN_CHECK(!examples[i].target.defined(), ValueError, "collate: example ", i,
                 " has a target but example 0 has none");
  }
  return batch;
}

}  // namespace kiln::data
