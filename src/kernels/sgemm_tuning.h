// sgemm_tuning.h: the cache blocking of sf_sgemm, for profile loaders and benchmarks.
//
// Defaults come from the cache sizes of sf_cpu() and the active ISA's register tile; the environment
// variables SPRINGFIELD_GEMM_MC, SPRINGFIELD_GEMM_KC and SPRINGFIELD_GEMM_NC override them at first use.
#ifndef SF_SGEMM_TUNING_H
#define SF_SGEMM_TUNING_H

// Set the cache blocks (a value <= 0 keeps the current one). MC is rounded up to a multiple of MR and NC
// to a multiple of NR. Not thread-safe against a concurrent sf_sgemm: call it at start-up.
void sf_sgemm_set_blocking(int mc, int kc, int nc);
// The register tile, the cache blocks in use and the micro-kernel's name (e.g. "avx512_14x32");
// any pointer may be NULL.
void sf_sgemm_get_blocking(int *mr, int *nr, int *mc, int *kc, int *nc, const char **kernel_name);

#endif
