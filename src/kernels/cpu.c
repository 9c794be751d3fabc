// cpu.c: ISA detection and override, cache sizes, and the FMA peak probe (see cpu.h).
#include "kernels/cpu.h"
#include "kernels/cpu_probe.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static const char *isa_names[] = {"scalar", "avx2", "avx512", "neon"};

const char *sf_isa_name(sf_isa isa) { return (unsigned)isa < 4 ? isa_names[isa] : "?"; }

int sf_isa_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, isa_names[i]) == 0) return i;
    return -1;
}

int sf_isa_supported(sf_isa isa) {
    switch (isa) {
    case SF_ISA_SCALAR: return 1;
#if defined(__x86_64__)
    case SF_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SF_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("fma");
#endif
#if defined(__aarch64__)
    case SF_ISA_NEON: return 1;
#endif
    default: return 0;
    }
}

static sf_isa g_isa;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;

static void isa_init(void) {
    const char *env = getenv("SPRINGFIELD_ISA");
    if (env && *env) {
        int isa = sf_isa_parse(env);
        if (isa < 0) sf_die("SPRINGFIELD_ISA=%s is not one of avx512, avx2, neon, scalar", env);
        if (!sf_isa_supported((sf_isa)isa))
            sf_die("SPRINGFIELD_ISA=%s: this CPU or build cannot run that path", env);
        g_isa = (sf_isa)isa;
        return;
    }
    if (sf_isa_supported(SF_ISA_AVX512)) g_isa = SF_ISA_AVX512;
    else if (sf_isa_supported(SF_ISA_AVX2)) g_isa = SF_ISA_AVX2;
    else if (sf_isa_supported(SF_ISA_NEON)) g_isa = SF_ISA_NEON;
    else g_isa = SF_ISA_SCALAR;
}

sf_isa sf_isa_active(void) {
    pthread_once(&g_isa_once, isa_init);
    return g_isa;
}

int sf_vb(void) {
    switch (sf_isa_active()) {
    case SF_ISA_AVX512: return 16;
    case SF_ISA_NEON: return 4;
    default: return 8;
    }
}

int sf_vb_first(int c) {
    const char *e = getenv("SPRINGFIELD_NARROW");
    if (sf_vb() == 16 && c <= 8 && !(e && !strcmp(e, "0"))) return 8;
    return sf_vb();
}

bool sf_bf16_supported(void) {
    const char *e = getenv("SPRINGFIELD_BF16");
    if (e && !strcmp(e, "0")) return false;
#if defined(__x86_64__)
    // AVX512_BF16 is CPUID.(EAX=7, ECX=1):EAX bit 5; the OS state for zmm is part of the AVX-512 check.
    unsigned a, b, c, d;
    return sf_isa_active() == SF_ISA_AVX512 && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1);
#else
    return false;
#endif
}

static sf_cpu_info g_cpu;
static pthread_once_t g_cpu_once = PTHREAD_ONCE_INIT;

static size_t sysconf_size(int name) {
    long v = sysconf(name);
    return v > 0 ? (size_t)v : 0;
}

// Read a cache size such as "48K" from sysfs, the fallback where sysconf does not know it.
static size_t sysfs_cache(int index) {
    char path[96], buf[32];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", index);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t v = 0;
    if (fgets(buf, sizeof buf, f)) {
        char *end;
        v = strtoul(buf, &end, 10);
        if (*end == 'K') v <<= 10;
        else if (*end == 'M') v <<= 20;
    }
    fclose(f);
    return v;
}

static void cpu_init(void) {
    sf_cpu_info *c = &g_cpu;
    memset(c, 0, sizeof *c);
#if defined(__x86_64__)
    unsigned a, b, cx, d;
    if (__get_cpuid(0, &a, &b, &cx, &d)) {
        memcpy(c->vendor, &b, 4);
        memcpy(c->vendor + 4, &d, 4);
        memcpy(c->vendor + 8, &cx, 4);
    }
    if (__get_cpuid(1, &a, &b, &cx, &d)) {
        int fam = (a >> 8) & 0xf, mod = (a >> 4) & 0xf;
        if (fam == 0xf) fam += (a >> 20) & 0xff;
        if (fam == 0x6 || fam >= 0xf) mod |= ((a >> 16) & 0xf) << 4;
        c->family = fam;
        c->model = mod;
    }
    unsigned regs[12];
    if (__get_cpuid(0x80000000, &a, &b, &cx, &d) && a >= 0x80000004) {
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
        memcpy(c->name, regs, 48);
        c->name[48] = 0;
    }
#elif defined(__aarch64__)
    strcpy(c->vendor, "ARM");
    strcpy(c->name, "aarch64");
#endif
    // Trim the padding spaces some CPUs put in the brand string.
    char *s = c->name;
    while (*s == ' ') s++;
    memmove(c->name, s, strlen(s) + 1);
    for (size_t n = strlen(c->name); n && c->name[n - 1] == ' '; n--) c->name[n - 1] = 0;
    if (!c->name[0]) strcpy(c->name, "unknown");
#ifdef _SC_LEVEL1_DCACHE_SIZE
    c->l1d = sysconf_size(_SC_LEVEL1_DCACHE_SIZE);
    c->l2 = sysconf_size(_SC_LEVEL2_CACHE_SIZE);
    c->l3 = sysconf_size(_SC_LEVEL3_CACHE_SIZE);
#endif
    if (!c->l1d) c->l1d = sysfs_cache(0);
    if (!c->l2) c->l2 = sysfs_cache(2);
    if (!c->l3) c->l3 = sysfs_cache(3);
    c->logical_cpus = (int)sysconf_size(_SC_NPROCESSORS_ONLN);
}

const sf_cpu_info *sf_cpu(void) {
    pthread_once(&g_cpu_once, cpu_init);
    return &g_cpu;
}

double sf_fma_probe_burst(sf_isa isa, long iters) {
    switch (isa) {
#if defined(__x86_64__)
    case SF_ISA_AVX512: return sf_fma_probe_avx512(iters);
    case SF_ISA_AVX2: return sf_fma_probe_avx2(iters);
#endif
#if defined(__aarch64__)
    case SF_ISA_NEON: return sf_fma_probe_neon(iters);
#endif
    default: return sf_fma_probe_scalar(iters);
    }
}

// Best of several bursts per thread: the peak is a capability, so noise only ever lowers it. The burst
// length is calibrated to ~20 ms so the probe is short on fast CPUs and still finishes under emulation.
static double probe_threads(int threads) {
    sf_isa isa = sf_isa_active();
    long iters = 1000;
    for (;;) {
        double t0 = sf_now();
        sf_fma_probe_burst(isa, iters);
        if (sf_now() - t0 > 0.02 || iters > (1L << 30)) break;
        iters *= 2;
    }
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double flops = 0, t0 = sf_now();
#pragma omp parallel num_threads(threads) reduction(+ : flops)
        flops += sf_fma_probe_burst(isa, iters);
        double dt = sf_now() - t0;
        if (flops / dt > best) best = flops / dt;
    }
    return best * 1e-9;
}

double sf_peak_gflops_threads(int threads) { return probe_threads(threads < 1 ? 1 : threads); }

static double g_peak;
static pthread_once_t g_peak_once = PTHREAD_ONCE_INIT;
static void peak_init(void) { g_peak = probe_threads(1); }

double sf_peak_gflops(void) {
    pthread_once(&g_peak_once, peak_init);
    return g_peak;
}
