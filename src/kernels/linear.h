// linear.h: fully connected layer y = x W^T + b on sf_sgemm (PyTorch's nn.Linear weight layout).
#ifndef SF_LINEAR_H
#define SF_LINEAR_H

// y (N,O) = x (N,I) . w (O,I)^T + b (O) [b may be NULL]
void sf_linear_forward(float *y, const float *x, const float *w, const float *b, int n, int in, int out);
// dx (N,I) [may be NULL: skipped], dw (O,I), db (O) [may be NULL], all overwritten.
void sf_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int n, int in, int out);

#endif
