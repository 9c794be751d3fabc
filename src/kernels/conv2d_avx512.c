// conv2d_avx512.c: AVX-512 micro-kernels of the direct convolution (contract in conv2d_internal.h).
// Tiles of ur pixels x ocb blocks of 16 channels keep up to 28 zmm accumulators, leaving registers
// for the ocb weight vectors and the broadcast input. Each tile shape is its own function so that the
// accumulators are named registers; the input pixel stride is a compile-time constant where it can be
// (16 or 32 floats: blocked input at stride 1 or 2), so every broadcast is one addressed load.
#include "kernels/conv2d_internal.h"

// Predictive commoning and the SLP vectorizer carry input values from one loop iteration to the next
// in spilled registers; plain broadcasts from memory are what the tiles want.
#pragma GCC optimize("no-predictive-commoning", "no-tree-slp-vectorize")

#include <immintrin.h>

#define VB 16
typedef __m512 V;
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))

// Every (ur, ocb) tile with ur*ocb accumulators + ocb weights + 1 broadcast <= 32 registers.
#define FOR_EACH_TILE(X)                                                                                        \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) X(13, 1)  \
    X(14, 1) X(15, 1) X(16, 1) X(17, 1) X(18, 1) X(19, 1) X(20, 1) X(21, 1) X(22, 1) X(23, 1) X(24, 1)          \
    X(25, 1) X(26, 1) X(27, 1) X(28, 1)                                                                         \
    X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2) X(7, 2) X(8, 2) X(9, 2) X(10, 2) X(11, 2) X(12, 2) X(13, 2)  \
    X(14, 2)                                                                                                    \
    X(1, 3) X(2, 3) X(3, 3) X(4, 3) X(5, 3) X(6, 3) X(7, 3) X(8, 3) X(9, 3)                                     \
    X(1, 4) X(2, 4) X(3, 4) X(4, 4) X(5, 4) X(6, 4)
// The tiles with ocb <= 2, also built for plain input at pixel stride 1 and 2.
#define FOR_EACH_PLAIN_TILE(X) \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) \
    X(13, 1) X(14, 1) X(15, 1) X(16, 1) X(17, 1) X(18, 1) X(19, 1) X(20, 1) X(21, 1) X(22, 1) X(23, 1) \
    X(24, 1) X(25, 1) X(26, 1) X(27, 1) X(28, 1) X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2) X(7, 2) \
    X(8, 2) X(9, 2) X(10, 2) X(11, 2) X(12, 2) X(13, 2) X(14, 2)
#define MAX_UR 28

// Weight-gradient tiles: every count of input channels 1..16.
#define FOR_EACH_NIC(X)                                                                                          \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

// Plain-input weight-gradient tiles (nic, kwn): nic*kwn accumulators + dy + broadcast fit the registers.
#define FOR_EACH_WPLAIN(X) \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6) X(1, 7) X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(2, 5) X(2, 6) \
    X(2, 7) X(3, 1) X(3, 2) X(3, 3) X(3, 4) X(3, 5) X(3, 6) X(3, 7)

SF_CONV_DEFINE_KERNELS(avx512)

// Backward-data into plain dx (SF_CONV_BWD_PLAIN_BODY): ur*ci accumulators + ci weights + 1 dy vector,
// at most 31 of the 32 registers.
#define FOR_EACH_BPLAIN(X) \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) \
    X(13, 1) X(14, 1) X(15, 1) X(16, 1) X(17, 1) X(18, 1) X(19, 1) X(20, 1) X(21, 1) X(22, 1) X(23, 1) \
    X(24, 1) X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2) X(7, 2) X(8, 2) X(9, 2) X(10, 2) X(11, 2) \
    X(12, 2) X(13, 2) X(14, 2) X(1, 3) X(2, 3) X(3, 3) X(4, 3) X(5, 3) X(6, 3) X(7, 3) X(8, 3) X(9, 3) \
    X(1, 4) X(2, 4) X(3, 4) X(4, 4) X(5, 4) X(6, 4)
#define VHSUM(v) _mm512_reduce_add_ps(v)
SF_CONV_DEFINE_BWD_PLAIN(avx512, 24)

const sf_conv_isa sf_conv_isa_avx512 = {
    .name = "avx512",
    .vb = VB,
    .max_ur = {0, 28, 14, 9, 6},
    .pref_ocb = 4,
    .across_below = 16,
    .direct = direct_avx512,
    .wgrad = wgrad_avx512,
    .max_kwn = {0, 7, 7, 7},
    .wgrad_plain = wgrad_plain_avx512,
    .bwd_plain = bwd_plain_avx512,
    .bplain_ur = {0, 24, 14, 9, 6},
};
