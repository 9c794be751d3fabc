// test_nn_plateau.c: ReduceLROnPlateau against torch.optim.lr_scheduler on scripted metric sequences
// (tests/golden/make_models.py): the lr, num_bad_epochs, cooldown_counter and best after every step.
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>

#include "nn/plateau.h"
#include "util/npy.h"

// rows of (metric, lr, num_bad_epochs, cooldown_counter, best), as float32
static void run(const char *name, sf_plateau s) {
    char rel[64];
    snprintf(rel, sizeof rel, "models/plateau_%s.npy", name);
    npy_array g = npy_load(rel);
    cr_assert_eq(g.ndim, 2);
    int rows = (int)g.shape[0];
    double lr = 1e-3, max_lr_err = 0;
    int reductions = 0;
    for (int r = 0; r < rows; r++) {
        const float *e = g.f + r * 5;
        bool reduced;
        double before = lr;
        lr = sf_plateau_step(&s, e[0], lr, &reduced);
        reductions += reduced;
        cr_assert_eq(reduced, lr != before);
        double err = fabs(lr - e[1]) / e[1];
        if (err > max_lr_err) max_lr_err = err;
        cr_assert_leq(err, 1e-6, "%s step %d: lr %.9g, torch %.9g", name, r, lr, e[1]);
        cr_assert_eq(s.num_bad_epochs, (int)e[2], "%s step %d: num_bad_epochs %d, torch %d", name, r, s.num_bad_epochs,
                     (int)e[2]);
        cr_assert_eq(s.cooldown_counter, (int)e[3], "%s step %d: cooldown_counter", name, r);
        cr_assert_leq(fabs((float)s.best - e[4]), 1e-7 * fabs(e[4]), "%s step %d: best %g, torch %g", name, r, s.best, e[4]);
    }
    cr_assert_eq(s.last_epoch, rows);
    cr_log_info("plateau %-15s %2d steps, %d reductions, final lr %.3g, max lr rel err %.2g", name, rows, reductions, lr,
                max_lr_err);
    npy_free(&g);
}

Test(nn_plateau, default_min_rel) {
    sf_plateau s;
    sf_plateau_init(&s);
    cr_assert_eq(s.patience, 2);
    cr_assert_float_eq(s.factor, 0.1, 1e-12);
    run("default", s);
}

Test(nn_plateau, cooldown) {
    sf_plateau s;
    sf_plateau_init(&s);
    s.cooldown = 2;
    s.patience = 1;
    run("cooldown", s);
}

Test(nn_plateau, max_abs) {
    sf_plateau s;
    sf_plateau_init(&s);
    s.mode_max = true;
    s.threshold_abs = true;
    s.threshold = 0.01;
    s.patience = 1;
    run("max_abs", s);
}

Test(nn_plateau, min_lr_and_eps) {
    sf_plateau s;
    sf_plateau_init(&s);
    s.patience = 0;
    s.min_lr = 2e-6;
    s.factor = 0.5;
    run("min_lr", s);
}

Test(nn_plateau, relative_threshold) {
    sf_plateau s;
    sf_plateau_init(&s);
    s.patience = 1;
    run("tiny_threshold", s);
}
