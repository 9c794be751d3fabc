// bench_data.c: `springfield bench data`: images per second of the data pipeline, against the seed's
// PIL + torchvision pipeline (bench/bench_data_pil.py, one core) run in the same invocation.
//
//   decode        read + decode to full-size RGB (sf_image_load), 1 and 2 threads
//   pipeline S    the training loader (decode, augment, normalise to (3,S,S)) in its first epoch, where
//                 every file's stream is read whole; S = 96 and 224, 1 and 2 threads
//   pipeline+ S   the same in later epochs, where files known whole are decoded only down to the crop
//   cached S      the same from the --cache pixels (second epoch on)
//   originals     decode and pipeline 224 on the full-size originals/ folder
// The ratio compares our 1-thread figure with PIL's single process: images per second per core.
// --only, --size and --threads pick one case for a profiler, e.g. instructions per image with
//   valgrind --tool=callgrind --toggle-collect=sf_loader_next build/springfield bench data --no-pil
//       --only pipeline --size 96 --threads 0 --reps 1 --limit 400
// (--threads 0 fills batches in the calling thread, inside sf_loader_next; --only pipeline+ counts its
// untimed first epoch too, so its own share is the difference of the two counts).
#include "bench/bench.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/loader.h"
#include "util/util.h"

#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int json;
    int reps;
    const char *only;  // NULL: every case
    int threads;       // -1: 1 and 2 threads
} bench_opts;

static int wanted(const bench_opts *o, const char *what) { return !o->only || !strcmp(o->only, what); }

// A measurement: images per wall second and per CPU second (all threads of the process). On a shared
// machine the CPU figure is the steadier one, and it is what "per core" means.
typedef struct {
    double wall, cpu;
} rate;

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static rate median_rate(rate *r, int n) {
    double w[16], c[16];
    for (int i = 0; i < n; i++) w[i] = r[i].wall, c[i] = r[i].cpu;
    rate m = {median(w, n), median(c, n)};
    return m;
}

// ---- decode only ----

typedef struct {
    const sf_dataset *ds;
    const int *idx;
    int n;
    atomic_int next;
    atomic_int failed;
} decode_job;

static void *decode_worker(void *arg) {
    decode_job *j = arg;
    char err[SF_IMAGE_ERR_LEN];
    for (;;) {
        int k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n) return NULL;
        sf_image img;
        if (sf_image_load(&img, j->ds->paths[j->idx[k]], NULL, err, sizeof err) != 0) atomic_fetch_add(&j->failed, 1);
        sf_image_free(&img);
    }
}

static rate decode_rate(const sf_dataset *ds, const int *idx, int n, int threads) {
    decode_job j = {ds, idx, n, 0, 0};
    pthread_t t[8];
    double t0 = sf_now(), c0 = cpu_now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, decode_worker, &j);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    rate r = {n / (sf_now() - t0), n / (cpu_now() - c0)};
    return r;
}

// ---- loader ----

static rate epoch_rate(sf_loader *l, int epoch) {
    double t0 = sf_now(), c0 = cpu_now();
    sf_loader_start_epoch(l, epoch);
    sf_batch b;
    long rows = 0;
    while (sf_loader_next(l, &b)) rows += b.n;
    rate r = {rows / (sf_now() - t0), rows / (cpu_now() - c0)};
    return r;
}

typedef enum { FIRST_EPOCH, LATER_EPOCHS, CACHED } pipe_kind;

// Median images per second of reps epochs: each a fresh loader's first epoch, or epochs after an untimed
// one (which fills the cache, or learns which files decode whole).
static rate pipeline_rate(const sf_dataset *ds, const int *idx, int n, int size, int threads, pipe_kind kind,
                          int reps) {
    sf_loader_cfg c = sf_loader_defaults(size, 64);
    c.threads = threads;
    c.cache = kind == CACHED;
    c.quiet = 1;
    rate r[16];
    sf_loader *l = NULL;
    for (int i = 0; i < reps; i++) {
        if (!l || kind == FIRST_EPOCH) {
            sf_loader_destroy(l);
            l = sf_loader_create(ds, idx, n, &c);
            if (kind != FIRST_EPOCH) epoch_rate(l, 0);
        }
        r[i] = epoch_rate(l, i + 1);
    }
    sf_loader_destroy(l);
    return median_rate(r, reps);
}

// ---- the PIL reference ----

typedef struct {
    rate decode, pipe[2];  // zero when unavailable
} pil_rates;

static const char *pil_script(void) {
    static char buf[4096];
    if (access("bench/bench_data_pil.py", R_OK) == 0) return "bench/bench_data_pil.py";
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 64);  // build/springfield -> ../bench/
    if (n > 0) {
        buf[n] = '\0';
        char *d = dirname(buf);
        memmove(buf, d, strlen(d) + 1);
        strcat(buf, "/../bench/bench_data_pil.py");
        if (access(buf, R_OK) == 0) return buf;
    }
    return NULL;
}

static pil_rates run_pil(const sf_dataset *ds, const int *idx, int n, int reps, int size0, int size1) {
    pil_rates r;
    memset(&r, 0, sizeof r);
    const char *script = pil_script();
    if (!script) {
        sf_warn("bench data: bench/bench_data_pil.py not found, no PIL reference");
        return r;
    }
    char list[] = "/tmp/sf_bench_data_XXXXXX";
    int fd = mkstemp(list);
    if (fd < 0) return r;
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < n; i++) fprintf(f, "%s\n", ds->paths[idx[i]]);
    fclose(f);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' %d", script, list, reps);
    if (size0) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %d", size0);
    if (size1) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %d", size1);
    FILE *p = popen(cmd, "r");
    if (p) {
        char line[1024];
        while (fgets(line, sizeof line, p)) {
            char *c = strstr(line, "\"size\": "), *v = strstr(line, "\"img_per_s\": ");
            char *u = strstr(line, "\"img_per_cpu_s\": ");
            if (!c || !v || !u) continue;
            int s = atoi(c + 8);
            rate x = {atof(v + 13), atof(u + 17)};
            if (s == 0) r.decode = x;
            else if (s == size0) r.pipe[0] = x;
            else if (s == size1) r.pipe[1] = x;
        }
        if (pclose(p) != 0) sf_warn("bench data: the PIL reference failed (%s)", cmd);
    }
    unlink(list);
    return r;
}

static void report(const bench_opts *o, const char *set, const char *what, int size, int threads, int n, rate r,
                   rate ref) {
    int has_ref = ref.cpu > 0;
    if (o->json) {
        printf("{\"suite\":\"data\",\"set\":\"%s\",\"case\":\"%s\",\"size\":%d,\"threads\":%d,\"images\":%d,"
               "\"img_per_s\":%.1f,\"img_per_cpu_s\":%.1f",
               set, what, size, threads, n, r.wall, r.cpu);
        if (has_ref)
            printf(",\"ref\":\"PIL+torchvision 1 process\",\"ref_img_per_s\":%.1f,\"ref_img_per_cpu_s\":%.1f,"
                   "\"ratio_per_core\":%.2f,\"ratio_wall\":%.2f",
                   ref.wall, ref.cpu, r.cpu / ref.cpu, r.wall / ref.wall);
        printf("}\n");
    } else {
        char shape[64];
        snprintf(shape, sizeof shape, size ? "%s S%d" : "%s", what, size);
        printf("data %-10s %-14s n=%-5d threads=%d %8.1f img/s %8.1f img/cpu-s", set, shape, n, threads, r.wall, r.cpu);
        if (has_ref)
            printf(" | PIL %6.1f img/s %6.1f img/cpu-s | ratio %5.2fx per core (%.2fx wall)", ref.wall, ref.cpu,
                   r.cpu / ref.cpu, r.wall / ref.wall);
        printf("\n");
    }
    fflush(stdout);
}

// Picks n indices spread evenly over the dataset (every class represented).
static int *spread(const sf_dataset *ds, int *n) {
    if (*n <= 0 || *n > ds->n) *n = ds->n;
    int *idx = sf_malloc(sizeof(int) * (size_t)*n);
    for (int i = 0; i < *n; i++) idx[i] = (int)((long)i * ds->n / *n);
    return idx;
}

// One loader's first epoch (every file's stream read whole) and its second (files known whole are read
// only down to the crop).
static void first_and_later(rate *first, rate *later, const sf_dataset *ds, const int *idx, int n, int size,
                            int threads) {
    sf_loader_cfg c = sf_loader_defaults(size, 64);
    c.threads = threads;
    c.quiet = 1;
    sf_loader *l = sf_loader_create(ds, idx, n, &c);
    *first = epoch_rate(l, 0);
    *later = epoch_rate(l, 1);
    sf_loader_destroy(l);
}

// The cases that have a PIL counterpart (decode, pipeline at each size), on `threads` threads (1, or what
// --threads asks), run interleaved with it, one repetition of each in turn, so both see the same load on
// a shared machine; medians reported.
static void compare_with_pil(const bench_opts *o, const char *set, const sf_dataset *ds, const int *idx, int n,
                             int pil_n, const int sizes[2], int no_pil, int threads) {
    rate ours[5][16], ref[3][16];
    memset(ours, 0, sizeof ours);
    int pn = pil_n < n ? pil_n : n;
    int *pidx = spread(ds, &pn);
    int dec = wanted(o, "decode") || wanted(o, "originals");
    int first = wanted(o, "pipeline") || wanted(o, "originals"), later = wanted(o, "pipeline+") || wanted(o, "originals");
    for (int k = 0; k < o->reps; k++) {
        memset(&ref[0][k], 0, sizeof(rate));
        ref[1][k] = ref[2][k] = ref[0][k];
        if (!no_pil) {
            pil_rates p = run_pil(ds, pidx, pn, 1, sizes[0], sizes[1]);
            ref[0][k] = p.decode, ref[1][k] = p.pipe[0], ref[2][k] = p.pipe[1];
        }
        if (dec) ours[0][k] = decode_rate(ds, idx, n, threads > 0 ? threads : 1);
        for (int s = 0; s < 2; s++) {
            if (!sizes[s]) continue;
            if (first && later) first_and_later(&ours[1 + s][k], &ours[3 + s][k], ds, idx, n, sizes[s], threads);
            else if (first) ours[1 + s][k] = pipeline_rate(ds, idx, n, sizes[s], threads, FIRST_EPOCH, 1);
            else if (later) ours[3 + s][k] = pipeline_rate(ds, idx, n, sizes[s], threads, LATER_EPOCHS, 1);
        }
    }
    free(pidx);
    if (dec) report(o, set, "decode", 0, threads > 0 ? threads : 1, n, median_rate(ours[0], o->reps), median_rate(ref[0], o->reps));
    for (int s = 0; s < 2; s++) {
        rate r = median_rate(ref[1 + s], o->reps);
        if (first && sizes[s]) report(o, set, "pipeline", sizes[s], threads, n, median_rate(ours[1 + s], o->reps), r);
        if (later && sizes[s]) report(o, set, "pipeline+", sizes[s], threads, n, median_rate(ours[3 + s], o->reps), r);
    }
}

int sf_bench_data(int argc, char **argv) {
    const char *data = "../shared/data/simpsons/train", *orig = NULL;
    int limit = 1000, pil_limit = 300, orig_limit = 0, no_pil = 0, size = 0;
    bench_opts o = {0, 3, NULL, -1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--originals") && i + 1 < argc) orig = argv[++i];
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) limit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--pil-limit") && i + 1 < argc) pil_limit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) o.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) o.only = argv[++i];
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) o.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--json")) o.json = 1;
        else if (!strcmp(argv[i], "--no-pil")) no_pil = 1;
        else {
            fprintf(stderr,
                    "usage: springfield bench data [--data DIR] [--originals DIR] [--limit N] [--pil-limit N]\n"
                    "                              [--reps N] [--json] [--no-pil]\n"
                    "                              [--only decode|pipeline|pipeline+|cached|originals] [--size S]\n"
                    "                              [--threads T]\n");
            return 2;
        }
    }
    if (o.reps < 1) o.reps = 1;
    if (o.reps > 16) o.reps = 16;
    if (o.only && strcmp(o.only, "decode") && strcmp(o.only, "pipeline") && strcmp(o.only, "pipeline+") &&
        strcmp(o.only, "cached") && strcmp(o.only, "originals")) {
        fprintf(stderr, "springfield: bench data: --only %s: not one of decode, pipeline, pipeline+, cached, originals\n",
                o.only);
        return 2;
    }
    if (size < 0 || size > 4096 || o.threads < -1 || o.threads > 8) {
        fprintf(stderr, "springfield: bench data: --size %d or --threads %d out of range\n", size, o.threads);
        return 2;
    }
    int tlist[2] = {1, 2}, nt = 2;  // the first count is the one compared with PIL
    if (o.threads >= 0) tlist[0] = o.threads, nt = 1;
    char orig_buf[4096];
    if (!orig) {  // DIR/../originals
        snprintf(orig_buf, sizeof orig_buf, "%s/../originals", data);
        orig = orig_buf;
    }
    sf_dataset ds;
    char err[1024];
    if (sf_dataset_scan(&ds, data, 1, err, sizeof err) != 0) {
        fprintf(stderr, "springfield: bench data: %s\n", err);
        return 1;
    }
    int n = limit;
    int *idx = spread(&ds, &n);
    if (!o.json)
        printf("# bench data: %d of %d images of %s, median of %d runs; PIL on %d of them (100 originals), 1 core,\n"
               "# interleaved with our %d-thread runs. pipeline: first epoch (each file read whole); pipeline+: later\n"
               "# epochs (files known whole are decoded only down to the crop)\n",
               n, ds.n, data, o.reps, pil_limit < n ? pil_limit : n, tlist[0]);
    decode_rate(&ds, idx, n < 200 ? n : 200, 2);  // warm the file cache

    rate none = {0, 0};
    const int sizes[2] = {size ? size : 96, size ? 0 : 224};
    if (wanted(&o, "decode") || wanted(&o, "pipeline") || wanted(&o, "pipeline+"))
        compare_with_pil(&o, "train", &ds, idx, n, pil_limit, sizes, no_pil, tlist[0]);
    for (int t = 1; t < nt; t++) {
        rate r[16];
        if (wanted(&o, "decode")) {
            for (int k = 0; k < o.reps; k++) r[k] = decode_rate(&ds, idx, n, tlist[t]);
            report(&o, "train", "decode", 0, tlist[t], n, median_rate(r, o.reps), none);
        }
        for (int s = 0; s < 2 && sizes[s]; s++) {
            if (wanted(&o, "pipeline"))
                report(&o, "train", "pipeline", sizes[s], tlist[t], n,
                       pipeline_rate(&ds, idx, n, sizes[s], tlist[t], FIRST_EPOCH, o.reps), none);
            if (wanted(&o, "pipeline+"))
                report(&o, "train", "pipeline+", sizes[s], tlist[t], n,
                       pipeline_rate(&ds, idx, n, sizes[s], tlist[t], LATER_EPOCHS, o.reps), none);
        }
    }
    for (int s = 0; s < 2 && wanted(&o, "cached"); s++)
        for (int t = 0; t < nt && sizes[s]; t++)
            report(&o, "train", "cached", sizes[s], tlist[t], n,
                   pipeline_rate(&ds, idx, n, sizes[s], tlist[t], CACHED, o.reps), none);
    free(idx);
    sf_dataset_free(&ds);
    if (!wanted(&o, "originals")) return 0;

    sf_dataset od;
    if (sf_dataset_scan(&od, orig, 1, err, sizeof err) != 0) {
        if (!o.json) printf("# originals: %s (skipped)\n", err);
        return 0;
    }
    int on = orig_limit;
    int *oidx = spread(&od, &on);
    decode_rate(&od, oidx, on, 2);  // warm the file cache
    const int osizes[2] = {size ? size : 224, 0};
    compare_with_pil(&o, "originals", &od, oidx, on, 100, osizes, no_pil, tlist[0]);
    for (int t = 1; t < nt; t++) {
        rate r[16];
        for (int k = 0; k < o.reps; k++) r[k] = decode_rate(&od, oidx, on, tlist[t]);
        report(&o, "originals", "decode", 0, tlist[t], on, median_rate(r, o.reps), none);
        report(&o, "originals", "pipeline", osizes[0], tlist[t], on,
               pipeline_rate(&od, oidx, on, osizes[0], tlist[t], FIRST_EPOCH, o.reps), none);
        report(&o, "originals", "pipeline+", osizes[0], tlist[t], on,
               pipeline_rate(&od, oidx, on, osizes[0], tlist[t], LATER_EPOCHS, o.reps), none);
    }
    free(oidx);
    sf_dataset_free(&od);
    return 0;
}
