/* low.h - fixture for tests/layers/test-layers.sh: the bottom layer, including upward. */
#pragma once

#include "high/high.h"
