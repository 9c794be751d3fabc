// bf16.h: bfloat16, the upper 16 bits of an fp32 (8 exponent bits, 7 mantissa bits), for the bf16
// compute paths (conv2d.h: sf_conv2d_plan_create_bf16). Products of two bf16 values are exact in fp32,
// so a bf16 convolution differs from fp32 only by the rounding of its inputs and the order of its sums.
#ifndef SF_BF16_H
#define SF_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// dst[i] = bf16(src[i]) for i < n, rounded as the AVX512_BF16 conversions round: to nearest, ties to
// even; denormal inputs become zero of the same sign; NaN stays NaN (made quiet); overflow gives inf.
// The vector path runs where sf_bf16_supported(), the reference elsewhere; both give the same bits.
void sf_bf16_from_f32(uint16_t *dst, const float *src, size_t n);
void sf_bf16_from_f32_ref(uint16_t *dst, const float *src, size_t n);

// One value, as sf_bf16_from_f32_ref.
static inline uint16_t sf_bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(u >> 16 | 0x40);  // NaN, quieted
    if ((u & 0x7f800000u) == 0) return (uint16_t)(u >> 16 & 0x8000);       // zero or denormal
    return (uint16_t)((u + 0x7fffu + (u >> 16 & 1)) >> 16);                 // ties to even
}

// Image pairs for the bf16 weight gradient: dst (ceil(n/2), per_image, 2) with dst[(q*per_image + e)*2 + j]
// = bf16(src[(2q + j)*per_image + e]), src (n, per_image); an odd n's last pair gets a zero image. Same
// rounding as sf_bf16_from_f32.
void sf_bf16_pair_images(uint16_t *dst, const float *src, int n, size_t per_image);
void sf_bf16_pair_images_ref(uint16_t *dst, const float *src, int n, size_t per_image);

// Channel pairs of plain NCHW for a bf16 first layer: dst (n, ceil(c/2), plane, 2) with
// dst[((i*P + q)*plane + e)*2 + j] = bf16(src[(i*c + 2q + j)*plane + e]), src (n, c, plane), P = ceil(c/2); an
// odd c's last pair gets a zero channel. Same rounding as sf_bf16_from_f32.
void sf_bf16_pair_channels(uint16_t *dst, const float *src, int n, int c, size_t plane);
void sf_bf16_pair_channels_ref(uint16_t *dst, const float *src, int n, int c, size_t plane);
// The bf16 values sf_bf16_pair_channels writes: n * 2*ceil(c/2) * plane.
static inline size_t sf_bf16_pair_channels_len(int n, int c, size_t plane) {
    return (size_t)n * (size_t)((c + 1) / 2 * 2) * plane;
}

static inline float sf_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#if defined(__x86_64__)
// The AVX512_BF16 path of sf_bf16_from_f32 (bf16_avx512.c); callers check sf_bf16_supported().
void sf_bf16_from_f32_avx512(uint16_t *dst, const float *src, size_t n);
// len values of two images (b NULL: a zero image) into dst (len, 2).
void sf_bf16_interleave2_avx512(uint16_t *dst, const float *a, const float *b, size_t len);
#endif

#endif
