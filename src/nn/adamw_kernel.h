// adamw_kernel.h: the elementwise AdamW update over one slice of a parameter, per ISA path.
//
// Every path does the same float operations in the same order, with no fused multiply-adds, and IEEE
// sqrt and division are correctly rounded in every instruction set: the vector paths give results
// bit-identical to the scalar reference (tests/test_nn_optim.c checks this), so a run's weights do not
// depend on the ISA path.
//
//   p' = p*decay + (neg_step*m') / (sqrt(v'')/bc2_sqrt + eps),  m' = m*b1 + (1-b1)*g,
//   v' = v*b2 + ((1-b2)*g)*g,  v'' = amsgrad ? max(vmax, v') (stored to vmax) : v'
#ifndef SF_ADAMW_KERNEL_H
#define SF_ADAMW_KERNEL_H

#include <stddef.h>

typedef struct {
    float decay, b1, one_m_b1, b2, one_m_b2, neg_step, bc2_sqrt, eps;
} sf_adamw_coef;

// p, g, m, v, vmax: n floats each; vmax NULL without amsgrad.
typedef void (*sf_adamw_fn)(float *p, const float *g, float *m, float *v, float *vmax, size_t n,
                            const sf_adamw_coef *c);

void sf_adamw_update_ref(float *p, const float *g, float *m, float *v, float *vmax, size_t n, const sf_adamw_coef *c);
#if defined(__x86_64__)
void sf_adamw_update_avx512(float *p, const float *g, float *m, float *v, float *vmax, size_t n,
                            const sf_adamw_coef *c);
void sf_adamw_update_avx2(float *p, const float *g, float *m, float *v, float *vmax, size_t n,
                          const sf_adamw_coef *c);
#endif

// The path for the active ISA (the reference where there is no vector path).
sf_adamw_fn sf_adamw_update_fn(void);

#endif
