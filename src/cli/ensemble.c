// ensemble.c: loading the checkpoints of --weights a[,b,...] and averaging their class probabilities.
#include "cli/ensemble.h"

#include "data/augment.h"
#include "data/resize.h"
#include "kernels/cpu.h"
#include "kernels/topology.h"
#include "nn/classify.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

// Checkpoint j must name the classes the first one names, in the same order: the probabilities of
// different models are added class by class.
static int same_classes(const sf_ckpt_info *a, const sf_ckpt_info *b, int ka, int kb, const char *pa,
                        const char *pb, char *err, size_t errlen) {
    if (ka != kb) {
        snprintf(err, errlen, "%s has %d classes and %s has %d: an ensemble needs the same classes", pb, kb, pa, ka);
        return -1;
    }
    if (!a->names != !b->names) {
        snprintf(err, errlen, "%s and %s: only one names its classes, so they cannot be matched", pa, pb);
        return -1;
    }
    for (int c = 0; a->names && c < ka; c++)
        if (strcmp(a->names[c], b->names[c])) {
            snprintf(err, errlen, "%s names class %d '%s' where %s names it '%s': an ensemble needs the same classes in the same order",
                     pb, c, b->names[c], pa, a->names[c]);
            return -1;
        }
    return 0;
}

// "path@SIZE" gives one model its own input size: *size = SIZE and tok cut to the path. A tok without '@'
// followed by digits only is a path as it is (*size stays 0). Returns -1 with err for a size out of range.
static int own_size(int *size, char *tok, char *err, size_t errlen) {
    char *at = strrchr(tok, '@');
    if (!at || !at[1] || strspn(at + 1, "0123456789") != strlen(at + 1)) return 0;
    long v = strlen(at + 1) > 4 ? 0 : strtol(at + 1, NULL, 10);
    if (v < 16 || v > 1024) {
        snprintf(err, errlen, "%s: the input size after @ must be an integer in [16, 1024]", tok);
        return -1;
    }
    *size = (int)v;
    *at = 0;
    return 0;
}

int sf_ensemble_open(sf_ensemble *e, const char *weights, const char *arch, int size, int k_default, int batch,
                     const char *precision, int node, char *err, size_t errlen) {
    memset(e, 0, sizeof *e);
    e->batch = batch;
    int cap = 1;
    for (const char *s = weights; *s; s++) cap += *s == ',';
    e->path = sf_calloc((size_t)cap, sizeof *e->path);
    e->m = sf_calloc((size_t)cap, sizeof *e->m);
    e->size = sf_calloc((size_t)cap, sizeof *e->size);
    e->x = sf_calloc((size_t)cap, sizeof *e->x);
    char *list = strdup(weights), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(list, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok) continue;
        int j = e->n, own = 0;
        if (own_size(&own, tok, err, errlen)) {
            rc = -2;
            break;
        }
        sf_ckpt_info ci;
        if (sf_ckpt_info_read(&ci, tok, err, errlen)) {
            rc = -1;
            break;
        }
        const char *a = arch ? arch : ci.arch;
        int sz = own > 0 ? own : size > 0 ? size : ci.size, k = ci.n_classes > 0 ? ci.n_classes : k_default;
        if (!a[0] || sz <= 0) {
            snprintf(err, errlen, "%s lacks arch/size metadata; give --model and --size", tok);
            rc = -2;
        } else if (k <= 0) {
            snprintf(err, errlen, "%s lacks n_classes metadata (springfield train writes it)", tok);
            rc = -2;
        } else if (j > 0 && same_classes(&e->info, &ci, e->k, k, e->path[0], tok, err, errlen)) {
            rc = -1;
        }
        if (rc) {
            sf_ckpt_info_free(&ci);
            break;
        }
        // By default weights are scored as they were validated (bf16 where this CPU can, else fp32).
        bool bf16 = precision && strcmp(precision, "auto") ? !strcmp(precision, "bf16") : ci.bf16;
        sf_model_config mc = {.arch = a, .n_classes = k, .in_h = sz, .in_w = sz, .max_batch = batch, .bf16 = bf16};
        // Inference runs on one node: the model's memory goes there (first-touched by this thread).
        if (node != SF_NODE_ANY) sf_topo_membind_here(sf_topology_get(), node);
        sf_model *m = sf_model_create(&mc, err, errlen);
        if (node != SF_NODE_ANY) sf_topo_membind_here(sf_topology_get(), SF_NODE_ANY);
        if (!m || sf_model_load(m, tok, NULL, err, errlen)) {
            if (m) sf_model_free(m);
            sf_ckpt_info_free(&ci);
            rc = -1;
            break;
        }
        if (bf16) sf_info("%s: convolutions in %s", tok, sf_bf16_supported() ? "bf16" : "fp32 (no AVX512_BF16 here)");
        e->path[j] = strdup(tok);
        e->m[j] = m;
        e->size[j] = sz;
        e->x[j] = sf_aligned_alloc((size_t)batch * 3 * sz * sz * sizeof(float));
        e->n++;
        if (j == 0) {
            e->info = ci;
            e->k = k;
        } else {
            sf_ckpt_info_free(&ci);
        }
    }
    free(list);
    if (!rc && e->n == 0) {
        snprintf(err, errlen, "--weights '%s' names no checkpoint", weights);
        rc = -1;
    }
    if (rc) {
        sf_ensemble_free(e);
        return rc;
    }
    for (int j = 0; j < e->n; j++) sf_info("model %d of %d: %s at %d px", j + 1, e->n, e->path[j], e->size[j]);
    return 0;
}

int sf_prepare_image(sf_image *img, int shrink, int reencode, const char *name, char *err, size_t errlen) {
    sf_image_shrink(img, shrink);
    if (reencode > 0 && sf_image_jpeg_roundtrip(img, reencode, name, err, errlen)) {
        sf_image_free(img);
        return -1;
    }
    return 0;
}

void sf_prepare_describe(char *out, size_t n, int shrink, int reencode) {
    char s[32] = "", q[32] = "";
    if (shrink > 0) snprintf(s, sizeof s, "shrunk to %d px", shrink);
    if (reencode > 0) snprintf(q, sizeof q, "JPEG quality %d", reencode);
    snprintf(out, n, "%s%s%s", s, s[0] && q[0] ? ", " : "", q);
}

void sf_ensemble_classify(sf_ensemble *e, float *probs, const sf_image *img, const int *ok, int nb, int flip) {
    for (int j = 0; j < e->n; j++) {
        int s = e->size[j];
        size_t per = (size_t)3 * s * s;
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < nb; i++) {
            float *xi = e->x[j] + (size_t)i * per;  // (3,s,s)
            if (ok[i]) sf_eval_transform(xi, s, img[i].px, img[i].w, img[i].h, 0, NULL);
            else memset(xi, 0, per * sizeof(float));
        }
    }
    sf_classify_mean(probs, e->m, e->x, e->n, nb, flip);
}

const char *sf_ensemble_name(const sf_ensemble *e, char *buf, size_t n) {
    if (e->n <= 1) snprintf(buf, n, "%s", e->n ? e->path[0] : "");
    else snprintf(buf, n, "%s + %d more", e->path[0], e->n - 1);
    return buf;
}

void sf_ensemble_free(sf_ensemble *e) {
    for (int j = 0; j < e->n; j++) {
        sf_model_free(e->m[j]);
        free(e->path[j]);
        sf_free_aligned(e->x[j]);
    }
    free(e->path);
    free(e->m);
    free(e->size);
    free(e->x);
    sf_ckpt_info_free(&e->info);
    memset(e, 0, sizeof *e);
}
