// bf16.c: fp32 -> bf16 conversion, the reference and its dispatch (see bf16.h).
#include "kernels/bf16.h"
#include "kernels/cpu.h"
#include "util/util.h"

#include <stdbool.h>

void sf_bf16_from_f32_ref(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = sf_bf16_round(src[i]);
}

// Pieces of 16 KiB of output: a whole activation tensor goes over the threads, a small one stays on the caller's.
#define PIECE 8192

void sf_bf16_from_f32(uint16_t *dst, const float *src, size_t n) {
    const bool vec = sf_bf16_supported();
    const long pieces = (long)((n + PIECE - 1) / PIECE);
#pragma omp parallel for schedule(static) num_threads(sf_threads()) if (pieces > 4)
    for (long i = 0; i < pieces; i++) {
        size_t off = (size_t)i * PIECE, len = n - off < PIECE ? n - off : PIECE;
#if defined(__x86_64__)
        if (vec) {
            sf_bf16_from_f32_avx512(dst + off, src + off, len);
            continue;
        }
#endif
        sf_bf16_from_f32_ref(dst + off, src + off, len);
    }
    (void)vec;
}

// One run of len elements of an image pair (b NULL: the odd last image's partner, zeros) -> d[2*len].
static void interleave2_ref(uint16_t *d, const float *a, const float *b, size_t len) {
    for (size_t e = 0; e < len; e++) {
        d[2 * e] = sf_bf16_round(a[e]);
        d[2 * e + 1] = b ? sf_bf16_round(b[e]) : 0;
    }
}

void sf_bf16_pair_images_ref(uint16_t *dst, const float *src, int n, size_t per_image) {
    for (int q = 0; q < (n + 1) / 2; q++) {
        const float *a = src + (size_t)(2 * q) * per_image;
        interleave2_ref(dst + (size_t)q * per_image * 2, a, 2 * q + 1 < n ? a + per_image : NULL, per_image);
    }
}

// Pairs of planes, each plane `plane` long: pair k reads planes 2k and 2k+1 of src, the second only
// while 2k+1 < n_planes (else zeros), into dst + 2*k*plane. Images pair up as planes of per_image
// (sf_bf16_pair_images), channels as planes of one image each (sf_bf16_pair_channels).
static void pair_planes(uint16_t *dst, const float *src, long n_pairs, int planes_per_group, size_t plane) {
    const bool vec = sf_bf16_supported();
    const int pairs_per_group = (planes_per_group + 1) / 2;
    const long pieces = (long)((plane + PIECE - 1) / PIECE);  // per pair
#pragma omp parallel for collapse(2) schedule(static) num_threads(sf_threads()) if (n_pairs * pieces > 4)
    for (long k = 0; k < n_pairs; k++)
        for (long i = 0; i < pieces; i++) {
            long grp = k / pairs_per_group, q = k % pairs_per_group;
            size_t off = (size_t)i * PIECE, len = plane - off < PIECE ? plane - off : PIECE;
            const float *a = src + ((size_t)grp * planes_per_group + 2 * (size_t)q) * plane + off;
            const float *b = 2 * q + 1 < planes_per_group ? a + plane : NULL;
            uint16_t *d = dst + ((size_t)k * plane + off) * 2;
#if defined(__x86_64__)
            if (vec) {
                sf_bf16_interleave2_avx512(d, a, b, len);
                continue;
            }
#endif
            interleave2_ref(d, a, b, len);
        }
    (void)vec;
}

void sf_bf16_pair_images(uint16_t *dst, const float *src, int n, size_t per_image) {
    pair_planes(dst, src, (n + 1) / 2, n, per_image);
}

void sf_bf16_pair_channels_ref(uint16_t *dst, const float *src, int n, int c, size_t plane) {
    const int pairs = (c + 1) / 2;
    for (int i = 0; i < n; i++)
        for (int q = 0; q < pairs; q++) {
            const float *a = src + ((size_t)i * c + 2 * (size_t)q) * plane;
            interleave2_ref(dst + ((size_t)i * pairs + q) * plane * 2, a, 2 * q + 1 < c ? a + plane : NULL, plane);
        }
}

void sf_bf16_pair_channels(uint16_t *dst, const float *src, int n, int c, size_t plane) {
    pair_planes(dst, src, (long)n * ((c + 1) / 2), c, plane);
}
