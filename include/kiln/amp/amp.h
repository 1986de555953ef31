// Mixed precision: autocast regions and the loss scaler for float16.
#pragma once
#include "kiln/amp/autocast.h"
#include "kiln/amp/grad_scaler.h"
