// layout.c: reorders between plain NCHW and the blocked nChw{vb}c layout (see layout.h).
#include "kernels/layout.h"

// Writes zeros into the padding channels so that the blocked tensor honours the layout contract.
void sf_reorder_to_blocked(float *dst, const float *src_nchw, int n, int c, int h, int w, int vb) {
    // dst is (N, CB, H, W, vb), src_nchw is (N, C, H, W)
    int cb_n = sf_cblocks(c, vb);
    size_t hw = (size_t)h * (size_t)w;
    for (int in = 0; in < n; in++)
        for (int cb = 0; cb < cb_n; cb++) {
            float *d = dst + ((size_t)in * cb_n + cb) * hw * vb;
            for (int v = 0; v < vb; v++) {
                int ch = cb * vb + v;
                if (ch < c) {
                    const float *s = src_nchw + ((size_t)in * c + ch) * hw;
                    for (size_t p = 0; p < hw; p++) d[p * vb + v] = s[p];
                } else {
                    for (size_t p = 0; p < hw; p++) d[p * vb + v] = 0.0f;
                }
            }
        }
}

void sf_reorder_to_plain(float *dst_nchw, const float *src, int n, int c, int h, int w, int vb) {
    // dst_nchw is (N, C, H, W), src is (N, CB, H, W, vb)
    int cb_n = sf_cblocks(c, vb);
    size_t hw = (size_t)h * (size_t)w;
    for (int in = 0; in < n; in++)
        for (int ch = 0; ch < c; ch++) {
            const float *s = src + ((size_t)in * cb_n + ch / vb) * hw * vb + ch % vb;
            float *d = dst_nchw + ((size_t)in * c + ch) * hw;
            for (size_t p = 0; p < hw; p++) d[p] = s[p * vb];
        }
}
