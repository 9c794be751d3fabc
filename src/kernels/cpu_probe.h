// cpu_probe.h: per-ISA FMA throughput probes used by sf_peak_gflops. Each returns the flops it did.
#ifndef SF_CPU_PROBE_H
#define SF_CPU_PROBE_H

#include "kernels/cpu.h"

double sf_fma_probe_scalar(long iters);
double sf_fma_probe_avx2(long iters);
double sf_fma_probe_avx512(long iters);
double sf_fma_probe_neon(long iters);
// One burst of isa's probe (iters iterations); returns the flops done. Callers time it themselves.
double sf_fma_probe_burst(sf_isa isa, long iters);
#endif
