// sgemm.h: single-precision GEMM, row-major, with cblas_sgemm(CblasRowMajor, ...) semantics:
//   C(m x n) := alpha * op(A) * op(B) + beta * C,  op(X) = X or X^T.
// A is m x k (k x m when trans_a), B is k x n (n x k when trans_b). Any m, n, k >= 0 and any leading
// dimension >= the row length work. beta == 0 overwrites C without reading it (NaNs in C are ignored).
// sf_sgemm runs on sf_threads() OpenMP threads; called from inside a parallel region it runs on the
// calling thread alone.
#ifndef SF_SGEMM_H
#define SF_SGEMM_H

#include <stdbool.h>

void sf_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

// The naive triple loop (double accumulation): the test oracle and the fallback.
void sf_sgemm_ref(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                  const float *b, int ldb, float beta, float *c, int ldc);

#endif
