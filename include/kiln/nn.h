// Layers and modules: #include <kiln/nn.h>.
#pragma once
#include "kiln/nn/activation.h"
#include "kiln/nn/attention.h"
#include "kiln/nn/batch_norm.h"
#include "kiln/nn/conv.h"
#include "kiln/nn/dropout.h"
#include "kiln/nn/embedding.h"
#include "kiln/nn/enums.h"
#include "kiln/nn/flatten.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/gpt.h"
#include "kiln/nn/identity.h"
#include "kiln/nn/init.h"
#include "kiln/nn/linear.h"
#include "kiln/nn/loss.h"
#include "kiln/nn/module.h"
#include "kiln/nn/normalization.h"
#include "kiln/nn/pooling.h"
#include "kiln/nn/sequential.h"
#include "kiln/nn/transformer.h"
#include "kiln/nn/upsampling.h"
#include "kiln/nn/functional_module.h"
#include "kiln/nn/module_dict.h"
#include "kiln/nn/module_list.h"
#include "kiln/nn/ordered_dict.h"
#include "kiln/nn/utils.h"
#include "kiln/optim/clip_grad.h"

// torch::nn::utils::clip_grad_norm_ and clip_grad_value_ (defined in optim).
namespace kiln::nn::utils {
using kiln::optim::clip_grad_norm_;
using kiln::optim::clip_grad_value_;
}  // namespace kiln::nn::utils
