// test_data_augment.c: the fused crop/rotate/flip/resize/normalise pass and the evaluation transform,
// against PIL/torchvision goldens (tests/golden/make_data.py) and exact geometric cases.
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "data/augment.h"
#include "data/warp_kernels.h"
#include "kernels/cpu.h"
#include "util/npy.h"

static uint8_t *to_u8(const npy_array *a) {
    uint8_t *p = malloc(a->count);
    for (size_t i = 0; i < a->count; i++) p[i] = (uint8_t)a->f[i];
    return p;
}

// The normalised value of grey level v in channel c.
static float norm(float v, int c) { return (v / 255.0f - sf_imagenet_mean[c]) / sf_imagenet_std[c]; }

static sf_augment_params full_crop(int w, int h, float angle, int flip) {
    sf_augment_params p = {0};
    p.angle = angle;
    sf_augment_canvas(&p.rot_w, &p.rot_h, angle, w, h);
    p.flip = flip;
    p.crop_w = p.rot_w;
    p.crop_h = p.rot_h;
    return p;
}

Test(data_augment, eval_transform_matches_torchvision) {
    npy_array in = npy_load("data/eval_in.npy"), ref = npy_load("data/eval_64.npy");
    int h = (int)in.shape[0], w = (int)in.shape[1], s = (int)ref.shape[1];
    uint8_t *src = to_u8(&in);
    float *out = malloc(sizeof(float) * 3 * s * s);
    sf_eval_transform(out, s, src, w, h, 0, NULL);
    double e = max_abs_err(out, ref.f, ref.count);
    cr_log_info("eval transform %dx%d -> (3,%d,%d): max abs err %.3g", w, h, s, s, e);
    cr_assert_lt(e, 1e-5);
    // The flipped variant is the mirror image.
    float *fl = malloc(sizeof(float) * 3 * s * s);
    sf_eval_transform(fl, s, src, w, h, 1, NULL);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
                cr_assert_eq(fl[(c * s + y) * s + x], out[(c * s + y) * s + (s - 1 - x)]);
    free(fl);
    free(out);
    free(src);
    npy_free(&in);
    npy_free(&ref);
}

// With no rotation, no flip and the whole image as crop, the fused pass is a bilinear upscale, which PIL
// computes the same way (edge clamped) but rounds to 8 bits: tolerance one grey level.
Test(data_augment, warp_upscale_matches_pil_bilinear) {
    npy_array in = npy_load("data/resize_7_in.npy"), ref = npy_load("data/resize_7_bilinear.npy");
    int h = (int)in.shape[0], w = (int)in.shape[1], s = (int)ref.shape[0];
    uint8_t *src = to_u8(&in);
    float *out = malloc(sizeof(float) * 3 * s * s);
    sf_augment_params p = full_crop(w, h, 0.0f, 0);
    sf_affine a;
    sf_augment_affine(&a, &p, w, h, s);
    sf_warp_normalize(out, s, src, w, h, &a);
    double maxg = 0;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < s * s; i++) {
            double grey = (out[c * s * s + i] * sf_imagenet_std[c] + sf_imagenet_mean[c]) * 255.0;
            maxg = fmax(maxg, fabs(grey - ref.f[(size_t)i * 3 + c]));
        }
    cr_log_info("fused warp %dx%d -> %dx%d vs PIL bilinear: max diff %.3f grey levels", w, h, s, s, maxg);
    cr_assert_leq(maxg, 1.0);
    free(out);
    free(src);
    npy_free(&in);
    npy_free(&ref);
}

Test(data_augment, canvas_size_matches_pil_rotate_expand) {
    npy_array r = npy_load("data/rotate_sizes.npy");
    for (int64_t i = 0; i < r.shape[0]; i++) {
        const float *row = r.f + i * 5;
        int cw, ch;
        sf_augment_canvas(&cw, &ch, row[2], (int)row[0], (int)row[1]);
        cr_expect(cw == (int)row[3] && ch == (int)row[4], "%gx%g rotated %g: got %dx%d, PIL %gx%g", row[0],
                  row[1], row[2], cw, ch, row[3], row[4]);
    }
    npy_free(&r);
}

// Identity, mirror and a quarter turn land exactly on source pixels.
Test(data_augment, exact_geometry) {
    enum { S = 6 };
    uint8_t src[S * S * 3];
    for (int i = 0; i < S * S * 3; i++) src[i] = (uint8_t)(i * 37 % 251);
    float out[3 * S * S];
    const int cases[3][2] = {{0, 0}, {0, 1}, {90, 0}};
    double maxe = 0;
    for (int k = 0; k < 3; k++) {
        sf_augment_params p = full_crop(S, S, (float)cases[k][0], cases[k][1]);
        cr_assert(p.rot_w == S && p.rot_h == S);
        sf_affine a;
        sf_augment_affine(&a, &p, S, S, S);
        sf_warp_normalize(out, S, src, S, S, &a);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    int sx = x, sy = y;
                    if (k == 1) sx = S - 1 - x;
                    if (k == 2) sx = S - 1 - y, sy = x;  // PIL rotate(90): counter-clockwise
                    float want = norm(src[(sy * S + sx) * 3 + c], c);
                    maxe = fmax(maxe, fabs(out[(c * S + y) * S + x] - want));
                }
    }
    cr_log_info("identity / flip / rot90: max abs err %.3g", maxe);
    cr_assert_lt(maxe, 1e-4);
}

// Corners of a rotated image are black (fill 0), i.e. the normalised zero.
Test(data_augment, rotation_fills_black) {
    enum { W = 40, H = 30, S = 32 };
    uint8_t *src = malloc(W * H * 3);
    for (int i = 0; i < W * H * 3; i++) src[i] = 255;
    float *out = malloc(sizeof(float) * 3 * S * S);
    sf_augment_params p = full_crop(W, H, 15.0f, 0);
    cr_assert(p.rot_w > W && p.rot_h > H);
    sf_affine a;
    sf_augment_affine(&a, &p, W, H, S);
    sf_warp_normalize(out, S, src, W, H, &a);
    for (int c = 0; c < 3; c++) {
        cr_assert_float_eq(out[c * S * S], norm(0, c), 1e-6);                    // top-left corner
        cr_assert_float_eq(out[c * S * S + (S / 2) * S + S / 2], norm(255, c), 1e-4);  // centre
    }
    free(out);
    free(src);
}

Test(data_augment, random_parameters_in_range) {
    sf_augment_cfg cfg = sf_augment_defaults();
    sf_rng r;
    sf_rng_seed(&r, 7, 1);
    int flips = 0, n = 20000;
    double amin = 1e9, amax = -1e9, smin = 1e9, smax = 0;
    for (int i = 0; i < n; i++) {
        sf_augment_params p;
        sf_augment_draw(&p, &cfg, 100, 80, &r);
        cr_assert(p.angle >= -15.0f && p.angle <= 15.0f);
        cr_assert(p.crop_x >= 0 && p.crop_y >= 0 && p.crop_w > 0 && p.crop_h > 0);
        cr_assert(p.crop_x + p.crop_w <= p.rot_w && p.crop_y + p.crop_h <= p.rot_h);
        flips += p.flip;
        amin = fmin(amin, p.angle), amax = fmax(amax, p.angle);
        double frac = (double)p.crop_w * p.crop_h / ((double)p.rot_w * p.rot_h);
        smin = fmin(smin, frac), smax = fmax(smax, frac);
    }
    double fr = (double)flips / n;
    cr_log_info("angle [%.2f, %.2f], area fraction [%.3f, %.3f], flip rate %.3f", amin, amax, smin, smax, fr);
    cr_assert(fabs(fr - 0.5) < 0.02);
    cr_assert(amin < -14.0 && amax > 14.0);
    cr_assert(smin > 0.06 && smin < 0.1 && smax > 0.95 && smax <= 1.0);
}

// A 6:1 strip cannot hold a crop of the whole area at ratio <= 4/3: all 10 attempts fail and the
// centre crop at the maximal ratio is used, as torchvision does.
Test(data_augment, center_crop_fallback) {
    sf_augment_cfg cfg = sf_augment_defaults();
    cfg.rot_deg = 0.0f;
    cfg.scale_min = cfg.scale_max = 1.0f;
    sf_rng r;
    sf_rng_seed(&r, 3, 3);
    sf_augment_params p;
    sf_augment_draw(&p, &cfg, 300, 50, &r);
    cr_assert_eq(p.crop_h, 50);
    cr_assert_eq(p.crop_w, 67);
    cr_assert_eq(p.crop_x, (300 - 67) / 2);
    cr_assert_eq(p.crop_y, 0);
}

// The fast pass (fixed-point interior, clamped edges, fill) against a naive double-precision bilinear
// per pixel, over random parameter draws that cover every part of a row.
Test(data_augment, fused_pass_matches_naive_reference) {
    enum { W = 53, H = 41, S = 48 };
    uint8_t *src = malloc(W * H * 3);
    for (int i = 0; i < W * H * 3; i++) src[i] = (uint8_t)((i * 2654435761u) >> 24);
    float *out = malloc(sizeof(float) * 3 * S * S);
    sf_augment_cfg cfg = sf_augment_defaults();
    cfg.rot_deg = 40.0f;
    sf_rng r;
    sf_rng_seed(&r, 5, 5);
    double maxe = 0;
    for (int k = 0; k < 60; k++) {
        sf_augment_params p;
        sf_augment_draw(&p, &cfg, W, H, &r);
        sf_affine a;
        sf_augment_affine(&a, &p, W, H, S);
        sf_warp_normalize(out, S, src, W, H, &a);
        for (int oy = 0; oy < S; oy++)
            for (int ox = 0; ox < S; ox++) {
                double fx = a.m[0] * ox + a.m[1] * oy + a.m[2], fy = a.m[3] * ox + a.m[4] * oy + a.m[5];
                for (int c = 0; c < 3; c++) {
                    double v = 0;
                    if (fx >= -1 && fx < W && fy >= -1 && fy < H) {
                        int x0 = (int)floor(fx), y0 = (int)floor(fy);
                        double dx = fx - x0, dy = fy - y0;
                        int xa = x0 < 0 ? 0 : x0, xb = x0 + 1 > W - 1 ? W - 1 : x0 + 1;
                        int ya = y0 < 0 ? 0 : y0, yb = y0 + 1 > H - 1 ? H - 1 : y0 + 1;
                        v = (1 - dx) * (1 - dy) * src[(ya * W + xa) * 3 + c] + dx * (1 - dy) * src[(ya * W + xb) * 3 + c] +
                            (1 - dx) * dy * src[(yb * W + xa) * 3 + c] + dx * dy * src[(yb * W + xb) * 3 + c];
                    }
                    double want = (v / 255.0 - sf_imagenet_mean[c]) / sf_imagenet_std[c];
                    maxe = fmax(maxe, fabs(out[(c * S + oy) * S + ox] - want));
                }
            }
    }
    cr_log_info("fused pass vs naive double bilinear, 60 draws: max abs err %.2g (%.3f grey levels)", maxe,
                maxe * 0.229 * 255);
    cr_assert_lt(maxe, 0.005);  // 11-bit weights: under a third of a grey level
    free(out);
    free(src);
}

// sf_warp_source_box holds every pixel the warp reads: with everything outside the box replaced by other
// values, the output keeps every bit, over random draws on sources smaller and larger than the output.
Test(data_augment, source_box_holds_every_read) {
    const int cases[6][3] = {{53, 41, 48}, {192, 128, 96}, {128, 171, 224}, {576, 432, 224}, {7, 300, 32}, {2, 3, 16}};
    sf_augment_cfg cfg = sf_augment_defaults();
    sf_rng r;
    sf_rng_seed(&r, 17, 3);
    double area = 0;
    int draws = 0;
    for (int c = 0; c < 6; c++) {
        int w = cases[c][0], h = cases[c][1], s = cases[c][2];
        uint8_t *src = malloc((size_t)w * h * 3), *poisoned = malloc((size_t)w * h * 3);
        float *want = malloc(sizeof(float) * 3 * s * s), *got = malloc(sizeof(float) * 3 * s * s);
        for (size_t i = 0; i < (size_t)w * h * 3; i++) src[i] = (uint8_t)((i * 2654435761u) >> 24);
        for (int k = 0; k < 40; k++) {
            cfg.rot_deg = k % 4 == 3 ? 60.0f : 15.0f;
            sf_augment_params p;
            sf_augment_draw(&p, &cfg, w, h, &r);
            sf_affine a;
            sf_augment_affine(&a, &p, w, h, s);
            int box[4];
            sf_warp_source_box(box, &a, s, w, h);
            cr_assert(0 <= box[0] && box[0] <= box[2] && box[2] <= w && 0 <= box[1] && box[1] <= box[3] && box[3] <= h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int ch = 0; ch < 3; ch++) {
                        size_t i = ((size_t)y * w + x) * 3 + ch;
                        int in = x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
                        poisoned[i] = in ? src[i] : (uint8_t)(255 - src[i] + k);
                    }
            sf_warp_normalize(want, s, src, w, h, &a);
            sf_warp_normalize(got, s, poisoned, w, h, &a);
            cr_assert(!memcmp(want, got, sizeof(float) * 3 * s * s),
                      "%dx%d -> %d, draw %d: the warp read outside box [%d,%d)x[%d,%d)", w, h, s, k, box[0], box[2],
                      box[1], box[3]);
            area += (double)(box[2] - box[0]) * (box[3] - box[1]) / ((double)w * h);
            draws++;
        }
        free(src);
        free(poisoned);
        free(want);
        free(got);
    }
    cr_log_info("%d draws: the box holds every read, %.0f%% of the source on average", draws, 100 * area / draws);
}

// Every ISA version of the row kernel gives the same bits as the scalar one (integer blend, unfused
// multiply-add), on spans of every length around the vector widths.
Test(data_augment, interior_kernels_agree) {
    enum { W = 70, H = 50, N = 100 };
    uint8_t *src = malloc(W * H * 3);
    for (int i = 0; i < W * H * 3; i++) src[i] = (uint8_t)((i * 2246822519u) >> 23);
    const float k[3] = {1e-8f, 2e-8f, 3e-8f}, bi[3] = {-1.0f, 0.5f, 2.0f};
    float ref[3][N], got[3][N];
    struct {
        sf_isa isa;
        sf_warp_interior_fn fn;
    } paths[2] = {{SF_ISA_AVX2, sf_warp_interior_avx2}, {SF_ISA_AVX512, sf_warp_interior_avx512}};
    int tested = 0;
    for (int p = 0; p < 2; p++) {
        if (!sf_isa_supported(paths[p].isa)) continue;
        tested++;
        for (int n = 1; n <= 40; n++) {
            // From (1.3, 2.7) towards (66.9, 45.2) in n steps: inside the [0, W-2] x [0, H-2] taps.
            int32_t X0 = (int32_t)(1.3 * 65536), Y0 = (int32_t)(2.7 * 65536);
            int32_t DX = (int32_t)(65.6 / n * 65536), DY = (int32_t)(42.5 / n * 65536);
            sf_warp_interior_scalar(ref[0], ref[1], ref[2], n, src, W * 3, X0, Y0, DX, DY, k, bi);
            paths[p].fn(got[0], got[1], got[2], n, src, W * 3, X0, Y0, DX, DY, k, bi);
            for (int c = 0; c < 3; c++)
                cr_assert(!memcmp(ref[c], got[c], sizeof(float) * n), "%s differs at n=%d", sf_isa_name(paths[p].isa), n);
        }
    }
    cr_log_info("%d vector kernels checked against scalar", tested);
    free(src);
}

// The vector kernels read nothing outside the image, not even in the lanes of a partial last block that
// lie past the span: the image fills whole pages between two inaccessible ones, and spans run into its
// first and last pixels from both directions.
Test(data_augment, interior_kernels_stay_inside_the_image) {
    enum { W = 64, H = 64 };  // W * H * 3 = 3 pages of 4096 bytes
    long page = sysconf(_SC_PAGESIZE);
    size_t bytes = (size_t)W * H * 3;
    cr_assert_eq(bytes % (size_t)page, 0);
    uint8_t *map = mmap(NULL, bytes + 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(map, MAP_FAILED);
    uint8_t *src = map + page;
    for (size_t i = 0; i < bytes; i++) src[i] = (uint8_t)((i * 2654435761u) >> 24);
    cr_assert_eq(mprotect(map, (size_t)page, PROT_NONE), 0);
    cr_assert_eq(mprotect(src + bytes, (size_t)page, PROT_NONE), 0);
    const float k[3] = {1e-8f, 2e-8f, 3e-8f}, bi[3] = {-1.0f, 0.5f, 2.0f};
    float ref[3][48], got[3][48];
    sf_warp_interior_fn fns[2] = {sf_warp_interior_avx2, sf_warp_interior_avx512};
    const sf_isa isas[2] = {SF_ISA_AVX2, SF_ISA_AVX512};
    int spans = 0;
    for (int f = 0; f < 2; f++) {
        if (!sf_isa_supported(isas[f])) continue;
        for (int n = 1; n <= 48; n++)
            for (int d = 0; d < 4; d++) {
                // d = 0, 1: a row along the bottom ending at (or starting from) the last tap pair; 2, 3: along the top
                // ending at (or starting from) the first one. Positions past n lie outside the image.
                int32_t DX = (int32_t)(1.3 * 65536), DY = (int32_t)(0.01 * 65536);
                int32_t Xe = (int32_t)((W - 2 + 0.9) * 65536), Ye = (int32_t)((H - 2 + 0.5) * 65536);
                int32_t X0, Y0;
                if (d == 0) X0 = Xe - (n - 1) * DX, Y0 = Ye - (n - 1) * DY;
                else if (d == 1) X0 = Xe, Y0 = Ye, DX = -DX, DY = -DY;
                else if (d == 2) X0 = (int32_t)(0.2 * 65536) + (n - 1) * DX, Y0 = (int32_t)(0.3 * 65536) + (n - 1) * DY, DX = -DX, DY = -DY;
                else X0 = (int32_t)(0.2 * 65536), Y0 = (int32_t)(0.3 * 65536);
                sf_warp_interior_scalar(ref[0], ref[1], ref[2], n, src, W * 3, X0, Y0, DX, DY, k, bi);
                fns[f](got[0], got[1], got[2], n, src, W * 3, X0, Y0, DX, DY, k, bi);
                for (int c = 0; c < 3; c++)
                    cr_assert(!memcmp(ref[c], got[c], sizeof(float) * n), "%s differs: n=%d case %d",
                              sf_isa_name(isas[f]), n, d);
                spans++;
            }
    }
    cr_log_info("%d spans at the image's first and last pixels: no read outside, same bits as scalar", spans);
    munmap(map, bytes + 2 * (size_t)page);
}

// Degenerate sources (1x1, a single row or column) go through the whole chain without reading outside
// the image (the sanitizer build checks the reads) and give finite values in the normalised range.
Test(data_augment, tiny_sources) {
    const int sizes[4][2] = {{1, 1}, {1, 7}, {9, 1}, {2, 2}};
    uint8_t src[9 * 3];
    for (int i = 0; i < 27; i++) src[i] = (uint8_t)(40 * i);
    float out[3 * 16 * 16];
    sf_augment_cfg cfg = sf_augment_defaults();
    sf_rng r;
    sf_rng_seed(&r, 1, 2);
    for (int k = 0; k < 4; k++)
        for (int rep = 0; rep < 50; rep++) {
            int w = sizes[k][0], h = sizes[k][1];
            sf_augment_params p;
            sf_augment_draw(&p, &cfg, w, h, &r);
            sf_affine a;
            sf_augment_affine(&a, &p, w, h, 16);
            sf_warp_normalize(out, 16, src, w, h, &a);
            for (int i = 0; i < 3 * 16 * 16; i++) cr_assert(isfinite(out[i]) && out[i] > -2.2f && out[i] < 2.7f);
            sf_eval_transform(out, 16, src, w, h, rep & 1, NULL);
        }
}

// Random erasing against torchvision's RandomErasing(p, scale=(0.02, 0.33), ratio=(0.3, 3.3)) rules: the
// rate of boxes, every box strictly inside the image, its area and aspect within the ranges (up to the
// rounding of its sides), and their means where uniform and log-uniform draws put them.
Test(augment, erase_draws_follow_random_erasing) {
    enum { S = 96, DRAWS = 20000 };
    sf_rng r;
    sf_rng_seed(&r, 77, 5);
    int hits = 0;
    double area_sum = 0, log_aspect_sum = 0;
    for (int i = 0; i < DRAWS; i++) {
        int box[4];
        if (!sf_erase_draw(box, 0.5f, S, &r)) continue;
        hits++;
        const int x = box[0], y = box[1], w = box[2], h = box[3];
        cr_assert(x >= 0 && y >= 0 && w >= 1 && h >= 1 && w < S && h < S && x + w <= S && y + h <= S,
                  "box %d,%d %dx%d outside %dx%d", x, y, w, h, S, S);
        // Sides are rounded from sqrt(area * aspect), so allow a pixel on each.
        double amax = (sqrt(0.33 * S * S * 3.3) + 1) * (sqrt(0.33 * S * S / 0.3) + 1);
        cr_assert((double)w * h <= amax && (double)(w + 1) * (h + 1) >= 0.02 * S * S, "box %dx%d area", w, h);
        cr_assert((double)h / (w + 1) <= 3.3 && (double)(h + 1) / w >= 0.3, "box %dx%d aspect", w, h);
        area_sum += (double)w * h / (S * S);
        log_aspect_sum += log((double)h / w);
    }
    double rate = (double)hits / DRAWS, mean_area = area_sum / hits, mean_log_aspect = log_aspect_sum / hits;
    cr_log_info("erase p 0.5: rate %.4f, mean area %.4f of the image, mean log(h/w) %.4f", rate, mean_area,
                mean_log_aspect);
    // A few draws find no box that fits in 10 tries (tall or wide boxes of a large area), so the rate is a
    // little under p; the mean area is under 0.175 for the same reason. log(h/w) is symmetric about 0.
    cr_assert(rate > 0.47 && rate <= 0.51, "rate %.4f", rate);
    cr_assert(mean_area > 0.15 && mean_area < 0.18, "mean area %.4f", mean_area);
    cr_assert(fabs(mean_log_aspect) < 0.03, "mean log aspect %.4f", mean_log_aspect);
    // p = 0 never erases and p = 1 always finds a box on a reasonable image.
    int box[4], none = 0, all = 0;
    for (int i = 0; i < 1000; i++) none += sf_erase_draw(box, 0.0f, S, &r), all += sf_erase_draw(box, 1.0f, S, &r);
    cr_assert_eq(none, 0);
    cr_assert_gt(all, 950);
}

Test(augment, erase_apply_zeroes_exactly_the_box) {
    enum { S = 17 };
    float t[3 * S * S];
    for (int i = 0; i < 3 * S * S; i++) t[i] = 1.0f + (float)i;
    const int box[4] = {3, 5, 6, 4};  // x, y, w, h
    sf_erase_apply(t, S, box);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                int inside = x >= 3 && x < 9 && y >= 5 && y < 9;
                float v = t[(c * S + y) * S + x];
                cr_assert(inside ? v == 0.0f : v == 1.0f + (float)((c * S + y) * S + x), "c %d y %d x %d: %g", c, y, x,
                          v);
            }
}
