// sgemm_neon.c: the 8x12 NEON micro-kernel (contract in sgemm_internal.h).
//
// 8 rows x 3 q-registers of C = 24 accumulators, 3 registers for the B row and 2 for the 8 values of A:
// 29 of the 32 v-registers. Per k step: 3 + 2 loads, 24 FMAs by lane (vfmaq_laneq_f32).
//
// Edge tiles stay vectorised: the body is instantiated for every row count 1..8; a partial column
// block is computed in full and written through a small tile on the stack (NEON has no masked store).
#include "kernels/sgemm_internal.h"

#include <arm_neon.h>

enum { MR = 8, NR = 12 };

#define SF_ROW_FMA(i, av, lane)                                                  \
    if (M > i) {                                                                 \
        acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, av, lane);                    \
        acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, av, lane);                    \
        acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, av, lane);                    \
    }

// c is (M, n_eff) with row stride ldc
static inline __attribute__((always_inline)) void tile(const int M, int k, const float *a, long rs_a, const float *b,
                                                       long rs_b, float *c, long ldc, float alpha, float beta,
                                                       int n_eff) {
    float32x4_t acc[MR][3];
    for (int i = 0; i < M; i++) acc[i][0] = acc[i][1] = acc[i][2] = vdupq_n_f32(0.0f);
    for (int p = 0; p < k; p++) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        const float32x4_t a0 = vld1q_f32(a), a1 = M > 4 ? vld1q_f32(a + 4) : a0;
        SF_ROW_FMA(0, a0, 0)
        SF_ROW_FMA(1, a0, 1)
        SF_ROW_FMA(2, a0, 2)
        SF_ROW_FMA(3, a0, 3)
        SF_ROW_FMA(4, a1, 0)
        SF_ROW_FMA(5, a1, 1)
        SF_ROW_FMA(6, a1, 2)
        SF_ROW_FMA(7, a1, 3)
        a += rs_a;
        b += rs_b;
    }
    const float32x4_t va = vdupq_n_f32(alpha);
    float tmp[NR];
    for (int i = 0; i < M; i++) {
        float *ci = c + i * ldc;
        float *dst = n_eff == NR ? ci : tmp;
        for (int v = 0; v < 3; v++) {
            float32x4_t r = vmulq_f32(va, acc[i][v]);
            // beta == 0 must not read C (it may hold NaNs)
            if (beta != 0.0f && n_eff == NR) r = vfmaq_n_f32(r, vld1q_f32(ci + 4 * v), beta);
            vst1q_f32(dst + 4 * v, r);
        }
        if (n_eff < NR)
            for (int j = 0; j < n_eff; j++) ci[j] = beta != 0.0f ? tmp[j] + beta * ci[j] : tmp[j];
    }
}

void sf_sgemm_ukernel_neon_8x12(int k, const float *a, long rs_a, const float *b, long rs_b, float *c, long ldc,
                                float alpha, float beta, int m_eff, int n_eff) {
    switch (m_eff) {
    case 1: tile(1, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    case 2: tile(2, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    case 3: tile(3, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    case 4: tile(4, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    case 5: tile(5, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    case 6: tile(6, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    case 7: tile(7, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    case 8: tile(8, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, n_eff); break;
    default: break;
    }
}
