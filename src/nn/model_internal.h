// model_internal.h: the model struct, shared by model.c and model_io.c (not public).
#ifndef SF_MODEL_INTERNAL_H
#define SF_MODEL_INTERNAL_H

#include "nn/graph.h"
#include "nn/model.h"

struct sf_model {
    sf_model_config cfg;  // cfg.arch points at arch below
    char arch[16];
    sf_graph g;
};

#endif
