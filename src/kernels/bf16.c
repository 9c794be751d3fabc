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
