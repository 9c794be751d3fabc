// activation.c: ReLU on flat arrays. Pure streaming, so the loops stay trivially vectorizable and are
// split across threads only when the array is large enough to amortise the fork.
#include "kernels/activation.h"

#include "util/util.h"

// Below this many floats (256 KiB) one thread streams faster than forking a team.
#define SF_RELU_PAR_MIN ((size_t)1 << 16)

// x, y (count); NaN propagates (x < 0 is false for NaN), as torch.relu.
void sf_relu_forward(float *y, const float *x, size_t count) {
    int nt = count >= SF_RELU_PAR_MIN ? sf_threads() : 1;
#pragma omp parallel for simd schedule(static) num_threads(nt)
    for (size_t i = 0; i < count; i++) y[i] = x[i] < 0.0f ? 0.0f : x[i];
}

// dy, y, dx (count); y is the forward output, so y > 0 is exactly where the input was positive.
void sf_relu_backward(float *dx, const float *dy, const float *y, size_t count) {
    int nt = count >= SF_RELU_PAR_MIN ? sf_threads() : 1;
#pragma omp parallel for simd schedule(static) num_threads(nt)
    for (size_t i = 0; i < count; i++) {
        // Both loads are unconditional so that the select compiles to a vector blend, not a branch.
        float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}
