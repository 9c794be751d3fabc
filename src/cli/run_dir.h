// run_dir.h: the run folder of `springfield train` (runs/NAME/): config.json (every setting and its
// value), history.csv (one row per epoch), per_class.csv, bad_images.txt and train.log, next to the
// checkpoints (best.safetensors, last.safetensors, state.safetensors) and the plots.
#ifndef SF_CLI_RUN_DIR_H
#define SF_CLI_RUN_DIR_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/options.h"
#include "nn/train_state.h"

typedef struct {
    char path[PATH_MAX];
    FILE *log;  // train.log, appended to (a resumed run continues the same log)
} sf_run_dir;

// Creates the folder and its parents (mkdir -p), opens train.log and removes temporary files left by
// writes that a killed process cut short. Returns 0 or -1 with err.
int sf_run_dir_open(sf_run_dir *d, const char *path, char *err, size_t errlen);
void sf_run_dir_close(sf_run_dir *d);
// buf = "<run>/<file>"; dies if it does not fit.
void sf_run_file(char *buf, size_t n, const sf_run_dir *d, const char *file);

// A line to stderr and to train.log (with a UTC timestamp in the log).
void sf_run_log(sf_run_dir *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Every option of the command with its typed value (null when unset), plus the `extra` object's keys
// (stolen); written atomically. Returns 0 or -1 with err.
json_t *sf_opts_to_json(const sf_opts *o);
int sf_run_write_config(const sf_run_dir *d, const sf_opts *o, json_t *extra, char *err, size_t errlen);

// The whole history (rewritten each epoch, so a resumed run never duplicates rows).
int sf_run_write_history(const sf_run_dir *d, const sf_epoch_record *h, int n, char *err, size_t errlen);

// One row per class: name, precision, recall, f1, support; all arrays are (k,).
int sf_write_per_class_csv(const char *path, const char *const *names, int k, const double *precision,
                           const double *recall, const double *f1, const int64_t *support, char *err,
                           size_t errlen);

// One line per image that could not be used: "path<TAB>reason", or the path line alone when reasons is
// NULL (the loader's lines already read "path: reason").
int sf_run_write_bad_images(const sf_run_dir *d, const char *const *paths, const char *const *reasons, int n,
                            char *err, size_t errlen);

// What a checkpoint's metadata says about the model it holds (sf_model_save stores arch, n_classes,
// in_h; springfield train adds "class_names" and "class_counts", JSON arrays). Fields the file lacks
// stay empty (arch "", n_classes/size 0, names/counts NULL).
typedef struct {
    char arch[32];
    int n_classes, size;
    char **names;      // (n_classes) or NULL
    int64_t *counts;   // (n_classes) training images per class, or NULL
    bool bf16;         // metadata "precision" is "bf16": validated with bf16 convolutions (train --precision)
} sf_ckpt_info;

// Returns 0, or -1 with err when the file cannot be opened or its metadata is malformed.
int sf_ckpt_info_read(sf_ckpt_info *ci, const char *path, char *err, size_t errlen);
void sf_ckpt_info_free(sf_ckpt_info *ci);
// JSON array text of k strings / k integers (caller frees), for the metadata above.
char *sf_json_names(const char *const *names, int k);
char *sf_json_counts(const int64_t *counts, int k);

#endif
