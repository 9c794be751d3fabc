// batchnorm_ref.c: naive training-mode batch normalization on plain (N,C,HW), straight from the
// definition with double two-pass statistics: the oracle for batchnorm.c.
#include "kernels/batchnorm.h"

#include <math.h>

#include "util/util.h"

// x, y (N,C,HW); gamma, beta, running_mean, running_var, save_mean, save_invstd (C).
void sf_batchnorm_forward_train_ref(float *y, float *save_mean, float *save_invstd, float *running_mean,
                                    float *running_var, const float *x, const float *gamma,
                                    const float *beta, int n, int c, int hw, float momentum, float eps) {
    double m = (double)n * hw;
    if (m < 2) sf_die("batch norm training needs more than one value per channel");
    for (int ch = 0; ch < c; ch++) {
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) sum += x[((size_t)i * c + ch) * hw + j];
        double mean = sum / m;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                double d = x[((size_t)i * c + ch) * hw + j] - mean;
                sq += d * d;
            }
        double var = sq / m, invstd = 1.0 / sqrt(var + eps);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                size_t k = ((size_t)i * c + ch) * hw + j;
                y[k] = (float)((x[k] - mean) * invstd * gamma[ch] + beta[ch]);
            }
        save_mean[ch] = (float)mean;
        save_invstd[ch] = (float)invstd;
        running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean);
        running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * sq / (m - 1));
    }
}

// dy, x, dx (N,C,HW); dgamma, dbeta (C).
void sf_batchnorm_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                               const float *gamma, const float *save_mean, const float *save_invstd,
                               int n, int c, int hw) {
    double m = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double sdy = 0, sdyx = 0, mean = save_mean[ch], invstd = save_invstd[ch];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                size_t k = ((size_t)i * c + ch) * hw + j;
                sdy += dy[k];
                sdyx += dy[k] * (x[k] - mean) * invstd;
            }
        dbeta[ch] = (float)sdy;
        dgamma[ch] = (float)sdyx;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                size_t k = ((size_t)i * c + ch) * hw + j;
                double xhat = (x[k] - mean) * invstd;
                dx[k] = (float)(gamma[ch] * invstd * (dy[k] - sdy / m - xhat * sdyx / m));
            }
    }
}
