// train_state.h: everything a training run needs to continue exactly where it stopped.
//
// The state file (runs/NAME/state.safetensors) is self-contained: the model's parameters and buffers
// under their PyTorch names, the optimizer's moments and step counts ("train.opt.*"), and the loop's
// counters, scheduler, RNG and history ("train.*"). Because the weights travel inside it, a crash
// between writing last.safetensors and the state can never pair weights with the wrong moments: the
// state alone is resumed from, and last.safetensors (same weights, same checkpoint id in both files'
// metadata) is the user-facing copy. Both are written atomically (temporary file, fsync, rename).
//
// No generator state needs saving: the sampler's permutation and each image's augmentation are pure
// functions of (seed, epoch, position) (data/sampler.h, data/loader.h) and the model is initialised
// once from the seed, so the batch position within the epoch is the whole data-side state.
#ifndef SF_NN_TRAIN_STATE_H
#define SF_NN_TRAIN_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "nn/adamw.h"
#include "nn/model.h"
#include "nn/plateau.h"

// One finished epoch, one row of history.csv.
typedef struct {
    int epoch;  // 1-based
    double lr;  // learning rate used during this epoch
    double train_loss, train_acc;
    double val_loss, val_acc, val_f1;
    double seconds, img_per_s;
    int skipped;  // steps skipped for a non-finite loss
} sf_epoch_record;
#define SF_EPOCH_RECORD_FIELDS 10

typedef struct {
    int epoch;            // epochs finished; the next batch belongs to epoch `epoch` (0-based)
    int64_t batch;        // batches finished within that epoch
    int64_t global_step;  // optimizer steps taken over the whole run
    double lr;            // current learning rate (the optimizer's cfg.lr is set from it)
    sf_plateau plateau;
    double best_acc;      // best validation accuracy so far (-1 before the first evaluation)
    int best_epoch;       // 1-based epoch of best_acc, 0 if none
    int bad_streak;       // consecutive non-finite losses
    // Running sums of the unfinished epoch, so a resumed epoch reports the same train loss/accuracy.
    double sum_loss;
    int64_t n_correct, n_images, n_skipped;
    double epoch_seconds;  // wall time already spent in the unfinished epoch
    // Training-loop time and images of the unfinished epoch (validation excluded), so that a resumed
    // epoch reports the img/s of the whole epoch, not only of the batches after the resume.
    double train_seconds;
    int64_t train_images;
    sf_epoch_record *history;  // (n_history), sf_malloc'd
    int n_history, cap_history;
} sf_train_state;

void sf_train_state_init(sf_train_state *s, double lr);
void sf_train_state_free(sf_train_state *s);
void sf_train_state_push(sf_train_state *s, const sf_epoch_record *r);

// Writes the state with the model's weights and the optimizer's moments to path; ckpt_id is stored
// in the metadata (metadata pairs in `meta`, NULL-terminated, are added too). Returns 0 or -1 with err.
int sf_train_state_save(const char *path, const sf_train_state *s, const sf_model *m, const sf_optimizer *o,
                        const char *ckpt_id, const char *const *meta, char *err, size_t errlen);
// Restores all three from path. The model and optimizer must have the architecture and configuration
// the state was written with (shapes and names are checked). On error nothing is promised about m and
// o, and err names the first problem. ckpt_id (may be NULL) receives the stored id.
int sf_train_state_load(sf_train_state *s, sf_model *m, sf_optimizer *o, const char *path, char *ckpt_id,
                        size_t idlen, char *err, size_t errlen);

#endif
