// test_nn_best.c: the seed's Cnn ("best") against PyTorch (tests/golden/make_models.py): logits in
// eval and train mode, the 5-step AdamW(amsgrad) loss curve, every first-step gradient, final weights.
#include "test_nn_golden.h"

static const golden_tol tol = {.logits = 1e-4, .loss = 1e-4, .grad = 1e-3, .grad_norm = 1e-3, .final_abs = 1e-4,
                               .final_norm = 1e-4};

Test(nn_best, s96_b2) { run_golden("best", 96, 2, tol); }
Test(nn_best, s96_b5) { run_golden("best", 96, 5, tol); }
Test(nn_best, s128_b2) { run_golden("best", 128, 2, tol); }
Test(nn_best, s128_b5) { run_golden("best", 128, 5, tol); }
