// init.c: PyTorch's default initialisation, drawn from sf_rng (the values differ from torch's
// generator; the distributions are the same).
//   Conv2d / Linear weight: kaiming_uniform_(a=sqrt(5)): gain = sqrt(2/(1+a^2)), bound = gain*sqrt(3/fan_in)
//   Conv2d / Linear bias:   uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))
//   BatchNorm:              weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0
//   torchvision ResNet conv: kaiming_normal_(mode='fan_out', nonlinearity='relu'): std = sqrt(2/fan_out)
// Each tensor draws from its own stream (seed, tensor index), so adding a layer does not reshuffle
// the others.
#include <math.h>
#include <string.h>

#include "nn/graph.h"
#include "util/rng.h"

// Standard normal by Box-Muller on two 32-bit uniforms in (0, 1).
static double rng_normal(sf_rng *r) {
    double u1 = ((double)sf_rng_u32(r) + 0.5) / 4294967296.0;
    double u2 = ((double)sf_rng_u32(r) + 0.5) / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

// w (count) filled per the spec
static void init_tensor(float *w, size_t count, sf_init_spec s, sf_rng *r) {
    double bound = 0.0;
    switch (s.kind) {
    case SF_INIT_ZERO: memset(w, 0, count * sizeof(float)); return;
    case SF_INIT_ONE:
        for (size_t i = 0; i < count; i++) w[i] = 1.0f;
        return;
    case SF_INIT_KAIMING_A5: {
        const double a = sqrt(5.0);
        double gain = sqrt(2.0 / (1.0 + a * a));
        bound = gain * sqrt(3.0 / s.fan);
        break;
    }
    case SF_INIT_UNIFORM_FAN_IN: bound = 1.0 / sqrt((double)s.fan); break;
    case SF_INIT_NORMAL_FAN_OUT: {
        double std = sqrt(2.0 / s.fan);
        for (size_t i = 0; i < count; i++) w[i] = (float)(std * rng_normal(r));
        return;
    }
    }
    for (size_t i = 0; i < count; i++) w[i] = sf_rng_uniform_range(r, (float)-bound, (float)bound);
}

void sf_graph_init_params(sf_graph *g, uint64_t seed) {
    for (int i = 0; i < g->n_params; i++) {
        sf_rng r;
        sf_rng_seed(&r, sf_hash64(seed, (uint64_t)i, 0x1217), (uint64_t)i);
        init_tensor(g->params[i].data, g->params[i].count, g->param_init[i], &r);
    }
    for (int i = 0; i < g->n_buffers; i++) {
        sf_param *b = &g->buffers[i];
        if (b->dtype == SF_DT_I64)
            memset(b->data, 0, b->count * sizeof(int64_t));
        else
            init_tensor(b->data, b->count, g->buffer_init[i], NULL);
    }
    g->weights_dirty = true;
}
