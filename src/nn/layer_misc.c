// layer_misc.c: the parameter-free layers: ReLU, bilinear resize, flatten, the residual add, and the
// change of channel block between a narrow first layer's maps and the next convolution.
#include <string.h>

#include "kernels/activation.h"
#include "kernels/layout.h"
#include "kernels/resize.h"
#include "nn/graph.h"
#include "util/util.h"

int sf_nn_relu(sf_graph *g, const char *name, int in) {
    const sf_tensor *x = &g->tensors[in];
    double flops = (double)x->c * x->h * x->w;
    int out = sf_graph_tensor_like(g, in);
    sf_layer *l = sf_graph_layer(g, SF_L_RELU, name, in, out);
    l->flops = flops;
    return out;
}

int sf_nn_resize(sf_graph *g, const char *name, int in, int oh, int ow) {
    const sf_tensor *x = &g->tensors[in];
    if (!x->blocked) sf_die("%s: resize takes a blocked feature map", name);
    int c = x->c;
    int out = sf_graph_tensor_vb(g, c, oh, ow, x->vb);
    sf_layer *l = sf_graph_layer(g, SF_L_RESIZE, name, in, out);
    // four taps, three lerps per output element
    l->flops = 7.0 * c * oh * ow;
    return out;
}

int sf_nn_reblock(sf_graph *g, const char *name, int in, int vb) {
    const sf_tensor *x = &g->tensors[in];
    if (!x->blocked) sf_die("%s: reblock takes a blocked feature map", name);
    int out = sf_graph_tensor_vb(g, x->c, x->h, x->w, vb);
    sf_graph_layer(g, SF_L_REBLOCK, name, in, out);
    return out;
}

int sf_nn_flatten(sf_graph *g, const char *name, int in) {
    const sf_tensor *x = &g->tensors[in];
    int out = sf_graph_tensor(g, x->c * x->h * x->w, 1, 1, false);
    sf_graph_layer(g, SF_L_FLATTEN, name, in, out);
    return out;
}

int sf_nn_add(sf_graph *g, const char *name, int a, int b, bool relu) {
    const sf_tensor *x = &g->tensors[a], *y = &g->tensors[b];
    if (x->c != y->c || x->h != y->h || x->w != y->w || x->blocked != y->blocked || x->vb != y->vb)
        sf_die("%s: residual add of (%d,%d,%d) and (%d,%d,%d)", name, x->c, x->h, x->w, y->c, y->h, y->w);
    double flops = (double)x->c * x->h * x->w * (relu ? 2 : 1);
    int out = sf_graph_tensor_like(g, a);
    sf_layer *l = sf_graph_layer(g, SF_L_ADD, name, a, out);
    l->in2 = b;
    g->tensors[b].consumers++;
    l->relu = relu;
    l->flops = flops;
    return out;
}

// y = a + b (then max(0, .)), over the whole blocked buffers (zero padding stays zero).
static void add_forward(float *y, const float *a, const float *b, size_t cnt, bool relu) {
#pragma omp parallel for schedule(static) if (cnt > 65536)
    for (size_t i = 0; i < cnt; i++) {
        float v = a[i] + b[i];
        y[i] = relu && v < 0.0f ? 0.0f : v;
    }
}

// da = db = dy masked by y > 0 when the ReLU is fused.
static void add_backward(float *da, float *db, const float *dy, const float *y, size_t cnt, bool relu) {
#pragma omp parallel for schedule(static) if (cnt > 65536)
    for (size_t i = 0; i < cnt; i++) {
        float d = relu && !(y[i] > 0.0f) ? 0.0f : dy[i];
        da[i] = d;
        db[i] = d;
    }
}

void sf_layer_misc_forward(sf_graph *g, sf_layer *l, int n, bool train) {
    const sf_tensor *x = &g->tensors[l->in];
    const sf_tensor *y = &g->tensors[l->out];
    size_t cnt = sf_tensor_floats_n(g, l->out, n);
    switch (l->kind) {
    case SF_L_RELU:
        // Training keeps the sign for backward: y's storage is reused once its forward readers are done.
        if (train)
            sf_relu_forward_mask(y->data, l->relu_mask, x->data, cnt);
        else
            sf_relu_forward(y->data, x->data, cnt);
        break;
    case SF_L_RESIZE: sf_resize_bilinear_forward(y->data, x->data, n, x->c, x->h, x->w, y->h, y->w, x->vb); break;
    case SF_L_FLATTEN:
        // Plain NCHW of n images is exactly (N, C*H*W) in PyTorch's flatten order.
        if (x->blocked)
            sf_reorder_to_plain(y->data, x->data, n, x->c, x->h, x->w, x->vb);
        else
            memcpy(y->data, x->data, cnt * sizeof(float));
        break;
    case SF_L_ADD: add_forward(y->data, x->data, g->tensors[l->in2].data, cnt, l->relu); break;
    case SF_L_REBLOCK: sf_reorder_reblock(y->data, y->vb, x->data, x->vb, n, x->c, x->h, x->w); break;
    default: sf_die("layer %s: not a misc layer", l->name);
    }
}

void sf_layer_misc_backward(sf_graph *g, sf_layer *l, int n, float *dx) {
    const sf_tensor *x = &g->tensors[l->in];
    const sf_tensor *y = &g->tensors[l->out];
    size_t cnt = sf_tensor_floats_n(g, l->out, n);
    switch (l->kind) {
    case SF_L_RELU: sf_relu_backward_mask(dx, y->grad, l->relu_mask, cnt); break;
    case SF_L_RESIZE: sf_resize_bilinear_backward(dx, y->grad, n, x->c, x->h, x->w, y->h, y->w, x->vb); break;
    case SF_L_REBLOCK: sf_reorder_reblock(dx, x->vb, y->grad, y->vb, n, x->c, x->h, x->w); break;
    case SF_L_FLATTEN:
        if (x->blocked)
            sf_reorder_to_blocked(dx, y->grad, n, x->c, x->h, x->w, x->vb);
        else
            memcpy(dx, y->grad, cnt * sizeof(float));
        break;
    case SF_L_ADD: {
        // Both operands get the same gradient. The scratch buffer holds one pending contribution at a
        // time, so when the first operand's goes there it is committed before the second is routed.
        float *da = sf_graph_grad_target(g, l->in);
        if (da == g->scratch) {
            add_backward(da, da, y->grad, y->data, cnt, l->relu);
            sf_graph_grad_commit(g, l->in, n);
            float *db = sf_graph_grad_target(g, l->in2);
            add_backward(db, db, y->grad, y->data, cnt, l->relu);
        } else {
            float *db = sf_graph_grad_target(g, l->in2);
            add_backward(da, db, y->grad, y->data, cnt, l->relu);
            sf_graph_grad_commit(g, l->in, n);
        }
        sf_graph_grad_commit(g, l->in2, n);
        break;
    }
    default: sf_die("layer %s: not a misc layer", l->name);
    }
}
