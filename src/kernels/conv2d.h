// conv2d.h: 2-D convolution, forward, backward-data and backward-weights, without im2col.
//
// Fast path: activations in the blocked layout of layout.h with vb = sf_vb(); weights packed once per
// update into the plan's blocked weight layout (OIhw{vb}i{vb}o or similar, private to the plan). The
// first layer (plan created with x_plain) reads plain NCHW input. Outputs and dx are always blocked
// (dx: same layout as x). Gradients overwrite their outputs (no accumulation).
// Reference path: plain NCHW activations, OIHW weights, naive loops in double: the oracle.
#ifndef SF_CONV2D_H
#define SF_CONV2D_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int n, ci, ih, iw;   // input (N, Ci, H, W)
    int co, kh, kw;      // weights (Co, Ci, KH, KW)
    int sh, sw, ph, pw;  // stride, zero padding
    int oh, ow;          // output spatial size, derived
} sf_conv2d_shape;

sf_conv2d_shape sf_conv2d_shape_make(int n, int ci, int ih, int iw, int co, int kh, int kw, int stride, int pad);

// y (N,Co,OH,OW) = conv(x (N,Ci,H,W), w (Co,Ci,KH,KW)) + bias (Co) [bias may be NULL]
void sf_conv2d_forward_ref(float *y, const float *x, const float *w, const float *bias, const sf_conv2d_shape *s);
// dx (N,Ci,H,W) from dy (N,Co,OH,OW)
void sf_conv2d_backward_data_ref(float *dx, const float *dy, const float *w, const sf_conv2d_shape *s);
// dw (Co,Ci,KH,KW), dbias (Co) [may be NULL] from dy and x
void sf_conv2d_backward_weights_ref(float *dw, float *dbias, const float *dy, const float *x, const sf_conv2d_shape *s);

typedef struct sf_conv2d_plan sf_conv2d_plan;

// SF_CONV_AUTO lets the plan choose per direction; the others force a path for all three (tests,
// benchmarks). The GEMM path is im2col + SGEMM (conv2d_gemm.c).
typedef enum { SF_CONV_AUTO, SF_CONV_DIRECT, SF_CONV_GEMM } sf_conv2d_algo;

// Plans the blocking for one shape on the active ISA; owns all scratch (per-thread partial sums), so
// the three calls below never allocate. deterministic: reduce backward-weights partials in fixed order.
sf_conv2d_plan *sf_conv2d_plan_create(const sf_conv2d_shape *s, bool x_plain, bool deterministic);
sf_conv2d_plan *sf_conv2d_plan_create_algo(const sf_conv2d_shape *s, bool x_plain, bool deterministic,
                                           sf_conv2d_algo algo);
// The same with the channel block vb of x and y (x_plain: of y only): sf_vb(), or sf_vb_first(co) for a
// first layer (on AVX-512, 8 for at most 8 output channels: the plan then runs the AVX2 kernels).
sf_conv2d_plan *sf_conv2d_plan_create_vb(const sf_conv2d_shape *s, bool x_plain, bool deterministic,
                                         sf_conv2d_algo algo, int vb);
// A convolution whose blocked x (and dx) has fewer lanes per block, xvb, than y's vb: on AVX-512 the
// layer after an 8-lane first layer (xvb 8, vb 16, Ci <= 8) reads its pooled map as it is, without a
// reblock pass. sf_conv2d_narrow_x_ok says whether this build and CPU have the kernels for it.
bool sf_conv2d_narrow_x_ok(const sf_conv2d_shape *s, int vb, int xvb);
sf_conv2d_plan *sf_conv2d_plan_create_narrow_x(const sf_conv2d_shape *s, bool deterministic, int vb, int xvb);
// bf16 (AVX512_BF16): forward and backward-data read x, dy and the weights as bf16, in the blocked layout
// with 16-channel blocks (each bf16 where the fp32 value would be; sf_bf16_from_f32 makes it), multiply
// exactly and sum in fp32; y and dx are fp32. Backward-weights reads x and dy as bf16 image pairs
// (sf_conv2d_backward_weights_bf16), or fp32 ones (sf_conv2d_backward_weights works on these plans too).
// x_plain (a first layer): the forward reads plain x as channel-pair planes (sf_bf16_pair_channels:
// (N, ceil(Ci/2), H, W, 2) bf16), backward-weights plain x as image pairs; no backward-data (the input
// needs no gradient). sf_conv2d_bf16_ok: whether this CPU and path have the kernels (sf_bf16_supported on
// the AVX-512 path, kernels of up to 7x7 taps).
bool sf_conv2d_bf16_ok(const sf_conv2d_shape *s);
sf_conv2d_plan *sf_conv2d_plan_create_bf16(const sf_conv2d_shape *s, bool x_plain, bool deterministic);
void sf_conv2d_plan_destroy(sf_conv2d_plan *p);
// Which algorithms run, for benchmarks and logs, e.g. "direct_avx512_14x2" or "direct_avx512_6x4+gemm_bwd_w";
// per direction (0 forward, 1 backward-data, 2 backward-weights): "direct_avx512_6x4",
// "direct_avx2_12x1_row3", "direct_avx512_wgrad" or "gemm_chunk8"
// (images per GEMM).
const char *sf_conv2d_plan_algo(const sf_conv2d_plan *p);
const char *sf_conv2d_plan_dir_algo(const sf_conv2d_plan *p, int dir);

size_t sf_conv2d_packed_weights_floats(const sf_conv2d_plan *p);
void sf_conv2d_pack_weights(const sf_conv2d_plan *p, float *wp, const float *w_oihw);

// bf16 plans: the packed weights of both directions, a count of bf16 values (uint16_t).
size_t sf_conv2d_packed_weights_bf16(const sf_conv2d_plan *p);
void sf_conv2d_pack_weights_bf16(const sf_conv2d_plan *p, uint16_t *wp, const float *w_oihw);
// y blocked (N,Co,OH,OW) fp32 = conv(x, wp) + bias, x blocked bf16 (N,Ci,H,W), or channel pairs of plain x
// (x_plain plans) [bias may be NULL]
void sf_conv2d_forward_bf16(const sf_conv2d_plan *p, float *y, const uint16_t *x, const uint16_t *wp,
                            const float *bias);
// dx blocked fp32 (N,Ci,H,W) from dy blocked bf16 (N,Co,OH,OW)
void sf_conv2d_backward_data_bf16(const sf_conv2d_plan *p, float *dx, const uint16_t *dy, const uint16_t *wp);
// dw plain OIHW (Co,Ci,KH,KW) fp32 from x and dy in image pairs (sf_bf16_pair_images of the blocked
// tensors: (ceil(N/2),C,H,W,16,2) bf16), summed in fp32; dbias (Co) [may be NULL] from the fp32 dy.
void sf_conv2d_backward_weights_bf16(sf_conv2d_plan *p, float *dw_oihw, float *dbias, const uint16_t *dy_pairs,
                                     const uint16_t *x_pairs, const float *dy);

// y blocked (N,Co,OH,OW) = conv(x, wp) + bias [bias may be NULL]
void sf_conv2d_forward(const sf_conv2d_plan *p, float *y, const float *x, const float *wp, const float *bias);
// dx (layout of x) from dy blocked
void sf_conv2d_backward_data(const sf_conv2d_plan *p, float *dx, const float *dy, const float *wp);
// dw plain OIHW (Co,Ci,KH,KW), dbias (Co) [may be NULL] from dy blocked and x (layout of x)
void sf_conv2d_backward_weights(sf_conv2d_plan *p, float *dw_oihw, float *dbias, const float *dy, const float *x);

#endif
