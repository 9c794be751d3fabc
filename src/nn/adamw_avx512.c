// adamw_avx512.c: the AdamW update, 16 floats per step; the tail under a mask (see adamw_kernel.h).
#include <immintrin.h>

#include "nn/adamw_kernel.h"

void sf_adamw_update_avx512(float *p, const float *g, float *m, float *v, float *vmax, size_t n,
                            const sf_adamw_coef *c) {
    const __m512 decay = _mm512_set1_ps(c->decay), b1 = _mm512_set1_ps(c->b1), omb1 = _mm512_set1_ps(c->one_m_b1);
    const __m512 b2 = _mm512_set1_ps(c->b2), omb2 = _mm512_set1_ps(c->one_m_b2);
    const __m512 step = _mm512_set1_ps(c->neg_step), bc2 = _mm512_set1_ps(c->bc2_sqrt), eps = _mm512_set1_ps(c->eps);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 gi = _mm512_maskz_loadu_ps(k, g + i);
        __m512 pi = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, p + i), decay);
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, m + i), b1), _mm512_mul_ps(omb1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, v + i), b2),
                                  _mm512_mul_ps(_mm512_mul_ps(omb2, gi), gi));
        _mm512_mask_storeu_ps(m + i, k, mi);
        _mm512_mask_storeu_ps(v + i, k, vi);
        __m512 vd = vi;
        if (vmax) {
            vd = _mm512_max_ps(_mm512_maskz_loadu_ps(k, vmax + i), vi);  // vmax > v ? vmax : v
            _mm512_mask_storeu_ps(vmax + i, k, vd);
        }
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vd), bc2), eps);
        _mm512_mask_storeu_ps(p + i, k, _mm512_add_ps(pi, _mm512_div_ps(_mm512_mul_ps(step, mi), denom)));
    }
}
