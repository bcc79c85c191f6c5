/* high.h - fixture: the top layer, including down. */
#pragma once

#include "low/low.h"
