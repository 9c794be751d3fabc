// graph.c: building the layer graph, planning its arenas once, and running forward and backward.
#include "nn/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/activation.h"
#include "kernels/bf16.h"
#include "kernels/cpu.h"
#include "kernels/layout.h"
#include "util/util.h"

#define GROW(arr, n, cap)                                                    \
    do {                                                                     \
        if ((n) == (cap)) {                                                  \
            (cap) = (cap) ? 2 * (cap) : 32;                                  \
            void *np_ = realloc((arr), (size_t)(cap) * sizeof *(arr));       \
            if (!np_) sf_die("out of memory growing the graph");             \
            (arr) = np_;                                                     \
        }                                                                    \
    } while (0)

void sf_graph_init(sf_graph *g, int vb, int max_batch, bool deterministic) {
    memset(g, 0, sizeof *g);
    g->vb = vb;
    g->max_batch = max_batch;
    g->deterministic = deterministic;
    g->weights_dirty = true;
}

void sf_graph_release(sf_graph *g) {
    for (int i = 0; i < g->n_layers; i++) {
        sf_conv2d_plan_destroy(g->layers[i].plan);
        sf_free_aligned(g->layers[i].wpacked);
    }
    free(g->layers);
    free(g->tensors);
    free(g->params);
    free(g->param_init);
    free(g->buffers);
    free(g->buffer_init);
    sf_free_aligned(g->param_arena);
    sf_free_aligned(g->grad_arena);
    sf_free_aligned(g->buffer_arena);
    sf_free_aligned(g->act_arena);
    sf_free_aligned(g->mask_arena);
    sf_free_aligned(g->scratch);
    sf_free_aligned(g->bf16_buf);
    sf_free_aligned(g->aux_arena);
    sf_free_aligned(g->argmax_arena);
    sf_free_aligned(g->dlogits);
    memset(g, 0, sizeof *g);
}

static int new_tensor(sf_graph *g, int c, int h, int w, bool blocked, int vb) {
    GROW(g->tensors, g->n_tensors, g->cap_tensors);
    sf_tensor *t = &g->tensors[g->n_tensors];
    memset(t, 0, sizeof *t);
    t->c = c, t->h = h, t->w = w, t->blocked = blocked, t->vb = blocked ? vb : 1;
    t->floats = blocked ? sf_blocked_floats(g->max_batch, c, h, w, vb)
                        : (size_t)g->max_batch * (size_t)c * (size_t)h * (size_t)w;
    return g->n_tensors++;
}

int sf_graph_tensor(sf_graph *g, int c, int h, int w, bool blocked) { return new_tensor(g, c, h, w, blocked, g->vb); }

int sf_graph_tensor_vb(sf_graph *g, int c, int h, int w, int vb) { return new_tensor(g, c, h, w, true, vb); }

int sf_graph_tensor_like(sf_graph *g, int t) {
    const sf_tensor x = g->tensors[t];  // a copy: adding a tensor may move the array
    return new_tensor(g, x.c, x.h, x.w, x.blocked, x.vb);
}

int sf_graph_input(sf_graph *g, int c, int h, int w) {
    if (g->n_tensors != 0) sf_die("the input must be the graph's first tensor");
    return sf_graph_tensor(g, c, h, w, false);
}

void sf_graph_error(sf_graph *g, const char *fmt, ...) {
    if (g->err[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, sizeof g->err, fmt, ap);
    va_end(ap);
}

static void join_name(char *dst, size_t len, const char *prefix, const char *name) {
    if (prefix && *prefix)
        snprintf(dst, len, "%s.%s", prefix, name);
    else
        snprintf(dst, len, "%s", name);
}

int sf_graph_param(sf_graph *g, const char *prefix, const char *name, int ndim, const int64_t *shape,
                   sf_init_spec init) {
    GROW(g->params, g->n_params, g->cap_params);
    int cap = g->cap_params;
    g->param_init = realloc(g->param_init, (size_t)cap * sizeof *g->param_init);
    if (!g->param_init) sf_die("out of memory growing the graph");
    sf_param *p = &g->params[g->n_params];
    memset(p, 0, sizeof *p);
    join_name(p->name, sizeof p->name, prefix, name);
    p->dtype = SF_DT_F32;
    p->ndim = ndim;
    p->count = 1;
    for (int d = 0; d < ndim; d++) p->shape[d] = shape[d], p->count *= (size_t)shape[d];
    g->param_init[g->n_params] = init;
    return g->n_params++;
}

int sf_graph_buffer(sf_graph *g, const char *prefix, const char *name, sf_dtype dt, int64_t count,
                    sf_init_spec init) {
    GROW(g->buffers, g->n_buffers, g->cap_buffers);
    int cap = g->cap_buffers;
    g->buffer_init = realloc(g->buffer_init, (size_t)cap * sizeof *g->buffer_init);
    if (!g->buffer_init) sf_die("out of memory growing the graph");
    sf_param *p = &g->buffers[g->n_buffers];
    memset(p, 0, sizeof *p);
    join_name(p->name, sizeof p->name, prefix, name);
    p->dtype = dt;
    // PyTorch's num_batches_tracked is a 0-dim tensor; the running statistics are (C).
    p->ndim = dt == SF_DT_I64 ? 0 : 1;
    p->shape[0] = count;
    p->count = (size_t)count;
    g->buffer_init[g->n_buffers] = init;
    return g->n_buffers++;
}

sf_layer *sf_graph_layer(sf_graph *g, sf_layer_kind kind, const char *name, int in, int out) {
    GROW(g->layers, g->n_layers, g->cap_layers);
    sf_layer *l = &g->layers[g->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in = in, l->in2 = -1, l->out = out;
    l->p_w = l->p_b = l->b_mean = l->b_var = l->b_nbt = -1;
    g->tensors[in].consumers++;
    return l;
}

size_t sf_tensor_floats_n(const sf_graph *g, int t, int n) {
    const sf_tensor *x = &g->tensors[t];
    return x->floats / (size_t)g->max_batch * (size_t)n;
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

// A buffer of the activation arena and when it is live. Forward of layer i runs at step i, its backward
// at step 2L-1-i (L layers); a buffer is live over [lo, hi], both ends included, so the output of a step
// never shares floats with what that step reads.
typedef struct {
    size_t floats;
    int lo, hi;
    size_t off;  // placed offset
} span;

// Places every span at the lowest offset that collides with no span placed before it and live at the
// same time, largest first (greedy; a few dozen buffers). Returns the arena size in floats.
static size_t place_spans(span *sp, int n) {
    int *order = sf_malloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int a = 0; a < n; a++) order[a] = a;
    for (int a = 1; a < n; a++)  // insertion sort, largest first
        for (int b = a; b > 0 && sp[order[b]].floats > sp[order[b - 1]].floats; b--) {
            int tmp = order[b];
            order[b] = order[b - 1], order[b - 1] = tmp;
        }
    size_t total = 0;
    for (int a = 0; a < n; a++) {
        span *t = &sp[order[a]];
        size_t at = 0;
        for (bool moved = true; moved;) {  // bump past every placed, live-overlapping span that collides
            moved = false;
            for (int b = 0; b < a; b++) {
                const span *u = &sp[order[b]];
                if (u->hi < t->lo || t->hi < u->lo) continue;
                if (at < u->off + u->floats && u->off < at + t->floats) at = u->off + u->floats, moved = true;
            }
        }
        t->off = at;
        if (at + t->floats > total) total = at + t->floats;
    }
    free(order);
    return total;
}

// Whether layer l's backward reads the data of its input / its output (besides parameters and what it
// saved itself: BN statistics, maxpool argmax, ReLU sign masks).
static bool backward_reads_input(const sf_layer *l) {
    return l->kind == SF_L_CONV || l->kind == SF_L_LINEAR || l->kind == SF_L_BN;
}
static bool backward_reads_output(const sf_layer *l) {
    return l->kind == SF_L_BN || (l->kind == SF_L_ADD && l->relu);
}

// Offsets in one arena of every tensor's data (data_off) and gradient (grad_off), both indexed by the
// tensor that owns the storage (alias[t] == t). Data lives from its producer's forward to the last step
// that reads it: a forward consumer, or a backward that needs it. A gradient lives from the backward of
// its last consumer down to its producer's. Kept for the whole step, never shared: the input and the
// logits (the caller writes and reads them), blocked tensors with padding channels (their padding must
// stay zero, and not every kernel writes it), and a gradient that its producer's backward reads without
// any consumer writing it (it stays zero). Returns the arena size in floats.
static size_t plan_arena(const sf_graph *g, const int *alias, const int *producer, bool input_grad,
                         size_t *data_off, size_t *grad_off) {
    int n = g->n_tensors, L = g->n_layers, last = n - 1;
    span *sp = sf_malloc(sizeof(span) * (size_t)(2 * n));
    int *dspan = sf_malloc(sizeof(int) * (size_t)n), *gspan = sf_malloc(sizeof(int) * (size_t)n);
    int *dhi = sf_malloc(sizeof(int) * (size_t)n), *glast = sf_malloc(sizeof(int) * (size_t)n);
    for (int t = 0; t < n; t++) dhi[t] = producer[alias[t]], glast[t] = producer[alias[t]];
    for (int i = 0; i < L; i++) {
        const sf_layer *l = &g->layers[i];
        int ins[2] = {l->in, l->in2};
        for (int j = 0; j < 2; j++) {
            if (ins[j] < 0) continue;
            int r = alias[ins[j]];
            if (dhi[r] < i) dhi[r] = i;
            if (glast[r] < i) glast[r] = i;
            if (backward_reads_input(l) && dhi[r] < 2 * L - 1 - i) dhi[r] = 2 * L - 1 - i;
        }
        int r = alias[l->out];
        if (backward_reads_output(l) && dhi[r] < 2 * L - 1 - i) dhi[r] = 2 * L - 1 - i;
    }
    glast[alias[last]] = L;  // dlogits are copied in before the first backward step
    int k = 0;
    for (int t = 0; t < n; t++) {
        dspan[t] = gspan[t] = -1;
        if (alias[t] != t) continue;
        const sf_tensor *x = &g->tensors[t];
        bool padded = x->blocked && x->c % x->vb != 0;
        span d = {.floats = round16(x->floats), .lo = producer[t], .hi = dhi[t]};
        if (t == 0 || t == last || padded) d.lo = -1, d.hi = 2 * L;
        sp[dspan[t] = k++] = d;
        if (t == 0 && !input_grad) continue;
        span gr = {.floats = round16(x->floats), .lo = 2 * L - 1 - glast[t], .hi = 2 * L - 1 - producer[t]};
        if (padded || (x->consumers == 0 && t != last)) gr.lo = -1, gr.hi = 2 * L;
        sp[gspan[t] = k++] = gr;
    }
    size_t total = place_spans(sp, k);
    for (int t = 0; t < n; t++) {
        if (dspan[t] >= 0) data_off[t] = sp[dspan[t]].off;
        if (gspan[t] >= 0) grad_off[t] = sp[gspan[t]].off;
    }
    free(sp), free(dspan), free(gspan), free(dhi), free(glast);
    return total;
}

// Offsets of every layer's auxiliaries in their arenas; the totals in *aux (floats), *amax (ints) and
// *masks (bytes). Points the layers into the arenas once they are allocated.
static void place_aux(sf_graph *g, size_t *aux, size_t *amax, size_t *masks) {
    *aux = *amax = *masks = 0;
    for (int i = 0; i < g->n_layers; i++) {
        sf_layer *l = &g->layers[i];
        if (l->kind == SF_L_BN) {
            size_t c = round16((size_t)g->tensors[l->out].c);
            if (g->aux_arena) l->save_mean = g->aux_arena + *aux, l->save_invstd = g->aux_arena + *aux + c;
            *aux += 2 * c;
        }
        if (l->kind == SF_L_MAXPOOL) {
            if (g->argmax_arena) l->argmax = g->argmax_arena + *amax;
            *amax += round16(g->tensors[l->out].floats);
        }
        if (l->kind == SF_L_RELU) {
            if (g->mask_arena) l->relu_mask = g->mask_arena + *masks;
            *masks += (sf_relu_mask_bytes(g->tensors[l->out].floats) + 63) / 64 * 64;
        }
    }
}

void sf_graph_finalize(sf_graph *g) {
    g->param_floats = 0;
    for (int i = 0; i < g->n_params; i++) g->param_floats += round16(g->params[i].count);
    g->param_arena = sf_aligned_alloc(g->param_floats * sizeof(float));
    g->grad_arena = sf_aligned_alloc(g->param_floats * sizeof(float));
    memset(g->grad_arena, 0, g->param_floats * sizeof(float));
    size_t off = 0;
    for (int i = 0; i < g->n_params; i++) {
        g->params[i].data = g->param_arena + off;
        g->params[i].grad = g->grad_arena + off;
        off += round16(g->params[i].count);
    }
    // Buffers: 8-byte elements for num_batches_tracked, floats for the rest, each 64-byte aligned.
    size_t bytes = 0;
    for (int i = 0; i < g->n_buffers; i++) bytes += (g->buffers[i].count * sf_dtype_size(g->buffers[i].dtype) + 63) / 64 * 64;
    g->buffer_arena = sf_aligned_alloc(bytes ? bytes : 64);
    bytes = 0;
    for (int i = 0; i < g->n_buffers; i++) {
        g->buffers[i].data = g->buffer_arena + bytes;
        bytes += (g->buffers[i].count * sf_dtype_size(g->buffers[i].dtype) + 63) / 64 * 64;
    }
    // Activations and their gradients share one arena, with these savings over a buffer per tensor and
    // direction:
    //  - a ReLU whose input feeds nothing else and comes from a convolution or a linear layer (whose
    //    backward passes never read their own output) runs in place: its output and gradient share the
    //    input's storage;
    //  - ReLUs keep their sign as a bitmask for backward, so their output is dead once its forward
    //    consumers have run (a pooling layer's backward needs nothing of its input);
    //  - the network input gets no gradient buffer: the layer reading it never propagates a gradient;
    //  - buffers whose live ranges do not meet share floats (plan_arena);
    //  - the scratch buffer, which takes a gradient nobody keeps (BatchNorm's unneeded dx) or a second
    //    contribution to a tensor with several consumers, is as large as the largest such tensor.
    int *alias = sf_malloc(sizeof(int) * (size_t)g->n_tensors);  // tensor whose storage t uses (t itself: own)
    int *producer = sf_malloc(sizeof(int) * (size_t)g->n_tensors);
    for (int i = 0; i < g->n_tensors; i++) alias[i] = i, producer[i] = -1;
    for (int i = 0; i < g->n_layers; i++) producer[g->layers[i].out] = i;
    for (int i = 0; i < g->n_layers; i++) {
        const sf_layer *l = &g->layers[i];
        int pi = producer[l->in];
        if (l->kind != SF_L_RELU || pi < 0 || g->tensors[l->in].consumers != 1) continue;
        sf_layer_kind pk = g->layers[pi].kind;
        if ((pk == SF_L_CONV || pk == SF_L_LINEAR) && g->tensors[l->out].floats == g->tensors[l->in].floats)
            alias[l->out] = alias[l->in];
    }
    bool input_grad = g->tensors[0].consumers != 1 || g->n_layers == 0 || g->layers[0].in != 0;
    g->scratch_floats = 16;
    size_t *data_off = sf_malloc(sizeof(size_t) * (size_t)g->n_tensors);
    size_t *grad_off = sf_malloc(sizeof(size_t) * (size_t)g->n_tensors);
    g->act_floats = plan_arena(g, alias, producer, input_grad, data_off, grad_off);
    for (int i = 0; i < g->n_tensors; i++)
        if (alias[i] == i && g->tensors[i].consumers > 1 && g->tensors[i].floats > g->scratch_floats)
            g->scratch_floats = g->tensors[i].floats;
    for (int i = 0; i < g->n_layers; i++)
        if (g->layers[i].kind == SF_L_BN && g->tensors[g->layers[i].in].floats > g->scratch_floats)
            g->scratch_floats = g->tensors[g->layers[i].in].floats;
    g->act_arena = sf_aligned_alloc((g->act_floats ? g->act_floats : 16) * sizeof(float));
    g->scratch = sf_aligned_alloc(g->scratch_floats * sizeof(float));
    if (g->bf16 && sf_bf16_supported()) {
        // A convolution's input and output at once, in bf16, each one image longer (image pairs of an odd
        // batch); a first layer's plain input as channel pairs, an odd channel count padded with a zero one.
        size_t most = 16;
        for (int i = 0; i < g->n_layers; i++) {
            const sf_layer *l = &g->layers[i];
            if (l->kind != SF_L_CONV) continue;
            const sf_tensor *x = &g->tensors[l->in];
            size_t a = x->floats, b = g->tensors[l->out].floats;
            if (!x->blocked) a = sf_bf16_pair_channels_len(g->max_batch, x->c, (size_t)x->h * x->w);
            size_t need = a + a / (size_t)g->max_batch + b + b / (size_t)g->max_batch;
            most = need > most ? need : most;
        }
        g->bf16_buf = sf_aligned_alloc(most * sizeof(uint16_t));
    }
    // Zero once: blocked padding channels must read as zeros before any kernel has written them.
    memset(g->act_arena, 0, g->act_floats * sizeof(float));
    for (int i = 0; i < g->n_tensors; i++) {
        int r = alias[i];
        g->tensors[i].data = g->act_arena + data_off[r];
        g->tensors[i].grad = r > 0 || input_grad ? g->act_arena + grad_off[r] : NULL;
    }
    free(data_off);
    free(grad_off);
    free(alias);
    free(producer);
    // Per-layer auxiliaries: BN statistics (2C floats), maxpool argmax (one int per output float) and
    // ReLU sign masks. The first pass sizes the arenas, the second (with them allocated) places each.
    size_t aux, amax, masks;
    place_aux(g, &aux, &amax, &masks);
    g->mask_bytes = masks;
    g->mask_arena = sf_aligned_alloc(masks ? masks : 64);
    g->aux_arena = sf_aligned_alloc((aux ? aux : 16) * sizeof(float));
    g->argmax_arena = sf_aligned_alloc((amax ? amax : 16) * sizeof(int32_t));
    place_aux(g, &aux, &amax, &masks);
    const sf_tensor *last = &g->tensors[g->n_tensors - 1];
    g->dlogits = sf_aligned_alloc(round16(last->floats) * sizeof(float));
    g->weights_dirty = true;
    sf_graph_update_first_trainable(g);
}

void sf_graph_update_first_trainable(sf_graph *g) {
    g->first_trainable = g->n_layers;
    for (int i = 0; i < g->n_layers && g->first_trainable == g->n_layers; i++) {
        const sf_layer *l = &g->layers[i];
        if ((l->p_w >= 0 && !g->params[l->p_w].frozen) || (l->p_b >= 0 && !g->params[l->p_b].frozen))
            g->first_trainable = i;
    }
}

void sf_graph_pack_weights(sf_graph *g) {
    for (int i = 0; i < g->n_layers; i++) {
        sf_layer *l = &g->layers[i];
        if (l->kind == SF_L_CONV && l->plan && l->bf16)
            sf_conv2d_pack_weights_bf16(l->plan, (uint16_t *)(void *)l->wpacked, g->params[l->p_w].data);
        else if (l->kind == SF_L_CONV && l->plan)
            sf_conv2d_pack_weights(l->plan, l->wpacked, g->params[l->p_w].data);
    }
    g->weights_dirty = false;
}

void sf_graph_forward(sf_graph *g, int n, bool train) {
    if (n < 1 || n > g->max_batch) sf_die("batch %d outside [1, %d]", n, g->max_batch);
    bool replanned = false;
    for (int i = 0; i < g->n_layers; i++) {
        sf_layer *l = &g->layers[i];
        if (l->kind == SF_L_CONV && l->plan_n != n) {
            sf_layer_conv_plan(g, l, n);
            replanned = true;
        }
    }
    if (train || replanned || g->weights_dirty) sf_graph_pack_weights(g);
    // Eval after train: the next train step changes the weights, so a later eval must repack.
    if (train) g->weights_dirty = true;
    for (int i = 0; i < g->n_layers; i++) {
        sf_layer *l = &g->layers[i];
        double t0 = g->layer_s ? sf_now() : 0.0;
        switch (l->kind) {
        case SF_L_CONV: sf_layer_conv_forward(g, l, n); break;
        case SF_L_BN: sf_layer_bn_forward(g, l, n, train); break;
        case SF_L_MAXPOOL:
        case SF_L_AVGPOOL:
        case SF_L_GAP: sf_layer_pool_forward(g, l, n); break;
        case SF_L_LINEAR: sf_layer_linear_forward(g, l, n); break;
        default: sf_layer_misc_forward(g, l, n, train); break;
        }
        if (g->layer_s) g->layer_s[i] += sf_now() - t0;
    }
    g->last_n = n;
    g->have_train_forward = train;
}

float *sf_graph_grad_target(sf_graph *g, int t) {
    sf_tensor *x = &g->tensors[t];
    return x->grad_set ? g->scratch : x->grad;
}

void sf_graph_grad_commit(sf_graph *g, int t, int n) {
    sf_tensor *x = &g->tensors[t];
    if (!x->grad_set) {
        x->grad_set = true;
        return;
    }
    size_t cnt = sf_tensor_floats_n(g, t, n);
    float *d = x->grad;
    const float *s = g->scratch;
#pragma omp parallel for schedule(static) if (cnt > 65536)
    for (size_t i = 0; i < cnt; i++) d[i] += s[i];
}

void sf_graph_backward(sf_graph *g, int n, const float *dlogits) {
    if (!g->have_train_forward) sf_die("backward needs a train-mode forward first");
    if (n != g->last_n) sf_die("backward batch %d differs from the forward's %d", n, g->last_n);
    for (int i = 0; i < g->n_tensors; i++) g->tensors[i].grad_set = false;
    sf_tensor *last = &g->tensors[g->n_tensors - 1];
    memcpy(last->grad, dlogits, sf_tensor_floats_n(g, g->n_tensors - 1, n) * sizeof(float));
    last->grad_set = true;
    for (int i = g->n_layers - 1; i >= g->first_trainable; i--) {
        sf_layer *l = &g->layers[i];
        // The layer that owns the earliest trainable parameter need not propagate further.
        bool need_dx = i > g->first_trainable && !l->first;
        double t0 = g->layer_s ? sf_now() : 0.0;
        if (l->kind == SF_L_ADD) {
            sf_layer_misc_backward(g, l, n, NULL);
            if (g->layer_s) g->layer_s[g->n_layers + i] += sf_now() - t0;
            continue;
        }
        float *dx = need_dx ? sf_graph_grad_target(g, l->in) : NULL;
        switch (l->kind) {
        case SF_L_CONV: sf_layer_conv_backward(g, l, n, dx); break;
        case SF_L_BN: sf_layer_bn_backward(g, l, n, dx); break;
        case SF_L_MAXPOOL:
        case SF_L_AVGPOOL:
        case SF_L_GAP: if (dx) sf_layer_pool_backward(g, l, n, dx); break;
        case SF_L_LINEAR: sf_layer_linear_backward(g, l, n, dx); break;
        default: if (dx) sf_layer_misc_backward(g, l, n, dx); break;
        }
        if (dx) sf_graph_grad_commit(g, l->in, n);
        if (g->layer_s) g->layer_s[g->n_layers + i] += sf_now() - t0;
    }
}
