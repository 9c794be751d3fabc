// test_nn_train_state.c: the training state round trips every counter, the plateau scheduler and the
// history through state.safetensors, and a state written before the epoch's training time and image
// count were stored (shorter slot vectors) still loads, with those two at 0.
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/adamw.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "nn/train_state.h"
#include "springfield.h"

static sf_model *make(uint64_t seed) {
    char err[256];
    sf_model_config c = {.arch = "simple", .n_classes = 5, .in_h = 94, .in_w = 94, .max_batch = 1, .seed = seed};
    sf_model *m = sf_model_create(&c, err, sizeof err);
    cr_assert(m, "%s", err);
    return m;
}

static sf_optimizer *make_opt(sf_model *m) {
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    return sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
}

static void tmp_path(char *path) {
    strcpy(path, "/tmp/sf_test_state_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
}

// A state in the middle of epoch 3 with every field away from its default.
static void fill(sf_train_state *s) {
    sf_train_state_init(s, 2.5e-4);
    s->epoch = 2, s->batch = 17, s->global_step = 517, s->best_acc = 0.8125, s->best_epoch = 2;
    s->bad_streak = 1, s->sum_loss = 12.75, s->n_correct = 99, s->n_images = 130, s->n_skipped = 1;
    s->epoch_seconds = 41.5, s->train_seconds = 38.25, s->train_images = 136;
    s->plateau.num_bad_epochs = 1, s->plateau.best = 0.625;
    for (int e = 1; e <= 2; e++) {
        sf_epoch_record r = {e, 1e-3, 1.5 / e, 0.5 * e, 1.25 / e, 0.4 * e, 0.3 * e, 60.5, 95.25, e - 1};
        sf_train_state_push(s, &r);
    }
}

static void check_same(const sf_train_state *a, const sf_train_state *b, bool with_v2_slots) {
    cr_assert_eq(b->epoch, a->epoch);
    cr_assert_eq(b->batch, a->batch);
    cr_assert_eq(b->global_step, a->global_step);
    cr_assert_eq(b->lr, a->lr);
    cr_assert_eq(b->best_acc, a->best_acc);
    cr_assert_eq(b->best_epoch, a->best_epoch);
    cr_assert_eq(b->bad_streak, a->bad_streak);
    cr_assert_eq(b->sum_loss, a->sum_loss);
    cr_assert_eq(b->n_correct, a->n_correct);
    cr_assert_eq(b->n_images, a->n_images);
    cr_assert_eq(b->n_skipped, a->n_skipped);
    cr_assert_eq(b->epoch_seconds, a->epoch_seconds);
    cr_assert_eq(b->plateau.num_bad_epochs, a->plateau.num_bad_epochs);
    cr_assert_eq(b->plateau.best, a->plateau.best);
    cr_assert_eq(b->train_seconds, with_v2_slots ? a->train_seconds : 0.0);
    cr_assert_eq(b->train_images, with_v2_slots ? a->train_images : 0);
    cr_assert_eq(b->n_history, a->n_history);
    for (int i = 0; i < a->n_history; i++) {
        const sf_epoch_record *x = &a->history[i], *y = &b->history[i];
        cr_assert(x->epoch == y->epoch && x->lr == y->lr && x->train_loss == y->train_loss &&
                      x->train_acc == y->train_acc && x->val_loss == y->val_loss && x->val_acc == y->val_acc &&
                      x->val_f1 == y->val_f1 && x->seconds == y->seconds && x->img_per_s == y->img_per_s &&
                      x->skipped == y->skipped,
                  "history row %d differs", i);
    }
}

// Two models and optimizers (saved from, loaded into), a filled state and an empty one.
typedef struct {
    sf_model *m, *m2;
    sf_optimizer *o, *o2;
    sf_train_state s, t;
} fixture;

static void setup(fixture *f) {
    f->m = make(1), f->m2 = make(2);
    f->o = make_opt(f->m), f->o2 = make_opt(f->m2);
    fill(&f->s);
    sf_train_state_init(&f->t, 1e-3);
}

static void teardown(fixture *f) {
    sf_train_state_free(&f->s);
    sf_train_state_free(&f->t);
    sf_opt_free(f->o);
    sf_opt_free(f->o2);
    sf_model_free(f->m);
    sf_model_free(f->m2);
}

Test(nn_train_state, round_trip) {
    fixture f;
    setup(&f);
    char path[64], err[512], id[64];
    tmp_path(path);
    cr_assert_eq(sf_train_state_save(path, &f.s, f.m, f.o, "ck-7", NULL, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sf_train_state_load(&f.t, f.m2, f.o2, path, id, sizeof id, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(id, "ck-7");
    check_same(&f.s, &f.t, true);
    cr_assert(!memcmp(sf_model_param(f.m, 0)->data, sf_model_param(f.m2, 0)->data, sf_model_param(f.m, 0)->count * 4));
    unlink(path);
    teardown(&f);
}

// The first layout had 15 integer and 9 float slots. Rewrite a saved state with its slot vectors cut
// to that length: it loads, and the fields appended since then read 0. A vector shorter than the first
// layout is refused with the tensor's name.
Test(nn_train_state, older_layout_loads) {
    fixture f;
    setup(&f);
    char path[64], old[64], err[512];
    tmp_path(path);
    tmp_path(old);
    cr_assert_eq(sf_train_state_save(path, &f.s, f.m, f.o, "ck-1", NULL, err, sizeof err), 0, "%s", err);
    for (int cut = 0; cut < 2; cut++) {
        sf_st_file *sf = sf_st_open(path, err, sizeof err);
        cr_assert(sf, "%s", err);
        sf_st_writer *w = sf_st_writer_new();
        for (int i = 0; i < sf_st_count(sf); i++) {
            const sf_st_tensor *x = sf_st_get_index(sf, i);
            int64_t shape[8];
            memcpy(shape, x->shape, sizeof shape);
            if (!strcmp(x->name, "train.i64")) shape[0] = cut ? 14 : 15;
            if (!strcmp(x->name, "train.f64")) shape[0] = 9;
            sf_st_writer_add(w, x->name, x->dtype, x->ndim, shape, x->data);
        }
        sf_st_writer_meta(w, "format", sf_st_meta(sf, "format"));
        sf_st_writer_meta(w, "optimizer", sf_st_meta(sf, "optimizer"));
        cr_assert_eq(sf_st_write(w, old, err, sizeof err), 0, "%s", err);
        sf_st_writer_free(w);
        sf_st_close(sf);
        int rc = sf_train_state_load(&f.t, f.m2, f.o2, old, NULL, 0, err, sizeof err);
        if (cut) {
            cr_assert_eq(rc, -1);
            cr_assert(strstr(err, "train.i64") && strstr(err, old), "%s", err);
        } else {
            cr_assert_eq(rc, 0, "%s", err);
            check_same(&f.s, &f.t, false);
        }
    }
    unlink(path);
    unlink(old);
    teardown(&f);
}
