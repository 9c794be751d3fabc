// conv_layer.h: our side of one convolution for the benchmarks (`bench conv`, `perf-check`): the plan, its
// packed weights and the tensors, filled with fixed pseudo-random values, and one call per direction.
// bf16 plans also get x and dy in bf16 (blocked channel pairs, or a first layer's plain x as channel-pair
// planes) and as image pairs for backward-weights, converted here so that the timed calls take them as
// they are, as oneDNN is given its bf16 tensors.
#ifndef SF_BENCH_CONV_LAYER_H
#define SF_BENCH_CONV_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/conv2d.h"

typedef struct {
    sf_conv2d_plan *plan;
    sf_conv2d_plan *plan32;  // a bf16 first layer: an fp32 plan (weights in wp) for its backward-data
    bool bf16;
    float *x, *y, *dy, *dx, *wp, *w, *bias, *dw, *db;  // x, dx plain (first) or blocked in xvb; y, dy in vb
    uint16_t *x16, *dy16, *wp16, *xp16, *dyp16;         // bf16: xp16, dyp16 image pairs (backward-weights)
} sf_bench_conv_layer;

// first: x plain NCHW; vb: the channel block of y; xvb: that of blocked x (!= vb: a narrow-input plan,
// sf_conv2d_plan_create_narrow_x). bf16: on a bf16 plan where it has one (16-lane blocks, not narrow,
// sf_conv2d_bf16_ok), else fp32; o->bf16 says which.
void sf_bench_conv_layer_create(sf_bench_conv_layer *o, const sf_conv2d_shape *s, bool first, int vb, int xvb,
                                sf_conv2d_algo algo, bool bf16);
void sf_bench_conv_layer_destroy(sf_bench_conv_layer *o);
// dir: 0 forward, 1 backward-data, 2 backward-weights
void sf_bench_conv_layer_run(const sf_bench_conv_layer *o, int dir);
// The algorithm that runs direction dir (sf_conv2d_plan_dir_algo).
const char *sf_bench_conv_layer_algo(const sf_bench_conv_layer *o, int dir);

#endif
