// sgemm_internal.h: what the portable five-loop driver (sgemm.c), the packing routines (sgemm_pack.c)
// and the per-ISA micro-kernels (sgemm_<isa>.c) agree on. Not a public header.
//
// The micro-kernel contract
// -------------------------
// One call updates one register tile of C, at most MR x NR, over one k block:
//
//     C[0:m_eff, 0:n_eff] := alpha * Ap * Bp + beta * C[0:m_eff, 0:n_eff]      (beta == 0: C is not read)
//
// where Ap is an MR x k sliver of op(A) and Bp a k x NR sliver of op(B), both "k-major": the MR values
// of A for one p are contiguous, and so are the NR values of B, and step p+1 starts rs_a (rs_b) floats
// later. A packed sliver has rs_a == MR (rs_b == NR); the driver may also hand the kernel op(A) or op(B)
// straight from the caller's memory when that memory already has this shape (trans_a: a row of A^T is
// a column of op(A); !trans_b: a row of B), then rs_a = lda (rs_b = ldb). Every one of the MR (NR) floats
// per step must be readable: packed slivers are zero-padded past m_eff (n_eff), and unpacked slivers are
// only used for full tiles. The kernel reads k * MR floats of A and k * NR floats of B, writes only the
// m_eff x n_eff corner of C (row stride ldc), and needs no alignment (packed buffers are 64-byte aligned).
// k may be 0: then C := beta * C (C := 0 when beta == 0).
//
// Packed element order, MR = 3, NR = 4, k = 3 (numbers are the offsets in the packed buffer):
//
//   op(A), m x k, rows 0..4 (m = 5)   packed A: slivers of MR rows,      op(B), k x n, columns 0..5 (n = 6)
//                                     each k steps of MR values          packed B: slivers of NR columns
//         p=0 p=1 p=2                                                          j=0 j=1 j=2 j=3 | j=4 j=5
//   i=0 [  0   3   6 ]  sliver 0                                         p=0 [  0   1   2   3 |  12  13  -  - ]
//   i=1 [  1   4   7 ]  (offset 0)                                       p=1 [  4   5   6   7 |  16  17  -  - ]
//   i=2 [  2   5   8 ]                                                   p=2 [  8   9  10  11 |  20  21  -  - ]
//   i=3 [  9  12  15 ]  sliver 1                                              sliver 0          sliver 1
//   i=4 [ 10  13  16 ]  (offset MR*k = 9)                                     (offset 0)        (offset NR*k = 12)
//   pad [ 11  14  17 ]  zeros                                            "-" = zeros (14, 15, 18, 19, 22, 23)
//
// So sliver s of A starts at s * MR * k and holds op(A)(s*MR + i, p) at [p * MR + i]; sliver t of B
// starts at t * NR * k and holds op(B)(p, t*NR + j) at [p * NR + j].
#ifndef SF_SGEMM_INTERNAL_H
#define SF_SGEMM_INTERNAL_H

#include "kernels/cpu.h"

#include <stdbool.h>

typedef void (*sf_sgemm_ukernel_fn)(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                   long ldc, float alpha, float beta, int m_eff, int n_eff);
// Same contracts as sf_sgemm_pack_a / sf_sgemm_pack_b below.
typedef void (*sf_sgemm_pack_a_fn)(float *restrict dst, bool trans_a, const float *restrict a, int lda, int mc, int kc,
                                  int mr);
typedef void (*sf_sgemm_pack_b_fn)(float *restrict dst, bool trans_b, const float *restrict b, int ldb, int kc, int nc,
                                  int nr);

// One ISA's register tile and kernel; the cache block sizes are derived from the caches at start-up.
typedef struct {
    const char *name;            // e.g. "avx512_14x32"
    int mr, nr;                  // register tile
    sf_sgemm_ukernel_fn kernel;
    sf_sgemm_pack_a_fn pack_a;   // sf_sgemm_pack_a, or an ISA version of it
    sf_sgemm_pack_b_fn pack_b;   // sf_sgemm_pack_b, or an ISA version of it
} sf_sgemm_arch;

// Micro-kernels, one per ISA file (the names say ISA and tile).
void sf_sgemm_ukernel_scalar_4x8(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                 long ldc, float alpha, float beta, int m_eff, int n_eff);
// The deliberately weak kernel of -DSF_SLOW_GEMM builds: one dot product per element, no register tile.
void sf_sgemm_ukernel_scalar_slow_4x8(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                      long ldc, float alpha, float beta, int m_eff, int n_eff);
#if defined(__x86_64__)
void sf_sgemm_ukernel_avx512_14x32(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                   long ldc, float alpha, float beta, int m_eff, int n_eff);
void sf_sgemm_pack_a_avx512_14(float *restrict dst, bool trans_a, const float *restrict a, int lda, int mc, int kc,
                               int mr);
void sf_sgemm_pack_b_avx512_32(float *restrict dst, bool trans_b, const float *restrict b, int ldb, int kc, int nc,
                               int nr);
void sf_sgemm_ukernel_avx2_6x16(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                long ldc, float alpha, float beta, int m_eff, int n_eff);
void sf_sgemm_pack_a_avx2_6(float *restrict dst, bool trans_a, const float *restrict a, int lda, int mc, int kc,
                            int mr);
void sf_sgemm_pack_b_avx2_16(float *restrict dst, bool trans_b, const float *restrict b, int ldb, int kc, int nc,
                             int nr);
#endif
#if defined(__aarch64__)
void sf_sgemm_ukernel_neon_8x12(int k, const float *a, long rs_a, const float *b, long rs_b, float *c,
                                long ldc, float alpha, float beta, int m_eff, int n_eff);
#endif

// Pack op(A)[0:mc, 0:kc] into ceil(mc/mr) zero-padded slivers (order drawn above).
// op(A)(i, p) = trans_a ? a[p*lda + i] : a[i*lda + p].
void sf_sgemm_pack_a(float *restrict dst, bool trans_a, const float *restrict a, int lda, int mc, int kc, int mr);
// Pack op(B)[0:kc, 0:nc] into ceil(nc/nr) zero-padded slivers (order drawn above).
// op(B)(p, j) = trans_b ? b[j*ldb + p] : b[p*ldb + j].
void sf_sgemm_pack_b(float *restrict dst, bool trans_b, const float *restrict b, int ldb, int kc, int nc, int nr);

// The per-ISA table. The register tile is fixed per kernel; the cache blocks are derived from sf_cpu()
// at first use (sgemm.c) and can be overridden (sgemm_tuning.h, SPRINGFIELD_GEMM_MC/_KC/_NC):
//   KC = L1d / 2 / (4 NR)       the KC x NR sliver of B fills half of L1, A slivers and C lines the rest
//   MC = L2 / 2 / (4 KC)        the MC x KC block of A fills half of L2 (a multiple of MR, <= 1024)
//   NC = L3 / 4 / (4 KC)        the KC x NC panel of B a quarter of the shared L3 (a multiple of NR, <= 4096)
// and per call KC, MC and NC shrink to split k, m and n into equal blocks; when all of m fits one MC
// block, NC shrinks further so that each packed B chunk stays in L2 (it is used once, right away).
//
//   ISA      kernel                          MR  NR   packing            MC   KC   NC  (L1d 48K, L2 2M, L3 300M)
//   avx512   sf_sgemm_ukernel_avx512_14x32   14  32   transposes in zmm  1022 192 4096
//   avx2     sf_sgemm_ukernel_avx2_6x16       6  16   transposes in ymm   678 384 4096
//   neon     sf_sgemm_ukernel_neon_8x12       8  12   portable            (from the host's caches)
//   scalar   sf_sgemm_ukernel_scalar_4x8      4   8   portable            340 768 4096
//
// -DSF_SLOW_GEMM replaces every row by the weak scalar_slow_4x8 kernel (the perf check's control build).
static inline sf_sgemm_arch sf_sgemm_arch_for(sf_isa isa) {
#ifdef SF_SLOW_GEMM
    (void)isa;
    return (sf_sgemm_arch){"scalar_slow_4x8", 4, 8, sf_sgemm_ukernel_scalar_slow_4x8, sf_sgemm_pack_a,
                           sf_sgemm_pack_b};
#else
    switch (isa) {
#if defined(__x86_64__)
    case SF_ISA_AVX512:
        return (sf_sgemm_arch){"avx512_14x32", 14, 32, sf_sgemm_ukernel_avx512_14x32, sf_sgemm_pack_a_avx512_14,
                               sf_sgemm_pack_b_avx512_32};
    case SF_ISA_AVX2:
        return (sf_sgemm_arch){"avx2_6x16", 6, 16, sf_sgemm_ukernel_avx2_6x16, sf_sgemm_pack_a_avx2_6,
                               sf_sgemm_pack_b_avx2_16};
#endif
#if defined(__aarch64__)
    case SF_ISA_NEON: return (sf_sgemm_arch){"neon_8x12", 8, 12, sf_sgemm_ukernel_neon_8x12, sf_sgemm_pack_a, sf_sgemm_pack_b};
#endif
    default: return (sf_sgemm_arch){"scalar_4x8", 4, 8, sf_sgemm_ukernel_scalar_4x8, sf_sgemm_pack_a, sf_sgemm_pack_b};
    }
#endif
}

#endif
