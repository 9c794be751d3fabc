// layout.c: reorders between plain NCHW and the blocked nChw{vb}c layout (see layout.h).
#include "kernels/layout.h"
#include "util/util.h"

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

// One image, one pixel at a time; the 8 -> 16 and 16 -> 8 cases of a narrow first layer get constant
// lane counts so that the copies become vector moves.
static inline __attribute__((always_inline)) void reblock_image(float *dst, int dvb, const float *src, int svb, int c,
                                                                size_t hw) {
    const int dcb = sf_cblocks(c, dvb);
    for (int b = 0; b < dcb; b++)
        for (size_t p = 0; p < hw; p++) {
            float *d = dst + ((size_t)b * hw + p) * dvb;
            for (int v = 0; v < dvb; v++) {
                int ch = b * dvb + v;
                d[v] = ch < c ? src[((size_t)(ch / svb) * hw + p) * svb + ch % svb] : 0.0f;
            }
        }
}

void sf_reorder_reblock(float *dst, int dst_vb, const float *src, int src_vb, int n, int c, int h, int w) {
    const size_t hw = (size_t)h * (size_t)w;
    const size_t dimg = (size_t)sf_cblocks(c, dst_vb) * hw * dst_vb, simg = (size_t)sf_cblocks(c, src_vb) * hw * src_vb;
#pragma omp parallel for schedule(static) num_threads(sf_threads()) if (n > 1)
    for (int i = 0; i < n; i++) {
        float *d = dst + (size_t)i * dimg;
        const float *s = src + (size_t)i * simg;
        if (dst_vb == 16 && src_vb == 8) reblock_image(d, 16, s, 8, c, hw);
        else if (dst_vb == 8 && src_vb == 16) reblock_image(d, 8, s, 16, c, hw);
        else reblock_image(d, dst_vb, s, src_vb, c, hw);
    }
}
