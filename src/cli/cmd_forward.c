// cmd_forward.c: `springfield forward`: one batch through a model, tensors in and out as safetensors,
// so that scripts can compare the engine with PyTorch on any weights and inputs.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/check_inputs.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "util/util.h"

static const sf_opt_spec spec[] = {
    {"model", SF_OPT_CHOICE, "simple", "simple|best|resnet18|resnet50", 0, 0, "architecture"},
    {"weights", SF_OPT_STR, NULL, NULL, 0, 0, "weights (safetensors, PyTorch names)"},
    {"input", SF_OPT_STR, NULL, NULL, 0, 0, "safetensors file with `input`, float32 (N,3,H,W)"},
    {"output", SF_OPT_STR, NULL, NULL, 0, 0, "safetensors file to write `logits` (N,K) to"},
    {"train", SF_OPT_FLAG, "off", NULL, 0, 0, "train mode: BatchNorm uses batch statistics"},
    {"classes", SF_OPT_INT, "0", NULL, 0, 100000, "outputs; 0: from the weights' metadata, else 42"},
    {"deterministic", SF_OPT_FLAG, "off", NULL, 0, 0, "fixed-order reductions"},
};
#define N_SPEC (int)(sizeof spec / sizeof spec[0])

int sf_cmd_forward(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, N_SPEC, argc, argv,
                         "springfield forward --model M --weights W.safetensors --input X.safetensors --output Y.safetensors");
    if (rc >= 0) return rc;
    const char *wpath = sf_opt_str(&o, "weights"), *xpath = sf_opt_str(&o, "input"), *ypath = sf_opt_str(&o, "output");
    if (!wpath || !xpath || !ypath) {
        fprintf(stderr, "springfield forward: --weights, --input and --output are required\n");
        return 2;
    }
    char err[1024];
    sf_st_file *xf = sf_st_open(xpath, err, sizeof err);
    if (!xf) {
        fprintf(stderr, "springfield forward: %s\n", err);
        return 1;
    }
    const sf_st_tensor *x = sf_check_input_tensor(xf, "input", err, sizeof err);
    sf_model *m = x ? sf_check_model_for(sf_opt_str(&o, "model"), wpath, (int)sf_opt_int(&o, "classes"), x, sf_opt_flag(&o, "deterministic"), err,
                                sizeof err)
                    : NULL;
    if (!m) {
        fprintf(stderr, "springfield forward: %s\n", err);
        sf_st_close(xf);
        return 1;
    }
    int n = (int)x->shape[0], k = sf_model_config_of(m)->n_classes;
    const float *logits = sf_model_forward(m, x->data, n, sf_opt_flag(&o, "train"));
    sf_st_writer *w = sf_st_writer_new();
    const int64_t shape[2] = {n, k};
    sf_st_writer_add(w, "logits", SF_DT_F32, 2, shape, logits);
    rc = sf_st_write(w, ypath, err, sizeof err);
    sf_st_writer_free(w);
    if (rc) fprintf(stderr, "springfield forward: %s\n", err);
    sf_model_free(m);
    sf_st_close(xf);
    return rc ? 1 : 0;
}
