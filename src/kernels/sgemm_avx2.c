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

// One k step of tile(): acc (M, NV) += the A column at a (M floats) times the B row at b (8*NV floats);
// then a and b move to the next step.
#define TILE_STEP(M, NV)                                                                                 \
    do {                                                                                                 \
        const __m256 b0 = _mm256_loadu_ps(b);                                                            \
        const __m256 b1 = (NV) > 1 ? _mm256_loadu_ps(b + 8) : b0;                                        \
        _Pragma("GCC unroll 6") for (int i = 0; i < (M); i++) {                                          \
            const __m256 ai = _mm256_broadcast_ss(a + i);                                                \
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);                                              \
            if ((NV) > 1) acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);                                \
        }                                                                                                \
        a += rs_a;                                                                                       \
        b += rs_b;                                                                                       \
    } while (0)

// acc is (M, NV) ymm; c is (M, up to 8*NV) with row stride ldc, the last vector holding `tail` columns;
// PF: B is read in place (rs_b != NR), prefetch the next sliver's line.
// The loop needs 15 of the 16 ymm registers, so nothing vector-valued may stay live across it: with the
// column mask built before the loop, gcc spilled a B vector to the stack and fed 6 of the 12 FMAs per
// k step from memory, which held the kernel to ~65% of the FMA peak on Zen 3 (97% without).
static inline __attribute__((always_inline)) void tile(const int M, const int NV, const int PF, int k,
                                                       const float *a, long rs_a, const float *b, long rs_b,
                                                       float *c, long ldc, float alpha, float beta, int tail) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < M; i++) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    // C is fetched late, one row in each of the last M steps, straight into L1 (as in the AVX-512 kernel,
    // where rows fetched at the start evicted each other under a power-of-two leading dimension).
    const int k_main = k > M ? k - M : 0;
#pragma GCC unroll 4
    for (int p = 0; p < k_main; p++) {
        // The A slivers of one MC block are back to back: pull the stream ~0.5 KiB ahead into L1.
        _mm_prefetch((const char *)(a + 128), _MM_HINT_T0);
        // B read in place (rs_b != NR): its rows are far apart and the prefetchers lose track, so fetch
        // the line the next sliver will need a few rows ahead.
        if (PF) _mm_prefetch((const char *)(b + 4 * rs_b + NR), _MM_HINT_T0);
        TILE_STEP(M, NV);
    }
    for (int p = k_main; p < k; p++) {
        const float *cr = c + (p - k_main) * ldc;
        _mm_prefetch((const char *)cr, _MM_HINT_T0);
        _mm_prefetch((const char *)(cr + 8 * NV - 1), _MM_HINT_T0);  // the row may straddle two lines
        TILE_STEP(M, NV);
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    // lane j of the last vector is on when j < tail
    const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    // Masked moves only where the last vector is partial: on AMD Zen a ymm vmaskmovps store costs
    // several times a plain one, which shows when k is small (the fully connected dW, k = batch).
    const int partial = tail < 8;
#pragma GCC unroll 6
    for (int i = 0; i < M; i++) {
        float *ci = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            __m256 r = _mm256_mul_ps(va, acc[i][v]);
            if (v == NV - 1 && partial) {
                // beta == 0 must not read C (it may hold NaNs)
                if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(ci + 8 * v, last), r);
                _mm256_maskstore_ps(ci + 8 * v, last, r);
            } else {
                if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8 * v), r);
                _mm256_storeu_ps(ci + 8 * v, r);
            }
        }
    }
}

#define SF_TILE_CASE(M)                                                                                  \
    case M:                                                                                              \
        if (n_eff > 8 && rs_b != NR) tile(M, 2, 1, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, tail);     \
        else if (n_eff > 8) tile(M, 2, 0, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, tail);              \
        else tile(M, 1, 0, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, tail);                             \
        break;

void sf_sgemm_ukernel_avx2_6x16(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                long ldc, float alpha, float beta, int m_eff, int n_eff) {
    const int tail = n_eff > 8 ? n_eff - 8 : n_eff;
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

// r[0..7] are 8 rows of 8 floats; afterwards r[c] holds column c.
static inline __attribute__((always_inline)) void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
    // Pairs of rows interleaved within each 128-bit lane ...
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // ... then u[4g + c] holds, in lane L, column 4L + c of rows 4g..4g+3 ...
#pragma GCC unroll 2
    for (int g = 0; g < 2; g++) {
        u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    // ... and the two 128-bit lanes are swapped between the row halves.
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
}

// sf_sgemm_pack_b for NR = 16 with the transpose done 8 x 8 in registers: op(B) = B^T is read as 16
// rows of B, 8 floats each, and written as 8 k steps of 16 (the batch-64 fully connected forward,
// y = x W^T, packs all of W this way every step). Ragged slivers and k tails use the portable routine.
// dst is (ceil(nc/16), kc, 16); b is (nc,kc) with row stride ldb when trans_b.
void sf_sgemm_pack_b_avx2_16(float *restrict dst, bool trans_b, const float *restrict b, int ldb, int kc, int nc,
                             int nr) {
    if (!trans_b || nr != NR) {
        sf_sgemm_pack_b(dst, trans_b, b, ldb, kc, nc, nr);
        return;
    }
    const int kc8 = kc / 8 * 8;
    for (int j0 = 0; j0 < nc; j0 += NR, dst += (long)NR * kc) {
        const float *src = b + (long)j0 * ldb;
        if (nc - j0 < NR) {
            sf_sgemm_pack_b(dst, true, src, ldb, kc, nc - j0, NR);
            break;
        }
        for (int p0 = 0; p0 < kc8; p0 += 8)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m256 r[8];
#pragma GCC unroll 8
                for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(src + (long)(8 * h + j) * ldb + p0);
                transpose8(r);
#pragma GCC unroll 8
                for (int p = 0; p < 8; p++) _mm256_storeu_ps(dst + (long)(p0 + p) * NR + 8 * h, r[p]);
            }
        for (int j = 0; j < NR; j++)
            for (int p = kc8; p < kc; p++) dst[(long)p * NR + j] = src[(long)j * ldb + p];
    }
}

// sf_sgemm_pack_a for MR = 6 with the interleave done 8 x 8 in registers: 6 rows of A (2 zero rows pad
// the transpose), 8 floats each, become 8 k steps of 6. Each step's 8-float store runs 2 floats into
// the next step, which overwrites them; the block's last step stores only its 6. Ragged slivers and k
// tails use the portable routine. dst is (ceil(mc/6), kc, 6); a is (mc,kc) with row stride lda unless
// trans_a.
void sf_sgemm_pack_a_avx2_6(float *restrict dst, bool trans_a, const float *restrict a, int lda, int mc, int kc,
                            int mr) {
    if (trans_a || mr != MR) {
        sf_sgemm_pack_a(dst, trans_a, a, lda, mc, kc, mr);
        return;
    }
    const int kc8 = kc / 8 * 8;
    for (int i0 = 0; i0 < mc; i0 += MR, dst += (long)MR * kc) {
        const float *src = a + (long)i0 * lda;
        if (mc - i0 < MR) {
            sf_sgemm_pack_a(dst, false, src, lda, mc - i0, kc, MR);
            break;
        }
        for (int p0 = 0; p0 < kc8; p0 += 8) {
            __m256 r[8];
#pragma GCC unroll 6
            for (int i = 0; i < MR; i++) r[i] = _mm256_loadu_ps(src + (long)i * lda + p0);
            r[6] = r[7] = _mm256_setzero_ps();
            transpose8(r);
#pragma GCC unroll 7
            for (int p = 0; p < 7; p++) _mm256_storeu_ps(dst + (long)(p0 + p) * MR, r[p]);
            float *d7 = dst + (long)(p0 + 7) * MR;  // 6 floats: 4 + 2, no masked store (see tile)
            _mm_storeu_ps(d7, _mm256_castps256_ps128(r[7]));
            _mm_storel_pi((__m64 *)(void *)(d7 + 4), _mm256_extractf128_ps(r[7], 1));
        }
        for (int i = 0; i < MR; i++)
            for (int p = kc8; p < kc; p++) dst[(long)p * MR + i] = src[(long)i * lda + p];
    }
}
