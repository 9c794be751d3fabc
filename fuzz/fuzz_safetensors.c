// fuzz_safetensors.c: libFuzzer harness over the safetensors reader. Any input must either open
// cleanly, with every tensor's bytes inside the buffer, or be rejected with a message; never crash.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    err[0] = '\0';
    sf_st_file *f = sf_st_open_memory(data, size, err, sizeof err);
    if (!f) {
        if (strlen(err) == 0) abort();  // a rejection must say why
        return 0;
    }
    // Touch every byte of every tensor so ASan sees any pointer that escaped the buffer.
    for (int i = 0; i < sf_st_count(f); i++) {
        const sf_st_tensor *t = sf_st_get_index(f, i);
        size_t n = sf_dtype_size(t->dtype);
        for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
        const uint8_t *p = t->data;
        for (size_t k = 0; k < n; k++) sink += p[k];
        if (sf_st_get(f, t->name) == NULL) abort();  // every listed name must be found again
    }
    sf_st_meta(f, "sf_crc32");
    sf_st_close(f);
    return 0;
}
