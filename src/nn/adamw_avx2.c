// adamw_avx2.c: the AdamW update, 8 floats per step; the tail through the reference (see adamw_kernel.h).
#include <immintrin.h>

#include "nn/adamw_kernel.h"

void sf_adamw_update_avx2(float *p, const float *g, float *m, float *v, float *vmax, size_t n,
                          const sf_adamw_coef *c) {
    const __m256 decay = _mm256_set1_ps(c->decay), b1 = _mm256_set1_ps(c->b1), omb1 = _mm256_set1_ps(c->one_m_b1);
    const __m256 b2 = _mm256_set1_ps(c->b2), omb2 = _mm256_set1_ps(c->one_m_b2);
    const __m256 step = _mm256_set1_ps(c->neg_step), bc2 = _mm256_set1_ps(c->bc2_sqrt), eps = _mm256_set1_ps(c->eps);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 pi = _mm256_mul_ps(_mm256_loadu_ps(p + i), decay);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), b1), _mm256_mul_ps(omb1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), b2), _mm256_mul_ps(_mm256_mul_ps(omb2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 vd = vi;
        if (vmax) {
            vd = _mm256_max_ps(_mm256_loadu_ps(vmax + i), vi);  // vmax > v ? vmax : v
            _mm256_storeu_ps(vmax + i, vd);
        }
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vd), bc2), eps);
        _mm256_storeu_ps(p + i, _mm256_add_ps(pi, _mm256_div_ps(_mm256_mul_ps(step, mi), denom)));
    }
    if (i < n) sf_adamw_update_ref(p + i, g + i, m + i, v + i, vmax ? vmax + i : NULL, n - i, c);
}
