// softmax_xent.h: softmax cross-entropy with integer labels, mean over the batch (F.cross_entropy).
#ifndef SF_SOFTMAX_XENT_H
#define SF_SOFTMAX_XENT_H

#include <stdint.h>

// Returns the mean loss over the n rows of logits (N,K). dlogits (N,K) [may be NULL] gets
// d(mean loss)/d(logits) = (softmax - onehot) / n. probs (N,K) [may be NULL] gets the softmax.
// Labels outside [0, K) are a programming error (checked).
float sf_softmax_xent(float *dlogits, float *probs, const float *logits, const int64_t *labels, int n, int k);

#endif
