// classify.h: class probabilities of a batch for evaluate and predict, optionally with flip test-time
// augmentation (the mean of the model's softmax on each image and on its mirror image).
#ifndef SF_CLASSIFY_H
#define SF_CLASSIFY_H

#include "nn/model.h"

// probs (N,K) gets softmax(model(x)) per image; with flip, the mean of that and softmax(model(x
// mirrored left-right)). x (N,3,H,W) is mirrored in place for the second pass and restored before
// returning; K, H and W are the model's (sf_model_config_of). Eval-mode forward (batch norm uses its
// running statistics), so each image's result does not depend on the others in the batch.
void sf_classify(float *probs, sf_model *m, float *x, int n, int flip);

// An ensemble: probs (N,K) = the mean over n_models models of sf_classify(model j, xs[j]), where xs[j]
// (N,3,Hj,Wj) is the batch at model j's input size (mirrored and restored in place with flip). The
// models must have the same K.
void sf_classify_mean(float *probs, sf_model *const *models, float *const *xs, int n_models, int n, int flip);

// Mirrors each row of x (N,C,H,W) left-right in place. On an evaluation tensor this gives exactly what
// sf_eval_transform(flip = 1) writes (it mirrors its resized output), without decoding the image again.
void sf_mirror_rows(float *x, int n, int c, int h, int w);

#endif
