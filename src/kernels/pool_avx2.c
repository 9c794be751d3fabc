// pool_avx2.c: the max-pool forward plane at vb = 8 with one ymm per pixel (see pool_avx512.c for why).
#include <immintrin.h>

#include "kernels/pool_internal.h"

// Folds tap v (flat input index i) into the running max m and its index a: takes v when v > m or v is
// NaN, as the generic body. The index rides in float lanes: blendv only moves bits.
static inline void take_tap(__m256 *m, __m256 *a, __m256 v, __m256 i) {
    __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, *m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    *m = _mm256_blendv_ps(*m, v, take);
    *a = _mm256_blendv_ps(*a, i, take);
}

// The fused ReLU: y = m where m > 0 or NaN, else +0; argmax -1 where m is not positive.
static inline void relu_tap(__m256 *m, __m256 *a) {
    __m256 keep = _mm256_cmp_ps(*m, _mm256_setzero_ps(), _CMP_GT_OQ);
    *m = _mm256_and_ps(*m, _mm256_or_ps(keep, _mm256_cmp_ps(*m, *m, _CMP_UNORD_Q)));
    *a = _mm256_or_ps(*a, _mm256_xor_ps(keep, _mm256_castsi256_ps(_mm256_set1_epi32(-1))));
}

static inline __m256 index_of(int i) { return _mm256_castsi256_ps(_mm256_set1_epi32(i)); }

// 2x2 windows at stride 2 without padding (SimpleCnn's pools): every window is whole, so the four taps
// are fixed offsets and no window bounds are computed per pixel.
static void plane8_2x2(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s) {
    int iw = s->iw;
    for (int oh = 0; oh < s->oh; oh++) {
        const float *r0 = x + (size_t)(2 * oh) * iw * 8, *r1 = r0 + (size_t)iw * 8;
        float *yr = y + (size_t)oh * s->ow * 8;
        int32_t *ar = argmax + (size_t)oh * s->ow * 8;
        for (int ow = 0; ow < s->ow; ow++) {
            int i0 = 2 * oh * iw + 2 * ow;
            __m256 m = _mm256_loadu_ps(r0 + 16 * ow), a = index_of(i0);
            take_tap(&m, &a, _mm256_loadu_ps(r0 + 16 * ow + 8), index_of(i0 + 1));
            take_tap(&m, &a, _mm256_loadu_ps(r1 + 16 * ow), index_of(i0 + iw));
            take_tap(&m, &a, _mm256_loadu_ps(r1 + 16 * ow + 8), index_of(i0 + iw + 1));
            if (s->relu) relu_tap(&m, &a);
            _mm256_storeu_ps(yr + 8 * ow, m);
            _mm256_storeu_ps((float *)(ar + 8 * ow), a);
        }
    }
}

// x (IH,IW,8) -> y, argmax (OH,OW,8): the generic body's results, fused ReLU included.
void sf_maxpool_fwd_plane8_avx2(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s) {
    if (s->kh == 2 && s->kw == 2 && s->sh == 2 && s->sw == 2 && s->ph == 0 && s->pw == 0) {
        plane8_2x2(y, argmax, x, s);
        return;
    }
    for (int oh = 0; oh < s->oh; oh++) {
        int hs, he;
        sf_pool_window(&hs, &he, oh, s->sh, s->ph, s->kh, s->ih);
        for (int ow = 0; ow < s->ow; ow++) {
            int ws, we;
            sf_pool_window(&ws, &we, ow, s->sw, s->pw, s->kw, s->iw);
            __m256 m = _mm256_loadu_ps(x + ((size_t)hs * s->iw + ws) * 8);
            __m256 a = index_of(hs * s->iw + ws);
            for (int h = hs; h < he; h++)
                for (int w = ws; w < we; w++)
                    take_tap(&m, &a, _mm256_loadu_ps(x + ((size_t)h * s->iw + w) * 8), index_of(h * s->iw + w));
            if (s->relu) relu_tap(&m, &a);
            size_t o = ((size_t)oh * s->ow + ow) * 8;
            _mm256_storeu_ps(y + o, m);
            _mm256_storeu_ps((float *)(argmax + o), a);
        }
    }
}
