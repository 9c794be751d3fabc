// sgemm_ref.c: the naive triple loop with double accumulation, the oracle of the fast sf_sgemm (sgemm.h).
#include "kernels/sgemm.h"

void sf_sgemm_ref(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc) {
    // a is (m,k) or (k,m) when trans_a; b is (k,n) or (n,k) when trans_b; c is (m,n), row stride ldc
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int p = 0; p < k; p++) {
                double x = trans_a ? a[(long)p * lda + i] : a[(long)i * lda + p];
                double y = trans_b ? b[(long)j * ldb + p] : b[(long)p * ldb + j];
                acc += x * y;
            }
            float *cij = &c[(long)i * ldc + j];
            // beta == 0 must not read C, so that NaNs left in an uninitialised C do not propagate
            *cij = beta == 0.0f ? (float)(alpha * acc) : (float)(alpha * acc + (double)beta * *cij);
        }
    }
}
