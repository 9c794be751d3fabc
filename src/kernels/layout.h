// layout.h: the blocked activation layout nChw{vb}c and reorders to and from plain NCHW.
//
// A tensor of logical shape (N, C, H, W) is stored as N x CB x H x W x vb floats, CB = ceil(C / vb):
//   element (n, c, h, w) lives at (((n * CB + c / vb) * H + h) * W + w) * vb + c % vb.
// Channels C..CB*vb-1 are padding and are always zero (kernels write zeros there). vb = 1 is plain
// NCHW, which is how every per-channel kernel is tested against PyTorch. The engine uses vb = sf_vb().
#ifndef SF_LAYOUT_H
#define SF_LAYOUT_H

#include <stddef.h>

static inline int sf_cblocks(int c, int vb) { return (c + vb - 1) / vb; }
// Floats needed for a blocked (N, C, H, W) tensor, padding included.
static inline size_t sf_blocked_floats(int n, int c, int h, int w, int vb) {
    return (size_t)n * (size_t)sf_cblocks(c, vb) * (size_t)h * (size_t)w * (size_t)vb;
}

void sf_reorder_to_blocked(float *dst, const float *src_nchw, int n, int c, int h, int w, int vb);
void sf_reorder_to_plain(float *dst_nchw, const float *src, int n, int c, int h, int w, int vb);
// dst (N,C,H,W) blocked by dst_vb from src blocked by src_vb; dst's padding channels become zeros.
void sf_reorder_reblock(float *dst, int dst_vb, const float *src, int src_vb, int n, int c, int h, int w);

#endif
