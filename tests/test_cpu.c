// test_cpu.c: ISA selection, the override, and the peak probe's plausibility.
#include <criterion/criterion.h>
#include <stdlib.h>
#include "springfield.h"

Test(cpu, active_isa_is_supported) {
    sf_isa isa = sf_isa_active();
    cr_log_info("active ISA: %s, vb %d", sf_isa_name(isa), sf_vb());
    cr_assert(sf_isa_supported(isa));
    const char *env = getenv("SPRINGFIELD_ISA");
    if (env && *env) cr_assert_eq(sf_isa_parse(env), (int)isa, "override %s not honoured", env);
}

Test(cpu, parse_names) {
    cr_assert_eq(sf_isa_parse("avx512"), SF_ISA_AVX512);
    cr_assert_eq(sf_isa_parse("AVX2"), SF_ISA_AVX2);
    cr_assert_eq(sf_isa_parse("neon"), SF_ISA_NEON);
    cr_assert_eq(sf_isa_parse("scalar"), SF_ISA_SCALAR);
    cr_assert_eq(sf_isa_parse("sse9"), -1);
    cr_assert(sf_isa_supported(SF_ISA_SCALAR));
}

Test(cpu, vb_matches_isa) {
    int vb = sf_vb();
    switch (sf_isa_active()) {
    case SF_ISA_AVX512: cr_assert_eq(vb, 16); break;
    case SF_ISA_NEON: cr_assert_eq(vb, 4); break;
    default: cr_assert_eq(vb, 8); break;
    }
}

Test(cpu, peak_probe_is_plausible) {
    double p = sf_peak_gflops();
    cr_log_info("measured single-thread peak %.1f GFLOP/s (%s)", p, sf_isa_name(sf_isa_active()));
    // Any CPU of the last decade does at least 1 GFLOP/s; more than 1000 per core means a broken timer.
    // Under qemu (make test-neon sets SPRINGFIELD_EMULATED) only the upper bound means anything.
    double lo = getenv("SPRINGFIELD_EMULATED") ? 0.0 : 1.0;
    cr_assert(p > lo && p < 1000.0, "implausible peak %.1f", p);
}

Test(cpu, caches_known) {
    const sf_cpu_info *c = sf_cpu();
    cr_log_info("cpu %s: L1d %zu L2 %zu L3 %zu", c->name, c->l1d, c->l2, c->l3);
    cr_assert(c->logical_cpus >= 1);
}
