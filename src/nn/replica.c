// replica.c: model replicas per NUMA group, their driver threads, and the reduced training step (see replica.h).
#include "nn/replica.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/softmax_xent.h"
#include "nn/model_internal.h"
#include "util/util.h"

typedef struct sf_replicas sf_replicas;
typedef void (*group_job)(sf_replicas *r, int g);

typedef struct {
    pthread_t th;
    sf_replicas *r;
    int g;
} worker;

struct sf_replicas {
    int n;                     // groups = replicas
    const sf_topology *t;
    sf_topo_plan *plan;        // a copy
    sf_model_config cfg;       // cfg.max_batch: the whole batch
    sf_model **m;              // (n)
    int *max_share;            // (n) replica g's max_batch
    sf_reducer *red;
    int own_red;
    // Driver threads of groups 1..n-1 and the job they run.
    worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long generation;
    int pending, quit;
    group_job job;
    // The current call's arguments and per-group results.
    const float *x;            // (n_total, 3, H, W)
    const int64_t *labels;     // (n_total)
    int n_total, k;
    int *start, *count;        // (n) the batch split
    double *loss;              // (n) mean loss of the group's share
    float **dlogits;           // (n) each (max_share, K)
    float *logits;             // (max_batch, K) gathered
    float **grads;             // (n) gradient arenas
    size_t grad_count;
    char **err;                // (n) creation errors, each 512 bytes
    int *misplaced;            // (n) sf_topo_apply_group's result
};

static void *worker_main(void *arg) {
    worker *w = arg;
    sf_replicas *r = w->r;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->generation == seen && !r->quit) pthread_cond_wait(&r->go, &r->mu);
        if (r->quit) {
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        seen = r->generation;
        group_job job = r->job;
        pthread_mutex_unlock(&r->mu);
        job(r, w->g);
        pthread_mutex_lock(&r->mu);
        if (--r->pending == 0) pthread_cond_signal(&r->done);
        pthread_mutex_unlock(&r->mu);
    }
}

// Runs job(r, g) for every group at once: group 0 on the calling thread (on its group's share of the
// threads), the others on their workers; returns when all are done.
static void run_groups(sf_replicas *r, group_job job) {
    if (r->n == 1) {
        job(r, 0);
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->job = job;
    r->pending = r->n - 1;
    r->generation++;
    pthread_cond_broadcast(&r->go);
    pthread_mutex_unlock(&r->mu);
    sf_set_threads_here(r->plan->group_threads[0]);
    job(r, 0);
    sf_set_threads_here(0);
    pthread_mutex_lock(&r->mu);
    while (r->pending > 0) pthread_cond_wait(&r->done, &r->mu);
    pthread_mutex_unlock(&r->mu);
}

// On the group's own thread, so that every page the model touches first lands on the group's node.
static void job_create(sf_replicas *r, int g) {
    if (g > 0) {
        sf_set_threads_here(r->plan->group_threads[g]);  // also where the topology is not this machine's
        r->misplaced[g] = sf_topo_apply_group(r->t, r->plan, g, NULL);
    }
    int node = r->plan->group_buf_node[g];
    if (node != SF_NODE_ANY) sf_topo_membind_here(r->t, node);
    sf_model_config c = r->cfg;
    c.max_batch = r->max_share[g];
    r->m[g] = sf_model_create(&c, r->err[g], 512);
    // The calling thread allocates much else (loader, optimizer); workers keep their node's policy.
    if (g == 0 && node != SF_NODE_ANY) sf_topo_membind_here(r->t, SF_NODE_ANY);
    if (r->m[g]) r->dlogits[g] = sf_aligned_alloc((size_t)r->max_share[g] * (size_t)r->k * sizeof(float));
}

static void job_free(sf_replicas *r, int g) {
    sf_model_free(r->m[g]);
    sf_free_aligned(r->dlogits[g]);
    r->m[g] = NULL;
    r->dlogits[g] = NULL;
}

static void job_forward(sf_replicas *r, int g, bool train) {
    int n = r->count[g];
    if (n == 0) return;
    size_t per = (size_t)3 * (size_t)r->cfg.in_h * (size_t)r->cfg.in_w;
    const float *lg = sf_model_forward(r->m[g], r->x + (size_t)r->start[g] * per, n, train);  // lg is (n,K)
    memcpy(r->logits + (size_t)r->start[g] * (size_t)r->k, lg, (size_t)n * (size_t)r->k * sizeof(float));
}
static void job_forward_train(sf_replicas *r, int g) { job_forward(r, g, true); }
static void job_forward_eval(sf_replicas *r, int g) { job_forward(r, g, false); }

static void job_backward(sf_replicas *r, int g) {
    int n = r->count[g], k = r->k;
    if (n == 0) {  // no share of this (short) batch: contributes nothing to the sum
        memset(r->grads[g], 0, r->grad_count * sizeof(float));
        r->loss[g] = 0;
        return;
    }
    const float *lg = r->logits + (size_t)r->start[g] * (size_t)k;  // (n,K)
    float *dl = r->dlogits[g];                                       // (n,K)
    r->loss[g] = sf_softmax_xent(dl, NULL, lg, r->labels + r->start[g], n, k, r->cfg.label_smoothing);
    // d(mean over n_total)/d(logits) = d(mean over n)/d(logits) * n / n_total.
    const float scale = (float)n / (float)r->n_total;
    for (size_t i = 0; i < (size_t)n * (size_t)k; i++) dl[i] *= scale;
    sf_model_backward(r->m[g], dl);
}

static void job_refresh(sf_replicas *r, int g) {
    if (g > 0) sf_model_copy_weights(r->m[g], r->m[0], NULL, 0);  // replicas of one config always agree
}

sf_replicas *sf_replicas_create(const sf_model_config *cfg, const sf_topology *t, const sf_topo_plan *p,
                                sf_reducer *red, char *err, size_t errlen) {
    if (p->n_groups < 1) {
        snprintf(err, errlen, "the placement plan has no group of threads");
        return NULL;
    }
    sf_replicas *r = sf_calloc(1, sizeof *r);
    int n = p->n_groups;
    r->n = n;
    r->t = t;
    r->plan = sf_malloc(sizeof *r->plan);
    *r->plan = *p;
    r->cfg = *cfg;
    r->k = cfg->n_classes > 0 ? cfg->n_classes : 42;
    r->red = red ? red : sf_reducer_inproc();
    r->own_red = red == NULL;
    r->m = sf_calloc((size_t)n, sizeof *r->m);
    r->max_share = sf_calloc((size_t)n, sizeof *r->max_share);
    r->start = sf_calloc((size_t)n, sizeof *r->start);
    r->count = sf_calloc((size_t)n, sizeof *r->count);
    r->loss = sf_calloc((size_t)n, sizeof *r->loss);
    r->dlogits = sf_calloc((size_t)n, sizeof *r->dlogits);
    r->grads = sf_calloc((size_t)n, sizeof *r->grads);
    r->misplaced = sf_calloc((size_t)n, sizeof *r->misplaced);
    r->err = sf_calloc((size_t)n, sizeof *r->err);
    for (int g = 0; g < n; g++) r->err[g] = sf_calloc(512, 1);
    // A share of any batch up to max_batch is at most ceil(max_batch * threads_g / threads).
    int w = 0;
    for (int g = 0; g < n; g++) w += p->group_threads[g];
    for (int g = 0; g < n; g++) {
        int64_t share = ((int64_t)cfg->max_batch * p->group_threads[g] + w - 1) / (w > 0 ? w : 1);
        r->max_share[g] = n == 1 ? cfg->max_batch : (int)(share < 1 ? 1 : share > cfg->max_batch ? cfg->max_batch : share);
    }
    r->logits = sf_aligned_alloc((size_t)cfg->max_batch * (size_t)r->k * sizeof(float));
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->go, NULL);
    pthread_cond_init(&r->done, NULL);
    r->workers = sf_calloc((size_t)n, sizeof *r->workers);
    for (int g = 1; g < n; g++) {
        r->workers[g] = (worker){.r = r, .g = g};
        if (pthread_create(&r->workers[g].th, NULL, worker_main, &r->workers[g]) != 0)
            sf_die("cannot start the driver thread of NUMA group %d", g);
    }
    run_groups(r, job_create);
    for (int g = 0; g < n; g++)
        if (!r->m[g]) {
            snprintf(err, errlen, "replica %d: %s", g, r->err[g]);
            sf_replicas_free(r);
            return NULL;
        }
    for (int g = 1; g < n; g++)
        if (r->misplaced[g] != 0)
            sf_warn("NUMA group %d: %s", g,
                    r->misplaced[g] < 0 ? "its threads could not be bound" : "some threads run off their planned PU");
    for (int g = 0; g < n; g++) r->grads[g] = sf_model_grad_arena(r->m[g], &r->grad_count);
    // Every replica starts from the master's initialisation (the same seed gives the same, but a
    // refresh states it rather than relying on it).
    run_groups(r, job_refresh);
    return r;
}

void sf_replicas_free(sf_replicas *r) {
    if (!r) return;
    run_groups(r, job_free);
    pthread_mutex_lock(&r->mu);
    r->quit = 1;
    pthread_cond_broadcast(&r->go);
    pthread_mutex_unlock(&r->mu);
    for (int g = 1; g < r->n; g++) pthread_join(r->workers[g].th, NULL);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->go);
    pthread_cond_destroy(&r->done);
    if (r->own_red) sf_reducer_free(r->red);
    for (int g = 0; g < r->n; g++) free(r->err[g]);
    free(r->err);
    free(r->workers);
    sf_free_aligned(r->logits);
    free(r->misplaced);
    free(r->grads);
    free(r->dlogits);
    free(r->loss);
    free(r->count);
    free(r->start);
    free(r->max_share);
    free(r->m);
    free(r->plan);
    free(r);
}

int sf_replicas_count(const sf_replicas *r) { return r->n; }
sf_model *sf_replicas_master(sf_replicas *r) { return r->m[0]; }
sf_model *sf_replicas_get(sf_replicas *r, int g) { return g >= 0 && g < r->n ? r->m[g] : NULL; }

const float *sf_replicas_forward(sf_replicas *r, const float *x, int n, bool train) {
    if (r->n == 1) return sf_model_forward(r->m[0], x, n, train);
    if (n < 1 || n > r->cfg.max_batch) sf_die("forward batch %d outside [1, %d]", n, r->cfg.max_batch);
    r->x = x;
    r->n_total = n;
    sf_topo_batch_split(r->start, r->count, r->plan, n);
    run_groups(r, train ? job_forward_train : job_forward_eval);
    return r->logits;
}

float sf_replicas_loss_backward(sf_replicas *r, const int64_t *labels) {
    if (r->n == 1) return sf_model_loss_backward(r->m[0], labels, NULL);
    if (r->n_total < 1) sf_die("loss_backward needs a train-mode forward first");
    r->labels = labels;
    run_groups(r, job_backward);
    sf_allreduce_sum(r->red, r->grads, r->n, r->grad_count);
    // The whole batch's mean, from the shares' means in group order.
    double sum = 0;
    for (int g = 0; g < r->n; g++) sum += r->loss[g] * r->count[g];
    return (float)(sum / r->n_total);
}

void sf_replicas_refresh(sf_replicas *r) {
    if (r->n > 1) run_groups(r, job_refresh);
}

int sf_replicas_freeze(sf_replicas *r, const char *pattern) {
    int count = sf_model_freeze(r->m[0], pattern);
    for (int g = 1; g < r->n; g++) sf_model_freeze(r->m[g], pattern);
    return count;
}

void sf_replicas_where(sf_replica_mem *out, sf_replicas *r, int g) {
    const sf_graph *gr = &r->m[g]->g;
    out->bytes_params = gr->param_floats * sizeof(float);
    out->bytes_grads = out->bytes_params;
    out->bytes_acts = (gr->act_floats + gr->scratch_floats) * sizeof(float) + gr->mask_bytes;
    out->node_params = sf_topo_area_node(r->t, gr->param_arena, out->bytes_params);
    out->node_grads = sf_topo_area_node(r->t, gr->grad_arena, out->bytes_grads);
    out->node_acts = sf_topo_area_node(r->t, gr->act_arena, gr->act_floats * sizeof(float));
    out->planned = r->plan->group_buf_node[g];
    out->max_batch = r->max_share[g];
}
