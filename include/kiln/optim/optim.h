// Optimizers, learning-rate schedules and gradient clipping.
#pragma once
#include "kiln/optim/adagrad.h"
#include "kiln/optim/adam.h"
#include "kiln/optim/clip_grad.h"
#include "kiln/optim/ema.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/plateau.h"
#include "kiln/optim/rmsprop.h"
#include "kiln/optim/schedule.h"
#include "kiln/optim/sgd.h"
