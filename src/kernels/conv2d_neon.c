// conv2d_neon.c: NEON micro-kernels of the direct convolution (contract in conv2d_internal.h).
// Tiles of ur pixels x ocb blocks of 4 channels keep up to 28 q accumulators, leaving registers
// for the ocb weight vectors and the broadcast input. Each tile shape is its own function so that the
// accumulators are named registers; the input pixel stride is a compile-time constant where it can be
// (4 or 8 floats: blocked input at stride 1 or 2), so every broadcast is one addressed load.
#include "kernels/conv2d_internal.h"

// Predictive commoning and the SLP vectorizer carry input values from one loop iteration to the next
// in spilled registers; plain broadcasts from memory are what the tiles want.
#pragma GCC optimize("no-predictive-commoning", "no-tree-slp-vectorize")

#include <arm_neon.h>

#define VB 4
typedef float32x4_t V;
#define VZERO() vdupq_n_f32(0.0f)
#define VLOAD(p) vld1q_f32(p)
#define VSTORE(p, v) vst1q_f32((p), (v))
#define VBCAST(p) vld1q_dup_f32(p)
#define VFMA(a, b, c) vfmaq_f32((c), (a), (b))

#include "kernels/conv2d_tiles32.h"

// Weight-gradient tiles: every count of input channels 1..4.
#define FOR_EACH_NIC(X) X(1) X(2) X(3) X(4)

SF_CONV_DEFINE_KERNELS(neon)

#define VHSUM(v) vaddvq_f32(v)
SF_CONV_DEFINE_BWD_PLAIN(neon, BPLAIN_MAX_UR)

const sf_conv_isa sf_conv_isa_neon = {
    .name = "neon",
    .vb = VB,
    .max_ur = TILES32_MAX_UR,
    .pref_ocb = 4,
    .across_below = 16,
    .direct = direct_neon,
    .wgrad = wgrad_neon,
    .max_kwn = {0, 7, 7, 7},
    .wgrad_plain = wgrad_plain_neon,
    .bwd_plain = bwd_plain_neon,
    .bplain_ur = TILES32_BPLAIN_UR,
};
