// bench_train.c: `springfield bench train`: full training steps (forward, cross-entropy, backward,
// AdamW with amsgrad) and inference of one model, against PyTorch running the same architecture,
// batch and thread count in the same run (bench/bench_train_torch.py, a child process).
//
// Reported: images/s and GFLOP/s of a training step on synthetic tensors (3 x the forward FLOPs: the
// backward costs about two forwards), % of the measured fp32 FMA peak x threads (bf16 convolutions'
// dot products run at up to twice it, so --precision bf16 can pass 100%), the same through the real
// data loader when --data is given, inference images/s, peak RSS, then PyTorch's figures and the ratio.
// Each figure is the median over --steps timed steps after --warmup untimed ones; with --rounds > 1
// springfield and PyTorch alternate and the medians of the rounds are quoted (the CPU is shared).
//
// Placement: --numa picks the placement as `train` does (cli/placement.h; a model replica per NUMA node
// under auto). --scaling instead measures training img/s for --numa off and auto at 1 thread and at
// --threads threads (0: one per core), the four configurations interleaved round by round so that a
// busy machine disturbs them alike, and reports each mode's scaling from 1 thread to N (the issue's
// target: at least 1.9x from 1 to 2 threads for `best` at 224 px).
#include "bench/bench.h"
#include "cli/options.h"
#include "cli/placement.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "kernels/cpu.h"
#include "nn/adamw.h"
#include "nn/model.h"
#include "nn/replica.h"
#include "util/rng.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const sf_opt_spec spec[] = {
    {"model", SF_OPT_CHOICE, "simple", "simple|best|resnet18|resnet50", 0, 0, "architecture"},
    {"size", SF_OPT_INT, "96", NULL, 16, 1024, "input size (pixels)"},
    {"batch", SF_OPT_INT, "64", NULL, 1, 4096, "batch size"},
    {"threads", SF_OPT_INT, "0", NULL, 0, 1024, "threads for both libraries (0: all cores)"},
    {"steps", SF_OPT_INT, "10", NULL, 1, 100000, "timed steps per measurement"},
    {"warmup", SF_OPT_INT, "2", NULL, 0, 1000, "untimed steps first"},
    {"rounds", SF_OPT_INT, "1", NULL, 1, 100, "alternations of springfield and PyTorch"},
    {"data", SF_OPT_STR, NULL, NULL, 0, 0, "also time training through the real loader on this folder"},
    {"loader-threads", SF_OPT_INT, "2", NULL, 0, 64, "decoding threads of the loader (--data)"},
    {"cache", SF_OPT_FLAG, "off", NULL, 0, 0, "--data: keep decoded images in memory (as train --cache), filled by one untimed pass first"},
    {"deterministic", SF_OPT_FLAG, "off", NULL, 0, 0, "fixed-order reductions"},
    {"precision", SF_OPT_CHOICE, "fp32", "fp32|bf16", 0, 0,
     "as train --precision: bf16 convolutions where the CPU has AVX512_BF16"},
    {"torch", SF_OPT_FLAG, "on", NULL, 0, 0, "run the PyTorch comparison"},
    {"json", SF_OPT_FLAG, "off", NULL, 0, 0, "print JSON lines"},
    {"numa", SF_OPT_CHOICE, "auto", "auto|off|interleave", 0, 0, "placement, as for train"},
    {"layers", SF_OPT_FLAG, "off", NULL, 0, 0,
     "then where a step's time goes: forward and backward ms per layer, and the optimizer step"},
    {"scaling", SF_OPT_FLAG, "off", NULL, 0, 0,
     "numa off and auto at 1 thread and at --threads threads, interleaved --rounds times: img/s and scaling"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

typedef struct {
    double step_s, infer_s, rss_mib;
} sf_result;

// Median seconds per training step and per inference batch on fixed synthetic tensors.
static void run_ours(sf_result *r, sf_replicas *m, sf_optimizer *o, const float *x, const int64_t *y, int batch,
                     int steps, int warmup) {
    double *t = sf_malloc((size_t)steps * sizeof *t);
    for (int i = 0; i < warmup + steps; i++) {
        double t0 = sf_now();
        sf_replicas_forward(m, x, batch, true);
        sf_replicas_loss_backward(m, y);
        sf_opt_step(o);
        sf_replicas_refresh(m);
        if (i >= warmup) t[i - warmup] = sf_now() - t0;
    }
    r->step_s = median(t, steps);
    for (int i = 0; i < warmup + steps; i++) {
        double t0 = sf_now();
        sf_replicas_forward(m, x, batch, false);
        if (i >= warmup) t[i - warmup] = sf_now() - t0;
    }
    r->infer_s = median(t, steps);
    r->rss_mib = peak_rss_mib();
    free(t);
}

// --layers: forward and backward milliseconds per step of each layer of replica 0 (with one NUMA group,
// the only one), the optimizer step (with the replicas' refresh) and the rest (loss, gradient reduction),
// summed over `steps` steps and shown per step. The timers add two clock reads per layer and pass.
static void print_layers(sf_replicas *m, sf_optimizer *o, const float *x, const int64_t *y, int batch, int steps,
                         const char *shape, int json) {
    sf_graph *g = sf_model_graph(sf_replicas_get(m, 0));
    int L = g->n_layers;
    double *ls = sf_calloc((size_t)2 * L, sizeof *ls), opt_s = 0.0, total = 0.0, layers = 0.0;
    g->layer_s = ls;
    for (int i = 0; i < steps; i++) {
        double t0 = sf_now();
        sf_replicas_forward(m, x, batch, true);
        sf_replicas_loss_backward(m, y);
        double t1 = sf_now();
        sf_opt_step(o);
        sf_replicas_refresh(m);
        double t2 = sf_now();
        opt_s += t2 - t1;
        total += t2 - t0;
    }
    g->layer_s = NULL;
    double ms = 1e3 / steps;
    if (!json) printf("train %-22s %-16s %9s %9s %6s\n", shape, "layer", "fwd ms", "bwd ms", "share");
    for (int i = 0; i < L; i++) {
        const sf_layer *l = &g->layers[i];
        layers += ls[i] + ls[L + i];
        if (json)
            printf("{\"suite\":\"train_layers\",\"case\":\"%s\",\"layer\":\"%s\",\"fwd_ms\":%.3f,\"bwd_ms\":%.3f}\n",
                   shape, l->name, ls[i] * ms, ls[L + i] * ms);
        else
            printf("train %-22s %-16s %9.2f %9.2f %5.1f%%\n", shape, l->name, ls[i] * ms, ls[L + i] * ms,
                   100.0 * (ls[i] + ls[L + i]) / total);
    }
    double rest = total - layers - opt_s;
    if (json)
        printf("{\"suite\":\"train_layers\",\"case\":\"%s\",\"optimizer_ms\":%.3f,\"other_ms\":%.3f,"
               "\"step_ms\":%.3f}\n", shape, opt_s * ms, rest * ms, total * ms);
    else
        printf("train %-22s %-16s %9.2f %9s %5.1f%%\n"
               "train %-22s %-16s %9.2f %9s %5.1f%%\n"
               "train %-22s %-16s %9.2f %9s  (mean of %d steps)\n",
               shape, "optimizer", opt_s * ms, "", 100.0 * opt_s / total, shape, "other", rest * ms, "",
               100.0 * rest / total, shape, "step", total * ms, "", steps);
    free(ls);
}

// Median seconds per training step fed by the real loader (decode, augment, batch) on dir; -1 on error.
static double run_loader(sf_replicas *m, sf_optimizer *o, const char *dir, int size, int batch, int threads,
                         int cache, int steps, int warmup) {
    sf_dataset ds;
    char err[1024];
    if (sf_dataset_scan(&ds, dir, 1, err, sizeof err)) {
        sf_warn("bench train: %s", err);
        return -1;
    }
    int *idx = sf_malloc((size_t)ds.n * sizeof *idx);
    for (int i = 0; i < ds.n; i++) idx[i] = i;
    sf_loader_cfg lc = sf_loader_defaults(size, batch);
    lc.threads = threads;
    lc.quiet = 1;
    lc.cache = cache;
    sf_loader *ld = sf_loader_create(&ds, idx, ds.n, &lc);
    double *t = sf_malloc((size_t)steps * sizeof *t);
    int done = 0, epoch = 0;
    if (cache) {  // one pass of loading alone fills the cache; the timed steps then run on cached pixels
        sf_loader_start_epoch(ld, epoch++);
        sf_batch b;
        while (sf_loader_next(ld, &b)) {
        }
    }
    sf_loader_start_epoch(ld, epoch);
    double t0 = sf_now();
    while (done < warmup + steps) {
        sf_batch b;
        if (!sf_loader_next(ld, &b)) {
            sf_loader_start_epoch(ld, ++epoch);
            continue;
        }
        if (b.n != batch) continue;  // the short last batch of an epoch would re-plan the model
        sf_replicas_forward(m, b.x, b.n, true);
        sf_replicas_loss_backward(m, b.y);
        sf_opt_step(o);
        sf_replicas_refresh(m);
        double t1 = sf_now();
        if (done >= warmup) t[done - warmup] = t1 - t0;
        t0 = t1;
        done++;
    }
    double r = median(t, steps);
    free(t);
    free(idx);
    sf_loader_destroy(ld);
    sf_dataset_free(&ds);
    return r;
}

// The PyTorch script next to this binary's source tree (run from the repository root, or beside build/).
static int torch_script(char *buf, size_t n) {
    if (access("bench/bench_train_torch.py", R_OK) == 0) {
        snprintf(buf, n, "bench/bench_train_torch.py");
        return 0;
    }
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return -1;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = 0;
    snprintf(buf, n, "%s/../bench/bench_train_torch.py", exe);
    return access(buf, R_OK);
}

static int run_torch(sf_result *r, const char *model, int size, int batch, int threads, int steps, int warmup) {
    char script[4200], cmd[4600];
    if (torch_script(script, sizeof script)) {
        sf_warn("bench train: bench/bench_train_torch.py not found; PyTorch comparison skipped");
        return -1;
    }
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=%d /usr/bin/python3 %s --model %s --size %d --batch %d --threads %d --steps %d "
             "--warmup %d",
             threads, script, model, size, batch, threads, steps, warmup);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[4096];
    json_t *j = NULL;
    while (fgets(line, sizeof line, p))
        if (line[0] == '{') {
            json_decref(j);
            j = json_loads(line, 0, NULL);
        }
    int st = pclose(p);
    if (!j || st != 0) {
        sf_warn("bench train: PyTorch run failed (exit %d): %s", st, cmd);
        json_decref(j);
        return -1;
    }
    r->step_s = json_real_value(json_object_get(j, "step_s"));
    r->infer_s = json_real_value(json_object_get(j, "infer_s"));
    r->rss_mib = json_real_value(json_object_get(j, "peak_rss_mib"));
    json_decref(j);
    return 0;
}

// Replicas and an AdamW (amsgrad) optimizer on the master, placed as `numa` with `threads` threads.
static sf_replicas *build(sf_optimizer **opt, const sf_model_config *mc, int threads, const char *numa,
                          char *report, size_t replen) {
    sf_placement pl;
    char err[1024];
    if (sf_placement_setup(&pl, threads, numa, mc->max_batch, err, sizeof err)) {
        fprintf(stderr, "springfield bench train: %s\n", err);
        return NULL;
    }
    // An earlier configuration of this process may have bound the threads: --numa off means unbound.
    if (pl.plan.numa == SF_NUMA_OFF) sf_topo_unbind(sf_topology_get(), pl.plan.n_threads);
    if (report) snprintf(report, replen, "%s", pl.report);
    sf_replicas *r = sf_replicas_create(mc, sf_topology_get(), &pl.plan, NULL, err, sizeof err);
    if (!r) {
        fprintf(stderr, "springfield bench train: %s\n", err);
        return NULL;
    }
    sf_model *m = sf_replicas_master(r);
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    oc.amsgrad = true;
    *opt = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
    return r;
}

// --scaling: img/s of training steps for numa off/auto x 1/N threads, interleaved over the rounds.
static int run_scaling(const sf_model_config *mc, const float *x, const int64_t *y, int threads, int steps, int warmup,
                       int rounds, int json) {
    sf_placement probe;
    char err[1024];
    if (sf_placement_setup(&probe, threads, "auto", mc->max_batch, err, sizeof err)) {
        fprintf(stderr, "springfield bench train: %s\n", err);
        return 1;
    }
    int nmax = probe.plan.n_threads, nt = nmax > 1 ? 2 : 1;
    const int tcount[2] = {1, nmax};
    const char *modes[2] = {"off", "auto"};
    double *t = sf_calloc((size_t)rounds * 4, sizeof *t);
    int replicas[4] = {0};
    for (int r = 0; r < rounds; r++)
        for (int c = 0; c < 2 * nt; c++) {
            sf_optimizer *opt;
            sf_replicas *rep = build(&opt, mc, tcount[c % nt], modes[c / nt], NULL, 0);
            if (!rep) {
                free(t);
                return 1;
            }
            replicas[c] = sf_replicas_count(rep);
            sf_result res;
            run_ours(&res, rep, opt, x, y, mc->max_batch, steps, warmup);
            t[(size_t)c * rounds + (size_t)r] = res.step_s;
            sf_opt_free(opt);
            sf_replicas_free(rep);
        }
    char shape[128];
    snprintf(shape, sizeof shape, "%s_s%d_b%d%s", mc->arch, mc->in_h, mc->max_batch, mc->bf16 ? "_bf16" : "");
    double ips[4];
    for (int c = 0; c < 2 * nt; c++) ips[c] = mc->max_batch / median(t + (size_t)c * rounds, rounds);
    for (int c = 0; c < 2 * nt; c++) {
        if (json)
            printf("{\"suite\":\"train_scaling\",\"case\":\"%s\",\"numa\":\"%s\",\"threads\":%d,\"replicas\":%d,"
                   "\"train_img_s\":%.2f,\"rounds\":%d}\n",
                   shape, modes[c / nt], tcount[c % nt], replicas[c], ips[c], rounds);
        else
            printf("train %-22s numa %-4s threads %3d  replicas %d  %8.2f img/s  (median of %d rounds)\n", shape,
                   modes[c / nt], tcount[c % nt], replicas[c], ips[c], rounds);
    }
    for (int m = 0; m < 2 && nt == 2; m++) {
        double sc = ips[m * 2 + 1] / ips[m * 2];
        if (json)
            printf("{\"suite\":\"train_scaling\",\"case\":\"%s\",\"numa\":\"%s\",\"scaling_1_to_%d\":%.3f}\n", shape,
                   modes[m], nmax, sc);
        else
            printf("train %-22s numa %-4s scaling 1 -> %d threads: %.2fx (ideal %d.00x)\n", shape, modes[m], nmax, sc,
                   nmax);
    }
    if (nt == 1) printf("train %-22s one usable core: no scaling to measure\n", shape);
    fflush(stdout);
    free(t);
    return 0;
}

int sf_bench_train(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, NSPEC, argc, argv,
                         "springfield bench train [--model M --size S --batch B --threads T --numa N --scaling --data DIR "
                         "--json]");
    if (rc >= 0) return rc;
    const char *arch = sf_opt_str(&o, "model");
    int size = (int)sf_opt_int(&o, "size"), batch = (int)sf_opt_int(&o, "batch");
    int steps = (int)sf_opt_int(&o, "steps"), warmup = (int)sf_opt_int(&o, "warmup");
    int rounds = (int)sf_opt_int(&o, "rounds"), json = sf_opt_flag(&o, "json");
    sf_model_config mc = {.arch = arch, .n_classes = 42, .in_h = size, .in_w = size, .max_batch = batch,
                          .deterministic = sf_opt_flag(&o, "deterministic"), .seed = 1,
                          .bf16 = !strcmp(sf_opt_str(&o, "precision"), "bf16")};
    size_t per = (size_t)3 * size * size;
    float *x = sf_aligned_alloc((size_t)batch * per * sizeof(float));  // x is (B,3,S,S)
    int64_t *y = sf_malloc((size_t)batch * sizeof *y);                 // y is (B)
    sf_rng rng;
    sf_rng_seed(&rng, 7, 0);
    for (size_t i = 0; i < (size_t)batch * per; i++) x[i] = sf_rng_uniform_range(&rng, -2.0f, 2.0f);
    for (int i = 0; i < batch; i++) y[i] = sf_rng_below(&rng, 42);
    if (sf_opt_flag(&o, "scaling")) {
        char err[1024];
        sf_model *probe = sf_model_create(&mc, err, sizeof err);  // a bad --model/--size fails here, once
        if (!probe) {
            fprintf(stderr, "springfield bench train: %s\n", err);
            rc = 2;
        } else {
            sf_model_free(probe);
            rc = run_scaling(&mc, x, y, (int)sf_opt_int(&o, "threads"), steps, warmup, rounds, json);
        }
        sf_free_aligned(x);
        free(y);
        return rc;
    }
    char placement[768];
    sf_optimizer *opt = NULL;
    sf_replicas *m = build(&opt, &mc, (int)sf_opt_int(&o, "threads"), sf_opt_str(&o, "numa"), placement,
                           sizeof placement);
    if (!m) {
        sf_free_aligned(x);
        free(y);
        return 2;
    }
    int threads = sf_threads();
    if (!json) printf("train %s\n", placement);
    double flops_img = sf_model_flops_per_image(sf_replicas_master(m));
    double peak = sf_peak_gflops() * threads;
    double *ours_step = sf_malloc((size_t)rounds * sizeof(double)),
           *ours_inf = sf_malloc((size_t)rounds * sizeof(double));
    double *pt_step = sf_malloc((size_t)rounds * sizeof(double)), *pt_inf = sf_malloc((size_t)rounds * sizeof(double));
    int have_torch = sf_opt_flag(&o, "torch");
    sf_result ours = {0}, pt = {0};
    double pt_rss = 0;
    for (int r = 0; r < rounds; r++) {
        run_ours(&ours, m, opt, x, y, batch, steps, warmup);
        ours_step[r] = ours.step_s;
        ours_inf[r] = ours.infer_s;
        if (have_torch && run_torch(&pt, arch, size, batch, threads, steps, warmup) == 0) {
            pt_step[r] = pt.step_s;
            pt_inf[r] = pt.infer_s;
            if (pt.rss_mib > pt_rss) pt_rss = pt.rss_mib;
        } else {
            have_torch = 0;
        }
    }
    double rss = peak_rss_mib();  // before the loader, whose buffers (and cache) are not the model's
    double loader_step = -1;
    const char *data = sf_opt_str(&o, "data");
    int cache = sf_opt_flag(&o, "cache");
    if (data)
        loader_step = run_loader(m, opt, data, size, batch, (int)sf_opt_int(&o, "loader-threads"), cache, steps, warmup);
    double s_step = median(ours_step, rounds), s_inf = median(ours_inf, rounds);
    double train_ips = batch / s_step, inf_ips = batch / s_inf;
    double gflops = 3.0 * flops_img * batch / s_step * 1e-9;
    char shape[128];
    snprintf(shape, sizeof shape, "%s_s%d_b%d%s", arch, size, batch, mc.bf16 ? "_bf16" : "");
    double t_step = have_torch ? median(pt_step, rounds) : 0, t_inf = have_torch ? median(pt_inf, rounds) : 0;
    if (json) {
        printf("{\"suite\":\"train\",\"case\":\"%s\",\"threads\":%d,\"numa\":\"%s\",\"replicas\":%d,"
               "\"train_img_s\":%.2f,\"gflops\":%.2f,\"peak_pct\":%.2f,\"infer_img_s\":%.2f,\"peak_rss_mib\":%.1f",
               shape, threads, sf_opt_str(&o, "numa"), sf_replicas_count(m), train_ips, gflops, 100 * gflops / peak, inf_ips, rss);
        if (loader_step > 0)
            printf(",\"loader_train_img_s\":%.2f,\"loader_cache\":%s,\"loader_vs_synthetic\":%.3f", batch / loader_step,
                   cache ? "true" : "false", s_step / loader_step);
        if (have_torch)
            printf(",\"torch_train_img_s\":%.2f,\"torch_infer_img_s\":%.2f,\"torch_peak_rss_mib\":%.1f,"
                   "\"train_ratio\":%.3f,\"infer_ratio\":%.3f",
                   batch / t_step, batch / t_inf, pt_rss, t_step / s_step, t_inf / s_inf);
        printf("}\n");
    } else {
        printf("train %-22s threads %d  %7.1f img/s  %6.1f GFLOP/s (%4.1f%% of %.0f fp32 peak)  infer %7.1f img/s  "
               "peak RSS %.0f MiB\n",
               shape, threads, train_ips, gflops, 100 * gflops / peak, peak, inf_ips, rss);
        if (loader_step > 0)
            printf("train %-22s threads %d  %7.1f img/s through the loader (%s, %d decoding threads%s): %.1f%% of "
                   "the synthetic-tensor rate\n", shape, threads, batch / loader_step, data,
                   (int)sf_opt_int(&o, "loader-threads"), cache ? ", cached" : "", 100 * s_step / loader_step);
        if (have_torch)
            printf("train %-22s pytorch    %7.1f img/s  infer %7.1f img/s  peak RSS %.0f MiB  ratio train %.2fx "
                   "infer %.2fx (springfield / PyTorch)\n",
                   shape, batch / t_step, batch / t_inf, pt_rss, t_step / s_step, t_inf / s_inf);
    }
    if (sf_opt_flag(&o, "layers")) print_layers(m, opt, x, y, batch, steps, shape, json);
    fflush(stdout);
    free(ours_step);
    free(ours_inf);
    free(pt_step);
    free(pt_inf);
    sf_free_aligned(x);
    free(y);
    sf_opt_free(opt);
    sf_replicas_free(m);
    return 0;
}
