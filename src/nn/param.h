// param.h: one named tensor of a model, as PyTorch's state_dict names it. Parameters (trainable,
// with a gradient) and buffers (BatchNorm running statistics and num_batches_tracked) share this
// descriptor so that checkpoints, optimizers and gradient reduction walk one list.
#ifndef SF_PARAM_H
#define SF_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/safetensors.h"

typedef struct {
    char name[64];       // PyTorch name, e.g. "layer1.0.conv1.weight", "fc1.1.running_var"
    sf_dtype dtype;      // SF_DT_F32, or SF_DT_I64 for num_batches_tracked
    int ndim;
    int64_t shape[4];    // PyTorch shape: conv weights (Co,Ci,KH,KW) = OIHW, linear (O,I), vectors (C)
    size_t count;        // number of elements
    void *data;          // float* (or int64_t*); points into the model's parameter/buffer arena
    float *grad;         // (same shape as data) into the gradient arena; NULL for buffers
    bool frozen;         // set by sf_model_freeze: optimizers leave it untouched
} sf_param;

#endif
