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
