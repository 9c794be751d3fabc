// bench_main.c: `springfield bench <suite> [options]` and `springfield bench all`.
#include "bench/bench.h"
#include "bench/openblas_env.h"
#include "cli/commands.h"
#include "cli/placement.h"
#include "springfield.h"
#include "kernels/profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma weak sf_bench_gemm
#pragma weak sf_bench_conv
#pragma weak sf_bench_layers
#pragma weak sf_bench_data
#pragma weak sf_bench_train

void sf_bench_place_threads(int threads) {
    sf_placement pl;
    char err[256];
    if (sf_placement_setup(&pl, threads, "auto", 64, err, sizeof err)) {
        fprintf(stderr, "springfield: bench: threads left unbound: %s\n", err);
        sf_set_threads(threads);
    }
}

typedef struct {
    const char *name;
    int (*fn)(int, char **);
} suite;

static const suite suites[] = {
    {"gemm", sf_bench_gemm}, {"conv", sf_bench_conv}, {"layers", sf_bench_layers},
    {"data", sf_bench_data}, {"train", sf_bench_train},
};
#define N_SUITES (int)(sizeof suites / sizeof suites[0])

int sf_cmd_bench(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        printf("usage: springfield bench <suite|all> [options]   suites:");
        for (int i = 0; i < N_SUITES; i++) printf(" %s", suites[i].name);
        printf("\n");
        return argc < 2 ? 2 : 0;
    }
    // Measure what training runs: the CPU's tuned profile (GEMM blocks, convolution blocking), as train does.
    const sf_profile *prof = sf_profile_active();
    if (!getenv(SF_BENCH_GEMM_REEXEC))  // bench gemm re-executes itself for OpenBLAS: say it once
        fprintf(stderr, "bench: cpu profile %s%s%s%s\n", prof->name, prof->path[0] ? " (" : "", prof->path,
                prof->path[0] ? ")" : "");
    if (!strcmp(argv[1], "all")) {
        int rc = 0;
        for (int i = 0; i < N_SUITES; i++) {
            if (!suites[i].fn) continue;
            printf("## bench %s\n", suites[i].name);
            fflush(stdout);
            char *args[] = {(char *)suites[i].name, NULL};
            rc |= suites[i].fn(1, args);
        }
        return rc;
    }
    for (int i = 0; i < N_SUITES; i++) {
        if (strcmp(argv[1], suites[i].name)) continue;
        if (!suites[i].fn) {
            fprintf(stderr, "springfield: bench %s is not available in this build\n", argv[1]);
            return 2;
        }
        return suites[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "springfield: unknown bench suite '%s'\n", argv[1]);
    return 2;
}
