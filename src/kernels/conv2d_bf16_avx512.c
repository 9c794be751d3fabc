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
//
// A first layer reads plain x (3 channels): its forward takes x as planes of channel pairs (channels 0-1,
// then 2 and a zero), so each slot broadcast feeds two channels' products, 2 vdpbf16ps per tap and output
// block where fp32 spends 3 FMAs; its backward-weights takes plain x as image pairs.
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

// A first layer's plain input as channel-pair planes (icb = 1 slot): the fp32 kernel's plain tiles, at
// pixel stride 1 or 2 and in whole 7-column kernel rows (ocb <= 2), and at any stride.
FOR_EACH_PLAIN_TILE(SF_CONV_DEF_PLAIN_TILE)
static const sf_conv_direct_fn plain_tab[4][3][MAX_UR + 1] = {FOR_EACH_PLAIN_TILE(SF_CONV_TAB_PLAIN_TILE)};
#define BF_DEF_PTILE(UR, OCB) static void bp_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, 1, 0)
#define BF_TAB_PTILE(UR, OCB) [OCB][UR] = bp_##UR##_##OCB,
FOR_EACH_TILE(BF_DEF_PTILE)
static const sf_conv_direct_fn ptab[SF_CONV_MAX_OCB + 1][MAX_UR + 1] = {FOR_EACH_TILE(BF_TAB_PTILE)};

void sf_conv_direct_bf16_avx512(const sf_conv_kargs *a, int ur, int ocb) {
    if (a->icb == 1) {
        if (ocb <= 2 && (a->in_ps == 1 || a->in_ps == 2)) plain_tab[(a->row_kw == 7) * 2 + a->in_ps - 1][ocb][ur](a);
        else ptab[ocb][ur](a);
        return;
    }
    tab[a->in_ps == SLOTS ? 0 : a->in_ps == 2 * SLOTS ? 1 : 2][ocb][ur](a);
}

// Weight-gradient tiles of every input-channel count 1..16, and the multi-block tile (as conv2d_avx512.c).
#define FOR_EACH_NIC(X)                                                                                          \
    X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)
SF_CONV_DEFINE_WGRAD(bf16)
SF_CONV_DEFINE_WGRAD_MULTI(bf16, 8)
// Plain x in image pairs (a first layer): the plain weight-gradient tiles, kernel columns sharing each dy load.
FOR_EACH_WPLAIN(SF_CONV_DEF_WPLAIN)
static const sf_conv_wplain_fn wplain_tab[4][8] = {FOR_EACH_WPLAIN(SF_CONV_TAB_WPLAIN)};
static void wgrad_plain_bf16(const sf_conv_wargs *a, int kwn) { wplain_tab[a->nic][kwn](a); }

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
    .max_kwn = {0, 7, 7, 7},
    .wgrad_plain = wgrad_plain_bf16,
};
