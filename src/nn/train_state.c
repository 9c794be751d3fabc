// train_state.c: see train_state.h.
#include "nn/train_state.h"
#include "util/util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "springfield-train-state"
#define FORMAT_VERSION "1"

// Fixed slots of the "train.i64" and "train.f64" vectors. New slots are appended, and a file with
// fewer slots (written before they existed) loads with the missing ones at 0; *_V1 is the first layout.
enum {
    I_EPOCH, I_BATCH, I_STEP, I_BEST_EPOCH, I_BAD_STREAK, I_CORRECT, I_IMAGES, I_SKIPPED,
    I_PL_BAD, I_PL_COOLDOWN_COUNTER, I_PL_LAST_EPOCH, I_PL_MODE_MAX, I_PL_THRESHOLD_ABS, I_PL_PATIENCE,
    I_PL_COOLDOWN, I_COUNT_V1, I_TRAIN_IMAGES = I_COUNT_V1, I_COUNT
};
enum { F_LR, F_BEST_ACC, F_SUM_LOSS, F_EPOCH_SECONDS, F_PL_FACTOR, F_PL_THRESHOLD, F_PL_MIN_LR, F_PL_EPS, F_PL_BEST,
       F_COUNT_V1, F_TRAIN_SECONDS = F_COUNT_V1, F_COUNT };

void sf_train_state_init(sf_train_state *s, double lr) {
    memset(s, 0, sizeof *s);
    s->lr = lr;
    s->best_acc = -1.0;
    sf_plateau_init(&s->plateau);
}

void sf_train_state_free(sf_train_state *s) {
    free(s->history);
    s->history = NULL;
    s->n_history = s->cap_history = 0;
}

void sf_train_state_push(sf_train_state *s, const sf_epoch_record *r) {
    if (s->n_history == s->cap_history) {
        int cap = s->cap_history ? 2 * s->cap_history : 64;
        sf_epoch_record *h = sf_malloc((size_t)cap * sizeof *h);
        if (s->n_history) memcpy(h, s->history, (size_t)s->n_history * sizeof *h);
        free(s->history);
        s->history = h;
        s->cap_history = cap;
    }
    s->history[s->n_history++] = *r;
}

static void add_param(sf_st_writer *w, const sf_param *p) {
    sf_st_writer_add(w, p->name, p->dtype, p->ndim, p->shape, p->data);
}

int sf_train_state_save(const char *path, const sf_train_state *s, const sf_model *m, const sf_optimizer *o,
                        const char *ckpt_id, const char *const *meta, char *err, size_t errlen) {
    int64_t iv[I_COUNT];
    double fv[F_COUNT];
    const sf_plateau *pl = &s->plateau;
    iv[I_EPOCH] = s->epoch;
    iv[I_BATCH] = s->batch;
    iv[I_STEP] = s->global_step;
    iv[I_BEST_EPOCH] = s->best_epoch;
    iv[I_BAD_STREAK] = s->bad_streak;
    iv[I_CORRECT] = s->n_correct;
    iv[I_IMAGES] = s->n_images;
    iv[I_SKIPPED] = s->n_skipped;
    iv[I_PL_BAD] = pl->num_bad_epochs;
    iv[I_PL_COOLDOWN_COUNTER] = pl->cooldown_counter;
    iv[I_PL_LAST_EPOCH] = pl->last_epoch;
    iv[I_PL_MODE_MAX] = pl->mode_max;
    iv[I_PL_THRESHOLD_ABS] = pl->threshold_abs;
    iv[I_PL_PATIENCE] = pl->patience;
    iv[I_PL_COOLDOWN] = pl->cooldown;
    iv[I_TRAIN_IMAGES] = s->train_images;
    fv[F_LR] = s->lr;
    fv[F_BEST_ACC] = s->best_acc;
    fv[F_SUM_LOSS] = s->sum_loss;
    fv[F_EPOCH_SECONDS] = s->epoch_seconds;
    fv[F_PL_FACTOR] = pl->factor;
    fv[F_PL_THRESHOLD] = pl->threshold;
    fv[F_PL_MIN_LR] = pl->min_lr;
    fv[F_PL_EPS] = pl->eps;
    fv[F_PL_BEST] = pl->best;
    fv[F_TRAIN_SECONDS] = s->train_seconds;

    double *hist = NULL;
    sf_st_writer *w = sf_st_writer_new();
    int64_t ishape[1] = {I_COUNT}, fshape[1] = {F_COUNT};
    sf_st_writer_add(w, "train.i64", SF_DT_I64, 1, ishape, iv);
    sf_st_writer_add(w, "train.f64", SF_DT_F64, 1, fshape, fv);
    if (s->n_history > 0) {
        hist = sf_malloc((size_t)s->n_history * SF_EPOCH_RECORD_FIELDS * sizeof *hist);
        for (int i = 0; i < s->n_history; i++) {
            const sf_epoch_record *r = &s->history[i];
            double *row = hist + (size_t)i * SF_EPOCH_RECORD_FIELDS;
            row[0] = r->epoch, row[1] = r->lr, row[2] = r->train_loss, row[3] = r->train_acc;
            row[4] = r->val_loss, row[5] = r->val_acc, row[6] = r->val_f1, row[7] = r->seconds;
            row[8] = r->img_per_s, row[9] = r->skipped;
        }
        int64_t hshape[2] = {s->n_history, SF_EPOCH_RECORD_FIELDS};
        sf_st_writer_add(w, "train.history", SF_DT_F64, 2, hshape, hist);
    }
    sf_model *mm = (sf_model *)m;  // the accessors are not const, the data is only read
    for (int i = 0; i < sf_model_n_params(mm); i++) add_param(w, sf_model_param(mm, i));
    for (int i = 0; i < sf_model_n_buffers(mm); i++) add_param(w, sf_model_buffer(mm, i));
    sf_opt_state_add(o, w, "train.opt.");
    sf_st_writer_meta(w, "format", FORMAT_NAME);
    sf_st_writer_meta(w, "format_version", FORMAT_VERSION);
    sf_st_writer_meta(w, "optimizer", o->cfg.kind == SF_OPT_SGD ? "sgd" : "adamw");
    if (ckpt_id) sf_st_writer_meta(w, "ckpt_id", ckpt_id);
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2) sf_st_writer_meta(w, meta[i], meta[i + 1]);
    int rc = sf_st_write(w, path, err, errlen);
    sf_st_writer_free(w);
    free(hist);
    return rc;
}

static const sf_st_tensor *need(const sf_st_file *f, const char *name, sf_dtype dt, size_t count,
                                const char *path, char *err, size_t errlen) {
    const sf_st_tensor *t = sf_st_get(f, name);
    if (!t) {
        snprintf(err, errlen, "%s: tensor '%s' is missing", path, name);
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->shape[i];
    if (t->dtype != dt || (count && n != count)) {
        snprintf(err, errlen, "%s: tensor '%s' is %s with %zu elements, expected %s with %zu", path, name,
                 sf_dtype_name(t->dtype), n, sf_dtype_name(dt), count);
        return NULL;
    }
    return t;
}

// A 1-D slot vector of dtype dt with between min_count and max_count elements, or NULL with err.
static const sf_st_tensor *need_slots(const sf_st_file *f, const char *name, sf_dtype dt, int64_t min_count,
                                      int64_t max_count, const char *path, char *err, size_t errlen) {
    const sf_st_tensor *t = sf_st_get(f, name);
    if (!t) {
        snprintf(err, errlen, "%s: tensor '%s' is missing", path, name);
        return NULL;
    }
    if (t->dtype != dt || t->ndim != 1 || t->shape[0] < min_count || t->shape[0] > max_count) {
        snprintf(err, errlen, "%s: tensor '%s' is %s[%lld], expected %s[%lld..%lld]", path, name,
                 sf_dtype_name(t->dtype), t->ndim == 1 ? (long long)t->shape[0] : -1LL, sf_dtype_name(dt),
                 (long long)min_count, (long long)max_count);
        return NULL;
    }
    return t;
}

static int load_param(sf_param *p, const sf_st_file *f, const char *path, char *err, size_t errlen) {
    const sf_st_tensor *t = need(f, p->name, p->dtype, p->count, path, err, errlen);
    if (!t) return -1;
    memcpy(p->data, t->data, p->count * sf_dtype_size(p->dtype));
    return 0;
}

int sf_train_state_load(sf_train_state *s, sf_model *m, sf_optimizer *o, const char *path, char *ckpt_id,
                        size_t idlen, char *err, size_t errlen) {
    sf_st_file *f = sf_st_open(path, err, errlen);
    if (!f) return -1;
    int rc = -1;
    const char *fmt = sf_st_meta(f, "format");
    if (!fmt || strcmp(fmt, FORMAT_NAME) != 0) {
        snprintf(err, errlen, "%s: not a springfield training state (metadata format=%s)", path, fmt ? fmt : "absent");
        goto done;
    }
    const char *okind = sf_st_meta(f, "optimizer");
    const char *want = o->cfg.kind == SF_OPT_SGD ? "sgd" : "adamw";
    if (okind && strcmp(okind, want) != 0) {
        snprintf(err, errlen, "%s: saved with optimizer %s, this run uses %s", path, okind, want);
        goto done;
    }
    const sf_st_tensor *ti = need_slots(f, "train.i64", SF_DT_I64, I_COUNT_V1, I_COUNT, path, err, errlen);
    const sf_st_tensor *tf = ti ? need_slots(f, "train.f64", SF_DT_F64, F_COUNT_V1, F_COUNT, path, err, errlen) : NULL;
    if (!tf) goto done;
    for (int i = 0; i < sf_model_n_params(m); i++)
        if (load_param(sf_model_param(m, i), f, path, err, errlen)) goto done;
    for (int i = 0; i < sf_model_n_buffers(m); i++)
        if (load_param(sf_model_buffer(m, i), f, path, err, errlen)) goto done;
    if (sf_opt_state_load(o, f, "train.opt.", err, errlen)) goto done;
    sf_model_weights_changed(m);

    int64_t iv[I_COUNT] = {0};
    double fv[F_COUNT] = {0};
    memcpy(iv, ti->data, (size_t)ti->shape[0] * sizeof iv[0]);
    memcpy(fv, tf->data, (size_t)tf->shape[0] * sizeof fv[0]);
    sf_train_state_free(s);
    sf_train_state_init(s, fv[F_LR]);
    s->epoch = (int)iv[I_EPOCH];
    s->batch = iv[I_BATCH];
    s->global_step = iv[I_STEP];
    s->best_epoch = (int)iv[I_BEST_EPOCH];
    s->bad_streak = (int)iv[I_BAD_STREAK];
    s->n_correct = iv[I_CORRECT];
    s->n_images = iv[I_IMAGES];
    s->n_skipped = iv[I_SKIPPED];
    s->train_images = iv[I_TRAIN_IMAGES];
    sf_plateau *pl = &s->plateau;
    pl->num_bad_epochs = (int)iv[I_PL_BAD];
    pl->cooldown_counter = (int)iv[I_PL_COOLDOWN_COUNTER];
    pl->last_epoch = (int)iv[I_PL_LAST_EPOCH];
    pl->mode_max = iv[I_PL_MODE_MAX] != 0;
    pl->threshold_abs = iv[I_PL_THRESHOLD_ABS] != 0;
    pl->patience = (int)iv[I_PL_PATIENCE];
    pl->cooldown = (int)iv[I_PL_COOLDOWN];
    s->best_acc = fv[F_BEST_ACC];
    s->sum_loss = fv[F_SUM_LOSS];
    s->epoch_seconds = fv[F_EPOCH_SECONDS];
    s->train_seconds = fv[F_TRAIN_SECONDS];
    pl->factor = fv[F_PL_FACTOR];
    pl->threshold = fv[F_PL_THRESHOLD];
    pl->min_lr = fv[F_PL_MIN_LR];
    pl->eps = fv[F_PL_EPS];
    pl->best = fv[F_PL_BEST];
    o->cfg.lr = s->lr;
    const sf_st_tensor *th = sf_st_get(f, "train.history");
    if (th) {
        if (th->dtype != SF_DT_F64 || th->ndim != 2 || th->shape[1] != SF_EPOCH_RECORD_FIELDS) {
            snprintf(err, errlen, "%s: tensor 'train.history' has the wrong shape", path);
            goto done;
        }
        const double *h = th->data;
        for (int64_t i = 0; i < th->shape[0]; i++) {
            const double *row = h + i * SF_EPOCH_RECORD_FIELDS;
            sf_epoch_record r = {(int)row[0], row[1], row[2], row[3], row[4],
                                 row[5],      row[6], row[7], row[8], (int)row[9]};
            sf_train_state_push(s, &r);
        }
    }
    if (ckpt_id && idlen) {
        const char *id = sf_st_meta(f, "ckpt_id");
        snprintf(ckpt_id, idlen, "%s", id ? id : "");
    }
    rc = 0;
done:
    sf_st_close(f);
    return rc;
}
