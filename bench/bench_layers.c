// bench_layers.c: `springfield bench layers [--json] [--threads N] [--reps N] [--case SUBSTR]`.
//
// The memory-bound layer kernels (pooling, batch norm with and without the fused ReLU, ReLU, and the
// AdamW amsgrad update of a parameter tensor as large as the input) at a
// realistic training shape, batch 64 x 32 channels x 55x55 in the blocked layout of the active ISA, with
// 1 and 2 threads (or --threads N). These kernels are limited by memory traffic, so the reference is the
// machine itself: a plain parallel copy of a buffer as large as the layer's input, timed in the same run
// with its repetitions interleaved with the kernel's (ABAB...), so that the noise of a shared machine
// hits both. Each figure is the median over repetitions.
//
// GB/s counts the compulsory traffic only: every tensor the kernel must read, read once, and every one
// it writes, written once (the copy: one read and one write). Kernels that make two passes over their
// input (batch-norm training statistics, then normalization) therefore show below copy speed by design.
#include "bench/bench.h"
#include "nn/adamw.h"
#include "springfield.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n, c, h, w, vb;
    sf_pool_shape pool;
    float *x, *y, *dy, *dx, *py, *pdy, *gamma, *beta, *rm, *rv, *sm, *si, *dg, *db;
    int32_t *am;
    float *copy_src, *copy_dst;
    size_t xfloats, pfloats;
    sf_param param;     // xfloats weights and gradients for the optimizer case
    sf_optimizer *opt;  // AdamW with amsgrad, as the CLI trains
} ctx;

static void run_copy(ctx *b) {
    size_t n = b->xfloats;
    const float *src = b->copy_src;
    float *dst = b->copy_dst;
#pragma omp parallel for simd schedule(static) num_threads(sf_threads())
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
}

static void maxpool_fwd(ctx *b) { sf_maxpool2d_forward(b->py, b->am, b->x, &b->pool, b->vb); }
static void maxpool_bwd(ctx *b) { sf_maxpool2d_backward(b->dx, b->pdy, b->am, &b->pool, b->vb); }
static void avgpool_fwd(ctx *b) { sf_avgpool2d_forward(b->py, b->x, &b->pool, b->vb); }
static void avgpool_bwd(ctx *b) { sf_avgpool2d_backward(b->dx, b->pdy, &b->pool, b->vb); }
static void bn_fwd(ctx *b, bool relu) {
    sf_batchnorm_forward_train(b->y, b->sm, b->si, b->rm, b->rv, b->x, b->gamma, b->beta, b->n, b->c, b->h * b->w,
                               b->vb, 0.1f, 1e-5f, relu);
}
static void bn_bwd(ctx *b, bool relu) {
    sf_batchnorm_backward(b->dx, b->dg, b->db, b->dy, b->x, b->y, b->gamma, b->sm, b->si, b->n, b->c, b->h * b->w,
                          b->vb, relu);
}
static void bn_fwd_plain(ctx *b) { bn_fwd(b, false); }
static void bn_fwd_relu(ctx *b) { bn_fwd(b, true); }
static void bn_bwd_plain(ctx *b) { bn_bwd(b, false); }
static void bn_bwd_relu(ctx *b) { bn_bwd(b, true); }
static void bn_eval_relu(ctx *b) {
    sf_batchnorm_forward_eval(b->y, b->x, b->gamma, b->beta, b->rm, b->rv, b->n, b->c, b->h * b->w, b->vb, 1e-5f,
                              true);
}
static void relu_fwd(ctx *b) { sf_relu_forward(b->y, b->x, b->xfloats); }
static void relu_bwd(ctx *b) { sf_relu_backward(b->dx, b->dy, b->y, b->xfloats); }
static void adamw_step(ctx *b) { sf_opt_step(b->opt); }

typedef struct {
    const char *name;
    void (*fn)(ctx *);
    // Compulsory traffic in units of the input tensor (x) and of the pooled tensor (y).
    double x_units, y_units;
} layer_case;

static const layer_case cases[] = {
    {"maxpool_fwd_k3s2", maxpool_fwd, 1, 2},  // x in, y and argmax out
    {"maxpool_bwd_k3s2", maxpool_bwd, 1, 2},  // dy and argmax in, dx out
    {"avgpool_fwd_k3s2", avgpool_fwd, 1, 1},
    {"avgpool_bwd_k3s2", avgpool_bwd, 1, 1},
    {"bn_train_fwd", bn_fwd_plain, 2, 0},
    {"bn_train_fwd_relu", bn_fwd_relu, 2, 0},
    {"bn_bwd", bn_bwd_plain, 3, 0},       // dy, x in, dx out
    {"bn_bwd_relu", bn_bwd_relu, 4, 0},   // dy, x, y in, dx out
    {"bn_eval_fwd_relu", bn_eval_relu, 2, 0},
    {"relu_fwd", relu_fwd, 2, 0},
    {"relu_bwd", relu_bwd, 3, 0},         // dy, y in, dx out
    {"adamw_amsgrad", adamw_step, 9, 0},  // p, g, m, v, vmax in; p, m, v, vmax out
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double time_one(void (*fn)(ctx *), ctx *b) {
    double t0 = sf_now();
    fn(b);
    return sf_now() - t0;
}

int sf_bench_layers(int argc, char **argv) {
    bool json = false;
    int only_threads = 0, reps = 9;
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) only_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--case") && i + 1 < argc) filter = argv[++i];
        else {
            fprintf(stderr, "usage: springfield bench layers [--json] [--threads N] [--reps N] [--case SUBSTR]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;

    ctx b = {.n = 64, .c = 32, .h = 55, .w = 55, .vb = sf_vb()};
    b.pool = sf_pool_shape_make(b.n, b.c, b.h, b.w, 3, 2, 0);
    b.xfloats = sf_blocked_floats(b.n, b.c, b.h, b.w, b.vb);
    b.pfloats = sf_blocked_floats(b.n, b.c, b.pool.oh, b.pool.ow, b.vb);
    int cpad = sf_cblocks(b.c, b.vb) * b.vb;
    b.x = sf_alloc_uniform(b.xfloats, -1.0f, 1.0f, 1);
    b.dy = sf_alloc_uniform(b.xfloats, -1.0f, 1.0f, 2);
    b.y = sf_alloc_uniform(b.xfloats, -1.0f, 1.0f, 3);
    b.dx = sf_alloc_uniform(b.xfloats, -1.0f, 1.0f, 4);
    b.py = sf_alloc_uniform(b.pfloats, -1.0f, 1.0f, 5);
    b.pdy = sf_alloc_uniform(b.pfloats, -1.0f, 1.0f, 6);
    b.copy_src = sf_alloc_uniform(b.xfloats, -1.0f, 1.0f, 7);
    b.copy_dst = sf_alloc_uniform(b.xfloats, -1.0f, 1.0f, 8);
    b.am = sf_aligned_alloc(b.pfloats * sizeof(int32_t));
    b.gamma = sf_alloc_uniform((size_t)cpad, 0.5f, 1.5f, 9);
    b.beta = sf_alloc_uniform((size_t)cpad, -0.5f, 0.5f, 10);
    b.rm = sf_alloc_uniform((size_t)cpad, -0.1f, 0.1f, 11);
    b.rv = sf_alloc_uniform((size_t)cpad, 0.9f, 1.1f, 12);
    b.sm = sf_alloc_uniform((size_t)cpad, 0.0f, 0.0f, 13);
    b.si = sf_alloc_uniform((size_t)cpad, 1.0f, 1.0f, 14);
    b.dg = sf_alloc_uniform((size_t)cpad, 0.0f, 0.0f, 15);
    b.db = sf_alloc_uniform((size_t)cpad, 0.0f, 0.0f, 16);
    b.param = (sf_param){.name = "w", .dtype = SF_DT_F32, .ndim = 1, .shape = {(int64_t)b.xfloats},
                         .count = b.xfloats, .data = b.y, .grad = b.dy};
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    oc.amsgrad = true;
    b.opt = sf_opt_create(&oc, &b.param, 1);
    // Valid argmax and batch statistics for the backward cases.
    sf_maxpool2d_forward(b.py, b.am, b.x, &b.pool, b.vb);
    bn_fwd(&b, true);

    const double xbytes = (double)b.xfloats * sizeof(float), ybytes = (double)b.pfloats * sizeof(float);
    char shape[96];
    snprintf(shape, sizeof shape, "mb%dic%dih%diw%d_nChw%dc", b.n, b.c, b.h, b.w, b.vb);
    if (json)
        printf("{\"suite\":\"layers\",\"isa\":\"%s\",\"shape\":\"%s\",\"x_mib\":%.1f,\"reps\":%d}\n",
               sf_isa_name(sf_isa_active()), shape, xbytes / (1 << 20), reps);
    else
        printf("layers: %s, %s, input %.1f MiB; median of %d repetitions interleaved with a copy of the input\n"
               "layers: GB/s = compulsory bytes (each tensor read or written once) / time; ratio = kernel / copy\n",
               sf_isa_name(sf_isa_active()), shape, xbytes / (1 << 20), reps);

    const int thread_list[2] = {1, 2};
    double *t_k = sf_malloc((size_t)reps * sizeof(double)), *t_c = sf_malloc((size_t)reps * sizeof(double));
    for (int ti = 0; ti < 2; ti++) {
        int threads = only_threads > 0 ? only_threads : thread_list[ti];
        if (only_threads > 0 && ti > 0) break;
        sf_bench_place_threads(threads);
        for (int ci = 0; ci < N_CASES; ci++) {
            const layer_case *lc = &cases[ci];
            if (filter && !strstr(lc->name, filter)) continue;
            lc->fn(&b);  // warm-up: page faults, thread pool
            run_copy(&b);
            for (int rep = 0; rep < reps; rep++) {
                if (rep & 1) {
                    t_c[rep] = time_one(run_copy, &b);
                    t_k[rep] = time_one(lc->fn, &b);
                } else {
                    t_k[rep] = time_one(lc->fn, &b);
                    t_c[rep] = time_one(run_copy, &b);
                }
            }
            qsort(t_k, (size_t)reps, sizeof(double), cmp_double);
            qsort(t_c, (size_t)reps, sizeof(double), cmp_double);
            double bytes = lc->x_units * xbytes + lc->y_units * ybytes;
            double gbs = bytes / t_k[reps / 2] * 1e-9, copy = 2.0 * xbytes / t_c[reps / 2] * 1e-9;
            if (json)
                printf("{\"suite\":\"layers\",\"case\":\"%s\",\"shape\":\"%s\",\"threads\":%d,\"isa\":\"%s\","
                       "\"ms\":%.3f,\"gbps\":%.2f,\"ref\":\"copy\",\"ref_gbps\":%.2f,\"ratio\":%.3f}\n",
                       lc->name, shape, threads, sf_isa_name(sf_isa_active()), t_k[reps / 2] * 1e3, gbs, copy,
                       gbs / copy);
            else
                printf("%-18s %s threads %d  %7.2f ms  %6.1f GB/s  copy %6.1f GB/s  ratio %.2f\n", lc->name, shape,
                       threads, t_k[reps / 2] * 1e3, gbs, copy, gbs / copy);
            fflush(stdout);
        }
    }
    free(t_k);
    free(t_c);
    float *bufs[] = {b.x, b.dy, b.y, b.dx, b.py, b.pdy, b.copy_src, b.copy_dst, b.gamma, b.beta, b.rm, b.rv,
                     b.sm, b.si, b.dg, b.db};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) sf_free_aligned(bufs[i]);
    sf_free_aligned(b.am);
    sf_opt_free(b.opt);
    return 0;
}
