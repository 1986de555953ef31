// Scalar math usable from host and device code, for float and double.
#pragma once
#include <cmath>

#include "kiln/core/half.h"

namespace kiln::functors {

#if defined(__CUDA_ARCH__)
KILN_HD inline float exp_(float x) { return expf(x); }
KILN_HD inline double exp_(double x) { return ::exp(x); }
KILN_HD inline float log_(float x) { return logf(x); }
KILN_HD inline double log_(double x) { return ::log(x); }
KILN_HD inline float sqrt_(float x) { return sqrtf(x); }
KILN_HD inline double sqrt_(double x) { return ::sqrt(x); }
KILN_HD inline float tanh_(float x) { return tanhf(x); }
KILN_HD inline double tanh_(double x) { return ::tanh(x); }
KILN_HD inline float erf_(float x) { return erff(x); }
KILN_HD inline double erf_(double x) { return ::erf(x); }
KILN_HD inline float pow_(float a, float b) { return powf(a, b); }
KILN_HD inline double pow_(double a, double b) { return ::pow(a, b); }
KILN_HD inline float cos_(float x) { return cosf(x); }
KILN_HD inline double cos_(double x) { return ::cos(x); }
KILN_HD inline float sin_(float x) { return sinf(x); }
KILN_HD inline double sin_(double x) { return ::sin(x); }
#else
inline float exp_(float x) { return std::exp(x); }
inline double exp_(double x) { return std::exp(x); }
inline float log_(float x) { return std::log(x); }
inline double log_(double x) { return std::log(x); }
inline float sqrt_(float x) { return std::sqrt(x); }
inline double sqrt_(double x) { return std::sqrt(x); }
inline float tanh_(float x) { return std::tanh(x); }
inline double tanh_(double x) { return std::tanh(x); }
inline float erf_(float x) { return std::erf(x); }
inline double erf_(double x) { return std::erf(x); }
inline float pow_(float a, float b) { return std::pow(a, b); }
inline double pow_(double a, double b) { return std::pow(a, b); }
inline float cos_(float x) { return std::cos(x); }
inline double cos_(double x) { return std::cos(x); }
inline float sin_(float x) { return std::sin(x); }
inline double sin_(double x) { return std::sin(x); }
#endif

template <class T> KILN_HD inline bool isnan_(T x) { return x != x; }

}  // namespace kiln::functors
