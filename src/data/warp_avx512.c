// warp_avx512.c: the fused warp's row interior (warp_kernels.h) on 16 pixels at a time with AVX-512 gathers.
// Each tap is one 32-bit gather of 4 bytes: the top taps read R,G,B + the next byte from the tap itself,
// the bottom taps read from one byte before it (then shift), so no read passes the end of the image.
#include "data/warp_kernels.h"

#include <immintrin.h>

void sf_warp_interior_avx512(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                           int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m8 = _mm512_set1_epi32(255), m11 = _mm512_set1_epi32(2047), vrow = _mm512_set1_epi32(row);
    const __m512i three = _mm512_set1_epi32(3);
    const __m512 k0 = _mm512_set1_ps(k[0]), k1 = _mm512_set1_ps(k[1]), k2 = _mm512_set1_ps(k[2]);
    const __m512 b0 = _mm512_set1_ps(bi[0]), b1 = _mm512_set1_ps(bi[1]), b2 = _mm512_set1_ps(bi[2]);
    const int *base = (const int *)(const void *)src;
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i vi = _mm512_add_epi32(_mm512_set1_epi32(i), lane);
        __m512i X = _mm512_add_epi32(_mm512_set1_epi32(X0), _mm512_mullo_epi32(vi, _mm512_set1_epi32(DX)));
        __m512i Y = _mm512_add_epi32(_mm512_set1_epi32(Y0), _mm512_mullo_epi32(vi, _mm512_set1_epi32(DY)));
        __m512i dx = _mm512_and_si512(_mm512_srai_epi32(X, 5), m11);
        __m512i dy = _mm512_and_si512(_mm512_srai_epi32(Y, 5), m11);
        __m512i off = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_srai_epi32(Y, 16), vrow),
                                       _mm512_mullo_epi32(_mm512_srai_epi32(X, 16), three));
        __m512i offb = _mm512_add_epi32(off, _mm512_sub_epi32(vrow, _mm512_set1_epi32(1)));
        __m512i g00 = _mm512_i32gather_epi32(off, base, 1);
        __m512i g01 = _mm512_i32gather_epi32(_mm512_add_epi32(off, three), base, 1);
        __m512i g10 = _mm512_srli_epi32(_mm512_i32gather_epi32(offb, base, 1), 8);
        __m512i g11 = _mm512_srli_epi32(_mm512_i32gather_epi32(_mm512_add_epi32(offb, three), base, 1), 8);
        __m512 out[3];
        for (int c = 0; c < 3; c++) {
            __m512i p00 = _mm512_and_si512(_mm512_srli_epi32(g00, 8 * c), m8);
            __m512i p01 = _mm512_and_si512(_mm512_srli_epi32(g01, 8 * c), m8);
            __m512i p10 = _mm512_and_si512(_mm512_srli_epi32(g10, 8 * c), m8);
            __m512i p11 = _mm512_and_si512(_mm512_srli_epi32(g11, 8 * c), m8);
            __m512i t = _mm512_add_epi32(_mm512_slli_epi32(p00, 11), _mm512_mullo_epi32(_mm512_sub_epi32(p01, p00), dx));
            __m512i b = _mm512_add_epi32(_mm512_slli_epi32(p10, 11), _mm512_mullo_epi32(_mm512_sub_epi32(p11, p10), dx));
            __m512i v = _mm512_add_epi32(_mm512_slli_epi32(t, 11), _mm512_mullo_epi32(_mm512_sub_epi32(b, t), dy));
            out[c] = _mm512_cvtepi32_ps(v);
        }
        _mm512_storeu_ps(o0 + i, _mm512_add_ps(_mm512_mul_ps(out[0], k0), b0));
        _mm512_storeu_ps(o1 + i, _mm512_add_ps(_mm512_mul_ps(out[1], k1), b1));
        _mm512_storeu_ps(o2 + i, _mm512_add_ps(_mm512_mul_ps(out[2], k2), b2));
    }
    if (i < n)
        sf_warp_interior_scalar(o0 + i, o1 + i, o2 + i, n - i, src, row, X0 + i * DX, Y0 + i * DY, DX, DY, k, bi);
}
