// test_nn_optim.c: AdamW (plain, amsgrad, custom betas/eps/decay) and SGD (momentum, nesterov with
// weight decay, plain) against torch.optim over 6 steps (tests/golden/make_models.py), frozen
// parameters, and the optimizer-state round trip through safetensors.
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn/adamw.h"
#include "nn/adamw_kernel.h"
#include "springfield.h"
#include "util/npy.h"
#include "test_nn_golden.h"

static const int sizes[3] = {7, 33, 64};

typedef struct {
    float data[104], grad[104];
    sf_param p[3];
} toy;

static void toy_init(toy *t) {
    memset(t, 0, sizeof *t);
    int off = 0;
    for (int i = 0; i < 3; i++) {
        sf_param *p = &t->p[i];
        snprintf(p->name, sizeof p->name, "t%d.weight", i);
        p->dtype = SF_DT_F32;
        p->ndim = 1;
        p->shape[0] = sizes[i];
        p->count = (size_t)sizes[i];
        p->data = t->data + off;
        p->grad = t->grad + off;
        char name[32];
        snprintf(name, sizeof name, "param.%d", i);
        unit_fill(p->data, p->count, name);
        off += sizes[i];
    }
}

static void toy_grads(toy *t, int step) {
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "grad%d.%d", step, i);
        unit_fill(t->p[i].grad, t->p[i].count, name);
        for (size_t j = 0; j < t->p[i].count; j++) t->p[i].grad[j] *= (float)(0.5 * (i + 1));
        if (step == 3 && i == 1) memset(t->p[i].grad, 0, t->p[i].count * sizeof(float));
    }
}

// Runs 6 steps and compares the parameters after each with opt_<name>.npy; returns the max error.
static double run(const char *name, sf_opt_config c) {
    toy t;
    toy_init(&t);
    sf_optimizer *o = sf_opt_create(&c, t.p, 3);
    char rel[64];
    snprintf(rel, sizeof rel, "models/opt_%s.npy", name);
    npy_array e = npy_load(rel);
    cr_assert_eq(e.count, 6 * 104);
    double err = 0;
    for (int s = 0; s < 6; s++) {
        toy_grads(&t, s);
        sf_opt_step(o);
        double es = max_rel_err(t.data, e.f + s * 104, 104);
        if (es > err) err = es;
    }
    cr_log_info("%-13s max rel err over 6 steps %.3g", name, err);
    npy_free(&e);
    sf_opt_free(o);
    return err;
}

Test(nn_optim, adamw_matches_torch) {
    sf_opt_config c = sf_opt_defaults(SF_OPT_ADAMW);
    c.lr = 1e-2;
    cr_expect_leq(run("adam", c), 2e-6);
    c.amsgrad = true;
    cr_expect_leq(run("adam_amsgrad", c), 2e-6);
    c = (sf_opt_config){.kind = SF_OPT_ADAMW, .lr = 3e-3, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6,
                        .weight_decay = 0.1, .amsgrad = true};
    cr_expect_leq(run("adam_wd", c), 2e-6);
}

Test(nn_optim, sgd_matches_torch) {
    sf_opt_config c = sf_opt_defaults(SF_OPT_SGD);
    c.momentum = 0.9;
    cr_expect_leq(run("sgd", c), 2e-6);
    c.nesterov = true;
    c.weight_decay = 1e-3;
    cr_expect_leq(run("sgd_nesterov", c), 2e-6);
    c = sf_opt_defaults(SF_OPT_SGD);
    c.momentum = 0.0;
    c.lr = 0.1;
    cr_expect_leq(run("sgd_plain", c), 2e-6);
}

Test(nn_optim, frozen_parameters_stay) {
    toy t;
    toy_init(&t);
    t.p[1].frozen = true;
    float before[33];
    memcpy(before, t.p[1].data, sizeof before);
    sf_opt_config c = sf_opt_defaults(SF_OPT_ADAMW);
    sf_optimizer *o = sf_opt_create(&c, t.p, 3);
    float p0 = ((float *)t.p[0].data)[0];
    toy_grads(&t, 0);
    sf_opt_step(o);
    cr_assert(!memcmp(before, t.p[1].data, sizeof before), "a frozen parameter changed");
    cr_assert_eq(o->step[1], 0);
    cr_assert_eq(o->step[0], 1);
    cr_assert_neq(((float *)t.p[0].data)[0], p0, "an unfrozen parameter did not move");
    sf_opt_free(o);
}

// Save after 3 steps, continue 3 more; a fresh optimizer loaded from the file must reach the same
// parameters bit for bit.
Test(nn_optim, state_round_trip_is_exact) {
    for (int kind = 0; kind < 2; kind++) {
        toy a, b;
        toy_init(&a);
        sf_opt_config c = sf_opt_defaults(kind ? SF_OPT_SGD : SF_OPT_ADAMW);
        c.amsgrad = true;
        sf_optimizer *oa = sf_opt_create(&c, a.p, 3);
        for (int s = 0; s < 3; s++) toy_grads(&a, s), sf_opt_step(oa);
        char path[] = "/tmp/sf_test_optim_XXXXXX";
        int fd = mkstemp(path);
        cr_assert(fd >= 0);
        char err[256];
        cr_assert_eq(sf_opt_save(oa, path, err, sizeof err), 0, "%s", err);
        b = a;
        for (int i = 0; i < 3; i++) {
            b.p[i].data = b.data + ((float *)a.p[i].data - a.data);
            b.p[i].grad = b.grad + (a.p[i].grad - a.grad);
        }
        sf_optimizer *ob = sf_opt_create(&c, b.p, 3);
        cr_assert_eq(sf_opt_load(ob, path, err, sizeof err), 0, "%s", err);
        unlink(path);
        for (int s = 3; s < 6; s++) {
            toy_grads(&a, s), sf_opt_step(oa);
            toy_grads(&b, s), sf_opt_step(ob);
        }
        cr_assert(!memcmp(a.data, b.data, sizeof a.data), "resumed optimizer diverged (%s)", kind ? "sgd" : "adamw");
        cr_assert_eq(ob->step[0], 6);
        sf_opt_free(oa);
        sf_opt_free(ob);
    }
}

Test(nn_optim, state_load_reports_missing) {
    toy a;
    toy_init(&a);
    sf_opt_config c = sf_opt_defaults(SF_OPT_ADAMW);
    sf_optimizer *o = sf_opt_create(&c, a.p, 3);
    char path[] = "/tmp/sf_test_optim_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    char err[256];
    cr_assert_eq(sf_opt_save(o, path, err, sizeof err), 0, "%s", err);
    c.amsgrad = true;  // expects max_exp_avg_sq, which the file lacks
    sf_optimizer *o2 = sf_opt_create(&c, a.p, 3);
    cr_assert_eq(sf_opt_load(o2, path, err, sizeof err), -1);
    cr_log_info("expected error: %s", err);
    cr_assert(strstr(err, "max_exp_avg_sq"), "%s", err);
    unlink(path);
    sf_opt_free(o);
    sf_opt_free(o2);
}

// Every vector path of the AdamW update is bit-identical to the scalar reference (adamw_kernel.h): lengths
// around the vector widths (tails), with and without amsgrad, over a few steps so that vmax both holds
// and gets replaced.
static void adamw_path_matches_ref(sf_adamw_fn fn, const char *name) {
    const size_t lens[] = {1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 4099};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (int ams = 0; ams < 2; ams++) {
            size_t n = lens[li];
            float *a[5], *b[5], *g = malloc(n * sizeof(float));
            for (int k = 0; k < 5; k++) a[k] = calloc(n, sizeof(float)), b[k] = calloc(n, sizeof(float));
            for (size_t i = 0; i < n; i++) a[0][i] = b[0][i] = (float)sin(0.37 * (double)i + 1.0);
            const sf_adamw_coef c = {.decay = 0.99999f, .b1 = 0.9f, .one_m_b1 = 0.1f, .b2 = 0.999f,
                                     .one_m_b2 = 0.001f, .neg_step = -0.01f, .bc2_sqrt = 0.0447f, .eps = 1e-8f};
            for (int step = 0; step < 4; step++) {
                for (size_t i = 0; i < n; i++) g[i] = (float)(cos(0.91 * (double)i * (step + 1)) * (step == 2 ? 0.01 : 1.0));
                sf_adamw_update_ref(a[0], g, a[1], a[2], ams ? a[3] : NULL, n, &c);
                fn(b[0], g, b[1], b[2], ams ? b[3] : NULL, n, &c);
            }
            for (int k = 0; k < 4; k++)
                cr_assert(memcmp(a[k], b[k], n * sizeof(float)) == 0, "%s: n %zu amsgrad %d: tensor %d differs", name, n,
                          ams, k);
            for (int k = 0; k < 5; k++) free(a[k]), free(b[k]);
            free(g);
        }
}

Test(nn_optim, adamw_vector_paths_bit_identical_to_reference) {
    int ran = 0;
#if defined(__x86_64__)
    if (sf_isa_supported(SF_ISA_AVX512)) adamw_path_matches_ref(sf_adamw_update_avx512, "avx512"), ran++;
    if (sf_isa_supported(SF_ISA_AVX2)) adamw_path_matches_ref(sf_adamw_update_avx2, "avx2"), ran++;
#endif
    adamw_path_matches_ref(sf_adamw_update_fn(), sf_isa_name(sf_isa_active()));
    cr_log_info("AdamW: %d vector paths bit-identical to the reference, and the active path (%s)", ran,
                sf_isa_name(sf_isa_active()));
}
