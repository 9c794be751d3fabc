// pool_avx512.c: the max-pool forward plane at vb = 16 with one zmm per pixel. The generic body in
// pool.c compiles to SSE at best (no -m flags there), and the compare-and-select per window tap is
// what bounds the max pool when the data is in cache.
#include <immintrin.h>

#include "kernels/pool_internal.h"

// x (IH,IW,16) -> y, argmax (OH,OW,16). Takes v when v > max or v is NaN: ties keep the first maximum
// in scan order and a NaN wins and stays, as PyTorch. The fused ReLU as pool.c's generic body.
void sf_maxpool_fwd_plane16_avx512(float *y, int32_t *argmax, const float *x, const sf_pool_shape *s) {
    for (int oh = 0; oh < s->oh; oh++) {
        int hs, he;
        sf_pool_window(&hs, &he, oh, s->sh, s->ph, s->kh, s->ih);
        for (int ow = 0; ow < s->ow; ow++) {
            int ws, we;
            sf_pool_window(&ws, &we, ow, s->sw, s->pw, s->kw, s->iw);
            __m512 m = _mm512_loadu_ps(x + ((size_t)hs * s->iw + ws) * 16);
            __m512i a = _mm512_set1_epi32(hs * s->iw + ws);
            for (int h = hs; h < he; h++)
                for (int w = ws; w < we; w++) {
                    __m512 v = _mm512_loadu_ps(x + ((size_t)h * s->iw + w) * 16);
                    __mmask16 take = _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
                    m = _mm512_mask_mov_ps(m, take, v);
                    a = _mm512_mask_mov_epi32(a, take, _mm512_set1_epi32(h * s->iw + w));
                }
            if (s->relu) {
                // y = m where m > 0 or NaN, else +0; argmax -1 where m is not positive.
                __mmask16 keep = _mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ);
                m = _mm512_maskz_mov_ps(keep | _mm512_cmp_ps_mask(m, m, _CMP_UNORD_Q), m);
                a = _mm512_mask_mov_epi32(_mm512_set1_epi32(-1), keep, a);
            }
            size_t o = ((size_t)oh * s->ow + ow) * 16;
            _mm512_storeu_ps(y + o, m);
            _mm512_storeu_si512((void *)(argmax + o), a);
        }
    }
}
