// bf16_avx512.c: fp32 -> bf16 with vcvtneps2bf16 (AVX512_BF16; this file is built with -mavx512bf16).
#include "kernels/bf16.h"

#include <immintrin.h>

void sf_bf16_from_f32_avx512(uint16_t *dst, const float *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)h);
    }
    if (i < n) {  // the tail through masked loads and stores
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i));
        _mm256_mask_storeu_epi16(dst + i, m, (__m256i)h);
    }
}

void sf_bf16_interleave2_avx512(uint16_t *dst, const float *a, const float *b, size_t len) {
    // cvtne2ps gives a's 16 values in the low half and b's in the high half; the permute interleaves them.
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (size_t i = 0; i < len; i += 16) {
        __mmask16 m = len - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (len - i)) - 1u);
        __m512 va = _mm512_maskz_loadu_ps(m, a + i), vb = b ? _mm512_maskz_loadu_ps(m, b + i) : _mm512_setzero_ps();
        __m512i h = _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(vb, va));
        _mm512_mask_storeu_epi32(dst + 2 * i, m, h);
    }
}
