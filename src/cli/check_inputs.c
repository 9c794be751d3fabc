// check_inputs.c: input batch and model loading for the PyTorch-comparison commands (see check_inputs.h).
#include "cli/check_inputs.h"

#include <stdio.h>

const sf_st_tensor *sf_check_input_tensor(const sf_st_file *f, const char *name, char *err, size_t errlen) {
    const sf_st_tensor *x = sf_st_get(f, name);
    if (!x) {
        snprintf(err, errlen, "no tensor '%s' in the input file", name);
        return NULL;
    }
    if (x->dtype != SF_DT_F32 || x->ndim != 4 || x->shape[1] != 3 || x->shape[0] < 1) {
        snprintf(err, errlen, "'%s' must be float32 (N,3,H,W), got %s with %d dimensions", name, sf_dtype_name(x->dtype),
                 x->ndim);
        return NULL;
    }
    return x;
}

sf_model *sf_check_model_for(const char *arch, const char *path, int n_classes, const sf_st_tensor *x,
                             bool deterministic, char *err, size_t errlen) {
    sf_weights_info info = {.n_classes = 42};
    if (sf_model_weights_info(&info, path, err, errlen)) return NULL;
    sf_model_config cfg = {.arch = arch, .n_classes = n_classes > 0 ? n_classes : info.n_classes,
                           .in_h = (int)x->shape[2], .in_w = (int)x->shape[3], .max_batch = (int)x->shape[0],
                           .deterministic = deterministic};
    sf_model *m = sf_model_create(&cfg, err, errlen);
    if (m && sf_model_load(m, path, NULL, err, errlen)) {
        sf_model_free(m);
        m = NULL;
    }
    return m;
}
