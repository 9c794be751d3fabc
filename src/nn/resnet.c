// resnet.c: torchvision's ResNet-18 (BasicBlock) and ResNet-50 (Bottleneck, stride on the 3x3 conv
// as in torchvision's v1.5), with its module names and initialisation (kaiming_normal fan_out convs).
#include <stdio.h>

#include "nn/models.h"

// BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + downsample(x))
static int basic_block(sf_graph *g, const char *p, int x, int inplanes, int planes, int stride) {
    char n[64];
    snprintf(n, sizeof n, "%s.conv1", p);
    int o = sf_nn_conv(g, n, x, planes, 3, stride, 1, false, true);
    snprintf(n, sizeof n, "%s.bn1", p);
    o = sf_nn_bn(g, n, o, true);
    snprintf(n, sizeof n, "%s.conv2", p);
    o = sf_nn_conv(g, n, o, planes, 3, 1, 1, false, true);
    snprintf(n, sizeof n, "%s.bn2", p);
    o = sf_nn_bn(g, n, o, false);
    int idn = x;
    if (stride != 1 || inplanes != planes) {
        snprintf(n, sizeof n, "%s.downsample.0", p);
        idn = sf_nn_conv(g, n, x, planes, 1, stride, 0, false, true);
        snprintf(n, sizeof n, "%s.downsample.1", p);
        idn = sf_nn_bn(g, n, idn, false);
    }
    return sf_nn_add(g, p, o, idn, true);
}

// Bottleneck: 1x1 reduce, 3x3 (stride), 1x1 expand x4, plus the (projected) identity.
static int bottleneck(sf_graph *g, const char *p, int x, int inplanes, int planes, int stride) {
    char n[64];
    snprintf(n, sizeof n, "%s.conv1", p);
    int o = sf_nn_conv(g, n, x, planes, 1, 1, 0, false, true);
    snprintf(n, sizeof n, "%s.bn1", p);
    o = sf_nn_bn(g, n, o, true);
    snprintf(n, sizeof n, "%s.conv2", p);
    o = sf_nn_conv(g, n, o, planes, 3, stride, 1, false, true);
    snprintf(n, sizeof n, "%s.bn2", p);
    o = sf_nn_bn(g, n, o, true);
    snprintf(n, sizeof n, "%s.conv3", p);
    o = sf_nn_conv(g, n, o, planes * 4, 1, 1, 0, false, true);
    snprintf(n, sizeof n, "%s.bn3", p);
    o = sf_nn_bn(g, n, o, false);
    int idn = x;
    if (stride != 1 || inplanes != planes * 4) {
        snprintf(n, sizeof n, "%s.downsample.0", p);
        idn = sf_nn_conv(g, n, x, planes * 4, 1, stride, 0, false, true);
        snprintf(n, sizeof n, "%s.downsample.1", p);
        idn = sf_nn_bn(g, n, idn, false);
    }
    return sf_nn_add(g, p, o, idn, true);
}

int sf_build_resnet(sf_graph *g, int depth, int n_classes) {
    static const int blocks18[4] = {2, 2, 2, 2}, blocks50[4] = {3, 4, 6, 3};
    const int *blocks = depth == 50 ? blocks50 : blocks18;
    const int expansion = depth == 50 ? 4 : 1;
    int x = sf_nn_conv(g, "conv1", 0, 64, 7, 2, 3, false, true);
    x = sf_nn_bn(g, "bn1", x, true);
    x = sf_nn_maxpool(g, "maxpool", x, 3, 2, 1, false);
    int inplanes = 64;
    char p[32];
    for (int s = 0; s < 4; s++) {
        int planes = 64 << s;
        for (int b = 0; b < blocks[s]; b++) {
            int stride = (s > 0 && b == 0) ? 2 : 1;
            snprintf(p, sizeof p, "layer%d.%d", s + 1, b);
            x = depth == 50 ? bottleneck(g, p, x, inplanes, planes, stride) : basic_block(g, p, x, inplanes, planes, stride);
            inplanes = planes * expansion;
        }
    }
    x = sf_nn_gap(g, "avgpool", x);
    return sf_nn_linear(g, "fc", x, n_classes);
}
