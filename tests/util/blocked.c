// blocked.c: see blocked.h.
#include "blocked.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/layout.h"

float *to_blocked(const float *src, int n, int c, int hw, int vb) {
    int cb = sf_cblocks(c, vb);
    float *dst = calloc(sf_blocked_floats(n, c, hw, 1, vb), sizeof(float));
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < hw; p++)
                dst[(((size_t)i * cb + ch / vb) * hw + p) * vb + ch % vb] = src[((size_t)i * c + ch) * hw + p];
    return dst;
}

// Copies blocked src back to plain dst; returns the largest |value| found in a padding lane.
float to_plain(float *dst, const float *src, int n, int c, int hw, int vb) {
    int cb = sf_cblocks(c, vb);
    float pad = 0.0f;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < cb; b++)
            for (int p = 0; p < hw; p++)
                for (int l = 0; l < vb; l++) {
                    float v = src[(((size_t)i * cb + b) * hw + p) * vb + l];
                    int ch = b * vb + l;
                    if (ch < c) dst[((size_t)i * c + ch) * hw + p] = v;
                    else if (fabsf(v) > pad || v != v) pad = v != v ? INFINITY : fabsf(v);
                }
    return pad;
}

char *gname(const char *c, const char *t) {
    static char buf[256];
    snprintf(buf, sizeof buf, "layers/%s_%s.npy", c, t);
    return buf;
}
