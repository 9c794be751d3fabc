// test_nn_simple.c: the seed's SimpleCnn against PyTorch (tests/golden/make_models.py): logits in
// eval and train mode, the 5-step AdamW(amsgrad) loss curve, every first-step gradient, final weights.
#include "test_nn_golden.h"

static const golden_tol tol = {.logits = 1e-4, .loss = 1e-4, .grad = 1e-3, .final_abs = 1e-4};

Test(nn_simple, s94_b2) { run_golden("simple", 94, 2, tol); }
Test(nn_simple, s94_b5) { run_golden("simple", 94, 5, tol); }
Test(nn_simple, s126_b2) { run_golden("simple", 126, 2, tol); }
Test(nn_simple, s126_b5) { run_golden("simple", 126, 5, tol); }
