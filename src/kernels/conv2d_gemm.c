// conv2d_gemm.c: the SGEMM path of the convolution, for shapes the direct kernels serve poorly (see
// choose_paths in conv2d.c: backward-weights of tiny maps, backward-data of strided 1x1 convolutions).
// It also takes plain first-layer input, so that a forced GEMM (tests, bench --algo gemm) covers every plan.
//
// Per chunk of images, the patches of the input (blocked, or plain for a first layer) are gathered into a matrix with one row per
// output pixel, tap-major with the channels inner (col: M x K, M = images*OH*OW, K = KH*KW*Ci; for a
// 1x1 stride-1 convolution it is just x transposed out of its channel blocks). With the weights as
// Wm (Co x K) in OHWI order:
//   forward          Y  (M x Co) = col * Wm^T,      then scattered into the blocked y with the bias
//   backward-data    dcol (M x K) = dYm * Wm,       then each dx pixel gathers the patch entries it fed
//   backward-weights dWm (Co x K) += dYm^T * col,   summed over the chunks in order
// The scratch is bounded (about SCRATCH_FLOATS), so big batches go in several chunks. Every loop here
// and the SGEMM itself split the work the same way on every call, so results are bitwise reproducible
// for a fixed thread count.
#include "kernels/conv2d_internal.h"
#include "kernels/sgemm.h"
#include "util/util.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#else  // built without OpenMP (the ThreadSanitizer build): every region runs on the one calling thread
static int omp_get_thread_num(void) { return 0; }
#endif

#define SCRATCH_FLOATS (1 << 21)
#define ITEM_ROWS 256

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

void sf_conv_gemm_init(sf_conv_gemm *g, const sf_conv2d_shape *s, int vb, bool x_plain, const bool dirs[3],
                       int nthr) {
    memset(g, 0, sizeof *g);
    g->s = *s;
    g->vb = vb;
    g->x_plain = x_plain;
    g->cbi = (s->ci + vb - 1) / vb;
    g->cbo = (s->co + vb - 1) / vb;
    g->k = s->kh * s->kw * s->ci;
    g->nthr = nthr;
    int pix = s->oh * s->ow;
    if (dirs[1] && s->kh * s->kw == 1) {
        // Items of at least ITEM_ROWS output pixels, and at least one per thread.
        g->item = imax(1, imin((ITEM_ROWS + pix - 1) / pix, s->n / nthr));
        g->item_buf = sf_aligned_alloc(sizeof(float) * (size_t)nthr * g->item * pix * (s->co + g->k));
    }
    // The chunked scratch only for the passes that use it: a 1x1 backward-data alone (the downsamples)
    // needs none of it, which spares several MB per layer.
    size_t per_img = (size_t)pix * (size_t)(g->k + s->co);
    g->chunk = imax(1, imin(s->n, (int)(SCRATCH_FLOATS / per_img)));
    if (dirs[0] || dirs[2] || (dirs[1] && !g->item)) {
        size_t rows = (size_t)g->chunk * pix;
        g->col = sf_aligned_alloc(sizeof(float) * rows * g->k);
        g->mat = sf_aligned_alloc(sizeof(float) * rows * s->co);
    }
    if (dirs[2]) g->dwm = sf_aligned_alloc(sizeof(float) * (size_t)s->co * g->k);
}

void sf_conv_gemm_free(sf_conv_gemm *g) {
    sf_free_aligned(g->item_buf);
    sf_free_aligned(g->col);
    sf_free_aligned(g->mat);
    sf_free_aligned(g->dwm);
}

// wp (Co, KH, KW, Ci) from w (Co, Ci, KH, KW)
void sf_conv_gemm_pack(const sf_conv_gemm *g, float *wp, const float *w_oihw) {
    const sf_conv2d_shape *s = &g->s;
    int kk = s->kh * s->kw;
    for (int co = 0; co < s->co; co++)
        for (int k = 0; k < kk; k++)
            for (int ci = 0; ci < s->ci; ci++)
                wp[((size_t)co * kk + k) * s->ci + ci] = w_oihw[((size_t)co * s->ci + ci) * kk + k];
}

// col (nimg*OH*OW, K) from the blocked x of images [n0, n0+nimg); zero where a tap falls in the padding.
static void im2col(const sf_conv_gemm *g, const float *x, int n0, int nimg) {
    const sf_conv2d_shape *s = &g->s;
    // Blocked x: vb channels per pixel, blocks x_cbs apart. Plain x: one channel per plane.
    int vb = g->x_plain ? 1 : g->vb, rows = nimg * s->oh, per = g->x_plain ? 1 : vb;
    size_t x_cbs = (size_t)s->ih * s->iw * vb, x_is = x_cbs * (g->x_plain ? s->ci : g->cbi);
#pragma omp parallel for schedule(static) num_threads(sf_threads())
    for (int r = 0; r < rows; r++) {
        int img = n0 + r / s->oh, oh = r % s->oh;
        for (int ow = 0; ow < s->ow; ow++) {
            float *dst = g->col + ((size_t)r * s->ow + ow) * g->k;
            for (int kh = 0; kh < s->kh; kh++)
                for (int kw = 0; kw < s->kw; kw++, dst += s->ci) {
                    int ih = oh * s->sh - s->ph + kh, iw = ow * s->sw - s->pw + kw;
                    if (ih < 0 || ih >= s->ih || iw < 0 || iw >= s->iw) {
                        memset(dst, 0, sizeof(float) * s->ci);
                        continue;
                    }
                    const float *src = x + img * x_is + ((size_t)ih * s->iw + iw) * vb;
                    if (g->x_plain)
                        for (int ci = 0; ci < s->ci; ci++) dst[ci] = src[ci * x_cbs];
                    else
                        for (int cb = 0; cb < g->cbi; cb++)
                            memcpy(dst + cb * per, src + cb * x_cbs, sizeof(float) * imin(per, s->ci - cb * per));
                }
        }
    }
}

// Row m of mat (nimg*OH*OW, Co): output pixel m of images n0... of the blocked dy.
static void gather_dy_row(const sf_conv_gemm *g, float *mat, const float *dy, int n0, int m) {
    const sf_conv2d_shape *s = &g->s;
    int vb = g->vb, pix = s->oh * s->ow;
    size_t cbs = (size_t)pix * vb, is = cbs * g->cbo;
    const float *src = dy + (size_t)(n0 + m / pix) * is + (size_t)(m % pix) * vb;
    for (int cb = 0; cb < g->cbo; cb++)
        memcpy(mat + (size_t)m * s->co + cb * vb, src + cb * cbs, sizeof(float) * imin(vb, s->co - cb * vb));
}

// mat (nimg*OH*OW, Co) from the blocked dy of images [n0, n0+nimg).
static void gather_dy(const sf_conv_gemm *g, const float *dy, int n0, int nimg) {
    int pix = g->s.oh * g->s.ow;
#pragma omp parallel for schedule(static) num_threads(sf_threads())
    for (int m = 0; m < nimg * pix; m++) gather_dy_row(g, g->mat, dy, n0, m);
}

// x blocked or plain (N,Ci,H,W), y blocked (N,Co,OH,OW), wp (Co,KH,KW,Ci), bias (Co) or NULL
void sf_conv_gemm_forward(const sf_conv_gemm *g, float *y, const float *x, const float *wp, const float *bias) {
    const sf_conv2d_shape *s = &g->s;
    int vb = g->vb, pix = s->oh * s->ow;
    size_t cbs = (size_t)pix * vb, is = cbs * g->cbo;
    for (int n0 = 0; n0 < s->n; n0 += g->chunk) {
        int nimg = imin(g->chunk, s->n - n0), m = nimg * pix;
        im2col(g, x, n0, nimg);
        sf_sgemm(false, true, m, s->co, g->k, 1.0f, g->col, g->k, wp, g->k, 0.0f, g->mat, s->co);
#pragma omp parallel for schedule(static) num_threads(sf_threads())
        for (int r = 0; r < m; r++) {
            float *dst = y + (size_t)(n0 + r / pix) * is + (size_t)(r % pix) * vb;
            const float *src = g->mat + (size_t)r * s->co;
            for (int cb = 0; cb < g->cbo; cb++)
                for (int l = 0; l < vb; l++) {
                    int c = cb * vb + l;
                    dst[cb * cbs + l] = c < s->co ? src[c] + (bias ? bias[c] : 0.0f) : 0.0f;
                }
        }
    }
}

// Row ih of image n0+img of dx (layout of x) from col (the patch gradients of images n0...): each dx
// pixel sums the patch entries of the outputs that read it (a gather, so no two threads write the same
// pixel and the order of the sum is fixed).
static void scatter_dx_row(const sf_conv_gemm *g, float *dx, const float *col, int n0, int img, int ih) {
    const sf_conv2d_shape *s = &g->s;
    // Plain dx is the blocked case with blocks of one channel.
    int vb = g->x_plain ? 1 : g->vb, pix = s->oh * s->ow, kk = s->kh * s->kw, cbi = g->x_plain ? s->ci : g->cbi;
    size_t cbs = (size_t)s->ih * s->iw * vb, is = cbs * cbi;
    for (int iw = 0; iw < s->iw; iw++) {
        float *dst = dx + (size_t)(n0 + img) * is + ((size_t)ih * s->iw + iw) * vb;
        for (int cb = 0; cb < cbi; cb++) memset(dst + cb * cbs, 0, sizeof(float) * vb);
        for (int k = 0; k < kk; k++) {
            int th = ih + s->ph - k / s->kw, tw = iw + s->pw - k % s->kw;
            if (th < 0 || tw < 0 || th % s->sh || tw % s->sw) continue;
            int oh = th / s->sh, ow = tw / s->sw;
            if (oh >= s->oh || ow >= s->ow) continue;
            const float *src = col + ((size_t)(img * pix + oh * s->ow + ow) * kk + k) * s->ci;
            for (int cb = 0; cb < cbi; cb++)
                for (int l = 0; l < imin(vb, s->ci - cb * vb); l++) dst[cb * cbs + l] += src[cb * vb + l];
        }
    }
}

// scatter_dx_row for a 1x1 convolution: each dx pixel is one patch row or zero, so it is copied, block
// by block along the row (on ResNet-18's downsamples about 8% faster than the generic per-lane gather).
static void scatter_dx_row_1x1(const sf_conv_gemm *g, float *dx, const float *col, int n0, int img, int ih) {
    const sf_conv2d_shape *s = &g->s;
    int vb = g->x_plain ? 1 : g->vb, pix = s->oh * s->ow, cbi = g->x_plain ? s->ci : g->cbi;
    size_t cbs = (size_t)s->ih * s->iw * vb, is = cbs * cbi;
    int th = ih + s->ph, oh = th / s->sh;
    bool row_hit = th % s->sh == 0 && oh < s->oh;
    for (int cb = 0; cb < cbi; cb++) {
        float *dst = dx + (size_t)(n0 + img) * is + cb * cbs + (size_t)ih * s->iw * vb;
        int nl = imin(vb, s->ci - cb * vb);
        if (!row_hit) {
            memset(dst, 0, sizeof(float) * (size_t)s->iw * vb);
            continue;
        }
        for (int iw = 0; iw < s->iw; iw++, dst += vb) {
            int tw = iw + s->pw, ow = tw / s->sw;
            if (tw % s->sw || ow >= s->ow) {
                memset(dst, 0, sizeof(float) * vb);
                continue;
            }
            memcpy(dst, col + (size_t)(img * pix + oh * s->ow + ow) * s->ci + cb * vb, sizeof(float) * nl);
            if (nl < vb) memset(dst + nl, 0, sizeof(float) * (vb - nl));
        }
    }
}

// 1x1 backward-data in items of a few images, each gathered, multiplied and scattered by one thread in
// its own scratch (ResNet-18's stride-2 downsamples at 128 px: 192 KiB an item, so it stays in L2). The
// chunked path ran each step over all threads with a barrier between, its scratch of 42 images in L3, and
// measured 1.05x from 1 to 2 threads on the 64 -> 128 channel downsample.
static void backward_data_items(const sf_conv_gemm *g, float *dx, const float *dy, const float *wp) {
    const sf_conv2d_shape *s = &g->s;
    int pix = s->oh * s->ow, items = (s->n + g->item - 1) / g->item;
    // at most the nthr scratch slots, should the thread count have grown since the plan was made
#pragma omp parallel for schedule(static) num_threads(imin(sf_threads(), g->nthr))
    for (int it = 0; it < items; it++) {
        int n0 = it * g->item, nimg = imin(g->item, s->n - n0), m = nimg * pix;
        float *mat = g->item_buf + (size_t)omp_get_thread_num() * g->item * pix * (s->co + g->k);
        float *col = mat + (size_t)g->item * pix * s->co;
        for (int r = 0; r < m; r++) gather_dy_row(g, mat, dy, n0, r);
        sf_sgemm(false, false, m, g->k, s->co, 1.0f, mat, s->co, wp, g->k, 0.0f, col, g->k);  // one thread here
        for (int r = 0; r < nimg * s->ih; r++) scatter_dx_row_1x1(g, dx, col, n0, r / s->ih, r % s->ih);
    }
}

// dy blocked (N,Co,OH,OW), dx (layout of x) (N,Ci,H,W), wp (Co,KH,KW,Ci)
void sf_conv_gemm_backward_data(const sf_conv_gemm *g, float *dx, const float *dy, const float *wp) {
    const sf_conv2d_shape *s = &g->s;
    if (g->item) {
        backward_data_items(g, dx, dy, wp);
        return;
    }
    int pix = s->oh * s->ow;
    for (int n0 = 0; n0 < s->n; n0 += g->chunk) {
        int nimg = imin(g->chunk, s->n - n0), m = nimg * pix;
        gather_dy(g, dy, n0, nimg);
        sf_sgemm(false, false, m, g->k, s->co, 1.0f, g->mat, s->co, wp, g->k, 0.0f, g->col, g->k);
#pragma omp parallel for schedule(static) num_threads(sf_threads())
        for (int r = 0; r < nimg * s->ih; r++) scatter_dx_row(g, dx, g->col, n0, r / s->ih, r % s->ih);
    }
}

// dy blocked (N,Co,OH,OW), x (layout of x) (N,Ci,H,W); dw (Co,Ci,KH,KW), dbias (Co) or NULL
void sf_conv_gemm_backward_weights(const sf_conv_gemm *g, float *dw_oihw, float *dbias, const float *dy,
                                   const float *x) {
    const sf_conv2d_shape *s = &g->s;
    int pix = s->oh * s->ow, kk = s->kh * s->kw;
    if (dbias) memset(dbias, 0, sizeof(float) * s->co);
    for (int n0 = 0; n0 < s->n; n0 += g->chunk) {
        int nimg = imin(g->chunk, s->n - n0), m = nimg * pix;
        gather_dy(g, dy, n0, nimg);
        im2col(g, x, n0, nimg);
        sf_sgemm(true, false, s->co, g->k, m, 1.0f, g->mat, s->co, g->col, g->k, n0 ? 1.0f : 0.0f, g->dwm, g->k);
        // Each thread sums whole columns, rows in order: the same sums as one thread. On tiny maps the
        // GEMM takes well under a millisecond, and this and the reorder below, run on one thread, had
        // added a third to the layer's time.
        if (dbias) {
#pragma omp parallel for schedule(static) num_threads(sf_threads())
            for (int c0 = 0; c0 < s->co; c0 += 16) {
                int c1 = imin(c0 + 16, s->co);
                for (int r = 0; r < m; r++)
                    for (int co = c0; co < c1; co++) dbias[co] += g->mat[(size_t)r * s->co + co];
            }
        }
    }
#pragma omp parallel for schedule(static) num_threads(sf_threads())
    for (int co = 0; co < s->co; co++)
        for (int ci = 0; ci < s->ci; ci++)
            for (int k = 0; k < kk; k++)
                dw_oihw[((size_t)co * s->ci + ci) * kk + k] = g->dwm[((size_t)co * kk + k) * s->ci + ci];
}
