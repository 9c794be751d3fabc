// model.h: a trainable network (a graph of layers) by name, with PyTorch's parameter names.
//
// Architectures (n_classes outputs; defaults 42):
//   "simple"   the seed's SimpleCnn: 5 x (Conv3x3 + ReLU + MaxPool2), Linear+BN1d+ReLU, Linear
//   "best"     the seed's Cnn: 6 convs (BN+ReLU from conv2), bilinear resize to 4x4, 3 x (Linear+BN1d+ReLU), Linear
//   "resnet18", "resnet50"  torchvision's architectures and state_dict names
//
// Lifetime and ownership: sf_model_create allocates everything once (parameters, gradients, buffers,
// activations and their gradients, packed conv weights, per-layer scratch) sized for
// (max_batch, in_h, in_w). Forward/backward never allocate, except that a forward with a batch size
// different from the previous call re-plans the convolutions (e.g. the short last batch of an epoch).
// Every pointer the API returns (sf_param.data/grad, logits) points into the model and stays valid
// until sf_model_free. A model is not thread-safe: one forward/backward at a time; the kernels inside
// use sf_threads() OpenMP threads.
//
// Conv weights stay in PyTorch's OIHW layout in sf_param.data (what optimizers and checkpoints see);
// the model packs them into the kernels' layout itself: on every train-mode forward, and on an
// eval-mode forward after the weights changed (a train forward, sf_model_load, or
// sf_model_weights_changed). Code that writes sf_param.data directly and then runs eval-mode
// forwards must call sf_model_weights_changed.
#ifndef SF_MODEL_H
#define SF_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nn/graph.h"
#include "nn/param.h"

typedef struct {
    const char *arch;     // "simple" | "best" | "resnet18" | "resnet50"
    int n_classes;        // outputs (logits per image); <= 0 means 42
    int in_h, in_w;       // input image size (the model's spatial shapes are planned for it)
    int max_batch;        // largest batch forward will be called with
    bool deterministic;   // passed to the conv plans (fixed-order reductions: bit-reproducible runs)
    uint64_t seed;        // initialisation (PyTorch's default init schemes, drawn from sf_rng)
    float label_smoothing;  // the training loss's (sf_model_loss_backward), as F.cross_entropy's; 0: none
    bool bf16;            // every convolution in bf16 (all directions) where the CPU has AVX512_BF16
} sf_model_config;

typedef struct sf_model sf_model;

// Returns NULL with the reason in err (unknown arch, input too small for the architecture, ...).
sf_model *sf_model_create(const sf_model_config *cfg, char *err, size_t errlen);
void sf_model_free(sf_model *m);
const sf_model_config *sf_model_config_of(const sf_model *m);

// Re-initialise every parameter and buffer as PyTorch would (for the architecture) from `seed`.
void sf_model_init(sf_model *m, uint64_t seed);

// logits (N,K) = model(x), x (N,3,in_h,in_w) plain NCHW float, 1 <= n <= max_batch. x is copied.
// train: BatchNorm uses batch statistics and updates its running stats, and activations are kept
// for sf_model_backward. The returned pointer is owned by the model, valid until the next forward.
const float *sf_model_forward(sf_model *m, const float *x, int n, bool train);

// After a train-mode forward: every parameter gradient (sf_param.grad) := d loss / d param, given
// dlogits (N,K) = d loss / d logits. Gradients are overwritten, not accumulated.
void sf_model_backward(sf_model *m, const float *dlogits);
// Fused: mean softmax cross-entropy of the last train-mode forward's logits against labels (N) in
// [0,K) (smoothed by the config's label_smoothing), then the backward pass. Returns the loss. probs (N,K) [may be NULL] gets the softmax.
float sf_model_loss_backward(sf_model *m, const int64_t *labels, float *probs);

// Parameters (trainable, with grad) and buffers (running_mean, running_var, num_batches_tracked), in
// PyTorch's state_dict order within each list.
int sf_model_n_params(const sf_model *m);
sf_param *sf_model_param(sf_model *m, int i);
int sf_model_n_buffers(const sf_model *m);
sf_param *sf_model_buffer(sf_model *m, int i);
// Name lookup over both lists; NULL when absent.
sf_param *sf_model_find(sf_model *m, const char *name);
size_t sf_model_param_count(const sf_model *m);  // total trainable elements

// All parameter gradients as one contiguous float array (in parameter order, each sf_param.grad
// points into it): the unit a gradient reduction across replicas (sf_reducer) works on.
float *sf_model_grad_arena(sf_model *m, size_t *count);

// Mark parameters whose name matches `pattern` frozen (no optimizer update). The pattern is a glob
// with '*' and '?' (e.g. "layer1*", "*.bn1.*"); several patterns may be separated by ','.
// Returns the number of parameters newly frozen; sf_model_unfreeze_all clears every flag.
int sf_model_freeze(sf_model *m, const char *pattern);
void sf_model_unfreeze_all(sf_model *m);

// Call after writing sf_param.data directly (see the header comment).
void sf_model_weights_changed(sf_model *m);
// dst's parameters and buffers set to src's: the same architecture and classes, possibly another input
// size (a ResNet's weights do not depend on it; `simple` and `best` flatten into their classifier, so
// theirs do). Returns 0, or -1 with err (may be NULL) naming the first tensor that differs; dst is then
// unchanged.
int sf_model_copy_weights(sf_model *dst, sf_model *src, char *err, size_t errlen);

// Save every parameter and buffer under its PyTorch name (F32; num_batches_tracked I64) as
// safetensors, so that the seed's model.load_state_dict(safetensors.torch.load_file(path)) accepts it.
// meta: NULL or a NULL-terminated list of key, value, key, value, ... strings stored as metadata
// (the model's arch, n_classes, in_h, in_w are always stored). Returns 0, or -1 with err.
int sf_model_save(const sf_model *m, const char *path, const char *const *meta, char *err, size_t errlen);
// Load weights and buffers by name. Strict: every tensor must be present with the right shape and
// dtype (F32; I64 or F32 for num_batches_tracked) and no unexpected tensor may be present (names in
// `allow_prefix`-matching tensors, e.g. "adam.", are ignored; may be NULL). On error nothing is
// changed and err lists the missing / unexpected / mismatched names. Returns 0 or -1.
int sf_model_load(sf_model *m, const char *path, const char *allow_prefix, char *err, size_t errlen);

// What a weights file says about its model, for commands that get only the file: metadata "arch",
// "n_classes", "in_h", "in_w" where present (sf_model_save writes them); n_classes falls back to the
// length of the classifier's bias (out.bias, fc4.0.bias or fc.bias). Fields not found are left as
// they are, so callers preset defaults. Returns 0, or -1 with err when the file cannot be read.
typedef struct {
    char arch[16];
    int n_classes, in_h, in_w;
} sf_weights_info;
int sf_model_weights_info(sf_weights_info *info, const char *path, char *err, size_t errlen);

// The per-layer table printed when a model loads: name, output shape, parameters, forward MFLOP per image.
void sf_model_print_table(const sf_model *m, FILE *f);
// Forward FLOPs per image (multiply-add = 2), for benchmarks (backward is about twice this).
double sf_model_flops_per_image(const sf_model *m);
// The model's layer graph (nn/graph.h), for tools that look inside it (bench train --layers).
sf_graph *sf_model_graph(sf_model *m);

#endif
