// plateau.c: ReduceLROnPlateau, following torch.optim.lr_scheduler.ReduceLROnPlateau.step.
#include "nn/plateau.h"

#include <math.h>

void sf_plateau_init(sf_plateau *s) {
    *s = (sf_plateau){
        .mode_max = false,
        .threshold_abs = false,
        .factor = 0.1,
        .patience = 2,
        .threshold = 1e-4,
        .cooldown = 0,
        .min_lr = 0.0,
        .eps = 1e-8,
        .best = INFINITY,
        .num_bad_epochs = 0,
        .cooldown_counter = 0,
        .last_epoch = 0,
    };
}

static bool is_better(const sf_plateau *s, double a) {
    if (!s->mode_max && !s->threshold_abs) return a < s->best * (1.0 - s->threshold);
    if (!s->mode_max) return a < s->best - s->threshold;
    if (!s->threshold_abs) return a > s->best * (s->threshold + 1.0);
    return a > s->best + s->threshold;
}

double sf_plateau_step(sf_plateau *s, double metric, double lr, bool *reduced) {
    // torch starts from mode_worse; a state initialised for 'min' but switched to 'max' starts over.
    if (s->last_epoch == 0) s->best = s->mode_max ? -INFINITY : INFINITY;
    s->last_epoch++;
    if (is_better(s, metric)) {
        s->best = metric;
        s->num_bad_epochs = 0;
    } else {
        s->num_bad_epochs++;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter--;
        s->num_bad_epochs = 0;
    }
    bool red = false;
    if (s->num_bad_epochs > s->patience) {
        double new_lr = fmax(lr * s->factor, s->min_lr);
        if (lr - new_lr > s->eps) {
            lr = new_lr;
            red = true;
        }
        s->cooldown_counter = s->cooldown;
        s->num_bad_epochs = 0;
    }
    if (reduced) *reduced = red;
    return lr;
}
