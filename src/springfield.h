// springfield.h: the public API. Everything public carries the prefix sf_.
//
// Each module has its own header (one concept per file); this one gathers them.
#ifndef SPRINGFIELD_H
#define SPRINGFIELD_H

#include "util/util.h"
#include "kernels/cpu.h"

#endif
