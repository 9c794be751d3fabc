// util.c: see util.h.
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void sf_die_at(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "springfield: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%s:%d)\n", file, line);
    va_end(ap);
    // Not exit(): library destructors can hang a dying process (OpenBLAS joins a pool thread that is
    // stuck retrying its buffer allocation under ulimit -v), and loader threads may hold locks.
    fflush(stdout);
    _exit(1);
}

void sf_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "springfield: warning: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void sf_info(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "springfield: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void *sf_malloc_at(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) sf_die_at(file, line, "out of memory allocating %zu bytes", size);
    return p;
}

void *sf_calloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) sf_die_at(file, line, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

void *sf_aligned_alloc_at(size_t size, const char *file, int line) {
    void *p = NULL;
    size_t rounded = (size + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0 || !p)
        sf_die_at(file, line, "out of memory allocating %zu aligned bytes", size);
    return p;
}

void sf_free_aligned(void *p) { free(p); }

FILE *sf_fopen_check_at(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (!f) sf_die_at(file, line, "cannot open '%s' (mode %s): %s", path, mode, strerror(errno));
    return f;
}

double sf_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int g_threads = 0;
// A NUMA group's share, set on the thread that drives that group's replica (sf_set_threads_here).
static _Thread_local int t_threads = 0, t_saved_icv = 0;

int sf_threads(void) {
    if (t_threads > 0) return t_threads;
    if (g_threads > 0) return g_threads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void sf_set_threads(int n) {
    g_threads = n > 0 ? n : 0;
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#endif
}

void sf_set_threads_here(int n) {
#ifdef _OPENMP
    // The ICV is per initial thread in libgomp, so pragmas without num_threads follow too; the
    // thread's own ICV comes back when the override ends.
    if (t_threads == 0) t_saved_icv = omp_get_max_threads();
    t_threads = n > 0 ? n : 0;
    omp_set_num_threads(t_threads ? t_threads : t_saved_icv);
#else
    t_threads = n > 0 ? n : 0;
#endif
}
