// layer_conv.c: the Conv2d layer on the blocked convolution kernels (conv2d.h).
#include <stdio.h>

#include "kernels/bf16.h"
#include "kernels/conv2d.h"
#include "kernels/cpu.h"
#include "nn/graph.h"
#include "util/util.h"

int sf_nn_conv(sf_graph *g, const char *name, int in, int co, int k, int stride, int pad, bool bias,
            bool torchvision_init) {
    // The kernels read x and write y in one channel block, except where a narrow-input plan reads a narrow
    // first layer's map as it is (sf_conv2d_narrow_x_ok); otherwise that map goes back to the graph's block.
    const sf_tensor *x0 = &g->tensors[in];
    sf_conv2d_shape s1 = {.n = 1, .ci = x0->c, .ih = x0->h, .iw = x0->w, .co = co, .kh = k, .kw = k};
    if (x0->blocked && x0->vb != g->vb && !sf_conv2d_narrow_x_ok(&s1, g->vb, x0->vb)) {
        char rname[80];
        snprintf(rname, sizeof rname, "%s.reblock", name);
        in = sf_nn_reblock(g, rname, in, g->vb);
    }
    const sf_tensor *x = &g->tensors[in];
    int oh = 1, ow = 1;
    if (x->h + 2 * pad < k || x->w + 2 * pad < k)
        sf_graph_error(g, "%s: its input %dx%d is smaller than the %dx%d kernel", name, x->h, x->w, k, k);
    else
        oh = (x->h + 2 * pad - k) / stride + 1, ow = (x->w + 2 * pad - k) / stride + 1;
    int ci = x->c;
    int out = sf_graph_tensor_vb(g, co, oh, ow, in == 0 && g->vb == sf_vb() ? sf_vb_first(co) : g->vb);
    sf_layer *l = sf_graph_layer(g, SF_L_CONV, name, in, out);
    l->co = co, l->k = k, l->stride = stride, l->pad = pad;
    l->first = in == 0;
    int fan_in = ci * k * k, fan_out = co * k * k;
    const int64_t wshape[4] = {co, ci, k, k};
    sf_init_spec wi = torchvision_init ? (sf_init_spec){SF_INIT_NORMAL_FAN_OUT, fan_out}
                                       : (sf_init_spec){SF_INIT_KAIMING_A5, fan_in};
    l->p_w = sf_graph_param(g, name, "weight", 4, wshape, wi);
    if (bias) {
        const int64_t bshape[1] = {co};
        l->p_b = sf_graph_param(g, name, "bias", 1, bshape, (sf_init_spec){SF_INIT_UNIFORM_FAN_IN, fan_in});
    }
    l->flops = 2.0 * co * oh * ow * (double)fan_in;
    return out;
}

static sf_conv2d_shape layer_shape(const sf_graph *g, const sf_layer *l, int n) {
    const sf_tensor *x = &g->tensors[l->in];
    return sf_conv2d_shape_make(n, x->c, x->h, x->w, l->co, l->k, l->k, l->stride, l->pad);
}

void sf_layer_conv_plan(sf_graph *g, sf_layer *l, int n) {
    sf_conv2d_plan_destroy(l->plan);
    sf_free_aligned(l->wpacked);
    sf_conv2d_shape s = layer_shape(g, l, n);
    const sf_tensor *x = &g->tensors[l->in], *y = &g->tensors[l->out];
    // bf16 where the CPU has it; a first layer too, unless its input wants a gradient (no bf16 backward-data
    // into plain dx).
    bool x_ok = l->first ? !x->blocked && !x->grad : x->blocked && x->vb == 16;
    l->bf16 = g->bf16_buf && x_ok && y->vb == 16 && sf_conv2d_bf16_ok(&s);
    if (l->bf16) {
        l->plan = sf_conv2d_plan_create_bf16(&s, l->first, g->deterministic);
        l->wpacked = sf_aligned_alloc(sf_conv2d_packed_weights_bf16(l->plan) * sizeof(uint16_t));
    } else {
        l->plan = x->blocked && x->vb != y->vb
                      ? sf_conv2d_plan_create_narrow_x(&s, g->deterministic, y->vb, x->vb)
                      : sf_conv2d_plan_create_vb(&s, l->first, g->deterministic, SF_CONV_AUTO, y->vb);
        l->wpacked = sf_aligned_alloc(sf_conv2d_packed_weights_floats(l->plan) * sizeof(float));
    }
    l->plan_n = n;
}

// y blocked (N,Co,OH,OW) = conv(x, w) + b; x plain NCHW for the first layer, else blocked (in y's block,
// or in 8 lanes where y has 16: a narrow-input plan).
void sf_layer_conv_forward(sf_graph *g, sf_layer *l, int n) {
    const float *b = l->p_b >= 0 ? g->params[l->p_b].data : NULL;
    const sf_tensor *x = &g->tensors[l->in];
    if (l->bf16) {  // x in bf16 (blocked, or plain as channel pairs; n images) into the graph's buffer
        if (l->first) sf_bf16_pair_channels(g->bf16_buf, x->data, n, x->c, (size_t)x->h * x->w);
        else sf_bf16_from_f32(g->bf16_buf, x->data, x->floats / (size_t)g->max_batch * (size_t)n);
        sf_conv2d_forward_bf16(l->plan, g->tensors[l->out].data, g->bf16_buf, (const uint16_t *)(void *)l->wpacked, b);
        return;
    }
    sf_conv2d_forward(l->plan, g->tensors[l->out].data, x->data, l->wpacked, b);
}

// dW (Co,Ci,KH,KW) OIHW and db (Co) into the parameter gradients; dx (layout of x) when requested.
// bf16 layers: backward-weights on x and dy as bf16 image pairs, backward-data on dy as bf16 (never into a
// first layer's plain x: those plans exist only where x has no gradient).
void sf_layer_conv_backward(sf_graph *g, sf_layer *l, int n, float *dx) {
    const sf_tensor *x = &g->tensors[l->in], *y = &g->tensors[l->out];
    const float *dy = y->grad;
    float *dw = g->params[l->p_w].grad, *db = l->p_b >= 0 ? g->params[l->p_b].grad : NULL;
    if (!l->bf16) {
        sf_conv2d_backward_weights(l->plan, dw, db, dy, x->data);
        if (dx) sf_conv2d_backward_data(l->plan, dx, dy, l->wpacked);
        return;
    }
    size_t xper = x->floats / (size_t)g->max_batch, yper = y->floats / (size_t)g->max_batch;
    uint16_t *xp = g->bf16_buf, *dyp = g->bf16_buf + (size_t)(n + 1) / 2 * 2 * xper;
    sf_bf16_pair_images(xp, x->data, n, xper);
    sf_bf16_pair_images(dyp, dy, n, yper);
    sf_conv2d_backward_weights_bf16(l->plan, dw, db, dyp, xp, dy);
    if (!dx) return;
    sf_bf16_from_f32(g->bf16_buf, dy, yper * (size_t)n);
    sf_conv2d_backward_data_bf16(l->plan, dx, g->bf16_buf, (const uint16_t *)(void *)l->wpacked);
}
