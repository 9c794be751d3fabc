// adamw.h: the optimizers, step for step as PyTorch 1.13 computes them (torch/optim/adamw.py and
// sgd.py, single-tensor path), over a model's parameter list.
//
//   AdamW: step += 1; p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
//          amsgrad: vmax = max(vmax, v), v' = vmax, else v' = v;
//          p -= lr/(1-b1^step) * m / (sqrt(v')/sqrt(1-b2^step) + eps)
//   SGD:   d = g + wd*p; buf = (first step) d, else momentum*buf + (1-dampening)*d;
//          d = nesterov ? d + momentum*buf : buf; p -= lr*d
//
// Frozen parameters (sf_param.frozen) are skipped entirely: no decay, no moments, no step count.
// Ownership: the optimizer borrows the sf_param array (it must outlive the optimizer) and owns its
// state, one arena holding every moment tensor. The state is public for checkpoints and for
// ReduceLROnPlateau, which writes `lr`.
#ifndef SF_ADAMW_H
#define SF_ADAMW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/param.h"
#include "nn/safetensors.h"

typedef enum { SF_OPT_ADAMW = 0, SF_OPT_SGD = 1 } sf_opt_kind;

typedef struct {
    sf_opt_kind kind;
    double lr;            // 1e-3 (AdamW), 1e-2 (SGD)
    double weight_decay;  // 1e-2 (AdamW, decoupled), 0 (SGD, added to the gradient)
    double beta1, beta2;  // AdamW: 0.9, 0.999
    double eps;           // AdamW: 1e-8
    bool amsgrad;         // AdamW: false (PyTorch's default; the CLI turns it on)
    double momentum;      // SGD: 0.9
    double dampening;     // SGD: 0
    bool nesterov;        // SGD: false
} sf_opt_config;

sf_opt_config sf_opt_defaults(sf_opt_kind kind);

typedef struct {
    sf_opt_config cfg;
    int n;               // parameters
    sf_param *params;    // borrowed
    // Per parameter i, each of count params[i].count floats, pointing into one arena; NULL when the
    // configuration does not use them (exp_avg*: AdamW; max_exp_avg_sq: AdamW amsgrad; momentum_buffer: SGD).
    float **exp_avg, **exp_avg_sq, **max_exp_avg_sq, **momentum_buffer;
    int64_t *step;       // (n) per-parameter step counts, as torch's state['step']
    float *arena;
    size_t arena_floats;
} sf_optimizer;

// params: the model's parameter list (sf_model_param(m, 0) .. n-1 are contiguous in the model).
sf_optimizer *sf_opt_create(const sf_opt_config *cfg, sf_param *params, int n);
void sf_opt_free(sf_optimizer *o);
// One update of every non-frozen parameter from its .grad. Parallel over elements (OpenMP).
void sf_opt_step(sf_optimizer *o);
// Forget all moments and step counts (as a freshly constructed torch optimizer).
void sf_opt_reset(sf_optimizer *o);

// Optimizer state as tensors named "<prefix><param>.exp_avg", ".exp_avg_sq", ".max_exp_avg_sq",
// ".step" (I64 scalar, shape (1)) for AdamW and "<prefix><param>.momentum_buffer", ".step" for SGD;
// prefix "adam." or "sgd." when NULL. Frozen, never-stepped parameters are written too (zeros).
// The writer references the optimizer's memory: call sf_st_write before the next sf_opt_step.
void sf_opt_state_add(const sf_optimizer *o, sf_st_writer *w, const char *prefix);
// Restore from a file holding those tensors (other tensors are ignored). Returns 0, or -1 with the
// first missing or mismatched tensor in err (the state is then unchanged).
int sf_opt_state_load(sf_optimizer *o, const sf_st_file *f, const char *prefix, char *err, size_t errlen);
// Convenience: a file with only the optimizer state (metadata "optimizer" = "adamw" | "sgd", "lr").
int sf_opt_save(const sf_optimizer *o, const char *path, char *err, size_t errlen);
int sf_opt_load(sf_optimizer *o, const char *path, char *err, size_t errlen);

#endif
