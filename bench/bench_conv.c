// bench_conv.c: `springfield bench conv`: every conv layer of the two seed models, forward,
// backward-data and backward-weights timed separately against oneDNN in the same run.
//
//   springfield bench conv [--json] [--threads N] [--size 96|224] [--batch B] [--reps R] [--clock wall|cpu]
//                          [--model simple|best|resnet18|resnet1x1] [--layer NAME] [--dir fwd|bwd_d|bwd_w]
//                          [--algo auto|direct|gemm] [--dtype f32|bf16] [--onednn-dtype f32|bf16]
//
// Each layer prints a benchdnn-style shape string, our algorithm, GFLOP/s (2*N*Co*OH*OW*Ci*KH*KW for
// every direction), % of the measured FMA peak times threads, oneDNN's GFLOP/s and the ratio. The
// algorithm column says which path the plan chose ("direct_<isa>_<ur>x<ocb>[_row3]", "direct_<isa>_wgrad"
// or "gemm_chunk<images>");
// --algo forces one. --model resnet18 and --model resnet1x1 (not in the default run) time each distinct
// convolution of ResNet-18 once, and the 1x1 convolutions of ResNet-50. Runs of
// the two libraries alternate and the median of R is reported, so that load from other processes hits
// both alike. oneDNN gets format `any` (its preferred blocked layouts); reorders are not timed. oneDNN is
// limited to the ISA of our path (bench/onednn_conv.h), so SPRINGFIELD_ISA=avx2 compares AVX2 with AVX2.
// --dtype bf16 runs ours on bf16 plans (sf_conv2d_plan_create_bf16) where the CPU has AVX512_BF16 (a first
// layer's backward-data, which training never runs, on an fp32 plan); x and dy are converted (and paired by
// images for backward-weights) before timing, as oneDNN's are given in bf16. --onednn-dtype bf16 runs oneDNN's side in bf16 (x, w,
// y and their gradients; f32 weight gradients, AVX512_BF16 allowed on the avx512 path); the rows then
// also name oneDNN's implementation.
// --clock cpu times each run by the process CPU time divided by the thread count instead of the wall
// clock: on an oversubscribed machine it leaves out the time the threads sat preempted (OpenMP threads
// spinning at barriers still count, alike for both libraries).
#include "bench/bench.h"
#include "bench/conv_layer.h"
#include "bench/onednn_conv.h"
#include "springfield.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    int ci, co, k, s, p;
    int pool_k, pool_s;  // pooling after the layer (0: none), which sets the next layer's input size
    int in_div;          // 0: input is the previous layer's output; else the image size / in_div
} layer_def;

// simple: five Conv2d(k3, pad 0), each followed by MaxPool2d(2).
static const layer_def simple_layers[] = {
    {"conv1", 3, 8, 3, 1, 0, 2, 2, 0},    {"conv2", 8, 16, 3, 1, 0, 2, 2, 0},  {"conv3", 16, 32, 3, 1, 0, 2, 2, 0},
    {"conv4", 32, 64, 3, 1, 0, 2, 2, 0},  {"conv5", 64, 96, 3, 1, 0, 2, 2, 0},
};
// best: AvgPool2d(3, s2) after conv1 and conv2, MaxPool2d(3, s2) after conv6.
static const layer_def best_layers[] = {
    {"conv1", 3, 32, 7, 2, 0, 3, 2, 0},     {"conv2", 32, 64, 5, 2, 0, 3, 2, 0},    {"conv3", 64, 128, 3, 1, 1, 0, 0, 0},
    {"conv4", 128, 256, 3, 1, 1, 0, 0, 0},  {"conv5", 256, 256, 3, 1, 1, 0, 0, 0},  {"conv6", 256, 256, 2, 1, 0, 3, 2, 0},
};
// ResNet-50's 1x1 convolutions, one of each kind: bottleneck reduce and expand, strided downsample.
static const layer_def resnet_1x1_layers[] = {
    {"l1.c1", 64, 64, 1, 1, 0, 0, 0, 4},     {"l1.c3", 64, 256, 1, 1, 0, 0, 0, 4},
    {"l2.down", 256, 512, 1, 2, 0, 0, 0, 4}, {"l3.c1", 1024, 256, 1, 1, 0, 0, 0, 16},
    {"l4.c3", 512, 2048, 1, 1, 0, 0, 0, 32},
};

// ResNet-18: each distinct convolution once (layerN.conv stands for the 3 or 4 stride-1 3x3 convolutions of
// stage N, which share one shape); the max pooling after conv1 has padding, so stages give their size directly.
static const layer_def resnet18_layers[] = {
    {"conv1", 3, 64, 7, 2, 3, 0, 0, 0},          {"l1.conv", 64, 64, 3, 1, 1, 0, 0, 4},
    {"l2.0.conv1", 64, 128, 3, 2, 1, 0, 0, 4},   {"l2.down", 64, 128, 1, 2, 0, 0, 0, 4},
    {"l2.conv", 128, 128, 3, 1, 1, 0, 0, 8},     {"l3.0.conv1", 128, 256, 3, 2, 1, 0, 0, 8},
    {"l3.down", 128, 256, 1, 2, 0, 0, 0, 8},     {"l3.conv", 256, 256, 3, 1, 1, 0, 0, 16},
    {"l4.0.conv1", 256, 512, 3, 2, 1, 0, 0, 16}, {"l4.down", 256, 512, 1, 2, 0, 0, 0, 16},
    {"l4.conv", 512, 512, 3, 1, 1, 0, 0, 32},
};

// The models --model names; the default run (no --model) times the `by_default` ones.
#define NLAYERS(a) (int)(sizeof a / sizeof a[0])
static const struct {
    const char *name;
    const layer_def *layers;
    int n;
    bool by_default;
} models[] = {
    {"simple", simple_layers, NLAYERS(simple_layers), true},
    {"best", best_layers, NLAYERS(best_layers), true},
    {"resnet18", resnet18_layers, NLAYERS(resnet18_layers), false},
    {"resnet1x1", resnet_1x1_layers, NLAYERS(resnet_1x1_layers), false},
};
#define NMODELS NLAYERS(models)

static bool g_cpu_clock;
static int g_threads = 1;

static double bench_clock(void) {
    if (!g_cpu_clock) return sf_now();
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return ((double)t.tv_sec + 1e-9 * (double)t.tv_nsec) / g_threads;
}

static double dnnl_run(sf_onednn_conv *d, int dir) {
    double t0 = bench_clock();
    sf_onednn_conv_run(d, dir);
    return bench_clock() - t0;
}

static double our_run(const sf_bench_conv_layer *o, int dir) {
    double t0 = bench_clock();
    sf_bench_conv_layer_run(o, dir);
    return bench_clock() - t0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
    bool json;
    int batch, reps;
    const char *model, *layer, *dir;  // filters (NULL: all); sums cover only the rows that ran
    sf_conv2d_algo algo;
    bool dnnl_bf16;  // --onednn-dtype bf16
    bool bf16;       // --dtype bf16
} bench_opts;

static const char *dir_names[3] = {"fwd", "bwd_d", "bwd_w"};

static void bench_model(const char *model, const layer_def *layers, int n_layers, int size, int threads,
                        const bench_opts *o, dnnl_engine_t eng, dnnl_stream_t stream) {
    double peak = sf_peak_gflops() * threads, flops_sum = 0, t_ours = 0, t_dnnl = 0;
    bool dnnl_all = true;
    int h = size, in_vb = sf_vb();  // in_vb: the previous layer's output block (pooling keeps it)
    for (int l = 0; l < n_layers; l++) {
        const layer_def *L = &layers[l];
        bool first = l == 0 && !L->in_div;
        int out_vb = first ? sf_vb_first(L->co) : sf_vb();
        if (L->in_div) h = size / L->in_div, in_vb = sf_vb();
        if (o->layer && strcmp(o->layer, L->name)) {
            h = (h + 2 * L->p - L->k) / L->s + 1;
            if (L->pool_k) h = (h - L->pool_k) / L->pool_s + 1;
            in_vb = out_vb;
            continue;
        }
        sf_conv2d_shape s = sf_conv2d_shape_make(o->batch, L->ci, h, h, L->co, L->k, L->k, L->s, L->p);
        double flops = 2.0 * s.n * s.co * s.oh * s.ow * (double)s.ci * s.kh * s.kw;
        // The engine's channel blocks for this layer: a first layer of at most 8 channels writes 8-lane
        // blocks on AVX-512 (sf_vb_first), and the next layer reads them as they are where it can
        // (sf_conv2d_narrow_x_ok), as in training.
        bool narrow = !first && in_vb != out_vb && o->algo == SF_CONV_AUTO && sf_conv2d_narrow_x_ok(&s, out_vb, in_vb);
        sf_bench_conv_layer ours;
        sf_onednn_conv dn;
        sf_bench_conv_layer_create(&ours, &s, first, out_vb, narrow ? in_vb : out_vb, o->algo, o->bf16);
        sf_onednn_conv_create(&dn, eng, stream, &s, o->dnnl_bf16 ? dnnl_bf16 : dnnl_f32);
        char shape[96];
        snprintf(shape, sizeof shape, "mb%dic%dih%doc%doh%dkh%dsh%dph%d", s.n, s.ci, s.ih, s.co, s.oh, s.kh, s.sh, s.ph);
        for (int dir = 0; dir < 3; dir++) {
            if (o->dir && strcmp(o->dir, dir_names[dir])) continue;
            double to[64], td[64];
            our_run(&ours, dir);
            if (dn.ok) dnnl_run(&dn, dir);
            for (int r = 0; r < o->reps; r++) {
                to[r] = our_run(&ours, dir);
                td[r] = dn.ok ? dnnl_run(&dn, dir) : 0.0;
            }
            double mo = median(to, o->reps), md = dn.ok ? median(td, o->reps) : 0.0;
            double go = flops / mo * 1e-9, gd = dn.ok ? flops / md * 1e-9 : 0.0;
            flops_sum += flops;
            t_ours += mo;
            t_dnnl += md;
            dnnl_all &= dn.ok;
            if (o->json)
                printf("{\"suite\":\"conv\",\"model\":\"%s\",\"size\":%d,\"layer\":\"%s\",\"shape\":\"%s\",\"dir\":\"%s\","
                       "\"threads\":%d,\"clock\":\"%s\",\"algo\":\"%s\",\"gflops\":%.2f,\"peak_pct\":%.1f,\"onednn_gflops\":%.2f,"
                       "\"ratio\":%.3f,\"onednn_dtype\":\"%s\",\"onednn_impl\":\"%s\"}\n",
                       model, size, L->name, shape, dir_names[dir], threads, g_cpu_clock ? "cpu" : "wall",
                       sf_bench_conv_layer_algo(&ours, dir), go, 100.0 * go / peak, gd, dn.ok ? go / gd : 0.0,
                       o->dnnl_bf16 ? "bf16" : "f32", dn.ok ? dn.impl[dir] : "");
            else
                printf("%-6s %3d %-5s %-36s %-5s t%d %-20s %7.1f GF/s %5.1f%% peak  onednn%s %7.1f GF/s  ratio %5.2f%s%s\n",
                       model, size, L->name, shape, dir_names[dir], threads, sf_bench_conv_layer_algo(&ours, dir), go,
                       100.0 * go / peak, o->dnnl_bf16 ? "-bf16" : "", gd, dn.ok ? go / gd : 0.0,
                       o->dnnl_bf16 ? "  " : "", o->dnnl_bf16 && dn.ok ? dn.impl[dir] : "");
            fflush(stdout);
        }
        sf_bench_conv_layer_destroy(&ours);
        sf_onednn_conv_destroy(&dn);
        h = s.oh;
        if (L->pool_k) h = (h - L->pool_k) / L->pool_s + 1;
        in_vb = out_vb;
    }
    double go = flops_sum / t_ours * 1e-9, gd = dnnl_all ? flops_sum / t_dnnl * 1e-9 : 0.0;
    if (o->json)
        printf("{\"suite\":\"conv\",\"model\":\"%s\",\"size\":%d,\"layer\":\"sum\",\"threads\":%d,\"clock\":\"%s\","
               "\"gflops\":%.2f,"
               "\"peak_pct\":%.1f,\"onednn_gflops\":%.2f,\"ratio\":%.3f,\"onednn_dtype\":\"%s\"}\n",
               model, size, threads, g_cpu_clock ? "cpu" : "wall", go, 100.0 * go / peak, gd, gd > 0 ? go / gd : 0.0,
               o->dnnl_bf16 ? "bf16" : "f32");
    else
        printf("%-6s %3d sum   all layers, all directions                  t%d %-20s %7.1f GF/s %5.1f%% peak  onednn%s %7.1f "
               "GF/s  ratio %5.2f\n",
               model, size, threads, "", go, 100.0 * go / peak, o->dnnl_bf16 ? "-bf16" : "", gd, gd > 0 ? go / gd : 0.0);
    fflush(stdout);
}

// --dtype / --onednn-dtype value: f32 or bf16 into *bf16; false (after a message) for anything else.
static bool parse_dtype(const char *v, const char *option, bool *bf16) {
    if (strcmp(v, "f32") && strcmp(v, "bf16")) {
        fprintf(stderr, "springfield: bench conv: unknown %s '%s' (f32 or bf16)\n", option, v);
        return false;
    }
    *bf16 = !strcmp(v, "bf16");
    return true;
}

int sf_bench_conv(int argc, char **argv) {
    bench_opts o = {.json = false, .batch = 64, .reps = 5, .model = NULL, .layer = NULL, .dir = NULL};
    int threads = 0, size = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) o.json = true;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) o.batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) o.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clock") && i + 1 < argc) g_cpu_clock = !strcmp(argv[++i], "cpu");
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) o.model = argv[++i];
        else if (!strcmp(argv[i], "--layer") && i + 1 < argc) o.layer = argv[++i];
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) o.dir = argv[++i];
        else if (!strcmp(argv[i], "--onednn-dtype") && i + 1 < argc) {
            if (!parse_dtype(argv[++i], "--onednn-dtype", &o.dnnl_bf16)) return 2;
        } else if (!strcmp(argv[i], "--dtype") && i + 1 < argc) {
            if (!parse_dtype(argv[++i], "--dtype", &o.bf16)) return 2;
        } else if (!strcmp(argv[i], "--algo") && i + 1 < argc) {
            const char *a = argv[++i];
            if (!strcmp(a, "direct")) o.algo = SF_CONV_DIRECT;
            else if (!strcmp(a, "gemm")) o.algo = SF_CONV_GEMM;
            else if (strcmp(a, "auto")) {
                fprintf(stderr, "springfield: bench conv: unknown algorithm '%s' (auto, direct or gemm)\n", a);
                return 2;
            }
        }
        else {
            fprintf(stderr, "usage: springfield bench conv [--json] [--threads N] [--size 96|224] [--batch B] [--reps R] "
                            "[--clock wall|cpu] [--model simple|best|resnet18|resnet1x1] [--layer convN] [--dir fwd|bwd_d|bwd_w] [--algo auto|direct|gemm] "
                            "[--dtype f32|bf16] [--onednn-dtype f32|bf16]\n");
            return 2;
        }
    }
    bool dir_ok = !o.dir || !strcmp(o.dir, "fwd") || !strcmp(o.dir, "bwd_d") || !strcmp(o.dir, "bwd_w");
    bool model_ok = !o.model;
    for (int i = 0; i < NMODELS; i++) model_ok |= o.model && !strcmp(o.model, models[i].name);
    if (!dir_ok || !model_ok) {
        fprintf(stderr, "springfield: bench conv: unknown %s '%s'\n", dir_ok ? "model" : "direction",
                dir_ok ? o.model : o.dir);
        return 2;
    }
    if (o.batch < 1 || o.reps < 1 || o.reps > 64 || threads < 0 || (size && size < 32)) {
        fprintf(stderr, "springfield: bench conv: bad option value\n");
        return 2;
    }
    // oneDNN on the ISA path being compared (ours may run avx2 on an AVX-512 CPU), set before its first use.
    char dnnl_isa[128];
    sf_onednn_limit_isa(sf_isa_active(), o.dnnl_bf16, dnnl_isa, sizeof dnnl_isa);
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    SF_DNNL_CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    SF_DNNL_CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    int thread_list[2] = {1, 2}, n_thr = 2;
    if (threads) thread_list[0] = threads, n_thr = 1;
    int size_list[2] = {224, 96}, n_sizes = 2;
    if (size) size_list[0] = size, n_sizes = 1;
    if (!o.json)
        printf("# conv: batch %d, median of %d, %s clock, isa %s%s, oneDNN in %s, max isa %s, peak %.1f GFLOP/s per thread\n",
               o.batch, o.reps, g_cpu_clock ? "cpu" : "wall", sf_isa_name(sf_isa_active()),
               !o.bf16 ? "" : sf_bf16_supported() ? " (bf16, all three directions)" : " (no bf16 here: fp32)",
               o.dnnl_bf16 ? "bf16" : "f32",
               dnnl_isa, sf_peak_gflops());
    for (int t = 0; t < n_thr; t++) {
        // Both libraries run on OpenMP: one setting sizes both.
        sf_bench_place_threads(thread_list[t]);
        omp_set_num_threads(thread_list[t]);
        g_threads = thread_list[t];
        for (int z = 0; z < n_sizes; z++) {
            for (int i = 0; i < NMODELS; i++)
                if (o.model ? !strcmp(o.model, models[i].name) : models[i].by_default)
                    bench_model(models[i].name, models[i].layers, models[i].n, size_list[z], thread_list[t], &o, eng,
                                stream);
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(eng);
    return 0;
}
