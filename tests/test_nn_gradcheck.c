// test_nn_gradcheck.c: the whole backward pass of each model (layer routing, gradient accumulation at
// residual branches, fused BN+ReLU, flatten/resize/pool edges) against central finite differences of
// the train-mode loss, along two directions per checked parameter: the gradient itself, and the
// gradient mixed with a random direction (which exposes errors orthogonal to the gradient).
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "springfield.h"

static float loss_at(sf_model *m, const float *x, const int64_t *labels, int n) {
    const float *y = sf_model_forward(m, x, n, true);
    return sf_softmax_xent(NULL, NULL, y, labels, n, sf_model_config_of(m)->n_classes, 0.0f);
}

// (L(w0 + h v) - L(w0 - h v)) / 2h for parameter p; restores w0.
static double central_difference(sf_model *m, sf_param *p, const float *w0, const float *v, double h, const float *x,
                                 const int64_t *labels, int n) {
    float *w = p->data;
    for (size_t i = 0; i < p->count; i++) w[i] = w0[i] + (float)h * v[i];
    double lp = loss_at(m, x, labels, n);
    for (size_t i = 0; i < p->count; i++) w[i] = w0[i] - (float)h * v[i];
    double lm = loss_at(m, x, labels, n);
    memcpy(w, w0, p->count * sizeof(float));
    return (lp - lm) / (2.0 * h);
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

// Batches of 8: BatchNorm over fewer values per channel is nearly degenerate (its output hardly
// depends on its input), which makes finite differences of float32 losses meaningless.
static void gradcheck(const char *arch, int size, const char *const *names, int n_names, double tol) {
    const int n = 8, k = 6;
    char err[256];
    sf_model_config c = {.arch = arch, .n_classes = k, .in_h = size, .in_w = size, .max_batch = n, .seed = 11};
    sf_model *m = sf_model_create(&c, err, sizeof err);
    cr_assert(m, "%s", err);
    size_t xc = (size_t)n * 3 * size * size;
    float *x = malloc(xc * sizeof(float));
    sf_rng r;
    sf_rng_seed(&r, 3, 1);
    for (size_t i = 0; i < xc; i++) x[i] = sf_rng_uniform_range(&r, -1.0f, 1.0f);
    int64_t labels[8] = {1, 4, 5, 0, 2, 3, 5, 1};
    sf_model_forward(m, x, n, true);
    float loss = sf_model_loss_backward(m, labels, NULL);
    double worst = 0;
    for (int t = 0; t < n_names; t++) {
        sf_param *p = sf_model_find(m, names[t]);
        cr_assert(p && p->grad, "no parameter %s", names[t]);
        size_t cnt = p->count;
        float *w = p->data;
        float *w0 = malloc(cnt * sizeof(float)), *g = malloc(cnt * sizeof(float)), *v = malloc(cnt * sizeof(float));
        memcpy(w0, w, cnt * sizeof(float));
        memcpy(g, p->grad, cnt * sizeof(float));
        double gnorm = sqrt(dot(g, g, cnt));
        cr_assert(gnorm > 0, "%s: zero gradient", p->name);
        for (int dir = 0; dir < 2; dir++) {
            double un = 0;
            for (size_t i = 0; i < cnt; i++) {
                v[i] = (float)(g[i] / gnorm);
                if (dir) {
                    float u = sf_rng_uniform_range(&r, -1.0f, 1.0f);
                    v[i] += u * (float)(1.0 / sqrt(cnt / 3.0));
                }
                un += (double)v[i] * v[i];
            }
            for (size_t i = 0; i < cnt; i++) v[i] = (float)(v[i] / sqrt(un));
            // A step that changes the loss by about 2e-3 (far above float32 rounding of the loss), and
            // Richardson extrapolation over h and h/2 to cancel the h^2 term of the central difference.
            const double h = 2e-3 / fmax(gnorm, 1.0);
            double fd = (4.0 * central_difference(m, p, w0, v, h / 2, x, labels, n) -
                         central_difference(m, p, w0, v, h, x, labels, n)) / 3.0;
            double an = dot(g, v, cnt);
            // Relative to the gradient's norm: the largest directional derivative of this tensor.
            double e = fabs(fd - an) / gnorm;
            worst = fmax(worst, e);
            cr_log_info("%-9s %-30s %s: analytic %+.6f finite difference %+.6f (|g| %.4f) rel err %.2e", arch, p->name,
                        dir ? "mixed   " : "gradient", an, fd, gnorm, e);
            cr_expect_leq(e, tol, "%s %s: directional derivative %g vs finite difference %g", arch, p->name, an, fd);
        }
        free(w0);
        free(g);
        free(v);
    }
    cr_log_info("%s: loss %.5f, worst finite-difference error %.2e", arch, loss, worst);
    free(x);
    sf_model_free(m);
}

Test(nn_gradcheck, simple) {
    const char *names[] = {"conv1.0.weight", "conv3.0.bias", "conv5.0.weight", "fc1.0.weight", "fc1.1.weight", "out.weight"};
    // Without BatchNorm, stacked ReLU + max-pool put many activations within h of a kink; a bias shifts
    // a whole channel at once, so its finite difference is the least smooth.
    gradcheck("simple", 94, names, 6, 5e-2);
}

Test(nn_gradcheck, best) {
    const char *names[] = {"conv1.0.weight", "conv2.1.bias", "conv3.0.weight", "conv6.0.weight", "fc2.0.weight", "fc4.0.bias"};
    gradcheck("best", 96, names, 6, 1e-2);
}

Test(nn_gradcheck, resnet18) {
    const char *names[] = {"conv1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "layer4.0.bn1.bias"};
    gradcheck("resnet18", 32, names, 4, 1e-2);
}

Test(nn_gradcheck, resnet50) {
    // 64 px: at 32 px layer4's BatchNorms see one pixel per image, too few values to be smooth.
    const char *names[] = {"layer1.0.downsample.0.weight"};
    gradcheck("resnet50", 64, names, 1, 2e-2);
}
