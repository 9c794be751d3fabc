// softmax_xent.c: softmax cross-entropy with integer labels and optional label smoothing, mean over the
// batch, as F.cross_entropy.
// Each row is shifted by its maximum before exponentiating (log-sum-exp), so no logit overflows exp()
// and the loss of a confidently right row is computed without cancellation.
#include "kernels/softmax_xent.h"

#include <math.h>

#include "util/util.h"

// logits (N,K), labels (N); dlogits, probs (N,K) each may be NULL.
float sf_softmax_xent(float *dlogits, float *probs, const float *logits, const int64_t *labels, int n, int k,
                      float eps) {
    if (n < 1 || k < 1) sf_die("bad softmax cross-entropy shape n=%d k=%d", n, k);
    if (!(eps >= 0.0f && eps <= 1.0f)) sf_die("label smoothing %g outside [0, 1]", (double)eps);
    const double on = 1.0 - eps, off = (double)eps / k;  // target: on at the label, plus off everywhere
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * k;
        int64_t t = labels[i];
        if (t < 0 || t >= k) sf_die("label %lld of row %d outside [0, %d)", (long long)t, i, k);
        float zmax = z[0];
        for (int j = 1; j < k; j++) zmax = z[j] > zmax ? z[j] : zmax;
        double sum = 0.0;
        for (int j = 0; j < k; j++) sum += exp((double)(z[j] - zmax));
        double lse = log(sum);
        // -log p_j = log(sum_j e^z_j) - z_j = lse - (z_j - zmax); loss_i = sum_j target_j * -log p_j
        double mean_nlp = 0.0;
        if (eps > 0.0f) {
            for (int j = 0; j < k; j++) mean_nlp += lse - (double)(z[j] - zmax);
            mean_nlp /= k;
        }
        total += on * (lse - (double)(z[t] - zmax)) + (double)eps * mean_nlp;
        for (int j = 0; j < k; j++) {
            double p = exp((double)(z[j] - zmax) - lse);
            if (probs) probs[(size_t)i * k + j] = (float)p;
            if (dlogits) dlogits[(size_t)i * k + j] = (float)((p - off - (j == t ? on : 0.0)) / n);
        }
    }
    return (float)(total / n);
}
