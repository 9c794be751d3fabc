// openblas_dl.h: OpenBLAS, the GEMM yardstick of `bench gemm` and `perf-check`, loaded only when one of
// them runs.
//
// Linked into the CLI, OpenBLAS would start its thread pool, with a large buffer per thread, in every
// process at load time: `springfield train` under a tight `ulimit -v` then hung at exit in a pool thread
// retrying its allocation. Loaded with dlopen on first use, it exists only in the benchmarks that time it.
// It reads OPENBLAS_CORETYPE when it loads, so set that (or re-execute, openblas_env.h) before the first call.
#ifndef SF_OPENBLAS_DL_H
#define SF_OPENBLAS_DL_H

#include <cblas.h>  // declarations only: nothing here links against OpenBLAS

typedef struct {
    __typeof__(cblas_sgemm) *sgemm;
    __typeof__(openblas_get_corename) *get_corename;
    __typeof__(openblas_get_config) *get_config;
    __typeof__(openblas_set_num_threads) *set_num_threads;
} sf_openblas_api;

// The library's entry points, loaded on the first call (thread-safe). A missing library or symbol ends the
// program with a message naming it and the package that provides it.
const sf_openblas_api *sf_openblas(void);

#endif
