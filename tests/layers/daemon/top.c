/* top.c - fixture: a top-level file of no layer sees every layer. */
#include "high/high.h"
#include "low/low.h"
