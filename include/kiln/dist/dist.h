// Everything in kiln::dist: #include <kiln/dist/dist.h>. See docs/distributed.md.
#pragma once
#include "kiln/dist/communicator.h"
#include "kiln/dist/ddp.h"
#include "kiln/dist/init.h"
#include "kiln/dist/sync_batchnorm.h"
#include "kiln/dist/training.h"
#include "kiln/dist/zero.h"
