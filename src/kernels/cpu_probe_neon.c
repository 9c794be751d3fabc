// cpu_probe_neon.c: 12 independent FMA chains, enough to cover 2 FMA ports x 4-6 cycles of latency.
// Each accumulator is its own variable and passes through an empty asm so that the compiler keeps all
// twelve in registers and cannot fold the loop.
#include "kernels/cpu_probe.h"
#include <arm_neon.h>

double sf_fma_probe_neon(long iters) {
    float32x4_t m = vdupq_n_f32(0.999999f), c = vdupq_n_f32(1e-7f);
    float32x4_t a0 = vdupq_n_f32((float)0);
    float32x4_t a1 = vdupq_n_f32((float)1);
    float32x4_t a2 = vdupq_n_f32((float)2);
    float32x4_t a3 = vdupq_n_f32((float)3);
    float32x4_t a4 = vdupq_n_f32((float)4);
    float32x4_t a5 = vdupq_n_f32((float)5);
    float32x4_t a6 = vdupq_n_f32((float)6);
    float32x4_t a7 = vdupq_n_f32((float)7);
    float32x4_t a8 = vdupq_n_f32((float)8);
    float32x4_t a9 = vdupq_n_f32((float)9);
    float32x4_t a10 = vdupq_n_f32((float)10);
    float32x4_t a11 = vdupq_n_f32((float)11);
    for (long it = 0; it < iters; it++) {
        a0 = vfmaq_f32(c, a0, m);
        a1 = vfmaq_f32(c, a1, m);
        a2 = vfmaq_f32(c, a2, m);
        a3 = vfmaq_f32(c, a3, m);
        a4 = vfmaq_f32(c, a4, m);
        a5 = vfmaq_f32(c, a5, m);
        a6 = vfmaq_f32(c, a6, m);
        a7 = vfmaq_f32(c, a7, m);
        a8 = vfmaq_f32(c, a8, m);
        a9 = vfmaq_f32(c, a9, m);
        a10 = vfmaq_f32(c, a10, m);
        a11 = vfmaq_f32(c, a11, m);
        __asm__ volatile("" : "+w"(a0), "+w"(a1), "+w"(a2), "+w"(a3), "+w"(a4), "+w"(a5), "+w"(a6), "+w"(a7), "+w"(a8), "+w"(a9), "+w"(a10), "+w"(a11));
    }
    volatile float sink = vaddvq_f32(a0) + vaddvq_f32(a1) + vaddvq_f32(a2) + vaddvq_f32(a3) + vaddvq_f32(a4) + vaddvq_f32(a5) + vaddvq_f32(a6) + vaddvq_f32(a7) + vaddvq_f32(a8) + vaddvq_f32(a9) + vaddvq_f32(a10) + vaddvq_f32(a11);
    (void)sink;
    return 12.0 * 4 * 2 * (double)iters;
}
