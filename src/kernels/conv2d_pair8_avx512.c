// conv2d_pair8_avx512.c: AVX-512 kernels for a first layer stored in 8-lane blocks (sf_vb_first: at most
// 8 output channels), two output pixels per zmm. The plan otherwise runs such a layer on the AVX2 kernels,
// whose ymm FMAs do half the work of a zmm one.
//
// Lane 2*o + q of an accumulator holds output channel o of pixel 2*c' + q (channels and the pixel's
// parity interleaved). With plain input at stride 1 the two pixels read adjacent input floats, so one
// 64-bit broadcast (vbroadcastsd) puts pixel 2c' + q's input in lanes of parity q; dy's two pixels, 16
// contiguous floats of the 8-lane blocked tensor, are interleaved by one permute that serves every tap.
#include "kernels/conv2d_internal.h"

// As in conv2d_avx512.c: predictive commoning carried input pairs from one pixel pair to the next through
// general registers (a load, a move to xmm and a register broadcast each); broadcasts from memory are faster.
#pragma GCC optimize("no-predictive-commoning", "no-tree-slp-vectorize")

#include <immintrin.h>
#include <string.h>

// Input floats p[0] (even lanes) and p[1] (odd lanes).
static inline __m512 bcast_pair(const float *p) {
    double d;
    memcpy(&d, p, sizeof d);
    return _mm512_castpd_ps(_mm512_set1_pd(d));
}

// v = [pixel 0 channels 0..7, pixel 1 channels 0..7] -> lane 2o + q = pixel q channel o.
static inline __m512 interleave_pair(__m512 v) {
    return _mm512_permutexvar_ps(_mm512_set_epi32(15, 7, 14, 6, 13, 5, 12, 4, 11, 3, 10, 2, 9, 1, 8, 0), v);
}

// tile[0..7] += the sums of the lane pairs (2o, 2o+1) of acc: both parities' share of channel o.
static inline void add_pairs(float *tile, __m512 acc) {
    __m512 s = _mm512_add_ps(acc, _mm512_permute_ps(acc, 0xB1));
    __m512 even = _mm512_permutexvar_ps(_mm512_set_epi32(14, 12, 10, 8, 6, 4, 2, 0, 14, 12, 10, 8, 6, 4, 2, 0), s);
    _mm256_storeu_ps(tile, _mm256_add_ps(_mm256_loadu_ps(tile), _mm512_castps512_ps256(even)));
}

// Backward-weights of plain input at stride 1 (x_ps 1), dy 8-lane blocked (dy_ps 8): the contract of
// SF_CONV_WGRAD_PLAIN_BODY at vb 8, NCI input channels times KWN kernel columns of tiles. A row's odd
// last pixel runs alone, its dy in the even lanes and zeros in the odd ones.
#define PAIR8_WGRAD_BODY(NCI, KWN)                                                                              \
    {                                                                                                            \
        __m512 acc[NCI][KWN];                                                                                    \
        _Pragma("GCC unroll 3") for (int i = 0; i < NCI; i++)                                                    \
            _Pragma("GCC unroll 7") for (int k = 0; k < KWN; k++) acc[i][k] = _mm512_setzero_ps();               \
        for (int img = 0; img < a->n_img; img++)                                                                 \
            for (int r = 0; r < a->rows; r++) {                                                                  \
                const float *x = a->x + img * a->x_is + r * a->x_rs, *dy = a->dy + img * a->dy_is + r * a->dy_rs; \
                int c = 0;                                                                                       \
                for (; c + 2 <= a->cols; c += 2) {                                                               \
                    __m512 d = interleave_pair(_mm512_loadu_ps(dy + c * 8));                                     \
                    _Pragma("GCC unroll 3") for (int i = 0; i < NCI; i++)                                        \
                        _Pragma("GCC unroll 7") for (int k = 0; k < KWN; k++)                                    \
                            acc[i][k] = _mm512_fmadd_ps(bcast_pair(x + c + i * a->x_cs + k), d, acc[i][k]);      \
                }                                                                                                \
                if (c < a->cols) {                                                                               \
                    __m512 d = interleave_pair(_mm512_zextps256_ps512(_mm256_loadu_ps(dy + c * 8)));             \
                    _Pragma("GCC unroll 3") for (int i = 0; i < NCI; i++)                                        \
                        _Pragma("GCC unroll 7") for (int k = 0; k < KWN; k++)                                    \
                            acc[i][k] = _mm512_fmadd_ps(_mm512_set1_ps(x[c + i * a->x_cs + k]), d, acc[i][k]);   \
                }                                                                                                \
            }                                                                                                    \
        _Pragma("GCC unroll 3") for (int i = 0; i < NCI; i++)                                                    \
            _Pragma("GCC unroll 7") for (int k = 0; k < KWN; k++) add_pairs(a->tile + (k * 8 + i) * 8, acc[i][k]); \
    }

// The AVX2 table's tiles (sf_conv_isa_avx2.max_kwn = {0, 7, 7, 4}), so the driver splits columns alike.
#define FOR_EACH_PAIR8_WGRAD(X)                                                                                  \
    X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6) X(1, 7) X(2, 1) X(2, 2) X(2, 3) X(2, 4) X(2, 5) X(2, 6)      \
    X(2, 7) X(3, 1) X(3, 2) X(3, 3) X(3, 4)
#define DEF_PAIR8_WGRAD(NCI, KWN) static void wq_##NCI##_##KWN(const sf_conv_wargs *a) PAIR8_WGRAD_BODY(NCI, KWN)
#define TAB_PAIR8_WGRAD(NCI, KWN) [NCI][KWN] = wq_##NCI##_##KWN,
FOR_EACH_PAIR8_WGRAD(DEF_PAIR8_WGRAD)
static void (*const pair8_wgrad_tab[4][8])(const sf_conv_wargs *a) = {FOR_EACH_PAIR8_WGRAD(TAB_PAIR8_WGRAD)};

void sf_conv_wgrad_plain_pair8_avx512(const sf_conv_wargs *a, int kwn) { pair8_wgrad_tab[a->nic][kwn](a); }

// Forward of plain input at stride 1 into one 8-lane output block, taps in kernel rows of 3 columns: the
// contract of SF_CONV_DIRECT_ROW3_BODY at vb 8 (out_ps 8, in_ps 1) for a strip of 2*NP pixels. Pair m's
// columns k = 0, 1, 2 read the input pairs at 2m, 2m+1 and 2m+2, and the last is pair m+1's column 0,
// so each (channel, kernel row) costs 2*NP+1 broadcasts and 3 weight permutes for 3*NP FMAs.
#define PAIR8_ROW3_BODY(NP)                                                                                     \
    {                                                                                                            \
        const __m512i dup_ = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);                    \
        __m512 acc[NP];                                                                                          \
        /* Always from the bias: plain input runs in one pass (pick_passes is for blocked x only). */        \
        const __m512 b_ = a->bias ? _mm512_permutexvar_ps(dup_, _mm512_castps256_ps512(_mm256_loadu_ps(a->bias))) \
                                  : _mm512_setzero_ps();                                                         \
        _Pragma("GCC unroll 16") for (int m = 0; m < NP; m++) acc[m] = b_;                                       \
        for (int cb = 0; cb < a->n_cb; cb++) {                                                                   \
            const float *inb = a->in + cb * a->in_cbs, *wb = a->w + cb * a->w_cb;                                \
            for (int t = 0; t < a->n_taps; t += 3) {                                                             \
                const float *in = inb + a->tap_in[t], *w = wb + a->tap_w[t];                                     \
                const __m512 w0 = _mm512_permutexvar_ps(dup_, _mm512_castps256_ps512(_mm256_loadu_ps(w)));      \
                const __m512 w1 = _mm512_permutexvar_ps(dup_, _mm512_castps256_ps512(_mm256_loadu_ps(w + 8)));  \
                const __m512 w2 = _mm512_permutexvar_ps(dup_, _mm512_castps256_ps512(_mm256_loadu_ps(w + 16))); \
                _Pragma("GCC unroll 16") for (int m = 0; m <= NP; m++) {                                         \
                    __m512 e_ = bcast_pair(in + 2 * m);                                                          \
                    if (m > 0) acc[m - 1] = _mm512_fmadd_ps(e_, w2, acc[m - 1]);                                 \
                    if (m < NP) {                                                                                \
                        acc[m] = _mm512_fmadd_ps(e_, w0, acc[m]);                                                \
                        acc[m] = _mm512_fmadd_ps(bcast_pair(in + 2 * m + 1), w1, acc[m]);                        \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        const __m512i un_ = _mm512_set_epi32(15, 13, 11, 9, 7, 5, 3, 1, 14, 12, 10, 8, 6, 4, 2, 0);              \
        _Pragma("GCC unroll 16") for (int m = 0; m < NP; m++)                                                    \
            _mm512_storeu_ps(a->out + 16 * m, _mm512_permutexvar_ps(un_, acc[m]));                               \
    }

#define FOR_EACH_PAIR8_NP(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)
#define DEF_PAIR8_ROW3(NP) static void rq_##NP(const sf_conv_kargs *a) PAIR8_ROW3_BODY(NP)
#define TAB_PAIR8_ROW3(NP) [NP] = rq_##NP,
FOR_EACH_PAIR8_NP(DEF_PAIR8_ROW3)
static void (*const pair8_row3_tab[SF_CONV_PAIR8_MAX_NP + 1])(const sf_conv_kargs *a) = {FOR_EACH_PAIR8_NP(TAB_PAIR8_ROW3)};

void sf_conv_row3_pair8_avx512(const sf_conv_kargs *a, int np) { pair8_row3_tab[np](a); }
