// layer_linear.c: nn.Linear on plain (N, I) activations, weight (O, I) as PyTorch stores it.
#include "kernels/linear.h"
#include "nn/graph.h"
#include "util/util.h"

int sf_nn_linear(sf_graph *g, const char *name, int in, int out_features) {
    const sf_tensor *x = &g->tensors[in];
    if (x->blocked) sf_die("%s: linear layers take plain (N, features) input; flatten first", name);
    int fan_in = x->c * x->h * x->w;
    int out = sf_graph_tensor(g, out_features, 1, 1, false);
    sf_layer *l = sf_graph_layer(g, SF_L_LINEAR, name, in, out);
    const int64_t wshape[2] = {out_features, fan_in}, bshape[1] = {out_features};
    l->p_w = sf_graph_param(g, name, "weight", 2, wshape, (sf_init_spec){SF_INIT_KAIMING_A5, fan_in});
    l->p_b = sf_graph_param(g, name, "bias", 1, bshape, (sf_init_spec){SF_INIT_UNIFORM_FAN_IN, fan_in});
    l->flops = 2.0 * fan_in * out_features;
    return out;
}

// y (N,O) = x (N,I) w^T + b
void sf_layer_linear_forward(sf_graph *g, sf_layer *l, int n) {
    const sf_tensor *x = &g->tensors[l->in];
    const sf_tensor *y = &g->tensors[l->out];
    sf_linear_forward(y->data, x->data, g->params[l->p_w].data, g->params[l->p_b].data, n, x->c * x->h * x->w,
                      y->c);
}

void sf_layer_linear_backward(sf_graph *g, sf_layer *l, int n, float *dx) {
    const sf_tensor *x = &g->tensors[l->in];
    const sf_tensor *y = &g->tensors[l->out];
    sf_linear_backward(dx, g->params[l->p_w].grad, g->params[l->p_b].grad, y->grad, x->data,
                       g->params[l->p_w].data, n, x->c * x->h * x->w, y->c);
}
