// resize.h: bilinear resize of feature maps, align_corners=False, as F.interpolate(mode="bilinear"),
// up and down (no antialias, as PyTorch's default). Blocked layout with the given vb.
#ifndef SF_RESIZE_H
#define SF_RESIZE_H

// y (N,C,OH,OW) from x (N,C,IH,IW)
void sf_resize_bilinear_forward(float *y, const float *x, int n, int c, int ih, int iw, int oh, int ow, int vb);
// dx (N,C,IH,IW) overwritten from dy (N,C,OH,OW)
void sf_resize_bilinear_backward(float *dx, const float *dy, int n, int c, int ih, int iw, int oh, int ow, int vb);

#endif
