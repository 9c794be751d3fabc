// split.h: the stratified train/validation split.
//
// Each class is shuffled on its own (seeded from (seed, class)) and its first round(count * val_frac)
// images go to validation, so every class keeps its proportion in both parts. A class of one image
// stays in train (with a warning naming it); a class of two or more keeps at least one image on each side.
#ifndef SF_DATA_SPLIT_H
#define SF_DATA_SPLIT_H

#include <stdint.h>
#include "data/dataset.h"

#define SF_SPLIT_VAL_FRAC 0.25f

typedef struct {
    int *train, n_train;  // dataset indices, ascending
    int *val, n_val;
} sf_split;

// val_frac in [0, 1); 0 puts everything in train.
void sf_split_stratified(sf_split *out, const sf_dataset *ds, float val_frac, uint64_t seed, int quiet);
void sf_split_free(sf_split *s);

#endif
