// pool.h: max and average 2-D pooling with PyTorch semantics (floor mode; average pooling counts the
// zero padding, count_include_pad=True), and global average pooling. Tensors use the blocked layout of
// layout.h with the given vb (vb = 1 is plain NCHW). Gradients overwrite dx.
#ifndef SF_POOL_H
#define SF_POOL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int n, c, ih, iw;
    int kh, kw, sh, sw, ph, pw;
    int oh, ow;  // derived, floor mode
    // Max pool only: a ReLU fused on the output (false from sf_pool_shape_make). ReLU is monotone, so the
    // max of ReLU(x) over a window is the ReLU of its max, and the gradient reaches the same input: this
    // is PyTorch's MaxPool2d(ReLU(x)) with the ReLU on the pooled map, a quarter of the data at k = 2.
    // Outputs that are not positive get argmax -1 and pass no gradient; they are +0, or NaN where the
    // window held one (ReLU keeps NaN, as torch.relu).
    bool relu;
} sf_pool_shape;

sf_pool_shape sf_pool_shape_make(int n, int c, int ih, int iw, int k, int stride, int pad);

// y (N,C,OH,OW); argmax (same count as y) holds the flat h*W+w input index of each max, for backward
// (-1 where a fused ReLU's output is not positive).
void sf_maxpool2d_forward(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s, int vb);
void sf_maxpool2d_backward(float *dx, const float *dy, const int32_t *argmax, const sf_pool_shape *s, int vb);
void sf_avgpool2d_forward(float *y, const float *x, const sf_pool_shape *s, int vb);
void sf_avgpool2d_backward(float *dx, const float *dy, const sf_pool_shape *s, int vb);

// y (N,C) plain = mean over H,W of x (N,C,H,W) blocked; backward spreads dy/(H*W).
void sf_global_avgpool_forward(float *y, const float *x, int n, int c, int h, int w, int vb);
void sf_global_avgpool_backward(float *dx, const float *dy, int n, int c, int h, int w, int vb);

// Naive references on plain NCHW.
void sf_maxpool2d_forward_ref(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s);
void sf_maxpool2d_backward_ref(float *dx, const float *dy, const int32_t *argmax, const sf_pool_shape *s);
void sf_avgpool2d_forward_ref(float *y, const float *x, const sf_pool_shape *s);
void sf_avgpool2d_backward_ref(float *dx, const float *dy, const sf_pool_shape *s);

#endif
