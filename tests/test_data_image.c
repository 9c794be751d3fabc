// test_data_image.c: JPEG/PNG decoding by content, colour spaces, progressive, EXIF orientation, DCT
// scaling, and every bad input the pipeline must survive with a clear message. The test images are
// made here with libjpeg-turbo and libspng, in a temporary folder.
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jpeglib.h>
#include <spng.h>
#include <zlib.h>
#include "data/image.h"
#include "util/npy.h"

static char tmpdir[256];

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sf_test_image_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(data_image, .init = setup, .fini = teardown);

// Criterion does not run .fini for a skipped test, so a skip removes the temporary folder itself.
#define skip_clean(...) \
    do { \
        teardown(); \
        cr_skip_test(__VA_ARGS__); \
    } while (0)

static const char *tpath(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    if (n) cr_assert_eq(fwrite(p, 1, n, f), n);
    fclose(f);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(*n);
    cr_assert_eq(fread(p, 1, *n, f), *n);
    fclose(f);
    return p;
}

// A JPEG in memory from rows of `comps` components in colour space cs. progressive / exif_orientation
// (0: none) / adobe_ycck select the variants under test; sampling 0 keeps libjpeg's default (4:2:0 for
// colour), otherwise it is the first component's factors as 10 * h + v (11 = 4:4:4, 21 = 4:2:2, 12 = 4:4:0).
static uint8_t *make_jpeg(size_t *len, const uint8_t *px, int w, int h, int comps, J_COLOR_SPACE cs, int quality,
                          int progressive, int exif_orientation, int ycck, int sampling) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long size = 0;
    jpeg_mem_dest(&c, &buf, &size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    if (ycck) jpeg_set_colorspace(&c, JCS_YCCK);
    jpeg_set_quality(&c, quality, TRUE);
    if (sampling) c.comp_info[0].h_samp_factor = sampling / 10, c.comp_info[0].v_samp_factor = sampling % 10;
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    if (exif_orientation) {
        // "Exif\0\0" + little-endian TIFF header + IFD0 with one SHORT entry: tag 0x0112.
        uint8_t app1[6 + 8 + 2 + 12 + 4] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0,
                                            0x12, 0x01, 3, 0, 1, 0, 0, 0, (uint8_t)exif_orientation, 0, 0, 0};
        jpeg_write_marker(&c, JPEG_APP0 + 1, app1, sizeof app1);
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = size;
    return buf;
}

static uint8_t *make_png(size_t *len, const uint8_t *px, int w, int h, int color_type, int channels) {
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
    struct spng_ihdr ih = {(uint32_t)w, (uint32_t)h, 8, (uint8_t)color_type, 0, 0, 0};
    spng_set_ihdr(ctx, &ih);
    int r = spng_encode_image(ctx, px, (size_t)w * h * channels, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    cr_assert_eq(r, 0, "spng encode: %s", spng_strerror(r));
    int err = 0;
    uint8_t *out = spng_get_png_buffer(ctx, len, &err);
    cr_assert_not_null(out);
    spng_ctx_free(ctx);
    return out;
}

// A smooth RGB test pattern (H,W,3).
static uint8_t *pattern(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(255 * x / (w - 1 ? w - 1 : 1));
            q[1] = (uint8_t)(255 * y / (h - 1 ? h - 1 : 1));
            q[2] = (uint8_t)(128 + 100 * ((x / 8 + y / 8) % 2 ? 1 : -1) * 0.5);
        }
    return p;
}

static double mean_abs_diff(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

static int decode_file(sf_image *img, const char *name, int min_side, char *err) {
    sf_decode_opts o = {.min_side = min_side};
    return sf_image_load(img, tpath(name), &o, err, SF_IMAGE_ERR_LEN);
}

Test(data_image, rgb_baseline_and_progressive) {
    int w = 48, h = 40;
    uint8_t *src = pattern(w, h);
    for (int prog = 0; prog < 2; prog++) {
        size_t n;
        uint8_t *jpg = make_jpeg(&n, src, w, h, 3, JCS_RGB, 95, prog, 0, 0, 0);
        write_bytes(tpath("a.jpg"), jpg, n);
        free(jpg);
        sf_image img;
        char err[SF_IMAGE_ERR_LEN];
        cr_assert_eq(decode_file(&img, "a.jpg", 0, err), 0, "%s", err);
        cr_assert(img.w == w && img.h == h);
        double d = mean_abs_diff(img.px, src, (size_t)w * h * 3);
        cr_log_info("%s JPEG q95: mean |decoded - source| %.2f grey levels", prog ? "progressive" : "baseline", d);
        cr_assert_lt(d, 6.0);  // 4:2:0 chroma subsampling blurs the sharp blue checkerboard
        sf_image_free(&img);
    }
    free(src);
}

Test(data_image, grayscale_becomes_rgb) {
    int w = 24, h = 16;
    uint8_t g[24 * 16];
    for (int i = 0; i < w * h; i++) g[i] = (uint8_t)(i * 7);
    size_t n;
    uint8_t *jpg = make_jpeg(&n, g, w, h, 1, JCS_GRAYSCALE, 100, 0, 0, 0, 0);
    write_bytes(tpath("g.jpg"), jpg, n);
    free(jpg);
    sf_image img;
    char err[SF_IMAGE_ERR_LEN];
    cr_assert_eq(decode_file(&img, "g.jpg", 0, err), 0, "%s", err);
    int maxd = 0;
    for (int i = 0; i < w * h; i++) {
        cr_assert(img.px[3 * i] == img.px[3 * i + 1] && img.px[3 * i] == img.px[3 * i + 2]);
        int d = abs((int)img.px[3 * i] - g[i]);
        maxd = d > maxd ? d : maxd;
    }
    cr_log_info("grayscale q100: max |diff| %d", maxd);
    cr_assert_leq(maxd, 3);
    sf_image_free(&img);
}

// libjpeg writes an Adobe marker with CMYK/YCCK, meaning inverted ink values (Photoshop's convention), so
// stored (C,M,Y,K) decodes to R = C*K/255 and so on, as PIL does.
Test(data_image, cmyk_and_ycck_become_rgb) {
    int w = 16, h = 16;
    uint8_t px[16 * 16 * 4];
    for (int i = 0; i < w * h; i++) {
        int top = i < w * h / 2;
        px[4 * i] = 200, px[4 * i + 1] = 100, px[4 * i + 2] = 50, px[4 * i + 3] = top ? 255 : 128;
    }
    for (int ycck = 0; ycck < 2; ycck++) {
        size_t n;
        uint8_t *jpg = make_jpeg(&n, px, w, h, 4, JCS_CMYK, 100, 0, 0, ycck, 0);
        write_bytes(tpath("c.jpg"), jpg, n);
        free(jpg);
        sf_image img;
        char err[SF_IMAGE_ERR_LEN];
        cr_assert_eq(decode_file(&img, "c.jpg", 0, err), 0, "%s", err);
        const uint8_t *t = img.px + (2 * w + 8) * 3, *b = img.px + (12 * w + 8) * 3;
        cr_log_info("%s: top (%d,%d,%d) bottom (%d,%d,%d)", ycck ? "YCCK" : "CMYK", t[0], t[1], t[2], b[0], b[1], b[2]);
        cr_assert(abs(t[0] - 200) <= 3 && abs(t[1] - 100) <= 3 && abs(t[2] - 50) <= 3);
        cr_assert(abs(b[0] - 100) <= 3 && abs(b[1] - 50) <= 3 && abs(b[2] - 25) <= 3);
        sf_image_free(&img);
    }
}

// Four grey quadrants (8x8-block aligned so JPEG keeps them flat) and every EXIF orientation.
Test(data_image, exif_orientation_applied) {
    int w = 32, h = 16;
    uint8_t src[32 * 16 * 3];
    const int level[4] = {0, 80, 160, 240};  // TL, TR, BL, BR
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) src[(y * w + x) * 3 + c] = (uint8_t)level[(y >= h / 2) * 2 + (x >= w / 2)];
    // Quadrant levels seen at the output's TL, TR, BL, BR for each orientation (PIL's exif_transpose).
    const int want[9][4] = {{0},
                            {0, 80, 160, 240},  {80, 0, 240, 160},  {240, 160, 80, 0},  {160, 240, 0, 80},
                            {0, 160, 80, 240},  {160, 0, 240, 80},  {240, 80, 160, 0},  {80, 240, 0, 160}};
    for (int o = 1; o <= 8; o++) {
        size_t n;
        uint8_t *jpg = make_jpeg(&n, src, w, h, 3, JCS_RGB, 100, 0, o, 0, 0);
        write_bytes(tpath("o.jpg"), jpg, n);
        free(jpg);
        sf_image img;
        char err[SF_IMAGE_ERR_LEN];
        cr_assert_eq(decode_file(&img, "o.jpg", 0, err), 0, "%s", err);
        int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
        cr_assert(img.w == ow && img.h == oh, "orientation %d: %dx%d", o, img.w, img.h);
        const int qx[4] = {ow / 4, 3 * ow / 4, ow / 4, 3 * ow / 4}, qy[4] = {oh / 4, oh / 4, 3 * oh / 4, 3 * oh / 4};
        for (int q = 0; q < 4; q++) {
            int v = img.px[(qy[q] * ow + qx[q]) * 3];
            cr_assert(abs(v - want[o][q]) <= 4, "orientation %d quadrant %d: %d, want %d", o, q, v, want[o][q]);
        }
        sf_image_free(&img);
    }
}

Test(data_image, dct_scaling_keeps_min_side) {
    int w = 400, h = 300;
    uint8_t *src = pattern(w, h);
    size_t n;
    uint8_t *jpg = make_jpeg(&n, src, w, h, 3, JCS_RGB, 90, 0, 0, 0, 0);
    write_bytes(tpath("big.jpg"), jpg, n);
    free(jpg);
    free(src);
    // The smallest power-of-two k/8 (the scalings libjpeg-turbo has SIMD inverse DCTs for) that keeps the
    // short side (300) at least min_side: 60 -> 2/8, 96 -> 4/8 (3/8 would do, on the slow scalar DCT),
    // 224 -> 8/8 (6/8 would do).
    const int sides[5][3] = {{0, 400, 300}, {60, 100, 75}, {96, 200, 150}, {224, 400, 300}, {300, 400, 300}};
    for (int k = 0; k < 5; k++) {
        sf_image img;
        char err[SF_IMAGE_ERR_LEN];
        cr_assert_eq(decode_file(&img, "big.jpg", sides[k][0], err), 0, "%s", err);
        cr_log_info("min_side %d: decoded %dx%d", sides[k][0], img.w, img.h);
        cr_assert(img.w == sides[k][1] && img.h == sides[k][2]);
        sf_image_free(&img);
    }
}

// ---- partial (region) decoding ----

// The region function's side of a test: it returns `want`, clipped to the image, and records its calls.
typedef struct {
    sf_rect want;
    int calls, w, h;
} region_probe;

static void probe_region(sf_rect *r, int w, int h, void *ctx) {
    region_probe *p = ctx;
    p->calls++;
    p->w = w, p->h = h;
    cr_assert(r->x0 == 0 && r->y0 == 0 && r->x1 == w && r->y1 == h, "the region must arrive as the whole image");
    r->x0 = p->want.x0 < 0 ? 0 : p->want.x0 > w ? w : p->want.x0;
    r->y0 = p->want.y0 < 0 ? 0 : p->want.y0 > h ? h : p->want.y0;
    r->x1 = p->want.x1 < r->x0 ? r->x0 : p->want.x1 > w ? w : p->want.x1;
    r->y1 = p->want.y1 < r->y0 ? r->y0 : p->want.y1 > h ? h : p->want.y1;
}

// Decodes buf whole and then in n_regions random rectangles (plus an empty one, the whole image and the
// four corners); every pixel inside a rectangle must equal the full decode's. Returns the pixels compared.
static long check_regions(const uint8_t *buf, size_t n, int min_side, int n_regions, unsigned seed,
                          const char *what) {
    sf_decode_opts full_opt = {.min_side = min_side};
    sf_image full;
    char err[SF_IMAGE_ERR_LEN];
    cr_assert_eq(sf_image_decode(&full, buf, n, &full_opt, what, err, sizeof err), 0, "%s", err);
    int w = full.w, h = full.h;
    long compared = 0;
    for (int k = 0; k < n_regions + 6; k++) {
        region_probe p = {{0, 0, 0, 0}, 0, 0, 0};
        seed = seed * 1103515245u + 12345u;
        int x0 = (int)(seed >> 8) % w, y0 = (int)(seed >> 4) % h;
        seed = seed * 1103515245u + 12345u;
        int x1 = x0 + 1 + (int)(seed >> 8) % (w - x0), y1 = y0 + 1 + (int)(seed >> 4) % (h - y0);
        switch (k - n_regions) {
        case 0: x0 = y0 = x1 = y1 = 5; break;  // empty: only the stream is validated
        case 1: x0 = y0 = 0, x1 = w, y1 = h; break;
        case 2: x0 = y0 = 0, x1 = y1 = 3; break;
        case 3: x0 = w - 3, y0 = 0, x1 = w, y1 = 3; break;
        case 4: x0 = 0, y0 = h - 3, x1 = 3, y1 = h; break;
        case 5: x0 = w - 3, y0 = h - 3, x1 = w, y1 = h; break;
        default: break;
        }
        p.want = (sf_rect){x0, y0, x1, y1};
        // Odd regions also stop reading after their last row.
        sf_decode_opts o = {.min_side = min_side, .region = probe_region, .region_ctx = &p, .region_stop = k & 1};
        sf_image part;
        cr_assert_eq(sf_image_decode(&part, buf, n, &o, what, err, sizeof err), 0, "%s: %s", what, err);
        cr_assert(part.w == w && part.h == h && p.calls == 1 && p.w == w && p.h == h, "%s: size or calls differ",
                  what);
        x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0, x1 = x1 > w ? w : x1, y1 = y1 > h ? h : y1;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                const uint8_t *a = full.px + ((size_t)y * w + x) * 3, *b = part.px + ((size_t)y * w + x) * 3;
                cr_assert(a[0] == b[0] && a[1] == b[1] && a[2] == b[2],
                          "%s: region [%d,%d)x[%d,%d) differs from the full decode at (%d,%d)", what, x0, x1, y0,
                          y1, x, y);
            }
        compared += (long)(x1 > x0 ? x1 - x0 : 0) * (y1 > y0 ? y1 - y0 : 0);
        sf_image_free(&part);
    }
    sf_image_free(&full);
    return compared;
}

// A texture with sharp colour edges, so that chroma upsampling near a region's border shows any error.
static uint8_t *busy_pattern(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t v = (uint32_t)(x * 73856093u ^ y * 19349663u) * 2654435761u;
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)((x / 5 + y / 7) % 2 ? 230 : 20) ^ (uint8_t)(v >> 28);
            q[1] = (uint8_t)(255 * x / (w - 1));
            q[2] = (uint8_t)((x / 3) % 2 ? (int)(v >> 24) : 255 - y);
        }
    return p;
}

Test(data_image, region_decode_matches_full_decode) {
    int w = 123, h = 77;  // not multiples of any iMCU size
    uint8_t *rgb = busy_pattern(w, h);
    const int samplings[4] = {11, 21, 22, 12};
    const int sides[3] = {0, 40, 20};  // full size, 4/8 and 2/8 scale
    long compared = 0;
    char what[96];
    for (int si = 0; si < 4; si++)
        for (int prog = 0; prog < 2; prog++)
            for (int k = 0; k < 3; k++) {
                size_t n;
                uint8_t *jpg = make_jpeg(&n, rgb, w, h, 3, JCS_RGB, 90, prog, 0, 0, samplings[si]);
                snprintf(what, sizeof what, "sampling %d%s, min_side %d", samplings[si], prog ? " progressive" : "",
                         sides[k]);
                compared += check_regions(jpg, n, sides[k], 30, (unsigned)(si * 7 + prog * 3 + k), what);
                free(jpg);
            }
    for (int o = 2; o <= 8; o++) {  // EXIF orientations: the region is asked for in the oriented image
        size_t n;
        uint8_t *jpg = make_jpeg(&n, rgb, w, h, 3, JCS_RGB, 90, 0, o, 0, 0);
        snprintf(what, sizeof what, "EXIF orientation %d", o);
        compared += check_regions(jpg, n, 0, 20, (unsigned)o, what);
        free(jpg);
    }
    uint8_t *grey = malloc((size_t)w * h), *cmyk = malloc((size_t)w * h * 4);
    for (int i = 0; i < w * h; i++) {
        grey[i] = rgb[3 * i];
        for (int c = 0; c < 4; c++) cmyk[4 * i + c] = c < 3 ? rgb[3 * i + c] : (uint8_t)(255 - rgb[3 * i]);
    }
    size_t n;
    uint8_t *jpg = make_jpeg(&n, grey, w, h, 1, JCS_GRAYSCALE, 90, 0, 0, 0, 0);
    compared += check_regions(jpg, n, 0, 20, 11, "grayscale");
    free(jpg);
    jpg = make_jpeg(&n, cmyk, w, h, 4, JCS_CMYK, 90, 0, 0, 1, 0);
    compared += check_regions(jpg, n, 0, 20, 12, "YCCK");
    free(jpg);
    cr_log_info("partial decodes equal the full decode on %ld pixels", compared);
    free(grey);
    free(cmyk);
    free(rgb);
}

// A partial decode still reads the whole stream: every truncation and corruption fails (or passes) as in a
// full decode, with the same message, even when the region lies in the intact top-left corner.
Test(data_image, region_decode_rejects_what_full_decode_rejects) {
    uint8_t *src = busy_pattern(96, 64);
    size_t n;
    for (int prog = 0; prog < 2; prog++) {
        uint8_t *jpg = make_jpeg(&n, src, 96, 64, 3, JCS_RGB, 90, prog, 0, 0, 0);
        const size_t cuts[] = {100, n / 2, n - 40, n - 2};
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            char e_full[SF_IMAGE_ERR_LEN], e_part[SF_IMAGE_ERR_LEN];
            sf_image a, b;
            region_probe p = {{0, 0, 8, 8}, 0, 0, 0};
            sf_decode_opts o = {.region = probe_region, .region_ctx = &p};
            int rf = sf_image_decode(&a, jpg, cuts[k], NULL, "cut.jpg", e_full, sizeof e_full);
            int rp = sf_image_decode(&b, jpg, cuts[k], &o, "cut.jpg", e_part, sizeof e_part);
            cr_assert(rf == -1 && rp == -1, "cut at %zu of %zu: full %d, partial %d", cuts[k], n, rf, rp);
            cr_assert_str_eq(e_full, e_part);
        }
        // region_stop trades this away: a file cut below the region decodes (which is why the loader uses it
        // only for files that have decoded whole once).
        region_probe p = {{0, 0, 8, 8}, 0, 0, 0};
        sf_decode_opts o = {.region = probe_region, .region_ctx = &p, .region_stop = 1};
        sf_image b;
        char e_stop[SF_IMAGE_ERR_LEN];
        cr_assert_eq(sf_image_decode(&b, jpg, n - 40, &o, "cut.jpg", e_stop, sizeof e_stop), prog ? -1 : 0,
                     "%s", e_stop);  // a progressive file is read whole before its first row
        sf_image_free(&b);
        // Flipped bytes in the entropy-coded data: accepted or rejected alike.
        for (int k = 0; k < 40; k++) {
            uint8_t *c = malloc(n);
            memcpy(c, jpg, n);
            for (int j = 0; j < 8; j++) c[300 + (k * 97 + j * 31) % (n - 310)] ^= (uint8_t)(0x5A + k + j);
            char e_full[SF_IMAGE_ERR_LEN] = "", e_part[SF_IMAGE_ERR_LEN] = "";
            sf_image a, b;
            region_probe p = {{0, 0, 8, 8}, 0, 0, 0};
            sf_decode_opts o = {.region = probe_region, .region_ctx = &p};
            int rf = sf_image_decode(&a, c, n, NULL, "corrupt.jpg", e_full, sizeof e_full);
            int rp = sf_image_decode(&b, c, n, &o, "corrupt.jpg", e_part, sizeof e_part);
            cr_assert_eq(rf, rp, "corruption %d: full %d (%s), partial %d (%s)", k, rf, e_full, rp, e_part);
            cr_assert_str_eq(e_full, e_part);
            if (rf == 0) {
                cr_assert_eq(a.damaged, b.damaged, "corruption %d: damage seen by one decode only", k);
                for (int y = 0; y < 8; y++)
                    cr_assert(!memcmp(a.px + (size_t)y * a.w * 3, b.px + (size_t)y * a.w * 3, 8 * 3),
                              "corruption %d: region pixels differ in row %d", k, y);
            }
            sf_image_free(&a);
            sf_image_free(&b);
            free(c);
        }
        free(jpg);
    }
    free(src);
}

// A stream with corrupt data that libjpeg decodes through (found by fuzz/fuzz_image.c): skipping and
// cropping resynchronise differently from a full read, so a region decode that meets the damage is done
// whole again; any region, stopped or not, at any DCT scale, then matches the full decode.
Test(data_image, region_decode_of_damaged_stream_matches_full_decode) {
    const char *path = "fuzz/corpus/image/damaged-region-mismatch.jpg";
    size_t n;
    uint8_t *buf = read_bytes(path, &n);
    sf_image img;
    char err[SF_IMAGE_ERR_LEN];
    cr_assert_eq(sf_image_decode(&img, buf, n, NULL, path, err, sizeof err), 0, "%s", err);
    cr_assert(img.damaged, "%s: expected libjpeg to warn of corrupt data", path);
    sf_image_free(&img);
    const int sides[] = {0, 2, 8};
    long compared = 0;
    for (int k = 0; k < 3; k++) compared += check_regions(buf, n, sides[k], 40, (unsigned)(k + 1), path);
    cr_log_info("damaged stream: %ld region pixels equal to the full decode", compared);
    free(buf);
}

// Real photographs (the training set's 4:2:0 files and the full-size originals, some of them large
// enough to be DCT-scaled), when the shared data are present.
Test(data_image, region_decode_real_images) {
    const char *dirs[2] = {"../shared/data/simpsons/train/bart_simpson", "../shared/data/simpsons/originals/bart_simpson"};
    if (access(dirs[0], R_OK) != 0) skip_clean("%s absent", dirs[0]);
    long compared = 0;
    int files = 0;
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 12; i++) {
            char path[512];
            snprintf(path, sizeof path, "%s/pic_%04d.jpg", dirs[d], i * (d ? 1 : 97));
            if (access(path, R_OK) != 0) continue;
            size_t n;
            uint8_t *buf = read_bytes(path, &n);
            compared += check_regions(buf, n, i % 3 ? 0 : 192, 8, (unsigned)i, path);
            free(buf);
            files++;
        }
    cr_log_info("%d real files: partial decodes equal the full decode on %ld pixels", files, compared);
    cr_assert_gt(files, 10);
}

Test(data_image, png_named_jpg_and_alpha) {
    int w = 9, h = 7;
    uint8_t rgba[9 * 7 * 4], gray[9 * 7];
    for (int i = 0; i < w * h; i++) {
        rgba[4 * i] = (uint8_t)i, rgba[4 * i + 1] = (uint8_t)(2 * i), rgba[4 * i + 2] = (uint8_t)(255 - i);
        rgba[4 * i + 3] = (uint8_t)(i * 3);
        gray[i] = (uint8_t)(i * 4);
    }
    size_t n;
    uint8_t *png = make_png(&n, rgba, w, h, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 4);
    write_bytes(tpath("actually_png.jpg"), png, n);
    free(png);
    cr_assert_eq(sf_image_sniff_file(tpath("actually_png.jpg")), SF_IMG_PNG);
    sf_image img;
    char err[SF_IMAGE_ERR_LEN];
    cr_assert_eq(decode_file(&img, "actually_png.jpg", 0, err), 0, "%s", err);
    cr_assert(img.w == w && img.h == h);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) cr_assert_eq(img.px[3 * i + c], rgba[4 * i + c]);
    sf_image_free(&img);
    png = make_png(&n, gray, w, h, SPNG_COLOR_TYPE_GRAYSCALE, 1);
    write_bytes(tpath("gray.png"), png, n);
    free(png);
    cr_assert_eq(decode_file(&img, "gray.png", 0, err), 0, "%s", err);
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++) cr_assert_eq(img.px[3 * i + c], gray[i]);
    sf_image_free(&img);
}

Test(data_image, one_pixel) {
    uint8_t px[3] = {10, 200, 30};
    size_t n;
    uint8_t *jpg = make_jpeg(&n, px, 1, 1, 3, JCS_RGB, 100, 0, 0, 0, 0);
    write_bytes(tpath("1x1.jpg"), jpg, n);
    free(jpg);
    sf_image img;
    char err[SF_IMAGE_ERR_LEN];
    cr_assert_eq(decode_file(&img, "1x1.jpg", 96, err), 0, "%s", err);
    cr_assert(img.w == 1 && img.h == 1);
    cr_assert(abs(img.px[1] - 200) <= 4);
    sf_image_free(&img);
}

// Expects failure with a message that names the file and contains `reason`.
static void expect_error(const char *name, const char *reason) {
    sf_image img;
    char err[SF_IMAGE_ERR_LEN];
    int rc = decode_file(&img, name, 0, err);
    cr_assert_eq(rc, -1, "%s decoded (%dx%d) but should fail", name, img.w, img.h);
    cr_assert_null(img.px);
    cr_log_info("%s", err);
    cr_assert(strstr(err, name) != NULL, "message does not name the file: %s", err);
    cr_assert(strstr(err, reason) != NULL, "message lacks '%s': %s", reason, err);
}

Test(data_image, bad_inputs_fail_cleanly) {
    write_bytes(tpath("zero.jpg"), "", 0);
    expect_error("zero.jpg", "empty file");
    const char html[] = "<!DOCTYPE html><html><body>404 Not Found</body></html>\n";
    write_bytes(tpath("page.jpg"), html, sizeof html - 1);
    expect_error("page.jpg", "not a JPEG or PNG (first bytes 3c 21 44 4f)");
    // Too short for any magic: only the bytes that exist are shown.
    write_bytes(tpath("two.jpg"), "\xff\xd8", 2);
    expect_error("two.jpg", "not a JPEG or PNG (only 2 bytes: ff d8)");
    uint8_t rnd[4096];
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (uint8_t)(i * 2654435761u >> 13);
    write_bytes(tpath("random.jpg"), rnd, sizeof rnd);
    expect_error("random.jpg", "not a JPEG or PNG");
    expect_error("missing.jpg", "No such file");
    mkdir(tpath("dir.jpg"), 0755);
    expect_error("dir.jpg", "not a regular file");
    // A JPEG magic followed by garbage: libjpeg's own reason comes back.
    rnd[0] = 0xFF, rnd[1] = 0xD8, rnd[2] = 0xFF;
    write_bytes(tpath("garbage.jpg"), rnd, sizeof rnd);
    expect_error("garbage.jpg", "JPEG");
}

Test(data_image, truncated_files_fail_cleanly) {
    uint8_t *src = pattern(64, 48);
    size_t n;
    for (int prog = 0; prog < 2; prog++) {
        uint8_t *jpg = make_jpeg(&n, src, 64, 48, 3, JCS_RGB, 90, prog, 0, 0, 0);
        const size_t cuts[] = {2, 3, 20, 100, n / 2, n - 40, n - 2};
        for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
            write_bytes(tpath("cut.jpg"), jpg, cuts[k]);
            expect_error("cut.jpg", cuts[k] < 3 ? "not a JPEG" : "JPEG");
        }
        free(jpg);
    }
    uint8_t *png = make_png(&n, src, 64, 48, SPNG_COLOR_TYPE_TRUECOLOR, 3);
    const size_t pcuts[] = {8, 20, 40, n / 2, n - 30};
    for (size_t k = 0; k < sizeof pcuts / sizeof pcuts[0]; k++) {
        write_bytes(tpath("cut.png"), png, pcuts[k]);
        expect_error("cut.png", "PNG");
    }
    free(png);
    free(src);
}

// Flipped bytes inside the entropy-coded data: either a clean error or some image, never a crash.
Test(data_image, corrupt_data_never_crashes) {
    uint8_t *src = pattern(64, 48);
    size_t n;
    uint8_t *jpg = make_jpeg(&n, src, 64, 48, 3, JCS_RGB, 90, 0, 0, 0, 0);
    int failed = 0;
    for (int k = 0; k < 40; k++) {
        uint8_t *c = malloc(n);
        memcpy(c, jpg, n);
        for (int j = 0; j < 8; j++) c[200 + (k * 97 + j * 31) % (n - 210)] ^= (uint8_t)(0x5A + k + j);
        sf_image img;
        char err[SF_IMAGE_ERR_LEN];
        if (sf_image_decode(&img, c, n, NULL, "corrupt.jpg", err, sizeof err) != 0) failed++;
        else cr_assert(img.w == 64 && img.h == 48);
        sf_image_free(&img);
        free(c);
    }
    cr_log_info("corrupted JPEGs: %d of 40 rejected, the rest decoded to some image", failed);
    free(jpg);
    free(src);
}

// Headers that declare 60000 x 60000 pixels are refused from the header alone: the limit check comes
// before any pixel buffer (a full decode would need 10 GiB and fail or take minutes).
Test(data_image, decompression_bomb_rejected) {
    uint8_t px[8 * 8 * 3] = {0};
    size_t n;
    uint8_t *jpg = make_jpeg(&n, px, 8, 8, 3, JCS_RGB, 90, 0, 0, 0, 0);
    size_t sof = 0;
    for (size_t i = 2; i + 8 < n; i++)
        if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) sof = i;
    cr_assert(sof > 0, "no SOF0 marker");
    jpg[sof + 5] = 60000 >> 8, jpg[sof + 6] = 60000 & 255;  // height
    jpg[sof + 7] = 60000 >> 8, jpg[sof + 8] = 60000 & 255;  // width
    write_bytes(tpath("bomb.jpg"), jpg, n);
    free(jpg);
    expect_error("bomb.jpg", "60000x60000");
    uint8_t *png = make_png(&n, px, 8, 8, SPNG_COLOR_TYPE_TRUECOLOR, 3);
    // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC follows the 13 data bytes.
    for (int k = 0; k < 2; k++) {
        uint8_t *f = png + 16 + 4 * k;
        f[0] = 0, f[1] = 0, f[2] = 60000 >> 8, f[3] = 60000 & 255;
    }
    uint32_t crc = (uint32_t)crc32(0, png + 12, 17);
    png[29] = (uint8_t)(crc >> 24), png[30] = (uint8_t)(crc >> 16), png[31] = (uint8_t)(crc >> 8), png[32] = (uint8_t)crc;
    write_bytes(tpath("bomb.png"), png, n);
    free(png);
    expect_error("bomb.png", "60000x60000");
}

Test(data_image, unreadable_file) {
    uint8_t px[3] = {1, 2, 3};
    size_t n;
    uint8_t *jpg = make_jpeg(&n, px, 1, 1, 3, JCS_RGB, 90, 0, 0, 0, 0);
    write_bytes(tpath("locked.jpg"), jpg, n);
    free(jpg);
    if (geteuid() == 0) {
        // Root reads through mode 000, so the check would prove nothing; the open-failure path is covered
        // by the missing-file case above.
        skip_clean("running as root: permission bits do not stop reads");
    }
    cr_assert_eq(chmod(tpath("locked.jpg"), 0), 0);
    expect_error("locked.jpg", "Permission denied");
}

Test(data_image, write_then_read_roundtrip) {
    uint8_t *src = pattern(33, 21);
    sf_image img = {.px = src, .w = 33, .h = 21}, back;
    char err[SF_IMAGE_ERR_LEN];
    cr_assert_eq(sf_image_write_jpeg(tpath("w.jpg"), &img, 95, err, sizeof err), 0, "%s", err);
    size_t n;
    uint8_t *bytes = read_bytes(tpath("w.jpg"), &n);
    cr_assert_eq(sf_image_sniff(bytes, n), SF_IMG_JPEG);
    free(bytes);
    cr_assert_eq(decode_file(&back, "w.jpg", 0, err), 0, "%s", err);
    double d = mean_abs_diff(back.px, src, 33 * 21 * 3);
    cr_log_info("write/read q95: mean |diff| %.2f", d);
    cr_assert_lt(d, 6.0);  // 4:2:0 chroma subsampling blurs the sharp blue checkerboard
    sf_image_free(&back);
    free(src);
    cr_assert_eq(sf_image_write_jpeg("/nonexistent-dir/x.jpg", &img, 90, err, sizeof err), -1);
}

// The competition's test images as published: every one decodes, and the PNGs named .jpg are found by
// their content (52 of them, per the dataset's README).
Test(data_image, real_simpsons_testset) {
    const char *dir = "../shared/data/simpsons/testset";
    if (access(dir, R_OK) != 0) skip_clean("%s absent", dir);
    int png = 0, ok = 0, minw = 1 << 30, maxw = 0;
    char path[512], err[SF_IMAGE_ERR_LEN];
    for (int i = 0; i < 991; i++) {
        snprintf(path, sizeof path, "%s/img%d.jpg", dir, i);
        png += sf_image_sniff_file(path) == SF_IMG_PNG;
        sf_image img;
        if (sf_image_load(&img, path, NULL, err, sizeof err) != 0) {
            cr_log_error("%s", err);
            continue;
        }
        ok++;
        minw = img.w < minw ? img.w : minw;
        maxw = img.w > maxw ? img.w : maxw;
        sf_image_free(&img);
    }
    cr_log_info("testset: %d of 991 decoded, %d PNGs named .jpg, widths %d..%d", ok, png, minw, maxw);
    cr_assert_eq(ok, 991);
    cr_assert_eq(png, 52);
}

// sf_image_jpeg_roundtrip against PIL (tests/golden/make_data.py): the same image saved by PIL at quality
// 90 and decoded by PIL. Both are libjpeg-turbo with its default tables and 4:2:0 subsampling, so the
// pixels agree to within 1 grey level; the JPEG's own error is far larger, which the second check shows.
Test(data_image, jpeg_roundtrip_matches_pil) {
    for (int c = 0; c < 2; c++) {
        char name[64];
        snprintf(name, sizeof name, "data/jpeg90_%d_in.npy", c);
        npy_array in = npy_load(name);
        snprintf(name, sizeof name, "data/jpeg90_%d_out.npy", c);
        npy_array ref = npy_load(name);
        int h = (int)in.shape[0], w = (int)in.shape[1];
        sf_image img = {.px = malloc(in.count), .w = w, .h = h};
        for (size_t i = 0; i < in.count; i++) img.px[i] = (uint8_t)in.f[i];
        char err[SF_IMAGE_ERR_LEN];
        cr_assert_eq(sf_image_jpeg_roundtrip(&img, 90, "golden", err, sizeof err), 0, "%s", err);
        cr_assert(img.w == w && img.h == h, "%dx%d came back %dx%d", w, h, img.w, img.h);
        int maxd = 0, maxd_in = 0;
        for (size_t i = 0; i < in.count; i++) {
            int d = abs((int)img.px[i] - (int)ref.f[i]), e = abs((int)img.px[i] - (int)in.f[i]);
            if (d > maxd) maxd = d;
            if (e > maxd_in) maxd_in = e;
        }
        cr_log_info("jpeg90 %dx%d: max |ours - PIL| %d, max |ours - input| %d", w, h, maxd, maxd_in);
        cr_assert_leq(maxd, 1, "%dx%d: differs from PIL's round trip by %d", w, h, maxd);
        cr_assert_geq(maxd_in, 8, "%dx%d: no compression error at all (%d): was the image encoded?", w, h, maxd_in);
        sf_image_free(&img);
        npy_free(&in);
        npy_free(&ref);
    }
}
