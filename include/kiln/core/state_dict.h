// Named tensors: what modules, optimizers and checkpoints exchange.
#pragma once
#include <map>
#include <string>

#include "kiln/core/tensor.h"

namespace kiln {

// Keys are dotted paths ("features.0.weight"); std::map keeps them sorted,
// which is also the order safetensors files list them in.
using StateDict = std::map<std::string, Tensor>;

}  // namespace kiln
