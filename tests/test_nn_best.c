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
// the network input has no gradient buffer, gradients share floats over time, and the scratch buffer is sized by the BatchNorm inputs
// (conv2's output at most), not by the largest tensor (conv1's output).
#include "nn/model_internal.h"

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
    size_t all = 0, largest = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        all += (g->tensors[i].floats + 15) / 16 * 16;
        if (g->tensors[i].floats > largest) largest = g->tensors[i].floats;
    }
    size_t conv1_out = g->tensors[relu->in].floats, input = (g->tensors[0].floats + 15) / 16 * 16;
    cr_assert_eq(g->act_floats, all - (conv1_out + 15) / 16 * 16);
    // Gradients share floats where their backward live ranges do not meet: at least conv1's gradient and
    // the largest one live beside it (the pool after it), at most everything but the input.
    size_t pool1 = (g->tensors[g->layers[2].out].floats + 15) / 16 * 16;
    cr_assert_lt(g->dact_floats, g->act_floats - input, "no gradient floats shared");
    cr_assert_geq(g->dact_floats, (conv1_out + 15) / 16 * 16 + pool1);
    cr_assert_lt(g->scratch_floats, largest / 4, "scratch %zu floats, largest tensor %zu", g->scratch_floats, largest);
    cr_log_info("best 96 px batch 4: activations %zu + gradients %zu + scratch %zu floats (one buffer per tensor "
                "and direction: %zu)", g->act_floats, g->dact_floats, g->scratch_floats, 2 * all + largest);
    sf_model_free(m);
}
