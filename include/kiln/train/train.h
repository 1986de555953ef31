// kiln::train: machinery around a training loop (the health guard and the
// snapshots it rolls back to).
#pragma once
#include "kiln/train/health_guard.h"
#include "kiln/train/outlier_detector.h"
#include "kiln/train/snapshot.h"
