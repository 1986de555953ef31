// File formats: safetensors and training checkpoints.
#pragma once
#include "kiln/io/checkpoint.h"
#include "kiln/io/safetensors.h"
