// sgemm_avx512.c: the 14x32 AVX-512 micro-kernel (contract in sgemm_internal.h).
//
// 14 rows x 2 zmm of C = 28 accumulators, plus 2 registers for the B row and one broadcast of A: 31 of
// the 32 zmm. Per k step: 2 loads of B, 14 broadcasts of A (folded into the FMAs), 28 FMAs, enough
// independent chains to keep both FMA ports busy through their 4-cycle latency.
//
// Edge tiles do not fall back to scalar code: the tile body is instantiated for every row count 1..14
// and for one or two vector columns, and the last column is written with a masked load/store.
#include "kernels/sgemm_internal.h"

#include <immintrin.h>

enum { MR = 14, NR = 32 };

// One k step of tile(): acc (M, NV) += the A column at a (M floats) times the B row at b (16*NV floats);
// then a and b move to the next step.
#define TILE_STEP(M, NV)                                                                                 \
    do {                                                                                                 \
        const __m512 b0 = _mm512_loadu_ps(b);                                                            \
        const __m512 b1 = (NV) > 1 ? _mm512_loadu_ps(b + 16) : b0;                                       \
        _Pragma("GCC unroll 14") for (int i = 0; i < (M); i++) {                                         \
            const __m512 ai = _mm512_set1_ps(a[i]);                                                      \
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);                                              \
            if ((NV) > 1) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);                                \
        }                                                                                                \
        a += rs_a;                                                                                       \
        b += rs_b;                                                                                       \
    } while (0)

// acc is (M, NV) zmm; c is (M, up to 16*NV) with row stride ldc, the last vector masked by `last`;
// PF: B is read in place (rs_b != NR), prefetch the next sliver's lines
static inline __attribute__((always_inline)) void tile(const int M, const int NV, const int PF, int k,
                                                       const float *a, long rs_a, const float *b, long rs_b,
                                                       float *c, long ldc, float alpha, float beta,
                                                       __mmask16 last) {
    __m512 acc[MR][2];
#pragma GCC unroll 14
    for (int i = 0; i < M; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    // C is fetched late, one row in each of the last M steps, straight into L1: under a leading dimension
    // that is a multiple of 1024 floats all 14 rows share one 12-way L1 set, and rows fetched earlier
    // (this kernel used to prefetch them into L2 here at the start) evicted each other and the B sliver.
    // On Zen 5, 1 thread, median of 5 alternated runs: m = n = k = 2048 went from 188 to 205 GFLOP/s,
    // 1024 from 202 to 208, and no shape tried got slower.
    const int k_main = k > M ? k - M : 0;
#pragma GCC unroll 4
    for (int p = 0; p < k_main; p++) {
        // The A slivers of one MC block are back to back: pull the stream ~1 KiB ahead into L1.
        _mm_prefetch((const char *)(a + 256), _MM_HINT_T0);
        // B read in place (rs_b != NR): its rows are far apart and the prefetchers lose track, so fetch
        // the two lines the next sliver will need a few rows ahead.
        if (PF) {
            _mm_prefetch((const char *)(b + 4 * rs_b + NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 4 * rs_b + NR + 16), _MM_HINT_T0);
        }
        TILE_STEP(M, NV);
    }
    for (int p = k_main; p < k; p++) {
        const int r = p - k_main;
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        if (NV > 1) _mm_prefetch((const char *)(c + r * ldc + 16), _MM_HINT_T0);
        TILE_STEP(M, NV);
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
    for (int i = 0; i < M; i++) {
        float *ci = c + i * ldc;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            const __mmask16 mk = v == NV - 1 ? last : (__mmask16)0xffff;
            __m512 r = _mm512_mul_ps(va, acc[i][v]);
            // beta == 0 must not read C (it may hold NaNs)
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk, ci + 16 * v), r);
            _mm512_mask_storeu_ps(ci + 16 * v, mk, r);
        }
    }
}

#define SF_TILE_CASE(M)                                                                                  \
    case M:                                                                                              \
        if (n_eff > 16 && rs_b != NR) tile(M, 2, 1, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, last);    \
        else if (n_eff > 16) tile(M, 2, 0, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, last);             \
        else tile(M, 1, 0, k, a, rs_a, b, rs_b, c, ldc, alpha, beta, last);                             \
        break;

void sf_sgemm_ukernel_avx512_14x32(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                   long ldc, float alpha, float beta, int m_eff, int n_eff) {
    const int tail = n_eff > 16 ? n_eff - 16 : n_eff;
    const __mmask16 last = (__mmask16)((1u << tail) - 1u);
    switch (m_eff) {
        SF_TILE_CASE(1)
        SF_TILE_CASE(2)
        SF_TILE_CASE(3)
        SF_TILE_CASE(4)
        SF_TILE_CASE(5)
        SF_TILE_CASE(6)
        SF_TILE_CASE(7)
        SF_TILE_CASE(8)
        SF_TILE_CASE(9)
        SF_TILE_CASE(10)
        SF_TILE_CASE(11)
        SF_TILE_CASE(12)
        SF_TILE_CASE(13)
        SF_TILE_CASE(14)
    default: break;
    }
}

// r[0..15] are 16 rows of 16 floats; afterwards r[c] holds column c.
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    // Pairs of rows interleaved within each 128-bit lane ...
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // ... then u[4g + c] holds, in lane L, column 4L + c of rows 4g..4g+3 ...
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    // ... and a 4 x 4 transpose of the 128-bit lanes gathers each column.
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        __m512 v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44), v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(v1, v3, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
}

// sf_sgemm_pack_b for NR = 32 with the transpose done 16 x 16 in registers: op(B) = B^T is read as 32
// rows of B, 16 floats each, and written as 16 k steps of 32. Ragged slivers and k tails use the
// portable routine. dst is (ceil(nc/32), kc, 32); b is (nc,kc) with row stride ldb when trans_b.
void sf_sgemm_pack_b_avx512_32(float *restrict dst, bool trans_b, const float *restrict b, int ldb, int kc, int nc,
                               int nr) {
    if (!trans_b || nr != NR) {
        sf_sgemm_pack_b(dst, trans_b, b, ldb, kc, nc, nr);
        return;
    }
    const int kc16 = kc / 16 * 16;
    for (int j0 = 0; j0 < nc; j0 += NR, dst += (long)NR * kc) {
        const float *src = b + (long)j0 * ldb;
        if (nc - j0 < NR) {
            sf_sgemm_pack_b(dst, true, src, ldb, kc, nc - j0, NR);
            break;
        }
        for (int p0 = 0; p0 < kc16; p0 += 16)
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                __m512 r[16];
#pragma GCC unroll 16
                for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(src + (long)(16 * h + j) * ldb + p0);
                transpose16(r);
#pragma GCC unroll 16
                for (int p = 0; p < 16; p++) _mm512_storeu_ps(dst + (long)(p0 + p) * NR + 16 * h, r[p]);
            }
        if (kc16 < kc)
            for (int j = 0; j < NR; j++)
                for (int p = kc16; p < kc; p++) dst[(long)p * NR + j] = src[(long)j * ldb + p];
    }
}

// sf_sgemm_pack_a for MR = 14 with the interleave done 16 x 16 in registers: 14 rows of A (2 zero rows
// pad the transpose), 16 floats each, become 16 k steps of 14. Ragged slivers and k tails use the
// portable routine. dst is (ceil(mc/14), kc, 14); a is (mc,kc) with row stride lda unless trans_a.
void sf_sgemm_pack_a_avx512_14(float *restrict dst, bool trans_a, const float *restrict a, int lda, int mc, int kc,
                               int mr) {
    if (trans_a || mr != MR) {
        sf_sgemm_pack_a(dst, trans_a, a, lda, mc, kc, mr);
        return;
    }
    const int kc16 = kc / 16 * 16;
    for (int i0 = 0; i0 < mc; i0 += MR, dst += (long)MR * kc) {
        const float *src = a + (long)i0 * lda;
        if (mc - i0 < MR) {
            sf_sgemm_pack_a(dst, false, src, lda, mc - i0, kc, MR);
            break;
        }
        for (int p0 = 0; p0 < kc16; p0 += 16) {
            __m512 r[16];
#pragma GCC unroll 14
            for (int i = 0; i < MR; i++) r[i] = _mm512_loadu_ps(src + (long)i * lda + p0);
            r[14] = r[15] = _mm512_setzero_ps();
            transpose16(r);
#pragma GCC unroll 16
            for (int p = 0; p < 16; p++) _mm512_mask_storeu_ps(dst + (long)(p0 + p) * MR, (__mmask16)0x3fff, r[p]);
        }
        for (int i = 0; i < MR; i++)
            for (int p = kc16; p < kc; p++) dst[(long)p * MR + i] = src[(long)i * lda + p];
    }
}
