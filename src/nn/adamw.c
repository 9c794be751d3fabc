// adamw.c: AdamW (with amsgrad) and SGD with momentum, as torch/optim/adamw.py and sgd.py (1.13).
//
// PyTorch passes Python floats (double) for lr, betas, eps and weight decay; the per-element CPU
// kernels cast each such scalar to float before using it, so the elementwise math below is float with
// float-cast coefficients, while the bias corrections and step size are computed in double.
#include "nn/adamw.h"
#include "nn/adamw_kernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "util/util.h"

sf_opt_config sf_opt_defaults(sf_opt_kind kind) {
    if (kind == SF_OPT_SGD)
        return (sf_opt_config){.kind = SF_OPT_SGD, .lr = 1e-2, .weight_decay = 0.0, .momentum = 0.9};
    return (sf_opt_config){.kind = SF_OPT_ADAMW, .lr = 1e-3, .weight_decay = 1e-2, .beta1 = 0.9,
                           .beta2 = 0.999, .eps = 1e-8, .amsgrad = false};
}

// Number of moment tensors per parameter the configuration keeps.
static int moments_per_param(const sf_opt_config *c) {
    if (c->kind == SF_OPT_SGD) return c->momentum != 0.0 ? 1 : 0;
    return c->amsgrad ? 3 : 2;
}

sf_optimizer *sf_opt_create(const sf_opt_config *cfg, sf_param *params, int n) {
    sf_optimizer *o = sf_calloc(1, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    o->params = params;
    o->exp_avg = sf_calloc((size_t)n, sizeof(float *));
    o->exp_avg_sq = sf_calloc((size_t)n, sizeof(float *));
    o->max_exp_avg_sq = sf_calloc((size_t)n, sizeof(float *));
    o->momentum_buffer = sf_calloc((size_t)n, sizeof(float *));
    o->step = sf_calloc((size_t)n, sizeof(int64_t));
    size_t total = 0;
    // Each tensor starts on a 64-byte boundary so that the update loops vectorise cleanly.
    for (int i = 0; i < n; i++) total += (params[i].count + 15) / 16 * 16;
    int k = moments_per_param(cfg);
    o->arena_floats = total * (size_t)k;
    o->arena = o->arena_floats ? sf_aligned_alloc(o->arena_floats * sizeof(float)) : NULL;
    float *p = o->arena;
    for (int i = 0; i < n; i++) {
        size_t c = (params[i].count + 15) / 16 * 16;
        if (cfg->kind == SF_OPT_ADAMW) {
            o->exp_avg[i] = p, p += c;
            o->exp_avg_sq[i] = p, p += c;
            if (cfg->amsgrad) o->max_exp_avg_sq[i] = p, p += c;
        } else if (k == 1) {
            o->momentum_buffer[i] = p, p += c;
        }
    }
    sf_opt_reset(o);
    return o;
}

void sf_opt_free(sf_optimizer *o) {
    if (!o) return;
    sf_free_aligned(o->arena);
    free(o->exp_avg);
    free(o->exp_avg_sq);
    free(o->max_exp_avg_sq);
    free(o->momentum_buffer);
    free(o->step);
    free(o);
}

void sf_opt_reset(sf_optimizer *o) {
    if (o->arena) memset(o->arena, 0, o->arena_floats * sizeof(float));
    memset(o->step, 0, (size_t)o->n * sizeof(int64_t));
}

void sf_adamw_update_ref(float *p, const float *g, float *m, float *v, float *vmax, size_t n, const sf_adamw_coef *c) {
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * c->decay;
        float gi = g[i];
        float mi = m[i] * c->b1 + c->one_m_b1 * gi;
        float vi = v[i] * c->b2 + c->one_m_b2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float vd = vi;
        if (vmax) {
            vd = vmax[i] > vi ? vmax[i] : vi;
            vmax[i] = vd;
        }
        float denom = sqrtf(vd) / c->bc2_sqrt + c->eps;
        p[i] = pi + c->neg_step * mi / denom;
    }
}

sf_adamw_fn sf_adamw_update_fn(void) {
#if defined(__x86_64__)
    switch (sf_isa_active()) {
    case SF_ISA_AVX512: return sf_adamw_update_avx512;
    case SF_ISA_AVX2: return sf_adamw_update_avx2;
    default: break;
    }
#endif
    return sf_adamw_update_ref;
}

// p (count), g (count), m, v, vmax (count) [vmax NULL without amsgrad]. The update is memory-bound (9
// floats moved per parameter), so the threads split it in cache-line-aligned slices of the ISA path.
static void adamw_update(float *p, const float *g, float *m, float *v, float *vmax, size_t count,
                         const sf_opt_config *cfg, int64_t step) {
    const double bc1 = 1.0 - pow(cfg->beta1, (double)step);
    const double bc2 = 1.0 - pow(cfg->beta2, (double)step);
    const sf_adamw_coef c = {
        .decay = (float)(1.0 - cfg->lr * cfg->weight_decay),
        .b1 = (float)cfg->beta1, .one_m_b1 = (float)(1.0 - cfg->beta1),
        .b2 = (float)cfg->beta2, .one_m_b2 = (float)(1.0 - cfg->beta2),
        .neg_step = (float)(-(cfg->lr / bc1)), .bc2_sqrt = (float)sqrt(bc2), .eps = (float)cfg->eps};
    const sf_adamw_fn fn = sf_adamw_update_fn();
    const size_t slice = 4096;  // floats: a multiple of 16 keeps each slice on 64-byte lines
    const size_t n_slices = (count + slice - 1) / slice;
#pragma omp parallel for schedule(static) if (count > 32768)
    for (size_t s = 0; s < n_slices; s++) {
        size_t i = s * slice, n = count - i < slice ? count - i : slice;
        fn(p + i, g + i, m + i, v + i, vmax ? vmax + i : NULL, n, &c);
    }
}

// p (count), g (count), buf (count) [NULL without momentum]
static void sgd_update(float *p, const float *g, float *buf, size_t count, const sf_opt_config *c,
                       bool first) {
    const float wd = (float)c->weight_decay, mom = (float)c->momentum;
    const float one_m_damp = (float)(1.0 - c->dampening), neg_lr = (float)(-c->lr);
    const bool nesterov = c->nesterov;
#pragma omp parallel for schedule(static) if (count > 32768)
    for (size_t i = 0; i < count; i++) {
        float d = g[i];
        if (wd != 0.0f) d = d + wd * p[i];
        if (buf) {
            float b = first ? d : buf[i] * mom + one_m_damp * d;
            buf[i] = b;
            d = nesterov ? d + mom * b : b;
        }
        p[i] = p[i] + neg_lr * d;
    }
}

void sf_opt_step(sf_optimizer *o) {
    for (int i = 0; i < o->n; i++) {
        sf_param *q = &o->params[i];
        if (q->frozen || !q->grad) continue;
        o->step[i]++;
        if (o->cfg.kind == SF_OPT_ADAMW)
            adamw_update(q->data, q->grad, o->exp_avg[i], o->exp_avg_sq[i], o->max_exp_avg_sq[i], q->count,
                         &o->cfg, o->step[i]);
        else
            sgd_update(q->data, q->grad, o->momentum_buffer[i], q->count, &o->cfg, o->step[i] == 1);
    }
}

static const char *default_prefix(const sf_optimizer *o, const char *prefix) {
    if (prefix) return prefix;
    return o->cfg.kind == SF_OPT_ADAMW ? "adam." : "sgd.";
}

// The moment tensors of parameter i with their suffixes; returns how many.
static int moment_list(const sf_optimizer *o, int i, float *t[3], const char *suffix[3]) {
    int k = 0;
    if (o->exp_avg[i]) t[k] = o->exp_avg[i], suffix[k++] = "exp_avg";
    if (o->exp_avg_sq[i]) t[k] = o->exp_avg_sq[i], suffix[k++] = "exp_avg_sq";
    if (o->max_exp_avg_sq[i]) t[k] = o->max_exp_avg_sq[i], suffix[k++] = "max_exp_avg_sq";
    if (o->momentum_buffer[i]) t[k] = o->momentum_buffer[i], suffix[k++] = "momentum_buffer";
    return k;
}

void sf_opt_state_add(const sf_optimizer *o, sf_st_writer *w, const char *prefix) {
    prefix = default_prefix(o, prefix);
    char name[256];
    for (int i = 0; i < o->n; i++) {
        const sf_param *q = &o->params[i];
        float *t[3];
        const char *suf[3];
        int k = moment_list(o, i, t, suf);
        for (int j = 0; j < k; j++) {
            snprintf(name, sizeof name, "%s%s.%s", prefix, q->name, suf[j]);
            sf_st_writer_add(w, name, SF_DT_F32, q->ndim, q->shape, t[j]);
        }
        snprintf(name, sizeof name, "%s%s.step", prefix, q->name);
        const int64_t one = 1;
        sf_st_writer_add(w, name, SF_DT_I64, 1, &one, &o->step[i]);
    }
}

static int check_tensor(const sf_st_tensor *t, const char *name, sf_dtype dt, size_t count, char *err,
                        size_t errlen) {
    if (!t) {
        snprintf(err, errlen, "optimizer state: missing tensor %s", name);
        return -1;
    }
    size_t c = 1;
    for (int d = 0; d < t->ndim; d++) c *= (size_t)t->shape[d];
    if (t->dtype != dt || c != count) {
        snprintf(err, errlen, "optimizer state: %s has dtype %s and %zu elements, expected %s and %zu", name,
                 sf_dtype_name(t->dtype), c, sf_dtype_name(dt), count);
        return -1;
    }
    return 0;
}

int sf_opt_state_load(sf_optimizer *o, const sf_st_file *f, const char *prefix, char *err, size_t errlen) {
    prefix = default_prefix(o, prefix);
    char name[256];
    // Validate everything first so that a bad file leaves the state untouched.
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < o->n; i++) {
            const sf_param *q = &o->params[i];
            float *t[3];
            const char *suf[3];
            int k = moment_list(o, i, t, suf);
            for (int j = 0; j < k; j++) {
                snprintf(name, sizeof name, "%s%s.%s", prefix, q->name, suf[j]);
                const sf_st_tensor *s = sf_st_get(f, name);
                if (pass == 0 && check_tensor(s, name, SF_DT_F32, q->count, err, errlen)) return -1;
                if (pass == 1) memcpy(t[j], s->data, q->count * sizeof(float));
            }
            snprintf(name, sizeof name, "%s%s.step", prefix, q->name);
            const sf_st_tensor *s = sf_st_get(f, name);
            if (pass == 0 && check_tensor(s, name, SF_DT_I64, 1, err, errlen)) return -1;
            if (pass == 1) memcpy(&o->step[i], s->data, sizeof(int64_t));
        }
    }
    return 0;
}

int sf_opt_save(const sf_optimizer *o, const char *path, char *err, size_t errlen) {
    sf_st_writer *w = sf_st_writer_new();
    sf_opt_state_add(o, w, NULL);
    char lr[64];
    snprintf(lr, sizeof lr, "%.17g", o->cfg.lr);
    sf_st_writer_meta(w, "optimizer", o->cfg.kind == SF_OPT_ADAMW ? "adamw" : "sgd");
    sf_st_writer_meta(w, "lr", lr);
    int rc = sf_st_write(w, path, err, errlen);
    sf_st_writer_free(w);
    return rc;
}

int sf_opt_load(sf_optimizer *o, const char *path, char *err, size_t errlen) {
    sf_st_file *f = sf_st_open(path, err, errlen);
    if (!f) return -1;
    int rc = sf_opt_state_load(o, f, NULL, err, errlen);
    sf_st_close(f);
    return rc;
}
