#include "kiln/data/dataset.h"

#include <cstring>

#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"

namespace kiln::data {

void check_index(const char* who, int64_t index, int64_t size) {
  KILN_CHECK(index >= 0 && index < size, IndexError, who, ": index ", index, " is out of range for a dataset of ",
             size, " examples");
}

Batch Dataset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t i : indices) examples.push_back(get(i));
  return collate(examples);
}

Tensor gather_rows(const Tensor& source, const std::vector<int64_t>& indices) {
  KILN_CHECK(source.defined() && source.dim() >= 1, ShapeError, "gather_rows: source must have a first dim");
  const int64_t rows = source.size(0);
  for (int64_t i : indices)
    KILN_CHECK(i >= 0 && i < rows, IndexError, "gather_rows: row ", i, " is outside [0, ", rows, ")");
  if (!source.device().is_cpu() || !source.is_contiguous()) {
    return source.index_select(0, tensor(indices, {static_cast<int64_t>(indices.size())}, kInt64).to(source.device()));
  }
  Shape shape = source.sizes();
  shape[0] = static_cast<int64_t>(indices.size());
  Tensor out = empty(shape, source.dtype());
  const size_t row_bytes = rows ? static_cast<size_t>(source.numel() / rows) * source.element_size() : 0;
  const auto* src = static_cast<const char*>(source.raw_data_ptr());
  auto* dst = static_cast<char*>(out.raw_data_ptr());
  for (size_t k = 0; k < indices.size(); ++k)
    std::memcpy(dst + k * row_bytes, src + static_cast<size_t>(indices[k]) * row_bytes, row_bytes);
  return out;
}

TensorDataset::TensorDataset(Tensor data, Tensor targets) : data_(std::move(data)), targets_(std::move(targets)) {
  KILN_CHECK(data_.defined() && data_.dim() >= 1, ShapeError,
             "TensorDataset: data must be a tensor with at least one dimension (examples first)");
  if (targets_.defined()) {
    KILN_CHECK(targets_.dim() >= 1 && targets_.size(0) == data_.size(0), ShapeError,
               "TensorDataset: targets ", shape_str(targets_.sizes()), " must have as many rows as data ",
               shape_str(data_.sizes()));
  }
}

int64_t TensorDataset::size() const { return data_.size(0); }

Example TensorDataset::get(int64_t index) const {
  check_index("TensorDataset", index, size());
  return {data_.select(0, index), targets_.defined() ? targets_.select(0, index) : Tensor()};
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  for (int64_t i : indices) check_index("TensorDataset", i, size());
  return {gather_rows(data_, indices), targets_.defined() ? gather_rows(targets_, indices) : Tensor()};
}

}  // namespace kiln::data
