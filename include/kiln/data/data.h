// Everything in kiln::data: #include <kiln/data/data.h>.
#pragma once
#include "kiln/data/cifar.h"
#include "kiln/data/dataloader.h"
#include "kiln/data/dataset.h"
#include "kiln/data/idx.h"
#include "kiln/data/mnist.h"
#include "kiln/data/random.h"
#include "kiln/data/sampler.h"
#include "kiln/data/transforms.h"
