// conv_layer.c: one convolution's side of the benchmarks (see conv_layer.h).
#include "bench/conv_layer.h"

#include <string.h>

#include "kernels/bf16.h"
#include "kernels/layout.h"
#include "util/rng.h"
#include "util/util.h"

void sf_bench_conv_layer_create(sf_bench_conv_layer *o, const sf_conv2d_shape *s, bool first, int vb, int xvb,
                                sf_conv2d_algo algo, bool bf16) {
    memset(o, 0, sizeof *o);
    const bool narrow = !first && xvb != vb;
    o->bf16 = bf16 && !narrow && vb == 16 && sf_conv2d_bf16_ok(s);
    o->plan = o->bf16  ? sf_conv2d_plan_create_bf16(s, first, true)
              : narrow ? sf_conv2d_plan_create_narrow_x(s, true, vb, xvb)
                       : sf_conv2d_plan_create_vb(s, first, true, algo, vb);
    size_t xn = first ? (size_t)s->n * s->ci * s->ih * s->iw : sf_blocked_floats(s->n, s->ci, s->ih, s->iw, xvb);
    size_t yn = sf_blocked_floats(s->n, s->co, s->oh, s->ow, vb), wn = (size_t)s->co * s->ci * s->kh * s->kw;
    o->x = sf_alloc_uniform(xn, -1.0f, 1.0f, 1);
    o->dx = sf_alloc_uniform(xn, 0.0f, 0.0f, 2);
    o->y = sf_alloc_uniform(yn, 0.0f, 0.0f, 3);
    o->dy = sf_alloc_uniform(yn, -0.1f, 0.1f, 4);
    o->w = sf_alloc_uniform(wn, -0.1f, 0.1f, 5);
    o->dw = sf_alloc_uniform(wn, 0.0f, 0.0f, 6);
    o->bias = sf_alloc_uniform((size_t)s->co, -0.1f, 0.1f, 7);
    o->db = sf_alloc_uniform((size_t)s->co, 0.0f, 0.0f, 8);
    if (!o->bf16 || first) {  // fp32 weights: the fp32 plan, or a bf16 first layer's backward-data plan
        if (o->bf16) o->plan32 = sf_conv2d_plan_create_vb(s, true, true, algo, vb);
        sf_conv2d_plan *p32 = o->bf16 ? o->plan32 : o->plan;
        o->wp = sf_aligned_alloc(sf_conv2d_packed_weights_floats(p32) * sizeof(float));
        sf_conv2d_pack_weights(p32, o->wp, o->w);
    }
    if (!o->bf16) return;
    // x: blocked, or a first layer's plain x as channel pairs (an odd count padded with a zero channel)
    size_t x16n = first ? sf_bf16_pair_channels_len(s->n, s->ci, (size_t)s->ih * s->iw) : xn;
    size_t pairs = (size_t)(s->n + 1) / 2;
    o->x16 = sf_aligned_alloc(x16n * sizeof(uint16_t));
    o->dy16 = sf_aligned_alloc(yn * sizeof(uint16_t));
    o->xp16 = sf_aligned_alloc(pairs * (xn / s->n) * 2 * sizeof(uint16_t));
    o->dyp16 = sf_aligned_alloc(pairs * (yn / s->n) * 2 * sizeof(uint16_t));
    o->wp16 = sf_aligned_alloc(sf_conv2d_packed_weights_bf16(o->plan) * sizeof(uint16_t));
    if (first) sf_bf16_pair_channels(o->x16, o->x, s->n, s->ci, (size_t)s->ih * s->iw);
    else sf_bf16_from_f32(o->x16, o->x, xn);
    sf_bf16_from_f32(o->dy16, o->dy, yn);
    sf_bf16_pair_images(o->xp16, o->x, s->n, xn / s->n);
    sf_bf16_pair_images(o->dyp16, o->dy, s->n, yn / s->n);
    sf_conv2d_pack_weights_bf16(o->plan, o->wp16, o->w);
}

void sf_bench_conv_layer_destroy(sf_bench_conv_layer *o) {
    void *bufs[] = {o->x, o->dx, o->y, o->dy, o->w, o->dw, o->bias, o->db, o->wp, o->x16, o->dy16, o->wp16,
                    o->xp16, o->dyp16};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) sf_free_aligned(bufs[i]);
    sf_conv2d_plan_destroy(o->plan);
    sf_conv2d_plan_destroy(o->plan32);
    memset(o, 0, sizeof *o);
}

void sf_bench_conv_layer_run(const sf_bench_conv_layer *o, int dir) {
    if (dir == 0 && o->bf16) sf_conv2d_forward_bf16(o->plan, o->y, o->x16, o->wp16, o->bias);
    else if (dir == 1 && o->plan32) sf_conv2d_backward_data(o->plan32, o->dx, o->dy, o->wp);
    else if (dir == 1 && o->bf16) sf_conv2d_backward_data_bf16(o->plan, o->dx, o->dy16, o->wp16);
    else if (dir == 2 && o->bf16) sf_conv2d_backward_weights_bf16(o->plan, o->dw, o->db, o->dyp16, o->xp16, o->dy);
    else if (dir == 0) sf_conv2d_forward(o->plan, o->y, o->x, o->wp, o->bias);
    else if (dir == 1) sf_conv2d_backward_data(o->plan, o->dx, o->dy, o->wp);
    else sf_conv2d_backward_weights(o->plan, o->dw, o->db, o->dy, o->x);
}

const char *sf_bench_conv_layer_algo(const sf_bench_conv_layer *o, int dir) {
    return sf_conv2d_plan_dir_algo(dir == 1 && o->plan32 ? o->plan32 : o->plan, dir);
}
