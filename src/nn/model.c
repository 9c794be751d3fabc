// model.c: the public model API (model.h) over the layer graph.
#include "nn/model.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu.h"
#include "nn/graph.h"
#include "nn/model_internal.h"
#include "nn/models.h"
#include "kernels/softmax_xent.h"
#include "util/util.h"

sf_model *sf_model_create(const sf_model_config *cfg, char *err, size_t errlen) {
    const char *arch = cfg->arch ? cfg->arch : "";
    int depth = 0;
    if (!strcmp(arch, "resnet18")) depth = 18;
    if (!strcmp(arch, "resnet50")) depth = 50;
    if (!depth && strcmp(arch, "simple") && strcmp(arch, "best")) {
        snprintf(err, errlen, "unknown model '%s' (simple|best|resnet18|resnet50)", arch);
        return NULL;
    }
    if (cfg->in_h < 1 || cfg->in_w < 1 || cfg->max_batch < 1) {
        snprintf(err, errlen, "model %s: bad input %dx%d or max batch %d", arch, cfg->in_h, cfg->in_w, cfg->max_batch);
        return NULL;
    }
    sf_model *m = sf_calloc(1, sizeof *m);
    m->cfg = *cfg;
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    m->cfg.arch = m->arch;
    if (m->cfg.n_classes <= 0) m->cfg.n_classes = 42;
    sf_graph *g = &m->g;
    sf_graph_init(g, sf_vb(), cfg->max_batch, cfg->deterministic);
    g->bf16 = cfg->bf16;
    sf_graph_input(g, 3, cfg->in_h, cfg->in_w);
    if (depth)
        sf_build_resnet(g, depth, m->cfg.n_classes);
    else if (!strcmp(arch, "simple"))
        sf_build_simple(g, m->cfg.n_classes);
    else
        sf_build_best(g, m->cfg.n_classes);
    if (g->err[0]) {
        snprintf(err, errlen, "model %s at %dx%d: %s", arch, cfg->in_h, cfg->in_w, g->err);
        sf_graph_release(g);
        free(m);
        return NULL;
    }
    sf_graph_finalize(g);
    sf_graph_init_params(g, cfg->seed);
    return m;
}

void sf_model_free(sf_model *m) {
    if (!m) return;
    sf_graph_release(&m->g);
    free(m);
}

const sf_model_config *sf_model_config_of(const sf_model *m) { return &m->cfg; }

void sf_model_init(sf_model *m, uint64_t seed) {
    m->cfg.seed = seed;
    sf_graph_init_params(&m->g, seed);
}

const float *sf_model_forward(sf_model *m, const float *x, int n, bool train) {
    sf_graph *g = &m->g;
    if (n < 1 || n > g->max_batch) sf_die("forward batch %d outside [1, %d]", n, g->max_batch);
    memcpy(g->tensors[0].data, x, sf_tensor_floats_n(g, 0, n) * sizeof(float));
    sf_graph_forward(g, n, train);
    return g->tensors[g->n_tensors - 1].data;
}

void sf_model_backward(sf_model *m, const float *dlogits) {
    sf_graph_backward(&m->g, m->g.last_n, dlogits);
}

float sf_model_loss_backward(sf_model *m, const int64_t *labels, float *probs) {
    sf_graph *g = &m->g;
    if (!g->have_train_forward) sf_die("loss_backward needs a train-mode forward first");
    int n = g->last_n, k = m->cfg.n_classes;
    float loss = sf_softmax_xent(g->dlogits, probs, g->tensors[g->n_tensors - 1].data, labels, n, k,
                                 m->cfg.label_smoothing);
    sf_graph_backward(g, n, g->dlogits);
    return loss;
}

int sf_model_n_params(const sf_model *m) { return m->g.n_params; }
sf_param *sf_model_param(sf_model *m, int i) { return &m->g.params[i]; }
int sf_model_n_buffers(const sf_model *m) { return m->g.n_buffers; }
sf_param *sf_model_buffer(sf_model *m, int i) { return &m->g.buffers[i]; }

sf_param *sf_model_find(sf_model *m, const char *name) {
    for (int i = 0; i < m->g.n_params; i++)
        if (!strcmp(m->g.params[i].name, name)) return &m->g.params[i];
    for (int i = 0; i < m->g.n_buffers; i++)
        if (!strcmp(m->g.buffers[i].name, name)) return &m->g.buffers[i];
    return NULL;
}

size_t sf_model_param_count(const sf_model *m) {
    size_t c = 0;
    for (int i = 0; i < m->g.n_params; i++) c += m->g.params[i].count;
    return c;
}

float *sf_model_grad_arena(sf_model *m, size_t *count) {
    *count = m->g.param_floats;
    return m->g.grad_arena;
}

// A pattern without wildcards is a prefix ("layer1" freezes layer1.*); otherwise a glob.
static bool name_matches(const char *pattern, size_t len, const char *name) {
    char pat[128];
    if (len >= sizeof pat) len = sizeof pat - 1;
    memcpy(pat, pattern, len);
    pat[len] = 0;
    if (!strpbrk(pat, "*?[")) return strncmp(name, pat, len) == 0;
    return fnmatch(pat, name, 0) == 0;
}

int sf_model_freeze(sf_model *m, const char *pattern) {
    int count = 0;
    const char *p = pattern;
    while (p && *p) {
        size_t len = strcspn(p, ",");
        for (int i = 0; len && i < m->g.n_params; i++) {
            sf_param *q = &m->g.params[i];
            if (!q->frozen && name_matches(p, len, q->name)) {
                q->frozen = true;
                // A frozen parameter's gradient is no longer computed: keep it at zero, not stale.
                memset(q->grad, 0, q->count * sizeof(float));
                count++;
            }
        }
        p += len;
        if (*p == ',') p++;
    }
    sf_graph_update_first_trainable(&m->g);
    return count;
}

void sf_model_unfreeze_all(sf_model *m) {
    for (int i = 0; i < m->g.n_params; i++) m->g.params[i].frozen = false;
    sf_graph_update_first_trainable(&m->g);
}

void sf_model_weights_changed(sf_model *m) { m->g.weights_dirty = true; }

// Whether one list (params or buffers) of dst matches src's in names and sizes; copies it when `copy`.
static int match_list(sf_model *dst, sf_model *src, int n_dst, int n_src, sf_param *(*get)(sf_model *, int),
                      bool copy, char *err, size_t errlen) {
    if (n_dst != n_src) {
        if (err) snprintf(err, errlen, "%d tensors against %d", n_dst, n_src);
        return -1;
    }
    for (int i = 0; i < n_src; i++) {
        const sf_param *a = get(src, i), *b = get(dst, i);
        if (a->count != b->count || a->dtype != b->dtype || strcmp(a->name, b->name)) {
            if (err) snprintf(err, errlen, "%s has %zu elements against %zu", a->name, a->count, b->count);
            return -1;
        }
        if (copy) memcpy(b->data, a->data, a->count * sf_dtype_size(a->dtype));
    }
    return 0;
}

int sf_model_copy_weights(sf_model *dst, sf_model *src, char *err, size_t errlen) {
    // Both lists are checked before either is written, so a mismatch leaves dst as it was.
    for (int copy = 0; copy < 2; copy++)
        if (match_list(dst, src, sf_model_n_params(dst), sf_model_n_params(src), sf_model_param, copy, err, errlen) ||
            match_list(dst, src, sf_model_n_buffers(dst), sf_model_n_buffers(src), sf_model_buffer, copy, err, errlen))
            return -1;
    sf_model_weights_changed(dst);
    return 0;
}

static const char *kind_name(sf_layer_kind k) {
    switch (k) {
    case SF_L_CONV: return "conv2d";
    case SF_L_BN: return "batchnorm";
    case SF_L_RELU: return "relu";
    case SF_L_MAXPOOL: return "maxpool";
    case SF_L_AVGPOOL: return "avgpool";
    case SF_L_RESIZE: return "resize";
    case SF_L_FLATTEN: return "flatten";
    case SF_L_LINEAR: return "linear";
    case SF_L_ADD: return "add";
    case SF_L_GAP: return "avgpool_global";
    case SF_L_REBLOCK: return "reblock";
    }
    return "?";
}

sf_graph *sf_model_graph(sf_model *m) { return &m->g; }

double sf_model_flops_per_image(const sf_model *m) {
    double f = 0.0;
    for (int i = 0; i < m->g.n_layers; i++) f += m->g.layers[i].flops;
    return f;
}

void sf_model_print_table(const sf_model *m, FILE *f) {
    const sf_graph *g = &m->g;
    fprintf(f, "model %s: input 3x%dx%d, %d classes, max batch %d, channel block %d\n", m->arch, m->cfg.in_h,
            m->cfg.in_w, m->cfg.n_classes, g->max_batch, g->vb);
    fprintf(f, "%-24s %-15s %-16s %12s %12s\n", "layer", "type", "output", "params", "MFLOP/img");
    size_t total_p = 0;
    for (int i = 0; i < g->n_layers; i++) {
        const sf_layer *l = &g->layers[i];
        const sf_tensor *y = &g->tensors[l->out];
        char shape[32], type[32];
        if (y->blocked || y->h > 1 || y->w > 1)
            snprintf(shape, sizeof shape, "%dx%dx%d", y->c, y->h, y->w);
        else
            snprintf(shape, sizeof shape, "%d", y->c);
        snprintf(type, sizeof type, "%s%s", kind_name(l->kind), l->relu ? "+relu" : "");
        size_t p = (l->p_w >= 0 ? g->params[l->p_w].count : 0) + (l->p_b >= 0 ? g->params[l->p_b].count : 0);
        total_p += p;
        fprintf(f, "%-24s %-15s %-16s %12zu %12.2f\n", l->name, type, shape, p, l->flops * 1e-6);
    }
    fprintf(f, "%-24s %-15s %-16s %12zu %12.2f\n", "total", "", "", total_p, sf_model_flops_per_image(m) * 1e-6);
}
