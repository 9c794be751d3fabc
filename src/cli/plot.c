// plot.c: see plot.h.
#include "cli/plot.h"
#include "util/atomic_file.h"
#include "util/util.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int len) {
    return sf_atomic_write((sf_atomic_file *)closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static int save_png(cairo_surface_t *s, const char *path, char *err, size_t errlen) {
    sf_atomic_file *af = sf_atomic_begin(path, err, errlen);
    if (!af) return -1;
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_cb, af);
    if (st != CAIRO_STATUS_SUCCESS) {
        sf_atomic_abort(af);
        snprintf(err, errlen, "cannot write '%s': %s", path, cairo_status_to_string(st));
        return -1;
    }
    return sf_atomic_commit(af, err, errlen);
}

static void text_at(cairo_t *cr, double x, double y, const char *s, double ax, double ay) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
    cairo_show_text(cr, s);
}

// A "nice" tick step (1, 2, 5 x 10^k) giving about `want` ticks over span.
static double tick_step(double span, int want) {
    double raw = span / want, p = pow(10, floor(log10(raw))), f = raw / p;
    return p * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

typedef struct {
    double x0, y0, w, h;     // plot area in pixels
    double xmin, xmax, ymin, ymax;
} axes;

static double px(const axes *a, double x) { return a->x0 + (x - a->xmin) / (a->xmax - a->xmin) * a->w; }
static double py(const axes *a, double y) { return a->y0 + a->h - (y - a->ymin) / (a->ymax - a->ymin) * a->h; }

static void draw_axes(cairo_t *cr, const axes *a, const char *title, const char *ylabel) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_fill(cr);
    cairo_set_line_width(cr, 1);
    cairo_set_font_size(cr, 12);
    double ys = tick_step(a->ymax - a->ymin, 5);
    for (double y = ceil(a->ymin / ys) * ys; y <= a->ymax + 1e-9; y += ys) {
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, a->x0, py(a, y));
        cairo_line_to(cr, a->x0 + a->w, py(a, y));
        cairo_stroke(cr);
        char b[32];
        snprintf(b, sizeof b, "%g", fabs(y) < 1e-12 ? 0.0 : y);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        text_at(cr, a->x0 - 6, py(a, y), b, 1, 0.5);
    }
    double xs = fmax(1, tick_step(a->xmax - a->xmin, 8));
    for (double x = ceil(a->xmin / xs) * xs; x <= a->xmax + 1e-9; x += xs) {
        char b[32];
        snprintf(b, sizeof b, "%g", x);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        text_at(cr, px(a, x), a->y0 + a->h + 6, b, 0.5, 0);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, a->x0, a->y0, a->w, a->h);
    cairo_stroke(cr);
    cairo_set_font_size(cr, 14);
    text_at(cr, a->x0 + a->w / 2, a->y0 - 10, title, 0.5, 1);
    cairo_set_font_size(cr, 12);
    text_at(cr, a->x0 + a->w / 2, a->y0 + a->h + 24, "epoch", 0.5, 0);
    cairo_save(cr);
    cairo_translate(cr, a->x0 - 46, a->y0 + a->h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, ylabel, 0.5, 0.5);
    cairo_restore(cr);
}

// field: offset of a double in sf_epoch_record.
static void draw_series(cairo_t *cr, const axes *a, const sf_epoch_record *h, int n, size_t field, double r,
                        double g, double b, int dashed) {
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 2);
    double dash[] = {6, 4};
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    int started = 0;
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&h[i] + field);
        if (!isfinite(v)) {
            started = 0;
            continue;
        }
        if (started) cairo_line_to(cr, px(a, h[i].epoch), py(a, v));
        else cairo_move_to(cr, px(a, h[i].epoch), py(a, v));
        started = 1;
    }
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    for (int i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&h[i] + field);
        if (!isfinite(v)) continue;
        cairo_arc(cr, px(a, h[i].epoch), py(a, v), 2.5, 0, 2 * M_PI);
        cairo_fill(cr);
    }
}

// Whether the LR moved in steps (ReduceLROnPlateau), whose drops are marked. A smooth schedule (cosine)
// changes it every epoch, where a mark per epoch would only clutter.
static bool lr_in_steps(const sf_epoch_record *h, int n) {
    int changes = 0;
    for (int i = 1; i < n; i++) changes += h[i].lr != h[i - 1].lr;
    return n < 3 || changes < n - 1;
}

static void draw_lr_drops(cairo_t *cr, const axes *a, const sf_epoch_record *h, int n) {
    double dash[] = {3, 3};
    cairo_set_font_size(cr, 10);
    for (int i = 1; i < n; i++) {
        if (!(h[i].lr < h[i - 1].lr)) continue;
        double x = px(a, h[i].epoch - 0.5);
        cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
        cairo_set_line_width(cr, 1);
        cairo_set_dash(cr, dash, 2, 0);
        cairo_move_to(cr, x, a->y0);
        cairo_line_to(cr, x, a->y0 + a->h);
        cairo_stroke(cr);
        cairo_set_dash(cr, dash, 0, 0);
        char b[32];
        snprintf(b, sizeof b, "lr %.0e", h[i].lr);
        text_at(cr, x + 3, a->y0 + 4, b, 0, 0);
    }
}

static void legend(cairo_t *cr, double x, double y, const char *label, double r, double g, double b, int dashed) {
    double dash[] = {6, 4};
    cairo_set_source_rgb(cr, r, g, b);
    cairo_set_line_width(cr, 2);
    cairo_set_dash(cr, dash, dashed ? 2 : 0, 0);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x + 24, y);
    cairo_stroke(cr);
    cairo_set_dash(cr, dash, 0, 0);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, 12);
    text_at(cr, x + 30, y, label, 0, 0.5);
}

static void range_of(const sf_epoch_record *h, int n, size_t f1, size_t f2, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            double v = *(const double *)((const char *)&h[i] + (k ? f2 : f1));
            if (!isfinite(v)) continue;
            *lo = fmin(*lo, v);
            *hi = fmax(*hi, v);
        }
    if (!isfinite(*lo)) *lo = 0, *hi = 1;
}

int sf_plot_curves(const char *path, const sf_epoch_record *h, int n, char *err, size_t errlen) {
    const int W = 1200, H = 480;
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0.97, 0.97, 0.97);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    double xmin = n ? h[0].epoch - 0.5 : 0, xmax = n ? h[n - 1].epoch + 0.5 : 1;
    double lo, hi;
    range_of(h, n, offsetof(sf_epoch_record, train_loss), offsetof(sf_epoch_record, val_loss), &lo, &hi);
    axes la = {80, 50, 480, 340, xmin, xmax, 0, hi > 0 ? hi * 1.08 : 1};
    axes aa = {680, 50, 480, 340, xmin, xmax, 0, 1};
    draw_axes(cr, &la, "loss", "cross-entropy");
    draw_axes(cr, &aa, "accuracy", "accuracy");
    const double tr[3] = {0.12, 0.47, 0.71}, va[3] = {0.85, 0.37, 0.0};
    draw_series(cr, &la, h, n, offsetof(sf_epoch_record, train_loss), tr[0], tr[1], tr[2], 0);
    draw_series(cr, &la, h, n, offsetof(sf_epoch_record, val_loss), va[0], va[1], va[2], 1);
    draw_series(cr, &aa, h, n, offsetof(sf_epoch_record, train_acc), tr[0], tr[1], tr[2], 0);
    draw_series(cr, &aa, h, n, offsetof(sf_epoch_record, val_acc), va[0], va[1], va[2], 1);
    legend(cr, 300, H - 30, "train", tr[0], tr[1], tr[2], 0);
    legend(cr, 420, H - 30, "validation", va[0], va[1], va[2], 1);
    if (lr_in_steps(h, n)) {
        draw_lr_drops(cr, &la, h, n);
        draw_lr_drops(cr, &aa, h, n);
        legend(cr, 580, H - 30, "", 0.5, 0.5, 0.5, 1);
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, 610, H - 30, "learning-rate drop (ReduceLROnPlateau)", 0, 0.5);
    }
    cairo_destroy(cr);
    int rc = save_png(s, path, err, errlen);
    cairo_surface_destroy(s);
    return rc;
}

// White -> dark blue colour ramp for v in [0, 1].
static void heat(double v, double *r, double *g, double *b) {
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    *r = 1 - 0.92 * v;
    *g = 1 - 0.75 * v;
    *b = 1 - 0.45 * v;
}

int sf_plot_confusion(const char *path, const int64_t *cm, int k, const char *const *names, const char *title,
                      char *err, size_t errlen) {
    const double cell = k <= 10 ? 40 : 18, margin_l = 170, margin_t = 60, margin_b = 170;
    const int W = (int)(margin_l + k * cell + 90), H = (int)(margin_t + k * cell + margin_b);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    for (int t = 0; t < k; t++) {
        int64_t row = 0;
        for (int p = 0; p < k; p++) row += cm[(int64_t)t * k + p];
        for (int p = 0; p < k; p++) {
            int64_t c = cm[(int64_t)t * k + p];
            double v = row ? (double)c / (double)row : 0, r, g, b;
            heat(v, &r, &g, &b);
            double x = margin_l + p * cell, y = margin_t + t * cell;
            cairo_set_source_rgb(cr, r, g, b);
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            if (c > 0) {
                char txt[24];
                snprintf(txt, sizeof txt, "%lld", (long long)c);
                cairo_set_font_size(cr, cell < 20 ? 8 : 12);
                double shade = v > 0.5 ? 1 : 0.15;
                cairo_set_source_rgb(cr, shade, shade, shade);
                text_at(cr, x + cell / 2, y + cell / 2, txt, 0.5, 0.5);
            }
        }
    }
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 0.5);
    for (int i = 0; i <= k; i++) {
        cairo_move_to(cr, margin_l + i * cell, margin_t);
        cairo_line_to(cr, margin_l + i * cell, margin_t + k * cell);
        cairo_move_to(cr, margin_l, margin_t + i * cell);
        cairo_line_to(cr, margin_l + k * cell, margin_t + i * cell);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, cell < 20 ? 10 : 12);
    for (int i = 0; i < k; i++) {
        char fallback[24];
        snprintf(fallback, sizeof fallback, "class %d", i);
        const char *nm = names && names[i] ? names[i] : fallback;
        text_at(cr, margin_l - 4, margin_t + (i + 0.5) * cell, nm, 1, 0.5);
        cairo_save(cr);
        cairo_translate(cr, margin_l + (i + 0.5) * cell, margin_t + k * cell + 4);
        cairo_rotate(cr, -M_PI / 2);
        text_at(cr, 0, 0, nm, 1, 0.5);
        cairo_restore(cr);
    }
    cairo_set_font_size(cr, 14);
    text_at(cr, margin_l + k * cell / 2, 20, title ? title : "confusion matrix", 0.5, 0);
    cairo_set_font_size(cr, 12);
    text_at(cr, margin_l + k * cell / 2, H - 16, "predicted class", 0.5, 1);
    cairo_save(cr);
    cairo_translate(cr, 14, margin_t + k * cell / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, "true class (row-normalised)", 0.5, 0.5);
    cairo_restore(cr);
    // Colour bar.
    double bx = margin_l + k * cell + 30, bh = k * cell;
    for (int i = 0; i < 100; i++) {
        double r, g, b;
        heat(1 - i / 99.0, &r, &g, &b);
        cairo_set_source_rgb(cr, r, g, b);
        cairo_rectangle(cr, bx, margin_t + i * bh / 100, 16, bh / 100 + 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_set_font_size(cr, 10);
    text_at(cr, bx + 20, margin_t, "1", 0, 0);
    text_at(cr, bx + 20, margin_t + bh, "0", 0, 1);
    cairo_destroy(cr);
    int rc = save_png(s, path, err, errlen);
    cairo_surface_destroy(s);
    return rc;
}

void sf_plot_release(void) {
    cairo_debug_reset_static_data();
    FcFini();
}
