// conv2d_ref.c: naive convolution on plain NCHW / OIHW with double accumulation, the oracle of the
// blocked kernels and of nothing else (it is far too slow for training).
#include "kernels/conv2d.h"

// x is (N,Ci,H,W), w is (Co,Ci,KH,KW), bias is (Co) or NULL, y is (N,Co,OH,OW)
void sf_conv2d_forward_ref(float *y, const float *x, const float *w, const float *bias, const sf_conv2d_shape *s) {
    for (int n = 0; n < s->n; n++)
        for (int co = 0; co < s->co; co++)
            for (int oh = 0; oh < s->oh; oh++)
                for (int ow = 0; ow < s->ow; ow++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int ci = 0; ci < s->ci; ci++)
                        for (int kh = 0; kh < s->kh; kh++) {
                            int ih = oh * s->sh - s->ph + kh;
                            if (ih < 0 || ih >= s->ih) continue;
                            for (int kw = 0; kw < s->kw; kw++) {
                                int iw = ow * s->sw - s->pw + kw;
                                if (iw < 0 || iw >= s->iw) continue;
                                acc += (double)x[(((size_t)n * s->ci + ci) * s->ih + ih) * s->iw + iw] *
                                       w[(((size_t)co * s->ci + ci) * s->kh + kh) * s->kw + kw];
                            }
                        }
                    y[(((size_t)n * s->co + co) * s->oh + oh) * s->ow + ow] = (float)acc;
                }
}

// dy is (N,Co,OH,OW), dx is (N,Ci,H,W): each input pixel gathers the outputs it contributed to.
void sf_conv2d_backward_data_ref(float *dx, const float *dy, const float *w, const sf_conv2d_shape *s) {
    for (int n = 0; n < s->n; n++)
        for (int ci = 0; ci < s->ci; ci++)
            for (int ih = 0; ih < s->ih; ih++)
                for (int iw = 0; iw < s->iw; iw++) {
                    double acc = 0.0;
                    for (int kh = 0; kh < s->kh; kh++) {
                        int th = ih + s->ph - kh;
                        if (th < 0 || th % s->sh) continue;
                        int oh = th / s->sh;
                        if (oh >= s->oh) continue;
                        for (int kw = 0; kw < s->kw; kw++) {
                            int tw = iw + s->pw - kw;
                            if (tw < 0 || tw % s->sw) continue;
                            int ow = tw / s->sw;
                            if (ow >= s->ow) continue;
                            for (int co = 0; co < s->co; co++)
                                acc += (double)dy[(((size_t)n * s->co + co) * s->oh + oh) * s->ow + ow] *
                                       w[(((size_t)co * s->ci + ci) * s->kh + kh) * s->kw + kw];
                        }
                    }
                    dx[(((size_t)n * s->ci + ci) * s->ih + ih) * s->iw + iw] = (float)acc;
                }
}

// dw is (Co,Ci,KH,KW), dbias is (Co) or NULL
void sf_conv2d_backward_weights_ref(float *dw, float *dbias, const float *dy, const float *x, const sf_conv2d_shape *s) {
    for (int co = 0; co < s->co; co++) {
        for (int ci = 0; ci < s->ci; ci++)
            for (int kh = 0; kh < s->kh; kh++)
                for (int kw = 0; kw < s->kw; kw++) {
                    double acc = 0.0;
                    for (int n = 0; n < s->n; n++)
                        for (int oh = 0; oh < s->oh; oh++) {
                            int ih = oh * s->sh - s->ph + kh;
                            if (ih < 0 || ih >= s->ih) continue;
                            for (int ow = 0; ow < s->ow; ow++) {
                                int iw = ow * s->sw - s->pw + kw;
                                if (iw < 0 || iw >= s->iw) continue;
                                acc += (double)dy[(((size_t)n * s->co + co) * s->oh + oh) * s->ow + ow] *
                                       x[(((size_t)n * s->ci + ci) * s->ih + ih) * s->iw + iw];
                            }
                        }
                    dw[(((size_t)co * s->ci + ci) * s->kh + kh) * s->kw + kw] = (float)acc;
                }
        if (dbias) {
            double acc = 0.0;
            for (int n = 0; n < s->n; n++) {
                const float *d = dy + ((size_t)n * s->co + co) * s->oh * s->ow;
                for (int p = 0; p < s->oh * s->ow; p++) acc += d[p];
            }
            dbias[co] = (float)acc;
        }
    }
}
