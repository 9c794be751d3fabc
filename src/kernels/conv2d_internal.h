// conv2d_internal.h: the contract between the convolution driver (conv2d.c) and the per-ISA
// micro-kernels (conv2d_{avx512,avx2,neon,scalar}.c). Not part of the public API.
//
// Direct kernel (forward, and backward-data with transposed weights): one strip of `ur` output pixels
// times `ocb` output-channel blocks of vb lanes, kept in registers while it sums over n_cb input blocks
// of icb channels and n_taps kernel taps:
//   out[j*out_ps + o*out_cbs + lane] = bias[o*vb + lane]   (or, with accum, the value already in out)
//       + sum_{cb, t, i} in[cb*in_cbs + tap_in[t] + j*in_ps + i] * w[cb*w_cb + tap_w[t] + (i*ocb + o)*vb + lane]
// The weights of one group of ocb output blocks are packed as [cb][tap][i][o][lane], so that one input
// value broadcast feeds ocb vector FMAs from adjacent memory (OIhw{vb}i{vb}o with o-blocks interleaved).
// icb is vb (blocked input) or 1 (plain NCHW input of the first layer, one channel per "block").
//
// Weight-gradient kernel: a vb x vb tile of dW for one tap and one (input block, output block) pair,
//   tile[i*vb + lane] += sum_{img, r, c} x[img*x_is + r*x_rs + c*x_ps + i*x_cs] * dy[img*dy_is + r*dy_rs + c*dy_ps + lane]
// for i < nic; the tile stays in registers over all pixels. The plain-input variant (first layer, few
// channels) also spans kwn consecutive kernel columns, which share each dy load: tile kw = k lies
// k*vb*vb floats further and reads x k floats further.
#ifndef SF_CONV2D_INTERNAL_H
#define SF_CONV2D_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/conv2d.h"

typedef struct {
    float *out;
    const float *in, *w, *bias;  // bias: ocb*vb values or NULL (zero)
    int accum;                   // 1: add to out (a later pass over the input blocks; bias unused)
    int n_cb, icb, icb_last, n_taps;  // icb_last: real channels of the last block (the rest are zero)
    int row_kw;  // > 0: the taps come in whole kernel rows of row_kw columns, tap t+k = tap t + k input
                 // floats and + k*ocb*vb weight floats (plain input, every column valid); 0: any taps
    ptrdiff_t in_cbs, in_ps, w_cb, out_cbs, out_ps;
    const ptrdiff_t *tap_in, *tap_w;
} sf_conv_kargs;

typedef struct {
    float *tile;
    const float *x, *dy;
    int nic, n_img, rows, cols;
    ptrdiff_t x_cs, x_is, x_rs, x_ps, dy_is, dy_rs, dy_ps;
    // The driver's group of ocb output blocks, dy_cbs floats apart in dy and tile_cbs apart in the tiles
    // (read by wgrad_multi, which takes them at once; wgrad takes one).
    int ocb;
    ptrdiff_t dy_cbs, tile_cbs;
} sf_conv_wargs;

// Backward-data into plain dx with few channels (the first layer: dx has Ci = 3 channels, dy has Co in
// blocks of vb). The lanes run over the output channels o of dy, and each dx value is a dot product:
//   dx[c*dx_cs + j*dx_ps] = sum_{b, t} sum_lanes dy[b*dy_cbs + tap_in[t] + j*dy_ps + lane] * w[b*w_bs + tap_w[t] + c*vb + lane]
// for the strip's pixels j (dx columns one stride phase apart, so that pixel j+1 reads dy one pixel
// further for every tap) and channels c < CI; the weights are packed [b][kh][kw][c][lane]. Every lane
// does useful work, where the blocked strip kernel would spend vb lanes on 3 channels.
typedef struct {
    float *dx;
    const float *dy, *w;
    int n_b, n_taps;
    int dx_vb;  // blocked dx (sf_conv_bwd_dot8_avx512): floats written per pixel, 16 (zero beyond 8) or 8
    ptrdiff_t dx_cs, dx_ps, dy_cbs, dy_ps, w_bs;
    const ptrdiff_t *tap_in, *tap_w;
} sf_conv_bpargs;
#define SF_CONV_BPLAIN_MAX_CI 4

// max_ur[ocb]: the longest strip whose ur*ocb accumulators fit the registers; 1 <= ocb <= SF_CONV_MAX_OCB.
#define SF_CONV_MAX_OCB 4
typedef struct {
    const char *name;  // "avx512" ...
    int vb;
    int max_ur[SF_CONV_MAX_OCB + 1];
    int pref_ocb;      // widest ocb worth taking: its max_ur still hides the FMA latency
    int across_below;  // a row leftover of fewer accumulators (pixels x ocb) runs as strips across images
    void (*direct)(const sf_conv_kargs *a, int ur, int ocb);
    void (*wgrad)(const sf_conv_wargs *a);
    int max_kwn[4];  // max_kwn[nic]: kernel columns wgrad_plain keeps in registers, nic <= 3
    void (*wgrad_plain)(const sf_conv_wargs *a, int kwn);
    // Optional (NULL: none): the strip of row3_ur pixels for plain input at stride 1, one output block,
    // taps in rows of 3 columns (SF_CONV_DIRECT_ROW3_BODY).
    void (*row3)(const sf_conv_kargs *a);
    // Optional (NULL: none): the same for blocked input (SF_CONV_DIRECT_ROW3B_BODY), forward or
    // backward-data, strips of row3b_min_ur .. row3_ur pixels.
    void (*row3b)(const sf_conv_kargs *a, int ur);
    int row3_ur, row3b_min_ur;
    // Optional (NULL: none): backward-data into plain dx of ci <= SF_CONV_BPLAIN_MAX_CI channels
    // (sf_conv_bpargs), strips of 1 .. bplain_ur[ci] pixels.
    void (*bwd_plain)(const sf_conv_bpargs *a, int ur, int ci);
    int bplain_ur[SF_CONV_BPLAIN_MAX_CI + 1];
    // Optional (NULL: none): backward-weights of blocked input, a whole block of vb input channels, for
    // 2 .. wgrad_ocb output blocks at once (SF_CONV_WGRAD_MULTI_BODY), where wgrad takes one.
    void (*wgrad_multi)(const sf_conv_wargs *a);
    int wgrad_ocb;
} sf_conv_isa;

extern const sf_conv_isa sf_conv_isa_scalar;
#if defined(__x86_64__)
extern const sf_conv_isa sf_conv_isa_avx512;
extern const sf_conv_isa sf_conv_isa_avx2;
#endif
#if defined(__aarch64__)
extern const sf_conv_isa sf_conv_isa_neon;
#endif
#if defined(__x86_64__)
// Backward-weights of an 8-lane blocked first layer (plain x at stride 1) on AVX-512, two output pixels
// per zmm: wgrad_plain's contract at vb 8 (conv2d_pair8_avx512.c).
void sf_conv_wgrad_plain_pair8_avx512(const sf_conv_wargs *a, int kwn);
// Forward of the same layer, kernel rows of 3 columns: row3's contract at vb 8 for a strip of 2*np
// pixels, 1 <= np <= SF_CONV_PAIR8_MAX_NP.
#define SF_CONV_PAIR8_MAX_NP 14
void sf_conv_row3_pair8_avx512(const sf_conv_kargs *a, int np);
// Backward-data into dx of at most 8 channels in one 16-lane block by dot products (conv2d_dot8_avx512.c):
// sf_conv_bpargs with CI = 8 (weights zero beyond Ci) and dx_cs = 1, strips of ur <= SF_CONV_DOT8_UR pixels.
#define SF_CONV_DOT8_UR 2
void sf_conv_bwd_dot8_avx512(const sf_conv_bpargs *a, int ur);
#endif

#if defined(__x86_64__)
// The strip kernel on bf16 pairs (conv2d_bf16_avx512.c, AVX512_BF16): the direct contract above with
// every index and stride counted in 32-bit slots, each holding the bf16 values of two adjacent channels
// (icb = 8 slots per 16-channel block of the input); the weights packed [cb][tap][slot][o][lane] with the
// pair's two bf16 weights in each 32-bit lane; bias and output fp32. Tiles as the AVX-512 kernel's.
void sf_conv_direct_bf16_avx512(const sf_conv_kargs *a, int ur, int ocb);
// The backward-weights tiles of the same file on image pairs (wgrad, wgrad_multi; the direct kernel too,
// for completeness): the fp32 contracts with every float read as a 32-bit slot of two bf16 values of
// images 2q and 2q+1, summed in pairs by vdpbf16ps. No dbias: the slots are not floats.
extern const sf_conv_isa sf_conv_isa_avx512bf16_pairs;
#endif

// A tile's accumulators: acc[UR][OCB] (the STRIP forms: acc[UR], one output block) declared and started
// from the output when a->accum (a later chunk of input channels adds to it), else from the bias, and
// stored back at the end. The LOAD forms declare acc, so they stand as statements of the kernel body.
#define SF_CONV_TILE_LOAD(UR, OCB)                                                                               \
    V acc[UR][OCB];                                                                                              \
    if (a->accum) {                                                                                              \
        _Pragma("GCC unroll 28") for (int j = 0; j < UR; j++)                                                    \
            _Pragma("GCC unroll 4") for (int o = 0; o < OCB; o++)                                                \
                acc[j][o] = VLOAD(a->out + j * a->out_ps + o * a->out_cbs);                                      \
    } else {                                                                                                     \
        _Pragma("GCC unroll 4") for (int o = 0; o < OCB; o++) {                                                  \
            V b_ = a->bias ? VLOAD(a->bias + o * VB) : VZERO();                                                  \
            _Pragma("GCC unroll 28") for (int j = 0; j < UR; j++) acc[j][o] = b_;                                \
        }                                                                                                        \
    }
#define SF_CONV_TILE_STORE(UR, OCB)                                                                              \
    _Pragma("GCC unroll 28") for (int j = 0; j < UR; j++)                                                        \
        _Pragma("GCC unroll 4") for (int o = 0; o < OCB; o++)                                                    \
            VSTORE(a->out + j * a->out_ps + o * a->out_cbs, acc[j][o])
#define SF_CONV_STRIP_LOAD(UR)                                                                                   \
    V acc[UR];                                                                                                   \
    if (a->accum) {                                                                                              \
        _Pragma("GCC unroll 32") for (int j = 0; j < UR; j++) acc[j] = VLOAD(a->out + j * a->out_ps);            \
    } else {                                                                                                     \
        V b_ = a->bias ? VLOAD(a->bias) : VZERO();                                                               \
        _Pragma("GCC unroll 32") for (int j = 0; j < UR; j++) acc[j] = b_;                                       \
    }
#define SF_CONV_STRIP_STORE(UR)                                                                                  \
    _Pragma("GCC unroll 32") for (int j = 0; j < UR; j++) VSTORE(a->out + j * a->out_ps, acc[j])

// Kernel generator shared by the vector ISA files. Each of them defines V (the vector type), VB (its
// lanes), VZERO/VLOAD/VSTORE/VBCAST/VFMA (VFMA(a, b, c) = a*b + c), MAX_UR, FOR_EACH_TILE(X) (the
// (ur, ocb) tiles that fit its registers), FOR_EACH_PLAIN_TILE(X) (those with ocb <= 2),
// FOR_EACH_NIC(X) (1..VB) and FOR_EACH_WPLAIN(X) (the
// (nic, kwn) plain weight-gradient tiles that fit), then expands
// SF_CONV_DEFINE_KERNELS(isa) into direct_<isa> and wgrad_<isa>. Tile sizes are compile-time constants
// so that the accumulator arrays live in registers; PS (input pixel stride) and XCS (input channel
// stride) are constants too where they can be, 0 meaning "read it from the arguments".
#define SF_CONV_DIRECT_BODY(UR, OCB, ICB, PS)                                                                   \
    {                                                                                                            \
        SF_CONV_TILE_LOAD(UR, OCB);                                                                              \
        const ptrdiff_t ps_ = (PS) ? (PS) : a->in_ps;                                                            \
        for (int cb = 0; cb < a->n_cb; cb++) {                                                                   \
            const float *inb = a->in + cb * a->in_cbs, *wb = a->w + cb * a->w_cb;                                \
            const int ni_ = cb == a->n_cb - 1 ? a->icb_last : (ICB);                                             \
            for (int t = 0; t < a->n_taps; t++) {                                                                \
                const float *in = inb + a->tap_in[t], *w = wb + a->tap_w[t];                                     \
                for (int i = 0; i < ni_; i++) {                                                                  \
                    V wv[OCB];                                                                                   \
                    _Pragma("GCC unroll 4") for (int o = 0; o < OCB; o++) wv[o] = VLOAD(w + (i * OCB + o) * VB); \
                    _Pragma("GCC unroll 28") for (int j = 0; j < UR; j++) {                                      \
                        V x_ = VBCAST(in + j * ps_ + i);                                                         \
                        _Pragma("GCC unroll 4") for (int o = 0; o < OCB; o++) acc[j][o] = VFMA(x_, wv[o], acc[j][o]); \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        SF_CONV_TILE_STORE(UR, OCB);                                                                             \
    }

// Plain input at pixel stride 1, one output block, taps in kernel rows of 3 columns (n_taps = 3 x rows): the
// strip's pixels j and the row's columns k read input j + k, so each input value is broadcast once and
// feeds up to 3 FMAs (weights as memory operands), instead of one broadcast per FMA. For the first layer,
// whose 8 output channels leave a broadcast per FMA otherwise.
#define SF_CONV_DIRECT_ROW3_BODY(UR)                                                                            \
    {                                                                                                            \
        SF_CONV_STRIP_LOAD(UR);                                                                                  \
        for (int cb = 0; cb < a->n_cb; cb++) {                                                                   \
            const float *inb = a->in + cb * a->in_cbs, *wb = a->w + cb * a->w_cb;                                \
            for (int t = 0; t < a->n_taps; t += 3) {                                                             \
                const float *in = inb + a->tap_in[t], *w = wb + a->tap_w[t];                                     \
                _Pragma("GCC unroll 34") for (int m = 0; m < UR + 2; m++) {                                      \
                    V x_ = VBCAST(in + m);                                                                       \
                    _Pragma("GCC unroll 3") for (int k = 0; k < 3; k++)                                          \
                        if (m - k >= 0 && m - k < UR) acc[m - k] = VFMA(x_, VLOAD(w + k * VB), acc[m - k]);      \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        SF_CONV_STRIP_STORE(UR);                                                                                 \
    }

// Plain input (icb = 1) whose taps come in whole kernel rows of KW columns (a->row_kw): the column loop
// is unrolled with constant input and weight offsets, so only one tap offset per kernel row is read.
// The generic body spends a tap-table load pair, a loop test and an address computation per tap, which
// for the first layer of `best` (7x7, stride 2, 3 channels: one FMA group per tap and channel) was a
// third of the kernel's time.
#define SF_CONV_DIRECT_PLAIN_ROW_BODY(UR, OCB, PS, KW)                                                          \
    {                                                                                                            \
        SF_CONV_TILE_LOAD(UR, OCB);                                                                              \
        for (int cb = 0; cb < a->n_cb; cb++) {                                                                   \
            const float *inb = a->in + cb * a->in_cbs, *wb = a->w + cb * a->w_cb;                                \
            for (int t = 0; t < a->n_taps; t += (KW)) {                                                          \
                const float *in = inb + a->tap_in[t], *w = wb + a->tap_w[t];                                     \
                _Pragma("GCC unroll 7") for (int k = 0; k < (KW); k++) {                                         \
                    V wv[OCB];                                                                                   \
                    /* Opaque to the compiler: otherwise it sees that column k+PS of pixel j is column k of  */   \
                    /* pixel j+1, keeps the broadcasts across columns and spills them (slower than loads). */   \
                    const float *ink_ = in + k;                                                                  \
                    __asm__("" : "+r"(ink_));                                                                    \
                    _Pragma("GCC unroll 4") for (int o = 0; o < OCB; o++) wv[o] = VLOAD(w + (k * OCB + o) * VB); \
                    _Pragma("GCC unroll 28") for (int j = 0; j < UR; j++) {                                      \
                        V x_ = VBCAST(ink_ + j * (PS));                                                          \
                        _Pragma("GCC unroll 4") for (int o = 0; o < OCB; o++) acc[j][o] = VFMA(x_, wv[o], acc[j][o]); \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        SF_CONV_TILE_STORE(UR, OCB);                                                                             \
    }

// Blocked input, one output block, taps in kernel rows of 3 columns whose inputs are one pixel apart:
// forward at stride 1 reads columns c, c+1, c+2 for taps t, t+1, t+2, backward-data (whose taps walk
// the kernel columns the other way) c, c-1, c-2. Per input channel the row's 3 weight vectors stay in
// registers, and each input value, broadcast once, feeds up to 3 FMAs: UR + 5 loads per 3 UR FMAs, where
// the strip kernel at one output block needs one broadcast per FMA (SimpleCnn's conv2 backward-data,
// into 8 channels, is the case in the seed's models).
// PS: the input pixel stride as a constant (VB: blocked input at stride 1, so that every broadcast is
// one addressed load; with the stride read at run time gcc kept the UR + 2 offsets on the stack), 0: a->in_ps.
#define SF_CONV_DIRECT_ROW3B_BODY(UR, PS)                                                                       \
    {                                                                                                            \
        SF_CONV_STRIP_LOAD(UR);                                                                                  \
        const ptrdiff_t ps_ = (PS) ? (PS) : a->in_ps;                                                            \
        for (int cb = 0; cb < a->n_cb; cb++) {                                                                   \
            const float *inb = a->in + cb * a->in_cbs, *wb = a->w + cb * a->w_cb;                                \
            const int ni_ = cb == a->n_cb - 1 ? a->icb_last : a->icb;                                            \
            for (int t = 0; t < a->n_taps; t += 3) {                                                             \
                /* k = 0, 1, 2 in input order: tap k reads in + (j + k) * ps for pixel j */                      \
                const int rev_ = a->tap_in[t + 1] < a->tap_in[t];                                                \
                const float *in = inb + a->tap_in[rev_ ? t + 2 : t];                                             \
                const float *w0 = wb + a->tap_w[rev_ ? t + 2 : t], *w1 = wb + a->tap_w[t + 1];                   \
                const float *w2 = wb + a->tap_w[rev_ ? t : t + 2];                                               \
                for (int i = 0; i < ni_; i++) {                                                                  \
                    const V k0 = VLOAD(w0 + i * VB), k1 = VLOAD(w1 + i * VB), k2 = VLOAD(w2 + i * VB);           \
                    _Pragma("GCC unroll 34") for (int m = 0; m < UR + 2; m++) {                                  \
                        V x_ = VBCAST(in + m * ps_ + i);                                                         \
                        if (m < UR) acc[m] = VFMA(x_, k0, acc[m]);                                               \
                        if (m >= 1 && m - 1 < UR) acc[m - 1] = VFMA(x_, k1, acc[m - 1]);                         \
                        if (m >= 2) acc[m - 2] = VFMA(x_, k2, acc[m - 2]);                                       \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        SF_CONV_STRIP_STORE(UR);                                                                                 \
    }

#define SF_CONV_BWD_PLAIN_BODY(UR, CI)                                                                          \
    {                                                                                                            \
        V acc[UR][CI];                                                                                           \
        _Pragma("GCC unroll 24") for (int j = 0; j < UR; j++)                                                    \
            _Pragma("GCC unroll 4") for (int c = 0; c < CI; c++) acc[j][c] = VZERO();                            \
        for (int b = 0; b < a->n_b; b++) {                                                                       \
            const float *dyb = a->dy + b * a->dy_cbs, *wb = a->w + b * a->w_bs;                                  \
            for (int t = 0; t < a->n_taps; t++) {                                                                \
                const float *d = dyb + a->tap_in[t], *w = wb + a->tap_w[t];                                      \
                V wv[CI];                                                                                        \
                _Pragma("GCC unroll 4") for (int c = 0; c < CI; c++) wv[c] = VLOAD(w + c * VB);                  \
                _Pragma("GCC unroll 24") for (int j = 0; j < UR; j++) {                                          \
                    V x_ = VLOAD(d + j * a->dy_ps);                                                              \
                    _Pragma("GCC unroll 4") for (int c = 0; c < CI; c++) acc[j][c] = VFMA(x_, wv[c], acc[j][c]); \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        _Pragma("GCC unroll 24") for (int j = 0; j < UR; j++)                                                    \
            _Pragma("GCC unroll 4") for (int c = 0; c < CI; c++) a->dx[c * a->dx_cs + j * a->dx_ps] = VHSUM(acc[j][c]); \
    }
// Each vector ISA lists its (ur, ci) tiles in FOR_EACH_BPLAIN(X), every ur from 1 to its maximum per ci,
// and defines VHSUM(v) (the sum of the lanes), then expands this into bwd_plain_<isa>.
#define SF_CONV_DEF_BPLAIN(UR, CI) static void bp_##UR##_##CI(const sf_conv_bpargs *a) SF_CONV_BWD_PLAIN_BODY(UR, CI)
#define SF_CONV_TAB_BPLAIN(UR, CI) [CI][UR] = bp_##UR##_##CI,
typedef void (*sf_conv_bplain_fn)(const sf_conv_bpargs *a);
#define SF_CONV_DEFINE_BWD_PLAIN(ISA, MAXUR)                                                                    \
    FOR_EACH_BPLAIN(SF_CONV_DEF_BPLAIN)                                                                          \
    static const sf_conv_bplain_fn bplain_tab_[SF_CONV_BPLAIN_MAX_CI + 1][(MAXUR) + 1] = {                       \
        FOR_EACH_BPLAIN(SF_CONV_TAB_BPLAIN)};                                                                    \
    static void bwd_plain_##ISA(const sf_conv_bpargs *a, int ur, int ci) { bplain_tab_[ci][ur](a); }

#define SF_CONV_WGRAD_BODY(NA, XCS)                                                                             \
    {                                                                                                            \
        V acc[NA];                                                                                               \
        _Pragma("GCC unroll 16") for (int i = 0; i < NA; i++) acc[i] = VLOAD(a->tile + i * VB);                  \
        const ptrdiff_t cs_ = (XCS) ? (XCS) : a->x_cs;                                                           \
        for (int img = 0; img < a->n_img; img++)                                                                 \
            for (int r = 0; r < a->rows; r++) {                                                                  \
                const float *x = a->x + img * a->x_is + r * a->x_rs, *dy = a->dy + img * a->dy_is + r * a->dy_rs; \
                for (int c = 0; c < a->cols; c++) {                                                              \
                    V d_ = VLOAD(dy + c * a->dy_ps);                                                             \
                    _Pragma("GCC unroll 16") for (int i = 0; i < NA; i++)                                        \
                        acc[i] = VFMA(VBCAST(x + c * a->x_ps + i * cs_), d_, acc[i]);                            \
                }                                                                                                \
            }                                                                                                    \
        _Pragma("GCC unroll 16") for (int i = 0; i < NA; i++) VSTORE(a->tile + i * VB, acc[i]);                  \
    }

// Backward-weights of one block of VB input channels (x_cs = 1) for NO output blocks at once, NI input
// channels per pass: each x value, broadcast once, feeds NO FMAs, where the one-block tile spends a
// broadcast per FMA. On AVX2 (16 registers, no broadcast operands) NI = 4, NO = 3 is 12 accumulators,
// 3 dy vectors and 1 broadcast: 7 loads per 12 FMAs against 9 per 8.
#define SF_CONV_WGRAD_MULTI_BODY(NI, NO)                                                                         \
    {                                                                                                            \
        for (int i0 = 0; i0 < VB; i0 += (NI)) {                                                                  \
            V acc[NO][NI];                                                                                       \
            _Pragma("GCC unroll 4") for (int o = 0; o < (NO); o++)                                               \
                _Pragma("GCC unroll 8") for (int i = 0; i < (NI); i++)                                           \
                    acc[o][i] = VLOAD(a->tile + o * a->tile_cbs + (i0 + i) * VB);                                \
            for (int img = 0; img < a->n_img; img++)                                                             \
                for (int r = 0; r < a->rows; r++) {                                                              \
                    const float *x = a->x + img * a->x_is + r * a->x_rs + i0;                                    \
                    const float *dy = a->dy + img * a->dy_is + r * a->dy_rs;                                     \
                    for (int c = 0; c < a->cols; c++) {                                                          \
                        V d_[NO];                                                                                \
                        _Pragma("GCC unroll 4") for (int o = 0; o < (NO); o++) d_[o] = VLOAD(dy + c * a->dy_ps + o * a->dy_cbs);\
                        _Pragma("GCC unroll 8") for (int i = 0; i < (NI); i++) {                                 \
                            V x_ = VBCAST(x + c * a->x_ps + i);                                                  \
                            _Pragma("GCC unroll 4") for (int o = 0; o < (NO); o++) acc[o][i] = VFMA(x_, d_[o], acc[o][i]);\
                        }                                                                                        \
                    }                                                                                            \
                }                                                                                                \
            _Pragma("GCC unroll 4") for (int o = 0; o < (NO); o++)                                               \
                _Pragma("GCC unroll 8") for (int i = 0; i < (NI); i++)                                           \
                    VSTORE(a->tile + o * a->tile_cbs + (i0 + i) * VB, acc[o][i]);                                \
        }                                                                                                        \
    }

// wgrad_multi_<isa>: the multi-block tile of NI input channels for 3 output blocks, or for 2.
#define SF_CONV_DEFINE_WGRAD_MULTI(ISA, NI)                                                                     \
    static void wmulti3_(const sf_conv_wargs *a) SF_CONV_WGRAD_MULTI_BODY(NI, 3)                                 \
    static void wmulti2_(const sf_conv_wargs *a) SF_CONV_WGRAD_MULTI_BODY(NI, 2)                                 \
    static void wgrad_multi_##ISA(const sf_conv_wargs *a) {                                                      \
        if (a->ocb == 3) wmulti3_(a);                                                                            \
        else wmulti2_(a);                                                                                        \
    }

#define SF_CONV_WGRAD_PLAIN_BODY(NCI, KWN)                                                                      \
    {                                                                                                            \
        V acc[NCI][KWN];                                                                                         \
        _Pragma("GCC unroll 3") for (int i = 0; i < NCI; i++)                                                    \
            _Pragma("GCC unroll 7") for (int k = 0; k < KWN; k++) acc[i][k] = VLOAD(a->tile + (k * VB + i) * VB); \
        for (int img = 0; img < a->n_img; img++)                                                                 \
            for (int r = 0; r < a->rows; r++) {                                                                  \
                const float *x = a->x + img * a->x_is + r * a->x_rs, *dy = a->dy + img * a->dy_is + r * a->dy_rs; \
                for (int c = 0; c < a->cols; c++) {                                                              \
                    V d_ = VLOAD(dy + c * a->dy_ps);                                                             \
                    _Pragma("GCC unroll 3") for (int i = 0; i < NCI; i++)                                        \
                        _Pragma("GCC unroll 7") for (int k = 0; k < KWN; k++)                                    \
                            acc[i][k] = VFMA(VBCAST(x + c * a->x_ps + i * a->x_cs + k), d_, acc[i][k]);          \
                }                                                                                                \
            }                                                                                                    \
        _Pragma("GCC unroll 3") for (int i = 0; i < NCI; i++)                                                    \
            _Pragma("GCC unroll 7") for (int k = 0; k < KWN; k++) VSTORE(a->tile + (k * VB + i) * VB, acc[i][k]); \
    }

// The SGEMM path (conv2d_gemm.c): im2col of a chunk of images, one SGEMM, scatter.
typedef struct {
    sf_conv2d_shape s;
    bool x_plain;         // x and dx plain NCHW (first layer), else blocked
    int vb, cbi, cbo, k;  // k = KH*KW*Ci, the GEMM depth of forward
    int chunk;            // images per GEMM
    float *col;           // (chunk*OH*OW, K) patches, tap-major with channels inner; NULL if unused
    float *mat;           // (chunk*OH*OW, Co) y or dy as a matrix; NULL if unused
    float *dwm;           // (Co, K) weight gradient in OHWI order; NULL without backward-weights
    int item, nthr;       // 1x1 backward-data: images per thread's work item (0: chunks), scratch slots
    float *item_buf;      // (nthr, item*OH*OW, Co + K) per-thread dy matrix and patch gradients
} sf_conv_gemm;

// dirs: the passes that run on this path (forward, backward-data, backward-weights), so that only
// their scratch is allocated; nthr: the plan's thread slots.
void sf_conv_gemm_init(sf_conv_gemm *g, const sf_conv2d_shape *s, int vb, bool x_plain, const bool dirs[3],
                       int nthr);
void sf_conv_gemm_free(sf_conv_gemm *g);
// wp (Co,KH,KW,Ci) from w (Co,Ci,KH,KW): the packed weights of a GEMM plan, Co*K floats.
void sf_conv_gemm_pack(const sf_conv_gemm *g, float *wp, const float *w_oihw);
void sf_conv_gemm_forward(const sf_conv_gemm *g, float *y, const float *x, const float *wp, const float *bias);
void sf_conv_gemm_backward_data(const sf_conv_gemm *g, float *dx, const float *dy, const float *wp);
void sf_conv_gemm_backward_weights(const sf_conv_gemm *g, float *dw_oihw, float *dbias, const float *dy,
                                   const float *x);

typedef void (*sf_conv_direct_fn)(const sf_conv_kargs *a);
typedef void (*sf_conv_wplain_fn)(const sf_conv_wargs *a);
typedef void (*sf_conv_wgrad_fn)(const sf_conv_wargs *a);

// Four input variants per tile: blocked at pixel stride VB, blocked at 2*VB, blocked at any stride, plain.
#define SF_CONV_DEF_TILE(UR, OCB)                                                                               \
    static void d1_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, VB, VB)                     \
    static void d2_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, VB, 2 * VB)                 \
    static void dn_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, VB, 0)                      \
    static void dp_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, 1, 0)
#define SF_CONV_TAB_TILE(UR, OCB)                                                                               \
    [0][OCB][UR] = d1_##UR##_##OCB, [1][OCB][UR] = d2_##UR##_##OCB, [2][OCB][UR] = dn_##UR##_##OCB,              \
    [3][OCB][UR] = dp_##UR##_##OCB,
// Plain input (first layer) at pixel stride 1 or 2 for the tiles of FOR_EACH_PLAIN_TILE (ocb <= 2), and
// the same in whole 7-column kernel rows (7x7 first layers: `best`, ResNets).
#define SF_CONV_DEF_PLAIN_TILE(UR, OCB)                                                                         \
    static void dq1_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, 1, 1)                      \
    static void dq2_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_BODY(UR, OCB, 1, 2)                      \
    static void dr1_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_PLAIN_ROW_BODY(UR, OCB, 1, 7)            \
    static void dr2_##UR##_##OCB(const sf_conv_kargs *a) SF_CONV_DIRECT_PLAIN_ROW_BODY(UR, OCB, 2, 7)
#define SF_CONV_TAB_PLAIN_TILE(UR, OCB)                                                                         \
    [0][OCB][UR] = dq1_##UR##_##OCB, [1][OCB][UR] = dq2_##UR##_##OCB, [2][OCB][UR] = dr1_##UR##_##OCB,           \
    [3][OCB][UR] = dr2_##UR##_##OCB,
#define SF_CONV_DEF_WGRAD(NA) static void w_##NA(const sf_conv_wargs *a) SF_CONV_WGRAD_BODY(NA, 0)
#define SF_CONV_TAB_WGRAD(NA) [NA] = w_##NA,
#define SF_CONV_DEF_WPLAIN(NCI, KWN) static void wp_##NCI##_##KWN(const sf_conv_wargs *a) SF_CONV_WGRAD_PLAIN_BODY(NCI, KWN)
#define SF_CONV_TAB_WPLAIN(NCI, KWN) [NCI][KWN] = wp_##NCI##_##KWN,

// wgrad_<isa>: the weight-gradient tile of every input-channel count FOR_EACH_NIC lists.
#define SF_CONV_DEFINE_WGRAD(ISA)                                                                               \
    FOR_EACH_NIC(SF_CONV_DEF_WGRAD)                                                                              \
    static void w_full_(const sf_conv_wargs *a) SF_CONV_WGRAD_BODY(VB, 1)                                        \
    static const sf_conv_wgrad_fn wgrad_tab_[VB + 1] = {FOR_EACH_NIC(SF_CONV_TAB_WGRAD)};                        \
    static void wgrad_##ISA(const sf_conv_wargs *a) {                                                            \
        if (a->nic == VB && a->x_cs == 1) w_full_(a);                                                            \
        else wgrad_tab_[a->nic](a);                                                                              \
    }

#define SF_CONV_DEFINE_KERNELS(ISA)                                                                             \
    FOR_EACH_TILE(SF_CONV_DEF_TILE)                                                                              \
    static const sf_conv_direct_fn direct_tab_[4][SF_CONV_MAX_OCB + 1][MAX_UR + 1] = {                           \
        FOR_EACH_TILE(SF_CONV_TAB_TILE)};                                                                        \
    FOR_EACH_PLAIN_TILE(SF_CONV_DEF_PLAIN_TILE)                                                                  \
    static const sf_conv_direct_fn plain_tab_[4][3][MAX_UR + 1] = {FOR_EACH_PLAIN_TILE(SF_CONV_TAB_PLAIN_TILE)}; \
    static void direct_##ISA(const sf_conv_kargs *a, int ur, int ocb) {                                          \
        if (a->icb == 1 && ocb <= 2 && (a->in_ps == 1 || a->in_ps == 2)) {                                       \
            plain_tab_[(a->row_kw == 7) * 2 + a->in_ps - 1][ocb][ur](a);                                         \
            return;                                                                                              \
        }                                                                                                        \
        int v_ = a->icb == 1 ? 3 : a->in_ps == VB ? 0 : a->in_ps == 2 * VB ? 1 : 2;                              \
        direct_tab_[v_][ocb][ur](a);                                                                             \
    }                                                                                                            \
    SF_CONV_DEFINE_WGRAD(ISA)                                                                                    \
    FOR_EACH_WPLAIN(SF_CONV_DEF_WPLAIN)                                                                          \
    static const sf_conv_wplain_fn wplain_tab_[4][8] = {FOR_EACH_WPLAIN(SF_CONV_TAB_WPLAIN)};                    \
    static void wgrad_plain_##ISA(const sf_conv_wargs *a, int kwn) { wplain_tab_[a->nic][kwn](a); }

// row3_<isa> of UR pixels (SF_CONV_DIRECT_ROW3_BODY) and row3b_<isa> (SF_CONV_DIRECT_ROW3B_BODY) of every
// strip length the ISA lists in FOR_EACH_ROW3B(X) (up to UR), the blocked one with its pixel stride a
// constant when it is VB or VB/2 (an 8-lane input on AVX-512: sf_conv2d_plan_create_narrow_x). Rows shorter than UR (SimpleCnn's conv3 backward-data at 96 px: runs of 18
// pixels) and the ends of longer ones go to the row kernel too, not to the strip kernel's one broadcast
// per FMA.
#define SF_CONV_DEF_ROW3B(N)                                                                                    \
    static void row3b_vb_##N(const sf_conv_kargs *a) SF_CONV_DIRECT_ROW3B_BODY(N, VB)                            \
    static void row3b_half_##N(const sf_conv_kargs *a) SF_CONV_DIRECT_ROW3B_BODY(N, VB / 2)                      \
    static void row3b_any_##N(const sf_conv_kargs *a) SF_CONV_DIRECT_ROW3B_BODY(N, 0)
#define SF_CONV_TAB_ROW3B_VB(N) [N] = row3b_vb_##N,
#define SF_CONV_TAB_ROW3B_HALF(N) [N] = row3b_half_##N,
#define SF_CONV_TAB_ROW3B_ANY(N) [N] = row3b_any_##N,
#define SF_CONV_DEFINE_ROW3(ISA, UR)                                                                            \
    static void row3_##ISA(const sf_conv_kargs *a) SF_CONV_DIRECT_ROW3_BODY(UR)                                  \
    FOR_EACH_ROW3B(SF_CONV_DEF_ROW3B)                                                                            \
    static const sf_conv_direct_fn row3b_vb_tab_[(UR) + 1] = {FOR_EACH_ROW3B(SF_CONV_TAB_ROW3B_VB)};             \
    static const sf_conv_direct_fn row3b_half_tab_[(UR) + 1] = {FOR_EACH_ROW3B(SF_CONV_TAB_ROW3B_HALF)};         \
    static const sf_conv_direct_fn row3b_any_tab_[(UR) + 1] = {FOR_EACH_ROW3B(SF_CONV_TAB_ROW3B_ANY)};           \
    static void row3b_##ISA(const sf_conv_kargs *a, int ur) {                                                    \
        if (a->in_ps == VB) row3b_vb_tab_[ur](a);                                                                \
        else if (a->in_ps == VB / 2) row3b_half_tab_[ur](a);                                                     \
        else row3b_any_tab_[ur](a);                                                                              \
    }

#endif
