// image.c: see image.h. libjpeg-turbo with a setjmp/longjmp error manager (its default one calls exit),
// libspng for PNG, a small EXIF reader for the orientation tag.
#include "data/image.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>
#include <spng.h>

// Files larger than this are not images the pipeline should read whole into memory.
#define MAX_FILE_BYTES ((size_t)256 << 20)

sf_image_format sf_image_sniff(const uint8_t *b, size_t n) {
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return SF_IMG_JPEG;
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (n >= 8 && !memcmp(b, png_magic, 8)) return SF_IMG_PNG;
    return SF_IMG_UNKNOWN;
}

sf_image_format sf_image_sniff_file(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SF_IMG_UNKNOWN;
    uint8_t b[8];
    ssize_t got = read(fd, b, sizeof b);
    close(fd);
    return got > 0 ? sf_image_sniff(b, (size_t)got) : SF_IMG_UNKNOWN;
}

void sf_image_free(sf_image *img) {
    free(img->px);
    *img = (sf_image){0};
}

// ---- EXIF orientation ----

static unsigned rd16(const uint8_t *p, int le) { return le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p, int le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

// The orientation tag (1..8) of an APP1 "Exif" payload, 1 when absent or malformed.
static int exif_orientation(const uint8_t *d, size_t n) {
    if (n < 14 || memcmp(d, "Exif\0\0", 6)) return 1;
    const uint8_t *t = d + 6;  // TIFF header; offsets below are relative to it
    size_t tn = n - 6;
    int le;
    if (!memcmp(t, "II*\0", 4)) le = 1;
    else if (!memcmp(t, "MM\0*", 4)) le = 0;
    else return 1;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd > tn || tn - ifd < 2) return 1;
    unsigned count = rd16(t + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = ifd + 2 + (size_t)i * 12;
        if (e + 12 > tn) return 1;
        if (rd16(t + e, le) == 0x0112 && rd16(t + e + 2, le) == 3) {
            unsigned o = rd16(t + e + 8, le);
            return o >= 1 && o <= 8 ? (int)o : 1;
        }
    }
    return 1;
}

// The stored pixel (*sx, *sy) that EXIF orientation o (PIL's ImageOps.exif_transpose) shows at (x, y) of
// the oriented image, for a stored image of w x h.
static inline void orient_source(int *sx, int *sy, int o, int x, int y, int w, int h) {
    switch (o) {
    case 2: *sx = w - 1 - x, *sy = y; break;
    case 3: *sx = w - 1 - x, *sy = h - 1 - y; break;
    case 4: *sx = x, *sy = h - 1 - y; break;
    case 5: *sx = y, *sy = x; break;
    case 6: *sx = y, *sy = h - 1 - x; break;
    case 7: *sx = w - 1 - y, *sy = h - 1 - x; break;
    case 8: *sx = w - 1 - y, *sy = x; break;
    default: *sx = x, *sy = y; break;
    }
}

// Applies EXIF orientation o to img.
static void apply_orientation(sf_image *img, int o) {
    if (o <= 1) return;
    int w = img->w, h = img->h;
    int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
    uint8_t *dst = sf_malloc((size_t)ow * oh * 3);
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy;
            orient_source(&sx, &sy, o, x, y, w, h);
            const uint8_t *s = img->px + ((size_t)sy * w + sx) * 3;
            uint8_t *d = dst + ((size_t)y * ow + x) * 3;
            d[0] = s[0], d[1] = s[1], d[2] = s[2];
        }
    }
    free(img->px);
    img->px = dst;
    img->w = ow;
    img->h = oh;
}

// ---- JPEG ----

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    int truncated;
    int damaged;  // a corrupt-data warning other than running out of data
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_on_error(j_common_ptr c) {
    jpeg_err *e = (jpeg_err *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}

// Warnings are silent, except that running out of data means a truncated file, which is an error here:
// libjpeg would otherwise pad the missing rows with grey and call it a success.
static void jpeg_on_message(j_common_ptr c, int level) {
    jpeg_err *e = (jpeg_err *)c->err;
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) e->truncated = 1;
    else if (level < 0) e->damaged = 1;
}

static void jpeg_no_output(j_common_ptr c) { (void)c; }

static void cmyk_row_to_rgb(uint8_t *rgb, const uint8_t *cmyk, int w, int inverted) {
    for (int x = 0; x < w; x++) {
        unsigned c = cmyk[4 * x], m = cmyk[4 * x + 1], y = cmyk[4 * x + 2], k = cmyk[4 * x + 3];
        // Adobe files store inverted CMYK, so there the stored values are already (255 - ink).
        if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        rgb[3 * x] = (uint8_t)((c * k + 127) / 255);
        rgb[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
        rgb[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
    }
}

// The rectangle the caller's region function asks for in the oriented w x h image (stored w x h before
// orientation o), widened by 2 pixels and mapped to stored coordinates. The widening keeps the caller's
// pixels off the edges of the partial decode, where libjpeg-turbo may upsample chroma as at an image edge.
static void stored_region(sf_rect *r, const sf_decode_opts *opt, int o, int w, int h) {
    int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
    sf_rect q = {0, 0, ow, oh};
    opt->region(&q, ow, oh, opt->region_ctx);
    q.x0 = q.x0 - 2 < 0 ? 0 : q.x0 - 2;
    q.y0 = q.y0 - 2 < 0 ? 0 : q.y0 - 2;
    q.x1 = q.x1 + 2 > ow ? ow : q.x1 + 2;
    q.y1 = q.y1 + 2 > oh ? oh : q.y1 + 2;
    if (q.x0 >= q.x1 || q.y0 >= q.y1) {  // nothing to read: only validate the stream
        r->x0 = r->y0 = r->x1 = r->y1 = 0;
        return;
    }
    int ax, ay, bx, by;  // opposite corners, in stored coordinates
    orient_source(&ax, &ay, o, q.x0, q.y0, w, h);
    orient_source(&bx, &by, o, q.x1 - 1, q.y1 - 1, w, h);
    r->x0 = ax < bx ? ax : bx, r->x1 = (ax > bx ? ax : bx) + 1;
    r->y0 = ay < by ? ay : by, r->y1 = (ay > by ? ay : by) + 1;
}

// Decodes the rows r.y0 .. r.y1-1 and the columns from the iMCU boundary at or left of r.x0 to at least
// r.x1 into px (H,W,3), at their places; the rest of those rows is zeroed. The other rows are skipped,
// which still entropy-decodes them, so truncation and corrupt data show as in a full decode; with stop,
// the rows after the region are not read at all. Returns 1 when it stopped before the last row.
static int read_region(struct jpeg_decompress_struct *ci, jpeg_err *je, uint8_t *px, uint8_t *row, int cmyk,
                        sf_rect r, int stop) {
    JDIMENSION w = ci->output_width, h = ci->output_height, xo = 0, cw = w;
    if (r.x0 >= r.x1 || r.y0 >= r.y1) r = (sf_rect){0, 0, 1, 0};  // no rows; a narrow crop for the last one
    if (r.x0 > 0 || (JDIMENSION)r.x1 < w) {
        xo = (JDIMENSION)r.x0, cw = (JDIMENSION)(r.x1 - r.x0);
        jpeg_crop_scanline(ci, &xo, &cw);
    }
    if (r.y0 > 0) jpeg_skip_scanlines(ci, (JDIMENSION)r.y0);
    for (;;) {
        JDIMENSION y = ci->output_scanline;
        if (je->truncated || y >= h) break;
        if (stop && y >= (JDIMENSION)r.y1) return 1;
        // Skipping to the bottom of the image returns without reading the data, so the last row is
        // always decoded (into its place; outside the region it is unspecified anyway).
        if (y >= (JDIMENSION)r.y1 && y < h - 1) {
            jpeg_skip_scanlines(ci, h - 1 - y);
            continue;
        }
        uint8_t *line = px + (size_t)y * w * 3, *dst = line + (size_t)xo * 3;
        JSAMPROW rp = cmyk ? row : dst;
        if (jpeg_read_scanlines(ci, &rp, 1) != 1) break;
        if (cmyk) cmyk_row_to_rgb(dst, row, (int)cw, ci->saw_Adobe_marker);
        memset(line, 0, (size_t)xo * 3);
        memset(dst + (size_t)cw * 3, 0, (size_t)(w - xo - cw) * 3);
    }
    return 0;
}

static int decode_jpeg_pass(sf_image *out, const uint8_t *buf, size_t n, const sf_decode_opts *opt, const char *name,
                            char *err, size_t errlen) {
    struct jpeg_decompress_struct ci;
    jpeg_err je;
    memset(&je, 0, sizeof je);
    ci.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_on_error;
    je.pub.emit_message = jpeg_on_message;
    je.pub.output_message = jpeg_no_output;
    // Modified after setjmp and read after longjmp, so volatile.
    uint8_t *volatile px = NULL;
    uint8_t *volatile row = NULL;
    if (setjmp(je.jb)) {
        jpeg_destroy_decompress(&ci);
        free(px);
        free(row);
        // Running out of data is the cause of whatever libjpeg then complained about.
        snprintf(err, errlen, "%s: JPEG: %s", name, je.truncated ? "truncated file (premature end of data)" : je.msg);
        return -1;
    }
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)n);
    jpeg_save_markers(&ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&ci, TRUE);
    size_t max_px = opt && opt->max_pixels ? opt->max_pixels : SF_IMAGE_MAX_PIXELS;
    if ((size_t)ci.image_width * ci.image_height > max_px) {
        snprintf(err, errlen, "%s: JPEG declares %ux%u pixels, over the limit of %zu", name, ci.image_width,
                 ci.image_height, max_px);
        jpeg_destroy_decompress(&ci);
        return -1;
    }
    int orient = 1;
    for (jpeg_saved_marker_ptr m = ci.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && (orient = exif_orientation(m->data, m->data_length)) != 1) break;
    unsigned short_side = ci.image_width < ci.image_height ? ci.image_width : ci.image_height;
    if (opt && opt->min_side > 0) {
        // The smallest k/8 with ceil(short_side * k / 8) >= min_side (libjpeg rounds output sizes up),
        // k a power of two: libjpeg-turbo has SIMD inverse DCTs for 1/8, 1/4, 1/2 and 1/1 only, and the
        // scalar 3x3 .. 7x7 ones (12x12 .. 14x14 for subsampled chroma) cost more than the extra pixels.
        unsigned k = 1;
        while (k < 8 && (short_side * k + 7) / 8 < (unsigned)opt->min_side) k *= 2;
        ci.scale_num = k;
        ci.scale_denom = 8;
    }
    int cmyk = ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK;
    ci.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // libjpeg-turbo expands grayscale to RGB itself
    jpeg_start_decompress(&ci);
    int w = (int)ci.output_width, h = (int)ci.output_height;
    sf_rect r = {0, 0, w, h};
    if (opt && opt->region) stored_region(&r, opt, orient, w, h);
    // Pixels that do not fit in memory (ulimit -v, a crowded machine) make a bad image, not a dead run.
    px = malloc((size_t)w * h * 3);
    if (!px) {
        jpeg_destroy_decompress(&ci);
        snprintf(err, errlen, "%s: JPEG of %dx%d pixels: out of memory allocating %zu bytes", name, w, h,
                 (size_t)w * h * 3);
        return -1;
    }
    if (cmyk) row = sf_malloc((size_t)w * 4);
    int stopped = read_region(&ci, &je, px, row, cmyk, r, opt && opt->region && opt->region_stop);
    if (!je.truncated && !stopped) jpeg_finish_decompress(&ci);  // jpeg_destroy aborts a stopped one
    jpeg_destroy_decompress(&ci);
    free(row);
    if (je.truncated) {
        free(px);
        snprintf(err, errlen, "%s: JPEG: truncated file (premature end of data)", name);
        return -1;
    }
    out->px = px;
    out->w = w;
    out->h = h;
    out->damaged = je.damaged != 0;
    apply_orientation(out, orient);
    return 0;
}

// Past corrupt data, libjpeg-turbo's skip and crop paths resynchronise differently from a full read: a
// region decode can then fail where the full one succeeds (or the other way round), or give other pixels.
// So a region decode that meets damage or fails is redone whole, and its outcome, message and pixels are
// those of the full decode whatever region was asked for. Intact files, nearly all, pay nothing.
static int decode_jpeg(sf_image *out, const uint8_t *buf, size_t n, const sf_decode_opts *opt, const char *name,
                       char *err, size_t errlen) {
    int rc = decode_jpeg_pass(out, buf, n, opt, name, err, errlen);
    if (!opt || !opt->region || (rc == 0 && !out->damaged)) return rc;
    sf_image_free(out);
    sf_decode_opts whole = *opt;
    whole.region = NULL;
    whole.region_stop = 0;
    return decode_jpeg_pass(out, buf, n, &whole, name, err, errlen);
}

// ---- PNG ----

static int decode_png(sf_image *out, const uint8_t *buf, size_t n, const sf_decode_opts *opt, const char *name,
                      char *err, size_t errlen) {
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx) sf_die("spng_ctx_new failed");
    uint8_t *rgba = NULL;
    struct spng_ihdr ih;
    size_t len = 0;
    int r = spng_set_chunk_limits(ctx, (size_t)16 << 20, (size_t)64 << 20);
    if (!r) r = spng_set_png_buffer(ctx, buf, n);
    if (!r) r = spng_get_ihdr(ctx, &ih);
    if (r) goto fail;
    size_t max_px = opt && opt->max_pixels ? opt->max_pixels : SF_IMAGE_MAX_PIXELS;
    if ((size_t)ih.width * ih.height > max_px) {
        snprintf(err, errlen, "%s: PNG declares %ux%u pixels, over the limit of %zu", name, ih.width, ih.height,
                 max_px);
        spng_ctx_free(ctx);
        return -1;
    }
    // RGBA8 is the one output format libspng produces from every PNG colour type and bit depth.
    r = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &len);
    if (r) goto fail;
    rgba = malloc(len);
    if (!rgba) {  // as for JPEG: the image is bad, the run goes on
        snprintf(err, errlen, "%s: PNG of %ux%u pixels: out of memory allocating %zu bytes", name, ih.width,
                 ih.height, len);
        spng_ctx_free(ctx);
        return -1;
    }
    r = spng_decode_image(ctx, rgba, len, SPNG_FMT_RGBA8, 0);
    if (r) goto fail;
    spng_ctx_free(ctx);
    size_t np = (size_t)ih.width * ih.height;
    for (size_t i = 0; i < np; i++) {  // drop alpha in place, front to back
        rgba[3 * i] = rgba[4 * i];
        rgba[3 * i + 1] = rgba[4 * i + 1];
        rgba[3 * i + 2] = rgba[4 * i + 2];
    }
    out->px = rgba;
    out->w = (int)ih.width;
    out->h = (int)ih.height;
    return 0;
fail:
    snprintf(err, errlen, "%s: PNG: %s", name, spng_strerror(r));
    free(rgba);
    spng_ctx_free(ctx);
    return -1;
}

int sf_image_decode(sf_image *out, const uint8_t *buf, size_t n, const sf_decode_opts *opt, const char *name,
                    char *err, size_t errlen) {
    *out = (sf_image){0};
    if (n == 0) {
        snprintf(err, errlen, "%s: empty file", name);
        return -1;
    }
    switch (sf_image_sniff(buf, n)) {
    case SF_IMG_JPEG: return decode_jpeg(out, buf, n, opt, name, err, errlen);
    case SF_IMG_PNG: return decode_png(out, buf, n, opt, name, err, errlen);
    default:
    {
        // Show the bytes that exist: a 2-byte file must not seem to start with "ff d8 00 00".
        char hex[16] = "";
        size_t shown = n < 4 ? n : 4;
        for (size_t i = 0; i < shown; i++) snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", buf[i]);
        hex[3 * shown - 1] = '\0';  // drop the last space
        if (n < 4)
            snprintf(err, errlen, "%s: not a JPEG or PNG (only %zu byte%s: %s)", name, n, n == 1 ? "" : "s", hex);
        else
            snprintf(err, errlen, "%s: not a JPEG or PNG (first bytes %s)", name, hex);
        return -1;
    }
    }
}

int sf_image_load(sf_image *out, const char *path, const sf_decode_opts *opt, char *err, size_t errlen) {
    *out = (sf_image){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    if ((size_t)st.st_size > MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: file of %lld bytes is too large", path, (long long)st.st_size);
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory allocating %zu bytes to read it", path, n);
        close(fd);
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            snprintf(err, errlen, "%s: read failed: %s", path, r < 0 ? strerror(errno) : "unexpected end of file");
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    int rc = sf_image_decode(out, buf, n, opt, path, err, errlen);
    free(buf);
    return rc;
}

// ---- JPEG writer ----

// Encodes img as a JPEG of the given quality into the file f or, when f is NULL, into *buf (n bytes; libjpeg
// allocates it with malloc, and the caller frees it, also after an error).
static int encode_jpeg(FILE *f, unsigned char **buf, unsigned long *n, const sf_image *img, int quality,
                       const char *name, char *err, size_t errlen) {
    struct jpeg_compress_struct cc;
    jpeg_err je;
    memset(&je, 0, sizeof je);
    cc.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = jpeg_on_error;
    je.pub.output_message = jpeg_no_output;
    if (setjmp(je.jb)) {
        jpeg_destroy_compress(&cc);
        snprintf(err, errlen, "%s: JPEG encode: %s", name, je.msg);
        return -1;
    }
    jpeg_create_compress(&cc);
    if (f) jpeg_stdio_dest(&cc, f);
    else jpeg_mem_dest(&cc, buf, n);
    cc.image_width = (JDIMENSION)img->w;
    cc.image_height = (JDIMENSION)img->h;
    cc.input_components = 3;
    cc.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cc);
    jpeg_set_quality(&cc, quality, TRUE);
    jpeg_start_compress(&cc, TRUE);
    while (cc.next_scanline < cc.image_height) {
        JSAMPROW r = img->px + (size_t)cc.next_scanline * img->w * 3;
        jpeg_write_scanlines(&cc, &r, 1);
    }
    jpeg_finish_compress(&cc);
    jpeg_destroy_compress(&cc);
    return 0;
}

int sf_image_write_jpeg(const char *path, const sf_image *img, int quality, char *err, size_t errlen) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    if (encode_jpeg(f, NULL, NULL, img, quality, path, err, errlen)) {
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int sf_image_jpeg_roundtrip(sf_image *img, int quality, const char *name, char *err, size_t errlen) {
    unsigned char *buf = NULL;
    unsigned long n = 0;
    sf_image out;
    int rc = encode_jpeg(NULL, &buf, &n, img, quality, name, err, errlen);
    if (!rc) rc = sf_image_decode(&out, buf, n, NULL, name, err, errlen);
    free(buf);
    if (rc) return -1;
    sf_image_free(img);
    *img = out;
    return 0;
}
