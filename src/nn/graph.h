// graph.h: the engine's internal network representation (not part of the public API; see model.h).
//
// A graph is a list of layers executed in order (forward) and in reverse (backward), connected by
// activation tensors. Tensors are blocked nChw{vb}c (layout.h) between convolutional layers and plain
// (N, C) / (N, C*H*W) from the flatten or global pooling onwards; the input is plain NCHW. vb is the
// graph's (sf_vb()) except after a first layer of at most 8 channels on AVX-512 (sf_vb_first): those
// tensors use 8 until the next convolution, which a REBLOCK layer feeds in the graph's vb.
// Building happens in two phases: builder calls (models.c, resnet.c) record layers, tensors and named
// parameters with their sizes; sf_graph_finalize then allocates every arena once and points into it.
//
// A tensor read by two layers (a ResNet block input) receives two gradient contributions: the first
// writer stores into the tensor's gradient, a later one writes into a scratch buffer that is added in.
#ifndef SF_GRAPH_H
#define SF_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/conv2d.h"
#include "kernels/pool.h"
#include "nn/param.h"

typedef enum {
    SF_L_CONV,
    SF_L_BN,       // BatchNorm2d on blocked tensors, BatchNorm1d on plain (N, C); optional fused ReLU
    SF_L_RELU,
    SF_L_MAXPOOL,
    SF_L_AVGPOOL,
    SF_L_RESIZE,   // bilinear, align_corners=False
    SF_L_FLATTEN,  // blocked (N,C,H,W) -> plain (N, C*H*W) in PyTorch's C,H,W order
    SF_L_LINEAR,
    SF_L_ADD,      // residual add; optional fused ReLU
    SF_L_GAP,      // global average pool: blocked (N,C,H,W) -> plain (N,C)
    SF_L_REBLOCK,  // blocked (N,C,H,W) from one channel block to another (a narrow first layer's output)
} sf_layer_kind;

typedef struct {
    int c, h, w;      // per-image logical shape; plain tensors of rank 2 have h = w = 1
    bool blocked;     // nChw{vb}c, else plain
    int vb;           // channel block when blocked: the graph's, or 8 for a narrow first layer's output
    size_t floats;    // allocated floats for max_batch images (blocked: padding included)
    float *data;      // (max_batch, ...) in the activation arena
    float *grad;      // same shape, in the activation-gradient arena
    int consumers;    // layers reading this tensor
    bool grad_set;    // backward bookkeeping: already holds one gradient contribution
} sf_tensor;

typedef struct {
    sf_layer_kind kind;
    char name[64];        // module name for the table, e.g. "layer1.0.conv1"
    int in, in2, out;     // tensor ids (in2: second operand of ADD, else -1)
    int p_w, p_b;         // parameter ids (weight/gamma, bias/beta), -1 when absent
    int b_mean, b_var, b_nbt;  // buffer ids of BatchNorm, -1 otherwise
    bool relu;            // BN / ADD / MAXPOOL: fused ReLU on the output
    bool first;           // conv reading the plain input: no backward-data
    // conv
    int co, k, stride, pad;
    sf_conv2d_plan *plan; // planned for plan_n images
    int plan_n;
    float *wpacked;       // the plan's packed weights (bf16 plans: uint16_t bf16 values)
    bool bf16;            // runs on a bf16 plan (sf_graph.bf16, where the CPU has the kernels)
    // pooling
    int pk, pstride, ppad;
    int32_t *argmax;      // maxpool: (max_batch, C, OH, OW) blocked
    uint8_t *relu_mask;   // ReLU: bit per output element, y > 0, written by a train-mode forward
    // batchnorm: per-batch statistics saved for backward, (C)
    float *save_mean, *save_invstd;
    double flops;         // forward FLOPs per image
} sf_layer;

typedef enum { SF_INIT_ZERO, SF_INIT_ONE, SF_INIT_UNIFORM_FAN_IN, SF_INIT_KAIMING_A5, SF_INIT_NORMAL_FAN_OUT } sf_init_kind;

typedef struct {
    sf_init_kind kind;
    int fan;  // fan_in (uniform, kaiming a=sqrt(5)) or fan_out (normal)
} sf_init_spec;

typedef struct {
    int vb;              // channel block of the blocked layout (sf_vb() at creation); a tensor's own vb may be narrower
    int max_batch;
    bool deterministic;
    // Convolutions run in bf16 where the CPU has AVX512_BF16 (sf_conv2d_bf16_ok; a first layer unless its
    // input has a gradient); their input and dy are converted into bf16_buf (room for both, as image pairs;
    // a first layer's input as channel pairs), one layer at a time.
    bool bf16;
    uint16_t *bf16_buf;
    int n_layers, cap_layers;
    sf_layer *layers;
    int n_tensors, cap_tensors;
    sf_tensor *tensors;
    int n_params, cap_params;
    sf_param *params;
    sf_init_spec *param_init;
    int n_buffers, cap_buffers;
    sf_param *buffers;
    sf_init_spec *buffer_init;
    // arenas (sf_graph_finalize)
    float *param_arena, *grad_arena;
    size_t param_floats;
    unsigned char *buffer_arena;
    float *act_arena, *scratch;     // activations and their gradients (shared over time), scratch
    size_t act_floats, scratch_floats;
    float *aux_arena;    // BN saved statistics
    int32_t *argmax_arena;
    uint8_t *mask_arena;  // ReLU sign bitmasks
    size_t mask_bytes;
    float *dlogits;      // (max_batch, K)
    bool weights_dirty;  // packed conv weights are stale
    int last_n;          // batch of the last forward
    // When set (bench train --layers): seconds spent in each layer, added up by every forward
    // ([i]) and backward ([n_layers + i]); the caller owns it.
    double *layer_s;
    bool have_train_forward;  // activations of a train-mode forward are in place for backward
    int first_trainable; // lowest layer index with a non-frozen parameter (backward stops there)
    char err[192];       // first building error (input too small, ...); empty when the graph is valid
} sf_graph;

// ---- building (sizes only; no data yet)
void sf_graph_init(sf_graph *g, int vb, int max_batch, bool deterministic);
void sf_graph_release(sf_graph *g);
// Records the first building error; the builders then continue with 1x1 shapes.
void sf_graph_error(sf_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sf_graph_input(sf_graph *g, int c, int h, int w);  // plain NCHW input tensor, id 0
int sf_graph_tensor(sf_graph *g, int c, int h, int w, bool blocked);  // blocked: in the graph's vb
int sf_graph_tensor_vb(sf_graph *g, int c, int h, int w, int vb);    // blocked in channel block vb
int sf_graph_tensor_like(sf_graph *g, int t);                         // tensor t's shape and layout
int sf_graph_param(sf_graph *g, const char *prefix, const char *name, int ndim, const int64_t *shape, sf_init_spec init);
int sf_graph_buffer(sf_graph *g, const char *prefix, const char *name, sf_dtype dt, int64_t count, sf_init_spec init);
sf_layer *sf_graph_layer(sf_graph *g, sf_layer_kind kind, const char *name, int in, int out);

// Layer builders: each returns its output tensor id. `name` is the PyTorch module path of the
// parameters ("conv1.0", "layer1.0.bn1"); resnet-style convolutions have no bias.
int sf_nn_conv(sf_graph *g, const char *name, int in, int co, int k, int stride, int pad, bool bias, bool torchvision_init);
int sf_nn_bn(sf_graph *g, const char *name, int in, bool relu);
int sf_nn_relu(sf_graph *g, const char *name, int in);
// relu: a ReLU fused on the pooled output, equal to pooling a ReLU's output (kernels/pool.h).
int sf_nn_maxpool(sf_graph *g, const char *name, int in, int k, int stride, int pad, bool relu);
int sf_nn_avgpool(sf_graph *g, const char *name, int in, int k, int stride, int pad);
int sf_nn_resize(sf_graph *g, const char *name, int in, int oh, int ow);
int sf_nn_flatten(sf_graph *g, const char *name, int in);
// The same map in channel block vb (sf_nn_conv inserts it where its input's block is not the graph's).
int sf_nn_reblock(sf_graph *g, const char *name, int in, int vb);
int sf_nn_linear(sf_graph *g, const char *name, int in, int out_features);
int sf_nn_add(sf_graph *g, const char *name, int a, int b, bool relu);
int sf_nn_gap(sf_graph *g, const char *name, int in);

// Allocates every arena and points parameters, buffers and tensors into them.
void sf_graph_finalize(sf_graph *g);

// ---- running. n <= max_batch; the input tensor (id 0) must hold the batch.
void sf_graph_forward(sf_graph *g, int n, bool train);
// dlogits (n, K) given as the gradient of the last tensor.
void sf_graph_backward(sf_graph *g, int n, const float *dlogits);
void sf_graph_pack_weights(sf_graph *g);
void sf_graph_update_first_trainable(sf_graph *g);

// ---- per-layer kernels (layer_*.c). x/y are the layer's tensors' data for n images; backward gets
// dx (NULL: not needed) and writes it (overwrite); parameter gradients go to sf_param.grad.
void sf_layer_conv_plan(sf_graph *g, sf_layer *l, int n);
void sf_layer_conv_forward(sf_graph *g, sf_layer *l, int n);
void sf_layer_conv_backward(sf_graph *g, sf_layer *l, int n, float *dx);
void sf_layer_bn_forward(sf_graph *g, sf_layer *l, int n, bool train);
void sf_layer_bn_backward(sf_graph *g, sf_layer *l, int n, float *dx);
void sf_layer_pool_forward(sf_graph *g, sf_layer *l, int n);
void sf_layer_pool_backward(sf_graph *g, sf_layer *l, int n, float *dx);
void sf_layer_linear_forward(sf_graph *g, sf_layer *l, int n);
void sf_layer_linear_backward(sf_graph *g, sf_layer *l, int n, float *dx);
void sf_layer_misc_forward(sf_graph *g, sf_layer *l, int n, bool train);
// ADD writes both operand gradients itself (through sf_graph_grad_target / sf_graph_grad_commit).
void sf_layer_misc_backward(sf_graph *g, sf_layer *l, int n, float *dx);

// Gradient routing for tensor t: where to write the next contribution (the tensor's own gradient if
// it has none yet, else scratch), then fold it in.
float *sf_graph_grad_target(sf_graph *g, int t);
void sf_graph_grad_commit(sf_graph *g, int t, int n);

// Floats of n images of tensor t (blocked padding included).
size_t sf_tensor_floats_n(const sf_graph *g, int t, int n);

// ---- initialisation (init.c): PyTorch's default schemes from a seeded generator.
void sf_graph_init_params(sf_graph *g, uint64_t seed);

#endif
