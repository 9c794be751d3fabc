// test_replica.c: data parallelism over model replicas (nn/replica.h) on this one-node machine, with the
// plan regrouped into two groups (sf_topo_plan_split_groups, the hook behind SPRINGFIELD_FAKE_NUMA_NODES):
//   - one replica is exactly the plain model (bit for bit);
//   - two replicas on a batch made of one half twice give the losses of one model on the whole batch:
//     each replica's BatchNorm then sees the statistics of the whole batch, so only float order differs;
//   - two replicas on distinct halves are bit-identical to a per-replica reference written with the plain
//     model API on the calling thread (BatchNorm statistics per half, gradients summed in replica order,
//     one optimizer step, weights copied back), run with the replicas' thread count: the worker threads,
//     the batch split, the reducer and the refresh add no arithmetic of their own;
//   - a two-replica run is bit-reproducible;
//   - bf16 convolutions (where the CPU has them) reach every replica: bit-identical to the bf16 reference.
// Model: `simple` at 96x96 (its smallest input is 94) (5 conv blocks, a BatchNorm1d), 10 classes, 4 steps of AdamW with amsgrad
// (SGD where trajectories are compared).
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <string.h>

#include "kernels/cpu.h"
#include "kernels/softmax_xent.h"
#include "kernels/topology.h"
#include "nn/adamw.h"
#include "nn/replica.h"
#include "util/rng.h"
#include "util/util.h"

#define SIZE 96
#define K 10
#define STEPS 4
#define PER ((size_t)3 * SIZE * SIZE)
// Relative tolerances: float summation order (batch sums of 4 + 4 against 8, the reduce) moved the
// first-step gradients by 6e-8 of the largest one and the losses of 4 SGD steps by up to 2e-6 when this
// was written; 1e-5 leaves a margin without hiding a wrong gradient scale or a missed weight refresh
// (errors of order 1 and 1e-2). Trajectories are compared under SGD: Adam turns float noise in a
// near-zero gradient into a full +-lr step, so its runs part after a few steps whatever the order.
#define LOSS_RTOL 1e-5
#define GRAD_RTOL 1e-5

static float g_eps = 0.0f;  // label smoothing of every model below (config and the reference's loss)
static bool g_bf16 = false;  // bf16 convolutions in every model below

static sf_model_config config(int batch) {
    return (sf_model_config){.arch = "simple", .n_classes = K, .in_h = SIZE, .in_w = SIZE, .max_batch = batch,
                             .deterministic = true, .seed = 11, .label_smoothing = g_eps, .bf16 = g_bf16};
}

// SGD with momentum: unlike Adam its step is proportional to the gradient, so a wrong scale shows.
static sf_opt_config sgd(void) {
    sf_opt_config oc = sf_opt_defaults(SF_OPT_SGD);
    oc.lr = 0.01;
    return oc;
}

static sf_opt_config adamw(void) {
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    oc.amsgrad = true;
    oc.lr = 1e-3;
    return oc;
}

// A plan on this machine with `groups` groups (1: numa off).
static void plan_for(sf_topo_plan *p, int groups, int batch) {
    sf_topo_opts o;
    sf_topo_opts_default(&o);
    o.threads = 2;
    o.numa = groups > 1 ? SF_NUMA_AUTO : SF_NUMA_OFF;
    o.batch = batch;
    cr_assert_eq(sf_topo_plan_make(p, sf_topology_get(), &o), 0);
    if (groups > 1) cr_assert_eq(sf_topo_plan_split_groups(p, groups), 0);
    cr_assert_eq(p->n_groups, groups);
}

// x (n,3,S,S) and y (n); with `twice`, the second half repeats the first.
static void batch_data(float *x, int64_t *y, int n, bool twice, uint64_t seed) {
    sf_rng rng;
    sf_rng_seed(&rng, seed, 3);
    int fill = twice ? n / 2 : n;
    for (size_t i = 0; i < (size_t)fill * PER; i++) x[i] = sf_rng_uniform_range(&rng, -2.0f, 2.0f);
    for (int i = 0; i < fill; i++) y[i] = sf_rng_below(&rng, K);
    if (twice) {
        memcpy(x + (size_t)fill * PER, x, (size_t)fill * PER * sizeof *x);
        memcpy(y + fill, y, (size_t)fill * sizeof *y);
    }
}

// Every parameter's gradient, packed in parameter order (as many floats as the parameters).
static float *copy_grads(sf_model *m) {
    size_t total = 0, off = 0;
    for (int i = 0; i < sf_model_n_params(m); i++) total += sf_model_param(m, i)->count;
    float *c = sf_malloc(total * sizeof *c);
    for (int i = 0; i < sf_model_n_params(m); i++) {
        const sf_param *q = sf_model_param(m, i);
        memcpy(c + off, q->grad, q->count * sizeof *c);
        off += q->count;
    }
    return c;
}

static double grad_rel_diff(const float *a, const float *b, size_t n) {
    double d = 0, mag = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i])), mag = fmax(mag, fabs(b[i]));
    return d / fmax(mag, 1e-30);
}

// STEPS training steps through replicas: losses (STEPS), the master's (reduced) gradients of the first
// step [grad0 may be NULL] and its final parameters.
static void run_replicas(float *losses, float **grad0, float **params, size_t *count, int groups, int n, bool twice,
                         sf_opt_config oc) {
    sf_topo_plan *p = sf_malloc(sizeof *p);
    plan_for(p, groups, n);
    sf_model_config c = config(n);
    char err[512];
    sf_replicas *r = sf_replicas_create(&c, sf_topology_get(), p, NULL, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(sf_replicas_count(r), groups);
    sf_model *m = sf_replicas_master(r);
    sf_optimizer *opt = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
    float *x = sf_malloc((size_t)n * PER * sizeof *x);
    int64_t *y = sf_malloc((size_t)n * sizeof *y);
    for (int s = 0; s < STEPS; s++) {
        batch_data(x, y, n, twice, 100 + (uint64_t)s);
        sf_replicas_forward(r, x, n, true);
        losses[s] = sf_replicas_loss_backward(r, y);
        if (s == 0 && grad0) *grad0 = copy_grads(m);
        sf_opt_step(opt);
        sf_replicas_refresh(r);
    }
    size_t total = 0;
    for (int i = 0; i < sf_model_n_params(m); i++) total += sf_model_param(m, i)->count;
    *params = sf_malloc(total * sizeof(float));
    *count = total;
    size_t off = 0;
    for (int i = 0; i < sf_model_n_params(m); i++) {
        const sf_param *q = sf_model_param(m, i);
        memcpy(*params + off, q->data, q->count * sizeof(float));
        off += q->count;
    }
    // Every replica holds the master's weights after a refresh.
    for (int g = 1; g < groups; g++)
        for (int i = 0; i < sf_model_n_params(m); i++) {
            const sf_param *a = sf_model_param(m, i), *b = sf_model_param(sf_replicas_get(r, g), i);
            cr_assert(memcmp(a->data, b->data, a->count * sizeof(float)) == 0, "replica %d: %s not refreshed", g,
                      a->name);
        }
    free(x);
    free(y);
    sf_opt_free(opt);
    sf_replicas_free(r);
    free(p);
}

// The plain model API on the whole batch.
static void run_plain(float *losses, float **grad0, int n, bool twice, sf_opt_config oc) {
    sf_model_config c = config(n);
    char err[512];
    sf_model *m = sf_model_create(&c, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    sf_optimizer *opt = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
    float *x = sf_malloc((size_t)n * PER * sizeof *x);
    int64_t *y = sf_malloc((size_t)n * sizeof *y);
    for (int s = 0; s < STEPS; s++) {
        batch_data(x, y, n, twice, 100 + (uint64_t)s);
        sf_model_forward(m, x, n, true);
        losses[s] = sf_model_loss_backward(m, y, NULL);
        if (s == 0 && grad0) *grad0 = copy_grads(m);
        sf_opt_step(opt);
    }
    free(x);
    free(y);
    sf_opt_free(opt);
    sf_model_free(m);
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-30); }

Test(replica, one_replica_is_the_plain_model) {
    float a[STEPS], b[STEPS], *pa;
    size_t na;
    run_replicas(a, NULL, &pa, &na, 1, 8, false, adamw());
    run_plain(b, NULL, 8, false, adamw());
    for (int s = 0; s < STEPS; s++) {
        cr_log_info("step %d: loss %.9g (replica) %.9g (model)", s, a[s], b[s]);
        cr_assert(memcmp(&a[s], &b[s], sizeof(float)) == 0, "step %d: %.9g != %.9g", s, a[s], b[s]);
    }
    free(pa);
}

Test(replica, two_replicas_match_one_model_on_a_doubled_batch) {
    float a[STEPS], b[STEPS], *pa, *ga, *gb;
    size_t na;
    run_replicas(a, &ga, &pa, &na, 2, 8, true, sgd());
    run_plain(b, &gb, 8, true, sgd());
    double gd = grad_rel_diff(ga, gb, na);
    cr_log_info("first step: reduced gradients differ from the whole batch's by %.2e of the largest (tolerance %.0e)",
                gd, GRAD_RTOL);
    cr_assert(gd <= GRAD_RTOL, "gradients differ by %.3e of the largest", gd);
    double worst = 0;
    for (int s = 0; s < STEPS; s++) {
        double e = rel(a[s], b[s]);
        cr_log_info("step %d: loss %.9g (2 replicas) %.9g (1 model), relative difference %.2e", s, a[s], b[s], e);
        if (e > worst) worst = e;
    }
    cr_log_info("max relative loss difference %.2e (tolerance %.0e)", worst, LOSS_RTOL);
    cr_assert(worst <= LOSS_RTOL, "losses differ by %.3e relative (tolerance %.0e)", worst, LOSS_RTOL);
    // The losses move between steps, so agreeing on all of them means the updates agreed too.
    cr_assert(rel(b[STEPS - 1], b[0]) > 100 * LOSS_RTOL, "the loss did not move: the test would not see a bad step");
    free(pa);
    free(ga);
    free(gb);
}

// Two plain models as two replicas would be, run one after the other on the calling thread.
static void run_reference(float *losses, float **grad0, float **params, size_t *count, int n, sf_opt_config oc) {
    int h = n / 2;
    sf_model_config c = config(h);
    char err[512];
    sf_model *m[2];
    for (int i = 0; i < 2; i++) {
        m[i] = sf_model_create(&c, err, sizeof err);
        cr_assert_not_null(m[i], "%s", err);
    }
    sf_optimizer *opt = sf_opt_create(&oc, sf_model_param(m[0], 0), sf_model_n_params(m[0]));
    float *x = sf_malloc((size_t)n * PER * sizeof *x), *dl = sf_malloc((size_t)h * K * sizeof *dl);
    int64_t *y = sf_malloc((size_t)n * sizeof *y);
    size_t gc;
    float *g0 = sf_model_grad_arena(m[0], &gc), *g1 = sf_model_grad_arena(m[1], &gc);
    for (int s = 0; s < STEPS; s++) {
        batch_data(x, y, n, false, 100 + (uint64_t)s);
        double loss = 0;
        for (int i = 0; i < 2; i++) {
            const float *lg = sf_model_forward(m[i], x + (size_t)i * h * PER, h, true);
            loss += (double)sf_softmax_xent(dl, NULL, lg, y + i * h, h, K, g_eps) * h;
            for (int j = 0; j < h * K; j++) dl[j] *= (float)h / (float)n;
            sf_model_backward(m[i], dl);
        }
        losses[s] = (float)(loss / n);
        for (size_t j = 0; j < gc; j++) g0[j] += g1[j];
        if (s == 0) *grad0 = copy_grads(m[0]);
        sf_opt_step(opt);
        for (int i = 0; i < sf_model_n_params(m[0]); i++)
            memcpy(sf_model_param(m[1], i)->data, sf_model_param(m[0], i)->data,
                   sf_model_param(m[0], i)->count * sizeof(float));
        for (int i = 0; i < sf_model_n_buffers(m[0]); i++) {
            const sf_param *q = sf_model_buffer(m[0], i);
            memcpy(sf_model_buffer(m[1], i)->data, q->data, q->count * sf_dtype_size(q->dtype));
        }
    }
    size_t total = 0, off = 0;
    for (int i = 0; i < sf_model_n_params(m[0]); i++) total += sf_model_param(m[0], i)->count;
    *params = sf_malloc(total * sizeof(float));
    *count = total;
    for (int i = 0; i < sf_model_n_params(m[0]); i++) {
        const sf_param *q = sf_model_param(m[0], i);
        memcpy(*params + off, q->data, q->count * sizeof(float));
        off += q->count;
    }
    free(x);
    free(dl);
    free(y);
    sf_opt_free(opt);
    sf_model_free(m[0]);
    sf_model_free(m[1]);
}

// Two replicas against the per-replica reference (each replica's group has one thread, plan_for) under the
// current g_eps and g_bf16: losses, first-step gradients and final weights bit for bit. a: the replicas'
// losses.
static void replicas_vs_reference(float a[STEPS], const char *what) {
    float b[STEPS], *pa, *pb, *ga = NULL, *gb = NULL;
    size_t na, nb;
    run_replicas(a, &ga, &pa, &na, 2, 8, false, sgd());
    sf_set_threads(1);
    run_reference(b, &gb, &pb, &nb, 8, sgd());
    sf_set_threads(0);
    cr_assert_eq(na, nb);
    for (int s = 0; s < STEPS; s++)
        cr_log_info("%s, step %d: loss %.9g (2 replicas) %.9g (reference)", what, s, a[s], b[s]);
    cr_assert(memcmp(a, b, STEPS * sizeof(float)) == 0, "%s: replica losses differ from the reference's", what);
    cr_assert(memcmp(ga, gb, na * sizeof(float)) == 0, "%s: first-step gradients differ", what);
    cr_assert(memcmp(pa, pb, na * sizeof(float)) == 0, "%s: final weights differ", what);
    free(pa);
    free(pb);
    free(ga);
    free(gb);
}

Test(replica, two_replicas_match_the_per_replica_reference) {
    float a[STEPS];
    replicas_vs_reference(a, "fp32");
}

// Label smoothing reaches the loss of both the replicas and the plain model (the config carries it): two
// replicas match the per-replica reference bit for bit and one model on a doubled batch, and the plain
// model's loss is not the one without smoothing.
Test(replica, label_smoothing_reaches_replicas_and_model) {
    float a[STEPS], a2[STEPS], c2[STEPS], plain0[STEPS], *pa2;
    size_t na2;
    run_plain(plain0, NULL, 8, true, sgd());
    g_eps = 0.1f;
    replicas_vs_reference(a, "eps 0.1");
    run_replicas(a2, NULL, &pa2, &na2, 2, 8, true, sgd());
    run_plain(c2, NULL, 8, true, sgd());
    g_eps = 0.0f;
    for (int s = 0; s < STEPS; s++)
        cr_log_info("step %d, eps 0.1: doubled batch %.9g (2 replicas) %.9g (1 model), %.9g (1 model, eps 0)", s,
                    a2[s], c2[s], plain0[s]);
    for (int s = 0; s < STEPS; s++) cr_assert(rel(a2[s], c2[s]) <= LOSS_RTOL, "step %d: %.9g vs %.9g", s, a2[s], c2[s]);
    // At the start the softmax is near uniform, where smoothing changes little; by the last step it shows.
    cr_assert(rel(c2[STEPS - 1], plain0[STEPS - 1]) > 100 * LOSS_RTOL, "smoothing did not change the loss: %.9g",
              c2[STEPS - 1]);
    free(pa2);
}

// bf16 (train --precision bf16) reaches every replica: two bf16 replicas match the bf16 per-replica
// reference bit for bit, and their loss is not fp32's.
Test(replica, bf16_reaches_replicas) {
    if (!sf_bf16_supported()) cr_skip_test("no AVX512_BF16 on this CPU or ISA path");
    float a[STEPS], fp32[STEPS], *pf;
    size_t nf;
    run_replicas(fp32, NULL, &pf, &nf, 2, 8, false, sgd());
    g_bf16 = true;
    replicas_vs_reference(a, "bf16");
    g_bf16 = false;
    for (int s = 0; s < STEPS; s++) cr_log_info("step %d: fp32 loss %.9g (2 replicas)", s, fp32[s]);
    // bf16 rounds every convolution's inputs to 8 significant bits: the loss moves by far more than 1e-5.
    cr_assert(rel(a[STEPS - 1], fp32[STEPS - 1]) > 10 * LOSS_RTOL, "bf16 did not change the loss: %.9g",
              a[STEPS - 1]);
    free(pf);
}

Test(replica, two_replicas_are_bit_reproducible) {
    float a[STEPS], b[STEPS], *pa, *pb;
    size_t na, nb;
    run_replicas(a, NULL, &pa, &na, 2, 8, false, adamw());
    run_replicas(b, NULL, &pb, &nb, 2, 8, false, adamw());
    cr_assert(memcmp(a, b, sizeof a) == 0, "losses differ between two identical runs");
    cr_assert(na == nb && memcmp(pa, pb, na * sizeof(float)) == 0, "weights differ between two identical runs");
    free(pa);
    free(pb);
}

// An eval forward is per image, so the split changes nothing but float order inside nothing: the logits
// of two replicas equal the plain model's.
Test(replica, eval_forward_gathers_the_shares) {
    const int n = 7;  // odd: shares of 4 and 3
    sf_topo_plan p;
    plan_for(&p, 2, 8);
    sf_model_config c = config(8);
    char err[512];
    sf_replicas *r = sf_replicas_create(&c, sf_topology_get(), &p, NULL, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    sf_model *m = sf_model_create(&c, err, sizeof err);
    float *x = sf_malloc((size_t)n * PER * sizeof *x);
    int64_t y[8];
    batch_data(x, y, n, false, 5);
    const float *a = sf_replicas_forward(r, x, n, false);
    const float *b = sf_model_forward(m, x, n, false);
    double dmax = 0;
    for (int i = 0; i < n * K; i++) dmax = fmax(dmax, fabs(a[i] - b[i]));
    cr_log_info("eval logits: max difference %.2e between 2 replicas and one model", dmax);
    cr_assert(dmax <= 1e-5, "logits differ by %.3e", dmax);
    free(x);
    sf_model_free(m);
    sf_replicas_free(r);
}
