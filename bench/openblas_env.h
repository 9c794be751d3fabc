// openblas_env.h: re-running a benchmark under the OpenBLAS kernel it must be compared with.
// OpenBLAS picks its kernel once, at load time, from OPENBLAS_CORETYPE or its own CPU detection; a
// process that wants another one must exec itself again with the variable set.
#ifndef SF_OPENBLAS_ENV_H
#define SF_OPENBLAS_ENV_H

// Re-executes this process with its full command line (from /proc/self/cmdline: a suite's argv is only
// its slice of it), with OPENBLAS_CORETYPE=core (NULL: unset), OPENBLAS_L2_SIZE unset and the loop guard
// guard_var=guard_val set. Returns only if that fails, after a warning that starts with `who`.
// The loop guard of `bench gemm`'s re-execution; set in the re-executed child.
#define SF_BENCH_GEMM_REEXEC "SF_BENCH_GEMM_REEXEC"

void sf_bench_reexec_openblas(const char *core, const char *guard_var, const char *guard_val, const char *who);

#endif
