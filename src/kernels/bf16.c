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

void sf_bf16_pair_images(uint16_t *dst, const float *src, int n, size_t per_image) {
    const bool vec = sf_bf16_supported();
    const int pairs = (n + 1) / 2;
    const long pieces = (long)((per_image + PIECE - 1) / PIECE);  // per pair
#pragma omp parallel for collapse(2) schedule(static) num_threads(sf_threads()) if (pairs * pieces > 4)
    for (int q = 0; q < pairs; q++)
        for (long i = 0; i < pieces; i++) {
            size_t off = (size_t)i * PIECE, len = per_image - off < PIECE ? per_image - off : PIECE;
            const float *a = src + (size_t)(2 * q) * per_image + off;
            const float *b = 2 * q + 1 < n ? a + per_image : NULL;
            uint16_t *d = dst + ((size_t)q * per_image + off) * 2;
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
