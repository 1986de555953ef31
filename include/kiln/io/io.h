// File formats: safetensors, training checkpoints, and kiln::save / kiln::load.
#pragma once
#include "kiln/io/checkpoint.h"
#include "kiln/io/safetensors.h"
#include "kiln/io/serialize.h"
