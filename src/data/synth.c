// synth.c: see synth.h.
#include "data/synth.h"
#include "data/image.h"
#include "util/rng.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const shape_names[6] = {"circle", "square", "triangle", "ring", "cross", "diamond"};
static const char *const palette_names[7] = {"red", "green", "blue", "yellow", "purple", "teal", "grey"};
// Per palette: foreground and background colour.
static const uint8_t palettes[7][2][3] = {
    {{220, 40, 40}, {250, 230, 200}},  {{40, 170, 60}, {60, 40, 90}},   {{40, 80, 220}, {240, 200, 120}},
    {{240, 210, 40}, {40, 60, 120}},   {{150, 50, 180}, {200, 240, 200}}, {{30, 170, 170}, {120, 40, 40}},
    {{128, 128, 128}, {30, 30, 30}},
};

sf_synth_cfg sf_synth_defaults(void) {
    sf_synth_cfg c = {SF_SYNTH_MAX_CLASSES, 300, 5, 64, 96, 90, 1};
    return c;
}

int sf_synth_class_count(const sf_synth_cfg *cfg, int c) {
    int n = cfg->n_classes;
    int rank = (c * 17) % n;  // 17 is prime to 42: sizes are scrambled across the class names
    if (n % 17 == 0) rank = c;
    double t = n > 1 ? (double)rank / (n - 1) : 0.0;
    return (int)lround(cfg->largest * pow((double)cfg->smallest / cfg->largest, t));
}

void sf_synth_class_name(char *buf, size_t n, int c) {
    snprintf(buf, n, "c%02d_%s_%s", c, palette_names[(c / 6) % 7], shape_names[c % 6]);
}

// Is (u, v), in the shape's own unit frame, inside shape k?
static int inside(int k, float u, float v) {
    float au = fabsf(u), av = fabsf(v), r2 = u * u + v * v;
    switch (k) {
    case 0: return r2 <= 1.0f;
    case 1: return au <= 0.8f && av <= 0.8f;
    case 2: return v <= 0.5f && v >= -1.0f + 1.724f * au;
    case 3: return r2 <= 1.0f && r2 >= 0.36f;
    case 4: return (au <= 0.3f && av <= 1.0f) || (av <= 0.3f && au <= 1.0f);
    default: return au + av <= 1.0f;
    }
}

// Texture factor at (u, v): solid, stripes or dots.
static float texture(int t, float u, float v) {
    if (t == 1) return fmodf(fabsf(v) * 5.0f, 1.0f) < 0.5f ? 1.0f : 0.55f;
    if (t == 2) {
        float du = fmodf(fabsf(u) * 4.0f, 1.0f) - 0.5f, dv = fmodf(fabsf(v) * 4.0f, 1.0f) - 0.5f;
        return du * du + dv * dv < 0.08f ? 0.5f : 1.0f;
    }
    return 1.0f;
}

// Blends shape k (colour col, texture t) into img with 2x2 supersampling.
static void draw_shape(uint8_t *img, int w, int h, int k, int t, const uint8_t col[3], float cx, float cy, float r,
                       float angle) {
    float cs = cosf(angle), sn = sinf(angle), inv = 1.0f / r;
    int x0 = (int)fmaxf(0.0f, cx - 1.5f * r), x1 = (int)fminf((float)w, cx + 1.5f * r + 1.0f);
    int y0 = (int)fmaxf(0.0f, cy - 1.5f * r), y1 = (int)fminf((float)h, cy + 1.5f * r + 1.0f);
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            float cover = 0.0f, tex = 0.0f;
            for (int s = 0; s < 4; s++) {
                float px = x + 0.25f + 0.5f * (s & 1) - cx, py = y + 0.25f + 0.5f * (s >> 1) - cy;
                float u = (cs * px + sn * py) * inv, v = (-sn * px + cs * py) * inv;
                if (inside(k, u, v)) cover += 0.25f, tex += 0.25f * texture(t, u, v);
            }
            if (cover == 0.0f) continue;
            uint8_t *p = img + ((size_t)y * w + x) * 3;
            float shade = tex / cover;
            for (int ch = 0; ch < 3; ch++) p[ch] = (uint8_t)lrintf((1.0f - cover) * p[ch] + cover * col[ch] * shade);
        }
}

void sf_synth_draw(uint8_t *img, int w, int h, int c, int i, uint64_t seed) {
    sf_rng r;
    sf_rng_seed(&r, sf_hash64(seed, (uint64_t)c, (uint64_t)i), 0x5e7u);
    const uint8_t *fg = palettes[(c / 6) % 7][0], *bg = palettes[(c / 6) % 7][1];
    // Background: a random-direction gradient around the palette's background, plus noise.
    float ga = sf_rng_uniform_range(&r, 0.0f, 6.2832f), gs = sf_rng_uniform_range(&r, 0.4f, 1.0f);
    float gx = cosf(ga) / w, gy = sinf(ga) / h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float g = gs + (1.0f - gs) * (0.5f + (x - w / 2) * gx + (y - h / 2) * gy);
            for (int ch = 0; ch < 3; ch++) {
                float v = bg[ch] * g + sf_rng_uniform_range(&r, -12.0f, 12.0f);
                img[((size_t)y * w + x) * 3 + ch] = (uint8_t)fminf(255.0f, fmaxf(0.0f, v));
            }
        }
    float m = (float)(w < h ? w : h);
    // A distractor: another shape in another colour, smaller.
    int dk = (int)sf_rng_below(&r, 6), dp = (int)sf_rng_below(&r, 7);
    draw_shape(img, w, h, dk, 0, palettes[dp][0], sf_rng_uniform_range(&r, 0.0f, (float)w),
               sf_rng_uniform_range(&r, 0.0f, (float)h), m * sf_rng_uniform_range(&r, 0.08f, 0.14f),
               sf_rng_uniform_range(&r, 0.0f, 6.2832f));
    // The class's shape: jittered colour, random place, size and rotation.
    uint8_t col[3];
    float jitter = sf_rng_uniform_range(&r, 0.8f, 1.15f);
    for (int ch = 0; ch < 3; ch++) col[ch] = (uint8_t)fminf(255.0f, fg[ch] * jitter);
    float rad = m * sf_rng_uniform_range(&r, 0.2f, 0.38f);
    float cx = sf_rng_uniform_range(&r, 0.3f, 0.7f) * w, cy = sf_rng_uniform_range(&r, 0.3f, 0.7f) * h;
    draw_shape(img, w, h, c % 6, (c * 5) % 3, col, cx, cy, rad, sf_rng_uniform_range(&r, 0.0f, 6.2832f));
}

static int mkdir_p(const char *path, char *err, size_t errlen) {
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof buf) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char keep = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create folder '%s': %s", buf, strerror(errno));
            return -1;
        }
        buf[i] = keep;
    }
    return 0;
}

int sf_synth_write(const char *dir, const sf_synth_cfg *cfg, char *err, size_t errlen) {
    if (cfg->n_classes < 1 || cfg->n_classes > SF_SYNTH_MAX_CLASSES || cfg->min_size < 1 ||
        cfg->max_size < cfg->min_size) {
        snprintf(err, errlen, "synth: bad configuration (%d classes, sizes %d..%d)", cfg->n_classes, cfg->min_size,
                 cfg->max_size);
        return -1;
    }
    uint8_t *img = sf_malloc((size_t)cfg->max_size * cfg->max_size * 3);
    int total = 0;
    for (int c = 0; c < cfg->n_classes; c++) {
        char name[64], path[4096];
        sf_synth_class_name(name, sizeof name, c);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (mkdir_p(path, err, errlen) != 0) {
            free(img);
            return -1;
        }
        int n = sf_synth_class_count(cfg, c);
        for (int i = 0; i < n; i++) {
            sf_rng r;
            sf_rng_seed(&r, sf_hash64(cfg->seed, (uint64_t)c, (uint64_t)i), 0x512eu);
            int span = cfg->max_size - cfg->min_size + 1;
            int w = cfg->min_size + (int)sf_rng_below(&r, (uint32_t)span);
            int h = cfg->min_size + (int)sf_rng_below(&r, (uint32_t)span);
            sf_synth_draw(img, w, h, c, i, cfg->seed);
            sf_image im = {.px = img, .w = w, .h = h};
            snprintf(path, sizeof path, "%s/%s/pic_%04d.jpg", dir, name, i);
            if (sf_image_write_jpeg(path, &im, cfg->quality, err, errlen) != 0) {
                free(img);
                return -1;
            }
            total++;
        }
    }
    free(img);
    return total;
}
