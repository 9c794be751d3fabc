// cosine.c: warmup + cosine learning-rate schedule (cosine.h).
#include "nn/cosine.h"

#include <math.h>

double sf_cosine_lr(double lr, double min_lr, int64_t step, int64_t warmup, int64_t total) {
    if (step < 0) step = 0;
    if (warmup > total) warmup = total;
    if (step < warmup) {
        double w = (double)warmup;
        return lr * (1.0 / w + (1.0 - 1.0 / w) * (double)step / w);
    }
    if (step >= total) return min_lr;
    double t = (double)(step - warmup) / (double)(total - warmup);
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + cos(M_PI * t));
}
