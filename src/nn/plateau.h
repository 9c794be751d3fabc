// plateau.h: ReduceLROnPlateau exactly as torch.optim.lr_scheduler (1.13): after `patience` epochs
// without a significant improvement of the monitored metric, lr := max(lr * factor, min_lr), applied
// only when the decrease exceeds eps; then `cooldown` epochs in which bad epochs are not counted.
// The whole state is the public struct (plain values, no pointers), so a checkpoint saves it as is.
#ifndef SF_PLATEAU_H
#define SF_PLATEAU_H

#include <stdbool.h>

typedef struct {
    // configuration (defaults from sf_plateau_init: the seed's mode min, factor 0.1, patience 2)
    bool mode_max;          // false: 'min' (e.g. a loss), true: 'max' (e.g. an accuracy)
    bool threshold_abs;     // false: 'rel' (best * (1 -/+ threshold)), true: 'abs'
    double factor;          // 0.1
    int patience;           // 2
    double threshold;       // 1e-4
    int cooldown;           // 0
    double min_lr;          // 0
    double eps;             // 1e-8
    // state, as torch's attributes
    double best;            // +inf (min) / -inf (max) until the first step
    int num_bad_epochs;
    int cooldown_counter;
    int last_epoch;         // number of steps taken
} sf_plateau;

void sf_plateau_init(sf_plateau *s);
// One epoch's metric; returns the learning rate to use from now on (lr itself or the reduced one).
// *reduced [may be NULL] tells whether this call reduced it.
double sf_plateau_step(sf_plateau *s, double metric, double lr, bool *reduced);

#endif
