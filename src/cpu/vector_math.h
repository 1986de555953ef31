// Vectorisable f32 math for CPU kernels: inline, branch-free functions a
// compiler turns into SIMD loops (glibc's expf and tanhf are calls, one
// element at a time). Files whose loops use them are compiled with
// -fno-trapping-math (src/CMakeLists.txt), without which GCC does not
// if-convert the float compares. always_inline: a call in the loop body
// would stop the vectoriser (GCC kept the GELU backward out of line).
#pragma once
#include <cstdint>
#include <cstring>

namespace kiln::cpu {

// exp(x) for f32 without a call or a branch, so a loop of it vectorizes
// (glibc's expf was a fifth of the forward's time): x = n ln2 + r with
// |r| <= ln2/2, Cephes' degree-6 polynomial for exp(r) (relative error
// about 2e-7, a few ulp), times 2^n built from the exponent bits. Inputs
// below -87.3 (exp underflows f32's normal range), -inf included, give 0;
// NaN gives NaN.
[[gnu::always_inline]] inline float exp_f32(float x) {
  float xc = x < -87.3f ? -87.3f : x;
  xc = xc > 88.3f ? 88.3f : xc;
  const float t = xc * 1.44269504088896341f;
  const float fi = (t + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23)
  const float r = (xc - fi * 0.693359375f) + fi * 2.12194440e-4f;  // xc - fi * ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // A NaN x gives a NaN fi, which must not reach the int conversion (that
  // is undefined behaviour); p is NaN then, so the result stays NaN.
  const int32_t bits = (static_cast<int32_t>(fi == fi ? fi : 0.0f) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  const float e = p * scale;
  return x < -87.3f ? 0.0f : e;
}

// GELU with the tanh approximation, 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x +
// 0.044715 x^3), written as x * sigmoid(2u) = x / (1 + exp(-2u)): the same
// function without tanh's cancellation, and with exp_f32 a SIMD loop.
// Relative error a few ulp; gelu(-inf) gives -0 where the tanh form gives NaN.
[[gnu::always_inline]] inline float gelu_tanh_f32(float x) {
  const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  return x / (1.0f + exp_f32(-2.0f * u));
}
// Its derivative times g: s + 2 x s (1 - s) u', s = sigmoid(2u).
[[gnu::always_inline]] inline float gelu_tanh_backward_f32(float g, float x) {
  const float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  const float du = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
  const float s = 1.0f / (1.0f + exp_f32(-2.0f * u));
  return g * (s + 2.0f * x * s * (1.0f - s) * du);
}

}  // namespace kiln::cpu
