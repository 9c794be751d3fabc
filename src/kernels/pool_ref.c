// pool_ref.c: naive max and average pooling on plain NCHW, the oracle for pool.c. One output at a time,
// straight from the definition (PyTorch floor mode; padding is -inf for max and counted zeros for avg).
#include "kernels/pool.h"

#include <math.h>
#include <string.h>

// x (N,C,IH,IW), y and argmax (N,C,OH,OW)
void sf_maxpool2d_forward_ref(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s) {
    for (int p = 0; p < s->n * s->c; p++) {
        const float *xp = x + (size_t)p * s->ih * s->iw;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float m = -INFINITY;
                int32_t arg = -1;
                for (int i = 0; i < s->kh; i++)
                    for (int j = 0; j < s->kw; j++) {
                        int h = oh * s->sh - s->ph + i, w = ow * s->sw - s->pw + j;
                        if (h < 0 || h >= s->ih || w < 0 || w >= s->iw) continue;
                        float v = xp[h * s->iw + w];
                        if (arg < 0 || v > m || isnan(v)) {
                            m = v;
                            arg = h * s->iw + w;
                        }
                    }
                // The fused ReLU, applied to the window's max (pool.h says why that is ReLU-then-pool).
                if (s->relu && !(m > 0.0f)) {
                    if (!isnan(m)) m = 0.0f;
                    arg = -1;
                }
                size_t o = ((size_t)p * s->oh + oh) * s->ow + ow;
                y[o] = m;
                argmax[o] = arg;
            }
    }
}

// dy, argmax (N,C,OH,OW), dx (N,C,IH,IW); argmax -1 (a fused ReLU's non-positive output) passes nothing
void sf_maxpool2d_backward_ref(float *dx, const float *dy, const int32_t *argmax, const sf_pool_shape *s) {
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->c * s->ih * s->iw);
    for (int p = 0; p < s->n * s->c; p++)
        for (int o = 0; o < s->oh * s->ow; o++) {
            size_t io = (size_t)p * s->oh * s->ow + o;
            if (argmax[io] >= 0) dx[(size_t)p * s->ih * s->iw + argmax[io]] += dy[io];
        }
}

// x (N,C,IH,IW), y (N,C,OH,OW); floor mode keeps every window inside the padded input, so the divisor
// is always kh*kw.
void sf_avgpool2d_forward_ref(float *y, const float *x, const sf_pool_shape *s) {
    for (int p = 0; p < s->n * s->c; p++) {
        const float *xp = x + (size_t)p * s->ih * s->iw;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                double sum = 0;
                for (int i = 0; i < s->kh; i++)
                    for (int j = 0; j < s->kw; j++) {
                        int h = oh * s->sh - s->ph + i, w = ow * s->sw - s->pw + j;
                        if (h >= 0 && h < s->ih && w >= 0 && w < s->iw) sum += xp[h * s->iw + w];
                    }
                y[((size_t)p * s->oh + oh) * s->ow + ow] = (float)(sum / (s->kh * s->kw));
            }
    }
}

// dy (N,C,OH,OW), dx (N,C,IH,IW)
void sf_avgpool2d_backward_ref(float *dx, const float *dy, const sf_pool_shape *s) {
    memset(dx, 0, sizeof(float) * (size_t)s->n * s->c * s->ih * s->iw);
    for (int p = 0; p < s->n * s->c; p++)
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float g = dy[((size_t)p * s->oh + oh) * s->ow + ow] / (float)(s->kh * s->kw);
                for (int i = 0; i < s->kh; i++)
                    for (int j = 0; j < s->kw; j++) {
                        int h = oh * s->sh - s->ph + i, w = ow * s->sw - s->pw + j;
                        if (h >= 0 && h < s->ih && w >= 0 && w < s->iw)
                            dx[(size_t)p * s->ih * s->iw + h * s->iw + w] += g;
                    }
            }
}
