// cmd_train.c: `springfield train`: the seed's training recipe on the CPU.
//
// Each epoch: train on the class-balanced, augmented sampler; evaluate on the stratified validation
// split (loss, accuracy, macro-F1; with --val-every N only every N-th epoch and the last, the others
// record NaN); step ReduceLROnPlateau on the validation loss; write
// best.safetensors when validation accuracy improves. last.safetensors and the training state
// (state.safetensors, nn/train_state.h) are written every epoch and every --checkpoint-minutes within
// one, so `--resume runs/NAME` continues exactly (bit-identical weights with --deterministic and the
// same thread count). At the end the best weights are loaded back and reported, and the run folder
// gets history.csv, curves.png, confusion.png, per_class.csv, bad_images.txt and train.log.
//
// Without --data the synthetic demo dataset (data/synth.h) is generated into <out>/synthetic-data and
// `simple` is trained on it with demo settings sized to about two minutes on two cores.
//
// Placement (cli/placement.h): threads are bound per the topology plan and, under --numa auto on a
// machine with several NUMA nodes, every node trains its share of each batch on its own replica of the
// model (nn/replica.h); gradients are summed across replicas in a fixed order, the optimizer steps the
// master once and the replicas are refreshed from it. One node, off or interleave: one model, and the
// step is exactly the single-model step.
//
// Signals: SIGINT/SIGTERM finish the current batch, save the state, print the resume command and exit
// 130; a second Ctrl-C exits at once (every checkpoint write is atomic, so the last one stays valid).
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/placement.h"
#include "cli/plot.h"
#include "cli/progress.h"
#include "cli/run_dir.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/split.h"
#include "data/synth.h"
#include "kernels/cpu.h"
#include "nn/adamw.h"
#include "nn/cosine.h"
#include "nn/metrics.h"
#include "nn/model.h"
#include "nn/plateau.h"
#include "nn/replica.h"
#include "nn/train_state.h"
#include "util/util.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_AUGMENT "rot=15,flip=0.5,scale=0.08:1,ratio=0.75:1.3333"
#define MAX_BAD_STREAK 5

static const sf_opt_spec spec[] = {
    {"data", SF_OPT_STR, NULL, NULL, 0, 0, "labelled folder DIR/<class>/<image>; absent: synthetic demo"},
    {"model", SF_OPT_CHOICE, "simple", "simple|best|resnet18|resnet50", 0, 0, "architecture"},
    {"size", SF_OPT_INT, "96", NULL, 16, 1024, "input image size (pixels)"},
    {"batch", SF_OPT_INT, "64", NULL, 1, 4096, "batch size"},
    {"val-size", SF_OPT_INT, "0", NULL, 0, 1024,
     "validate at this input size (0: --size), for best-weights choice and the plateau schedule; best.safetensors "
     "records it for evaluate/predict. A model trained on random crops often scores better a little above its "
     "training size. resnet18 and resnet50 only: simple and best flatten into their classifier, so another size "
     "would need other weights"},
    {"epochs", SF_OPT_INT, NULL, NULL, 1, 100000, "epochs (default 30; synthetic demo 20)"},
    {"lr", SF_OPT_FLOAT, "1e-3", NULL, 1e-12, 1e12, "initial learning rate"},
    {"optimizer", SF_OPT_CHOICE, "adamw", "adamw|sgd", 0, 0, "optimizer"},
    {"amsgrad", SF_OPT_FLAG, "on", NULL, 0, 0, "AdamW's AMSGrad variant"},
    {"weight-decay", SF_OPT_FLOAT, NULL, NULL, 0, 1, "weight decay (default: 1e-2 AdamW, 0 SGD)"},
    {"val-split", SF_OPT_FLOAT, "0.25", NULL, 0.01, 0.9, "validation fraction (stratified)"},
    {"balance", SF_OPT_CHOICE, NULL, "oversample|weighted|none", 0, 0,
     "class balancing (default oversample; synthetic demo weighted, to keep it short)"},
    {"augment", SF_OPT_STR, DEFAULT_AUGMENT, NULL, 0, 0,
     "rot=DEG,flip=P,scale=LO:HI,ratio=LO:HI[,erase=P] (erase: random erasing), or none"},
    {"label-smoothing", SF_OPT_FLOAT, "0", NULL, 0, 1,
     "training loss target (1 - eps) on the label + eps/K on every class, as F.cross_entropy's label_smoothing"},
    {"patience", SF_OPT_INT, "2", NULL, 0, 1000, "ReduceLROnPlateau patience (epochs)"},
    {"factor", SF_OPT_FLOAT, "0.1", NULL, 1e-6, 0.999999, "ReduceLROnPlateau factor"},
    {"schedule", SF_OPT_CHOICE, "plateau", "plateau|cosine", 0, 0,
     "learning-rate schedule: ReduceLROnPlateau on the validation loss (--patience, --factor), or cosine "
     "decay per step from --lr to --min-lr over --epochs, after --warmup-epochs of linear warmup"},
    {"warmup-epochs", SF_OPT_FLOAT, "0", NULL, 0, 1000, "cosine: epochs of linear warmup from lr/W to lr (W steps)"},
    {"min-lr", SF_OPT_FLOAT, "0", NULL, 0, 1e12, "cosine: the learning rate at the end of --epochs"},
    {"val-every", SF_OPT_INT, "1", NULL, 1, 100000,
     "validate after every N-th epoch and after the last one; the epochs between record no validation (nan in "
     "history.csv) and cannot become best.safetensors. Saves the validation time of the others (cosine only: "
     "ReduceLROnPlateau reads the validation loss every epoch)"},
    {"threads", SF_OPT_INT, "0", NULL, 0, 1024, "compute threads (0: one per core, or OMP_NUM_THREADS)"},
    {"numa", SF_OPT_CHOICE, "auto", "auto|off|interleave", 0, 0,
     "NUMA placement: a model replica per node, threads bound (auto); one model, memory interleaved "
     "(interleave); no binding (off)"},
    {"loader-threads", SF_OPT_INT, "2", NULL, 0, 64, "image decoding threads (0: in the training thread)"},
    {"seed", SF_OPT_INT, "0", NULL, 0, 4e18, "seed of initialisation, split, sampler and augmentation"},
    {"split-seed", SF_OPT_INT, NULL, NULL, 0, 4e18,
     "seed of the validation split only (default: --seed); another --seed on the same split gives an "
     "ensemble member that evaluate --run can score"},
    {"deterministic", SF_OPT_FLAG, "off", NULL, 0, 0, "fixed-order reductions: bit-reproducible runs"},
    {"precision", SF_OPT_CHOICE, "fp32", "fp32|bf16", 0, 0,
     "bf16: every convolution multiplies bf16 activations, gradients and weights "
     "(exact products, fp32 sums; CPUs with AVX512_BF16, fp32 elsewhere); the weights, their gradients, the "
     "optimizer and every other layer stay fp32"},
    {"init", SF_OPT_STR, NULL, NULL, 0, 0, "start from these weights (.safetensors)"},
    {"freeze", SF_OPT_STR, NULL, NULL, 0, 0, "freeze parameters matching glob(s), e.g. 'conv*,layer1*'"},
    {"out", SF_OPT_STR, "runs/demo", NULL, 0, 0, "run folder"},
    {"resume", SF_OPT_STR, NULL, NULL, 0, 0, "continue the run in this folder (its config.json applies)"},
    {"checkpoint-minutes", SF_OPT_FLOAT, "5", NULL, 0, 1e6, "also checkpoint within an epoch this often (0: never)"},
    {"cache", SF_OPT_FLAG, "off", NULL, 0, 0, "keep decoded images in memory"},
    {"synth-largest", SF_OPT_INT, "240", NULL, 1, 100000, "synthetic demo: images of the largest class"},
    {"synth-smallest", SF_OPT_INT, "12", NULL, 1, 100000, "synthetic demo: images of the smallest class"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig) {
    if (g_stop) _exit(130);  // second Ctrl-C: at once; the last checkpoint on disk is complete
    g_stop = sig;
}

static int parse_range(const char *v, float *lo, float *hi) {
    char *end;
    *lo = strtof(v, &end);
    if (end == v) return -1;
    if (*end == ':') {
        const char *s = end + 1;
        *hi = strtof(s, &end);
        if (end == s) return -1;
    } else {
        *hi = *lo;
    }
    return *end == 0 || *end == ',' ? 0 : -1;
}

// "rot=15,flip=0.5,scale=0.08:1,ratio=0.75:1.3333" or "none" into cfg; 0 or -1 with err.
static int parse_augment(sf_augment_cfg *cfg, int *enabled, const char *s, char *err, size_t errlen) {
    *cfg = sf_augment_defaults();
    *enabled = strcmp(s, "none") != 0;
    if (!*enabled) return 0;
    for (const char *p = s; *p;) {
        const char *eq = strchr(p, '=');
        if (!eq) break;
        size_t kl = (size_t)(eq - p);
        float lo, hi;
        if (parse_range(eq + 1, &lo, &hi)) break;
        if (kl == 3 && !strncmp(p, "rot", 3) && lo >= 0 && lo <= 180) cfg->rot_deg = lo;
        else if (kl == 4 && !strncmp(p, "flip", 4) && lo >= 0 && lo <= 1) cfg->flip_p = lo;
        else if (kl == 5 && !strncmp(p, "scale", 5) && lo > 0 && lo <= hi && hi <= 1)
            cfg->scale_min = lo, cfg->scale_max = hi;
        else if (kl == 5 && !strncmp(p, "ratio", 5) && lo > 0 && lo <= hi) cfg->ratio_min = lo, cfg->ratio_max = hi;
        else if (kl == 5 && !strncmp(p, "erase", 5) && lo >= 0 && lo <= 1) cfg->erase_p = lo;
        else break;
        const char *comma = strchr(eq, ',');
        if (!comma) return 0;
        p = comma + 1;
    }
    snprintf(err, errlen,
             "--augment: cannot read '%s'; use none or rot=DEG(0..180),flip=P(0..1),scale=LO:HI(0<LO<=HI<=1),"
             "ratio=LO:HI,erase=P(0..1)",
             s);
    return -1;
}

// --resume: options not given on the command line take their values from the run's config.json.
// Strings live in `pool` (freed by the caller).
static int apply_config(sf_opts *o, const char *run, json_t **pool, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", run);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) {
        snprintf(err, errlen, "--resume: cannot read %.1500s: %.200s", path, je.text);
        return -1;
    }
    *pool = json_array();
    for (int i = 0; i < o->n; i++) {
        const char *name = o->spec[i].name;
        if (o->given[i] || !strcmp(name, "resume")) continue;
        json_t *v = json_object_get(j, name);
        if (!v) continue;
        char buf[64];
        const char *text = NULL;
        if (json_is_null(v)) text = NULL;
        else if (json_is_string(v)) text = json_string_value(v);
        else if (json_is_integer(v)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)), text = buf;
        else if (json_is_real(v)) snprintf(buf, sizeof buf, "%.17g", json_real_value(v)), text = buf;
        else if (json_is_boolean(v)) text = json_is_true(v) ? "on" : "off";
        if (text) {
            json_t *s = json_string(text);
            json_array_append_new(*pool, s);
            text = json_string_value(s);
        }
        o->value[i] = text;
    }
    json_decref(j);
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->spec[i].name, "out")) o->value[i] = run;
    return 0;
}

typedef struct {
    double loss, acc, macro_f1, weighted_f1;
    int64_t *cm;  // (k,k)
} eval_result;

// Mean cross-entropy, accuracy and confusion matrix of the model on the validation loader: each replica
// on its share of every batch or, when vm (the model at --val-size) is given, vm with the master's weights.
static void evaluate(eval_result *r, sf_replicas *m, sf_model *vm, sf_loader *ld, int k, int *yt, int *yp) {
    if (vm) sf_model_copy_weights(vm, sf_replicas_master(m), NULL, 0);  // checked at start-up
    memset(r->cm, 0, (size_t)k * k * sizeof *r->cm);
    double loss = 0;
    int64_t n = 0;
    sf_loader_start_epoch(ld, 0);
    sf_batch b;
    while (sf_loader_next(ld, &b)) {
        if (b.n == 0) continue;  // every image of the batch failed to decode
        // logits is (n,K)
        const float *logits = vm ? sf_model_forward(vm, b.x, b.n, false) : sf_replicas_forward(m, b.x, b.n, false);
        for (int i = 0; i < b.n; i++) {
            const float *l = logits + (size_t)i * k;
            int p = sf_argmax(l, k);
            double z = 0;
            for (int c = 0; c < k; c++) z += exp((double)l[c] - (double)l[p]);
            loss += log(z) + (double)l[p] - (double)l[b.y[i]];
            yt[i] = (int)b.y[i];
            yp[i] = p;
        }
        sf_confusion_add(r->cm, k, yt, yp, b.n);
        n += b.n;
    }
    sf_metrics mt;
    sf_metrics_compute(&mt, NULL, NULL, NULL, NULL, r->cm, k);
    r->loss = n ? loss / (double)n : NAN;
    r->acc = mt.accuracy;
    r->macro_f1 = mt.macro_f1;
    r->weighted_f1 = mt.weighted_f1;
}

typedef struct {
    sf_run_dir *run;
    sf_model *m;
    sf_optimizer *opt;
    const char *const *meta;  // class names and counts for the weights files
    char last[4096], state[4096], best[4096];
} ckpt_paths;

// last.safetensors then state.safetensors, both carrying the same checkpoint id.
static int save_checkpoint(const ckpt_paths *c, const sf_train_state *s) {
    char id[64], err[1024];
    snprintf(id, sizeof id, "e%d-b%lld-s%lld", s->epoch, (long long)s->batch, (long long)s->global_step);
    const char *meta[16];
    int n = 0;
    for (; c->meta[n]; n++) meta[n] = c->meta[n];
    meta[n++] = "ckpt_id";
    meta[n++] = id;
    meta[n] = NULL;
    if (sf_model_save(c->m, c->last, meta, err, sizeof err) ||
        sf_train_state_save(c->state, s, c->m, c->opt, id, NULL, err, sizeof err)) {
        sf_run_log(c->run, "springfield: checkpoint failed: %s", err);
        return -1;
    }
    return 0;
}

// Logs where the run stopped and prints the resume command; returns the exit status 130.
// prog: main passes its argv + 1 to commands, so argv[-1] is the program as the user invoked it.
// saved: whether the latest checkpoint write succeeded (a full disk can make it fail).
static int report_interrupt(sf_run_dir *run, const sf_train_state *st, const char *state_path, const char *prog,
                            const char *out, int saved) {
    sf_run_log(run, "springfield: interrupted (%s) at epoch %d batch %lld; %s %s",
               g_stop == SIGINT ? "SIGINT" : "SIGTERM", st->epoch + 1, (long long)st->batch,
               saved ? "state saved in" : "the state could not be saved (see above); resuming continues from the "
                                          "earlier checkpoint in",
               state_path);
    fprintf(stderr, "resume with: %s train --resume %s\n", prog ? prog : "springfield", out);
    return 130;
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

// The synthetic demo dataset under <out>/synthetic-data (kept across runs: generation is deterministic).
static int make_synthetic(char *dir, size_t n, const sf_run_dir *run, int largest, int smallest, uint64_t seed,
                          char *err, size_t errlen) {
    sf_run_file(dir, n, run, "synthetic-data");
    char mark[4200];
    sf_synth_cfg cfg = sf_synth_defaults();
    cfg.largest = largest;
    cfg.smallest = smallest < largest ? smallest : largest;
    cfg.seed = seed + 1;
    snprintf(mark, sizeof mark, "%s/.complete-%d-%d-%llu", dir, cfg.largest, cfg.smallest,
             (unsigned long long)cfg.seed);
    if (file_exists(mark)) return 0;
    double t0 = sf_now();
    int count = sf_synth_write(dir, &cfg, err, errlen);
    if (count < 0) return -1;
    FILE *f = fopen(mark, "w");
    if (f) fclose(f);
    sf_info("generated the synthetic dataset: %d images of %d classes in %s (%.1fs)", count, cfg.n_classes, dir,
            sf_now() - t0);
    return 0;
}

int sf_cmd_train(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, NSPEC, argc, argv, "springfield train [--data DIR] [options]");
    if (rc >= 0) return rc;
    char err[2048];
    json_t *pool = NULL;
    const char *resume = sf_opt_str(&o, "resume");
    if (resume && apply_config(&o, resume, &pool, err, sizeof err)) {
        fprintf(stderr, "springfield train: %s\n", err);
        return 2;
    }
    int demo = sf_opt_str(&o, "data") == NULL;
    const char *arch = sf_opt_str(&o, "model");
    int size = (int)sf_opt_int(&o, "size"), batch = (int)sf_opt_int(&o, "batch");
    int val_size = sf_opt_int(&o, "val-size") > 0 ? (int)sf_opt_int(&o, "val-size") : size;
    int epochs = sf_opt_set(&o, "epochs") ? (int)sf_opt_int(&o, "epochs") : demo ? 20 : 30;
    uint64_t seed = (uint64_t)sf_opt_int(&o, "seed");
    sf_augment_cfg aug;
    int augment;
    if (parse_augment(&aug, &augment, sf_opt_str(&o, "augment"), err, sizeof err)) {
        fprintf(stderr, "springfield train: %s\n", err);
        json_decref(pool);
        return 2;
    }
    const bool cosine = !strcmp(sf_opt_str(&o, "schedule"), "cosine");
    const double warmup_epochs = sf_opt_float(&o, "warmup-epochs"), min_lr = sf_opt_float(&o, "min-lr");
    if (!cosine && (warmup_epochs > 0 || min_lr > 0)) {
        fprintf(stderr, "springfield train: --warmup-epochs and --min-lr belong to --schedule cosine\n");
        json_decref(pool);
        return 2;
    }
    const int val_every = (int)sf_opt_int(&o, "val-every");
    if (!cosine && val_every > 1) {
        fprintf(stderr, "springfield train: --val-every %d needs --schedule cosine (ReduceLROnPlateau steps on "
                        "the validation loss of every epoch)\n", val_every);
        json_decref(pool);
        return 2;
    }
    if (min_lr > sf_opt_float(&o, "lr")) {
        fprintf(stderr, "springfield train: --min-lr %g is above --lr %g\n", min_lr, sf_opt_float(&o, "lr"));
        json_decref(pool);
        return 2;
    }
    sf_placement pl;
    if (sf_placement_setup(&pl, (int)sf_opt_int(&o, "threads"), sf_opt_str(&o, "numa"), batch, err, sizeof err)) {
        fprintf(stderr, "springfield train: %s\n", err);
        json_decref(pool);
        return 2;
    }
    const char *out = sf_opt_str(&o, "out");
    sf_run_dir run;
    if (sf_run_dir_open(&run, out, err, sizeof err)) {
        fprintf(stderr, "springfield train: %s\n", err);
        json_decref(pool);
        return 1;
    }
    ckpt_paths cp = {.run = &run};
    sf_run_file(cp.last, sizeof cp.last, &run, "last.safetensors");
    sf_run_file(cp.state, sizeof cp.state, &run, "state.safetensors");
    sf_run_file(cp.best, sizeof cp.best, &run, "best.safetensors");
    if (resume && !file_exists(cp.state)) {
        // Stopped before its first checkpoint: nothing was trained that could be lost, so starting the
        // same configuration from the beginning is what continuing it means.
        sf_run_log(&run, "springfield: %s has no checkpoint yet (it stopped before its first one); starting it "
                         "from the beginning with its config.json", out);
        resume = NULL;
    }
    if (!resume && file_exists(cp.state))
        sf_run_log(&run, "springfield: %s holds an earlier run; starting over (--resume %s continues it)", out, out);

    char data_dir[4096];
    if (demo) {
        if (make_synthetic(data_dir, sizeof data_dir, &run, (int)sf_opt_int(&o, "synth-largest"),
                           (int)sf_opt_int(&o, "synth-smallest"), seed, err, sizeof err)) {
            fprintf(stderr, "springfield train: %s\n", err);
            sf_run_dir_close(&run);
            json_decref(pool);
            return 1;
        }
    } else {
        snprintf(data_dir, sizeof data_dir, "%s", sf_opt_str(&o, "data"));
    }
    sf_dataset ds;
    if (sf_dataset_scan(&ds, data_dir, 0, err, sizeof err)) {
        fprintf(stderr, "springfield train: %s\n", err);
        sf_run_dir_close(&run);
        json_decref(pool);
        return 1;
    }
    int k = ds.n_classes;
    sf_split split;
    uint64_t split_seed = sf_opt_set(&o, "split-seed") ? (uint64_t)sf_opt_int(&o, "split-seed") : seed;
    sf_split_stratified(&split, &ds, (float)sf_opt_float(&o, "val-split"), split_seed, 0);
    sf_loader_cfg lc = sf_loader_defaults(size, batch);
    lc.threads = (int)sf_opt_int(&o, "loader-threads");
    lc.augment = augment;
    if (augment) lc.aug = aug;
    const char *balance = sf_opt_set(&o, "balance") ? sf_opt_str(&o, "balance") : demo ? "weighted" : "oversample";
    lc.balance = (sf_balance)sf_balance_parse(balance);
    lc.cache = sf_opt_flag(&o, "cache");
    lc.seed = seed;
    // A short last batch (possibly 1 image) would give BatchNorm degenerate batch statistics.
    lc.drop_last = split.n_train > batch;
    sf_loader *train_ld = sf_loader_create(&ds, split.train, split.n_train, &lc);
    sf_loader_cfg vc = sf_loader_eval_defaults(val_size, batch);
    vc.threads = lc.threads;
    vc.cache = lc.cache;
    vc.seed = seed;
    sf_loader *val_ld = sf_loader_create(&ds, split.val, split.n_val, &vc);

    sf_model_config mc = {.arch = arch, .n_classes = k, .in_h = size, .in_w = size, .max_batch = batch,
                          .deterministic = sf_opt_flag(&o, "deterministic"), .seed = seed,
                          .label_smoothing = (float)sf_opt_float(&o, "label-smoothing"),
                          .bf16 = !strcmp(sf_opt_str(&o, "precision"), "bf16")};
    int status = 0;
    sf_model *vm = NULL;  // validation at --val-size (NULL: on the replicas)
    // One replica per NUMA group; the optimizer, checkpoints and loads work on the master (replica 0).
    sf_replicas *reps = sf_replicas_create(&mc, sf_topology_get(), &pl.plan, NULL, err, sizeof err);
    if (!reps) {
        fprintf(stderr, "springfield train: %s\n", err);
        status = 2;
        goto teardown;
    }
    sf_model *m = sf_replicas_master(reps);
    // Validation at another size runs on a model of that size, given the master's weights each time.
    if (val_size != size) {
        sf_model_config vmc = mc;
        vmc.in_h = vmc.in_w = val_size;
        vm = sf_model_create(&vmc, err, sizeof err);
        if (!vm || sf_model_copy_weights(vm, m, err, sizeof err)) {
            fprintf(stderr, "springfield train: --val-size %d: %s (%s at %d px has other weights than at %d px; "
                    "resnet18 and resnet50 take any size)\n", val_size, err, arch, val_size, size);
            status = 2;
            goto teardown;
        }
    }
    const char *init = sf_opt_str(&o, "init");
    if (init && sf_model_load(m, init, NULL, err, sizeof err)) {
        fprintf(stderr, "springfield train: --init: %s\n", err);
        status = 1;
        goto teardown;
    }
    if (sf_opt_str(&o, "freeze")) {
        int nf = sf_replicas_freeze(reps, sf_opt_str(&o, "freeze"));
        sf_run_log(&run, "springfield: froze %d parameter tensors matching '%s'", nf, sf_opt_str(&o, "freeze"));
        if (nf == 0) sf_warn("--freeze '%s' matched no parameter", sf_opt_str(&o, "freeze"));
    }
    sf_opt_config oc = sf_opt_defaults(!strcmp(sf_opt_str(&o, "optimizer"), "sgd") ? SF_OPT_SGD : SF_OPT_ADAMW);
    oc.lr = sf_opt_float(&o, "lr");
    oc.amsgrad = sf_opt_flag(&o, "amsgrad");
    if (sf_opt_set(&o, "weight-decay")) oc.weight_decay = sf_opt_float(&o, "weight-decay");
    sf_optimizer *opt = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
    cp.m = m;
    cp.opt = opt;

    sf_train_state st;
    sf_train_state_init(&st, oc.lr);
    st.plateau.patience = (int)sf_opt_int(&o, "patience");
    st.plateau.factor = sf_opt_float(&o, "factor");
    if (resume) {
        char id[64];
        if (sf_train_state_load(&st, m, opt, cp.state, id, sizeof id, err, sizeof err)) {
            fprintf(stderr, "springfield train: --resume: %s\n", err);
            status = 1;
            goto free_state;
        }
        sf_run_log(&run, "springfield: resuming %s at epoch %d, batch %lld (checkpoint %s, lr %.3g)", out,
                   st.epoch + 1, (long long)st.batch, id, st.lr);
        // history.csv and curves.png follow the state: a kill between an epoch's checkpoint and their
        // writes left them an epoch behind, for good when that was the last epoch.
        char path[4200];
        if (sf_run_write_history(&run, st.history, st.n_history, err, sizeof err)) sf_warn("%s", err);
        sf_run_file(path, sizeof path, &run, "curves.png");
        if (st.n_history && sf_plot_curves(path, st.history, st.n_history, err, sizeof err)) sf_warn("%s", err);
    }
    sf_replicas_refresh(reps);  // after --init or --resume wrote the master's weights

    // Metadata of the weights files: class names and training counts, for evaluate and predict.
    int64_t *counts = sf_calloc((size_t)k, sizeof *counts);
    for (int i = 0; i < split.n_train; i++) counts[ds.labels[split.train[i]]]++;
    char *names_json = sf_json_names((const char *const *)ds.classes, k);
    char *counts_json = sf_json_counts(counts, k);
    const char *meta[] = {"class_names",         names_json, "class_counts", counts_json, "format",
                          "springfield-weights", NULL};
    cp.meta = meta;

    json_t *extra = json_object();
    json_object_set_new(extra, "data_resolved", json_string(data_dir));
    json_object_set_new(extra, "epochs_resolved", json_integer(epochs));
    json_object_set_new(extra, "balance_resolved", json_string(balance));
    json_object_set_new(extra, "threads_resolved", json_integer(sf_threads()));
    json_object_set_new(extra, "numa_replicas", json_integer(sf_replicas_count(reps)));
    json_object_set_new(extra, "placement", json_string(pl.report));
    json_object_set_new(extra, "profile", json_string(pl.profile));
    json_object_set_new(extra, "n_classes", json_integer(k));
    json_object_set_new(extra, "n_train", json_integer(split.n_train));
    json_object_set_new(extra, "n_val", json_integer(split.n_val));
    json_object_set_new(extra, "classes", json_loads(names_json, 0, NULL));
    if (sf_run_write_config(&run, &o, extra, err, sizeof err)) {
        // Without config.json the run could not be resumed or evaluated: stop before training anything.
        fprintf(stderr, "springfield train: %s/config.json: %s\n", out, err);
        status = 1;
        goto free_meta;
    }

    sf_run_log(&run,
               "springfield: train %s %dpx batch %d, %d epochs, %s lr %g%s, %d classes, %d train / %d val images, "
               "%d threads%s -> %s",
               arch, size, batch, epochs, sf_opt_str(&o, "optimizer"), oc.lr,
               oc.kind == SF_OPT_ADAMW && oc.amsgrad ? " amsgrad" : "", k, split.n_train, split.n_val, sf_threads(),
               mc.deterministic ? " deterministic" : "", out);
    sf_run_log(&run, "springfield: %s; cpu profile %s", pl.report, pl.profile);
    if (vm) sf_run_log(&run, "springfield: validation at %d px (training at %d px)", val_size, size);
    if (val_every > 1)
        sf_run_log(&run, "springfield: validation after every %d epochs and after epoch %d", val_every, epochs);
    if (mc.bf16)
        sf_run_log(&run, "springfield: precision bf16: %s", sf_bf16_supported()
                   ? "every convolution in bf16, all three directions (AVX512_BF16)"
                   : "this CPU or path has no AVX512_BF16, so everything runs in fp32");
    if (!resume) sf_model_print_table(m, stderr);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    // Per-run buffers, allocated once.
    int nbuf = sf_model_n_buffers(m);
    size_t buf_bytes = 0;
    for (int i = 0; i < nbuf; i++)
        buf_bytes += sf_model_buffer(m, i)->count * sf_dtype_size(sf_model_buffer(m, i)->dtype);
    unsigned char *bn_snap = sf_malloc(buf_bytes);  // BatchNorm running stats before each step
    int *yt = sf_malloc((size_t)batch * sizeof *yt), *yp = sf_malloc((size_t)batch * sizeof *yp);
    eval_result ev = {.cm = sf_calloc((size_t)k * k, sizeof(int64_t))};
    double ckpt_every = sf_opt_float(&o, "checkpoint-minutes") * 60.0;
    int nbatches = sf_loader_batches(train_ld);
    // cosine: the schedule is a function of the step alone, so a resumed run continues it exactly (with
    // another --epochs on resume, the decay stretches or shrinks to the new end from the current step)
    const int64_t total_steps = (int64_t)epochs * nbatches, warmup_steps = llround(warmup_epochs * nbatches);
    if (cosine)
        sf_run_log(&run, "springfield: lr schedule cosine: %lld warmup steps, %lld steps in all, %g -> %g",
                   (long long)warmup_steps, (long long)total_steps, oc.lr, min_lr);
    int ckpt_failed = 0;  // checkpoint writes failed in a row (e.g. disk full): training carries on
    double last_ckpt = sf_now();

    while (st.epoch < epochs && status == 0) {
        if (g_stop) {  // arrived during the last validation: the epoch-end checkpoint is already written
            status = report_interrupt(&run, &st, cp.state, argv[-1], out, ckpt_failed == 0);
            break;
        }
        double t_epoch = sf_now() - st.epoch_seconds;
        sf_loader_start_epoch(train_ld, st.epoch);
        sf_batch b;
        for (int64_t i = 0; i < st.batch; i++)  // resumed mid-epoch: the same batches, not trained on again
            if (!sf_loader_next(train_ld, &b)) break;
        char label[32];
        snprintf(label, sizeof label, "epoch %03d", st.epoch + 1);
        sf_progress pg;
        sf_progress_begin(&pg, stderr, -1, label, st.batch, nbatches);
        double t_train = sf_now();
        int64_t imgs_this_run = 0;
        const double train_s0 = st.train_seconds;  // from before a resume within this epoch
        const int64_t imgs0 = st.train_images;
        while (sf_loader_next(train_ld, &b)) {
            if (cosine) {
                st.lr = sf_cosine_lr(oc.lr, min_lr, st.global_step, warmup_steps, total_steps);
                opt->cfg.lr = st.lr;
            }
            size_t off = 0;
            for (int i = 0; i < nbuf; i++) {
                const sf_param *p = sf_model_buffer(m, i);
                size_t nbytes = p->count * sf_dtype_size(p->dtype);
                memcpy(bn_snap + off, p->data, nbytes);
                off += nbytes;
            }
            const float *logits = sf_replicas_forward(reps, b.x, b.n, true);  // logits is (n,K)
            int correct = 0;
            for (int i = 0; i < b.n; i++) correct += sf_argmax(logits + (size_t)i * k, k) == b.y[i];
            float loss = sf_replicas_loss_backward(reps, b.y);
            if (!isfinite(loss)) {
                off = 0;
                for (int i = 0; i < nbuf; i++) {  // the failed forward must not leave NaN running stats
                    const sf_param *p = sf_model_buffer(m, i);
                    size_t nbytes = p->count * sf_dtype_size(p->dtype);
                    memcpy(p->data, bn_snap + off, nbytes);
                    off += nbytes;
                }
                sf_model_weights_changed(m);
                st.bad_streak++;
                st.n_skipped++;
                sf_progress_end(&pg);
                sf_run_log(&run, "springfield: non-finite loss (%g) at epoch %d batch %d: step skipped (%d in a row)",
                           (double)loss, st.epoch + 1, b.number + 1, st.bad_streak);
                if (st.bad_streak >= MAX_BAD_STREAK) {
                    sf_run_log(&run,
                               "springfield: %d non-finite losses in a row: training stopped (try a lower --lr); "
                               "the best checkpoint so far is kept in %s",
                               MAX_BAD_STREAK, cp.best);
                    status = 1;
                    break;
                }
            } else {
                sf_opt_step(opt);
                st.bad_streak = 0;
                st.sum_loss += (double)loss * b.n;
                st.n_correct += correct;
                st.n_images += b.n;
            }
            sf_replicas_refresh(reps);
            imgs_this_run += b.n;
            st.batch++;
            st.global_step++;
            sf_progress_update(&pg, st.batch, imgs_this_run, st.n_images ? st.sum_loss / st.n_images : 0,
                               st.n_images ? (double)st.n_correct / st.n_images : 0);
            if (g_stop) break;
            if (ckpt_every > 0 && sf_now() - last_ckpt >= ckpt_every && st.batch < nbatches) {
                st.epoch_seconds = sf_now() - t_epoch;
                st.train_seconds = train_s0 + (sf_now() - t_train);
                st.train_images = imgs0 + imgs_this_run;
                ckpt_failed = save_checkpoint(&cp, &st) ? ckpt_failed + 1 : 0;
                last_ckpt = sf_now();
            }
        }
        sf_progress_end(&pg);
        double train_s = sf_now() - t_train;
        if (status) break;
        if (g_stop) {
            st.epoch_seconds = sf_now() - t_epoch;
            st.train_seconds = train_s0 + train_s;
            st.train_images = imgs0 + imgs_this_run;
            ckpt_failed = save_checkpoint(&cp, &st) ? ckpt_failed + 1 : 0;
            status = report_interrupt(&run, &st, cp.state, argv[-1], out, ckpt_failed == 0);
            break;
        }
        // --val-every: an epoch between validations records NaN and cannot become the best.
        const bool validate = (st.epoch + 1) % val_every == 0 || st.epoch + 1 == epochs;
        if (validate) evaluate(&ev, reps, vm, val_ld, k, yt, yp);
        sf_epoch_record r = {.epoch = st.epoch + 1,
                             .lr = st.lr,
                             .train_loss = st.n_images ? st.sum_loss / st.n_images : NAN,
                             .train_acc = st.n_images ? (double)st.n_correct / st.n_images : NAN,
                             .val_loss = validate ? ev.loss : NAN,
                             .val_acc = validate ? ev.acc : NAN,
                             .val_f1 = validate ? ev.macro_f1 : NAN,
                             .seconds = sf_now() - t_epoch,
                             .img_per_s = train_s0 + train_s > 0 ? (imgs0 + imgs_this_run) / (train_s0 + train_s) : 0,
                             .skipped = (int)st.n_skipped};
        char line[512];
        sf_epoch_line(line, sizeof line, &r);
        sf_run_log(&run, "%s", line);
        bool reduced = false;
        if (!cosine) {  // validated every epoch (--val-every 1)
            st.lr = sf_plateau_step(&st.plateau, ev.loss, st.lr, &reduced);
            opt->cfg.lr = st.lr;
        }
        if (reduced) sf_run_log(&run, "springfield: validation loss plateaued: lr %.3g -> %.3g", r.lr, st.lr);
        if (validate && ev.acc > st.best_acc) {
            char ep[16], acc[32];
            snprintf(ep, sizeof ep, "%d", r.epoch);
            snprintf(acc, sizeof acc, "%.6f", ev.acc);
            const char *bm[] = {meta[0], meta[1], meta[2],   meta[3], meta[4], meta[5],
                                "epoch", ep,      "val_acc", acc,     NULL};
            // The best epoch is the one in best.safetensors: a failed write (disk full) leaves the
            // earlier best there, and the next improvement tries again.
            if (sf_model_save(vm ? vm : m, cp.best, bm, err, sizeof err)) {
                sf_run_log(&run, "springfield: new best val_acc %.4f not saved: %s", ev.acc, err);
            } else {
                st.best_acc = ev.acc;
                st.best_epoch = r.epoch;
                sf_run_log(&run, "springfield: new best val_acc %.4f: %s", ev.acc, cp.best);
            }
        }
        sf_train_state_push(&st, &r);
        st.epoch++;
        st.batch = 0;
        st.sum_loss = 0;
        st.n_correct = st.n_images = st.n_skipped = 0;
        st.epoch_seconds = st.train_seconds = 0;
        st.train_images = 0;
        ckpt_failed = save_checkpoint(&cp, &st) ? ckpt_failed + 1 : 0;
        last_ckpt = sf_now();
        char path[4200];
        if (sf_run_write_history(&run, st.history, st.n_history, err, sizeof err)) sf_warn("%s", err);
        sf_run_file(path, sizeof path, &run, "curves.png");
        if (sf_plot_curves(path, st.history, st.n_history, err, sizeof err)) sf_warn("%s", err);
    }

    // Bad images of both loaders.
    int nb_bad = sf_loader_n_bad(train_ld) + sf_loader_n_bad(val_ld);
    const char **bad = sf_malloc((size_t)(nb_bad + 1) * sizeof *bad);
    for (int i = 0; i < sf_loader_n_bad(train_ld); i++) bad[i] = sf_loader_bad(train_ld, i);
    for (int i = 0; i < sf_loader_n_bad(val_ld); i++) bad[sf_loader_n_bad(train_ld) + i] = sf_loader_bad(val_ld, i);
    if (sf_run_write_bad_images(&run, bad, NULL, nb_bad, err, sizeof err)) sf_warn("%s", err);
    free(bad);

    if (status != 130 && file_exists(cp.best)) {
        if (sf_model_load(m, cp.best, NULL, err, sizeof err)) {
            sf_run_log(&run, "springfield: cannot reload %s: %s", cp.best, err);
            status = status ? status : 1;
        } else {
            sf_replicas_refresh(reps);
            evaluate(&ev, reps, vm, val_ld, k, yt, yp);
            double *p = sf_malloc((size_t)k * sizeof *p), *rec = sf_malloc((size_t)k * sizeof *rec),
                   *f = sf_malloc((size_t)k * sizeof *f);
            int64_t *sup = sf_malloc((size_t)k * sizeof *sup);
            sf_metrics mt;
            sf_metrics_compute(&mt, p, rec, f, sup, ev.cm, k);
            char path[4200];
            sf_run_file(path, sizeof path, &run, "per_class.csv");
            if (sf_write_per_class_csv(path, (const char *const *)ds.classes, k, p, rec, f, sup, err, sizeof err))
                sf_warn("%s", err);
            sf_run_file(path, sizeof path, &run, "confusion.png");
            char title[128];
            snprintf(title, sizeof title, "validation confusion, best epoch %d (accuracy %.3f)", st.best_epoch,
                     mt.accuracy);
            if (sf_plot_confusion(path, ev.cm, k, (const char *const *)ds.classes, title, err, sizeof err))
                sf_warn("%s", err);
            sf_run_log(
                &run,
                "springfield: best epoch %d: val_acc %.4f macro_f1 %.4f weighted_f1 %.4f val_loss %.4f (%lld images)"
                "; weights %s",
                st.best_epoch, mt.accuracy, mt.macro_f1, mt.weighted_f1, ev.loss, (long long)mt.total, cp.best);
            free(p);
            free(rec);
            free(f);
            free(sup);
        }
    }
    if (status == 0 && ckpt_failed) {  // the weights trained since the last good checkpoint are not on disk
        sf_run_log(&run,
                   "springfield: the last %d checkpoint writes failed (see above); %s holds an earlier state, "
                   "from which --resume %s continues",
                   ckpt_failed, cp.state, out);
        status = 1;
    }
    if (status == 0)
        sf_run_log(&run, "springfield: done: %s (history.csv, curves.png, confusion.png, per_class.csv)", out);

    free(ev.cm);
    free(yt);
    free(yp);
    free(bn_snap);
free_meta:  // a config.json that could not be written jumps here
    free(counts);
    free(names_json);
    free(counts_json);
free_state:  // a refused --resume jumps here
    sf_train_state_free(&st);
    sf_opt_free(opt);
teardown:  // what exists once the loaders are made (failed replicas, a refused --val-size or --init jump here)
    sf_replicas_free(reps);
    if (vm) sf_model_free(vm);
    sf_loader_destroy(train_ld);
    sf_loader_destroy(val_ld);
    sf_split_free(&split);
    sf_dataset_free(&ds);
    sf_run_dir_close(&run);
    json_decref(pool);
    return status;
}
