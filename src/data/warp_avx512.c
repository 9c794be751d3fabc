// warp_avx512.c: the fused warp's row interior (warp_kernels.h) on 16 pixels at a time with AVX-512.
//
// A pixel's two top taps are 6 adjacent bytes, so one 64-bit gather lane fetches both (R0 G0 B0 R1 G1 B1
// and 2 spare bytes); the bottom pair is fetched from 2 bytes earlier, so no read passes the end of the
// image. Byte shuffles then turn each (left, right) pair of one channel into two int16 in a 32-bit lane,
// and one madd with the weights (2048 - dx, dx) gives left*2048 + (right - left)*dx, the same integer as
// the scalar kernel. The vertical blend needs 32-bit products and stays a mullo. A partial last block
// runs masked, so every pixel of the span takes this path.
#include "data/warp_kernels.h"

#include <immintrin.h>

// Per 128-bit lane (two gathered pixels a, b): the int16 pairs R_a R_b G_a G_b, and B_a B_b, from top
// taps (pair at byte 0) or bottom taps (pair at byte 2).
#define PAIRS(o) _mm512_broadcast_i32x4(_mm_setr_epi8(o + 0, -1, o + 3, -1, o + 8, -1, o + 11, -1, \
                                                      o + 1, -1, o + 4, -1, o + 9, -1, o + 12, -1))
#define PAIRS_B(o) _mm512_broadcast_i32x4(_mm_setr_epi8(o + 2, -1, o + 5, -1, o + 10, -1, o + 13, -1, \
                                                        -1, -1, -1, -1, -1, -1, -1, -1))

// The (left, right) int16 pairs of channels R, G, B (each (16) in pixel order) of 16 pixels whose taps
// were gathered as lo (pixels 0..7) and hi (8..15).
static inline void channel_pairs(__m512i p[3], __m512i lo, __m512i hi, __m512i sh_rg, __m512i sh_b,
                                 __m512i pick_r, __m512i pick_g) {
    __m512i rg_lo = _mm512_shuffle_epi8(lo, sh_rg), rg_hi = _mm512_shuffle_epi8(hi, sh_rg);
    __m512i b_lo = _mm512_shuffle_epi8(lo, sh_b), b_hi = _mm512_shuffle_epi8(hi, sh_b);
    p[0] = _mm512_permutex2var_epi32(rg_lo, pick_r, rg_hi);
    p[1] = _mm512_permutex2var_epi32(rg_lo, pick_g, rg_hi);
    p[2] = _mm512_permutex2var_epi32(b_lo, pick_r, b_hi);
}

void sf_warp_interior_avx512(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                             int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m11 = _mm512_set1_epi32(2047), vrow = _mm512_set1_epi32(row), w2048 = _mm512_set1_epi32(2048);
    const __m512i sh_top = PAIRS(0), sh_top_b = PAIRS_B(0), sh_bot = PAIRS(2), sh_bot_b = PAIRS_B(2);
    // Lanes 0, 1, 4, 5, ... of each shuffled register hold R pairs in pixel order; lanes 2, 3, 6, 7, ... G.
    const __m512i pick_r = _mm512_setr_epi32(0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29);
    const __m512i pick_g = _mm512_add_epi32(pick_r, _mm512_set1_epi32(2));
    const __m512 kv[3] = {_mm512_set1_ps(k[0]), _mm512_set1_ps(k[1]), _mm512_set1_ps(k[2])};
    const __m512 bv[3] = {_mm512_set1_ps(bi[0]), _mm512_set1_ps(bi[1]), _mm512_set1_ps(bi[2])};
    float *const o[3] = {o0, o1, o2};
    const void *base = src;
    __m512i X = _mm512_add_epi32(_mm512_set1_epi32(X0), _mm512_mullo_epi32(lane, _mm512_set1_epi32(DX)));
    __m512i Y = _mm512_add_epi32(_mm512_set1_epi32(Y0), _mm512_mullo_epi32(lane, _mm512_set1_epi32(DY)));
    const __m512i step_x = _mm512_set1_epi32(16 * DX), step_y = _mm512_set1_epi32(16 * DY);
    for (int i = 0; i < n; i += 16, X = _mm512_add_epi32(X, step_x), Y = _mm512_add_epi32(Y, step_y)) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512i dx = _mm512_and_si512(_mm512_srai_epi32(X, 5), m11);
        __m512i dy = _mm512_and_si512(_mm512_srai_epi32(Y, 5), m11);
        __m512i wx = _mm512_or_si512(_mm512_sub_epi32(w2048, dx), _mm512_slli_epi32(dx, 16));  // int16 pairs
        __m512i xi = _mm512_srai_epi32(X, 16);
        __m512i top = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srai_epi32(Y, 16), vrow),
                                       _mm512_add_epi32(xi, _mm512_add_epi32(xi, xi)));
        __m512i bot = _mm512_add_epi32(top, _mm512_sub_epi32(vrow, _mm512_set1_epi32(2)));
        // Masked-off lanes are not read, so the last block's positions past n never touch memory.
        __m512i z = _mm512_setzero_si512();
        __mmask8 ml = (__mmask8)m, mh = (__mmask8)(m >> 8);
        __m512i t_lo = _mm512_mask_i32gather_epi64(z, ml, _mm512_castsi512_si256(top), base, 1);
        __m512i t_hi = _mm512_mask_i32gather_epi64(z, mh, _mm512_extracti64x4_epi64(top, 1), base, 1);
        __m512i b_lo = _mm512_mask_i32gather_epi64(z, ml, _mm512_castsi512_si256(bot), base, 1);
        __m512i b_hi = _mm512_mask_i32gather_epi64(z, mh, _mm512_extracti64x4_epi64(bot, 1), base, 1);
        __m512i tp[3], bp[3];
        channel_pairs(tp, t_lo, t_hi, sh_top, sh_top_b, pick_r, pick_g);
        channel_pairs(bp, b_lo, b_hi, sh_bot, sh_bot_b, pick_r, pick_g);
        for (int c = 0; c < 3; c++) {
            __m512i t = _mm512_madd_epi16(tp[c], wx), b = _mm512_madd_epi16(bp[c], wx);
            __m512i v = _mm512_add_epi32(_mm512_slli_epi32(t, 11), _mm512_mullo_epi32(_mm512_sub_epi32(b, t), dy));
            _mm512_mask_storeu_ps(o[c] + i, m, _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(v), kv[c]), bv[c]));
        }
    }
}
