// cpu_probe.h: per-ISA FMA throughput probes used by sf_peak_gflops. Each returns the flops it did.
#ifndef SF_CPU_PROBE_H
#define SF_CPU_PROBE_H
double sf_fma_probe_scalar(long iters);
double sf_fma_probe_avx2(long iters);
double sf_fma_probe_avx512(long iters);
double sf_fma_probe_neon(long iters);
#endif
