// test_nn_best.c: the seed's Cnn ("best") against PyTorch (tests/golden/make_models.py): logits in
// eval and train mode, the 5-step AdamW(amsgrad) loss curve, every first-step gradient, final weights.
#include "test_nn_golden.h"

static const golden_tol tol = {.logits = 1e-4, .loss = 1e-4, .grad = 1e-3, .final_abs = 1e-4};

Test(nn_best, s96_b2) { run_golden("best", 96, 2, tol); }
Test(nn_best, s96_b5) { run_golden("best", 96, 5, tol); }
Test(nn_best, s128_b2) { run_golden("best", 128, 2, tol); }
Test(nn_best, s128_b5) { run_golden("best", 128, 5, tol); }

// 224 px: conv6 leaves 5x5, max-pooled to 2x2, then resized *up* to 4x4; at 96 and 128 the resize
// upsamples from 1x1 and 2x2. Train mode with batch 2 makes BatchNorm1d nearly degenerate (two values
// per channel), hence the looser train-mode bound.
Test(nn_best, s224_b2_logits) { run_forward_golden("best", 224, 2, 1e-4, 5e-3); }

// The activation memory plan (graph.c): the ReLU after conv1 runs in place on the convolution's output,
// the network input has no gradient buffer, data and gradients share one arena over time, and the scratch
// buffer is sized by the BatchNorm inputs (conv2's output at most), not by the largest tensor (conv1's).
#include "nn/model_internal.h"

static bool overlap(const float *a, size_t na, const float *b, size_t nb) { return a < b + nb && b < a + na; }

Test(nn_best, activation_memory_plan) {
    sf_model_config c = {.arch = "best", .n_classes = 42, .in_h = 96, .in_w = 96, .max_batch = 4};
    char err[256];
    sf_model *m = sf_model_create(&c, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    const sf_graph *g = &m->g;
    const sf_layer *relu = &g->layers[1];
    cr_assert_eq(relu->kind, SF_L_RELU);
    cr_assert_eq(g->tensors[relu->out].data, g->tensors[relu->in].data, "conv1.1 does not run in place");
    cr_assert_eq(g->tensors[relu->out].grad, g->tensors[relu->in].grad);
    cr_assert_null(g->tensors[0].grad, "the input has a gradient buffer");
    cr_assert_not_null(relu->relu_mask, "conv1.1 keeps no sign mask");
    size_t all = 0, largest = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        all += (g->tensors[i].floats + 15) / 16 * 16;
        if (g->tensors[i].floats > largest) largest = g->tensors[i].floats;
    }
    const sf_tensor *c1 = &g->tensors[relu->in], *in = &g->tensors[0];
    size_t conv1_out = (c1->floats + 15) / 16 * 16, input = (in->floats + 15) / 16 * 16;
    // conv1's output is dead after the average pool reads it (the ReLU's backward reads its mask, the
    // pool's backward nothing): its floats must be reused by some later buffer, its own gradient at least.
    bool reused = false;
    for (int i = 2; i < g->n_tensors; i++)
        if (i != relu->out && (overlap(c1->data, c1->floats, g->tensors[i].data, g->tensors[i].floats) ||
                               overlap(c1->data, c1->floats, g->tensors[i].grad, g->tensors[i].floats)))
            reused = true;
    reused |= overlap(c1->data, c1->floats, c1->grad, c1->floats);
    cr_assert(reused, "conv1's output floats are never reused");
    // The input and the logits are the caller's: never shared.
    for (int i = 1; i < g->n_tensors; i++) {
        cr_assert(!overlap(in->data, in->floats, g->tensors[i].data, g->tensors[i].floats) || g->tensors[i].data == in->data);
        cr_assert(!overlap(in->data, in->floats, g->tensors[i].grad, g->tensors[i].floats));
    }
    // Separate buffers would need every tensor's data but conv1.1's, and every gradient but the input's.
    size_t separate = (all - conv1_out) + (all - conv1_out - input);
    cr_assert_leq(g->act_floats + conv1_out, separate, "arena %zu floats, separate buffers %zu", g->act_floats, separate);
    cr_assert_lt(g->scratch_floats, largest / 4, "scratch %zu floats, largest tensor %zu", g->scratch_floats, largest);
    cr_log_info("best 96 px batch 4: one arena of %zu floats for activations and gradients + scratch %zu + masks "
                "%zu bytes (separate buffers per tensor and direction: %zu floats)",
                g->act_floats, g->scratch_floats, g->mask_bytes, separate);
    sf_model_free(m);
}
