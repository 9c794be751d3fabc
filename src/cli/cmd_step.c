// cmd_step.c: `springfield step`: K AdamW(amsgrad) training steps on one batch, for checking the
// whole training step (loss, every gradient, the update, BatchNorm statistics) against PyTorch.
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/check_inputs.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "nn/adamw.h"
#include "nn/model.h"
#include "nn/safetensors.h"
#include "util/util.h"

static const sf_opt_spec spec[] = {
    {"model", SF_OPT_CHOICE, "simple", "simple|best|resnet18|resnet50", 0, 0, "architecture"},
    {"weights", SF_OPT_STR, NULL, NULL, 0, 0, "initial weights (safetensors, PyTorch names)"},
    {"input", SF_OPT_STR, NULL, NULL, 0, 0, "safetensors file with `input`, float32 (N,3,H,W)"},
    {"labels", SF_OPT_STR, NULL, NULL, 0, 0, "safetensors file with `labels`, int64 (N)"},
    {"steps", SF_OPT_INT, "1", NULL, 1, 100000, "training steps on the batch"},
    {"output", SF_OPT_STR, NULL, NULL, 0, 0, "writes `loss` (K), `grad.<name>` of step 1, final weights and buffers"},
    {"classes", SF_OPT_INT, "0", NULL, 0, 100000, "outputs; 0: from the weights"},
    {"lr", SF_OPT_FLOAT, "1e-3", NULL, 0, 0, "AdamW learning rate"},
    {"amsgrad", SF_OPT_FLAG, "on", NULL, 0, 0, "AdamW amsgrad"},
    {"freeze", SF_OPT_STR, NULL, NULL, 0, 0, "parameters matching this glob/prefix are not updated"},
    {"deterministic", SF_OPT_FLAG, "off", NULL, 0, 0, "fixed-order reductions"},
};
#define N_SPEC (int)(sizeof spec / sizeof spec[0])

int sf_cmd_step(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, N_SPEC, argc, argv,
                         "springfield step --model M --weights W --input X --labels L --steps K --output O");
    if (rc >= 0) return rc;
    const char *wpath = sf_opt_str(&o, "weights"), *xpath = sf_opt_str(&o, "input");
    const char *lpath = sf_opt_str(&o, "labels"), *opath = sf_opt_str(&o, "output");
    if (!wpath || !xpath || !lpath || !opath) {
        fprintf(stderr, "springfield step: --weights, --input, --labels and --output are required\n");
        return 2;
    }
    char err[1024];
    sf_st_file *xf = sf_st_open(xpath, err, sizeof err);
    sf_st_file *lf = xf ? sf_st_open(lpath, err, sizeof err) : NULL;
    const sf_st_tensor *x = lf ? sf_check_input_tensor(xf, "input", err, sizeof err) : NULL;
    const sf_st_tensor *lab = x ? sf_st_get(lf, "labels") : NULL;
    if (x && (!lab || lab->dtype != SF_DT_I64 || lab->ndim != 1 || lab->shape[0] != x->shape[0])) {
        snprintf(err, sizeof err, "%s: `labels` must be int64 (N) with N = %ld", lpath, (long)x->shape[0]);
        lab = NULL;
    }
    sf_model *m = lab ? sf_check_model_for(sf_opt_str(&o, "model"), wpath, (int)sf_opt_int(&o, "classes"), x, sf_opt_flag(&o, "deterministic"),
                                  err, sizeof err)
                      : NULL;
    if (!m) {
        fprintf(stderr, "springfield step: %s\n", err);
        if (lf) sf_st_close(lf);
        if (xf) sf_st_close(xf);
        return 1;
    }
    int n = (int)x->shape[0], k = sf_model_config_of(m)->n_classes;
    const int64_t *labels = lab->data;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k) {
            fprintf(stderr, "springfield step: label %ld of image %d outside [0, %d)\n", (long)labels[i], i, k);
            sf_model_free(m);
            sf_st_close(lf);
            sf_st_close(xf);
            return 1;
        }
    }
    if (sf_opt_str(&o, "freeze")) sf_model_freeze(m, sf_opt_str(&o, "freeze"));
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    oc.lr = sf_opt_float(&o, "lr");
    oc.amsgrad = sf_opt_flag(&o, "amsgrad");
    sf_optimizer *opt = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
    int steps = (int)sf_opt_int(&o, "steps");
    float *loss = sf_malloc((size_t)steps * sizeof(float));
    size_t gcount;
    float *garena = sf_model_grad_arena(m, &gcount);
    float *grad0 = sf_malloc(gcount * sizeof(float));
    for (int s = 0; s < steps; s++) {
        sf_model_forward(m, x->data, n, true);
        loss[s] = sf_model_loss_backward(m, labels, NULL);
        if (s == 0) memcpy(grad0, garena, gcount * sizeof(float));
        sf_opt_step(opt);
        fprintf(stderr, "step %d loss %.6f\n", s + 1, loss[s]);
    }
    sf_st_writer *w = sf_st_writer_new();
    const int64_t lshape[1] = {steps};
    sf_st_writer_add(w, "loss", SF_DT_F32, 1, lshape, loss);
    char(*names)[80] = sf_malloc((size_t)sf_model_n_params(m) * sizeof *names);
    for (int i = 0; i < sf_model_n_params(m); i++) {
        sf_param *p = sf_model_param(m, i);
        snprintf(names[i], sizeof names[i], "grad.%s", p->name);
        sf_st_writer_add(w, names[i], SF_DT_F32, p->ndim, p->shape, grad0 + (p->grad - garena));
        sf_st_writer_add(w, p->name, p->dtype, p->ndim, p->shape, p->data);
    }
    for (int i = 0; i < sf_model_n_buffers(m); i++) {
        sf_param *b = sf_model_buffer(m, i);
        sf_st_writer_add(w, b->name, b->dtype, b->ndim, b->shape, b->data);
    }
    rc = sf_st_write(w, opath, err, sizeof err);
    if (rc) fprintf(stderr, "springfield step: %s\n", err);
    sf_st_writer_free(w);
    free(names);
    free(grad0);
    free(loss);
    sf_opt_free(opt);
    sf_model_free(m);
    sf_st_close(lf);
    sf_st_close(xf);
    return rc ? 1 : 0;
}
