// conv2d_bf16_avx512.c: the direct-convolution strip kernel on bf16 pairs (AVX512_BF16; built with
// -mavx512bf16, run only where sf_bf16_supported()). Contract: sf_conv_direct_bf16_avx512 in
// conv2d_internal.h.
//
// It is SF_CONV_DIRECT_BODY with the fp32 FMA replaced by vdpbf16ps: every 32-bit slot of the input holds
// the bf16 values of two adjacent channels, the broadcast puts that pair in all 16 lanes, and the weight
// vector holds, per lane (output channel), the two matching bf16 weights. One instruction does the work
// of two fp32 FMAs; products are exact and the sums stay fp32. An input block of 16 channels is 8 slots
// per pixel, so a tile reads half the input bytes and half the weight bytes of the fp32 kernel.
//
// Backward-weights sums over pixels and images, so there the pairs are two images: x and dy go into the
// image-pair layout (sf_bf16_pair_images: ceil(N/2) blocked images whose 32-bit slots each hold one
// value of images 2q and 2q+1), which is the fp32 blocked layout of half as many images, slot for float.
// The fp32 weight-gradient tiles then run unchanged on it with vdpbf16ps: a broadcast slot is the pair
// of x values, a loaded dy vector holds the pair of dy values per output channel.
#include "kernels/conv2d_internal.h"

#pragma GCC optimize("no-predictive-commoning", "no-tree-slp-vectorize")

#include <immintrin.h>

#define VB 16
typedef __m512 V;
#define VZERO() _mm512_setzero_ps()
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
// one input slot (a bf16 pair) in every lane, loaded through an aliasing-safe 32-bit load
#define VBCAST(p) _mm512_castsi512_ps(_mm512_broadcastd_epi32(_mm_loadu_si32(p)))
#define VFMA(a, b, c) _mm512_dpbf16_ps((c), (__m512bh)(a), (__m512bh)(b))

#include "kernels/conv2d_tiles32.h"

// 8 slots per input block; pixel stride 8 slots (stride 1), 16 (stride 2) or any.
#define SLOTS (VB / 2)
#define BF_DEF_TILE(UR, OCB)                                                                                   \
    static void b1_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, SLOTS, SLOTS)               \
    static void b2_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, SLOTS, 2 * SLOTS)           \
    static void bn_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, SLOTS, 0)
#define BF_TAB_TILE(UR, OCB) [0][OCB][UR] = b1_##UR##_##OCB, [1][OCB][UR] = b2_##UR##_##OCB, [2][OCB][UR] = bn_##UR##_##OCB,

FOR_EACH_TILE(BF_DEF_TILE)
static const sf_conv_direct_fn tab[3][SF_CONV_MAX_OCB + 1][MAX_UR + 1] = {FOR_EACH_TILE(BF_TAB_TILE)};

void sf_conv_direct_bf16_avx512(const sf_conv_kargs *a, int ur, int ocb) {
    tab[a->in_ps == SLOTS ? 0 : a->in_ps == 2 * SLOTS ? 1 : 2][ocb][ur](a);
}

// Weight-gradient tiles of every input-channel count 1..16, and the multi-block tile (as conv2d_avx512.c).
#define FOR_EACH_NIC(X)                                                                                          \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)
SF_CONV_DEFINE_WGRAD(bf16)
SF_CONV_DEFINE_WGRAD_MULTI(bf16, 8)

const sf_conv_isa sf_conv_isa_avx512bf16_pairs = {
    .name = "avx512bf16",
    .vb = VB,
    .max_ur = TILES32_MAX_UR,
    .pref_ocb = 4,
    .across_below = 16,
    .direct = sf_conv_direct_bf16_avx512,
    .wgrad = wgrad_bf16,
    .wgrad_multi = wgrad_multi_bf16,
    .wgrad_ocb = 3,
};
