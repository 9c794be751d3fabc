// loader.c: see loader.h.
//
// Threading: one mutex guards the ring and the epoch state. A worker claims the next unclaimed batch b
// when its slot (b mod R) is free, fills it without the lock, and marks it ready; the consumer takes
// batches strictly in order and frees a slot when it asks for the next one. A generation counter makes
// a worker drop a batch of an epoch that was abandoned while it was filling it.
#include "data/loader.h"
#include "data/image.h"
#include "data/resize.h"
#include "util/rng.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_READY };

typedef struct {
    float *x;      // (B,3,S,S)
    int64_t *y;    // (B)
    int *index;    // (B)
    int n;
    int batch;     // batch number it holds
    int state;
} slot;

// What a worker needs privately: resize/eval scratch, grown on demand.
typedef struct {
    void *scratch;
    size_t scratch_bytes;
} worker_ws;

struct sf_loader {
    const sf_dataset *ds;
    sf_loader_cfg cfg;
    sf_sampler sampler;
    int epoch_len, n_batches;
    int *order;  // (epoch_len) dataset indices of the current epoch
    int epoch;

    pthread_mutex_t mu;
    pthread_cond_t work_cv, ready_cv;
    slot *ring;
    int n_slots;
    int next_claim, next_consume, held, filling;
    unsigned generation;
    int quit;
    pthread_t *threads;
    worker_ws *ws;  // (threads, or 1 when filling in the caller)

    // Shared per-image state, guarded by data_mu: the cache and the bad-file record.
    pthread_mutex_t data_mu;
    sf_image *cache;      // (ds->n) when cfg.cache
    char *bad;            // (ds->n) 1 once the file failed
    char *whole;          // (ds->n) 1 once the file decoded without error to its end
    char **bad_msgs;      // sorted "path: reason"
    int n_bad, bad_cap;
};

sf_loader_cfg sf_loader_defaults(int size, int batch) {
    sf_loader_cfg c;
    memset(&c, 0, sizeof c);
    c.size = size;
    c.batch = batch;
    c.threads = 2;
    c.prefetch = 4;
    c.augment = 1;
    c.aug = sf_augment_defaults();
    c.balance = SF_BALANCE_NONE;
    c.shuffle = 1;
    return c;
}

sf_loader_cfg sf_loader_eval_defaults(int size, int batch) {
    sf_loader_cfg c = sf_loader_defaults(size, batch);
    c.augment = 0;
    c.shuffle = 0;
    return c;
}

static void record_bad(sf_loader *l, int idx, const char *msg) {
    pthread_mutex_lock(&l->data_mu);
    if (!l->bad[idx]) {
        l->bad[idx] = 1;
        if (!l->cfg.quiet) sf_warn("bad image, skipped: %s", msg);
        if (l->n_bad == l->bad_cap) {
            l->bad_cap = l->bad_cap ? 2 * l->bad_cap : 16;
            char **v = sf_malloc(sizeof(char *) * (size_t)l->bad_cap);
            if (l->n_bad) memcpy(v, l->bad_msgs, sizeof(char *) * (size_t)l->n_bad);
            free(l->bad_msgs);
            l->bad_msgs = v;
        }
        size_t len = strlen(msg) + 1;
        char *m = sf_malloc(len);
        memcpy(m, msg, len);
        int k = l->n_bad++;
        while (k > 0 && strcmp(l->bad_msgs[k - 1], m) > 0) {  // keep sorted: the path leads each message
            l->bad_msgs[k] = l->bad_msgs[k - 1];
            k--;
        }
        l->bad_msgs[k] = m;
    }
    pthread_mutex_unlock(&l->data_mu);
}

static void *ws_scratch(worker_ws *w, size_t bytes) {
    if (bytes > w->scratch_bytes) {
        free(w->scratch);
        w->scratch = sf_malloc(bytes);
        w->scratch_bytes = bytes;
    }
    return w->scratch;
}

static int decode_side(const sf_loader *l) { return l->cfg.decode_side > 0 ? l->cfg.decode_side : 2 * l->cfg.size; }

// The augmentation of epoch position pos for a w x h image. It depends on (seed, epoch, pos) and the size
// alone, so a full decode, a partial decode and the cache all give the same map.
static void draw_affine(const sf_loader *l, sf_affine *a, int pos, int w, int h) {
    sf_rng r;
    sf_rng_seed(&r, sf_hash64(l->cfg.seed, (uint64_t)l->epoch, (uint64_t)pos), 0xa06u);
    sf_augment_params p;
    sf_augment_draw(&p, &l->cfg.aug, w, h, &r);
    sf_augment_affine(a, &p, w, h, l->cfg.size);
}

// A training decode draws the augmentation as soon as the decoded size is known, so that the JPEG
// decoder produces only the pixels the warp reads.
typedef struct {
    const sf_loader *l;
    int pos;
    int drawn;  // 0: no draw yet (the image gets resized after decoding, so the size was not final)
    sf_affine a;
} warp_plan;

// sf_region_fn for a training decode; r arrives as the whole image.
static void plan_region(sf_rect *r, int w, int h, void *ctx) {
    warp_plan *q = ctx;
    if ((w < h ? w : h) >= 2 * decode_side(q->l)) return;  // resized below: every pixel is needed
    draw_affine(q->l, &q->a, q->pos, w, h);
    q->drawn = 1;
    int box[4];
    sf_warp_source_box(box, &q->a, q->l->cfg.size, w, h);
    r->x0 = box[0], r->y0 = box[1], r->x1 = box[2], r->y1 = box[3];
}

// Decodes image idx near the decode side; with plan, only the part its warp reads, and with stop (a file
// known to decode whole) not even the stream after it. Returns 0, or -1 after recording the file as bad.
static int decode_sized(sf_loader *l, worker_ws *w, int idx, sf_image *out, warp_plan *plan, int stop) {
    int side = decode_side(l);
    sf_decode_opts opt = {.min_side = side, .region = plan ? plan_region : NULL, .region_ctx = plan,
                          .region_stop = stop};
    char err[SF_IMAGE_ERR_LEN];
    if (sf_image_load(out, l->ds->paths[idx], &opt, err, sizeof err) != 0) {
        record_bad(l, idx, err);
        return -1;
    }
    int sh = out->w < out->h ? out->w : out->h;
    if (sh >= 2 * side) {  // DCT scaling stops at 1/8: shrink the rest so sampling never skips pixels
        int nw = (int)((long)out->w * side / sh), nh = (int)((long)out->h * side / sh);
        if (nw < 1) nw = 1;
        if (nh < 1) nh = 1;
        uint8_t *px = sf_malloc((size_t)nw * nh * 3);
        void *s = ws_scratch(w, sf_resize_scratch_bytes(nw, nh, out->w, out->h, SF_FILTER_BILINEAR));
        sf_resize_rgb8(px, nw, nh, out->px, out->w, out->h, SF_FILTER_BILINEAR, s);
        sf_image_free(out);
        out->px = px;
        out->w = nw;
        out->h = nh;
    }
    return 0;
}

// The pixels of image idx: from the cache (borrowed, *owned = 0) or freshly decoded (*owned = 1). plan
// (training without the cache) lets the decode stop at the pixels that epoch position's warp reads.
// A file's first decode reads its whole stream, so whether it is bad never depends on which part of it
// a draw needed, nor on which thread got there first: the output stays a function of (seed, epoch).
static int get_image(sf_loader *l, worker_ws *w, int idx, sf_image *img, int *owned, warp_plan *plan) {
    img->px = NULL;
    img->w = img->h = 0;
    if (plan) plan->drawn = 0;
    pthread_mutex_lock(&l->data_mu);
    int bad = l->bad[idx], whole = l->whole[idx];
    if (!bad && l->cache && l->cache[idx].px) {
        *img = l->cache[idx];
        *owned = 0;
    }
    pthread_mutex_unlock(&l->data_mu);
    if (bad) return -1;
    if (l->cache && img->px) return 0;
    if (decode_sized(l, w, idx, img, l->cache ? NULL : plan, whole) != 0) return -1;
    *owned = 1;
    if (!whole) {
        pthread_mutex_lock(&l->data_mu);
        l->whole[idx] = 1;
        pthread_mutex_unlock(&l->data_mu);
    }
    if (!l->cache) return 0;
    pthread_mutex_lock(&l->data_mu);
    if (!l->cache[idx].px) {
        l->cache[idx] = *img;
        *owned = 0;
    } else {  // another thread got there first (the same image twice in flight)
        sf_image_free(img);
        *img = l->cache[idx];
        *owned = 0;
    }
    pthread_mutex_unlock(&l->data_mu);
    return 0;
}

// Writes row (3,S,S) from image idx with the randomness of epoch position pos (already drawn in plan
// when the decode drew it).
static void transform(sf_loader *l, worker_ws *w, float *row, const sf_image *img, int pos, const warp_plan *plan) {
    int s = l->cfg.size;
    if (l->cfg.augment) {
        sf_affine a;
        if (plan && plan->drawn) a = plan->a;
        else draw_affine(l, &a, pos, img->w, img->h);
        sf_warp_normalize(row, s, img->px, img->w, img->h, &a);
        if (l->cfg.aug.erase_p > 0.0f) {
            // Its own stream of (seed, epoch, pos), so erasing leaves the geometric draws as they were.
            sf_rng r;
            sf_rng_seed(&r, sf_hash64(l->cfg.seed, (uint64_t)l->epoch, (uint64_t)pos), 0xe7a5eu);
            int box[4];
            if (sf_erase_draw(box, l->cfg.aug.erase_p, s, &r)) sf_erase_apply(row, s, box);
        }
    } else {
        void *scratch = ws_scratch(w, sf_eval_scratch_bytes(s, img->w, img->h));
        sf_eval_transform(row, s, img->px, img->w, img->h, l->cfg.eval_flip, scratch);
    }
}

static void fill_batch(sf_loader *l, worker_ws *w, slot *sl, int b) {
    int B = l->cfg.batch, len = l->epoch_len;
    size_t row_floats = (size_t)3 * l->cfg.size * l->cfg.size;
    int lo = b * B, hi = lo + B < len ? lo + B : len;
    int n = 0;
    for (int pos = lo; pos < hi; pos++) {
        sf_image img = {0};
        int owned = 0, idx = l->order[pos];
        warp_plan plan = {l, pos, 0, {{0}}}, *pp = l->cfg.augment ? &plan : NULL;
        int ok = get_image(l, w, idx, &img, &owned, pp) == 0;
        // Training keeps the batch full: the next good image of the epoch order stands in.
        for (int k = 1; !ok && l->cfg.augment && k < len; k++) {
            idx = l->order[(pos + k) % len];
            ok = get_image(l, w, idx, &img, &owned, pp) == 0;
        }
        if (!ok) continue;
        transform(l, w, sl->x + (size_t)n * row_floats, &img, pos, pp);
        sl->y[n] = l->ds->labels[idx];
        sl->index[n] = idx;
        n++;
        if (owned) sf_image_free(&img);
    }
    sl->n = n;
    sl->batch = b;
}

static void *worker_main(void *arg) {
    sf_loader *l = ((void **)arg)[0];
    worker_ws *w = ((void **)arg)[1];
    free(arg);
    pthread_mutex_lock(&l->mu);
    while (!l->quit) {
        int b = l->next_claim;
        if (b < l->n_batches && l->ring[b % l->n_slots].state == SLOT_FREE) {
            slot *sl = &l->ring[b % l->n_slots];
            sl->state = SLOT_FILLING;
            l->next_claim++;
            l->filling++;
            unsigned gen = l->generation;
            pthread_mutex_unlock(&l->mu);
            fill_batch(l, w, sl, b);
            pthread_mutex_lock(&l->mu);
            l->filling--;
            sl->state = gen == l->generation ? SLOT_READY : SLOT_FREE;
            pthread_cond_broadcast(&l->ready_cv);
            continue;
        }
        pthread_cond_wait(&l->work_cv, &l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

sf_loader *sf_loader_create(const sf_dataset *ds, const int *idx, int n, const sf_loader_cfg *cfg) {
    if (cfg->size < 1 || cfg->batch < 1 || cfg->threads < 0) sf_die("loader: bad size %d / batch %d / threads %d",
                                                                     cfg->size, cfg->batch, cfg->threads);
    if (n < 0) sf_die("loader: negative image count %d", n);
    sf_loader *l = sf_calloc(1, sizeof *l);
    l->ds = ds;
    l->cfg = *cfg;
    sf_sampler_init(&l->sampler, idx, n, ds->labels, ds->n_classes, cfg->balance, cfg->shuffle, cfg->seed);
    l->epoch_len = sf_sampler_len(&l->sampler);
    l->n_batches = cfg->drop_last ? l->epoch_len / cfg->batch : (l->epoch_len + cfg->batch - 1) / cfg->batch;
    l->order = sf_malloc(sizeof(int) * (size_t)l->epoch_len);
    l->n_slots = cfg->prefetch > cfg->threads ? cfg->prefetch : cfg->threads + 1;
    if (cfg->threads == 0) l->n_slots = 1;
    l->ring = sf_calloc((size_t)l->n_slots, sizeof(slot));
    size_t row_floats = (size_t)3 * cfg->size * cfg->size;
    for (int i = 0; i < l->n_slots; i++) {
        l->ring[i].x = sf_aligned_alloc(sizeof(float) * row_floats * (size_t)cfg->batch);
        // Touched now, once: otherwise the first batches written into each slot pay the kernel's page
        // faults and zeroing (150 MB for 4 slots at 224 px), which made the first hundreds of images of
        // a run (and a short `bench data` epoch) look a third slower than the rest.
        memset(l->ring[i].x, 0, sizeof(float) * row_floats * (size_t)cfg->batch);
        l->ring[i].y = sf_malloc(sizeof(int64_t) * (size_t)cfg->batch);
        l->ring[i].index = sf_malloc(sizeof(int) * (size_t)cfg->batch);
    }
    l->bad = sf_calloc((size_t)ds->n, 1);
    l->whole = sf_calloc((size_t)ds->n, 1);
    if (cfg->cache) l->cache = sf_calloc((size_t)ds->n, sizeof(sf_image));
    l->held = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->data_mu, NULL);
    pthread_cond_init(&l->work_cv, NULL);
    pthread_cond_init(&l->ready_cv, NULL);
    int nw = cfg->threads > 0 ? cfg->threads : 1;
    l->ws = sf_calloc((size_t)nw, sizeof(worker_ws));
    // No epoch until sf_loader_start_epoch: workers find nothing to claim.
    l->next_claim = l->next_consume = l->n_batches;
    l->threads = sf_calloc((size_t)nw, sizeof(pthread_t));
    for (int t = 0; t < cfg->threads; t++) {
        void **arg = sf_malloc(2 * sizeof(void *));
        arg[0] = l;
        arg[1] = &l->ws[t];
        int rc = pthread_create(&l->threads[t], NULL, worker_main, arg);
        if (rc != 0) sf_die("loader: cannot start decoding thread %d of %d: %s", t + 1, cfg->threads, strerror(rc));
    }
    return l;
}

void sf_loader_destroy(sf_loader *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    for (int t = 0; t < l->cfg.threads; t++) pthread_join(l->threads[t], NULL);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->data_mu);
    pthread_cond_destroy(&l->work_cv);
    pthread_cond_destroy(&l->ready_cv);
    for (int i = 0; i < l->n_slots; i++) {
        sf_free_aligned(l->ring[i].x);
        free(l->ring[i].y);
        free(l->ring[i].index);
    }
    int nw = l->cfg.threads > 0 ? l->cfg.threads : 1;
    for (int t = 0; t < nw; t++) free(l->ws[t].scratch);
    if (l->cache)
        for (int i = 0; i < l->ds->n; i++) sf_image_free(&l->cache[i]);
    for (int i = 0; i < l->n_bad; i++) free(l->bad_msgs[i]);
    free(l->bad_msgs);
    free(l->cache);
    free(l->bad);
    free(l->whole);
    free(l->ring);
    free(l->ws);
    free(l->threads);
    free(l->order);
    sf_sampler_free(&l->sampler);
    free(l);
}

int sf_loader_epoch_len(const sf_loader *l) { return l->epoch_len; }
int sf_loader_batches(const sf_loader *l) { return l->n_batches; }

void sf_loader_start_epoch(sf_loader *l, int epoch) {
    pthread_mutex_lock(&l->mu);
    l->generation++;
    l->next_claim = l->next_consume = l->n_batches;  // nothing new gets claimed while we wait
    while (l->filling > 0) pthread_cond_wait(&l->ready_cv, &l->mu);
    for (int i = 0; i < l->n_slots; i++) l->ring[i].state = SLOT_FREE;
    l->held = -1;
    l->epoch = epoch;
    sf_sampler_epoch(&l->sampler, epoch, l->order);
    l->next_claim = l->next_consume = 0;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
}

int sf_loader_next(sf_loader *l, sf_batch *b) {
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {
        l->ring[l->held].state = SLOT_FREE;
        l->held = -1;
        pthread_cond_broadcast(&l->work_cv);
    }
    int k = l->next_consume;
    if (k >= l->n_batches) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    slot *sl = &l->ring[k % l->n_slots];
    if (l->cfg.threads == 0) {
        l->next_claim = k + 1;
        pthread_mutex_unlock(&l->mu);
        fill_batch(l, &l->ws[0], sl, k);
        pthread_mutex_lock(&l->mu);
        sl->state = SLOT_READY;
    }
    while (!(sl->state == SLOT_READY && sl->batch == k)) pthread_cond_wait(&l->ready_cv, &l->mu);
    l->held = k % l->n_slots;
    l->next_consume = k + 1;
    pthread_mutex_unlock(&l->mu);
    b->x = sl->x;
    b->y = sl->y;
    b->index = sl->index;
    b->n = sl->n;
    b->number = k;
    return 1;
}

size_t sf_loader_cache_bytes(const sf_loader *l) {
    if (!l->cache) return 0;
    size_t bytes = 0;
    pthread_mutex_lock((pthread_mutex_t *)&l->data_mu);
    for (int i = 0; i < l->ds->n; i++) bytes += (size_t)l->cache[i].w * l->cache[i].h * 3;
    pthread_mutex_unlock((pthread_mutex_t *)&l->data_mu);
    return bytes;
}

int sf_loader_n_bad(const sf_loader *l) {
    pthread_mutex_lock((pthread_mutex_t *)&l->data_mu);
    int n = l->n_bad;
    pthread_mutex_unlock((pthread_mutex_t *)&l->data_mu);
    return n;
}

const char *sf_loader_bad(const sf_loader *l, int i) {
    pthread_mutex_lock((pthread_mutex_t *)&l->data_mu);
    const char *m = i >= 0 && i < l->n_bad ? l->bad_msgs[i] : NULL;
    pthread_mutex_unlock((pthread_mutex_t *)&l->data_mu);
    return m;
}

int sf_loader_write_bad(const sf_loader *l, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    pthread_mutex_lock((pthread_mutex_t *)&l->data_mu);
    for (int i = 0; i < l->n_bad; i++) fprintf(f, "%s\n", l->bad_msgs[i]);
    pthread_mutex_unlock((pthread_mutex_t *)&l->data_mu);
    return fclose(f) == 0 ? 0 : -1;
}
