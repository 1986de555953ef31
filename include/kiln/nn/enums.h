// The named choices LibTorch spells as kiln::kMean, kiln::kReflect,
// kiln::kFanIn, kiln::kReLU, ...: a loss's reduction, a padding or
// interpolation mode, and nn::init's fan mode and nonlinearity. LibTorch
// gives each name a type of its own so that kLinear can be both a
// nonlinearity and an interpolation mode; kiln has one plain enum per
// choice, and the only clash (kLinear) is the nonlinearity, since
// interpolate has no 1-D linear mode.
#pragma once

namespace kiln {

// How a loss turns per-element losses into its result.
enum class Reduction { None, Mean, Sum };
inline constexpr Reduction kNone = Reduction::None;
inline constexpr Reduction kMean = Reduction::Mean;
inline constexpr Reduction kSum = Reduction::Sum;
// "none", "mean" or "sum", as the ops spell it.
const char* reduction_name(Reduction r);

// What nn::functional::pad puts outside the input.
enum class PadMode { Constant, Reflect, Replicate, Circular };
inline constexpr PadMode kConstant = PadMode::Constant;
inline constexpr PadMode kReflect = PadMode::Reflect;
inline constexpr PadMode kReplicate = PadMode::Replicate;
inline constexpr PadMode kCircular = PadMode::Circular;

// How nn::functional::interpolate and nn::Upsample compute a sample.
enum class InterpolateMode { Nearest, Bilinear };
inline constexpr InterpolateMode kNearest = InterpolateMode::Nearest;
inline constexpr InterpolateMode kBilinear = InterpolateMode::Bilinear;

// nn::init's fan mode and nonlinearity.
enum class FanMode { FanIn, FanOut };
inline constexpr FanMode kFanIn = FanMode::FanIn;
inline constexpr FanMode kFanOut = FanMode::FanOut;

enum class Nonlinearity { Linear, Conv1d, Conv2d, Conv3d, Sigmoid, Tanh, ReLU, LeakyReLU, SELU };
inline constexpr Nonlinearity kLinear = Nonlinearity::Linear;
inline constexpr Nonlinearity kConv1D = Nonlinearity::Conv1d;
inline constexpr Nonlinearity kConv2D = Nonlinearity::Conv2d;
inline constexpr Nonlinearity kConv3D = Nonlinearity::Conv3d;
inline constexpr Nonlinearity kSigmoid = Nonlinearity::Sigmoid;
inline constexpr Nonlinearity kTanh = Nonlinearity::Tanh;
inline constexpr Nonlinearity kReLU = Nonlinearity::ReLU;
inline constexpr Nonlinearity kLeakyReLU = Nonlinearity::LeakyReLU;
inline constexpr Nonlinearity kSELU = Nonlinearity::SELU;

}  // namespace kiln
