// plot.h: the run's PNG figures, drawn with cairo.
//   curves.png     loss (left) and accuracy (right) against the epoch, train and validation, with a
//                  dashed vertical line at each epoch where the learning rate dropped
//   confusion.png  k x k heat map of the confusion matrix, each row normalised by its support (so
//                  the diagonal reads as per-class recall), with class names on both axes
// Files are written atomically.
#ifndef SF_CLI_PLOT_H
#define SF_CLI_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/train_state.h"

int sf_plot_curves(const char *path, const sf_epoch_record *h, int n, char *err, size_t errlen);
// cm is (k,k), row = true class, column = predicted class.
int sf_plot_confusion(const char *path, const int64_t *cm, int k, const char *const *names, const char *title,
                      char *err, size_t errlen);

// Frees cairo's and fontconfig's process-wide font caches; call once, when no plot is being drawn
// (main does, after the command). fontconfig stores its pointers as offsets, so a leak checker would
// otherwise report its cached patterns as lost.
void sf_plot_release(void);

#endif
