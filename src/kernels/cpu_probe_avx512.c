// cpu_probe_avx512.c: 12 independent FMA chains, enough to cover 2 FMA ports x 4-6 cycles of latency.
// Each accumulator is its own variable and passes through an empty asm so that the compiler keeps all
// twelve in registers and cannot fold the loop.
#include "kernels/cpu_probe.h"
#include <immintrin.h>

double sf_fma_probe_avx512(long iters) {
    __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps((float)0);
    __m512 a1 = _mm512_set1_ps((float)1);
    __m512 a2 = _mm512_set1_ps((float)2);
    __m512 a3 = _mm512_set1_ps((float)3);
    __m512 a4 = _mm512_set1_ps((float)4);
    __m512 a5 = _mm512_set1_ps((float)5);
    __m512 a6 = _mm512_set1_ps((float)6);
    __m512 a7 = _mm512_set1_ps((float)7);
    __m512 a8 = _mm512_set1_ps((float)8);
    __m512 a9 = _mm512_set1_ps((float)9);
    __m512 a10 = _mm512_set1_ps((float)10);
    __m512 a11 = _mm512_set1_ps((float)11);
    for (long it = 0; it < iters; it++) {
        a0 = _mm512_fmadd_ps(a0, m, c);
        a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c);
        a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c);
        a7 = _mm512_fmadd_ps(a7, m, c);
        a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c);
        a10 = _mm512_fmadd_ps(a10, m, c);
        a11 = _mm512_fmadd_ps(a11, m, c);
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
    volatile float sink = _mm512_reduce_add_ps(a0) + _mm512_reduce_add_ps(a1) + _mm512_reduce_add_ps(a2) + _mm512_reduce_add_ps(a3) + _mm512_reduce_add_ps(a4) + _mm512_reduce_add_ps(a5) + _mm512_reduce_add_ps(a6) + _mm512_reduce_add_ps(a7) + _mm512_reduce_add_ps(a8) + _mm512_reduce_add_ps(a9) + _mm512_reduce_add_ps(a10) + _mm512_reduce_add_ps(a11);
    (void)sink;
    return 12.0 * 16 * 2 * (double)iters;
}
