// models.c: the seed's two networks, layer for layer as tools/seed_models.py defines them, so that
// parameter names and shapes match PyTorch's state_dict.
#include <stdio.h>

#include "nn/models.h"

// SimpleCnn: conv1..conv5 = Sequential(Conv2d(k3, no pad), ReLU, MaxPool2d(2)), channels
// 3-8-16-32-64-96; fc1 = Sequential(Linear(96*s*s, 512), BatchNorm1d(512), ReLU); out = Linear(512, K).
int sf_build_simple(sf_graph *g, int n_classes) {
    static const int chans[6] = {3, 8, 16, 32, 64, 96};
    int x = 0;
    char name[32];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "conv%d.0", i + 1);
        x = sf_nn_conv(g, name, x, chans[i + 1], 3, 1, 0, true, false);
        // ReLU then MaxPool2d(2), as one layer: the ReLU runs on the pooled map (kernels/pool.h).
        snprintf(name, sizeof name, "conv%d.2", i + 1);
        x = sf_nn_maxpool(g, name, x, 2, 2, 0, true);
    }
    x = sf_nn_flatten(g, "flatten", x);
    x = sf_nn_linear(g, "fc1.0", x, 512);
    x = sf_nn_bn(g, "fc1.1", x, true);
    return sf_nn_linear(g, "out", x, n_classes);
}

// Cnn ("best"): see tools/seed_models.py. Module indices inside each Sequential follow PyTorch's:
// the fused BatchNorm+ReLU is named after the BatchNorm (index 1), the pool after it is index 3.
int sf_build_best(sf_graph *g, int n_classes) {
    int x = sf_nn_conv(g, "conv1.0", 0, 32, 7, 2, 0, true, false);
    x = sf_nn_relu(g, "conv1.1", x);
    x = sf_nn_avgpool(g, "conv1.2", x, 3, 2, 0);
    x = sf_nn_conv(g, "conv2.0", x, 64, 5, 2, 0, true, false);
    x = sf_nn_bn(g, "conv2.1", x, true);
    x = sf_nn_avgpool(g, "conv2.3", x, 3, 2, 0);
    x = sf_nn_conv(g, "conv3.0", x, 128, 3, 1, 1, true, false);
    x = sf_nn_bn(g, "conv3.1", x, true);
    x = sf_nn_conv(g, "conv4.0", x, 256, 3, 1, 1, true, false);
    x = sf_nn_bn(g, "conv4.1", x, true);
    x = sf_nn_conv(g, "conv5.0", x, 256, 3, 1, 1, true, false);
    x = sf_nn_bn(g, "conv5.1", x, true);
    x = sf_nn_conv(g, "conv6.0", x, 256, 2, 1, 0, true, false);
    x = sf_nn_bn(g, "conv6.1", x, true);
    x = sf_nn_maxpool(g, "conv6.3", x, 3, 2, 0, false);
    x = sf_nn_resize(g, "interpolate", x, 4, 4);
    x = sf_nn_flatten(g, "flatten", x);
    char name[16];
    for (int i = 1; i <= 3; i++) {
        snprintf(name, sizeof name, "fc%d.0", i);
        x = sf_nn_linear(g, name, x, 2048);
        snprintf(name, sizeof name, "fc%d.1", i);
        x = sf_nn_bn(g, name, x, true);
    }
    return sf_nn_linear(g, "fc4.0", x, n_classes);
}
