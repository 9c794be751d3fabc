// cosine.h: a learning-rate schedule of fixed length: linear warmup, then cosine decay to a floor.
//
// Step s (0-based optimizer step) of a run of `total` steps whose first `warmup` steps warm up:
//   s <  warmup:          lr * (1/warmup + (1 - 1/warmup) * s / warmup)   torch LinearLR(start_factor=1/warmup)
//   warmup <= s < total:  min + (lr - min) * (1 + cos(pi * (s - warmup) / (total - warmup))) / 2
//                                                                           torch CosineAnnealingLR(T_max, eta_min)
//   s >= total:           min
// which is torch's SequentialLR([LinearLR, CosineAnnealingLR], milestones=[warmup]) stepped once per
// optimizer step. A pure function of the step, so a resumed run needs no scheduler state: the step
// counter in the checkpoint is the whole of it.
#ifndef SF_NN_COSINE_H
#define SF_NN_COSINE_H

#include <stdint.h>

double sf_cosine_lr(double lr, double min_lr, int64_t step, int64_t warmup, int64_t total);

#endif
