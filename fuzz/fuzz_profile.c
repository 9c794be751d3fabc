// fuzz_profile.c: libFuzzer harness for the profile parser (src/kernels/profile.h).
// Any input must parse or fail with a message, never crash; a profile that parses must write out and
// parse back to the same settings.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sf_profile p, q;
    char err[256];
    if (sf_profile_parse(&p, (const char *)data, size, err, sizeof err) != 0) {
        if (strncmp(err, "line ", 5) != 0 && !strstr(err, ".margin' given without")) abort();
        return 0;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return 0;
    sf_profile_write(f, &p);
    fclose(f);
    if (sf_profile_parse(&q, buf, len, err, sizeof err) != 0) {
        fprintf(stderr, "written profile does not parse back: %s\n%s", err, buf);
        abort();
    }
    free(buf);
    if (q.family != p.family || q.model != p.model || q.gemm_mc != p.gemm_mc || q.gemm_kc != p.gemm_kc ||
        q.gemm_nc != p.gemm_nc || q.n_baselines != p.n_baselines || strcmp(q.vendor, p.vendor) ||
        strcmp(q.brand, p.brand))
        abort();
    for (int i = 0; i < p.n_baselines; i++)
        if (strcmp(q.baseline[i].key, p.baseline[i].key)) abort();
    return 0;
}
