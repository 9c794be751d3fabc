// fuzz_options.c: libFuzzer harness for the option parser. The input is split at NUL bytes and
// newlines into an argv against a table that covers every option type; parsing must never crash,
// read out of bounds or leave an error message empty.
//
//   clang -std=c11 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
//       fuzz/fuzz_options.c src/cli/options.c src/util/util.c -o build/fuzz_options
//   build/fuzz_options -max_total_time=60
#include "cli/options.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const sf_opt_spec spec[] = {
    {"model", SF_OPT_CHOICE, "simple", "simple|best|resnet18|resnet50", 0, 0, "architecture"},
    {"batch", SF_OPT_INT, "64", NULL, 1, 4096, "batch size"},
    {"seed", SF_OPT_INT, "0", NULL, 0, 0, "seed"},
    {"lr", SF_OPT_FLOAT, "1e-3", NULL, 0, 10, "learning rate"},
    {"amsgrad", SF_OPT_FLAG, "on", NULL, 0, 0, "AMSGrad"},
    {"data", SF_OPT_STR, NULL, NULL, 0, 0, "folder"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])
#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "fuzz";
    char *p = buf, *end = buf + size;
    while (p <= end && argc < MAX_ARGS) {
        argv[argc++] = p;
        while (p < end && *p && *p != '\n') p++;
        *p = 0;
        p++;
    }
    argv[argc] = NULL;
    sf_opts o;
    char err[256];
    int rc = sf_opts_parse(&o, spec, NSPEC, argc, argv, err, sizeof err);
    if (rc == SF_OPTS_ERROR && err[0] == 0) abort();
    if (rc == SF_OPTS_OK) {
        // Every accepted value must read back within its declared range.
        long b = sf_opt_int(&o, "batch");
        double lr = sf_opt_float(&o, "lr");
        if (b < 1 || b > 4096 || !(lr >= 0 && lr <= 10)) abort();
        (void)sf_opt_str(&o, "model");
        (void)sf_opt_flag(&o, "amsgrad");
    }
    free(buf);
    return 0;
}
