// sgemm_scalar.c: the portable micro-kernels (contract in sgemm_internal.h). The 4x8 tile is the scalar
// ISA path and the reference shape for the vector kernels; the "slow" one is what -DSF_SLOW_GEMM builds
// use on every path, so that the performance-regression check can prove it notices a weak kernel.
#include "kernels/sgemm_internal.h"

enum { MR = 4, NR = 8 };

// c is (m_eff,n_eff) with row stride ldc; acc is (MR,NR)
static void store_tile(float *c, long ldc, const float acc[MR][NR], float alpha, float beta, int m_eff, int n_eff) {
    for (int i = 0; i < m_eff; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < n_eff; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < n_eff; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

void sf_sgemm_ukernel_scalar_4x8(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                 long ldc, float alpha, float beta, int m_eff, int n_eff) {
    float acc[MR][NR] = {{0}};
    for (int p = 0; p < k; p++) {
        const float *ap = a + p * rs_a, *bp = b + p * rs_b;
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += ap[i] * bp[j];
    }
    store_tile(c, ldc, acc, alpha, beta, m_eff, n_eff);
}

void sf_sgemm_ukernel_scalar_slow_4x8(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                      long ldc, float alpha, float beta, int m_eff, int n_eff) {
    float acc[MR][NR] = {{0}};
    for (int i = 0; i < m_eff; i++)
        for (int j = 0; j < n_eff; j++) {
            // volatile keeps the compiler from turning this back into a register-blocked loop
            volatile float s = 0.0f;
            for (int p = 0; p < k; p++) s += a[p * rs_a + i] * b[p * rs_b + j];
            acc[i][j] = s;
        }
    store_tile(c, ldc, acc, alpha, beta, m_eff, n_eff);
}
