// layer_bn.c: BatchNorm2d (blocked (N,C,H,W)) and BatchNorm1d (plain (N,C)) with an optional fused ReLU.
#include "kernels/batchnorm.h"
#include "nn/graph.h"
#include "util/util.h"

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

int sf_nn_bn(sf_graph *g, const char *name, int in, bool relu) {
    // Copy the shape: adding a tensor may move the tensor array.
    const sf_tensor x = g->tensors[in];
    int out = sf_graph_tensor_like(g, in);
    sf_layer *l = sf_graph_layer(g, SF_L_BN, name, in, out);
    l->relu = relu;
    const int64_t shape[1] = {x.c};
    l->p_w = sf_graph_param(g, name, "weight", 1, shape, (sf_init_spec){SF_INIT_ONE, 0});
    l->p_b = sf_graph_param(g, name, "bias", 1, shape, (sf_init_spec){SF_INIT_ZERO, 0});
    l->b_mean = sf_graph_buffer(g, name, "running_mean", SF_DT_F32, x.c, (sf_init_spec){SF_INIT_ZERO, 0});
    l->b_var = sf_graph_buffer(g, name, "running_var", SF_DT_F32, x.c, (sf_init_spec){SF_INIT_ONE, 0});
    l->b_nbt = sf_graph_buffer(g, name, "num_batches_tracked", SF_DT_I64, 1, (sf_init_spec){SF_INIT_ZERO, 0});
    // normalise + affine (+ relu) per element
    l->flops = (relu ? 3.0 : 2.0) * x.c * x.h * x.w;
    return out;
}

// The BN kernels see a blocked tensor as (N, C, HW) with its vb. A plain (N,C) one (HW = 1) is,
// byte for byte, the blocked layout of any block size that divides C with no padding: the widest such
// block lets the kernels run on whole vectors of channels (BatchNorm1d over 2048 features took 7 ms
// per step on one core with one channel per block, each a scalar walk down a column).
static int layer_vb(const sf_tensor *x) {
    if (x->blocked) return x->vb;
    if (x->h * x->w != 1) return 1;
    for (int vb = 16; vb > 1; vb /= 2)
        if (x->c % vb == 0) return vb;
    return 1;
}

void sf_layer_bn_forward(sf_graph *g, sf_layer *l, int n, bool train) {
    const sf_tensor *x = &g->tensors[l->in];
    float *y = g->tensors[l->out].data;
    const float *gamma = g->params[l->p_w].data, *beta = g->params[l->p_b].data;
    float *rm = g->buffers[l->b_mean].data, *rv = g->buffers[l->b_var].data;
    int hw = x->h * x->w, vb = layer_vb(x);
    if (train) {
        sf_batchnorm_forward_train(y, l->save_mean, l->save_invstd, rm, rv, x->data, gamma, beta, n, x->c, hw, vb,
                                   BN_MOMENTUM, BN_EPS, l->relu);
        (*(int64_t *)g->buffers[l->b_nbt].data)++;
    } else {
        sf_batchnorm_forward_eval(y, x->data, gamma, beta, rm, rv, n, x->c, hw, vb, BN_EPS, l->relu);
    }
}

void sf_layer_bn_backward(sf_graph *g, sf_layer *l, int n, float *dx) {
    const sf_tensor *x = &g->tensors[l->in], *y = &g->tensors[l->out];
    // The kernel always produces dx; when nobody needs it, scratch absorbs it (no pending
    // contribution lives there at this point: commits happen right after each layer).
    float *d = dx ? dx : g->scratch;
    sf_batchnorm_backward(d, g->params[l->p_w].grad, g->params[l->p_b].grad, y->grad, x->data, y->data,
                          g->params[l->p_w].data, l->save_mean, l->save_invstd, n, x->c, x->h * x->w,
                          layer_vb(x), l->relu);
}
