// sampler.c: see sampler.h.
#include "data/sampler.h"
#include "util/rng.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

int sf_balance_parse(const char *s) {
    if (!strcmp(s, "none")) return SF_BALANCE_NONE;
    if (!strcmp(s, "oversample")) return SF_BALANCE_OVERSAMPLE;
    if (!strcmp(s, "weighted")) return SF_BALANCE_WEIGHTED;
    return -1;
}

const char *sf_balance_name(sf_balance b) {
    return b == SF_BALANCE_OVERSAMPLE ? "oversample" : b == SF_BALANCE_WEIGHTED ? "weighted" : "none";
}

void sf_sampler_init(sf_sampler *s, const int *idx, int n, const int *labels, int n_classes, sf_balance mode,
                     int shuffle, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->mode = mode;
    s->shuffle = shuffle;
    s->seed = seed;
    s->n_classes = n_classes;
    s->n = n;
    s->idx = sf_malloc(sizeof(int) * ((size_t)n + 1));
    memcpy(s->idx, idx, sizeof(int) * (size_t)n);
    s->by_class = sf_malloc(sizeof(int) * ((size_t)n + 1));
    s->class_start = sf_calloc((size_t)n_classes + 2, sizeof(int));
    if (mode == SF_BALANCE_NONE) return;  // no grouping needed; labels may be -1 (unlabelled)
    for (int i = 0; i < n; i++) {
        int c = labels[idx[i]];
        if (c < 0 || c >= n_classes) sf_die("sampler: image %d has label %d outside [0, %d)", idx[i], c, n_classes);
        s->class_start[c + 1]++;
    }
    for (int c = 0; c < n_classes; c++) {
        int cnt = s->class_start[c + 1];
        if (cnt > s->max_count) s->max_count = cnt;
        s->present += cnt > 0;
        s->class_start[c + 1] += s->class_start[c];
    }
    int *fill = sf_malloc(sizeof(int) * ((size_t)n_classes + 1));
    memcpy(fill, s->class_start, sizeof(int) * (size_t)n_classes);
    for (int i = 0; i < n; i++) s->by_class[fill[labels[idx[i]]]++] = i;  // stable: ascending within a class
    free(fill);
}

void sf_sampler_free(sf_sampler *s) {
    free(s->idx);
    free(s->by_class);
    free(s->class_start);
    memset(s, 0, sizeof *s);
}

int sf_sampler_len(const sf_sampler *s) {
    return s->mode == SF_BALANCE_OVERSAMPLE ? s->max_count * s->present : s->n;
}

static void shuffle(int *v, int n, sf_rng *r) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)sf_rng_below(r, (uint32_t)i + 1);
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

void sf_sampler_epoch(const sf_sampler *s, int epoch, int *order) {
    sf_rng r;
    sf_rng_seed(&r, sf_hash64(s->seed, (uint64_t)epoch, 0x5a3b1e5u), 0x5a3b1e5u);
    if (s->mode == SF_BALANCE_NONE) {
        memcpy(order, s->idx, sizeof(int) * (size_t)s->n);
        if (s->shuffle) shuffle(order, s->n, &r);
        return;
    }
    if (s->mode == SF_BALANCE_WEIGHTED) {
        int *present = sf_malloc(sizeof(int) * ((size_t)s->n_classes + 1)), np = 0;
        for (int c = 0; c < s->n_classes; c++)
            if (s->class_start[c + 1] > s->class_start[c]) present[np++] = c;
        for (int i = 0; i < s->n; i++) {
            int c = present[sf_rng_below(&r, (uint32_t)np)];
            int lo = s->class_start[c], cnt = s->class_start[c + 1] - lo;
            order[i] = s->idx[s->by_class[lo + (int)sf_rng_below(&r, (uint32_t)cnt)]];
        }
        free(present);
        return;
    }
    // Oversample: whole copies of each class, then a random part of one more copy.
    int k = 0, M = s->max_count;
    int *perm = sf_malloc(sizeof(int) * ((size_t)M + 1));
    for (int c = 0; c < s->n_classes; c++) {
        int lo = s->class_start[c], cnt = s->class_start[c + 1] - lo;
        if (cnt == 0) continue;
        for (int rep = 0; rep < M / cnt; rep++)
            for (int i = 0; i < cnt; i++) order[k++] = s->idx[s->by_class[lo + i]];
        for (int i = 0; i < cnt; i++) perm[i] = s->by_class[lo + i];
        shuffle(perm, cnt, &r);
        for (int i = 0; i < M % cnt; i++) order[k++] = s->idx[perm[i]];
    }
    free(perm);
    if (s->shuffle) shuffle(order, k, &r);
}
