// softmax_xent.h: softmax cross-entropy with integer labels, mean over the batch (F.cross_entropy).
#ifndef SF_SOFTMAX_XENT_H
#define SF_SOFTMAX_XENT_H

#include <stdint.h>

// Returns the mean loss over the n rows of logits (N,K) against targets smoothed as F.cross_entropy's
// label_smoothing = eps: (1 - eps) on the label plus eps / K on every class (eps = 0: plain one-hot).
// dlogits (N,K) [may be NULL] gets d(mean loss)/d(logits) = (softmax - target) / n. probs (N,K) [may be
// NULL] gets the softmax. Labels outside [0, K), and eps outside [0, 1], are programming errors (checked).
float sf_softmax_xent(float *dlogits, float *probs, const float *logits, const int64_t *labels, int n, int k,
                      float eps);

#endif
