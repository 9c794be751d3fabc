// progress.h: training progress on stderr. On a terminal, a live bar redrawn in place (batches done,
// images/s, running loss, ETA); otherwise (a log file, CI) plain lines at a steady pace, at every 10%
// of the epoch or every 30 s, whichever comes first, so that logs stay short but never go quiet.
#ifndef SF_CLI_PROGRESS_H
#define SF_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include "nn/train_state.h"

typedef struct {
    FILE *f;
    int tty;
    char label[32];
    int64_t total;         // batches in this pass
    int64_t first;         // batch index the pass started at (a resumed epoch starts mid-way)
    double t0, last_draw;
    int64_t last_decile;   // for plain lines: last 10% step printed
    int64_t images;
} sf_progress;

// `tty` < 0 asks isatty(fileno(f)).
void sf_progress_begin(sf_progress *p, FILE *f, int tty, const char *label, int64_t first, int64_t total);
// After batch `done` (counting from 0, so done = first+1 after the first batch) with `images` images
// processed in this pass and the running mean loss.
void sf_progress_update(sf_progress *p, int64_t done, int64_t images, double loss, double acc);
// Clears the live bar (the epoch summary line follows).
void sf_progress_end(sf_progress *p);

// "epoch 012 lr 1e-03 train_loss 1.2345 train_acc 0.6543 val_loss ... val_acc ... val_f1 ... 41.2s 512 img/s"
// (an epoch without validation, NaN val_acc: "... train_acc 0.6543 (no validation) 41.2s 512 img/s")
void sf_epoch_line(char *buf, size_t n, const sf_epoch_record *s);

#endif
