// activation.h: ReLU forward and backward on flat arrays (any layout; padding zeros stay zero).
#ifndef SF_ACTIVATION_H
#define SF_ACTIVATION_H

#include <stddef.h>

void sf_relu_forward(float *y, const float *x, size_t count);               // y may alias x
void sf_relu_backward(float *dx, const float *dy, const float *y, size_t count);  // dx may alias dy

#endif
