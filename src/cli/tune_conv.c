// tune_conv.c: search the direct convolution's blocking per layer class (see tune_conv.h).
//
// Each class is timed on one layer that stands for it in the seed's models (or ResNet-50 for 1x1), at the
// per-thread share of a batch of 64 on two threads: forward plus backward-data, the two directions that
// the blocking drives (the first layer has no backward-data in training). Coordinate descent as for the
// GEMM blocks: ocb first, then the across threshold, each candidate raced against the incumbent
// (tune_race.h) and confirmed by a second race before it is taken; a final race against the starting
// values decides.
#include "cli/tune_conv.h"
#include "cli/tune_race.h"
#include "kernels/conv2d.h"
#include "kernels/layout.h"
#include "springfield.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n, ci, h, w, co, k, stride, pad;
    const char *what;
} tune_layer;

static const tune_layer layers[SF_CONV_N_CLASSES] = {
    [SF_CONV_CLASS_FIRST] = {32, 3, 96, 96, 32, 7, 2, 0, "best conv1, 3->32 k7 s2 at 96 px"},
    [SF_CONV_CLASS_1X1] = {32, 256, 14, 14, 64, 1, 1, 0, "ResNet-50 1x1, 256->64 at 14x14"},
    [SF_CONV_CLASS_KXK] = {32, 128, 4, 4, 256, 3, 1, 1, "best conv4, 128->256 k3 at 4x4"},
    [SF_CONV_CLASS_STRIDED] = {32, 32, 22, 22, 64, 5, 2, 0, "best conv2, 32->64 k5 s2 at 22x22"},
};

#define MAX_CANDS 48

typedef struct {
    int ocb, across;
    sf_conv2d_plan *plan;
    float *wp;
} cand;

typedef struct {
    sf_isa isa;
    sf_conv_class cls;
    sf_conv2d_shape s;
    bool plain;
    float *x, *w, *y, *dx;
    cand cands[MAX_CANDS];
    int n_cands;
} ctx;

// The plan for (ocb, across), built once with those values set and kept for later races.
static const cand *get_cand(ctx *c, int ocb, int across) {
    for (int i = 0; i < c->n_cands; i++)
        if (c->cands[i].ocb == ocb && c->cands[i].across == across) return &c->cands[i];
    if (c->n_cands == MAX_CANDS) sf_die("tune: too many convolution candidates");
    cand *k = &c->cands[c->n_cands++];
    k->ocb = ocb, k->across = across;
    sf_conv_set_tuning(c->isa, c->cls, ocb, across);
    k->plan = sf_conv2d_plan_create_algo(&c->s, c->plain, false, SF_CONV_DIRECT);
    k->wp = sf_aligned_alloc(sizeof(float) * sf_conv2d_packed_weights_floats(k->plan));
    sf_conv2d_pack_weights(k->plan, k->wp, c->w);
    return k;
}

static double run_layer(void *p, const void *q) {
    const ctx *c = p;
    const cand *k = q;
    double t0 = sf_tune_clock();
    sf_conv2d_forward(k->plan, c->y, c->x, k->wp, NULL);
    if (!c->plain) sf_conv2d_backward_data(k->plan, c->dx, c->y, k->wp);
    return sf_tune_clock() - t0;
}

static void tune_class(sf_conv_class cls, double budget, double threshold, int *ocb, int *across) {
    const tune_layer *l = &layers[cls];
    ctx c = {.isa = sf_isa_active(), .cls = cls, .plain = cls == SF_CONV_CLASS_FIRST};
    c.s = sf_conv2d_shape_make(l->n, l->ci, l->h, l->w, l->co, l->k, l->k, l->stride, l->pad);
    int vb = sf_vb();
    size_t nx = c.plain ? (size_t)l->n * l->ci * l->h * l->w : sf_blocked_floats(l->n, l->ci, l->h, l->w, vb);
    c.x = sf_alloc_uniform(nx, -1.0f, 1.0f, 1);
    c.dx = sf_alloc_uniform(nx, -1.0f, 1.0f, 2);
    c.w = sf_alloc_uniform((size_t)l->co * l->ci * l->k * l->k, -1.0f, 1.0f, 3);
    c.y = sf_alloc_uniform(sf_blocked_floats(l->n, l->co, c.s.oh, c.s.ow, vb), -1.0f, 1.0f, 4);
    for (size_t i = 0; i < (size_t)l->co * l->ci * l->k * l->k; i++) c.w[i] *= 0.05f;

    int start_ocb, start_across;
    sf_conv_get_tuning(c.isa, cls, &start_ocb, &start_across);
    const cand *best = get_cand(&c, start_ocb, start_across), *start = best;
    const int acrosses[] = {0, 2, 4, 8, 12, 16, 24, 32, 64, 4096};
    double t0 = sf_now();
    int max_ocb = sf_conv_max_ocb(c.isa), tried = 0;
    for (int knob = 0; knob < 2 && sf_now() - t0 < budget; knob++) {
        int n = knob == 0 ? max_ocb : (int)(sizeof acrosses / sizeof acrosses[0]);
        for (int i = 0; i < n && sf_now() - t0 < budget; i++) {
            int o = knob == 0 ? i + 1 : best->ocb, a = knob == 0 ? best->across : acrosses[i];
            if (o == best->ocb && a == best->across) continue;
            const cand *k = get_cand(&c, o, a);
            tried++;
            double r = sf_tune_race(&c, run_layer, best, k, 7);
            if (r > 1 + threshold && sf_tune_race(&c, run_layer, best, k, 7) > 1 + threshold) best = k;
        }
    }
    double final = best == start ? 1.0 : sf_tune_race(&c, run_layer, start, best, 15);
    // The last, longer race decides: a gain it does not confirm beyond the threshold was noise.
    if (final < 1 + threshold) best = start, final = 1.0;
    fprintf(stderr, "tune: conv %-7s (%s): ocb %d across %d -> ocb %d across %d, %.2fx after %d candidates in %.0f s\n",
            sf_conv_class_name(cls), l->what, start_ocb, start_across, best->ocb, best->across, final, tried,
            sf_now() - t0);
    *ocb = best->ocb, *across = best->across;
    sf_conv_set_tuning(c.isa, cls, best->ocb, best->across);
    for (int i = 0; i < c.n_cands; i++) {
        sf_conv2d_plan_destroy(c.cands[i].plan);
        sf_free_aligned(c.cands[i].wp);
    }
    sf_free_aligned(c.x), sf_free_aligned(c.dx), sf_free_aligned(c.w), sf_free_aligned(c.y);
}

void sf_tune_conv(double budget, double threshold, int ocb[SF_CONV_N_CLASSES], int across[SF_CONV_N_CLASSES]) {
    for (int c = 0; c < SF_CONV_N_CLASSES; c++)
        tune_class((sf_conv_class)c, budget / SF_CONV_N_CLASSES, threshold, &ocb[c], &across[c]);
}
