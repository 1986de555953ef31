#include "kiln/data/transforms.h"

#include <cstring>

#include "kiln/ops/factory.h"

namespace kiln::data {
namespace {

Tensor cpu_contiguous(const char* who, const Tensor& x, int64_t min_dim) {
  KILN_CHECK(x.defined(), ValueError, who, ": input is undefined");
  KILN_CHECK(x.device().is_cpu(), DeviceError, who, ": transforms run on the CPU, input is on ", x.device().str());
  KILN_CHECK(x.dim() >= min_dim, ShapeError, who, ": input ", shape_str(x.sizes()), " needs at least ", min_dim,
             " dims");
  return x.contiguous();
}

// Reverses `rows` rows of `width` elements of type T.
template <class T>
void flip_rows(const void* src, void* dst, int64_t rows, int64_t width) {
  const T* s = static_cast<const T*>(src);
  T* d = static_cast<T*>(dst);
  for (int64_t r = 0; r < rows; ++r) {
    const T* in = s + r * width;
    T* out = d + r * width;
    for (int64_t c = 0; c < width; ++c) out[c] = in[width - 1 - c];
  }
}

}  // namespace

Normalize::Normalize(std::vector<double> mean, std::vector<double> std) : mean_(std::move(mean)), std_(std::move(std)) {
  KILN_CHECK(!mean_.empty() && mean_.size() == std_.size(), ValueError, "Normalize: mean has ", mean_.size(),
             " values and std ", std_.size(), "; they must match and not be empty");
  for (double s : std_) KILN_CHECK(s != 0.0, ValueError, "Normalize: std must not be zero");
}

Tensor Normalize::operator()(const Tensor& input, RandomEngine&) const {
  Tensor x = cpu_contiguous("Normalize", input, 2);
  KILN_CHECK(x.dtype() == kFloat32 || x.dtype() == kFloat64, DTypeError,
             "Normalize: input must be float32 or float64, got ", dtype_name(x.dtype()));
  const int64_t channels = x.dim() == 2 ? 1 : x.size(0);
  const size_t k = mean_.size();
  KILN_CHECK(k == 1 || static_cast<int64_t>(k) == channels, ShapeError, "Normalize: ", k,
             " mean/std values for an input ", shape_str(x.sizes()), " with ", channels, " channels");
  const int64_t plane = x.numel() / std::max<int64_t>(channels, 1);
  Tensor out = empty(x.sizes(), x.dtype());
  auto run = [&](auto zero) {
    using T = decltype(zero);
    const T* src = x.data_ptr<T>();
    T* dst = out.data_ptr<T>();
    for (int64_t c = 0; c < channels; ++c) {
      const T m = static_cast<T>(mean_[k == 1 ? 0 : c]);
      const T inv = static_cast<T>(1.0 / std_[k == 1 ? 0 : c]);
      for (int64_t i = c * plane; i < (c + 1) * plane; ++i) dst[i] = (src[i] - m) * inv;
    }
  };
  if (x.dtype() == kFloat32) run(float{});
  else run(double{});
  return out;
}

RandomCrop::RandomCrop(int64_t height, int64_t width, int64_t padding)
    : height_(height), width_(width), padding_(padding) {
  KILN_CHECK(height > 0 && width > 0 && padding >= 0, ValueError, "RandomCrop: size ", height, "x", width,
             " must be positive and padding ", padding, " non-negative");
}

Tensor RandomCrop::operator()(const Tensor& input, RandomEngine& rng) const {
  Tensor x = cpu_contiguous("RandomCrop", input, 2);
  const int64_t H = x.size(-2), W = x.size(-1), p = padding_;
  KILN_CHECK(H + 2 * p >= height_ && W + 2 * p >= width_, ShapeError, "RandomCrop: crop ", height_, "x", width_,
             " is larger than the padded input ", H + 2 * p, "x", W + 2 * p, " (input ", shape_str(x.sizes()), ")");
  const int64_t top = static_cast<int64_t>(uniform_below(rng, uint64_t(H + 2 * p - height_ + 1)));
  const int64_t left = static_cast<int64_t>(uniform_below(rng, uint64_t(W + 2 * p - width_ + 1)));

  Shape out_shape = x.sizes();
  out_shape[out_shape.size() - 2] = height_;
  out_shape[out_shape.size() - 1] = width_;
  Tensor out = zeros(out_shape, x.dtype());
  const int64_t planes = H * W == 0 ? 0 : x.numel() / (H * W);
  const size_t es = x.element_size();
  const auto* src = static_cast<const char*>(x.raw_data_ptr());
  auto* dst = static_cast<char*>(out.raw_data_ptr());
  // Output column c reads source column left + c - p; keep those inside [0, W).
  const int64_t c0 = std::max<int64_t>(0, p - left);
  const int64_t c1 = std::min<int64_t>(width_, W + p - left);
  for (int64_t plane = 0; plane < planes && c1 > c0; ++plane) {
    for (int64_t r = 0; r < height_; ++r) {
      const int64_t sr = top + r - p;
      if (sr < 0 || sr >= H) continue;
      const char* from = src + ((plane * H + sr) * W + (left + c0 - p)) * es;
      char* to = dst + ((plane * height_ + r) * width_ + c0) * es;
      std::memcpy(to, from, size_t(c1 - c0) * es);
    }
  }
  return out;
}

RandomHorizontalFlip::RandomHorizontalFlip(double p) : p_(p) {
  KILN_CHECK(p >= 0.0 && p <= 1.0, ValueError, "RandomHorizontalFlip: p must be in [0, 1], got ", p);
}

Tensor RandomHorizontalFlip::operator()(const Tensor& input, RandomEngine& rng) const {
  Tensor x = cpu_contiguous("RandomHorizontalFlip", input, 1);
  // Always draw, so later transforms see the same stream whether or not we flip.
  if (!(uniform01(rng) < p_)) return x;
  Tensor out = empty(x.sizes(), x.dtype());
  const int64_t width = x.size(-1);
  const int64_t rows = width == 0 ? 0 : x.numel() / width;
  switch (x.element_size()) {
    case 1: flip_rows<uint8_t>(x.raw_data_ptr(), out.raw_data_ptr(), rows, width); break;
    case 2: flip_rows<uint16_t>(x.raw_data_ptr(), out.raw_data_ptr(), rows, width); break;
    case 4: flip_rows<uint32_t>(x.raw_data_ptr(), out.raw_data_ptr(), rows, width); break;
    default: flip_rows<uint64_t>(x.raw_data_ptr(), out.raw_data_ptr(), rows, width); break;
  }
  return out;
}

Tensor ToFloat::operator()(const Tensor& input, RandomEngine&) const {
  Tensor x = cpu_contiguous("ToFloat", input, 0);
  if (x.is_floating_point()) return x;
  KILN_CHECK(x.dtype() == kUInt8, DTypeError, "ToFloat: expects uint8 images, got ", dtype_name(x.dtype()));
  Tensor out = empty(x.sizes(), kFloat32);
  const uint8_t* src = x.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  for (int64_t i = 0; i < x.numel(); ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 255.0f);
  return out;
}

Compose::Compose(std::vector<std::shared_ptr<Transform>> transforms) : transforms_(std::move(transforms)) {
  for (const auto& t : transforms_) KILN_CHECK(t != nullptr, ValueError, "Compose: a transform is null");
}

Tensor Compose::operator()(const Tensor& x, RandomEngine& rng) const {
  Tensor y = x;
  for (const auto& t : transforms_) y = (*t)(y, rng);
  return y;
}

TransformedDataset::TransformedDataset(std::shared_ptr<Dataset> base, std::shared_ptr<Transform> transform,
                                       uint64_t seed)
    : base_(std::move(base)), transform_(std::move(transform)), seed_(seed) {
  KILN_CHECK(base_ && transform_, ValueError, "TransformedDataset: dataset and transform must not be null");
}

Example TransformedDataset::get(int64_t index) const {
  Example ex = base_->get(index);
  RandomEngine rng = sample_engine(seed_, epoch_, index);
  ex.data = (*transform_)(ex.data, rng);
  return ex;
}

void TransformedDataset::set_epoch(int64_t epoch) {
  epoch_ = epoch;
  base_->set_epoch(epoch);
}

}  // namespace kiln::data
