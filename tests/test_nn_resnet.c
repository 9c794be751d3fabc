// test_nn_resnet.c: torchvision ResNet-18 against PyTorch (tests/golden/make_models.py): logits in
// eval and train mode, the 5-step AdamW(amsgrad) loss curve, every first-step gradient, final weights.
#include "test_nn_golden.h"

static const golden_tol tol = {.logits = 1e-4, .loss = 1e-4, .grad = 1e-3, .final_abs = 1e-4};

Test(nn_resnet, s32_b2) { run_golden("resnet18", 32, 2, tol); }
Test(nn_resnet, s32_b5) { run_golden("resnet18", 32, 5, tol); }
Test(nn_resnet, s48_b2) { run_golden("resnet18", 48, 2, tol); }
Test(nn_resnet, s48_b5) { run_golden("resnet18", 48, 5, tol); }

// torchvision ResNet-50 (Bottleneck blocks), logits only.
Test(nn_resnet, resnet50_s64_b2_logits) { run_forward_golden("resnet50", 64, 2, 1e-4, 1e-3); }
