// cpu_probe_avx2.c: 12 independent FMA chains, enough to cover 2 FMA ports x 4-6 cycles of latency.
// Each accumulator is its own variable and passes through an empty asm so that the compiler keeps all
// twelve in registers and cannot fold the loop.
#include "kernels/cpu_probe.h"
#include <immintrin.h>

double sf_fma_probe_avx2(long iters) {
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps((float)0);
    __m256 a1 = _mm256_set1_ps((float)1);
    __m256 a2 = _mm256_set1_ps((float)2);
    __m256 a3 = _mm256_set1_ps((float)3);
    __m256 a4 = _mm256_set1_ps((float)4);
    __m256 a5 = _mm256_set1_ps((float)5);
    __m256 a6 = _mm256_set1_ps((float)6);
    __m256 a7 = _mm256_set1_ps((float)7);
    __m256 a8 = _mm256_set1_ps((float)8);
    __m256 a9 = _mm256_set1_ps((float)9);
    __m256 a10 = _mm256_set1_ps((float)10);
    __m256 a11 = _mm256_set1_ps((float)11);
    for (long it = 0; it < iters; it++) {
        a0 = _mm256_fmadd_ps(a0, m, c);
        a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c);
        a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c);
        a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c);
        a10 = _mm256_fmadd_ps(a10, m, c);
        a11 = _mm256_fmadd_ps(a11, m, c);
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    volatile float sink = _mm256_cvtss_f32(a0) + _mm256_cvtss_f32(a1) + _mm256_cvtss_f32(a2) + _mm256_cvtss_f32(a3) + _mm256_cvtss_f32(a4) + _mm256_cvtss_f32(a5) + _mm256_cvtss_f32(a6) + _mm256_cvtss_f32(a7) + _mm256_cvtss_f32(a8) + _mm256_cvtss_f32(a9) + _mm256_cvtss_f32(a10) + _mm256_cvtss_f32(a11);
    (void)sink;
    return 12.0 * 8 * 2 * (double)iters;
}
