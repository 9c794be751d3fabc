// conv2d_tiles32.h: the tile lists of the direct-convolution kernels for ISAs with 32 vector registers
// (AVX-512 zmm0-31, NEON v0-31). Included by conv2d_avx512.c and conv2d_neon.c before they expand the
// SF_CONV_DEFINE_* macros of conv2d_internal.h; the weight-gradient list FOR_EACH_NIC depends on the
// vector block and stays in each file. The AVX2 file has its own, smaller lists (16 ymm registers).
#ifndef SF_CONV2D_TILES32_H
#define SF_CONV2D_TILES32_H

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
// The largest ur per ocb in the lists above (sf_conv_isa.max_ur).
#define TILES32_MAX_UR {0, 28, 14, 9, 6}

// Plain-input weight-gradient tiles (nic, kwn): nic*kwn accumulators + dy + broadcast fit the registers.
#define FOR_EACH_WPLAIN(X) \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6) X(1, 7) X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(2, 5) X(2, 6) \
    X(2, 7) X(3, 1) X(3, 2) X(3, 3) X(3, 4) X(3, 5) X(3, 6) X(3, 7)

// Backward-data into plain dx (SF_CONV_BWD_PLAIN_BODY): ur*ci accumulators + ci weights + 1 dy vector,
// at most 31 of the 32 registers.
#define FOR_EACH_BPLAIN(X) \
    X(1, 1) X(2, 1) X(3, 1) X(4, 1) X(5, 1) X(6, 1) X(7, 1) X(8, 1) X(9, 1) X(10, 1) X(11, 1) X(12, 1) \
    X(13, 1) X(14, 1) X(15, 1) X(16, 1) X(17, 1) X(18, 1) X(19, 1) X(20, 1) X(21, 1) X(22, 1) X(23, 1) \
    X(24, 1) X(1, 2) X(2, 2) X(3, 2) X(4, 2) X(5, 2) X(6, 2) X(7, 2) X(8, 2) X(9, 2) X(10, 2) X(11, 2) \
    X(12, 2) X(13, 2) X(14, 2) X(1, 3) X(2, 3) X(3, 3) X(4, 3) X(5, 3) X(6, 3) X(7, 3) X(8, 3) X(9, 3) \
    X(1, 4) X(2, 4) X(3, 4) X(4, 4) X(5, 4) X(6, 4)
#define BPLAIN_MAX_UR 24
// The largest ur per ci in FOR_EACH_BPLAIN (sf_conv_isa.bplain_ur).
#define TILES32_BPLAIN_UR {0, 24, 14, 9, 6}

#endif
