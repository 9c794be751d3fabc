// perf_check.c: `springfield perf-check`: the performance regression check.
//
// A shared machine's absolute timings wander by 2x, so every figure here is a ratio against a yardstick
// timed in the same run, interleaved with it (ABAB...), over several repetitions, taking the median of the
// paired ratios:
//   sgemm_vs_openblas_<shape>  sf_sgemm speed / OpenBLAS cblas_sgemm speed, same shape
//   sgemm_vs_peak_<shape>      sf_sgemm GFLOP/s / the FMA peak probe's GFLOP/s (cpu.h's probe, one burst)
//   conv_fwd_vs_ref_<shape>    sf_conv2d_forward speed / the naive reference's (a speed-up)
//   conv_fwd_vs_onednn_<shape>, conv_bwd_data_vs_onednn_<shape>, conv_bwd_weights_vs_onednn_<shape>
//                              sf_conv2d_forward / _backward_data / _backward_weights speed / the same
//                              oneDNN primitive's (bench/onednn_conv.h), batch 4, with bias: 64x28 a 3x3
//                              64->64 layer at 28x28; 3x96 the first layer of `best` at 96 px (7x7/2,
//                              3->32, plain NCHW input), without bwd_data, which training never runs for it
//   conv_{fwd,bwd_data,bwd_weights}_bf16_vs_onednn_64x28
//                              the same three on the 64x28 layer in bf16 (`train --precision bf16`): our bf16
//                              plan against oneDNN's bf16 convolution, inputs already in bf16 on both sides
//                              (ours: channel pairs, image pairs for backward-weights; oneDNN: its own
//                              layouts), weight gradients fp32 on both; skipped without AVX512_BF16
//   train_step_vs_peak_<model> one training step (forward, cross-entropy, backward, AdamW with amsgrad) of a
//                              seed model on synthetic data, GFLOP/s (3 x the forward FLOPs, as `bench
//                              train` counts) / the FMA peak probe's GFLOP/s: simple_s96_b16
// each suffixed with the ISA path (_avx512, _avx2, ...), on one thread unless --threads says otherwise.
// On one thread everything is timed by the thread's CPU clock, which the time slicing of a crowded host
// does not inflate (wall time otherwise).
// Each ratio is compared with the [baseline] entry of the CPU's profile (kernels/profile.h): it fails when
// it falls below baseline * (1 - margin). A miss is measured again (--retries) before it counts, and the
// best attempt is kept: noise is transient, a regression is not. Exit status 1 when any case fails, 0
// otherwise, including on a CPU without a profile (reported). --record FILE writes the measured ratios as
// the baselines of the profile FILE (creating it from this CPU's description when absent).
//
// OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE once, when it is loaded: an inherited setting
// would move every baseline. The check re-executes itself (/proc/self/exe) with OPENBLAS_L2_SIZE unset and
// OPENBLAS_CORETYPE pinned to the kernel of the same ISA as ours: SkylakeX on the avx512 path, Haswell on
// avx2, unset on scalar. Pinned rather than unset because OpenBLAS 0.3.21 does not know family 6 model 207
// (Emerald Rapids, as a KVM guest reports it) and falls back to its SSE3 Prescott kernel, which is no
// yardstick for AVX-512 code.
//
// oneDNN is held to the ISA of our path too, by dnnl_set_max_cpu_isa before its first use: AVX512_CORE on
// avx512 (AVX512_CORE_BF16 where our bf16 kernels run: oneDNN picks the same jit:avx512_core fp32
// convolutions either way, checked on the Zen 5), AVX2 on avx2 (on an AVX-512 CPU it would otherwise run
// its AVX-512 kernels against our AVX2 ones), SSE41 on scalar. It runs on the OpenMP runtime it shares
// with us, so --threads sizes both. The header prints both libraries' settings.
#include "bench/bench.h"
#include "bench/conv_layer.h"
#include "bench/onednn_conv.h"
#include "bench/openblas_dl.h"
#include "bench/openblas_env.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "kernels/bf16.h"
#include "kernels/cpu_probe.h"
#include "kernels/profile.h"
#include "kernels/sgemm_tuning.h"
#include "springfield.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const sf_opt_spec spec[] = {
    {"seconds", SF_OPT_FLOAT, "2", NULL, 0.2, 60, "time budget per case per attempt"},
    {"retries", SF_OPT_INT, "2", NULL, 0, 10, "re-measurements of a case below its floor before it fails"},
    {"threads", SF_OPT_INT, "1", NULL, 1, 1024, "threads for ours and the yardstick"},
    {"case", SF_OPT_STR, NULL, NULL, 0, 0, "run only the cases whose name contains this"},
    {"record", SF_OPT_STR, NULL, NULL, 0, 0, "write the measured ratios as baselines into this profile file"},
    {"margin", SF_OPT_FLOAT, NULL, NULL, 0, 0.999, "with --record: the profile's default margin"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

#define REEXEC_GUARD "SF_PERF_CHECK_REEXEC"
#define MAX_REPS 64

static const char *wanted_core(void) {
    switch (sf_isa_active()) {
    case SF_ISA_AVX512: return "SkylakeX";
    case SF_ISA_AVX2: return "Haswell";
    default: return NULL;
    }
}

static void fix_openblas_env(void) {
    const char *want = wanted_core();
    const char *core = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    int ok = !l2 && (want ? core && !strcmp(core, want) : !core);
    if (ok || getenv(REEXEC_GUARD)) return;
    sf_bench_reexec_openblas(want, REEXEC_GUARD, "1", "perf-check");
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One measurable case: `ours` and `yard` each run the operation once; ratio(t_ours, t_yard) turns a
// pair of timings into the figure compared with the baseline.
typedef enum { PC_GEMM, PC_CONV_REF, PC_CONV_ONEDNN, PC_TRAIN } pc_kind;

typedef struct pc_case pc_case;
struct pc_case {
    char key[48];
    const char *base;  // the baseline key without its ISA suffix
    const char *what;
    pc_kind kind;
    void (*ours)(pc_case *);
    void (*yard)(pc_case *);           // NULL: the yardstick is the FMA peak probe
    int m, n, k;                       // GEMM shape
    sf_conv2d_shape conv;              // conv shape
    bool x_plain;                      // conv: plain NCHW input (the first layer)
    int dir;                           // conv vs oneDNN: 0 forward, 1 backward-data, 2 backward-weights
    bool bf16;                         // conv vs oneDNN: both sides in bf16
    float *a, *b, *c, *x, *w, *wp, *y, *y_ref;
    sf_conv2d_plan *plan;
    sf_bench_conv_layer layer;         // conv vs oneDNN: our side
    sf_onednn_conv dn;
    const char *arch;                  // training step: model, input size, batch
    int size, batch;
    sf_model *model;
    sf_optimizer *opt;
    int64_t *labels;
    double flops;
};

static void gemm_ours(pc_case *p) {
    sf_sgemm(false, false, p->m, p->n, p->k, 1.0f, p->a, p->k, p->b, p->n, 0.0f, p->c, p->n);
}
static void gemm_blas(pc_case *p) {
    sf_openblas()->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->m, p->n, p->k, 1.0f, p->a, p->k, p->b, p->n, 0.0f,
                p->c, p->n);
}
static void conv_ours(pc_case *p) { sf_conv2d_forward(p->plan, p->y, p->x, p->wp, NULL); }
static void conv_ref(pc_case *p) { sf_conv2d_forward_ref(p->y_ref, p->x, p->w, NULL, &p->conv); }
static void conv_dir_ours(pc_case *p) { sf_bench_conv_layer_run(&p->layer, p->dir); }
static void conv_onednn(pc_case *p) { sf_onednn_conv_run(&p->dn, p->dir); }
static void train_step(pc_case *p) {
    sf_model_forward(p->model, p->x, p->batch, true);
    sf_model_loss_backward(p->model, p->labels, NULL);
    sf_opt_step(p->opt);
}

// oneDNN's engine and stream, created for the first oneDNN case (after the ISA limit is set).
static dnnl_engine_t g_dnnl_eng;
static dnnl_stream_t g_dnnl_stream;

static void conv_onednn_setup(pc_case *p) {
    const sf_conv2d_shape *s = &p->conv;
    sf_bench_conv_layer_create(&p->layer, s, p->x_plain, sf_vb(), sf_vb(), SF_CONV_AUTO, p->bf16);
    if (p->layer.bf16 != p->bf16) sf_die("perf-check: %s: no bf16 plan for this layer here", p->key);
    if (!g_dnnl_eng) {
        SF_DNNL_CHECK(dnnl_engine_create(&g_dnnl_eng, dnnl_cpu, 0));
        SF_DNNL_CHECK(dnnl_stream_create(&g_dnnl_stream, g_dnnl_eng, dnnl_stream_default_flags));
    }
    sf_onednn_conv_create(&p->dn, g_dnnl_eng, g_dnnl_stream, s, p->bf16 ? dnnl_bf16 : dnnl_f32);
    p->flops = 2.0 * s->n * s->co * s->oh * s->ow * s->ci * s->kh * s->kw;
}

// A seed model and its AdamW (amsgrad, as `train` runs it) on a fixed synthetic batch.
static void train_setup(pc_case *p) {
    sf_model_config mc = {.arch = p->arch, .n_classes = 42, .in_h = p->size, .in_w = p->size,
                          .max_batch = p->batch, .deterministic = false, .seed = 1};
    char err[512];
    p->model = sf_model_create(&mc, err, sizeof err);
    if (!p->model) sf_die("perf-check: %s", err);
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    oc.amsgrad = true;
    p->opt = sf_opt_create(&oc, sf_model_param(p->model, 0), sf_model_n_params(p->model));
    p->x = sf_alloc_uniform((size_t)p->batch * 3 * p->size * p->size, -2.0f, 2.0f, 9);
    p->labels = sf_malloc((size_t)p->batch * sizeof *p->labels);
    for (int i = 0; i < p->batch; i++) p->labels[i] = (i * 7) % 42;
    p->flops = 3.0 * sf_model_flops_per_image(p->model) * p->batch;
}

static void case_setup(pc_case *p) {
    if (p->kind == PC_GEMM) {
        p->a = sf_alloc_uniform((size_t)p->m * p->k, -1.0f, 1.0f, 10);
        p->b = sf_alloc_uniform((size_t)p->k * p->n, -1.0f, 1.0f, 11);
        p->c = sf_alloc_uniform((size_t)p->m * p->n, 0.0f, 0.0f, 12);
        p->flops = 2.0 * p->m * p->n * p->k;
    } else if (p->kind == PC_CONV_ONEDNN) {
        conv_onednn_setup(p);
    } else if (p->kind == PC_TRAIN) {
        train_setup(p);
    } else {
        const sf_conv2d_shape *s = &p->conv;
        // The blocked layout of the fast path; the reference reads the same floats as plain NCHW, which
        // costs it nothing and leaves both doing the same arithmetic.
        size_t xn = sf_blocked_floats(s->n, s->ci, s->ih, s->iw, sf_vb());
        size_t yn = sf_blocked_floats(s->n, s->co, s->oh, s->ow, sf_vb());
        p->x = sf_alloc_uniform(xn, -1.0f, 1.0f, 13);
        p->w = sf_alloc_uniform((size_t)s->co * s->ci * s->kh * s->kw, -0.1f, 0.1f, 14);
        p->y = sf_alloc_uniform(yn, 0.0f, 0.0f, 15);
        p->y_ref = sf_alloc_uniform((size_t)s->n * s->co * s->oh * s->ow, 0.0f, 0.0f, 16);
        p->plan = sf_conv2d_plan_create(s, false, true);
        p->wp = sf_aligned_alloc(sf_conv2d_packed_weights_floats(p->plan) * sizeof(float));
        sf_conv2d_pack_weights(p->plan, p->wp, p->w);
        p->flops = 2.0 * s->n * s->co * s->oh * s->ow * s->ci * s->kh * s->kw;
    }
}

static void case_teardown(pc_case *p) {
    float *bufs[] = {p->a, p->b, p->c, p->x, p->w, p->wp, p->y, p->y_ref};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) sf_free_aligned(bufs[i]);
    if (p->plan) sf_conv2d_plan_destroy(p->plan);
    if (p->kind == PC_CONV_ONEDNN) {
        sf_bench_conv_layer_destroy(&p->layer);
        sf_onednn_conv_destroy(&p->dn);
    }
    if (p->opt) sf_opt_free(p->opt);
    if (p->model) sf_model_free(p->model);
    free(p->labels);
}

// On one thread the clock is the thread's CPU time: on a host with more runnable threads than cores, wall
// time mostly measures how long the scheduler kept us waiting. With more threads, wall time.
static int g_cpu_clock;

static double now(void) {
    if (!g_cpu_clock) return sf_now();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Seconds per call over `inner` back-to-back calls.
static double time_batch(void (*fn)(pc_case *), pc_case *p, int inner) {
    double t0 = now();
    for (int i = 0; i < inner; i++) fn(p);
    return (now() - t0) / inner;
}

// The FMA peak probe of cpu.h, timed by the same clock as the GEMM: a ~20 ms burst.
static double peak_gflops(void) {
    sf_isa isa = sf_isa_active();
    long iters = 1000;
    for (;;) {
        double t0 = now(), flops = sf_fma_probe_burst(isa, iters), dt = now() - t0;
        if (dt > 0.02 || iters > (1L << 30)) return flops / dt * 1e-9;
        iters *= 2;
    }
}

static int calibrate(void (*fn)(pc_case *), pc_case *p, double target) {
    fn(p); // warm-up: page faults, thread pool, packing buffers
    double t = time_batch(fn, p, 1);
    return t >= target ? 1 : (int)(target / (t > 1e-7 ? t : 1e-7)) + 1;
}

// The median paired ratio over repetitions that fit in `seconds` (at least 5).
static double measure(pc_case *p, double seconds, int *reps_out, double *gflops_out) {
    double ratio[MAX_REPS], gf[MAX_REPS];
    int inner_ours = calibrate(p->ours, p, 0.01);
    int inner_yard = p->yard ? calibrate(p->yard, p, 0.01) : 0;
    double t_end = sf_now() + seconds; // the budget is wall time
    int reps = 0;
    while (reps < MAX_REPS && (reps < 5 || sf_now() < t_end)) {
        double t_ours, t_yard = 0, peak = 0;
        // Alternate who goes first so that neither always inherits the other's cache and clock state.
        if (reps & 1) {
            if (p->yard) t_yard = time_batch(p->yard, p, inner_yard);
            else peak = peak_gflops();
            t_ours = time_batch(p->ours, p, inner_ours);
        } else {
            t_ours = time_batch(p->ours, p, inner_ours);
            if (p->yard) t_yard = time_batch(p->yard, p, inner_yard);
            else peak = peak_gflops();
        }
        gf[reps] = p->flops / t_ours * 1e-9;
        ratio[reps] = p->yard ? t_yard / t_ours : gf[reps] / peak;
        reps++;
    }
    *reps_out = reps;
    *gflops_out = median(gf, reps);
    return median(ratio, reps);
}

static void record(const char *path, const pc_case *cases, const double *ratios, int n, const sf_opts *o) {
    sf_profile p;
    char err[512];
    if (access(path, F_OK) == 0) {
        if (sf_profile_load_file(&p, path, err, sizeof err)) sf_die("perf-check --record: %s", err);
    } else {
        const sf_cpu_info *c = sf_cpu();
        sf_profile_init(&p);
        snprintf(p.vendor, sizeof p.vendor, "%s", c->vendor);
        snprintf(p.brand, sizeof p.brand, "%s", c->name);
        p.family = c->family, p.model = c->model;
    }
    if (sf_opt_given(o, "margin")) p.margin = sf_opt_float(o, "margin");
    int written = 0;
    for (int i = 0; i < n; i++) {
        if (ratios[i] <= 0) continue;  // not run (--case) or skipped
        if (sf_profile_baseline_set(&p, cases[i].key, ratios[i]))
            sf_die("perf-check --record: cannot add baseline %s", cases[i].key);
        written++;
    }
    FILE *f = sf_fopen_check(path, "w");
    sf_profile_write(f, &p);
    fclose(f);
    printf("perf-check: wrote %d baselines to %s\n", written, path);
}

int sf_cmd_perf_check(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, NSPEC, argc, argv, "springfield perf-check [options]");
    if (rc >= 0) return rc;
    fix_openblas_env();
    char dnnl_isa[128];
    const bool bf16 = sf_bf16_supported();
    sf_onednn_limit_isa(sf_isa_active(), bf16, dnnl_isa, sizeof dnnl_isa);  // before any other oneDNN call
    const int threads = (int)sf_opt_int(&o, "threads");
    sf_bench_place_threads(threads);
    sf_openblas()->set_num_threads(threads);
    g_cpu_clock = threads == 1;
    const sf_profile *prof = sf_profile_active();
    const sf_cpu_info *cpu = sf_cpu();
    const char *isa = sf_isa_name(sf_isa_active());
    int mr, nr, mc, kc, nc;
    const char *kern = "?";
    sf_sgemm_get_blocking(&mr, &nr, &mc, &kc, &nc, &kern);
    char name[160];
    sf_profile_name(name, sizeof name, cpu, 1);
    printf("perf-check: %s (%s family %d model %d), ISA %s, %d thread%s\n", cpu->name, cpu->vendor, cpu->family,
           cpu->model, isa, threads, threads == 1 ? "" : "s");
    printf("perf-check: profile %s%s%s%s; sgemm %s MC %d KC %d NC %d; OpenBLAS %s, OPENBLAS_CORETYPE=%s\n", prof->name,
           prof->path[0] ? " from " : " (no profile file for ", prof->path[0] ? prof->path : name,
           prof->path[0] ? "" : ")", kern, mc, kc, nc, sf_openblas()->get_corename(),
           getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)");
    const dnnl_version_t *dv = dnnl_version();
    printf("perf-check: oneDNN %d.%d.%d, max ISA %s, %d thread%s (OpenMP, shared with ours)\n", dv->major,
           dv->minor, dv->patch, dnnl_isa, omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s");
    fflush(stdout);

    const sf_conv2d_shape mid = sf_conv2d_shape_make(4, 64, 28, 28, 64, 3, 3, 1, 1);
    const sf_conv2d_shape first = sf_conv2d_shape_make(4, 3, 96, 96, 32, 7, 7, 2, 0);
    pc_case cases[] = {
        {.base = "sgemm_vs_openblas_512", .what = "sgemm / OpenBLAS, 512^3", .kind = PC_GEMM, .ours = gemm_ours,
         .yard = gemm_blas, .m = 512, .n = 512, .k = 512},
        {.base = "sgemm_vs_openblas_conv", .what = "sgemm / OpenBLAS, conv 3x3 as GEMM", .kind = PC_GEMM,
         .ours = gemm_ours, .yard = gemm_blas, .m = 128, .n = 784, .k = 1152},
        {.base = "sgemm_vs_peak_512", .what = "sgemm / FMA peak, 512^3", .kind = PC_GEMM, .ours = gemm_ours,
         .yard = NULL, .m = 512, .n = 512, .k = 512},
        {.base = "conv_fwd_vs_ref_64x28", .what = "conv fwd / reference, 3x3 64->64 28x28", .kind = PC_CONV_REF,
         .ours = conv_ours, .yard = conv_ref, .conv = sf_conv2d_shape_make(1, 64, 28, 28, 64, 3, 3, 1, 1)},
        {.base = "conv_fwd_vs_onednn_64x28", .what = "conv fwd / oneDNN, 3x3 64->64 28x28 b4", .kind = PC_CONV_ONEDNN,
         .ours = conv_dir_ours, .yard = conv_onednn, .conv = mid, .dir = 0},
        {.base = "conv_bwd_data_vs_onednn_64x28", .what = "conv bwd data / oneDNN, 3x3 64->64 28x28 b4",
         .kind = PC_CONV_ONEDNN, .ours = conv_dir_ours, .yard = conv_onednn, .conv = mid, .dir = 1},
        {.base = "conv_bwd_weights_vs_onednn_64x28", .what = "conv bwd weights / oneDNN, 3x3 64->64 28x28 b4",
         .kind = PC_CONV_ONEDNN, .ours = conv_dir_ours, .yard = conv_onednn, .conv = mid, .dir = 2},
        {.base = "conv_fwd_vs_onednn_3x96", .what = "conv fwd / oneDNN, 7x7/2 3->32 96x96 b4 NCHW in",
         .kind = PC_CONV_ONEDNN, .ours = conv_dir_ours, .yard = conv_onednn, .conv = first, .x_plain = true,
         .dir = 0},
        {.base = "conv_bwd_weights_vs_onednn_3x96", .what = "conv bwd weights / oneDNN, 7x7/2 3->32 96x96 b4 NCHW in",
         .kind = PC_CONV_ONEDNN, .ours = conv_dir_ours, .yard = conv_onednn, .conv = first, .x_plain = true,
         .dir = 2},
        {.base = "conv_fwd_bf16_vs_onednn_64x28", .what = "bf16 conv fwd / oneDNN bf16, 3x3 64->64 28x28 b4",
         .kind = PC_CONV_ONEDNN, .ours = conv_dir_ours, .yard = conv_onednn, .conv = mid, .dir = 0, .bf16 = true},
        {.base = "conv_bwd_data_bf16_vs_onednn_64x28", .what = "bf16 conv bwd data / oneDNN bf16, 3x3 64->64 28x28 b4",
         .kind = PC_CONV_ONEDNN, .ours = conv_dir_ours, .yard = conv_onednn, .conv = mid, .dir = 1, .bf16 = true},
        {.base = "conv_bwd_weights_bf16_vs_onednn_64x28",
         .what = "bf16 conv bwd weights / oneDNN bf16, 3x3 64->64 28x28 b4", .kind = PC_CONV_ONEDNN,
         .ours = conv_dir_ours, .yard = conv_onednn, .conv = mid, .dir = 2, .bf16 = true},
        {.base = "train_step_vs_peak_simple_s96_b16", .what = "train step / FMA peak, simple 96px batch 16",
         .kind = PC_TRAIN, .ours = train_step, .yard = NULL, .arch = "simple", .size = 96, .batch = 16},
    };
    const int n_cases = (int)(sizeof cases / sizeof cases[0]);
    double ratios[sizeof cases / sizeof cases[0]] = {0};
    const char *filter = sf_opt_str(&o, "case");
    const double seconds = sf_opt_float(&o, "seconds");
    const int retries = (int)sf_opt_int(&o, "retries");
    int failed = 0, compared = 0;
    printf("\n%-44s %8s %9s %9s %7s %7s  %s\n", "case", "ratio", "GFLOP/s", "baseline", "margin", "floor", "verdict");
    for (int i = 0; i < n_cases; i++) {
        pc_case *p = &cases[i];
        snprintf(p->key, sizeof p->key, "%s_%s", p->base, isa);
        if (filter && !strstr(p->key, filter)) continue;
        if (p->bf16 && !bf16) {
            printf("%-44s  skipped: no AVX512_BF16 on this CPU or ISA path   [%s]\n", p->key, p->what);
            continue;
        }
        case_setup(p);
        if (p->kind == PC_CONV_ONEDNN && !p->dn.ok) {
            printf("%-44s  skipped: oneDNN has no implementation of this shape   [%s]\n", p->key, p->what);
            case_teardown(p);
            continue;
        }
        double margin = prof->margin;
        const sf_profile_baseline *b = sf_profile_baseline_get(prof, p->key, &margin);
        double floor_ = b ? b->ratio * (1.0 - margin) : 0;
        int reps, attempts = 0;
        double gflops, best = -1, best_gf = 0;
        do {
            double r = measure(p, seconds, &reps, &gflops);
            if (r > best) best = r, best_gf = gflops;
            attempts++;
        } while (b && best < floor_ && attempts <= retries);
        case_teardown(p);
        ratios[i] = best;
        const char *verdict = !b ? "no baseline" : best >= floor_ ? "ok" : "FAIL";
        char bs[16] = "-", ms[16] = "-", fs[16] = "-", note[48] = "";
        if (b) {
            snprintf(bs, sizeof bs, "%.3f", b->ratio);
            snprintf(ms, sizeof ms, "%.0f%%", 100 * margin);
            snprintf(fs, sizeof fs, "%.3f", floor_);
            compared++;
            failed += best < floor_;
        }
        if (attempts > 1) snprintf(note, sizeof note, " (best of %d attempts)", attempts);
        printf("%-44s %8.3f %9.1f %9s %7s %7s  %s%s   [%s, median of %d]\n", p->key, best, best_gf, bs, ms, fs,
               verdict, note, p->what, reps);
        fflush(stdout);
    }
    if (g_dnnl_eng) {
        dnnl_stream_destroy(g_dnnl_stream);
        dnnl_engine_destroy(g_dnnl_eng);
    }
    if (sf_opt_str(&o, "record")) record(sf_opt_str(&o, "record"), cases, ratios, n_cases, &o);
    if (!prof->path[0]) {
        printf("\nperf-check: no profile for this CPU (expected profiles/%s.profile): nothing to compare, passing.\n"
               "perf-check: to create one: springfield tune && springfield perf-check --record profiles/%s.profile\n",
               name, name);
        return 0;
    }
    if (compared == 0)
        printf("\nperf-check: the profile has no baselines for the cases run on ISA %s: nothing compared.\n", isa);
    else printf("\nperf-check: %d of %d compared cases %s\n", compared - failed, compared,
                failed ? "held their baseline; REGRESSION" : "held their baseline");
    return failed ? 1 : 0;
}
