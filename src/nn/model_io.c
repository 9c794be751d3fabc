// model_io.c: model weights and buffers as safetensors under PyTorch's state_dict names.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/model_internal.h"
#include "nn/safetensors.h"
#include "util/util.h"

int sf_model_save(const sf_model *m, const char *path, const char *const *meta, char *err, size_t errlen) {
    const sf_graph *g = &m->g;
    sf_st_writer *w = sf_st_writer_new();
    for (int i = 0; i < g->n_params; i++) {
        const sf_param *p = &g->params[i];
        sf_st_writer_add(w, p->name, p->dtype, p->ndim, p->shape, p->data);
    }
    for (int i = 0; i < g->n_buffers; i++) {
        const sf_param *p = &g->buffers[i];
        sf_st_writer_add(w, p->name, p->dtype, p->ndim, p->shape, p->data);
    }
    char v[32];
    sf_st_writer_meta(w, "arch", m->arch);
    snprintf(v, sizeof v, "%d", m->cfg.n_classes);
    sf_st_writer_meta(w, "n_classes", v);
    snprintf(v, sizeof v, "%d", m->cfg.in_h);
    sf_st_writer_meta(w, "in_h", v);
    snprintf(v, sizeof v, "%d", m->cfg.in_w);
    sf_st_writer_meta(w, "in_w", v);
    // The arithmetic the weights were validated with: evaluate and predict use the same (run_dir.h).
    sf_st_writer_meta(w, "precision", m->g.bf16_buf ? "bf16" : "fp32");
    for (int i = 0; meta && meta[i] && meta[i + 1]; i += 2) sf_st_writer_meta(w, meta[i], meta[i + 1]);
    int rc = sf_st_write(w, path, err, errlen);
    sf_st_writer_free(w);
    return rc;
}

// Appends "name" to a comma-separated list in buf, counting entries; stops listing after a few.
static void note(char *buf, size_t len, int *count, const char *name) {
    if (*count < 6) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", *count ? ", " : "", name);
    } else if (*count == 6) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, ", ...");
    }
    (*count)++;
}

// "F32[64,3,7,7]"
static void shape_str(char *buf, size_t len, sf_dtype dt, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, len, "%s[", sf_dtype_name(dt));
    for (int d = 0; d < ndim && used < len; d++) used += (size_t)snprintf(buf + used, len - used, "%s%ld", d ? "," : "", (long)shape[d]);
    if (used < len) snprintf(buf + used, len - used, "]");
}

static size_t tensor_count(const sf_st_tensor *t) {
    size_t c = 1;
    for (int d = 0; d < t->ndim; d++) c *= (size_t)t->shape[d];
    return c;
}

// Whether the file's tensor can fill p: same dtype and shape; num_batches_tracked may come as
// I64 or F32 with shape () or (1).
static bool compatible(const sf_param *p, const sf_st_tensor *t) {
    if (p->dtype == SF_DT_I64)
        return (t->dtype == SF_DT_I64 || t->dtype == SF_DT_F32) && tensor_count(t) == 1 && t->ndim <= 1;
    if (t->dtype != SF_DT_F32 || t->ndim != p->ndim) return false;
    for (int d = 0; d < p->ndim; d++)
        if (t->shape[d] != p->shape[d]) return false;
    return true;
}

static sf_param *lookup(sf_graph *g, const char *name) {
    for (int i = 0; i < g->n_params; i++)
        if (!strcmp(g->params[i].name, name)) return &g->params[i];
    for (int i = 0; i < g->n_buffers; i++)
        if (!strcmp(g->buffers[i].name, name)) return &g->buffers[i];
    return NULL;
}

static void copy_in(sf_param *p, const sf_st_tensor *t) {
    if (p->dtype == SF_DT_I64 && t->dtype == SF_DT_F32)
        *(int64_t *)p->data = (int64_t)*(const float *)t->data;
    else
        memcpy(p->data, t->data, p->count * sf_dtype_size(p->dtype));
}

int sf_model_load(sf_model *m, const char *path, const char *allow_prefix, char *err, size_t errlen) {
    sf_graph *g = &m->g;
    sf_st_file *f = sf_st_open(path, err, errlen);
    if (!f) return -1;
    char missing[512] = "", mismatched[1024] = "", unexpected[512] = "";
    int n_missing = 0, n_mismatched = 0, n_unexpected = 0;
    for (int list = 0; list < 2; list++) {
        int n = list ? g->n_buffers : g->n_params;
        for (int i = 0; i < n; i++) {
            const sf_param *p = list ? &g->buffers[i] : &g->params[i];
            const sf_st_tensor *t = sf_st_get(f, p->name);
            if (!t) {
                note(missing, sizeof missing, &n_missing, p->name);
            } else if (!compatible(p, t)) {
                char what[256], fs[64], ms[64];
                shape_str(fs, sizeof fs, t->dtype, t->ndim, t->shape);
                shape_str(ms, sizeof ms, p->dtype, p->ndim, p->shape);
                snprintf(what, sizeof what, "%s (file %s, model %s)", p->name, fs, ms);
                note(mismatched, sizeof mismatched, &n_mismatched, what);
            }
        }
    }
    size_t plen = allow_prefix ? strlen(allow_prefix) : 0;
    for (int i = 0; i < sf_st_count(f); i++) {
        const sf_st_tensor *t = sf_st_get_index(f, i);
        if (plen && !strncmp(t->name, allow_prefix, plen)) continue;
        if (!lookup(g, t->name)) note(unexpected, sizeof unexpected, &n_unexpected, t->name);
    }
    if (n_missing || n_mismatched || n_unexpected) {
        snprintf(err, errlen, "%s does not fit model %s: %d missing [%s], %d mismatched [%s], %d unexpected [%s]", path,
                 m->arch, n_missing, missing, n_mismatched, mismatched, n_unexpected, unexpected);
        sf_st_close(f);
        return -1;
    }
    for (int i = 0; i < g->n_params; i++) copy_in(&g->params[i], sf_st_get(f, g->params[i].name));
    for (int i = 0; i < g->n_buffers; i++) copy_in(&g->buffers[i], sf_st_get(f, g->buffers[i].name));
    sf_st_close(f);
    g->weights_dirty = true;
    return 0;
}

int sf_model_weights_info(sf_weights_info *info, const char *path, char *err, size_t errlen) {
    sf_st_file *f = sf_st_open(path, err, errlen);
    if (!f) return -1;
    const char *v;
    if ((v = sf_st_meta(f, "arch"))) snprintf(info->arch, sizeof info->arch, "%s", v);
    if ((v = sf_st_meta(f, "in_h"))) info->in_h = atoi(v);
    if ((v = sf_st_meta(f, "in_w"))) info->in_w = atoi(v);
    if ((v = sf_st_meta(f, "n_classes"))) {
        info->n_classes = atoi(v);
    } else {
        static const char *const bias[3] = {"out.bias", "fc4.0.bias", "fc.bias"};
        for (int i = 0; i < 3; i++) {
            const sf_st_tensor *b = sf_st_get(f, bias[i]);
            if (b && b->ndim == 1) {
                info->n_classes = (int)b->shape[0];
                break;
            }
        }
    }
    sf_st_close(f);
    return 0;
}
