// warp_avx2.c: the fused warp's row interior (warp_kernels.h) on 8 pixels at a time with AVX2.
//
// The same scheme as warp_avx512.c: a 64-bit gather lane fetches a pixel's two top taps (6 adjacent
// bytes), the bottom pair comes from 2 bytes earlier so no read passes the end of the image, byte
// shuffles make (left, right) int16 pairs per channel, and one madd with (2048 - dx, dx) does the
// horizontal blend in exact integers. The gathers take pixels {0,1,4,5} and {2,3,6,7}, so that 64-bit
// unpacks of the shuffled registers come out in pixel order. A partial last block runs masked; whole
// blocks do not.
#include "data/warp_kernels.h"

#include <immintrin.h>
#include <string.h>

// Per 128-bit lane (two gathered pixels a, b): the int16 pairs R_a R_b G_a G_b, and B_a B_b, from top
// taps (pair at byte 0) or bottom taps (pair at byte 2).
#define PAIRS(o) _mm256_broadcastsi128_si256(_mm_setr_epi8(o + 0, -1, o + 3, -1, o + 8, -1, o + 11, -1, \
                                                           o + 1, -1, o + 4, -1, o + 9, -1, o + 12, -1))
#define PAIRS_B(o) _mm256_broadcastsi128_si256(_mm_setr_epi8(o + 2, -1, o + 5, -1, o + 10, -1, o + 13, -1, \
                                                             -1, -1, -1, -1, -1, -1, -1, -1))

// The (left, right) int16 pairs of channels R, G, B (each (8) in pixel order) from the taps of pixels
// {0,1,4,5} (a) and {2,3,6,7} (b).
static inline void channel_pairs(__m256i p[3], __m256i a, __m256i b, __m256i sh_rg, __m256i sh_b) {
    __m256i rg_a = _mm256_shuffle_epi8(a, sh_rg), rg_b = _mm256_shuffle_epi8(b, sh_rg);
    __m256i b_a = _mm256_shuffle_epi8(a, sh_b), b_b = _mm256_shuffle_epi8(b, sh_b);
    p[0] = _mm256_unpacklo_epi64(rg_a, rg_b);
    p[1] = _mm256_unpackhi_epi64(rg_a, rg_b);
    p[2] = _mm256_unpacklo_epi64(b_a, b_b);
}

// 8 unaligned bytes (memcpy: no alignment or aliasing assumptions; compiles to one load).
static inline long long load64(const uint8_t *p) {
    long long v;
    memcpy(&v, p, sizeof v);
    return v;
}

void sf_warp_interior_avx2(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                           int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i split = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);  // gather order {0,1,4,5} {2,3,6,7}
    const __m256i m11 = _mm256_set1_epi32(2047), vrow = _mm256_set1_epi32(row), w2048 = _mm256_set1_epi32(2048);
    const __m256i sh_top = PAIRS(0), sh_top_b = PAIRS_B(0), sh_bot = PAIRS(2), sh_bot_b = PAIRS_B(2);
    const __m256 kv[3] = {_mm256_set1_ps(k[0]), _mm256_set1_ps(k[1]), _mm256_set1_ps(k[2])};
    const __m256 bv[3] = {_mm256_set1_ps(bi[0]), _mm256_set1_ps(bi[1]), _mm256_set1_ps(bi[2])};
    float *const o[3] = {o0, o1, o2};
    const long long *base = (const long long *)(const void *)src;
    __m256i X = _mm256_add_epi32(_mm256_set1_epi32(X0), _mm256_mullo_epi32(lane, _mm256_set1_epi32(DX)));
    __m256i Y = _mm256_add_epi32(_mm256_set1_epi32(Y0), _mm256_mullo_epi32(lane, _mm256_set1_epi32(DY)));
    const __m256i step_x = _mm256_set1_epi32(8 * DX), step_y = _mm256_set1_epi32(8 * DY);
    for (int i = 0; i < n; i += 8, X = _mm256_add_epi32(X, step_x), Y = _mm256_add_epi32(Y, step_y)) {
        // Whole blocks use plain gathers and stores: on AMD Zen a ymm vmaskmovps store costs several
        // times a plain one, and three per block were a third of this loop's time.
        const int whole = n - i >= 8;
        __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i), lane);  // pixels of the span
        __m256i dx = _mm256_and_si256(_mm256_srai_epi32(X, 5), m11);
        __m256i dy = _mm256_and_si256(_mm256_srai_epi32(Y, 5), m11);
        __m256i wx = _mm256_or_si256(_mm256_sub_epi32(w2048, dx), _mm256_slli_epi32(dx, 16));  // int16 pairs
        __m256i xi = _mm256_srai_epi32(X, 16);
        __m256i top = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srai_epi32(Y, 16), vrow),
                                       _mm256_add_epi32(xi, _mm256_add_epi32(xi, xi)));
        top = _mm256_permutevar8x32_epi32(top, split);
        __m256i bot = _mm256_add_epi32(top, _mm256_sub_epi32(vrow, _mm256_set1_epi32(2)));
        __m128i top_a = _mm256_castsi256_si128(top), top_b = _mm256_extracti128_si256(top, 1);
        __m128i bot_a = _mm256_castsi256_si128(bot), bot_b = _mm256_extracti128_si256(bot, 1);
        __m256i ta, tb, ba, bb;
        if (whole) {
            // Sixteen plain 64-bit loads: on AMD Zen 3 four vpgatherdq took a third of this loop.
            int32_t ot[8], ob[8];
            _mm256_storeu_si256((__m256i *)ot, top);
            _mm256_storeu_si256((__m256i *)ob, bot);
            ta = _mm256_setr_epi64x(load64(src + ot[0]), load64(src + ot[1]), load64(src + ot[2]), load64(src + ot[3]));
            tb = _mm256_setr_epi64x(load64(src + ot[4]), load64(src + ot[5]), load64(src + ot[6]), load64(src + ot[7]));
            ba = _mm256_setr_epi64x(load64(src + ob[0]), load64(src + ob[1]), load64(src + ob[2]), load64(src + ob[3]));
            bb = _mm256_setr_epi64x(load64(src + ob[4]), load64(src + ob[5]), load64(src + ob[6]), load64(src + ob[7]));
        } else {
            // Masked-off lanes are not read, so the last block's positions past n never touch memory.
            __m256i ms = _mm256_permutevar8x32_epi32(m, split), z = _mm256_setzero_si256();
            __m256i ma = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(ms));
            __m256i mb = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(ms, 1));
            ta = _mm256_mask_i32gather_epi64(z, base, top_a, ma, 1), tb = _mm256_mask_i32gather_epi64(z, base, top_b, mb, 1);
            ba = _mm256_mask_i32gather_epi64(z, base, bot_a, ma, 1), bb = _mm256_mask_i32gather_epi64(z, base, bot_b, mb, 1);
        }
        __m256i tp[3], bp[3];
        channel_pairs(tp, ta, tb, sh_top, sh_top_b);
        channel_pairs(bp, ba, bb, sh_bot, sh_bot_b);
        for (int c = 0; c < 3; c++) {
            __m256i t = _mm256_madd_epi16(tp[c], wx), b = _mm256_madd_epi16(bp[c], wx);
            __m256i v = _mm256_add_epi32(_mm256_slli_epi32(t, 11), _mm256_mullo_epi32(_mm256_sub_epi32(b, t), dy));
            __m256 r = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(v), kv[c]), bv[c]);
            if (whole) _mm256_storeu_ps(o[c] + i, r);
            else _mm256_maskstore_ps(o[c] + i, m, r);
        }
    }
}
