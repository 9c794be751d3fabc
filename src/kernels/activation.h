// activation.h: ReLU forward and backward on flat arrays (any layout; padding zeros stay zero).
#ifndef SF_ACTIVATION_H
#define SF_ACTIVATION_H

#include <stddef.h>
#include <stdint.h>

void sf_relu_forward(float *y, const float *x, size_t count);               // y may alias x
void sf_relu_backward(float *dx, const float *dy, const float *y, size_t count);  // dx may alias dy

// The same pair with the sign kept as a bitmask, so that backward no longer needs y: bit j of mask[i]
// is y[8i+j] > 0. mask holds sf_relu_mask_bytes(count) bytes. Training frees y's storage once its
// forward readers are done (graph.c) and keeps 1 bit per element instead of 32.
size_t sf_relu_mask_bytes(size_t count);
void sf_relu_forward_mask(float *y, uint8_t *mask, const float *x, size_t count);  // y may alias x
void sf_relu_backward_mask(float *dx, const float *dy, const uint8_t *mask, size_t count);  // dx may alias dy

#endif
