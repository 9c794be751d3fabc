// bench_gemm.c: `springfield bench gemm [--json] [--threads N] [--reps N] [--case SUBSTR]`.
//
// sf_sgemm against OpenBLAS cblas_sgemm in the same process, on square and network-shaped problems,
// with 1 and 2 threads (or --threads N). Repetitions of the two libraries are interleaved (ABAB...) so
// that the noise of a shared machine hits both; each figure is the median over repetitions of a batch of
// calls lasting >= ~20 ms. beta = 0 everywhere (the forward case; C is overwritten).
//
// OpenBLAS reads OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE once, when it is loaded. For the AVX-512 path it
// must pick its own best kernel (both unset); for SPRINGFIELD_ISA=avx2 the fair opponent is its Haswell
// kernel (OPENBLAS_CORETYPE=Haswell). When the environment says otherwise the bench re-executes itself
// with the environment fixed.
#include "bench/bench.h"
#include "bench/openblas_dl.h"
#include "bench/openblas_env.h"
#include "springfield.h"
#include "kernels/sgemm_tuning.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef struct {
    const char *name;  // what the shape is in a network
    bool ta, tb;
    int m, n, k;
} gemm_case;

static const gemm_case cases[] = {
    {"square", false, false, 256, 256, 256},
    {"square", false, false, 512, 512, 512},
    {"square", false, false, 1024, 1024, 1024},
    {"square", false, false, 2048, 2048, 2048},
    {"fc_fwd_Y=XWt", false, true, 64, 2048, 4096},
    {"fc_bwd_dX=dYW", false, false, 64, 4096, 2048},
    {"fc_bwd_dW=dYtX", true, false, 2048, 4096, 64},
    {"conv3x3_im2col", false, false, 256, 9216, 2304},
    {"conv_stem_im2col", false, false, 32, 11881, 147},
};
#define N_CASES (int)(sizeof cases / sizeof cases[0])

static void reexec_with(const char *core, int stage) {
    char st[8];
    snprintf(st, sizeof st, "%d", stage);
    sf_bench_reexec_openblas(core, SF_BENCH_GEMM_REEXEC, st, "bench gemm");
}

// Stage 0 -> 1: the environment the comparison asks for (AVX2 path: Haswell; otherwise both unset, so
// OpenBLAS detects the CPU itself). Stage 1 -> 2: an OpenBLAS too old to know this CPU falls back to a
// pre-AVX core (0.3.21 picks Prescott on Emerald Rapids); on the AVX-512 path that would be no opponent
// at all, so it gets its SkylakeX kernel instead, and the header line says so.
static void fix_openblas_env(void) {
    const char *st = getenv(SF_BENCH_GEMM_REEXEC);
    const int stage = st ? atoi(st) : 0;
    const bool avx2 = sf_isa_active() == SF_ISA_AVX2;
    const char *core = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
    bool ok = avx2 ? (core && !strcmp(core, "Haswell") && !l2) : (!core && !l2);
    if (!ok && stage == 0) reexec_with(avx2 ? "Haswell" : NULL, 1);
    const char *name = sf_openblas()->get_corename();
    bool avx512_core = strstr(name, "SkylakeX") || strstr(name, "Cooperlake") || strstr(name, "SapphireRapids");
    if (sf_isa_active() == SF_ISA_AVX512 && !avx512_core && stage < 2) {
        setenv("SF_BENCH_GEMM_AUTODETECTED", name, 1);
        reexec_with("SkylakeX", 2);
    }
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

typedef struct {
    const gemm_case *c;
    const float *a, *b;
    float *c_out;
} problem;

static void run_ours(const problem *p) {
    const gemm_case *g = p->c;
    sf_sgemm(g->ta, g->tb, g->m, g->n, g->k, 1.0f, p->a, g->ta ? g->m : g->k, p->b, g->tb ? g->k : g->n, 0.0f,
             p->c_out, g->n);
}

static void run_openblas(const problem *p) {
    const gemm_case *g = p->c;
    sf_openblas()->sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans, g->m, g->n,
                g->k, 1.0f, p->a, g->ta ? g->m : g->k, p->b, g->tb ? g->k : g->n, 0.0f, p->c_out, g->n);
}

// Sleep past the spin-wait of the thread pools that just ran (OpenBLAS: 2^28 cycles by default).
static void settle(void) { usleep(150000); }

// Seconds per call of `inner` back-to-back calls.
static double time_batch(void (*fn)(const problem *), const problem *p, int inner) {
    double t0 = sf_now();
    for (int i = 0; i < inner; i++) fn(p);
    return (sf_now() - t0) / inner;
}

int sf_bench_gemm(int argc, char **argv) {
    bool json = false;
    bool best = false;  // report the fastest repetition instead of the median (for tuning on a busy host)
    int only_threads = 0, reps = 9;
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) only_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--case") && i + 1 < argc) filter = argv[++i];
        else if (!strcmp(argv[i], "--best")) best = true;
        else {
            fprintf(stderr, "usage: springfield bench gemm [--json] [--threads N] [--reps N] [--case SUBSTR] [--best]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    fix_openblas_env();

    int mr, nr, mc, kc, nc;
    const char *kern;
    sf_sgemm_get_blocking(&mr, &nr, &mc, &kc, &nc, &kern);
    const char *core = getenv("OPENBLAS_CORETYPE");
    // The probe is a capability: on a shared host noise only lowers it, so keep the best of three.
    double peak1 = sf_peak_gflops();
    for (int i = 0; i < 2; i++) {
        double p = sf_peak_gflops_threads(1);
        if (p > peak1) peak1 = p;
    }
    if (json)
        printf("{\"suite\":\"gemm\",\"isa\":\"%s\",\"kernel\":\"%s\",\"mr\":%d,\"nr\":%d,\"mc\":%d,\"kc\":%d,\"nc\":%d,"
               "\"peak1_gflops\":%.1f,\"openblas_core\":\"%s\",\"openblas_config\":\"%s\",\"openblas_coretype_env\":\"%s\","
               "\"openblas_autodetected\":\"%s\"}\n",
               sf_isa_name(sf_isa_active()), kern, mr, nr, mc, kc, nc, peak1, sf_openblas()->get_corename(),
               sf_openblas()->get_config(), core ? core : "", getenv("SF_BENCH_GEMM_AUTODETECTED") ? getenv("SF_BENCH_GEMM_AUTODETECTED") : "");
    else
        printf("gemm: ours %s (%s, MR %d NR %d MC %d KC %d NC %d), single-thread peak %.1f GFLOP/s\n"
               "gemm: OpenBLAS core %s, config \"%s\", OPENBLAS_CORETYPE=%s\n"
               "gemm: %s of %d interleaved repetitions, beta = 0; ratio = ours / OpenBLAS\n",
               sf_isa_name(sf_isa_active()), kern, mr, nr, mc, kc, nc, peak1, sf_openblas()->get_corename(),
               sf_openblas()->get_config(), core ? core : "(unset)", best ? "fastest" : "median", reps);
    const char *wait = getenv("OMP_WAIT_POLICY");
    if (!json && (!wait || strcasecmp(wait, "passive")) && only_threads != 1)
        printf("gemm: note: OMP_WAIT_POLICY=%s; on a host shared with other busy processes libgomp's spinning "
               "workers get descheduled and multi-threaded calls stall at the join (OMP_WAIT_POLICY=passive avoids it)\n",
               wait ? wait : "(unset)");
    const char *auto_core = getenv("SF_BENCH_GEMM_AUTODETECTED");
    if (auto_core && !json)
        printf("gemm: note: OpenBLAS autodetection picked %s (no AVX-512 kernel) on this CPU, so the AVX-512 path is "
               "compared against OPENBLAS_CORETYPE=SkylakeX\n", auto_core);

    // Buffers for the largest case, filled once.
    size_t max_a = 0, max_b = 0, max_c = 0;
    for (int i = 0; i < N_CASES; i++) {
        size_t sa = (size_t)cases[i].m * cases[i].k, sb = (size_t)cases[i].k * cases[i].n, sc = (size_t)cases[i].m * cases[i].n;
        if (sa > max_a) max_a = sa;
        if (sb > max_b) max_b = sb;
        if (sc > max_c) max_c = sc;
    }
    float *a = sf_aligned_alloc(max_a * sizeof(float)), *b = sf_aligned_alloc(max_b * sizeof(float));
    float *c = sf_aligned_alloc(max_c * sizeof(float));
    sf_rng r;
    sf_rng_seed(&r, 1, 1);
    for (size_t i = 0; i < max_a; i++) a[i] = sf_rng_uniform_range(&r, -1.0f, 1.0f);
    for (size_t i = 0; i < max_b; i++) b[i] = sf_rng_uniform_range(&r, -1.0f, 1.0f);
    memset(c, 0, max_c * sizeof(float));

    const int thread_list[2] = {1, 2};
    double *t_ours = sf_malloc((size_t)reps * sizeof(double)), *t_ref = sf_malloc((size_t)reps * sizeof(double));
    for (int ti = 0; ti < 2; ti++) {
        int threads = only_threads > 0 ? only_threads : thread_list[ti];
        if (only_threads > 0 && ti > 0) break;
        sf_bench_place_threads(threads);
        sf_openblas()->set_num_threads(threads);
        const double peak = peak1 * threads;
        for (int ci = 0; ci < N_CASES; ci++) {
            const gemm_case *g = &cases[ci];
            char shape[96];
            snprintf(shape, sizeof shape, "%s_m%dn%dk%d_%c%c", g->name, g->m, g->n, g->k, g->ta ? 'T' : 'N',
                     g->tb ? 'T' : 'N');
            if (filter && !strstr(shape, filter)) continue;
            problem p = {g, a, b, c};
            const double flops = 2.0 * g->m * g->n * g->k;
            // Warm-up (buffers, page faults, thread pools) and a batch size worth ~20 ms.
            run_ours(&p);
            run_openblas(&p);
            double t1 = time_batch(run_ours, &p, 1);
            int inner = t1 > 0.02 ? 1 : (int)(0.02 / (t1 > 1e-6 ? t1 : 1e-6)) + 1;
            for (int rep = 0; rep < reps; rep++) {
                // Alternate who goes first. With threads, each library's idle workers keep spinning for a
                // while after its last call (OpenBLAS ~0.1 s, libgomp less) and would steal a core from
                // the other's workers on a 2-core machine, so switching libraries waits them out.
                const bool ref_first = rep & 1;
                for (int half = 0; half < 2; half++) {
                    if (threads > 1) settle();
                    if ((half == 0) == ref_first) t_ref[rep] = time_batch(run_openblas, &p, inner);
                    else t_ours[rep] = time_batch(run_ours, &p, inner);
                }
            }
            qsort(t_ours, (size_t)reps, sizeof(double), cmp_double);
            qsort(t_ref, (size_t)reps, sizeof(double), cmp_double);
            const int pick = best ? 0 : reps / 2;
            double g_ours = flops / t_ours[pick] * 1e-9, g_ref = flops / t_ref[pick] * 1e-9;
            if (json)
                printf("{\"suite\":\"gemm\",\"case\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"trans_a\":%d,\"trans_b\":%d,"
                       "\"threads\":%d,\"isa\":\"%s\",\"gflops\":%.2f,\"peak_pct\":%.1f,\"ref\":\"openblas-%s\","
                       "\"ref_gflops\":%.2f,\"ratio\":%.3f}\n",
                       shape, g->m, g->n, g->k, g->ta, g->tb, threads, sf_isa_name(sf_isa_active()), g_ours,
                       100.0 * g_ours / peak, sf_openblas()->get_corename(), g_ref, g_ours / g_ref);
            else
                printf("%-40s threads %d  ours %7.1f GFLOP/s %5.1f%% of peak  OpenBLAS %7.1f GFLOP/s  ratio %.2f\n",
                       shape, threads, g_ours, 100.0 * g_ours / peak, g_ref, g_ours / g_ref);
            fflush(stdout);
        }
    }
    free(t_ours);
    free(t_ref);
    sf_free_aligned(a);
    sf_free_aligned(b);
    sf_free_aligned(c);
    return 0;
}
