// tune_conv.h: the direct convolution's part of `springfield tune`.
#ifndef SF_TUNE_CONV_H
#define SF_TUNE_CONV_H

#include "kernels/conv2d_tuning.h"

// Searches the register blocking (ocb) and leftover strip order (across) of every layer class on the active
// ISA path (conv2d_tuning.h) within `budget` seconds, a candidate needing a gain above `threshold` to be
// taken. Leaves the winners set and returns them per class. Progress lines go to stderr.
void sf_tune_conv(double budget, double threshold, int ocb[SF_CONV_N_CLASSES], int across[SF_CONV_N_CLASSES]);

#endif
