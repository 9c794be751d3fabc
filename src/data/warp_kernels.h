// warp_kernels.h: the inner loop of the fused augmentation pass (augment.c), one version per ISA.
//
// Contract: writes n output pixels of one row into the three planes o0, o1, o2. Pixel i samples the
// (H,W,3) uint8 source, rows `row` bytes apart, at X = X0 + i*DX, Y = Y0 + i*DY: int32 fixed point with
// 16 fraction bits. The caller guarantees 0 <= X>>16 <= w-2 and 0 <= Y>>16 <= h-2 for every i, so all four
// taps are inside the image. The weights are the top 11 fraction bits and the blend is exact integer
// arithmetic, so every version produces the same bits: o_c[i] = (float)blend_c * k[c] + bi[c] with blend_c
// in units of 2^-22 grey levels (multiply and add, never fused).
#ifndef SF_DATA_WARP_KERNELS_H
#define SF_DATA_WARP_KERNELS_H

#include <stdint.h>

typedef void (*sf_warp_interior_fn)(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                                    int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]);

void sf_warp_interior_scalar(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                             int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]);
void sf_warp_interior_avx2(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                           int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]);
void sf_warp_interior_avx512(float *o0, float *o1, float *o2, int n, const uint8_t *src, int row, int32_t X0,
                             int32_t Y0, int32_t DX, int32_t DY, const float k[3], const float bi[3]);

// The version for the active ISA (sf_isa_active).
sf_warp_interior_fn sf_warp_interior(void);

#endif
