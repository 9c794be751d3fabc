// conv2d.c: plans, weight packing and the threaded loops of the direct convolution (see conv2d.h and,
// for the micro-kernel contract, conv2d_internal.h).
//
// Forward and backward-data share one driver: both are "for every output pixel, sum input pixels times
// weights over a set of taps". Forward reads x with stride s. Backward-data gathers dy into dx and
// splits the dx columns into s phases: within one phase consecutive dx columns read consecutive dy
// columns, so the same strip kernel runs with dx pixels s apart. Which taps are valid depends only on
// the output row and column, so the plan stores per row and per column the input coordinate of every
// tap (-1 outside the input); runs of columns with the same valid set share one tap list.
#include "kernels/conv2d.h"
#include "kernels/bf16.h"
#include "kernels/conv2d_internal.h"
#include "kernels/conv2d_tuning.h"
#include "kernels/cpu.h"
#include "kernels/layout.h"
#include "util/util.h"

#ifdef _OPENMP
#include <omp.h>
#else  // built without OpenMP (the ThreadSanitizer build): every region runs on the one calling thread
static int omp_get_thread_num(void) { return 0; }
static int omp_get_num_threads(void) { return 1; }
static int omp_get_max_threads(void) { return 1; }
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// One direction (forward or backward-data) as seen by the strip kernel.
typedef struct {
    int n_cb, icb, icb_last; // input blocks summed over, channels per block, real channels in the last
    int in_h, in_w, in_pix;  // input map; floats per input pixel (vb blocked, 1 plain)
    ptrdiff_t in_cbs, in_is; // input strides: channel block, image
    int out_nb, out_h, out_w;
    int step, in_step;       // output column step within a phase; input column step per strip pixel
    int ocb, ur;             // register blocking: output blocks x strip pixels
    int chunk;               // images per work item: the strip length across images
    int across;              // row leftovers of fewer accumulators run across images (conv2d_tuning.h)
    int cb_pass;             // input blocks per pass (n_cb: one pass); see pick_passes
    bool groups_outer;       // work items go out group by group (each thread reads its share of the
                             // weights), not chunk by chunk; see order_items
    // Strips of stride-1 3-column rows into one output block go here (ur = row3_ur): full strips of
    // plain input to row3 (isa->row3), blocked input's strips of isa->row3b_min_ur .. ur pixels to row3b
    // (isa->row3b); NULL: the strip kernel throughout.
    void (*row3)(const sf_conv_kargs *a);
    void (*row3b)(const sf_conv_kargs *a, int ur);
    // Optional (NULL: none): where row3 is set, strips of 2*np pixels in pairs (sf_conv_row3_pair8_avx512,
    // np <= ur/2), the short ones included; an odd last pixel goes to the strip kernel.
    void (*row3_pairs)(const sf_conv_kargs *a, int np);
    int *row_in;             // [out_h][KH] input row of each kernel row, -1 outside
    int *col_in;             // [out_w][KW] input column of each kernel column, -1 outside
    unsigned *col_mask;      // [out_w] bit kw set when col_in is valid
    size_t w_off, w_floats;  // this direction's weights in the packed buffer (bf16 plans: in bf16 pairs)
    void (*direct)(const sf_conv_kargs *a, int ur, int ocb);  // the strip kernel: isa->direct, or the bf16 one
} conv_dir;

struct sf_conv2d_plan {
    sf_conv2d_shape s;
    bool x_plain, deterministic;
    bool bf16;            // forward and backward-data read bf16 x / dy and weights (sf_conv2d_plan_create_bf16)
    struct sf_conv2d_plan *wplan;  // bf16: backward-weights on image pairs, a plan for ceil(N/2) images
    bool pairs;           // this is such a plan: its isa is the pair kernels', x and dy are image pairs
    const sf_conv_isa *isa;
    int vb, cbi, cbo, nthr;
    int xvb;              // channels per block of blocked x (and dx): vb, or 8 for a narrow input (see
                          // sf_conv2d_plan_create_narrow_x); unused for plain x
    conv_dir fwd, bwd;
    int w_chunk;          // images per backward-weights work item
    float *bias_pad;      // (CBo*vb) bias with zero padding
    float *row_buf;       // per thread: one dx row of ocb blocks for chunk images (plain dx only)
    float *wpart;         // per thread: dW partial sums [CBo][CBi][KH][KW][vb i][vb o]
    float *bpart;         // per thread: dbias partial sums [CBo*vb], bpart_stride floats apart
    size_t bpart_stride;  // CBo*vb rounded up to whole cache lines
    ptrdiff_t *taps;      // per thread: 2*KH*KW tap offsets, taps_stride apart
    int taps_stride;      // 2*KH*KW rounded up to whole cache lines: run_row rewrites its thread's taps for
                          // every row, and a line shared by two threads bounced between the cores (a
                          // first layer ran 1.1x faster on 2 threads than on 1, oneDNN 1.9x)
    size_t wpart_floats;
    bool gemm[3], any_gemm; // per direction (forward, backward-data, backward-weights): the SGEMM path runs
    sf_conv_gemm gm;
    size_t gemm_w_off;      // the GEMM's weights (Co,KH,KW,Ci) in the packed buffer, after the direct ones
    bool bplain;            // backward-data into plain dx by dot products over dy's blocks (isa->bwd_plain)
    bool bdot8;             // the same into blocked dx of at most 8 channels on AVX-512 (sf_conv_bwd_dot8_avx512)
    int bplain_ur, bp_ci;   // strip pixels; channels of the dot-product weights (Ci, or 8 for bdot8)
    size_t bp_w_off;        // its weights [CBo][KH][KW][bp_ci][vb] in the packed buffer, after the two directions
    void (*wgrad_plain)(const sf_conv_wargs *a, int kwn);  // isa->wgrad_plain, or the pair kernel (pair8)
    char algo[80], dir_algo[3][32];
};

static int cdiv(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static int fdiv(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

sf_conv2d_shape sf_conv2d_shape_make(int n, int ci, int ih, int iw, int co, int kh, int kw, int stride, int pad) {
    sf_conv2d_shape s = {.n = n, .ci = ci, .ih = ih, .iw = iw, .co = co, .kh = kh, .kw = kw,
                         .sh = stride, .sw = stride, .ph = pad, .pw = pad};
    s.oh = (ih + 2 * pad - kh) / stride + 1;
    s.ow = (iw + 2 * pad - kw) / stride + 1;
    if (n < 1 || ci < 1 || co < 1 || kh < 1 || kw < 1 || kh > 7 || kw > 7 || stride < 1 || pad < 0 || s.oh < 1 ||
        s.ow < 1)
        sf_die("conv2d: unsupported shape n%d ci%d %dx%d co%d k%dx%d s%d p%d", n, ci, ih, iw, co, kh, kw, stride, pad);
    return s;
}

static const sf_conv_isa *isa_kernels(sf_isa isa) {
    switch (isa) {
#if defined(__x86_64__)
    case SF_ISA_AVX512: return &sf_conv_isa_avx512;
    case SF_ISA_AVX2: return &sf_conv_isa_avx2;
#endif
#if defined(__aarch64__)
    case SF_ISA_NEON: return &sf_conv_isa_neon;
#endif
    case SF_ISA_SCALAR: return &sf_conv_isa_scalar;
    default: return NULL;
    }
}

// The path whose kernels run: the active ISA's, or scalar where this build has none for it.
static sf_isa kernel_isa(void) { return isa_kernels(sf_isa_active()) ? sf_isa_active() : SF_ISA_SCALAR; }

// The kernels for channel block vb: the active path's, or on AVX-512 the AVX2 ones for vb = 8 (a first
// layer with at most 8 output channels, whose 16-lane blocks would be half padding; see sf_vb_first).
static sf_isa isa_for_vb(int vb) {
    sf_isa isa = kernel_isa();
#if defined(__x86_64__)
    if (vb == 8 && isa == SF_ISA_AVX512) isa = SF_ISA_AVX2;
#endif
    if (isa_kernels(isa)->vb != vb) sf_die("conv2d: no kernels for channel block %d on the %s path", vb, sf_isa_name(isa));
    return isa;
}

// The profile's register blocking per [isa][class] (conv2d_tuning.h); a knob not set keeps the ISA's default.
typedef struct {
    bool ocb_set, across_set;
    int ocb, across;
} conv_knobs;
static conv_knobs g_knobs[SF_CONV_N_ISAS][SF_CONV_N_CLASSES];  // all unset: the built-in defaults
static const char *const class_names[SF_CONV_N_CLASSES] = {"first", "1x1", "kxk", "strided"};

sf_conv_class sf_conv_class_of(const sf_conv2d_shape *s, bool x_plain) {
    if (x_plain) return SF_CONV_CLASS_FIRST;
    if (s->kh * s->kw == 1) return SF_CONV_CLASS_1X1;
    return s->sh > 1 || s->sw > 1 ? SF_CONV_CLASS_STRIDED : SF_CONV_CLASS_KXK;
}

const char *sf_conv_class_name(sf_conv_class c) { return c < SF_CONV_N_CLASSES ? class_names[c] : "?"; }

int sf_conv_class_from_name(const char *name) {
    for (int c = 0; c < SF_CONV_N_CLASSES; c++)
        if (!strcmp(name, class_names[c])) return c;
    return -1;
}

int sf_conv_max_ocb(sf_isa isa) {
    const sf_conv_isa *k = (unsigned)isa < SF_CONV_N_ISAS ? isa_kernels(isa) : NULL;
    if (!k) return 0;
    int m = 0;
    for (int o = 1; o <= SF_CONV_MAX_OCB; o++)
        if (k->max_ur[o] >= 1) m = o;
    return m;
}

int sf_conv_set_tuning(sf_isa isa, sf_conv_class c, int ocb, int across) {
    if ((unsigned)isa >= SF_CONV_N_ISAS || (unsigned)c >= SF_CONV_N_CLASSES) return -1;
    // Checked against this build's kernels only where it has them: a profile also carries other ISAs' rows.
    int max = isa_kernels(isa) ? sf_conv_max_ocb(isa) : SF_CONV_MAX_OCB;
    if (ocb != -1 && (ocb < 1 || ocb > max)) return -1;
    if (across < -1 || across > 4096) return -1;
    g_knobs[isa][c] = (conv_knobs){.ocb_set = ocb != -1, .across_set = across != -1, .ocb = ocb, .across = across};
    return 0;
}

int sf_conv_get_tuning(sf_isa isa, sf_conv_class c, int *ocb, int *across) {
    const sf_conv_isa *k = (unsigned)isa < SF_CONV_N_ISAS ? isa_kernels(isa) : NULL;
    if (!k || (unsigned)c >= SF_CONV_N_CLASSES) return -1;
    const conv_knobs *t = &g_knobs[isa][c];
    if (ocb) *ocb = t->ocb_set ? t->ocb : k->pref_ocb;
    if (across) *across = t->across_set ? t->across : k->across_below;
    return 0;
}

// Output blocks per register group: as few groups as possible, then as even as possible. Strips run
// along a row (ur pixels of one image) where the row is long enough to fill them. The columns a row
// leaves over (narrow maps, the borders where the valid taps change, the tail of a row) run as strips
// across the images of a chunk at one pixel instead: short row strips would hold few accumulators,
// wait on FMA latency and reuse each weight vector only a few times.
// The widest group (pref_ocb) and the across threshold come from the tuning table of the layer's class.
static void pick_blocking(conv_dir *d, const sf_conv_isa *isa, int pref_ocb, int across, int n) {
    int groups = cdiv(d->out_nb, pref_ocb);
    d->ocb = cdiv(d->out_nb, groups);
    d->ur = isa->max_ur[d->ocb];
    d->across = across;
    d->chunk = imin(n, d->ur);
    d->cb_pass = d->n_cb;
}

// A strip streams its group's weights for all n_cb input blocks: ocb*vb * n_cb*KH*KW*icb floats, 72 KiB
// for a 3x3 layer of 128 to 64 channels on AVX2, so from L2 for every strip. When they outgrow L1, the
// input blocks go in passes whose weights fit in half of it, each pass adding to the outputs the last one
// stored: a work item then runs all its rows and images on one pass's weights before the next pass.
// Used where the benchmark found it faster (backward-data, AVX2, best's 12x12 stride-1 layers at 224 px:
// 1.03-1.33x); on maps of 4x4 and on the strided 5x5 layer it measured slower, so those keep one pass.
#define CONV_PASS_BYTES (16 << 10)
#define CONV_PASS_MIN_PIXELS 64
static void pick_passes(conv_dir *d, int kk, int vb) {
    size_t per_cb = sizeof(float) * (size_t)kk * d->icb * d->ocb * vb;
    if (d->step == 1 && d->out_h * d->out_w >= CONV_PASS_MIN_PIXELS && per_cb * d->n_cb > 2 * CONV_PASS_BYTES)
        d->cb_pass = imax(1, (int)(CONV_PASS_BYTES / per_cb));
}

// With passes a work item is a whole chunk of images for one group of output blocks, so there are few
// items: 5 chunks of 14 images on 2 threads ran 3 against 2 (SimpleCnn's conv4 backward-data on AVX-512
// scaled 1.37x from 1 to 2 threads). Take the largest chunk, no larger than the strip's, whose item
// count the threads divide.
static void balance_chunks(conv_dir *d, int n, int nthr) {
    int ng = cdiv(d->out_nb, d->ocb);
    for (int nb = cdiv(n, d->chunk); nb <= n; nb++) {
        int c = cdiv(n, nb);
        if (cdiv(n, c) * ng % nthr == 0) {
            d->chunk = c;
            return;
        }
    }
}

// Image rows on the busiest of nthr threads when items (chunk of c images, group, row) go out as
// OpenMP's static schedule does: contiguous ranges, the first N % nthr one item longer.
static long busiest_rows(int n, int c, int ng, int rows, int nthr) {
    long items = (long)cdiv(n, c) * ng * rows, q = items / nthr, rem = items % nthr, most = 0;
    for (int t = 0; t < nthr; t++) {
        long lo = t * q + (t < rem ? t : rem), hi = lo + q + (t < rem), work = 0;
        for (long i = lo; i < hi; i++) {
            int b = (int)(i / ((long)ng * rows));
            work += imin(c, n - b * c);
        }
        if (work > most) most = work;
    }
    return most;
}

// Without passes the threads take the items (chunk, group, row) in order, so chunks of ur images and a
// short last one give one thread more image rows than another: SimpleCnn's conv3 backward-data (chunks
// of 24, 24 and 16 images, 22 rows, 2 threads) put 792 image rows on one thread and 616 on the other.
// Take the largest chunk, from the strip's down to half of it, whose busiest thread has at most 2% more
// rows than the best such chunk's.
static void balance_rows(conv_dir *d, int n, int nthr) {
    if (nthr < 2 || d->chunk < 2) return;
    const int ng = cdiv(d->out_nb, d->ocb), hi = d->chunk, lo = cdiv(hi, 2);
    long *rows = sf_malloc(sizeof(long) * (size_t)(hi - lo + 1)), best = -1;  // rows[hi - c]: chunk c's busiest
    for (int c = hi; c >= lo; c--) {
        rows[hi - c] = busiest_rows(n, c, ng, d->out_h, nthr);
        if (best < 0 || rows[hi - c] < best) best = rows[hi - c];
    }
    for (int c = hi; c >= lo; c--)
        if (rows[hi - c] * 100 <= best * 102) {
            d->chunk = c;
            break;
        }
    free(rows);
}

// Items (chunk, group, row) go out chunk by chunk, so every thread streams all of the weights; where
// the weights outweigh the input (ResNet-18's layer4: 9.4 MB against 2 MB at 128 px), and the groups
// divide evenly among the threads, they go out group by group instead, each thread reading only its
// groups' weights and all of the input.
static void order_items(conv_dir *d, int n, int kk, int vb, int nthr) {
    int ng = cdiv(d->out_nb, d->ocb);
    size_t w_bytes = sizeof(float) * (size_t)d->out_nb * vb * d->n_cb * kk * d->icb;
    size_t in_bytes = sizeof(float) * (size_t)n * d->in_is;
    d->groups_outer = nthr > 1 && ng % nthr == 0 && w_bytes > in_bytes;
}

static void dir_alloc_maps(conv_dir *d, int kh, int kw) {
    d->row_in = sf_malloc(sizeof(int) * (size_t)d->out_h * kh);
    d->col_in = sf_malloc(sizeof(int) * (size_t)d->out_w * kw);
    d->col_mask = sf_calloc((size_t)d->out_w, sizeof(unsigned));
}

// Forward: output (oh, ow) reads input (oh*s - p + kh, ow*s - p + kw).
static void fwd_maps(conv_dir *d, const sf_conv2d_shape *s) {
    dir_alloc_maps(d, s->kh, s->kw);
    for (int o = 0; o < s->oh; o++)
        for (int k = 0; k < s->kh; k++) {
            int i = o * s->sh - s->ph + k;
            d->row_in[o * s->kh + k] = i >= 0 && i < s->ih ? i : -1;
        }
    for (int o = 0; o < s->ow; o++)
        for (int k = 0; k < s->kw; k++) {
            int i = o * s->sw - s->pw + k;
            d->col_in[o * s->kw + k] = i >= 0 && i < s->iw ? i : -1;
            if (i >= 0 && i < s->iw) d->col_mask[o] |= 1u << k;
        }
}

// Backward-data: dx (ih, iw) gathers dy ((ih + p - kh)/s, (iw + p - kw)/s) where the division is exact.
static int bwd_src(int i, int k, int p, int st, int n_out) {
    int t = i + p - k;
    if (t < 0 || t % st) return -1;
    return t / st < n_out ? t / st : -1;
}

static void bwd_maps(conv_dir *d, const sf_conv2d_shape *s) {
    dir_alloc_maps(d, s->kh, s->kw);
    for (int i = 0; i < s->ih; i++)
        for (int k = 0; k < s->kh; k++) d->row_in[i * s->kh + k] = bwd_src(i, k, s->ph, s->sh, s->oh);
    for (int i = 0; i < s->iw; i++)
        for (int k = 0; k < s->kw; k++) {
            int o = bwd_src(i, k, s->pw, s->sw, s->ow);
            d->col_in[i * s->kw + k] = o;
            if (o >= 0) d->col_mask[i] |= 1u << k;
        }
}

static size_t dir_w_floats(const conv_dir *d, int kk, int vb) {
    return (size_t)d->out_nb * vb * d->n_cb * kk * d->icb;
}

// The SGEMM path per direction, where the benchmark found it faster than the direct kernels on
// AVX-512 (bench conv --algo direct|gemm, interleaved with oneDNN): backward-data of strided 1x1
// convolutions, where the direct path runs a phase per stride with most dx
// pixels receiving nothing. Forward stays direct: the gather and scatter around the GEMM cost more than
// the blocked strip kernel loses anywhere in the seed's models or ResNet-50's 1x1 layers. So do first
// layers (plain x) in every direction: their GEMMs have a depth of 3*KH*KW or Co and move the whole
// patch matrix through memory (first-layer backward-data ran 4-5x slower that way). Backward-weights
// on maps of up to 3x3 pixels went to the GEMM until the direct path stopped adding per-thread partials
// there (wgrad_owned); since then direct is ahead on 2 threads (Zen 5: 2x on simple's 2x2 layer, 1.3x on
// best's 3x3 one, AVX2 1.2-1.4x) and within 10% either way on 1.
static void choose_paths(bool gemm[3], const sf_conv2d_shape *s, bool x_plain, sf_conv2d_algo algo) {
    bool forced = algo == SF_CONV_GEMM, autom = algo == SF_CONV_AUTO && !x_plain;
    gemm[0] = forced;
    gemm[1] = forced || (autom && s->kh * s->kw == 1 && (s->sh > 1 || s->sw > 1));
    gemm[2] = forced;
}

sf_conv2d_plan *sf_conv2d_plan_create(const sf_conv2d_shape *s, bool x_plain, bool deterministic) {
    return sf_conv2d_plan_create_algo(s, x_plain, deterministic, SF_CONV_AUTO);
}

sf_conv2d_plan *sf_conv2d_plan_create_algo(const sf_conv2d_shape *s, bool x_plain, bool deterministic,
                                           sf_conv2d_algo algo) {
    return sf_conv2d_plan_create_vb(s, x_plain, deterministic, algo, sf_vb());
}

// bf16: forward and backward-data on bf16 pairs (vb 16 on AVX-512; the caller checks); plain x (a first
// layer): forward only, on channel-pair planes (sf_bf16_pair_channels).
static sf_conv2d_plan *plan_create(const sf_conv2d_shape *s, bool x_plain, bool deterministic, sf_conv2d_algo algo,
                                   int vb, int xvb, bool bf16) {
    sf_conv2d_plan *p = sf_calloc(1, sizeof *p);
    p->s = *s;
    p->x_plain = x_plain;
    p->deterministic = deterministic;
    p->bf16 = bf16;
    const sf_isa kisa = isa_for_vb(vb);
    p->isa = isa_kernels(kisa);
    p->vb = vb;
    p->xvb = xvb;
    // An 8-lane first layer on AVX-512 runs its forward and backward-weights two pixels per zmm
    // (conv2d_pair8_avx512.c) instead of on the AVX2 kernels.
#if defined(__x86_64__)
    const bool pair8 = x_plain && vb == 8 && kernel_isa() == SF_ISA_AVX512;
#endif
    choose_paths(p->gemm, s, x_plain, algo);
    if (xvb != vb) p->gemm[0] = p->gemm[1] = p->gemm[2] = false;  // the GEMM path reads x in vb blocks
    if (bf16) p->gemm[0] = p->gemm[1] = false;                    // fp32 only; backward-weights is fp32 anyway
    p->any_gemm = p->gemm[0] || p->gemm[1] || p->gemm[2];
    p->nthr = imax(sf_threads(), omp_get_max_threads());
    if (p->any_gemm) sf_conv_gemm_init(&p->gm, s, vb, x_plain, p->gemm, p->nthr);
    p->cbi = sf_cblocks(s->ci, x_plain ? vb : xvb);
    p->cbo = sf_cblocks(s->co, vb);
    int kk = s->kh * s->kw;
    int pref_ocb = p->isa->pref_ocb, across = p->isa->across_below;
    sf_conv_get_tuning(kisa, sf_conv_class_of(s, x_plain), &pref_ocb, &across);

    // A bf16 direction counts its input in 32-bit slots, each a pair of adjacent channels: vb/2 per block,
    // or one per plane of plain x, whose "blocks" are then the ceil(Ci/2) channel pairs.
    const int slots = vb / 2;
    conv_dir *f = &p->fwd;
    f->icb = x_plain ? 1 : bf16 ? slots : xvb;
    f->n_cb = x_plain ? (bf16 ? cdiv(s->ci, 2) : s->ci) : p->cbi;
    f->icb_last = x_plain ? 1 : bf16 ? cdiv(s->ci - (p->cbi - 1) * vb, 2) : s->ci - (p->cbi - 1) * xvb;
    f->in_h = s->ih;
    f->in_w = s->iw;
    f->in_pix = x_plain ? 1 : bf16 ? slots : xvb;
    f->in_cbs = (ptrdiff_t)s->ih * s->iw * f->in_pix;
    f->in_is = f->in_cbs * f->n_cb;
    f->out_nb = p->cbo;
    f->out_h = s->oh;
    f->out_w = s->ow;
    f->step = 1;
    f->in_step = s->sw;
    fwd_maps(f, s);
    pick_blocking(f, p->isa, pref_ocb, across, s->n);
    // Rows of 3 columns at stride 1 into one output block: the ISA's row-sharing strip, if it has one.
    bool rows3 = !bf16 && s->sw == 1 && s->kw == 3 && f->ocb == 1;
    f->row3 = rows3 && x_plain ? p->isa->row3 : NULL;
    f->row3b = rows3 && !x_plain ? p->isa->row3b : NULL;
    // One image per work item: consecutive items then run consecutive output rows of one image, whose
    // shared input rows are still in L1, where a chunk of ur images ran a row of each image in turn and
    // read every input row from L2 three times. SimpleCnn conv1-2 on AVX-512 measured 0.66-0.79x ->
    // 0.77-0.87x oneDNN with it. The cost is that short row leftovers run in the row (no strips across
    // images); backward-data, whose rows were shorter, measured slower that way and keeps its chunk.
    if (f->row3 || f->row3b) f->ur = p->isa->row3_ur, f->chunk = 1;
#if defined(__x86_64__)
    if (f->row3 && pair8) f->row3_pairs = sf_conv_row3_pair8_avx512, f->ur = 2 * SF_CONV_PAIR8_MAX_NP;
#endif
    balance_rows(f, s->n, p->nthr);
    order_items(f, s->n, kk, vb, p->nthr);
    f->w_off = 0;
    f->w_floats = dir_w_floats(f, kk, vb);

    conv_dir *b = &p->bwd;
    b->icb = bf16 ? slots : vb;
    b->n_cb = p->cbo;
    b->icb_last = bf16 ? cdiv(s->co - (p->cbo - 1) * vb, 2) : s->co - (p->cbo - 1) * vb;
    b->in_h = s->oh;
    b->in_w = s->ow;
    b->in_pix = b->icb;
    b->in_cbs = (ptrdiff_t)s->oh * s->ow * b->in_pix;
    b->in_is = b->in_cbs * p->cbo;
    b->out_nb = p->cbi;
    b->out_h = s->ih;
    b->out_w = s->iw;
    b->step = s->sw;
    b->in_step = 1;
    bwd_maps(b, s);
    pick_blocking(b, p->isa, pref_ocb, across, s->n);
    // Backward-data of the same shape into one block of dx: the blocked row-sharing strip.
    b->row3b = !bf16 && !x_plain && s->sw == 1 && s->kw == 3 && b->ocb == 1 ? p->isa->row3b : NULL;
    if (b->row3b) b->ur = p->isa->row3_ur, b->chunk = imin(s->n, b->ur);
    if (!x_plain) pick_passes(b, kk, vb);
    if (b->cb_pass < b->n_cb) balance_chunks(b, s->n, p->nthr);
    else balance_rows(b, s->n, p->nthr);
    if (b->cb_pass == b->n_cb) order_items(b, s->n, kk, vb, p->nthr);
    b->w_off = f->w_floats;
    b->w_floats = dir_w_floats(b, kk, vb);

    p->w_chunk = imin(s->n, imax(1, cdiv(256, s->oh * s->ow)));
    p->bias_pad = sf_aligned_alloc(sizeof(float) * (size_t)p->cbo * vb);
    if (x_plain && !bf16) p->row_buf = sf_aligned_alloc(sizeof(float) * (size_t)p->nthr * b->chunk * b->ocb * s->iw * vb);
    p->wpart_floats = (size_t)p->cbo * p->cbi * kk * vb * vb;
    p->wpart = sf_aligned_alloc(sizeof(float) * p->wpart_floats * p->nthr);
    p->bpart_stride = ((size_t)p->cbo * vb + 15) / 16 * 16;
    p->bpart = sf_aligned_alloc(sizeof(float) * p->bpart_stride * p->nthr);
    p->taps_stride = (2 * kk + 7) / 8 * 8;
    p->taps = sf_aligned_alloc(sizeof(ptrdiff_t) * (size_t)p->taps_stride * p->nthr);
    // Plain dx with few channels: dot products over dy's channel blocks, all lanes busy.
    p->bplain = !bf16 && x_plain && !p->gemm[1] && p->isa->bwd_plain && s->ci <= SF_CONV_BPLAIN_MAX_CI;
    p->bplain_ur = p->bplain ? p->isa->bplain_ur[s->ci] : 0;
    p->bp_ci = s->ci;
#if defined(__x86_64__)
    // Blocked dx of at most 8 channels in 16-lane blocks (after an 8-lane first layer): dot products keep
    // all 16 lanes busy, where the strip kernel's FMAs would be half padding.
    if (!bf16 && !x_plain && !p->gemm[1] && vb == 16 && s->ci <= 8 && kernel_isa() == SF_ISA_AVX512)
        p->bplain = p->bdot8 = true, p->bplain_ur = SF_CONV_DOT8_UR, p->bp_ci = 8;
#endif
    p->bp_w_off = f->w_floats + b->w_floats;
    p->gemm_w_off = p->bp_w_off + (p->bplain ? (size_t)p->cbo * kk * p->bp_ci * vb : 0);
    // Each direction's own tile ("_row3": its full strips take the row-sharing kernel); backward-weights
    // runs the weight-gradient tiles.
    f->direct = b->direct = p->isa->direct;
#if defined(__x86_64__)
    if (bf16) f->direct = b->direct = sf_conv_direct_bf16_avx512;
#endif
    char direct[3][32];
    const conv_dir *dd[2] = {f, b};
    for (int d = 0; d < 2; d++)
        snprintf(direct[d], sizeof direct[d], "direct_%s_%dx%d%s",
                 dd[d]->row3_pairs ? "avx512" : bf16 ? "avx512bf16" : p->isa->name,
                 dd[d]->ur, dd[d]->ocb, dd[d]->row3_pairs ? "_pair8" : dd[d]->row3 || dd[d]->row3b ? "_row3" : "");
    if (p->bplain) snprintf(direct[1], sizeof direct[1], "direct_%s_dot%dx%d", p->isa->name, p->bplain_ur, p->bp_ci);
    p->wgrad_plain = p->isa->wgrad_plain;
    snprintf(direct[2], sizeof direct[2], "direct_%s_wgrad", p->isa->name);
#if defined(__x86_64__)
    if (pair8 && s->sw == 1) {  // its input pairs are adjacent floats at stride 1 only
        p->wgrad_plain = sf_conv_wgrad_plain_pair8_avx512;
        snprintf(direct[2], sizeof direct[2], "direct_avx512_pair8_wgrad");
    }
#endif
    char gemm[32] = "", gemm_items[32] = "";
    if (p->any_gemm) snprintf(gemm, sizeof gemm, "gemm_chunk%d", p->gm.chunk);
    if (p->any_gemm) snprintf(gemm_items, sizeof gemm_items, "gemm_item%d", p->gm.item);
    for (int d = 0; d < 3; d++)
        snprintf(p->dir_algo[d], sizeof p->dir_algo[d], "%.31s",
                 !p->gemm[d] ? direct[d] : d == 1 && p->gm.item ? gemm_items : gemm);
    snprintf(p->algo, sizeof p->algo, "%s%s%s%s", direct[0], p->gemm[0] ? "+gemm_fwd" : "", p->gemm[1] ? "+gemm_bwd_d" : "",
             p->gemm[2] ? "+gemm_bwd_w" : "");
    return p;
}

sf_conv2d_plan *sf_conv2d_plan_create_vb(const sf_conv2d_shape *s, bool x_plain, bool deterministic,
                                         sf_conv2d_algo algo, int vb) {
    return plan_create(s, x_plain, deterministic, algo, vb, vb, false);
}

bool sf_conv2d_narrow_x_ok(const sf_conv2d_shape *s, int vb, int xvb) {
#if defined(__x86_64__)
    return kernel_isa() == SF_ISA_AVX512 && vb == 16 && xvb == 8 && s->ci <= xvb;
#else
    (void)s, (void)vb, (void)xvb;
    return false;
#endif
}

sf_conv2d_plan *sf_conv2d_plan_create_narrow_x(const sf_conv2d_shape *s, bool deterministic, int vb, int xvb) {
    if (!sf_conv2d_narrow_x_ok(s, vb, xvb))
        sf_die("conv2d: no kernels for x in %d-lane blocks (%d channels) and y in %d-lane blocks on the %s path", xvb,
               s->ci, vb, sf_isa_name(kernel_isa()));
    sf_conv2d_plan *p = plan_create(s, false, deterministic, SF_CONV_AUTO, vb, xvb, false);
    if (!p->bdot8) sf_die("conv2d: a narrow-input plan needs the dot-product backward-data");
    return p;
}

// The weight packing gathers one (output block, input block) tile of up to 7x7 taps in a stack buffer.
#define BF16_MAX_TAPS 49

bool sf_conv2d_bf16_ok(const sf_conv2d_shape *s) {
    return sf_bf16_supported() && kernel_isa() == SF_ISA_AVX512 && s->kh * s->kw <= BF16_MAX_TAPS;
}

sf_conv2d_plan *sf_conv2d_plan_create_bf16(const sf_conv2d_shape *s, bool x_plain, bool deterministic) {
    if (!sf_conv2d_bf16_ok(s))
        sf_die("conv2d: no bf16 kernels for a %dx%d kernel on this CPU or path (%s; bf16 needs AVX512_BF16 and at "
               "most %d taps)", s->kh, s->kw, sf_isa_name(kernel_isa()), BF16_MAX_TAPS);
    sf_conv2d_plan *p = plan_create(s, x_plain, deterministic, SF_CONV_AUTO, 16, 16, true);
#if defined(__x86_64__)
    // Backward-weights: the fp32 driver on ceil(N/2) "images" of slots (each a pair of real images' bf16
    // values), direct only (the GEMM path would read the slots as floats), with the pair kernels; plain x
    // pairs up the same way, as plain planes of slots.
    sf_conv2d_shape sp = *s;
    sp.n = (s->n + 1) / 2;
    p->wplan = plan_create(&sp, x_plain, deterministic, SF_CONV_DIRECT, 16, 16, false);
    p->wplan->isa = &sf_conv_isa_avx512bf16_pairs;
    p->wplan->wgrad_plain = sf_conv_isa_avx512bf16_pairs.wgrad_plain;
    p->wplan->pairs = true;
    snprintf(p->dir_algo[2], sizeof p->dir_algo[2], "direct_avx512bf16_wgrad");
#endif
    return p;
}

void sf_conv2d_plan_destroy(sf_conv2d_plan *p) {
    if (!p) return;
    sf_conv2d_plan_destroy(p->wplan);
    if (p->any_gemm) sf_conv_gemm_free(&p->gm);
    conv_dir *dirs[2] = {&p->fwd, &p->bwd};
    for (int i = 0; i < 2; i++) {
        free(dirs[i]->row_in);
        free(dirs[i]->col_in);
        free(dirs[i]->col_mask);
    }
    sf_free_aligned(p->bias_pad);
    sf_free_aligned(p->row_buf);
    sf_free_aligned(p->wpart);
    sf_free_aligned(p->bpart);
    sf_free_aligned(p->taps);
    free(p);
}

const char *sf_conv2d_plan_algo(const sf_conv2d_plan *p) { return p->algo; }

const char *sf_conv2d_plan_dir_algo(const sf_conv2d_plan *p, int dir) {
    if (dir < 0 || dir > 2) sf_die("conv2d: direction %d is not 0 (forward), 1 (backward-data) or 2 (backward-weights)", dir);
    return p->dir_algo[dir];
}

size_t sf_conv2d_packed_weights_floats(const sf_conv2d_plan *p) {
    return p->gemm_w_off + (p->any_gemm ? (size_t)p->s.co * p->gm.k : 0);
}

// Packs one direction: group og of ocb output blocks holds [cb][kh][kw][i][o][lane] (g <= ocb blocks in
// the last group), zero outside the real channels. transpose: the direction's outputs are the input
// channels of the convolution (backward-data), so w (Co,Ci,KH,KW) is read transposed. Training packs
// on every step, so the loops go one (output block, input block) tile at a time: each tile reads
// vb x icb runs of KH*KW consecutive weights, which stay in L1 while they are spread out.
static void pack_dir(const sf_conv2d_plan *p, const conv_dir *d, float *dst, const float *w, bool transpose) {
    const sf_conv2d_shape *s = &p->s;
    int vb = p->vb, kk = s->kh * s->kw;
    int n_out = transpose ? s->ci : s->co, n_in = transpose ? s->co : s->ci;
    size_t per_block = (size_t)d->n_cb * kk * d->icb * vb;
    if (n_out % vb || n_in % d->icb) memset(dst, 0, sizeof(float) * d->w_floats);
#pragma omp parallel for collapse(2) schedule(static) num_threads(sf_threads())
    for (int ob = 0; ob < d->out_nb; ob++)
        for (int cb = 0; cb < d->n_cb; cb++) {
            int og = ob / d->ocb, o = ob % d->ocb, g = imin(d->ocb, d->out_nb - og * d->ocb);
            ptrdiff_t k_step = (ptrdiff_t)d->icb * g * vb;
            float *tile = dst + (size_t)og * d->ocb * per_block + (size_t)cb * kk * k_step + o * vb;
            for (int l = 0; l < vb && ob * vb + l < n_out; l++)
                for (int i = 0; i < d->icb && cb * d->icb + i < n_in; i++) {
                    int oc = ob * vb + l, ic = cb * d->icb + i;
                    int co = transpose ? ic : oc, ci = transpose ? oc : ic;
                    const float *src = w + ((size_t)co * s->ci + ci) * kk;
                    float *t = tile + (ptrdiff_t)i * g * vb + l;
                    for (int k = 0; k < kk; k++) t[k * k_step] = src[k];
                }
        }
}

// w_oihw is (Co,Ci,KH,KW); wp receives the forward weights then the transposed backward-data weights.
void sf_conv2d_pack_weights(const sf_conv2d_plan *p, float *wp, const float *w_oihw) {
    if (p->bf16) sf_die("conv2d: sf_conv2d_pack_weights on a bf16 plan (sf_conv2d_pack_weights_bf16)");
    if (p->any_gemm) sf_conv_gemm_pack(&p->gm, wp + p->gemm_w_off, w_oihw);
    pack_dir(p, &p->fwd, wp + p->fwd.w_off, w_oihw, false);
    pack_dir(p, &p->bwd, wp + p->bwd.w_off, w_oihw, true);
    if (p->bplain) {
        // [ob][kh][kw][c][lane] for c < bp_ci: lane l of block ob is output channel ob*vb + l (zero beyond
        // Co and Ci).
        const sf_conv2d_shape *s = &p->s;
        int vb = p->vb, kk = s->kh * s->kw, nc = p->bp_ci;
        float *dst = wp + p->bp_w_off;
        for (int ob = 0; ob < p->cbo; ob++)
            for (int k = 0; k < kk; k++)
                for (int c = 0; c < nc; c++)
                    for (int l = 0; l < vb; l++) {
                        int o = ob * vb + l;
                        dst[(((size_t)ob * kk + k) * nc + c) * vb + l] =
                            o < s->co && c < s->ci ? w_oihw[((size_t)o * s->ci + c) * kk + k] : 0.0f;
                    }
    }
}

// pack_dir for a bf16 direction: the same tiles in 32-bit slots, slot i of input block cb holding the
// bf16 weights of its input channels cb*cin + 2i (low half) and 2i + 1 (high half), as vdpbf16ps pairs them;
// cin = 2*icb channels per block (16; 2 for the channel pairs of plain x). Each (output block, input block)
// tile is gathered in fp32 first, (KH*KW, cin, vb out), then its channel pairs are rounded and interleaved
// 16 lanes at a time (one element at a time took twice the fp32 packing).
static void pack_dir_bf16(const sf_conv2d_plan *p, const conv_dir *d, uint16_t *dst, const float *w, bool transpose) {
    const sf_conv2d_shape *s = &p->s;
    int vb = p->vb, kk = s->kh * s->kw, cin = 2 * d->icb;
    int n_out = transpose ? s->ci : s->co, n_in = transpose ? s->co : s->ci;
    size_t per_block = (size_t)d->n_cb * kk * d->icb * vb;
    if (n_out % vb || n_in % cin) memset(dst, 0, 2 * sizeof(uint16_t) * d->w_floats);
#pragma omp parallel for collapse(2) schedule(static) num_threads(sf_threads())
    for (int ob = 0; ob < d->out_nb; ob++)
        for (int cb = 0; cb < d->n_cb; cb++) {
            int og = ob / d->ocb, o = ob % d->ocb, g = imin(d->ocb, d->out_nb - og * d->ocb);
            ptrdiff_t k_step = (ptrdiff_t)d->icb * g * vb;
            size_t tile = (size_t)og * d->ocb * per_block + (size_t)cb * kk * k_step + o * vb;
            float buf[BF16_MAX_TAPS * 16 * 16];  // (kk, cin, vb out), zero outside the real channels
            memset(buf, 0, sizeof(float) * (size_t)kk * cin * vb);
            for (int l = 0; l < vb && ob * vb + l < n_out; l++)
                for (int c = 0; c < cin && cb * cin + c < n_in; c++) {
                    int oc = ob * vb + l, ic = cb * cin + c;
                    int co = transpose ? ic : oc, ci = transpose ? oc : ic;
                    const float *src = w + ((size_t)co * s->ci + ci) * kk;
                    for (int k = 0; k < kk; k++) buf[((size_t)k * cin + c) * vb + l] = src[k];
                }
            for (int k = 0; k < kk; k++)
                for (int i = 0; i < d->icb; i++) {
                    const float *lo = buf + ((size_t)k * cin + 2 * i) * vb, *hi = lo + vb;
                    uint16_t *t = dst + 2 * (tile + k * k_step + (size_t)i * g * vb);
#if defined(__x86_64__)
                    sf_bf16_interleave2_avx512(t, lo, hi, (size_t)vb);
#else
                    for (int l = 0; l < vb; l++) t[2 * l] = sf_bf16_round(lo[l]), t[2 * l + 1] = sf_bf16_round(hi[l]);
#endif
                }
        }
}

size_t sf_conv2d_packed_weights_bf16(const sf_conv2d_plan *p) {
    if (!p->bf16) sf_die("conv2d: sf_conv2d_packed_weights_bf16 on an fp32 plan");
    return 2 * (p->fwd.w_floats + p->bwd.w_floats);
}

void sf_conv2d_pack_weights_bf16(const sf_conv2d_plan *p, uint16_t *wp, const float *w_oihw) {
    if (!p->bf16) sf_die("conv2d: sf_conv2d_pack_weights_bf16 on an fp32 plan");
    pack_dir_bf16(p, &p->fwd, wp, w_oihw, false);
    if (!p->x_plain) pack_dir_bf16(p, &p->bwd, wp + 2 * p->fwd.w_floats, w_oihw, true);  // plain: no backward-data
}

// The run of columns c, c + step, ... (one stride phase) whose valid kernel columns (col_mask) are c's.
static int col_run(const conv_dir *d, int c) {
    unsigned m = d->col_mask[c];
    int len = 1;
    while (c + len * d->step < d->out_w && d->col_mask[c + len * d->step] == m) len++;
    return len;
}

// The valid taps of output column c in the row whose input rows are row_in (kh of them, -1 = padding):
// tap_in, the input offset of each (d->in_pix floats per input pixel), and tap_w, its weight offset
// (w_tap floats per tap). Returns their count.
static int row_taps(ptrdiff_t *tap_in, ptrdiff_t *tap_w, const sf_conv2d_shape *s, const conv_dir *d,
                    const int *row_in, int c, ptrdiff_t w_tap) {
    unsigned m = d->col_mask[c];
    int nt = 0;
    for (int kh = 0; kh < s->kh; kh++) {
        if (row_in[kh] < 0) continue;
        for (int kw = 0; kw < s->kw; kw++) {
            if (!(m >> kw & 1)) continue;
            tap_in[nt] = ((ptrdiff_t)row_in[kh] * d->in_w + d->col_in[c * s->kw + kw]) * d->in_pix;
            tap_w[nt] = (kh * s->kw + kw) * w_tap;
            nt++;
        }
    }
    return nt;
}

// Output row r of nimg images (image strides in_is, out_is) for the group of g output blocks at out
// (block stride out_cbs, pixel stride vb). Columns with the same valid taps form runs; a run goes in row
// strips of ur pixels per image, and what is left of it in strips across the images, column by column.
// Sums input blocks c0 .. c0+nc-1 only: the first pass (c0 = 0) starts from the bias, later ones add to out.
static void run_row(const sf_conv2d_plan *p, const conv_dir *d, float *out, ptrdiff_t out_cbs, ptrdiff_t out_is,
                    const float *in, const float *w, const float *bias, int g, int r, int nimg, int c0, int nc,
                    ptrdiff_t *taps) {
    const sf_conv2d_shape *s = &p->s;
    int vb = p->vb;
    ptrdiff_t *tap_in = taps, *tap_w = taps + s->kh * s->kw, in_ps = (ptrdiff_t)d->in_step * d->in_pix;
    ptrdiff_t w_cb = (ptrdiff_t)s->kh * s->kw * d->icb * g * vb;
    sf_conv_kargs a = {
        .w = w + c0 * w_cb, .bias = c0 ? NULL : bias, .accum = c0 > 0, .n_cb = nc, .icb = d->icb,
        .icb_last = c0 + nc == d->n_cb ? d->icb_last : d->icb, .in_cbs = d->in_cbs, .w_cb = w_cb,
        .out_cbs = out_cbs, .tap_in = tap_in, .tap_w = tap_w,
    };
    in += c0 * d->in_cbs;
    const int *row_in = d->row_in + (size_t)r * s->kh;
    for (int phase = 0; phase < d->step; phase++) {
        int c = phase;
        while (c < d->out_w) {
            unsigned m = d->col_mask[c];
            int len = col_run(d, c);
            a.n_taps = row_taps(tap_in, tap_w, s, d, row_in, c, (ptrdiff_t)d->icb * g * vb);
            // Plain input with every column of the kernel row valid: tap offsets step by one input float.
            a.row_kw = d->in_pix == 1 && m == (1u << s->kw) - 1 ? s->kw : 0;
            // Stride 1 with all 3 kernel columns valid: strips go to the row-sharing kernels (row3: full strips
            // of plain input; row3_pairs: pixel pairs of an 8-lane first layer; row3b: blocked input).
            bool row3 = (d->row3 || d->row3b) && m == 7u;
            int rem = len % d->ur, full = len - rem;
            // A leftover with too few accumulators to hide the FMA latency fills more registers across
            // images; a longer one stays in the row, whose input is contiguous (strips across many
            // images touch a page per image and run slower in the benchmark).
            bool across = rem > 0 && nimg > rem && rem * g < d->across;
            int row_end = across ? full : len;
            a.in_ps = in_ps;
            a.out_ps = (ptrdiff_t)d->step * vb;
            for (int i = 0; i < nimg; i++)
                for (int j = 0; j < row_end; j += d->ur) {
                    a.in = in + i * d->in_is + j * in_ps;
                    a.out = out + i * out_is + (ptrdiff_t)(c + j * d->step) * vb;
                    int n = imin(d->ur, row_end - j);
                    if (row3 && d->row3_pairs && n >= 2) {
                        d->row3_pairs(&a, n / 2);
                        if (n % 2) {
                            a.in += (n - 1) * in_ps;
                            a.out += (ptrdiff_t)(n - 1) * d->step * vb;
                            d->direct(&a, 1, g);
                        }
                    } else if (row3 && d->row3b && n >= p->isa->row3b_min_ur) d->row3b(&a, n);
                    else if (row3 && d->row3 && n == d->ur) d->row3(&a);
                    else d->direct(&a, n, g);
                }
            if (across) {
                a.in_ps = d->in_is;
                a.out_ps = out_is;
                for (int j = full; j < len; j++) {
                    a.in = in + j * in_ps;
                    a.out = out + (ptrdiff_t)(c + j * d->step) * vb;
                    d->direct(&a, nimg, g);
                }
            }
            c += len * d->step;
        }
    }
}

// One direction over work items (chunk of images, group of output blocks, output row); plain dx goes
// through row_buf.
static void run_dir(const sf_conv2d_plan *p, const conv_dir *d, float *out, const float *in, const float *w_dir,
                    const float *bias) {
    const sf_conv2d_shape *s = &p->s;
    int vb = p->vb, ng = cdiv(d->out_nb, d->ocb), nthr = imin(sf_threads(), p->nthr);
    int nb = cdiv(s->n, d->chunk), kk = s->kh * s->kw;
    ptrdiff_t out_cbs = (ptrdiff_t)d->out_h * d->out_w * vb, out_is = out_cbs * d->out_nb;
    size_t per_block = (size_t)d->n_cb * kk * d->icb * vb;
    bool via_buf = d == &p->bwd && p->x_plain;
    if (d->cb_pass < d->n_cb) {  // passes over the input blocks: a work item owns all rows of its outputs
#pragma omp parallel for collapse(2) schedule(static) num_threads(nthr)
        for (int b = 0; b < nb; b++)
            for (int og = 0; og < ng; og++) {
                int t = omp_get_thread_num(), g = imin(d->ocb, d->out_nb - og * d->ocb);
                int n0 = b * d->chunk, nimg = imin(d->chunk, s->n - n0);
                const float *w = w_dir + og * d->ocb * per_block, *bg = bias ? bias + og * d->ocb * vb : NULL;
                float *o = out + n0 * out_is + (og * d->ocb) * out_cbs;
                for (int c0 = 0; c0 < d->n_cb; c0 += d->cb_pass)
                    for (int r = 0; r < d->out_h; r++)
                        run_row(p, d, o + (ptrdiff_t)r * d->out_w * vb, out_cbs, out_is, in + n0 * d->in_is, w, bg, g,
                                r, nimg, c0, imin(d->cb_pass, d->n_cb - c0), p->taps + t * p->taps_stride);
            }
        return;
    }
    const int items = nb * ng * d->out_h;
#pragma omp parallel for schedule(static) num_threads(nthr)
    for (int it = 0; it < items; it++) {
        int r = it % d->out_h, q = it / d->out_h;
        int b = d->groups_outer ? q % nb : q / ng, og = d->groups_outer ? q / nb : q % ng;
        int t = omp_get_thread_num(), g = imin(d->ocb, d->out_nb - og * d->ocb);
        int n0 = b * d->chunk, nimg = imin(d->chunk, s->n - n0);
        const float *w = w_dir + og * d->ocb * per_block, *bg = bias ? bias + og * d->ocb * vb : NULL;
        const float *in_b = in + n0 * d->in_is;
        ptrdiff_t *taps = p->taps + t * p->taps_stride;
        if (!via_buf) {
            float *o = out + n0 * out_is + (og * d->ocb) * out_cbs + (ptrdiff_t)r * d->out_w * vb;
            run_row(p, d, o, out_cbs, out_is, in_b, w, bg, g, r, nimg, 0, d->n_cb, taps);
            continue;
        }
        // Plain dx: compute the rows blocked, then scatter their real channels.
        ptrdiff_t buf_cbs = (ptrdiff_t)s->iw * vb, buf_is = buf_cbs * d->ocb;
        float *buf = p->row_buf + (size_t)t * d->chunk * buf_is;
        run_row(p, d, buf, buf_cbs, buf_is, in_b, w, NULL, g, r, nimg, 0, d->n_cb, taps);
        for (int i = 0; i < nimg; i++)
            for (int o = 0; o < g; o++)
                for (int l = 0; l < vb; l++) {
                    int c = (og * d->ocb + o) * vb + l;
                    if (c >= s->ci) break;
                    float *drow = out + (((size_t)(n0 + i) * s->ci + c) * s->ih + r) * s->iw;
                    const float *src = buf + i * buf_is + o * buf_cbs + l;
                    for (int col = 0; col < s->iw; col++) drow[col] = src[(size_t)col * vb];
                }
    }
}

// x (layout of the plan), y blocked (N,Co,OH,OW), bias (Co) or NULL
void sf_conv2d_forward(const sf_conv2d_plan *p, float *y, const float *x, const float *wp, const float *bias) {
    if (p->bf16) sf_die("conv2d: sf_conv2d_forward on a bf16 plan (sf_conv2d_forward_bf16)");
    if (p->gemm[0]) {
        sf_conv_gemm_forward(&p->gm, y, x, wp + p->gemm_w_off, bias);
        return;
    }
    if (bias) {
        memset(p->bias_pad, 0, sizeof(float) * (size_t)p->cbo * p->vb);
        memcpy(p->bias_pad, bias, sizeof(float) * (size_t)p->s.co);
    }
    run_dir(p, &p->fwd, y, x, wp + p->fwd.w_off, bias ? p->bias_pad : NULL);
}

// Backward-data into plain dx by dot products (isa->bwd_plain): work items are (image, dx row); each
// row goes in stride phases and runs of columns with the same valid taps (col_run, row_taps), in strips of
// up to bplain_ur pixels that sum over every dy block at once and write dx directly.
static void run_bwd_plain(const sf_conv2d_plan *p, float *dx, const float *dy, const float *wb) {
    const sf_conv2d_shape *s = &p->s;
    const conv_dir *d = &p->bwd;
    int vb = p->vb, kk = s->kh * s->kw, nthr = imin(sf_threads(), p->nthr);
    ptrdiff_t dy_cbs = (ptrdiff_t)s->oh * s->ow * vb;
#pragma omp parallel for collapse(2) schedule(static) num_threads(nthr)
    for (int i = 0; i < s->n; i++)
        for (int r = 0; r < s->ih; r++) {
            ptrdiff_t *tap_in = p->taps + omp_get_thread_num() * p->taps_stride, *tap_w = tap_in + kk;
            const int *row_in = d->row_in + (size_t)r * s->kh;
            // Plain dx: channel planes, pixels 1 float apart; blocked (bdot8): one block, pixels xvb apart.
            int px = p->bdot8 ? p->xvb : 1;
            sf_conv_bpargs a = {
                .n_b = p->cbo, .dx_cs = p->bdot8 ? 1 : (ptrdiff_t)s->ih * s->iw, .dx_ps = (ptrdiff_t)d->step * px,
                .dx_vb = px,
                .dy_cbs = dy_cbs, .dy_ps = vb, .w = wb, .w_bs = (ptrdiff_t)kk * p->bp_ci * vb, .tap_in = tap_in,
                .tap_w = tap_w,
            };
            float *dx_row = dx + (size_t)i * (p->bdot8 ? p->xvb : s->ci) * s->ih * s->iw + (size_t)r * s->iw * px;
            const float *dy_img = dy + (size_t)i * p->cbo * dy_cbs;
            for (int phase = 0; phase < d->step; phase++) {
                int c = phase;
                while (c < s->iw) {
                    int len = col_run(d, c);
                    a.n_taps = row_taps(tap_in, tap_w, s, d, row_in, c, (ptrdiff_t)p->bp_ci * vb);
                    for (int j = 0; j < len; j += p->bplain_ur) {
                        a.dx = dx_row + (ptrdiff_t)(c + j * d->step) * px;
                        a.dy = dy_img + (ptrdiff_t)j * vb;
#if defined(__x86_64__)
                        if (p->bdot8) {
                            sf_conv_bwd_dot8_avx512(&a, imin(p->bplain_ur, len - j));
                            continue;
                        }
#endif
                        p->isa->bwd_plain(&a, imin(p->bplain_ur, len - j), s->ci);
                    }
                    c += len * d->step;
                }
            }
        }
}

// dy blocked (N,Co,OH,OW), dx (layout of x) (N,Ci,H,W)
void sf_conv2d_backward_data(const sf_conv2d_plan *p, float *dx, const float *dy, const float *wp) {
    if (p->bf16) sf_die("conv2d: sf_conv2d_backward_data on a bf16 plan (sf_conv2d_backward_data_bf16)");
    if (p->gemm[1]) {
        sf_conv_gemm_backward_data(&p->gm, dx, dy, wp + p->gemm_w_off);
        return;
    }
    if (p->bplain) {
        run_bwd_plain(p, dx, dy, wp + p->bp_w_off);
        return;
    }
    run_dir(p, &p->bwd, dx, dy, wp + p->bwd.w_off, NULL);
}

// The bf16 directions run the fp32 driver on 32-bit slots: x, dy and the packed weights are passed as
// float pointers for their addresses only; the bf16 kernel reads them as pairs.
void sf_conv2d_forward_bf16(const sf_conv2d_plan *p, float *y, const uint16_t *x, const uint16_t *wp,
                            const float *bias) {
    if (!p->bf16) sf_die("conv2d: sf_conv2d_forward_bf16 on an fp32 plan");
    if (bias) {
        memset(p->bias_pad, 0, sizeof(float) * (size_t)p->cbo * p->vb);
        memcpy(p->bias_pad, bias, sizeof(float) * (size_t)p->s.co);
    }
    run_dir(p, &p->fwd, y, (const float *)(const void *)x, (const float *)(const void *)wp + p->fwd.w_off,
            bias ? p->bias_pad : NULL);
}

void sf_conv2d_backward_data_bf16(const sf_conv2d_plan *p, float *dx, const uint16_t *dy, const uint16_t *wp) {
    if (!p->bf16) sf_die("conv2d: sf_conv2d_backward_data_bf16 on an fp32 plan");
    if (p->x_plain) sf_die("conv2d: no bf16 backward-data into plain dx (a first layer's input; use an fp32 plan)");
    run_dir(p, &p->bwd, dx, (const float *)(const void *)dy, (const float *)(const void *)wp + p->fwd.w_floats,
            NULL);
}

// Output columns whose input column ow*s - p + kw lies inside the input.
static int wcol_lo(const sf_conv2d_shape *s, int kw) { return imax(0, cdiv(s->pw - kw, s->sw)); }
static int wcol_hi(const sf_conv2d_shape *s, int kw) { return imin(s->ow - 1, fdiv(s->iw - 1 + s->pw - kw, s->sw)); }

// Points a at output columns [c0, c1] and kernel column kw of one kernel row; false when empty.
static bool wgrad_cols(const sf_conv2d_plan *p, sf_conv_wargs *a, float *tile_kh, const float *x_kh,
                       const float *dy_kh, int kw, int c0, int c1) {
    const sf_conv2d_shape *s = &p->s;
    if (c1 < c0) return false;
    a->tile = tile_kh + (size_t)kw * p->vb * p->vb;
    a->x = x_kh + (ptrdiff_t)(c0 * s->sw - s->pw + kw) * (p->x_plain ? 1 : p->xvb);
    a->dy = dy_kh + (ptrdiff_t)c0 * p->vb;
    a->cols = c1 - c0 + 1;
    return true;
}

// acc[vb] += the sum over nimg images (is floats apart) of npix pixels of d (npix, vb). Four rows at a
// time into separate sums: one chain of dependent adds per lane made this loop a quarter of the first
// layers' backward-weights. All images in one call: on a 2x2 map a call per image cost more in
// clearing and folding the four sums than the adds.
static void sum_pixels(float *acc, const float *d, int npix, int vb, int nimg, ptrdiff_t is) {
    float part[4][64] = {{0}};
    for (int n = 0; n < nimg; n++) {
        const float *dn = d + n * is;
        int q = 0;
        for (; q + 4 <= npix; q += 4)
            for (int r = 0; r < 4; r++)
#pragma omp simd
                for (int l = 0; l < vb; l++) part[r][l] += dn[(size_t)(q + r) * vb + l];
        for (; q < npix; q++)
            for (int l = 0; l < vb; l++) part[0][l] += dn[(size_t)q * vb + l];
    }
    for (int l = 0; l < vb; l++) acc[l] += (part[0][l] + part[1][l]) + (part[2][l] + part[3][l]);
}

// The weight-gradient kernel for the a->ocb output blocks a points at (tiles a->tile_cbs apart, dy
// a->dy_cbs): all at once where the ISA has wgrad_multi and a is a whole block of blocked input, else one
// by one.
static void wgrad_blocks(const sf_conv2d_plan *p, const sf_conv_wargs *a) {
    if (a->ocb >= 2 && p->isa->wgrad_multi && a->nic == p->vb && a->x_cs == 1) {
        p->isa->wgrad_multi(a);
        return;
    }
    for (int o = 0; o < a->ocb; o++) {
        sf_conv_wargs b = *a;
        b.tile += o * a->tile_cbs;
        b.dy += o * a->dy_cbs;
        p->isa->wgrad(&b);
    }
}

// Output blocks per backward-weights work item: the groups of wgrad_multi (blocked input), else 1.
static int wgrad_groups(const sf_conv2d_plan *p) {
    return p->isa->wgrad_multi && !p->x_plain ? cdiv(p->cbo, p->isa->wgrad_ocb) : p->cbo;
}

// Accumulates the dW tiles and dbias of images [n0, n0+nn) and output blocks [cbo, cbo+g) into one
// thread's partials.
static void wgrad_item(const sf_conv2d_plan *p, float *part, float *bpart, const float *dy, const float *x, int n0,
                       int nn, int cbo, int g) {
    const sf_conv2d_shape *s = &p->s;
    // xb: channels per block of x (vb planes of plain x, or xvb interleaved in blocked x)
    int vb = p->vb, kk = s->kh * s->kw, pix = p->x_plain ? 1 : p->xvb, xb = p->x_plain ? vb : p->xvb;
    ptrdiff_t x_is = (ptrdiff_t)p->fwd.n_cb * s->ih * s->iw * pix;
    ptrdiff_t dy_cbs = (ptrdiff_t)s->oh * s->ow * vb, dy_is = dy_cbs * p->cbo;
    const float *dyb = dy + n0 * dy_is + cbo * dy_cbs;
    // Bands of output rows small enough (~64 KiB of dy) to stay in cache across every input block and tap.
    int band = imax(1, (int)(65536 / ((size_t)nn * s->ow * vb * g * sizeof(float))));
    for (int rb = 0; rb < s->oh; rb += band) {
        for (int cbi = 0; cbi < p->cbi; cbi++) {
            // A block of vb input channels: interleaved in blocked x, vb separate planes in plain x. Only
        // real channels get tiles; those of the padding stay zero from the clear.
            const float *xblk = x + n0 * x_is + (ptrdiff_t)cbi * xb * s->ih * s->iw;
            sf_conv_wargs a = {
                .nic = imin(xb, s->ci - cbi * xb), .n_img = nn,
                .x_cs = p->x_plain ? (ptrdiff_t)s->ih * s->iw : 1, .x_is = x_is, .x_rs = (ptrdiff_t)s->sh * s->iw * pix,
                .x_ps = (ptrdiff_t)s->sw * pix, .dy_is = dy_is, .dy_rs = (ptrdiff_t)s->ow * vb, .dy_ps = vb,
                .ocb = g, .dy_cbs = dy_cbs, .tile_cbs = (ptrdiff_t)p->cbi * kk * vb * vb,
            };
            for (int kh = 0; kh < s->kh; kh++) {
                int oh0 = imax(rb, cdiv(s->ph - kh, s->sh));
                int oh1 = imin(imin(s->oh, rb + band) - 1, fdiv(s->ih - 1 + s->ph - kh, s->sh));
                if (oh1 < oh0) continue;
                a.rows = oh1 - oh0 + 1;
                float *tile_kh = part + (((size_t)cbo * p->cbi + cbi) * kk + kh * s->kw) * vb * vb;
                const float *x_kh = xblk + (ptrdiff_t)(oh0 * s->sh - s->ph + kh) * s->iw * pix, *dy_kh = dyb + (ptrdiff_t)oh0 * s->ow * vb;
                // Plain input with few channels: kernel columns whose output columns are all valid share a
                // pass (wgrad_plain); the columns valid for only some of them go tap by tap.
                int kwn_max = p->x_plain && a.nic <= 3 ? p->isa->max_kwn[a.nic] : 1;
                for (int k0 = 0; k0 < s->kw; k0 += kwn_max) {
                    int kwn = imin(kwn_max, s->kw - k0), lo = 0, hi = -1;
                    if (kwn > 1) {
                        lo = wcol_lo(s, k0);
                        hi = wcol_hi(s, k0 + kwn - 1);
                        if (hi >= lo) {
                            wgrad_cols(p, &a, tile_kh, x_kh, dy_kh, k0, lo, hi);
                            p->wgrad_plain(&a, kwn);
                        }
                    }
                    for (int kw = k0; kw < k0 + kwn; kw++) {
                        int c0 = wcol_lo(s, kw), c1 = wcol_hi(s, kw);
                        if (hi < lo) {
                            if (wgrad_cols(p, &a, tile_kh, x_kh, dy_kh, kw, c0, c1)) wgrad_blocks(p, &a);
                            continue;
                        }
                        if (wgrad_cols(p, &a, tile_kh, x_kh, dy_kh, kw, c0, imin(c1, lo - 1))) wgrad_blocks(p, &a);
                        if (wgrad_cols(p, &a, tile_kh, x_kh, dy_kh, kw, imax(c0, hi + 1), c1)) wgrad_blocks(p, &a);
                    }
                }
            }
        }
    }
    for (int o = 0; o < g && !p->pairs; o++)  // image pairs: slots, not floats (dbias comes from fp32 dy)
        sum_pixels(bpart + (cbo + o) * vb, dyb + o * dy_cbs, s->oh * s->ow, vb, nn, dy_is);
}

// Work item it of the backward-weights: chunk it / ng of images, group it % ng of the output blocks,
// which holds blocks [q*cbo/ng, (q+1)*cbo/ng).
static void wgrad_run_item(const sf_conv2d_plan *p, float *part, float *bpart, const float *dy, const float *x,
                           int it, int ng) {
    int c = it / ng, q = it % ng, n0 = c * p->w_chunk, b0 = q * p->cbo / ng;
    wgrad_item(p, part, bpart, dy, x, n0, imin(p->w_chunk, p->s.n - n0), b0, (q + 1) * p->cbo / ng - b0);
}

// dW (OIHW) and dbias of output blocks [b0, b1) from the sum of nparts blocked partials. One (output
// block, input block) tile of a partial, (KH*KW, xb, vb), is contiguous and small enough for L1: each
// output channel's dW run over that input block, (xb, KH, KW), is written in order from it. Walking dW's
// order through the whole partial instead (a cache line per float) took a quarter of the time of a layer
// on a 2x2 map, and writing a partial row to vb rows of dW at once was slower on 2 threads.
static void wgrad_reduce(const sf_conv2d_plan *p, float *dw_oihw, float *dbias, int b0, int b1, int nparts) {
    const sf_conv2d_shape *s = &p->s;
    int vb = p->vb, xb = p->x_plain ? vb : p->xvb, kk = s->kh * s->kw;
    for (int cob = b0; cob < b1; cob++) {
        int nco = imin(vb, s->co - cob * vb);
        for (int cib = 0; cib < p->cbi; cib++) {
            int nci = imin(xb, s->ci - cib * xb);
            const float *tile = p->wpart + ((size_t)cob * p->cbi + cib) * kk * vb * vb;  // (kk, xb, vb)
            for (int l = 0; l < nco; l++) {
                float *d = dw_oihw + ((size_t)(cob * vb + l) * s->ci + cib * xb) * kk;  // (nci, KH, KW)
                for (int c = 0; c < nci; c++)
                    for (int k = 0; k < kk; k++) {
                        const float *src = tile + ((size_t)k * vb + c) * vb + l;
                        float acc = src[0];
                        for (int u = 1; u < nparts; u++) acc += src[u * p->wpart_floats];
                        d[c * kk + k] = acc;
                    }
            }
        }
        if (dbias)
            for (int l = 0; l < nco; l++) {
                float acc = 0.0f;
                for (int u = 0; u < nparts; u++) acc += p->bpart[u * p->bpart_stride + cob * vb + l];
                dbias[cob * vb + l] = acc;
            }
    }
}

// Thread t of nt owns output blocks [t*cbo/nt, (t+1)*cbo/nt): it sums every image for them into the
// first partial, in the order of the images, and writes their dW itself.
static void wgrad_owned(const sf_conv2d_plan *p, float *dw_oihw, float *dbias, const float *dy, const float *x, int t,
                        int nt) {
    const sf_conv2d_shape *s = &p->s;
    int b0 = t * p->cbo / nt, b1 = (t + 1) * p->cbo / nt, nb = b1 - b0;
    size_t tile = (size_t)p->cbi * s->kh * s->kw * p->vb * p->vb;  // dW floats of one output block
    memset(p->wpart + b0 * tile, 0, sizeof(float) * nb * tile);
    memset(p->bpart + b0 * p->vb, 0, sizeof(float) * nb * p->vb);
    // Groups of at most wgrad_ocb blocks, as wgrad_groups makes them for the whole layer.
    int per = p->isa->wgrad_multi && !p->x_plain ? p->isa->wgrad_ocb : 1, ng = cdiv(nb, per);
    for (int n0 = 0; n0 < s->n; n0 += p->w_chunk)
        for (int q = 0; q < ng; q++) {
            int g0 = b0 + q * nb / ng, g1 = b0 + (q + 1) * nb / ng;
            wgrad_item(p, p->wpart, p->bpart, dy, x, n0, imin(p->w_chunk, s->n - n0), g0, g1 - g0);
        }
    wgrad_reduce(p, dw_oihw, dbias, b0, b1, 1);
}

// dy blocked (N,Co,OH,OW), x (layout of x); dw_oihw (Co,Ci,KH,KW), dbias (Co) or NULL
void sf_conv2d_backward_weights(sf_conv2d_plan *p, float *dw_oihw, float *dbias, const float *dy, const float *x) {
    if (p->gemm[2]) {
        sf_conv_gemm_backward_weights(&p->gm, dw_oihw, dbias, dy, x);
        return;
    }
    const sf_conv2d_shape *s = &p->s;
    int vb = p->vb, nthr = imin(sf_threads(), p->nthr);
    // Work items: (chunk of images, group of output blocks), see wgrad_run_item.
    int ng = wgrad_groups(p), n_chunks = cdiv(s->n, p->w_chunk), n_items = n_chunks * ng;
    size_t bsz = (size_t)p->cbo * vb;
#pragma omp parallel num_threads(nthr)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        if (nt > 1 && p->cbo % nt == 0 && (long)s->n * s->oh * s->ow <= 4096) {
            // Few pixels per weight (maps of up to 8x8 at batch 64): per-thread partials of the whole dW
            // would cost a clear and a sum as large as dW on every thread, a third of the time of a
            // deep layer on a 2x2 to 4x4 map. So when the output blocks split evenly, each thread owns
            // some and nothing is added across threads. On larger maps that sum is small and the shared
            // schedule keeps its better balance (owning measured 3-9% slower there on 2 threads).
            wgrad_owned(p, dw_oihw, dbias, dy, x, t, nt);
        } else {
            float *part = p->wpart + t * p->wpart_floats, *bpart = p->bpart + t * p->bpart_stride;
            memset(part, 0, sizeof(float) * p->wpart_floats);
            memset(bpart, 0, sizeof(float) * bsz);
            // A static schedule fixes which partial every item lands in, so the ordered reduction below
            // makes the result bitwise reproducible; dynamic balances load better.
            if (p->deterministic) {
#pragma omp for schedule(static)
                for (int it = 0; it < n_items; it++) wgrad_run_item(p, part, bpart, dy, x, it, ng);
            } else {
#pragma omp for schedule(dynamic)
                for (int it = 0; it < n_items; it++) wgrad_run_item(p, part, bpart, dy, x, it, ng);
            }
            // One pass reduces dW and dbias in thread order; the region's end is the only barrier left.
#pragma omp for schedule(static) nowait
            for (int cob = 0; cob < p->cbo; cob++) wgrad_reduce(p, dw_oihw, dbias, cob, cob + 1, nt);
        }
    }
}

void sf_conv2d_backward_weights_bf16(sf_conv2d_plan *p, float *dw_oihw, float *dbias, const uint16_t *dy_pairs,
                                     const uint16_t *x_pairs, const float *dy) {
    if (!p->wplan) sf_die("conv2d: sf_conv2d_backward_weights_bf16 on an fp32 plan");
    sf_conv2d_backward_weights(p->wplan, dw_oihw, NULL, (const float *)(const void *)dy_pairs,
                               (const float *)(const void *)x_pairs);
    if (!dbias) return;
    const sf_conv2d_shape *s = &p->s;
    int vb = p->vb;
    ptrdiff_t dy_cbs = (ptrdiff_t)s->oh * s->ow * vb, dy_is = dy_cbs * p->cbo;
    float *bsum = p->bias_pad;  // (CBo*vb), free here: forward only uses it during its call
#pragma omp parallel for schedule(static) num_threads(imin(sf_threads(), p->nthr))
    for (int cob = 0; cob < p->cbo; cob++) {
        memset(bsum + cob * vb, 0, sizeof(float) * vb);
        sum_pixels(bsum + cob * vb, dy + cob * dy_cbs, s->oh * s->ow, vb, s->n, dy_is);
    }
    memcpy(dbias, bsum, sizeof(float) * s->co);
}
