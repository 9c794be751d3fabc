// batchnorm.c: batch normalization on the blocked layout nChw{vb}c (layout.h), training and eval mode,
// with an optional fused ReLU.
//
// A channel block's statistics need every image, so training-mode work is split across threads by
// channel block; eval mode is elementwise and is split by (image, channel block) plane. The innermost
// loops run over the vb lanes of one pixel, instantiated for constant vb so that gcc vectorizes them;
// they carry `omp simd` so that gcc vectorizes rather than fully unrolls them into scalar code.
//
// Statistics: one pass over x of the shifted sums S1 = sum(x - k), S2 = sum((x - k)^2), with k a
// per-lane estimate of the mean taken from the first pixels. Shifting by k removes the cancellation
// that makes the naive sum-of-squares formula fail for |mean| >> std (Chan, Golub and LeVeque), so
// this is as accurate as two passes while reading x once. Sums are taken in float over short chunks of
// pixels and carried in double across chunks, so the rounding error does not grow with N*H*W.
#include "kernels/batchnorm.h"

#include <math.h>

#include "kernels/layout.h"
#include "util/util.h"

#define SF_BN_VB_MAX 64
// Pixels summed in float before the partial sums are added into double.
#define SF_BN_CHUNK 128
// Pixels of the first plane averaged to get the shift k.
#define SF_BN_SHIFT_PIXELS 16
// Below this many floats the kernels run on one thread.
#define SF_BN_PAR_MIN (1 << 15)
#define SF_INLINE static inline __attribute__((always_inline))

#define SF_BN_DISPATCH(body, vb, ...)      \
    switch (vb) {                          \
    case 16: body(__VA_ARGS__, 16); break; \
    case 8: body(__VA_ARGS__, 8); break;   \
    case 4: body(__VA_ARGS__, 4); break;   \
    case 1: body(__VA_ARGS__, 1); break;   \
    default: body(__VA_ARGS__, vb); break; \
    }

static void check_args(int n, int c, int hw, int vb) {
    if (vb < 1 || vb > SF_BN_VB_MAX) sf_die("channel block vb=%d outside [1, %d]", vb, SF_BN_VB_MAX);
    if (n < 1 || c < 1 || hw < 1) sf_die("bad batch norm shape n=%d c=%d hw=%d", n, c, hw);
}

static int bn_threads(size_t floats, int units) {
    int nt = floats >= SF_BN_PAR_MIN ? sf_threads() : 1;
    return nt < units ? nt : units;
}

// Mean and biased variance of one channel block over its n planes (stride floats apart):
// x (N, HW, vb) -> mean, var (vb).
SF_INLINE void stats_block(double *mean, double *var, const float *x, size_t stride, int n, int hw, int vb) {
    float k[SF_BN_VB_MAX];
    double s1[SF_BN_VB_MAX], s2[SF_BN_VB_MAX];
    int nk = hw < SF_BN_SHIFT_PIXELS ? hw : SF_BN_SHIFT_PIXELS;
    #pragma omp simd
    for (int l = 0; l < vb; l++) k[l] = 0.0f;
    for (int j = 0; j < nk; j++)
        #pragma omp simd
        for (int l = 0; l < vb; l++) k[l] += x[(size_t)j * vb + l];
    #pragma omp simd
    for (int l = 0; l < vb; l++) {
        k[l] /= (float)nk;
        s1[l] = 0.0;
        s2[l] = 0.0;
    }
    for (int i = 0; i < n; i++) {
        const float *xp = x + i * stride;
        for (int j0 = 0; j0 < hw; j0 += SF_BN_CHUNK) {
            int j1 = j0 + SF_BN_CHUNK < hw ? j0 + SF_BN_CHUNK : hw;
            float a[SF_BN_VB_MAX], b[SF_BN_VB_MAX];
            #pragma omp simd
            for (int l = 0; l < vb; l++) a[l] = b[l] = 0.0f;
            for (int j = j0; j < j1; j++)
                #pragma omp simd
                for (int l = 0; l < vb; l++) {
                    float d = xp[(size_t)j * vb + l] - k[l];
                    a[l] += d;
                    b[l] += d * d;
                }
            #pragma omp simd
            for (int l = 0; l < vb; l++) {
                s1[l] += a[l];
                s2[l] += b[l];
            }
        }
    }
    double m = (double)n * hw;
    #pragma omp simd
    for (int l = 0; l < vb; l++) {
        double d = s1[l] / m;
        double v = s2[l] / m - d * d;
        mean[l] = k[l] + d;
        var[l] = v > 0.0 ? v : 0.0;
    }
}

// y = (x - mean) * scale + beta on one plane x, y (HW, vb). The mean comes as a float pair hi + lo:
// x - hi is exact when x is near the mean, so y keeps its precision when |mean| >> std, where a
// single rounded mean (or x * scale + shift) would lose digits. Padding lanes have scale = beta = 0.
SF_INLINE void normalize_plane(float *y, const float *x, const float *hi, const float *lo, const float *scale,
                               const float *beta, int hw, bool relu, int vb) {
    if (relu) {
        for (int j = 0; j < hw; j++)
            #pragma omp simd
            for (int l = 0; l < vb; l++) {
                float v = ((x[(size_t)j * vb + l] - hi[l]) - lo[l]) * scale[l] + beta[l];
                y[(size_t)j * vb + l] = v < 0.0f ? 0.0f : v;
            }
    } else {
        for (int j = 0; j < hw; j++)
            #pragma omp simd
            for (int l = 0; l < vb; l++)
                y[(size_t)j * vb + l] = ((x[(size_t)j * vb + l] - hi[l]) - lo[l]) * scale[l] + beta[l];
    }
}

// x, y (N,C,HW) blocked; gamma, beta, running_mean, running_var, save_mean, save_invstd (C).
void sf_batchnorm_forward_train(float *y, float *save_mean, float *save_invstd, float *running_mean,
                                float *running_var, const float *x, const float *gamma, const float *beta,
                                int n, int c, int hw, int vb, float momentum, float eps, bool relu) {
    check_args(n, c, hw, vb);
    double m = (double)n * hw;
    if (m < 2) sf_die("batch norm training needs more than one value per channel (n=%d hw=%d)", n, hw);
    int cb = sf_cblocks(c, vb);
    size_t plane = (size_t)hw * vb, stride = (size_t)cb * plane;
#pragma omp parallel for schedule(static) num_threads(bn_threads(n * stride, cb))
    for (int b = 0; b < cb; b++) {
        double mean[SF_BN_VB_MAX], var[SF_BN_VB_MAX];
        float hi[SF_BN_VB_MAX], lo[SF_BN_VB_MAX], scale[SF_BN_VB_MAX], shift[SF_BN_VB_MAX];
        const float *xb = x + b * plane;
        SF_BN_DISPATCH(stats_block, vb, mean, var, xb, stride, n, hw)
        for (int l = 0; l < vb; l++) {
            int ch = b * vb + l;
            hi[l] = lo[l] = scale[l] = shift[l] = 0.0f;
            if (ch >= c) continue;
            double invstd = 1.0 / sqrt(var[l] + eps);
            hi[l] = (float)mean[l];
            lo[l] = (float)(mean[l] - hi[l]);
            scale[l] = (float)(gamma[ch] * invstd);
            shift[l] = beta[ch];
            save_mean[ch] = (float)mean[l];
            save_invstd[ch] = (float)invstd;
            running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mean[l]);
            running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * var[l] * m / (m - 1.0));
        }
        for (int i = 0; i < n; i++) {
            SF_BN_DISPATCH(normalize_plane, vb, y + i * stride + b * plane, xb + i * stride, hi, lo,
                           scale, shift, hw, relu)
        }
    }
}

// x, y (N,C,HW) blocked; gamma, beta, running_mean, running_var (C).
void sf_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                               const float *running_mean, const float *running_var, int n, int c, int hw,
                               int vb, float eps, bool relu) {
    check_args(n, c, hw, vb);
    int cb = sf_cblocks(c, vb);
    size_t plane = (size_t)hw * vb;
#pragma omp parallel for schedule(static) num_threads(bn_threads(n * cb * plane, n * cb))
    for (int p = 0; p < n * cb; p++) {
        float mean[SF_BN_VB_MAX], zero[SF_BN_VB_MAX], scale[SF_BN_VB_MAX], shift[SF_BN_VB_MAX];
        int b = p % cb;
        for (int l = 0; l < vb; l++) {
            int ch = b * vb + l;
            mean[l] = zero[l] = scale[l] = shift[l] = 0.0f;
            if (ch >= c) continue;
            mean[l] = running_mean[ch];
            scale[l] = (float)(gamma[ch] / sqrt((double)running_var[ch] + eps));
            shift[l] = beta[ch];
        }
        SF_BN_DISPATCH(normalize_plane, vb, y + p * plane, x + p * plane, mean, zero, scale, shift, hw,
                       relu)
    }
}

// Sums of the (ReLU-masked) gradient g and of g * (x - mean) over n planes of one channel block:
// dy, x, y (N, HW, vb) -> sg, sgx (vb).
SF_INLINE void grad_sums_block(double *sg, double *sgx, const float *dy, const float *x, const float *y,
                               const float *mean, size_t stride, int n, int hw, bool relu, int vb) {
    #pragma omp simd
    for (int l = 0; l < vb; l++) sg[l] = sgx[l] = 0.0;
    for (int i = 0; i < n; i++) {
        const float *dyp = dy + i * stride, *xp = x + i * stride, *yp = y + i * stride;
        for (int j0 = 0; j0 < hw; j0 += SF_BN_CHUNK) {
            int j1 = j0 + SF_BN_CHUNK < hw ? j0 + SF_BN_CHUNK : hw;
            float a[SF_BN_VB_MAX], b[SF_BN_VB_MAX];
            #pragma omp simd
            for (int l = 0; l < vb; l++) a[l] = b[l] = 0.0f;
            for (int j = j0; j < j1; j++)
                #pragma omp simd
                for (int l = 0; l < vb; l++) {
                    size_t k = (size_t)j * vb + l;
                    float g = dyp[k];
                    g = relu && !(yp[k] > 0.0f) ? 0.0f : g;
                    a[l] += g;
                    b[l] += g * (xp[k] - mean[l]);
                }
            #pragma omp simd
            for (int l = 0; l < vb; l++) {
                sg[l] += a[l];
                sgx[l] += b[l];
            }
        }
    }
}

// dx = k1 * (g - mg - (x - mean) * k2) on one plane, with g the ReLU-masked dy.
SF_INLINE void grad_plane(float *dx, const float *dy, const float *x, const float *y, const float *mean,
                          const float *k1, const float *mg, const float *k2, int hw, bool relu, int vb) {
    for (int j = 0; j < hw; j++)
        #pragma omp simd
        for (int l = 0; l < vb; l++) {
            size_t k = (size_t)j * vb + l;
            float g = dy[k];
            g = relu && !(y[k] > 0.0f) ? 0.0f : g;
            dx[k] = k1[l] * (g - mg[l] - (x[k] - mean[l]) * k2[l]);
        }
}

// dy, x, y, dx (N,C,HW) blocked; gamma, save_mean, save_invstd, dgamma, dbeta (C).
void sf_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                           const float *y, const float *gamma, const float *save_mean,
                           const float *save_invstd, int n, int c, int hw, int vb, bool relu) {
    check_args(n, c, hw, vb);
    if (relu && !y) sf_die("batch norm backward with fused ReLU needs the forward output y");
    // Without the ReLU, y is never read (and may be NULL); dy stands in for it so no NULL is offset.
    const float *ym = relu ? y : dy;
    double m = (double)n * hw;
    int cb = sf_cblocks(c, vb);
    size_t plane = (size_t)hw * vb, stride = (size_t)cb * plane;
#pragma omp parallel for schedule(static) num_threads(bn_threads(n * stride, cb))
    for (int b = 0; b < cb; b++) {
        double sg[SF_BN_VB_MAX], sgx[SF_BN_VB_MAX];
        float mean[SF_BN_VB_MAX], k1[SF_BN_VB_MAX], mg[SF_BN_VB_MAX], k2[SF_BN_VB_MAX];
        #pragma omp simd
        for (int l = 0; l < vb; l++) {
            int ch = b * vb + l;
            mean[l] = ch < c ? save_mean[ch] : 0.0f;
        }
        size_t off = b * plane;
        SF_BN_DISPATCH(grad_sums_block, vb, sg, sgx, dy + off, x + off, ym + off, mean, stride, n, hw, relu)
        for (int l = 0; l < vb; l++) {
            int ch = b * vb + l;
            k1[l] = mg[l] = k2[l] = 0.0f;
            if (ch >= c) continue;
            double invstd = save_invstd[ch];
            dbeta[ch] = (float)sg[l];
            dgamma[ch] = (float)(sgx[l] * invstd);
            k1[l] = (float)(gamma[ch] * invstd);
            mg[l] = (float)(sg[l] / m);
            k2[l] = (float)(sgx[l] * invstd * invstd / m);
        }
        for (int i = 0; i < n; i++) {
            size_t o = i * stride + off;
            SF_BN_DISPATCH(grad_plane, vb, dx + o, dy + o, x + o, ym + o, mean, k1, mg, k2, hw, relu)
        }
    }
}
