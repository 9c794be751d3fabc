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

#include "kernels/conv2d_tiles32.h"

// Weight-gradient tiles: every count of input channels 1..16.
#define FOR_EACH_NIC(X)                                                                                          \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

SF_CONV_DEFINE_KERNELS(avx512)

#define VHSUM(v) _mm512_reduce_add_ps(v)
SF_CONV_DEFINE_BWD_PLAIN(avx512, BPLAIN_MAX_UR)

// Row-sharing strips for one output block (stride 1, 3-column kernel rows): ROW3_UR accumulators + the 3
// weights + 1 broadcast within the 32 zmm registers. Here the strip kernel at one output block would
// spend a broadcast per FMA.
#define ROW3_UR 24
#define ROW3B_MIN_UR 4
#define FOR_EACH_ROW3B(X)                                                                                        \
    X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22)  \
    X(23) X(24)
SF_CONV_DEFINE_ROW3(avx512, ROW3_UR)

// Backward-weights on 2-3 output blocks at once: 8 input channels x 3 output blocks = 24 accumulators +
// 3 dy vectors, the broadcasts as FMA memory operands; each x value feeds 3 FMAs, where the one-block
// tile (16 accumulators) spends a broadcast load per FMA.
SF_CONV_DEFINE_WGRAD_MULTI(avx512, 8)

const sf_conv_isa sf_conv_isa_avx512 = {
    .name = "avx512",
    .vb = VB,
    .max_ur = TILES32_MAX_UR,
    .pref_ocb = 4,
    .across_below = 16,
    .direct = direct_avx512,
    .wgrad = wgrad_avx512,
    .max_kwn = {0, 7, 7, 7},
    .wgrad_plain = wgrad_plain_avx512,
    .bwd_plain = bwd_plain_avx512,
    .bplain_ur = TILES32_BPLAIN_UR,
    .wgrad_multi = wgrad_multi_avx512,
    .wgrad_ocb = 3,
    .row3 = row3_avx512,
    .row3b = row3b_avx512,
    .row3_ur = ROW3_UR,
    .row3b_min_ur = ROW3B_MIN_UR,
};
