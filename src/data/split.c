// split.c: see split.h.
#include "data/split.h"
#include "util/rng.h"
#include "util/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sf_split_stratified(sf_split *out, const sf_dataset *ds, float val_frac, uint64_t seed, int quiet) {
    memset(out, 0, sizeof *out);
    char *in_val = sf_calloc((size_t)ds->n + 1, 1);
    int *members = sf_malloc(sizeof(int) * ((size_t)ds->n + 1));
    for (int c = 0; c < ds->n_classes; c++) {
        int m = 0;
        for (int i = 0; i < ds->n; i++)
            if (ds->labels[i] == c) members[m++] = i;
        if (m < 2) {
            if (!quiet && val_frac > 0.0f)
                sf_warn("split: class '%s' has %d image%s, kept in train only", ds->classes[c], m, m == 1 ? "" : "s");
            continue;
        }
        sf_rng r;
        sf_rng_seed(&r, sf_hash64(seed, 0x5b117u, (uint64_t)c), (uint64_t)c);
        for (int i = m - 1; i > 0; i--) {  // Fisher-Yates
            int j = (int)sf_rng_below(&r, (uint32_t)i + 1);
            int t = members[i];
            members[i] = members[j];
            members[j] = t;
        }
        int nv = (int)lroundf((float)m * val_frac);
        if (val_frac > 0.0f && nv < 1) nv = 1;
        if (nv > m - 1) nv = m - 1;
        for (int i = 0; i < nv; i++) in_val[members[i]] = 1;
    }
    out->train = sf_malloc(sizeof(int) * ((size_t)ds->n + 1));
    out->val = sf_malloc(sizeof(int) * ((size_t)ds->n + 1));
    for (int i = 0; i < ds->n; i++) {
        if (in_val[i]) out->val[out->n_val++] = i;
        else out->train[out->n_train++] = i;
    }
    free(members);
    free(in_val);
}

void sf_split_free(sf_split *s) {
    free(s->train);
    free(s->val);
    memset(s, 0, sizeof *s);
}
