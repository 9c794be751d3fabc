// models.h: the architecture builders behind sf_model_create (internal). Each adds its layers to a
// graph whose tensor 0 is the (3, H, W) input and returns the logits tensor, which is the graph's last.
#ifndef SF_MODELS_H
#define SF_MODELS_H

#include "nn/graph.h"

int sf_build_simple(sf_graph *g, int n_classes);
int sf_build_best(sf_graph *g, int n_classes);
int sf_build_resnet(sf_graph *g, int depth, int n_classes);  // depth 18 or 50

#endif
