// fuzz_image.c: libFuzzer harness over the JPEG / PNG decoder (sf_image_decode, in memory). The last
// input byte picks the DCT downscale target (bits 0-1), so the scaled JPEG paths are fuzzed too, and a
// partial decode (bits 2-4): one of five regions, read to the end of the stream or stopped after it.
// The partial decode is checked against the full one: without the stop they fail or succeed together,
// with it a file that decodes whole still does, and when both succeed the pixels inside the region are
// equal.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// ctx is the region number: a quarter of the image (0..3) or an empty region (4).
static void pick_region(sf_rect *r, int w, int h, void *ctx) {
    int q = *(const int *)ctx;
    if (q == 4) {
        r->x0 = r->x1 = w / 2, r->y0 = r->y1 = h / 2;
        return;
    }
    r->x0 = q & 1 ? w / 2 : 0, r->x1 = q & 1 ? w : (w + 1) / 2;
    r->y0 = q & 2 ? h / 2 : 0, r->y1 = q & 2 ? h : (h + 1) / 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int sides[4] = {0, 16, 64, 224};
    uint8_t last = size ? data[size - 1] : 0;
    // 4 Mpixel keeps each run fast; the declared-size check before allocation is what is under test.
    sf_decode_opts opt = {.min_side = sides[last & 3], .max_pixels = (size_t)1 << 22};
    char err[SF_IMAGE_ERR_LEN];
    err[0] = '\0';
    sf_image_sniff(data, size);
    sf_image img = {0};
    int rc = sf_image_decode(&img, data, size, &opt, "fuzz", err, sizeof err);
    if (rc != 0 && strlen(err) == 0) abort();  // a rejection must say why
    if (rc == 0) {
        if (img.w <= 0 || img.h <= 0 || !img.px || (size_t)img.w * (size_t)img.h > opt.max_pixels) abort();
        // Read the first and last pixel so ASan checks the buffer really is (H,W,3).
        volatile uint8_t sink = img.px[0];
        sink = img.px[(size_t)img.w * (size_t)img.h * 3 - 1];
        (void)sink;
    }
    int mode = (last >> 2) & 7;  // 0..4: that region read to the end; 5..7: regions 0..2 stopped after it
    int q = mode < 5 ? mode : mode - 5;
    sf_decode_opts part_opt = opt;
    part_opt.region = pick_region;
    part_opt.region_ctx = &q;
    part_opt.region_stop = mode >= 5;
    sf_image part = {0};
    char perr[SF_IMAGE_ERR_LEN];
    perr[0] = '\0';
    int prc = sf_image_decode(&part, data, size, &part_opt, "fuzz", perr, sizeof perr);
    if (prc != 0 && strlen(perr) == 0) abort();
    if (!part_opt.region_stop && prc != rc) abort();  // a partial read still validates the whole stream
    if (rc == 0 && prc != 0) abort();                  // and never fails on a file that decodes whole
    if (rc == 0 && prc == 0) {
        if (part.w != img.w || part.h != img.h) abort();
        // Damage above or inside the region makes the partial decode a full one; damage below it goes
        // unseen with the stop; so the region's pixels agree either way.
        sf_rect r = {0, 0, img.w, img.h};
        pick_region(&r, img.w, img.h, &q);
        for (int y = r.y0; y < r.y1; y++)
            if (memcmp(img.px + ((size_t)y * img.w + r.x0) * 3, part.px + ((size_t)y * img.w + r.x0) * 3,
                       (size_t)(r.x1 - r.x0) * 3))
                abort();
    }
    sf_image_free(&part);
    sf_image_free(&img);
    return 0;
}
