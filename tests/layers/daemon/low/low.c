/* low.c - fixture: an include of its own folder, and of its own folder by name. */
#include "low.h"
#include "low/low.h"
