// cmd_tune.c: `springfield tune`: search sf_sgemm's cache blocks (MC, KC, NC) and the direct convolution's
// register blocking per layer class (tune_conv.c) on this machine within a time budget, and write them
// into this CPU's profile (kernels/profile.h).
//
// Coordinate descent from the blocks in use: one block at a time, each candidate value raced against the
// incumbent on the tuning shapes, the two timed alternately (ABAB...) and judged by their fastest runs,
// so that the load of a shared machine hits both sides alike. A candidate must win
// by more than --threshold to be taken (chasing 1% is chasing noise). The search stops when a whole
// round changes nothing or the budget is spent. The profile keeps its [baseline] entries; rerun
// `springfield perf-check --record FILE` after tuning, since the baselines were measured with the old blocks.
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/tune_conv.h"
#include "cli/tune_race.h"
#include "kernels/profile.h"
#include "kernels/sgemm_tuning.h"
#include "springfield.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const sf_opt_spec spec[] = {
    {"seconds", SF_OPT_FLOAT, "60", NULL, 5, 3600, "time budget of the GEMM search"},
    {"conv-seconds", SF_OPT_FLOAT, "40", NULL, 4, 3600, "time budget of the convolution search (all classes)"},
    {"what", SF_OPT_CHOICE, "all", "all|gemm|conv", 0, 0, "what to search; the rest keeps the profile's values"},
    {"threads", SF_OPT_INT, "1", NULL, 1, 1024, "threads the GEMM runs on while tuning"},
    {"threshold", SF_OPT_FLOAT, "0.02", NULL, 0, 0.5, "relative gain a candidate needs to replace the incumbent"},
    {"out", SF_OPT_STR, NULL, NULL, 0, 0, "profile file to write (default: profiles/<this CPU's name>.profile)"},
    {"dry-run", SF_OPT_FLAG, "off", NULL, 0, 0, "search and report, write nothing"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

// Tuning shapes (row-major, no transposes): a square block and the GEMM of a 3x3 convolution layer with
// 128 output channels on a 56x28 map from 128 inputs (im2col K = 1152).
typedef struct {
    int m, n, k;
} shape;
static const shape shapes[] = {{512, 512, 512}, {128, 1568, 1152}};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

typedef struct {
    int mc, kc, nc;
} blocks;

typedef struct {
    float *a, *b, *c;
} operands;

static double run_shapes(void *ctx, const void *cand) {
    const operands *o = ctx;
    const blocks *bl = cand;
    sf_sgemm_set_blocking(bl->mc, bl->kc, bl->nc);
    double t0 = sf_tune_clock();
    for (int s = 0; s < N_SHAPES; s++)
        sf_sgemm(false, false, shapes[s].m, shapes[s].n, shapes[s].k, 1.0f, o->a, shapes[s].k, o->b, shapes[s].n,
                 0.0f, o->c, shapes[s].n);
    return sf_tune_clock() - t0;
}

static double race(const operands *o, const blocks *inc, const blocks *cand, int reps) {
    return sf_tune_race((void *)o, run_shapes, inc, cand, reps);
}

typedef struct {
    FILE *f;
    int tty;
    double t0, budget, last;
    int tried, taken;
} progress;

static void progress_draw(progress *p, const blocks *best, double gain, int force) {
    double now = sf_now(), el = now - p->t0;
    if (!force && (p->tty ? now - p->last < 0.2 : now - p->last < p->budget / 10)) return;
    p->last = now;
    int width = 24, done = (int)(width * (el / p->budget > 1 ? 1 : el / p->budget));
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : '-';
    bar[width] = 0;
    fprintf(p->f, "%stune [%s] %4.0fs/%.0fs  tried %d, taken %d  best MC %d KC %d NC %d (%+.1f%% vs start)%s",
            p->tty ? "\r" : "", bar, el, p->budget, p->tried, p->taken, best->mc, best->kc, best->nc,
            100 * (gain - 1), p->tty ? "\033[K" : "\n");
    fflush(p->f);
}

// Coordinate descent over the cache blocks from `start`; returns the winner, which is left set in the GEMM.
static blocks search_gemm(blocks start, int mr, int nr, double budget, double threshold) {
    size_t na = 0, nb = 0, nc = 0;
    for (int s = 0; s < N_SHAPES; s++) {
        size_t a = (size_t)shapes[s].m * shapes[s].k, b = (size_t)shapes[s].k * shapes[s].n;
        size_t c = (size_t)shapes[s].m * shapes[s].n;
        na = a > na ? a : na, nb = b > nb ? b : nb, nc = c > nc ? c : nc;
    }
    operands ops = {sf_aligned_alloc(na * sizeof(float)), sf_aligned_alloc(nb * sizeof(float)),
                    sf_aligned_alloc(nc * sizeof(float))};
    for (size_t i = 0; i < na; i++) ops.a[i] = (float)(i % 97) * 0.01f - 0.5f;
    for (size_t i = 0; i < nb; i++) ops.b[i] = (float)(i % 89) * 0.01f - 0.4f;
    memset(ops.c, 0, nc * sizeof(float));

    // Candidates per block: KC in floats of depth; MC in rows (multiples of MR); NC in columns (of NR).
    const int kc_cand[] = {128, 160, 192, 224, 256, 320, 384, 448, 512, 640};
    const int mc_mult[] = {4, 6, 8, 12, 16, 24, 32, 48, 64};
    const int nc_mult[] = {16, 32, 48, 64, 96, 128};
    int cand[3][16], n_cand[3] = {0, 0, 0};
    for (size_t i = 0; i < sizeof kc_cand / sizeof kc_cand[0]; i++) cand[1][n_cand[1]++] = kc_cand[i];
    for (size_t i = 0; i < sizeof mc_mult / sizeof mc_mult[0]; i++)
        if (mc_mult[i] * mr <= 1024) cand[0][n_cand[0]++] = mc_mult[i] * mr;
    for (size_t i = 0; i < sizeof nc_mult / sizeof nc_mult[0]; i++)
        if (nc_mult[i] * nr <= 8192) cand[2][n_cand[2]++] = nc_mult[i] * nr;
    static const char *dim_name[3] = {"MC", "KC", "NC"};

    progress pr = {stderr, isatty(fileno(stderr)), sf_now(), budget, 0, 0, 0};
    blocks best = start;
    double gain = 1.0; // best vs start, the product of the accepted races
    const int reps = 9;
    int changed = 1;
    for (int round = 0; changed && sf_now() - pr.t0 < budget; round++) {
        changed = 0;
        for (int d = 0; d < 3 && sf_now() - pr.t0 < budget; d++) {
            // KC first: it sets the sliver sizes the other two are measured in.
            int dim = d == 0 ? 1 : d == 1 ? 0 : 2;
            for (int i = 0; i < n_cand[dim] && sf_now() - pr.t0 < budget; i++) {
                blocks c = best;
                int *v = dim == 0 ? &c.mc : dim == 1 ? &c.kc : &c.nc;
                if (*v == cand[dim][i]) continue;
                *v = cand[dim][i];
                double r = race(&ops, &best, &c, reps);
                pr.tried++;
                if (r > 1 + threshold) {
                    // Confirm with a second race before moving: one lucky race is not a trend.
                    double r2 = race(&ops, &best, &c, reps);
                    if (r2 > 1 + threshold) {
                        best = c;
                        gain *= r < r2 ? r : r2;
                        pr.taken++;
                        changed = 1;
                        if (!pr.tty) fprintf(stderr, "tune: %s %d wins by %.1f%% (confirmed %.1f%%)\n", dim_name[dim],
                                             *v, 100 * (r - 1), 100 * (r2 - 1));
                    }
                }
                progress_draw(&pr, &best, gain, 0);
            }
        }
    }
    progress_draw(&pr, &best, gain, 1);
    if (pr.tty) fprintf(stderr, "\n");
    // The final word: best against the starting blocks, with more repetitions.
    double final = race(&ops, &start, &best, 15);
    if (final < 1 + threshold) {
        printf("tune: the search's pick (MC %d KC %d NC %d) runs at %.2fx the starting blocks in the final race: "
               "not beyond the threshold, keeping the starting blocks\n", best.mc, best.kc, best.nc, final);
        best = start;
        final = 1.0;
    }
    sf_sgemm_set_blocking(best.mc, best.kc, best.nc);
    sf_sgemm_get_blocking(NULL, NULL, &best.mc, &best.kc, &best.nc, NULL);
    printf("tune: best MC %d KC %d NC %d after %d races in %.0f s: %.2fx the starting blocks' speed on the tuning "
           "shapes (fastest of 15 alternating runs each)\n",
           best.mc, best.kc, best.nc, pr.tried, sf_now() - pr.t0, final);
    sf_free_aligned(ops.a);
    sf_free_aligned(ops.b);
    sf_free_aligned(ops.c);
    return best;
}

int sf_cmd_tune(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, NSPEC, argc, argv, "springfield tune [--seconds N] [--out FILE]");
    if (rc >= 0) return rc;
    const double budget = sf_opt_float(&o, "seconds"), threshold = sf_opt_float(&o, "threshold");
    sf_set_threads((int)sf_opt_int(&o, "threads"));
    sf_tune_clock_init(sf_threads());
    const sf_profile *active = sf_profile_active(); // applies the current profile: the search starts there
    const sf_cpu_info *cpu = sf_cpu();

    int mr, nr;
    blocks start;
    const char *kern = "?";
    sf_sgemm_get_blocking(&mr, &nr, &start.mc, &start.kc, &start.nc, &kern);
    printf("tune: %s (%s family %d model %d), ISA %s, micro-kernel %s (%dx%d), %d thread%s, %.0f s budget\n",
           cpu->name, cpu->vendor, cpu->family, cpu->model, sf_isa_name(sf_isa_active()), kern, mr, nr, sf_threads(),
           sf_threads() == 1 ? "" : "s", budget);
    const char *what = sf_opt_str(&o, "what");
    blocks best = start;
    if (strcmp(what, "conv") != 0) {
        printf("tune: GEMM: start from %s: MC %d KC %d NC %d; shapes", active->name, start.mc, start.kc, start.nc);
        for (int s = 0; s < N_SHAPES; s++) printf(" %dx%dx%d", shapes[s].m, shapes[s].n, shapes[s].k);
        printf("\n");
        fflush(stdout);
        best = search_gemm(start, mr, nr, budget, threshold);
    }
    int conv_ocb[SF_CONV_N_CLASSES], conv_across[SF_CONV_N_CLASSES];
    if (strcmp(what, "gemm") != 0) {
        printf("tune: convolution: ISA %s, %.0f s budget over %d layer classes (forward + backward-data, %d "
               "thread%s)\n", sf_isa_name(sf_isa_active()), sf_opt_float(&o, "conv-seconds"), SF_CONV_N_CLASSES,
               sf_threads(), sf_threads() == 1 ? "" : "s");
        fflush(stdout);
        sf_tune_conv(sf_opt_float(&o, "conv-seconds"), threshold, conv_ocb, conv_across);
    }

    if (sf_opt_flag(&o, "dry-run")) return 0;

    // Keep what the profile already says (baselines, margins), replace the blocks and the CPU line.
    sf_profile out = *active;
    char path[700], name[160], dir[512];
    sf_profile_name(name, sizeof name, cpu, 1);
    sf_profile_dir(dir, sizeof dir);
    if (sf_opt_str(&o, "out")) snprintf(path, sizeof path, "%s", sf_opt_str(&o, "out"));
    else if (active->path[0]) snprintf(path, sizeof path, "%s", active->path);
    else snprintf(path, sizeof path, "%s/%s.profile", dir, name);
    snprintf(out.vendor, sizeof out.vendor, "%s", cpu->vendor);
    snprintf(out.brand, sizeof out.brand, "%s", cpu->name);
    out.family = cpu->family, out.model = cpu->model;
    // Only what was searched is written: the blocks read back from the GEMM are rounded to this ISA's
    // register tile (MC 56 reads back as 60 on the avx2 path), which is no reason to change them.
    if (strcmp(what, "conv") != 0) out.gemm_mc = best.mc, out.gemm_kc = best.kc, out.gemm_nc = best.nc;
    if (strcmp(what, "gemm") != 0)
        for (int c = 0; c < SF_CONV_N_CLASSES; c++) {
            out.conv_ocb[sf_isa_active()][c] = conv_ocb[c];
            out.conv_across[sf_isa_active()][c] = conv_across[c];
        }
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "springfield tune: cannot write %s\n", path);
        return 1;
    }
    sf_profile_write(f, &out);
    fclose(f);
    printf("tune: wrote %s%s\n", path,
           out.n_baselines ? " (baselines kept: rerun `springfield perf-check --record` to refresh them)" : "");
    return 0;
}
