// sgemm_avx2.c: the 6x16 AVX2 micro-kernel (contract in sgemm_internal.h).
//
// 6 rows x 2 ymm of C = 12 accumulators, 2 registers for the B row and one broadcast of A: 15 of the
// 16 ymm. Per k step: 2 loads of B, 6 broadcasts, 12 FMAs (2 ports x 5-cycle latency needs >= 10 chains).
//
// Edge tiles stay vectorised: the body is instantiated for every row count 1..6 and one or two vector
// columns, and the last column goes through a masked load/store.
#include "kernels/sgemm_internal.h"

#include <immintrin.h>

enum { MR = 6, NR = 16 };

// acc is (M, NV) ymm; c is (M, up to 8*NV) with row stride ldc, the last vector masked by `last`;
// PF: B is read in place (rs_b != NR), prefetch the next sliver's line
static inline __attribute__((always_inline)) void tile(const int M, const int NV, const int PF, int k,
                                                       const float *a, long rs_a, const float *b, long rs_b,
                                                       float *c, long ldc, float alpha, float beta,
                                                       __m256i last) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < M; i++) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T1);
    }
#pragma GCC unroll 4
    for (int p = 0; p < k; p++) {
        const __m256 b0 = _mm256_loadu_ps(b);
        const __m256 b1 = NV > 1 ? _mm256_loadu_ps(b + 8) : b0;
        // The A slivers of one MC block are back to back: pull the stream ~0.5 KiB ahead into L1.
        _mm_prefetch((const char *)(a + 128), _MM_HINT_T0);
        // B read in place (rs_b != NR): its rows are far apart and the prefetchers lose track, so fetch
        // the line the next sliver will need a few rows ahead.
        if (PF) _mm_prefetch((const char *)(b + 4 * rs_b + NR), _MM_HINT_T0);
#pragma GCC unroll 6
        for (int i = 0; i < M; i++) {
            const __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += rs_a;
        b += rs_b;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const __m256i full = _mm256_set1_epi32(-1);
#pragma GCC unroll 6
    for (int i = 0; i < M; i++) {
        float *ci = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const __m256i mk = v == NV - 1 ? last : full;
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            // beta == 0 must not read C (it may hold NaNs)
            if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(ci + 8 * v, mk), r);
            _mm256_maskstore_ps(ci + 8 * v, mk, r);
        }
    }
}

#define SF_TILE_CASE(M)                                                                                  \
    case M:                                                                                              \
        if (n_eff > 8 && rs_b != NR) tile(M, 2, 1, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, last);     \
        else if (n_eff > 8) tile(M, 2, 0, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, last);              \
        else tile(M, 1, 0, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, last);                             \
        break;

void sf_sgemm_ukernel_avx2_6x16(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                long ldc, float alpha, float beta, int m_eff, int n_eff) {
    const int tail = n_eff > 8 ? n_eff - 8 : n_eff;
    // lane j is on when j < tail
    const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    switch (m_eff) {
        SF_TILE_CASE(1)
        SF_TILE_CASE(2)
        SF_TILE_CASE(3)
        SF_TILE_CASE(4)
        SF_TILE_CASE(5)
        SF_TILE_CASE(6)
    default: break;
    }
}
