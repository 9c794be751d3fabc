// conv2d_dot8_avx512.c: backward-data into at most 8 input channels held in 16-lane blocks on AVX-512 (the
// layer after an 8-lane first layer, SimpleCnn's conv2). The strip kernel would run each dy channel's FMA
// over 16 dx lanes of which 8 are padding; here the lanes run over dy's 16 channels, all of them real, and
// each dx value is a dot product (the contract of sf_conv_bpargs, CI = 8, dx blocked: dx_cs = 1):
//   dx[j*dx_ps + c] = sum_{b, t} sum_lanes dy[b*dy_cbs + tap_in[t] + j*dy_ps + lane] * w[b*w_bs + tap_w[t] + c*16 + lane]
// A pixel's 8 dot products are reduced together by a transposing tree (24 shuffles and adds for 72 FMAs).
// dx in 16-lane blocks gets all 16 lanes of a pixel, the padding ones as zeros; in 8-lane blocks (a
// narrow input, sf_conv2d_plan_create_narrow_x), the 8.
#include <immintrin.h>

#include "kernels/conv2d_internal.h"

// s[c] = the sum of v[c]'s 16 lanes for c < 8, in the low 256 bits.
static inline __m256 reduce8(const __m512 v[8]) {
    __m512 t[4], u[2];
    for (int k = 0; k < 4; k++)  // per 128-bit quarter: [v2k 0+2, v2k+1 0+2, v2k 1+3, v2k+1 1+3]
        t[k] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]), _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]));
    for (int k = 0; k < 2; k++) {  // per quarter: the quarter's sums of v4k .. v4k+3
        __m512d a = _mm512_castps_pd(t[2 * k]), b = _mm512_castps_pd(t[2 * k + 1]);
        u[k] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    // quarters [u0 q0+q1, u0 q2+q3, u1 q0+q1, u1 q2+q3], then [u0 all, u1 all, ...]
    __m512 w = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88), _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
    w = _mm512_add_ps(_mm512_shuffle_f32x4(w, w, 0x08), _mm512_shuffle_f32x4(w, w, 0x0D));
    return _mm512_castps512_ps256(w);
}

#define DOT8_BODY(UR)                                                                                           \
    {                                                                                                            \
        __m512 acc[UR][8];                                                                                       \
        _Pragma("GCC unroll 4") for (int j = 0; j < UR; j++)                                                     \
            _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) acc[j][c] = _mm512_setzero_ps();                 \
        for (int b = 0; b < a->n_b; b++) {                                                                       \
            const float *dyb = a->dy + b * a->dy_cbs, *wb = a->w + b * a->w_bs;                                  \
            for (int t = 0; t < a->n_taps; t++) {                                                                \
                const float *d = dyb + a->tap_in[t], *w = wb + a->tap_w[t];                                      \
                __m512 wv[8];                                                                                    \
                _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) wv[c] = _mm512_loadu_ps(w + c * 16);         \
                _Pragma("GCC unroll 4") for (int j = 0; j < UR; j++) {                                           \
                    __m512 x_ = _mm512_loadu_ps(d + j * a->dy_ps);                                               \
                    _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) acc[j][c] = _mm512_fmadd_ps(x_, wv[c], acc[j][c]); \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        _Pragma("GCC unroll 4") for (int j = 0; j < UR; j++) {                                                   \
            __m256 s_ = reduce8(acc[j]);                                                                         \
            if (a->dx_vb == 8) _mm256_storeu_ps(a->dx + j * a->dx_ps, s_);                                       \
            else _mm512_storeu_ps(a->dx + j * a->dx_ps, _mm512_zextps256_ps512(s_));                             \
        }                                                                                                        \
    }

static void dot8_1(const sf_conv_bpargs *a) DOT8_BODY(1)
static void dot8_2(const sf_conv_bpargs *a) DOT8_BODY(2)

void sf_conv_bwd_dot8_avx512(const sf_conv_bpargs *a, int ur) {
    if (ur == 2) dot8_2(a);
    else dot8_1(a);
}
