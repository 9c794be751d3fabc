// batchnorm.h: batch normalization over (N, H, W) per channel, PyTorch semantics: training mode uses the
// batch statistics (biased variance) and updates running stats with momentum 0.1 and the unbiased
// variance; eval mode uses the running stats; eps 1e-5. BatchNorm1d is the case h*w = 1, vb = 1.
// `relu` fuses the ReLU that follows (y = max(0, bn(x))), saving a pass over memory; its backward
// then masks dy with y > 0. Tensors use the blocked layout (layout.h) with the given vb.
#ifndef SF_BATCHNORM_H
#define SF_BATCHNORM_H

#include <stdbool.h>

// x, y (N,C,HW) blocked; gamma, beta, running_mean, running_var, save_mean, save_invstd (C).
void sf_batchnorm_forward_train(float *y, float *save_mean, float *save_invstd, float *running_mean,
                                float *running_var, const float *x, const float *gamma, const float *beta,
                                int n, int c, int hw, int vb, float momentum, float eps, bool relu);
void sf_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                               const float *running_mean, const float *running_var, int n, int c, int hw,
                               int vb, float eps, bool relu);
// dx (N,C,HW), dgamma, dbeta (C) overwritten. y is the forward output (needed when relu is fused).
void sf_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                           const float *y, const float *gamma, const float *save_mean,
                           const float *save_invstd, int n, int c, int hw, int vb, bool relu);

// Naive references, plain layout (vb = 1), double accumulation.
void sf_batchnorm_forward_train_ref(float *y, float *save_mean, float *save_invstd, float *running_mean,
                                    float *running_var, const float *x, const float *gamma,
                                    const float *beta, int n, int c, int hw, float momentum, float eps);
void sf_batchnorm_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                               const float *gamma, const float *save_mean, const float *save_invstd,
                               int n, int c, int hw);

#endif
