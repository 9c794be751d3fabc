// layer_pool.c: MaxPool2d, AvgPool2d (PyTorch floor mode, count_include_pad) and the global average
// pool that ends the ResNets, on blocked tensors.
#include "kernels/pool.h"
#include "nn/graph.h"
#include "util/util.h"

// relu: a ReLU fused on the output (max pool only), counted as one more FLOP per output element.
static int pool_layer(sf_graph *g, sf_layer_kind kind, const char *name, int in, int k, int stride, int pad,
                      bool relu) {
    const sf_tensor *x = &g->tensors[in];
    int oh = 1, ow = 1;
    if (x->h + 2 * pad < k || x->w + 2 * pad < k) {
        sf_graph_error(g, "%s: its input %dx%d is smaller than the %dx%d pooling window", name, x->h, x->w, k, k);
    } else {
        sf_pool_shape s = sf_pool_shape_make(1, x->c, x->h, x->w, k, stride, pad);
        oh = s.oh, ow = s.ow;
    }
    int out = sf_graph_tensor_vb(g, x->c, oh, ow, x->vb);
    sf_layer *l = sf_graph_layer(g, kind, name, in, out);
    l->pk = k, l->pstride = stride, l->ppad = pad, l->relu = relu;
    l->flops = (double)(k * k + relu) * g->tensors[out].c * oh * ow;
    return out;
}

int sf_nn_maxpool(sf_graph *g, const char *name, int in, int k, int stride, int pad, bool relu) {
    return pool_layer(g, SF_L_MAXPOOL, name, in, k, stride, pad, relu);
}

int sf_nn_avgpool(sf_graph *g, const char *name, int in, int k, int stride, int pad) {
    return pool_layer(g, SF_L_AVGPOOL, name, in, k, stride, pad, false);
}

int sf_nn_gap(sf_graph *g, const char *name, int in) {
    const sf_tensor *x = &g->tensors[in];
    int c = x->c;
    double flops = (double)x->c * x->h * x->w;
    int out = sf_graph_tensor(g, c, 1, 1, false);
    sf_layer *l = sf_graph_layer(g, SF_L_GAP, name, in, out);
    l->flops = flops;
    return out;
}

void sf_layer_pool_forward(sf_graph *g, sf_layer *l, int n) {
    const sf_tensor *x = &g->tensors[l->in];
    float *y = g->tensors[l->out].data;
    if (l->kind == SF_L_GAP) {
        sf_global_avgpool_forward(y, x->data, n, x->c, x->h, x->w, x->vb);
        return;
    }
    sf_pool_shape s = sf_pool_shape_make(n, x->c, x->h, x->w, l->pk, l->pstride, l->ppad);
    s.relu = l->relu;
    if (l->kind == SF_L_MAXPOOL)
        sf_maxpool2d_forward(y, l->argmax, x->data, &s, x->vb);
    else
        sf_avgpool2d_forward(y, x->data, &s, x->vb);
}

void sf_layer_pool_backward(sf_graph *g, sf_layer *l, int n, float *dx) {
    const sf_tensor *x = &g->tensors[l->in];
    const float *dy = g->tensors[l->out].grad;
    if (l->kind == SF_L_GAP) {
        sf_global_avgpool_backward(dx, dy, n, x->c, x->h, x->w, x->vb);
        return;
    }
    sf_pool_shape s = sf_pool_shape_make(n, x->c, x->h, x->w, l->pk, l->pstride, l->ppad);
    s.relu = l->relu;
    if (l->kind == SF_L_MAXPOOL)
        sf_maxpool2d_backward(dx, dy, l->argmax, &s, x->vb);
    else
        sf_avgpool2d_backward(dx, dy, &s, x->vb);
}
