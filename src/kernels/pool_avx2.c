// pool_avx2.c: the max-pool forward plane at vb = 8 with one ymm per pixel (see pool_avx512.c for why).
#include <immintrin.h>

#include "kernels/pool_internal.h"

// x (IH,IW,8) -> y, argmax (OH,OW,8). Takes v when v > max or v is NaN, as the generic body.
void sf_maxpool_fwd_plane8_avx2(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s) {
    for (int oh = 0; oh < s->oh; oh++) {
        int hs, he;
        sf_pool_window(&hs, &he, oh, s->sh, s->ph, s->kh, s->ih);
        for (int ow = 0; ow < s->ow; ow++) {
            int ws, we;
            sf_pool_window(&ws, &we, ow, s->sw, s->pw, s->kw, s->iw);
            __m256 m = _mm256_loadu_ps(x + ((size_t)hs * s->iw + ws) * 8);
            __m256 a = _mm256_castsi256_ps(_mm256_set1_epi32(hs * s->iw + ws));
            for (int h = hs; h < he; h++)
                for (int w = ws; w < we; w++) {
                    __m256 v = _mm256_loadu_ps(x + ((size_t)h * s->iw + w) * 8);
                    __m256 take = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                    m = _mm256_blendv_ps(m, v, take);
                    // The index rides in float lanes: blendv only moves bits.
                    a = _mm256_blendv_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(h * s->iw + w)), take);
                }
            size_t o = ((size_t)oh * s->ow + ow) * 8;
            _mm256_storeu_ps(y + o, m);
            _mm256_storeu_si256((__m256i *)(argmax + o), _mm256_castps_si256(a));
        }
    }
}
