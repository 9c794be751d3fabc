// classify.c: softmax of the eval-mode logits, averaged over the image and its mirror (flip TTA), and
// over several models (an ensemble).
#include "nn/classify.h"

#include <math.h>
#include <stddef.h>

void sf_mirror_rows(float *x, int n, int c, int h, int w) {
    size_t rows = (size_t)n * c * h;
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        float *p = x + r * (size_t)w;
        for (int i = 0, j = w - 1; i < j; i++, j--) {
            float t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
    }
}

// probs (N,K) += scale * softmax(logits (N,K)), in double for the normaliser.
static void add_softmax(float *probs, const float *logits, int n, int k, float scale) {
    for (int i = 0; i < n; i++) {
        const float *l = logits + (size_t)i * k;
        float *p = probs + (size_t)i * k;
        float mx = l[0];
        for (int c = 1; c < k; c++) mx = l[c] > mx ? l[c] : mx;
        double z = 0;
        for (int c = 0; c < k; c++) z += exp((double)l[c] - mx);
        for (int c = 0; c < k; c++) p[c] += scale * (float)(exp((double)l[c] - mx) / z);
    }
}

// probs (N,K) += scale * the softmax of model m on x, or with flip the mean of it on x and on x mirrored.
static void classify_add(float *probs, sf_model *m, float *x, int n, int flip, float scale) {
    const sf_model_config *c = sf_model_config_of(m);
    const int k = c->n_classes, h = c->in_h, w = c->in_w;
    if (flip) scale *= 0.5f;
    add_softmax(probs, sf_model_forward(m, x, n, false), n, k, scale);  // logits (N,K)
    if (!flip) return;
    sf_mirror_rows(x, n, 3, h, w);
    add_softmax(probs, sf_model_forward(m, x, n, false), n, k, scale);
    sf_mirror_rows(x, n, 3, h, w);
}

void sf_classify(float *probs, sf_model *m, float *x, int n, int flip) {
    const int k = sf_model_config_of(m)->n_classes;
    for (size_t i = 0; i < (size_t)n * k; i++) probs[i] = 0;
    classify_add(probs, m, x, n, flip, 1.0f);
}

void sf_classify_mean(float *probs, sf_model *const *models, float *const *xs, int n_models, int n, int flip) {
    const int k = sf_model_config_of(models[0])->n_classes;
    for (size_t i = 0; i < (size_t)n * k; i++) probs[i] = 0;
    for (int j = 0; j < n_models; j++) classify_add(probs, models[j], xs[j], n, flip, 1.0f / (float)n_models);
}
