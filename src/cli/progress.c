// progress.c: see progress.h.
#include "cli/progress.h"
#include "util/util.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define REDRAW_S 0.2   // terminal: at most 5 redraws a second
#define PLAIN_S 30.0   // plain: at least one line every 30 s

void sf_progress_begin(sf_progress *p, FILE *f, int tty, const char *label, int64_t first, int64_t total) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = tty >= 0 ? tty : isatty(fileno(f));
    snprintf(p->label, sizeof p->label, "%s", label);
    p->first = first;
    p->total = total;
    p->t0 = p->last_draw = sf_now();
    p->last_decile = total > 0 ? first * 10 / total : 0;
}

static void fmt_eta(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) snprintf(buf, n, "--:--");
    else if (s >= 3600) snprintf(buf, n, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else snprintf(buf, n, "%02d:%02d", (int)s / 60, (int)s % 60);
}

void sf_progress_update(sf_progress *p, int64_t done, int64_t images, double loss, double acc) {
    double now = sf_now(), el = now - p->t0;
    p->images = images;
    int64_t run = done - p->first;
    double ips = el > 0 ? (double)images / el : 0.0;
    double eta = run > 0 ? el / (double)run * (double)(p->total - done) : -1.0;
    char e[32];
    fmt_eta(e, sizeof e, eta);
    int last = done >= p->total;
    if (p->tty) {
        if (!last && now - p->last_draw < REDRAW_S) return;
        p->last_draw = now;
        enum { W = 28 };
        char bar[W + 1];
        int fill = p->total > 0 ? (int)(W * done / p->total) : W;
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        fprintf(p->f, "\r\033[K%s [%s] %lld/%lld  %.0f img/s  loss %.4f  acc %.3f  ETA %s", p->label, bar,
                (long long)done, (long long)p->total, ips, loss, acc, e);
        fflush(p->f);
        return;
    }
    int64_t decile = p->total > 0 ? done * 10 / p->total : 10;
    if (decile == p->last_decile && now - p->last_draw < PLAIN_S) return;
    if (last) return;  // the epoch summary line follows
    p->last_decile = decile;
    p->last_draw = now;
    fprintf(p->f, "%s %lld/%lld (%d%%) %.0f img/s loss %.4f acc %.3f ETA %s\n", p->label, (long long)done,
            (long long)p->total, (int)(100 * done / (p->total ? p->total : 1)), ips, loss, acc, e);
    fflush(p->f);
}

void sf_progress_end(sf_progress *p) {
    if (p->tty) {
        fprintf(p->f, "\r\033[K");
        fflush(p->f);
    }
}

void sf_epoch_line(char *buf, size_t n, const sf_epoch_record *s) {
    if (isnan(s->val_acc)) {  // an epoch train --val-every did not validate
        snprintf(buf, n, "epoch %03d lr %.0e train_loss %.4f train_acc %.4f (no validation) %.1fs %.0f img/s",
                 s->epoch, s->lr, s->train_loss, s->train_acc, s->seconds, s->img_per_s);
        return;
    }
    snprintf(buf, n,
             "epoch %03d lr %.0e train_loss %.4f train_acc %.4f val_loss %.4f val_acc %.4f val_f1 %.4f %.1fs "
             "%.0f img/s",
             s->epoch, s->lr, s->train_loss, s->train_acc, s->val_loss, s->val_acc, s->val_f1, s->seconds,
             s->img_per_s);
}
