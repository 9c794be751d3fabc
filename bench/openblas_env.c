// openblas_env.c: see openblas_env.h.
#include "bench/openblas_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/util.h"

void sf_bench_reexec_openblas(const char *core, const char *guard_var, const char *guard_val, const char *who) {
    static char buf[8192];
    char *args[256];
    FILE *f = fopen("/proc/self/cmdline", "rb");
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    int n = 0;
    for (size_t i = 0; i < len && n < 255; i += strlen(buf + i) + 1) args[n++] = buf + i;
    args[n] = NULL;
    if (!n) {
        sf_warn("%s: cannot read /proc/self/cmdline; OpenBLAS keeps the inherited OPENBLAS_* settings", who);
        return;
    }
    unsetenv("OPENBLAS_L2_SIZE");
    if (core) setenv("OPENBLAS_CORETYPE", core, 1);
    else unsetenv("OPENBLAS_CORETYPE");
    setenv(guard_var, guard_val, 1);
    fflush(stdout);
    fflush(stderr);
    execv("/proc/self/exe", args);
    sf_warn("%s: re-exec failed; OpenBLAS runs with the inherited OPENBLAS_* settings", who);
}
