// cpu_probe_scalar.c: FMA probe for the portable path (what compiled C achieves without -m flags).
#include "kernels/cpu_probe.h"

double sf_fma_probe_scalar(long iters) {
    // 8 independent chains hide the FMA latency; volatile seeds stop constant folding.
    volatile float seed = 1.0f;
    float a0 = seed, a1 = seed, a2 = seed, a3 = seed, a4 = seed, a5 = seed, a6 = seed, a7 = seed;
    const float m = 0.999999f, c = 1e-7f;
    for (long i = 0; i < iters; i++) {
        a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
        a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
    }
    seed = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    return 16.0 * (double)iters;
}
