// util.h: checked allocation and I/O, error reporting and timing shared by every module.
// Style after llm.c: a failure names the call site (file:line) and the cause, never returns a silent NULL.
#ifndef SF_UTIL_H
#define SF_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Print "springfield: error: <msg> (file:line)" to stderr and exit(1). For programming errors and
// unrecoverable allocation failures; recoverable input errors return codes instead.
void sf_die_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define sf_die(...) sf_die_at(__FILE__, __LINE__, __VA_ARGS__)

// Warnings and info go to stderr with a fixed prefix so that logs are greppable.
void sf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sf_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Allocation that reports the request size and call site on failure.
void *sf_malloc_at(size_t size, const char *file, int line);
void *sf_calloc_at(size_t n, size_t size, const char *file, int line);
// 64-byte aligned (cache line, one zmm); release with sf_free_aligned (which is plain free).
void *sf_aligned_alloc_at(size_t size, const char *file, int line);
#define sf_malloc(sz) sf_malloc_at((sz), __FILE__, __LINE__)
#define sf_calloc(n, sz) sf_calloc_at((n), (sz), __FILE__, __LINE__)
#define sf_aligned_alloc(sz) sf_aligned_alloc_at((sz), __FILE__, __LINE__)
void sf_free_aligned(void *p);

// fopen that dies with the path and strerror on failure (for files the program itself owns).
FILE *sf_fopen_check_at(const char *path, const char *mode, const char *file, int line);
#define sf_fopen_check(path, mode) sf_fopen_check_at((path), (mode), __FILE__, __LINE__)

// Monotonic wall clock in seconds.
double sf_now(void);

// Number of OpenMP threads the kernels use (set once by the CLI, defaults to omp_get_max_threads()).
int sf_threads(void);
void sf_set_threads(int n);
// Overrides sf_threads() for the calling thread only (and the parallel regions it starts): a NUMA
// group's driver thread runs its replica on the group's threads. 0 returns to the process-wide count.
void sf_set_threads_here(int n);

#ifdef __cplusplus
}
#endif
#endif
