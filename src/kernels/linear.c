// linear.c: the fully connected layer as three GEMMs on sf_sgemm, with nn.Linear's weight layout
// w (O,I), so that weights load from PyTorch checkpoints without a transpose.
#include "kernels/linear.h"

#include <string.h>

#include "kernels/sgemm.h"
#include "util/util.h"

// y (N,O) = x (N,I) . w (O,I)^T + b (O)
void sf_linear_forward(float *y, const float *x, const float *w, const float *b, int n, int in, int out) {
    if (n < 0 || in < 0 || out < 0) sf_die("bad linear shape n=%d in=%d out=%d", n, in, out);
    sf_sgemm(false, true, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
    if (!b) return;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) y[(size_t)i * out + o] += b[o];
}

// dy (N,O), x (N,I), w (O,I) -> dx (N,I) = dy . w, dw (O,I) = dy^T . x, db (O) = column sums of dy.
void sf_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        int n, int in, int out) {
    if (n < 0 || in < 0 || out < 0) sf_die("bad linear shape n=%d in=%d out=%d", n, in, out);
    if (dx) sf_sgemm(false, false, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
    sf_sgemm(true, false, out, in, n, 1.0f, dy, out, x, in, 0.0f, dw, in);
    if (!db) return;
    memset(db, 0, sizeof(float) * (size_t)out);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) db[o] += dy[(size_t)i * out + o];
}
