// cmd_info.c: `springfield info`: CPU, ISA path, caches, threads and the measured FMA peak.
#include "cli/commands.h"
#include "springfield.h"

#include <stdio.h>
#include <string.h>

int sf_cmd_info(int argc, char **argv) {
    // --isa-supported NAME: exit status says whether this CPU runs that path (used by make test-isas).
    if (argc == 3 && !strcmp(argv[1], "--isa-supported")) {
        int isa = sf_isa_parse(argv[2]);
        return isa >= 0 && sf_isa_supported((sf_isa)isa) ? 0 : 1;
    }
    const sf_cpu_info *c = sf_cpu();
    printf("cpu:       %s (%s family %d model %d), %d logical CPUs\n", c->name, c->vendor, c->family,
           c->model, c->logical_cpus);
    printf("isa:       %s (vector block %d floats)", sf_isa_name(sf_isa_active()), sf_vb());
    printf("; supported:");
    for (int i = 0; i < 4; i++)
        if (sf_isa_supported((sf_isa)i)) printf(" %s", sf_isa_name((sf_isa)i));
    printf("\n");
    printf("caches:    L1d %zu KiB, L2 %zu KiB, L3 %zu KiB\n", c->l1d >> 10, c->l2 >> 10, c->l3 >> 10);
    printf("threads:   %d\n", sf_threads());
    double p1 = sf_peak_gflops();
    double pn = sf_peak_gflops_threads(sf_threads());
    printf("peak:      %.1f GFLOP/s fp32 on 1 thread, %.1f GFLOP/s on %d threads (measured FMA probe)\n", p1,
           pn, sf_threads());
    return 0;
}
