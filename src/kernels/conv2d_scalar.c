// conv2d_scalar.c: the portable micro-kernels, the same blocked loops as the vector paths in plain C
// with vb = 8 (see conv2d_internal.h for the contract).
#include "kernels/conv2d_internal.h"

#include <string.h>

#define VB 8
#define MAX_UR 8

static void direct_scalar(const sf_conv_kargs *a, int ur, int ocb) {
    float acc[MAX_UR][SF_CONV_MAX_OCB][VB];
    for (int j = 0; j < ur; j++)
        for (int o = 0; o < ocb; o++)
            for (int l = 0; l < VB; l++)
                acc[j][o][l] = a->accum ? a->out[j * a->out_ps + o * a->out_cbs + l] : a->bias ? a->bias[o * VB + l] : 0.0f;
    for (int cb = 0; cb < a->n_cb; cb++)
        for (int t = 0; t < a->n_taps; t++) {
            const float *in = a->in + cb * a->in_cbs + a->tap_in[t];
            const float *w = a->w + cb * a->w_cb + a->tap_w[t];
            for (int i = 0; i < (cb == a->n_cb - 1 ? a->icb_last : a->icb); i++)
                for (int j = 0; j < ur; j++) {
                    float v = in[j * a->in_ps + i];
                    for (int o = 0; o < ocb; o++)
                        for (int l = 0; l < VB; l++) acc[j][o][l] += v * w[(i * ocb + o) * VB + l];
                }
        }
    for (int j = 0; j < ur; j++)
        for (int o = 0; o < ocb; o++) memcpy(a->out + j * a->out_ps + o * a->out_cbs, acc[j][o], sizeof acc[j][o]);
}

static void wgrad_scalar(const sf_conv_wargs *a) {
    float acc[VB][VB];
    memcpy(acc, a->tile, sizeof acc);
    for (int img = 0; img < a->n_img; img++)
        for (int r = 0; r < a->rows; r++) {
            const float *x = a->x + img * a->x_is + r * a->x_rs;
            const float *dy = a->dy + img * a->dy_is + r * a->dy_rs;
            for (int c = 0; c < a->cols; c++)
                for (int i = 0; i < a->nic; i++) {
                    float v = x[c * a->x_ps + i * a->x_cs];
                    for (int l = 0; l < VB; l++) acc[i][l] += v * dy[c * a->dy_ps + l];
                }
        }
    memcpy(a->tile, acc, sizeof acc);
}

static void wgrad_plain_scalar(const sf_conv_wargs *a, int kwn) {
    for (int k = 0; k < kwn; k++) {
        sf_conv_wargs t = *a;
        t.tile = a->tile + k * VB * VB;
        t.x = a->x + k;
        wgrad_scalar(&t);
    }
}

const sf_conv_isa sf_conv_isa_scalar = {
    .name = "scalar",
    .vb = VB,
    .max_ur = {0, 8, 4, 2, 2},
    .pref_ocb = 4,
    .across_below = 4,
    .direct = direct_scalar,
    .wgrad = wgrad_scalar,
    .max_kwn = {0, 7, 7, 7},
    .wgrad_plain = wgrad_plain_scalar,
};
