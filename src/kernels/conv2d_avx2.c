// conv2d_avx2.c: AVX2 micro-kernels of the direct convolution (contract in conv2d_internal.h).
// Tiles of ur pixels x ocb blocks of 8 channels keep up to 14 ymm accumulators, leaving registers
// for the ocb weight vectors and the broadcast input. Each tile shape is its own function so that the
// accumulators are named registers; the input pixel stride is a compile-time constant where it can be
// (8 or 16 floats: blocked input at stride 1 or 2), so every broadcast is one addressed load.
#include "kernels/conv2d_internal.h"

// Predictive commoning and the SLP vectorizer carry input values from one loop iteration to the next
// in spilled registers; plain broadcasts from memory are what the tiles want.
#pragma GCC optimize("no-predictive-commoning", "no-tree-slp-vectorize")

#include <immintrin.h>

#define VB 8
typedef __m256 V;
#define VZERO() _mm256_setzero_ps()
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(p) _mm256_set1_ps(*(p))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))

// Every (ur, ocb) tile with ur*ocb accumulators + ocb weights + 1 broadcast <= 16 registers.
#define FOR_EACH_TILE(X)                                                                                        \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) X(13, 1)  \
    X(14, 1)                                                                                                    \
    X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2)                                                             \
    X(1, 3) X(2, 3) X(3, 3) X(4, 3)                                                                             \
    X(1, 4) X(2, 4)
// The tiles with ocb <= 2, also built for plain input at pixel stride 1 and 2.
#define FOR_EACH_PLAIN_TILE(X) \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) \
    X(13, 1) X(14, 1) X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2)
#define MAX_UR 14

// Weight-gradient tiles: every count of input channels 1..8.
#define FOR_EACH_NIC(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)

// Plain-input weight-gradient tiles (nic, kwn): nic*kwn accumulators + dy + broadcast fit the registers.
#define FOR_EACH_WPLAIN(X) \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6) X(1, 7) X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(2, 5) X(2, 6) \
    X(2, 7) X(3, 1) X(3, 2) X(3, 3) X(3, 4)

SF_CONV_DEFINE_KERNELS(avx2)

// Backward-data into plain dx (SF_CONV_BWD_PLAIN_BODY): ur*ci accumulators + ci weights + 1 dy vector,
// at most 15 of the 16 registers.
#define FOR_EACH_BPLAIN(X) \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) \
    X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2) X(1, 3) X(2, 3) X(3, 3) X(1, 4) X(2, 4)
static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
#define VHSUM(v) hsum_avx2(v)
SF_CONV_DEFINE_BWD_PLAIN(avx2, 12)

// 11 accumulators + 3 weights + 1 broadcast: 15 of the 16 ymm registers. With 12 (all 16) gcc spilled
// accumulators inside the loop, and SimpleCnn's conv1 forward ran 20 % slower.
#define ROW3_UR 11
#define ROW3B_MIN_UR 4
#define FOR_EACH_ROW3B(X) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
SF_CONV_DEFINE_ROW3(avx2, ROW3_UR)

// 12 accumulators + 3 dy vectors + 1 broadcast: all 16 ymm registers (4 input channels x 3 output
// blocks); 2 output blocks run the 8-accumulator form.
SF_CONV_DEFINE_WGRAD_MULTI(avx2, 4)

const sf_conv_isa sf_conv_isa_avx2 = {
    .name = "avx2",
    .vb = VB,
    .max_ur = {0, 14, 6, 4, 2},
    .pref_ocb = 2,
    .across_below = 8,
    .direct = direct_avx2,
    .wgrad = wgrad_avx2,
    .max_kwn = {0, 7, 7, 4},
    .wgrad_plain = wgrad_plain_avx2,
    .row3 = row3_avx2,
    .row3b = row3b_avx2,
    .row3_ur = ROW3_UR,
    .row3b_min_ur = ROW3B_MIN_UR,
    .bwd_plain = bwd_plain_avx2,
    .bplain_ur = {0, 12, 6, 3, 2},
    .wgrad_multi = wgrad_multi_avx2,
    .wgrad_ocb = 3,
};
