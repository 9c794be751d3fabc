// fuzz_image.c: libFuzzer harness over the JPEG / PNG decoder (sf_image_decode, in memory). The last
// input byte picks the DCT downscale target, so the scaled JPEG paths are fuzzed too.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int sides[4] = {0, 16, 64, 224};
    // 4 Mpixel keeps each run fast; the declared-size check before allocation is what is under test.
    sf_decode_opts opt = {.min_side = size ? sides[data[size - 1] & 3] : 0, .max_pixels = (size_t)1 << 22};
    char err[SF_IMAGE_ERR_LEN];
    err[0] = '\0';
    sf_image_sniff(data, size);
    sf_image img = {0};
    if (sf_image_decode(&img, data, size, &opt, "fuzz", err, sizeof err) != 0) {
        if (strlen(err) == 0) abort();  // a rejection must say why
        return 0;
    }
    if (img.w <= 0 || img.h <= 0 || !img.px || (size_t)img.w * (size_t)img.h > opt.max_pixels) abort();
    // Read the first and last pixel so ASan checks the buffer really is (H,W,3).
    volatile uint8_t sink = img.px[0];
    sink = img.px[(size_t)img.w * (size_t)img.h * 3 - 1];
    (void)sink;
    sf_image_free(&img);
    return 0;
}
