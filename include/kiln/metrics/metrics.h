// Everything in kiln::metrics: #include <kiln/metrics/metrics.h>.
#pragma once
#include "kiln/metrics/calibration.h"
#include "kiln/metrics/classification.h"
#include "kiln/metrics/confusion_matrix.h"
#include "kiln/metrics/progress.h"
#include "kiln/metrics/run_report.h"
#include "kiln/metrics/tensorboard.h"
