// activation.c: ReLU on flat arrays. Pure streaming, so the loops stay trivially vectorizable and are
// split across threads only when the array is large enough to amortise the fork.
#include "kernels/activation.h"

#include "util/util.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

size_t sf_relu_mask_bytes(size_t count) { return (count + 7) / 8; }

// n <= 8 elements: y = relu(x), returns their mask byte. The portable form of relu8_mask, and the tail.
static inline unsigned relu_mask_n(float *y, const float *x, size_t n) {
    unsigned m = 0;
    for (size_t j = 0; j < n; j++) {
        float v = x[j] < 0.0f ? 0.0f : x[j];
        y[j] = v;
        m |= (unsigned)(v > 0.0f) << j;
    }
    return m;
}

// n <= 8 elements: dx = dy where mask bit j is set, else 0.
static inline void relu_backward_n(float *dx, const float *dy, unsigned m, size_t n) {
    for (size_t j = 0; j < n; j++) {
        float g = dy[j];
        dx[j] = (m >> j) & 1 ? g : 0.0f;
    }
}

// Eight elements: y = relu(x), returns their mask byte. SSE2 is in every x86-64 CPU, so it needs no
// dispatch; elsewhere the plain loop is the same computation.
static inline unsigned relu8_mask(float *y, const float *x) {
#ifdef __SSE2__
    const __m128 z = _mm_setzero_ps();
    __m128 a = _mm_loadu_ps(x), b = _mm_loadu_ps(x + 4);
    // max(x, 0) returns its second operand for NaN: keep NaN by selecting x where x < 0 is false.
    a = _mm_andnot_ps(_mm_cmplt_ps(a, z), a);
    b = _mm_andnot_ps(_mm_cmplt_ps(b, z), b);
    _mm_storeu_ps(y, a);
    _mm_storeu_ps(y + 4, b);
    return (unsigned)(_mm_movemask_ps(_mm_cmpgt_ps(a, z)) | _mm_movemask_ps(_mm_cmpgt_ps(b, z)) << 4);
#else
    return relu_mask_n(y, x, 8);
#endif
}

static inline void relu8_backward(float *dx, const float *dy, unsigned m) {
#ifdef __SSE2__
    const __m128i bits = _mm_setr_epi32(1, 2, 4, 8);
    __m128i lo = _mm_set1_epi32((int)(m & 15)), hi = _mm_set1_epi32((int)(m >> 4));
    __m128 ml = _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(lo, bits), bits));
    __m128 mh = _mm_castsi128_ps(_mm_cmpeq_epi32(_mm_and_si128(hi, bits), bits));
    _mm_storeu_ps(dx, _mm_and_ps(_mm_loadu_ps(dy), ml));
    _mm_storeu_ps(dx + 4, _mm_and_ps(_mm_loadu_ps(dy + 4), mh));
#else
    relu_backward_n(dx, dy, m, 8);
#endif
}

// x, y (count), mask (sf_relu_mask_bytes(count)).
void sf_relu_forward_mask(float *y, uint8_t *mask, const float *x, size_t count) {
    size_t full = count / 8;
    int nt = count >= SF_RELU_PAR_MIN ? sf_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t i = 0; i < full; i++) mask[i] = (uint8_t)relu8_mask(y + 8 * i, x + 8 * i);
    if (count % 8) mask[full] = (uint8_t)relu_mask_n(y + 8 * full, x + 8 * full, count % 8);
}

// dy, dx (count), mask from sf_relu_forward_mask.
void sf_relu_backward_mask(float *dx, const float *dy, const uint8_t *mask, size_t count) {
    size_t full = count / 8;
    int nt = count >= SF_RELU_PAR_MIN ? sf_threads() : 1;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t i = 0; i < full; i++) relu8_backward(dx + 8 * i, dy + 8 * i, mask[i]);
    if (count % 8) relu_backward_n(dx + 8 * full, dy + 8 * full, mask[full], count % 8);
}
