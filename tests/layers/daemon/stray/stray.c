/* stray.c - fixture: a folder the layer list forgot. */
#include "low/low.h"
