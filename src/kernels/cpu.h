// cpu.h: what the processor can do, and which instruction-set path the kernels take.
//
// The ISA is chosen once, on first use, from cpuid (x86) or the build target (aarch64), and can be
// overridden with SPRINGFIELD_ISA=avx512|avx2|neon|scalar. An override the CPU cannot run is an error,
// never a silent fallback, so that a test run labelled avx2 really exercised avx2.
#ifndef SF_CPU_H
#define SF_CPU_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { SF_ISA_SCALAR = 0, SF_ISA_AVX2 = 1, SF_ISA_AVX512 = 2, SF_ISA_NEON = 3 } sf_isa;

// The active ISA (thread-safe; decided once).
sf_isa sf_isa_active(void);
const char *sf_isa_name(sf_isa isa);
// Whether this CPU and this build can execute the given path.
int sf_isa_supported(sf_isa isa);
// Parse "avx512" etc.; returns -1 when unknown.
int sf_isa_parse(const char *name);

// Channel block of the blocked activation layout nChw{vb}c for the active ISA: the number of fp32 lanes
// in one vector register (16 avx512, 8 avx2, 4 neon; 8 for scalar so that the scalar path runs the same
// blocked loops as the vector ones).
int sf_vb(void);
// Channel block of a first layer's output of c channels: sf_vb(), except 8 on AVX-512 when c <= 8. Half
// of each 16-lane block would be zero padding that every later pass (pooling, batch norm, their
// gradients) reads and writes; at 8 the plan runs the AVX2 kernels, as fast for 8 useful lanes.
// SPRINGFIELD_NARROW=0 keeps sf_vb() (for comparisons).
int sf_vb_first(int c);

// Whether the bf16 compute paths run: the AVX-512 path is active and the CPU has AVX512_BF16 (the
// vdpbf16ps pair dot product and the vcvtne*ps2bf16 conversions). SPRINGFIELD_BF16=0 says no.
bool sf_bf16_supported(void);

typedef struct {
    char name[128];       // marketing name from cpuid or /proc/cpuinfo
    char vendor[16];      // GenuineIntel, AuthenticAMD, ARM ...
    int family, model;    // x86 family/model (0 elsewhere)
    size_t l1d, l2, l3;   // data cache sizes in bytes per core (L3: per package); 0 when unknown
    int logical_cpus;     // online logical CPUs
} sf_cpu_info;

const sf_cpu_info *sf_cpu(void);

// Measured single-thread fp32 peak of the active ISA in GFLOP/s: a short burst of independent FMAs
// (vector lanes x 2 flops x FMA ports x clock, as observed). Cached after the first call; takes ~50 ms.
double sf_peak_gflops(void);
// The same probe run on `threads` threads at once (total GFLOP/s).
double sf_peak_gflops_threads(int threads);

#endif
