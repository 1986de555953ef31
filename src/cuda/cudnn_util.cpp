// cuDNN descriptor owners and dtype mapping (see cudnn_util.h).
#include "cuda/cudnn_util.h"

#include <limits>

namespace kiln::cuda::cudnn {

cudnnDataType_t data_type(DType dtype, const char* op) {
  switch (dtype) {
    case kFloat32: return CUDNN_DATA_FLOAT;
    case kFloat64: return CUDNN_DATA_DOUBLE;
    case kFloat16: return CUDNN_DATA_HALF;
    case kBFloat16: return CUDNN_DATA_BFLOAT16;
    default: break;
  }
  throw DTypeError(detail::str_cat(op, ": cuDNN needs a floating dtype, got ", dtype_name(dtype)));
}

cudnnDataType_t compute_type(DType dtype) { return dtype == kFloat64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

namespace {
int to_int(int64_t v, const char* op, const char* what) {
  KILN_CHECK(v >= 0 && v <= std::numeric_limits<int>::max(), ValueError, op, ": ", what, " ", v,
             " does not fit cuDNN's 32-bit sizes");
  return static_cast<int>(v);
}
}  // namespace

TensorDesc::TensorDesc() { KILN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&desc_)); }
TensorDesc::~TensorDesc() {
  if (desc_) cudnnDestroyTensorDescriptor(desc_);
}
void TensorDesc::set_4d(DType dtype, const std::array<int64_t, 4>& sizes, const std::array<int64_t, 4>& strides,
                        const char* op) {
  // cuDNN rejects a zero stride; a size-1 dim's stride is irrelevant, so give it a valid one.
  std::array<int, 4> st{};
  for (int i = 0; i < 4; ++i) st[i] = to_int(strides[i] > 0 ? strides[i] : 1, op, "stride");
  KILN_CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(desc_, data_type(dtype, op), to_int(sizes[0], op, "size"),
                                                to_int(sizes[1], op, "size"), to_int(sizes[2], op, "size"),
                                                to_int(sizes[3], op, "size"), st[0], st[1], st[2], st[3]));
}
void TensorDesc::set_channel(cudnnDataType_t type, int64_t channels, const char* op) {
  KILN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(desc_, CUDNN_TENSOR_NCHW, type, 1, to_int(channels, op, "channels"),
                                              1, 1));
}

FilterDesc::FilterDesc() { KILN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&desc_)); }
FilterDesc::~FilterDesc() {
  if (desc_) cudnnDestroyFilterDescriptor(desc_);
}
void FilterDesc::set(DType dtype, cudnnTensorFormat_t format, const std::array<int64_t, 4>& kcrs, const char* op) {
  KILN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(desc_, data_type(dtype, op), format, to_int(kcrs[0], op, "size"),
                                              to_int(kcrs[1], op, "size"), to_int(kcrs[2], op, "size"),
                                              to_int(kcrs[3], op, "size")));
}

ConvDesc::ConvDesc() { KILN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&desc_)); }
ConvDesc::~ConvDesc() {
  if (desc_) cudnnDestroyConvolutionDescriptor(desc_);
}

std::array<int64_t, 4> sizes4(const Tensor& t, const char* op) {
  KILN_CHECK(t.dim() == 4, ShapeError, op, ": expected a 4-D tensor, got ", shape_str(t.sizes()));
  return {t.size(0), t.size(1), t.size(2), t.size(3)};
}
std::array<int64_t, 4> strides4(const Tensor& t, const char* op) {
  KILN_CHECK(t.dim() == 4, ShapeError, op, ": expected a 4-D tensor, got ", shape_str(t.sizes()));
  return {t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

bool is_channels_last(const Tensor& t) {
  if (t.dim() != 4) return false;
  const int64_t C = t.size(1), H = t.size(2), W = t.size(3);
  // Size-1 dims may carry any stride; compare only the dims that matter.
  auto ok = [&](int dim, int64_t expected) { return t.size(dim) == 1 || t.stride(dim) == expected; };
  return ok(1, 1) && ok(3, C) && ok(2, W * C) && ok(0, H * W * C) && !t.is_contiguous();
}

}  // namespace kiln::cuda::cudnn
