// test_nn_golden.h: shared by the engine's model tests (test_nn_simple.c, test_nn_best.c,
// test_nn_resnet.c): the hash-formula weights, inputs and labels of tests/golden/make_models.py,
// and one routine that checks a (model, size, batch) config against PyTorch's goldens.
#ifndef SF_TEST_NN_GOLDEN_H
#define SF_TEST_NN_GOLDEN_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adamw.h"
#include "nn/model.h"
#include "springfield.h"
#include "util/npy.h"

#define GOLDEN_CLASSES 5
#define GOLDEN_SAMPLES 256

static uint32_t fnv1a(const char *s) {
    uint32_t h = 0x811C9DC5u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x01000193u;
    return h;
}

// (count) values in [-1, 1): make_models.py's unit(); exact, so both sides hold identical floats.
static void unit_fill(float *v, size_t count, const char *name) {
    uint32_t h = fnv1a(name);
    for (size_t i = 0; i < count; i++) {
        uint32_t x = (uint32_t)i * 0x9E3779B1u + h;
        x ^= x >> 16;
        x *= 0x85EBCA6Bu;
        x ^= x >> 13;
        x *= 0xC2B2AE35u;
        x ^= x >> 16;
        float u = (float)(x >> 8) * (1.0f / 16777216.0f);
        v[i] = u * 2.0f - 1.0f;
    }
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

// make_models.py's fill(): the test value of one named tensor.
static void golden_fill(sf_param *p) {
    if (p->dtype == SF_DT_I64) {
        *(int64_t *)p->data = 0;
        return;
    }
    float *d = p->data;
    unit_fill(d, p->count, p->name);
    float s = 0.0f, add = 0.0f;
    if (ends_with(p->name, "running_mean")) s = 0.125f;
    else if (ends_with(p->name, "running_var")) s = 0.5f, add = 1.0f;
    else if (ends_with(p->name, "bias")) s = 0.0625f;
    else if (p->ndim == 1) s = 0.25f, add = 1.0f;
    else s = (float)(1.0 / sqrt((double)(p->count / (size_t)p->shape[0])));
    for (size_t i = 0; i < p->count; i++) d[i] = add + d[i] * s;
}

// SAMPLES elements at (j * count) / k, k = min(count, SAMPLES); returns k.
static size_t golden_sample(float *dst, const float *src, size_t count) {
    size_t k = count < GOLDEN_SAMPLES ? count : GOLDEN_SAMPLES;
    for (size_t j = 0; j < k; j++) dst[j] = src[j * count / k];
    return k;
}

static double l2norm(const float *x, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return sqrt(s);
}

// Each comparison allows floor + a multiple of PyTorch's own float32-vs-float64 error
// (<tag>_noise_*.npy, see make_models.py): tight where the computation is well conditioned, honest
// where it is not (BatchNorm over two values per channel; AdamW, whose first step moves every weight by
// about lr whatever its gradient's size, so rounding-level gradients decide the trajectory). Logits use
// the noise of the same quantity; gradients, losses and final weights the largest noise of their kind
// in the config, since which element or step the amplified noise hits is itself random.
#define NOISE_MULT 4.0
#define TRAJ_MULT 10.0
// Beyond this float32-vs-float64 loss difference PyTorch's own trajectory is chaos (BatchNorm over two
// values per channel): only the logits and the first gradients are compared then.
#define CHAOTIC_LOSS_NOISE 0.05

static double max_of(const npy_array *a) {
    double m = 0;
    for (size_t i = 0; i < a->count; i++) m = fmax(m, a->f[i]);
    return m;
}
typedef struct {
    double logits, loss, grad, final_abs;  // floors
} golden_tol;

static npy_array load_tag(const char *tag, const char *what) {
    char rel[128];
    snprintf(rel, sizeof rel, "models/%s_%s.npy", tag, what);
    return npy_load(rel);
}

// Names from <tag>_names.txt mapped onto the model's tensors, in PyTorch's order.
typedef struct {
    int n_params, n_buffers;
    sf_param **t;
} golden_names;

static golden_names load_names(sf_model *m, const char *tag) {
    char rel[128], line[256];
    snprintf(rel, sizeof rel, "models/%s_names.txt", tag);
    FILE *f = fopen(golden_path(rel), "r");
    cr_assert(f, "missing %s (run tests/golden/make_models.py)", golden_path(rel));
    golden_names g = {0};
    cr_assert(fgets(line, sizeof line, f));
    cr_assert_eq(sscanf(line, "%d %d", &g.n_params, &g.n_buffers), 2);
    cr_assert_eq(g.n_params, sf_model_n_params(m), "%s: %d parameters in PyTorch, %d here", tag, g.n_params,
                 sf_model_n_params(m));
    cr_assert_eq(g.n_buffers, sf_model_n_buffers(m), "%s: buffer count", tag);
    g.t = calloc((size_t)(g.n_params + g.n_buffers), sizeof *g.t);
    for (int i = 0; i < g.n_params + g.n_buffers; i++) {
        cr_assert(fgets(line, sizeof line, f));
        line[strcspn(line, "\n")] = 0;
        g.t[i] = sf_model_find(m, line);
        cr_assert(g.t[i], "%s: PyTorch tensor %s has no counterpart", tag, line);
        cr_assert_eq(g.t[i]->grad != NULL, i < g.n_params, "%s: %s parameter/buffer kind", tag, line);
    }
    fclose(f);
    return g;
}

static double check_logits(const char *tag, const char *which, const float *y, int n) {
    char rel[128];
    snprintf(rel, sizeof rel, "models/%s_logits_%s.npy", tag, which);
    npy_array e = npy_load(rel);
    cr_assert_eq(e.count, (size_t)n * GOLDEN_CLASSES);
    double err = max_rel_err(y, e.f, e.count);
    npy_free(&e);
    return err;
}

static inline void run_golden(const char *arch, int size, int n, golden_tol tol) {
    char tag[64], rel[128], err[512];
    snprintf(tag, sizeof tag, "%s_s%d_b%d", arch, size, n);
    sf_model_config cfg = {.arch = arch, .n_classes = GOLDEN_CLASSES, .in_h = size, .in_w = size, .max_batch = n,
                           .seed = 1};
    sf_model *m = sf_model_create(&cfg, err, sizeof err);
    cr_assert(m, "%s", err);
    golden_names names = load_names(m, tag);
    for (int i = 0; i < names.n_params + names.n_buffers; i++) golden_fill(names.t[i]);
    sf_model_weights_changed(m);
    size_t xcount = (size_t)n * 3 * size * size;
    float *x = malloc(xcount * sizeof(float));
    unit_fill(x, xcount, "input");
    int64_t labels[8];
    for (int i = 0; i < n; i++) labels[i] = (i * 7 + 3) % GOLDEN_CLASSES;

    npy_array noise_logits = load_tag(tag, "noise_logits");
    double e_eval = check_logits(tag, "eval", sf_model_forward(m, x, n, false), n);
    // The train-mode forward updates the running statistics, so refill them before the steps.
    double e_train = check_logits(tag, "train", sf_model_forward(m, x, n, true), n);
    for (int i = 0; i < names.n_params + names.n_buffers; i++) golden_fill(names.t[i]);
    sf_model_weights_changed(m);

    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    oc.amsgrad = true;
    sf_optimizer *opt = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
    float losses[5];
    double e_grad = 0, e_gnorm = 0;
    float *buf = malloc(GOLDEN_SAMPLES * sizeof(float));
    for (int s = 0; s < 5; s++) {
        sf_model_forward(m, x, n, true);
        losses[s] = sf_model_loss_backward(m, labels, NULL);
        if (s == 0) {
            snprintf(rel, sizeof rel, "models/%s_grad_sample.npy", tag);
            npy_array gs = npy_load(rel);
            snprintf(rel, sizeof rel, "models/%s_grad_norm.npy", tag);
            npy_array gn = npy_load(rel);
            npy_array noise = load_tag(tag, "noise_grad");
            // Scale-aware errors: a gradient that is mathematically zero (a bias right before a
            // BatchNorm) holds rounding noise on both sides, so each tensor's error is measured
            // against max(its largest element, 1% of the model's largest), and norms likewise.
            double gmax = 0, nmax = 0;
            for (size_t q = 0; q < gs.count; q++) gmax = fmax(gmax, fabs(gs.f[q]));
            for (size_t q = 0; q < gn.count; q++) nmax = fmax(nmax, gn.f[q]);
            size_t off = 0;
            for (int i = 0; i < names.n_params; i++) {
                const sf_param *p = names.t[i];
                size_t k = golden_sample(buf, p->grad, p->count);
                cr_assert_leq(off + k, gs.count);
                double bmax = 0;
                for (size_t q = 0; q < k; q++) bmax = fmax(bmax, fabs(gs.f[off + q]));
                double e = max_abs_err(buf, gs.f + off, k) / fmax(bmax, 0.01 * gmax);
                double en = fabs(l2norm(p->grad, p->count) - gn.f[i]) / fmax(gn.f[i], 0.01 * nmax);
                if (getenv("SF_TEST_VERBOSE"))
                    cr_log_info("  grad %-28s norm %.3e (ours %.3e) max %.3e err %.2e norm err %.2e", p->name, gn.f[i],
                                l2norm(p->grad, p->count), bmax, e, en);
                if (e > e_grad) e_grad = e;
                if (en > e_gnorm) e_gnorm = en;
                double lim = tol.grad + TRAJ_MULT * max_of(&noise);
                cr_expect_leq(e, lim, "%s: gradient of %s off by %.3g (limit %.3g)", tag, p->name, e, lim);
                cr_expect_leq(en, lim, "%s: gradient norm of %s off by %.3g (limit %.3g)", tag, p->name, en, lim);
                off += k;
            }
            cr_assert_eq(off, gs.count);
            npy_free(&gs);
            npy_free(&gn);
            npy_free(&noise);
        }
        sf_opt_step(opt);
        if (getenv("SF_TEST_VERBOSE")) cr_log_info("%s step %d loss %.7f", tag, s, losses[s]);
    }
    snprintf(rel, sizeof rel, "models/%s_loss.npy", tag);
    npy_array el = npy_load(rel);
    npy_array noise_loss = load_tag(tag, "noise_loss");
    double e_loss = 0;
    bool chaotic = max_of(&noise_loss) > CHAOTIC_LOSS_NOISE;
    if (chaotic)
        cr_log_info("%s: PyTorch's float32 and float64 loss curves differ by %.2g: trajectory not compared", tag,
                    max_of(&noise_loss));
    for (int s = 0; s < (chaotic ? 1 : 5); s++) {
        double e = fabs(losses[s] - el.f[s]) / fmax(1.0, fabs(el.f[s]));
        double lim = tol.loss + TRAJ_MULT * fmax(max_of(&noise_loss), s == 0 ? noise_logits.f[1] : 0.0);
        cr_expect_leq(e, lim, "%s: loss before step %d is %.7f, PyTorch %.7f (limit %.3g)", tag, s, losses[s], el.f[s], lim);
        if (e > e_loss) e_loss = e;
    }
    npy_free(&el);
    npy_free(&noise_loss);

    snprintf(rel, sizeof rel, "models/%s_final_sample.npy", tag);
    npy_array fs = npy_load(rel);
    snprintf(rel, sizeof rel, "models/%s_final_norm.npy", tag);
    npy_array fn = npy_load(rel);
    npy_array noise_final = load_tag(tag, "noise_final");
    size_t off = 0;
    int j = 0;
    double e_final = 0, e_fnorm = 0;
    for (int i = 0; i < names.n_params + names.n_buffers; i++) {
        const sf_param *p = names.t[i];
        if (p->dtype == SF_DT_I64) {
            cr_expect_eq(*(int64_t *)p->data, 5, "%s: %s = %ld after 5 training steps", tag, p->name,
                         (long)*(int64_t *)p->data);
            continue;
        }
        size_t k = golden_sample(buf, p->data, p->count);
        double e = max_abs_err(buf, fs.f + off, k);
        double en = fabs(l2norm(p->data, p->count) - fn.f[j]) / fmax(fn.f[j], 1e-6);
        if (e > e_final) e_final = e;
        if (en > e_fnorm) e_fnorm = en;
        double lim = tol.final_abs + TRAJ_MULT * max_of(&noise_final);
        if (!chaotic) cr_expect_leq(e, lim, "%s: final %s off by %.3g (limit %.3g)", tag, p->name, e, lim);
        off += k;
        j++;
    }
    cr_assert_eq(off, fs.count);
    npy_free(&fs);
    npy_free(&fn);
    npy_free(&noise_final);
    cr_log_info("%-18s max err: logits eval %.2e train %.2e | loss %.2e | grads %.2e norms %.2e | final abs %.2e norms %.2e",
                tag, e_eval, e_train, e_loss, e_grad, e_gnorm, e_final, e_fnorm);
    cr_expect_leq(e_eval, tol.logits + NOISE_MULT * noise_logits.f[0], "%s: eval logits off by %.3g", tag, e_eval);
    cr_expect_leq(e_train, tol.logits + NOISE_MULT * noise_logits.f[1], "%s: train logits off by %.3g", tag, e_train);
    npy_free(&noise_logits);
    free(buf);
    free(x);
    free(names.t);
    sf_opt_free(opt);
    sf_model_free(m);
}

// Logits only (make_models.py forward_goldens): eval mode, and train mode (batch statistics).
static inline void run_forward_golden(const char *arch, int size, int n, double tol_eval, double tol_train) {
    char tag[64], err[512];
    snprintf(tag, sizeof tag, "%s_s%d_b%d", arch, size, n);
    sf_model_config cfg = {.arch = arch, .n_classes = GOLDEN_CLASSES, .in_h = size, .in_w = size, .max_batch = n};
    sf_model *m = sf_model_create(&cfg, err, sizeof err);
    cr_assert(m, "%s", err);
    golden_names names = load_names(m, tag);
    for (int i = 0; i < names.n_params + names.n_buffers; i++) golden_fill(names.t[i]);
    sf_model_weights_changed(m);
    size_t xcount = (size_t)n * 3 * size * size;
    float *x = malloc(xcount * sizeof(float));
    unit_fill(x, xcount, "input");
    double e_eval = check_logits(tag, "eval", sf_model_forward(m, x, n, false), n);
    double e_train = check_logits(tag, "train", sf_model_forward(m, x, n, true), n);
    cr_log_info("%-18s max err: logits eval %.2e train %.2e", tag, e_eval, e_train);
    cr_expect_leq(e_eval, tol_eval, "%s: eval logits off by %.3g", tag, e_eval);
    cr_expect_leq(e_train, tol_train, "%s: train logits off by %.3g", tag, e_train);
    free(x);
    free(names.t);
    sf_model_free(m);
}

#endif
