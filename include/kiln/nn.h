// Layers and modules: #include <kiln/nn.h>.
#pragma once
#include "kiln/nn/activation.h"
#include "kiln/nn/batch_norm.h"
#include "kiln/nn/conv.h"
#include "kiln/nn/dropout.h"
#include "kiln/nn/flatten.h"
#include "kiln/nn/init.h"
#include "kiln/nn/linear.h"
#include "kiln/nn/module.h"
#include "kiln/nn/pooling.h"
#include "kiln/nn/sequential.h"
