// conv2d_tuning.h: the register blocking and strip order of the direct convolution, per layer class and
// ISA path, for profile loaders and `springfield tune`.
//
// Two knobs per (ISA, class), both for forward and backward-data:
//   ocb     output-channel blocks per register group (1..4). The strip length ur follows from it: the
//           longest strip whose ur*ocb accumulators fit the registers. More blocks reuse each input
//           broadcast more; fewer allow longer strips and fewer groups of idle padding channels.
//   across  the loop order of what a row leaves over: a leftover of fewer than `across` accumulators
//           (pixels x blocks) runs as strips across the images of a chunk, at one pixel; otherwise it stays
//           in the row (contiguous input). 0 keeps every leftover in its row.
// A value of -1 keeps the ISA's built-in default (conv2d_<isa>.c). Plans read the table when they are
// created: set it at start-up, not while plans are being built on other threads.
#ifndef SF_CONV2D_TUNING_H
#define SF_CONV2D_TUNING_H

#include <stdbool.h>

#include "kernels/conv2d.h"
#include "kernels/cpu.h"

typedef enum {
    SF_CONV_CLASS_FIRST,   // plain NCHW input (the first layer, 3 channels)
    SF_CONV_CLASS_1X1,     // 1x1 kernels, any stride
    SF_CONV_CLASS_KXK,     // larger kernels at stride 1
    SF_CONV_CLASS_STRIDED, // larger kernels at stride 2 or more
    SF_CONV_N_CLASSES
} sf_conv_class;

#define SF_CONV_N_ISAS 4  // indexed by sf_isa

sf_conv_class sf_conv_class_of(const sf_conv2d_shape *s, bool x_plain);
const char *sf_conv_class_name(sf_conv_class c);  // "first", "1x1", "kxk", "strided"
// The class whose name is `name`, or -1.
int sf_conv_class_from_name(const char *name);

// Sets one (ISA, class) entry; -1 restores the default. ocb outside 1..4 or above what the ISA's registers
// hold, or across outside 0..4096, is ignored (returns -1); 0 on success.
int sf_conv_set_tuning(sf_isa isa, sf_conv_class c, int ocb, int across);
// The values a plan for (isa, c) uses now, defaults resolved; either pointer may be NULL. Returns -1 for an
// ISA this build has no kernels for.
int sf_conv_get_tuning(sf_isa isa, sf_conv_class c, int *ocb, int *across);
// The largest ocb the ISA's registers hold (0 when this build has no kernels for it).
int sf_conv_max_ocb(sf_isa isa);

#endif
