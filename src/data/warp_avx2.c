// warp_avx2.c: the fused warp's row interior (warp_kernels.h) on 8 pixels at a time with AVX2 gathers.
// Each tap is one 32-bit gather of 4 bytes: the top taps read R,G,B + the next byte from the tap itself,
// the bottom taps read from one byte before it (then shift), so no read passes the end of the image.
#include "data/warp_kernels.h"

#include <immintrin.h>

void sf_warp_interior_avx2(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                           int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i m8 = _mm256_set1_epi32(255), m11 = _mm256_set1_epi32(2047), vrow = _mm256_set1_epi32(row);
    const __m256i three = _mm256_set1_epi32(3);
    const __m256 k0 = _mm256_set1_ps(k[0]), k1 = _mm256_set1_ps(k[1]), k2 = _mm256_set1_ps(k[2]);
    const __m256 b0 = _mm256_set1_ps(bi[0]), b1 = _mm256_set1_ps(bi[1]), b2 = _mm256_set1_ps(bi[2]);
    const int *base = (const int *)(const void *)src;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i vi = _mm256_add_epi32(_mm256_set1_epi32(i), lane);
        __m256i X = _mm256_add_epi32(_mm256_set1_epi32(X0), _mm256_mullo_epi32(vi, _mm256_set1_epi32(DX)));
        __m256i Y = _mm256_add_epi32(_mm256_set1_epi32(Y0), _mm256_mullo_epi32(vi, _mm256_set1_epi32(DY)));
        __m256i dx = _mm256_and_si256(_mm256_srai_epi32(X, 5), m11);
        __m256i dy = _mm256_and_si256(_mm256_srai_epi32(Y, 5), m11);
        __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srai_epi32(Y, 16), vrow),
                                       _mm256_mullo_epi32(_mm256_srai_epi32(X, 16), three));
        __m256i offb = _mm256_add_epi32(off, _mm256_sub_epi32(vrow, _mm256_set1_epi32(1)));
        __m256i g00 = _mm256_i32gather_epi32(base, off, 1);
        __m256i g01 = _mm256_i32gather_epi32(base, _mm256_add_epi32(off, three), 1);
        __m256i g10 = _mm256_srli_epi32(_mm256_i32gather_epi32(base, offb, 1), 8);
        __m256i g11 = _mm256_srli_epi32(_mm256_i32gather_epi32(base, _mm256_add_epi32(offb, three), 1), 8);
        __m256 out[3];
        for (int c = 0; c < 3; c++) {
            __m256i p00 = _mm256_and_si256(_mm256_srli_epi32(g00, 8 * c), m8);
            __m256i p01 = _mm256_and_si256(_mm256_srli_epi32(g01, 8 * c), m8);
            __m256i p10 = _mm256_and_si256(_mm256_srli_epi32(g10, 8 * c), m8);
            __m256i p11 = _mm256_and_si256(_mm256_srli_epi32(g11, 8 * c), m8);
            __m256i t = _mm256_add_epi32(_mm256_slli_epi32(p00, 11), _mm256_mullo_epi32(_mm256_sub_epi32(p01, p00), dx));
            __m256i b = _mm256_add_epi32(_mm256_slli_epi32(p10, 11), _mm256_mullo_epi32(_mm256_sub_epi32(p11, p10), dx));
            __m256i v = _mm256_add_epi32(_mm256_slli_epi32(t, 11), _mm256_mullo_epi32(_mm256_sub_epi32(b, t), dy));
            out[c] = _mm256_cvtepi32_ps(v);
        }
        _mm256_storeu_ps(o0 + i, _mm256_add_ps(_mm256_mul_ps(out[0], k0), b0));
        _mm256_storeu_ps(o1 + i, _mm256_add_ps(_mm256_mul_ps(out[1], k1), b1));
        _mm256_storeu_ps(o2 + i, _mm256_add_ps(_mm256_mul_ps(out[2], k2), b2));
    }
    if (i < n)
        sf_warp_interior_scalar(o0 + i, o1 + i, o2 + i, n - i, src, row, X0 + i * DX, Y0 + i * DY, DX, DY, k, bi);
}
