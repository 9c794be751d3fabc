// check_inputs.h: what `springfield forward` and `springfield step` share: an input batch read from a
// safetensors file, and a model built for that batch with weights loaded strictly (PyTorch names).
#ifndef SF_CHECK_INPUTS_H
#define SF_CHECK_INPUTS_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/model.h"
#include "nn/safetensors.h"

// The float32 (N,3,H,W) tensor `name` of f, or NULL with the reason in err.
const sf_st_tensor *sf_check_input_tensor(const sf_st_file *f, const char *name, char *err, size_t errlen);

// A model for x's batch and size (x: (N,3,H,W)) with the weights of `path` loaded strictly, or NULL with the
// reason in err. n_classes 0: from the weights' metadata (42 when they carry none).
sf_model *sf_check_model_for(const char *arch, const char *path, int n_classes, const sf_st_tensor *x,
                             bool deterministic, char *err, size_t errlen);

#endif
