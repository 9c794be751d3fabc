// cmd_evaluate.c: `springfield evaluate --weights W --data DIR [--model M --size S]`, or
// `springfield evaluate --run runs/NAME`.
//
// Runs the model over every image of a labelled folder (DIR/<class>/<file>; evaluation transform) and
// prints accuracy, macro-F1, weighted F1, the per-class table and the confusion matrix; --png and
// --per-class write them as files. The architecture, input size and class names come from the
// checkpoint's metadata unless given. Folder classes are matched to the checkpoint's classes by name,
// so a folder with a subset of the classes (or extra ones, which are reported and skipped) works.
// --run evaluates a training run's validation split: its data folder, seed and validation fraction come
// from the run's config.json and the split is redrawn exactly as `train` drew it, so the accuracy that
// training reported for best.safetensors can be reproduced by a separate code path (this one decodes
// every image itself, without the training loader or its cache). --tta flip scores the mean class
// probabilities of each image and its mirror image (sf_classify); training's validation never does.
// --weights a,b,... scores the mean class probabilities of several checkpoints (cli/ensemble.h); with
// --run the split is that run's, so the other models must not have trained on its validation images.
// --shrink N and --reencode Q prepare each image as the task's training images were made (shorter side at
// most N px, bicubic; then a JPEG of quality Q) before the model's resize, for full-size images.
#include "cli/commands.h"
#include "cli/ensemble.h"
#include "cli/options.h"
#include "cli/placement.h"
#include "cli/plot.h"
#include "cli/run_dir.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/image.h"
#include "data/split.h"
#include "nn/classify.h"
#include "nn/metrics.h"
#include "nn/model.h"
#include "util/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const sf_opt_spec spec[] = {
    {"weights", SF_OPT_STR, NULL, NULL, 0, 0,
     "checkpoint (.safetensors); with --run: default RUN/best.safetensors; several, comma-separated: an ensemble (mean of their class probabilities, each at its own input size); "
     "PATH@SIZE runs that model at input size SIZE"},
    {"data", SF_OPT_STR, NULL, NULL, 0, 0, "labelled folder DIR/<class>/<image>"},
    {"run", SF_OPT_STR, NULL, NULL, 0, 0, "evaluate this training run's validation split (from its config.json)"},
    SF_INFER_OPTS,
    {"png", SF_OPT_STR, NULL, NULL, 0, 0, "write the confusion matrix as this PNG"},
    {"per-class", SF_OPT_STR, NULL, NULL, 0, 0, "write the per-class table as this CSV"},
    {"matrix", SF_OPT_FLAG, "on", NULL, 0, 0, "print the confusion matrix"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

// What --run needs from RUN/config.json: the data folder (a demo run's synthetic-data), the split's
// seed ("split-seed" where the run set one, else "seed") and the validation fraction. Returns 0, or 1
// with the reason in err.
static int run_split_config(char *dir, size_t dirlen, uint64_t *seed, double *val_frac, const char *run, char *err,
                            size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", run);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) {
        snprintf(err, errlen, "%.600s: %.300s", path, je.text);
        return 1;
    }
    json_t *data = json_object_get(j, "data"), *sd = json_object_get(j, "split-seed");
    json_t *vf = json_object_get(j, "val-split");
    if (!json_is_integer(sd)) sd = json_object_get(j, "seed");
    int rc = 0;
    if (!json_is_integer(sd) || !json_is_number(vf) || !(json_is_string(data) || json_is_null(data) || !data)) {
        snprintf(err, errlen, "%.600s: needs \"seed\" (integer), \"val-split\" (number) and \"data\" (string or null)", path);
        rc = 1;
    } else {
        if (json_is_string(data)) snprintf(dir, dirlen, "%s", json_string_value(data));
        else snprintf(dir, dirlen, "%s/synthetic-data", run);
        *seed = (uint64_t)json_integer_value(sd);
        *val_frac = json_number_value(vf);
    }
    json_decref(j);
    return rc;
}

int sf_cmd_evaluate(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, NSPEC, argc, argv,
                         "springfield evaluate --weights W --data DIR [options]\n       springfield evaluate --run runs/NAME [options]");
    if (rc >= 0) return rc;
    const char *weights = sf_opt_str(&o, "weights"), *dir = sf_opt_str(&o, "data"), *run = sf_opt_str(&o, "run");
    char err[1024], run_data[4096], run_weights[4096];
    uint64_t split_seed = 0;
    double val_frac = 0;
    if (run) {
        if (dir) {
            fprintf(stderr, "springfield evaluate: --run takes the data folder from the run's config.json; drop --data\n");
            return 2;
        }
        if (run_split_config(run_data, sizeof run_data, &split_seed, &val_frac, run, err, sizeof err)) {
            fprintf(stderr, "springfield evaluate: %s\n", err);
            return 1;
        }
        dir = run_data;
        if (!weights) {
            snprintf(run_weights, sizeof run_weights, "%s/best.safetensors", run);
            weights = run_weights;
        }
    }
    if (!weights || !dir) {
        fprintf(stderr, "springfield evaluate: --weights and --data, or --run, are required (see --help)\n");
        return 2;
    }
    sf_placement pl;
    if (sf_placement_setup(&pl, (int)sf_opt_int(&o, "threads"), sf_opt_str(&o, "numa"), (int)sf_opt_int(&o, "batch"),
                           err, sizeof err)) {
        fprintf(stderr, "springfield evaluate: %s\n", err);
        return 2;
    }
    sf_info("%s; cpu profile %s", pl.report, pl.profile);
    sf_dataset ds;
    if (sf_dataset_scan(&ds, dir, 0, err, sizeof err)) {
        fprintf(stderr, "springfield evaluate: %s\n", err);
        return 1;
    }
    int batch = (int)sf_opt_int(&o, "batch");
    sf_ensemble e;
    int erc = sf_ensemble_open(&e, weights, sf_opt_str(&o, "model"), sf_opt_given(&o, "size") ? (int)sf_opt_int(&o, "size") : 0,
                         ds.n_classes, batch, sf_opt_str(&o, "precision"), sf_placement_model_node(&pl), err,
                         sizeof err);
    if (erc) {
        fprintf(stderr, "springfield evaluate: %s\n", err);
        sf_dataset_free(&ds);
        return erc == -2 ? 2 : 1;
    }
    const sf_ckpt_info ci = e.info;
    int k = e.k;
    char ename[4200];
    sf_ensemble_name(&e, ename, sizeof ename);
    // Folder class -> model class, by name when the checkpoint names its classes, else by position.
    int *map = sf_malloc((size_t)ds.n_classes * sizeof *map);
    for (int c = 0; c < ds.n_classes; c++) {
        map[c] = c < k ? c : -1;
        if (ci.names) {
            map[c] = -1;
            for (int j = 0; j < k; j++)
                if (!strcmp(ci.names[j], ds.classes[c])) map[c] = j;
        }
        if (map[c] < 0)
            sf_warn("class folder '%s' is not a class of %s; its images are skipped", ds.classes[c], ename);
    }
    sf_image *img = sf_calloc((size_t)batch, sizeof *img);
    float *probs = sf_malloc((size_t)batch * k * sizeof *probs);  // probs is (B,K)
    int flip = !strcmp(sf_opt_str(&o, "tta"), "flip"), shrink = (int)sf_opt_int(&o, "shrink");
    int reencode = (int)sf_opt_int(&o, "reencode");
    int *yt = sf_malloc((size_t)batch * sizeof *yt), *yp = sf_malloc((size_t)batch * sizeof *yp);
    int *ok = sf_malloc((size_t)batch * sizeof *ok);
    int *sel = sf_malloc((size_t)ds.n * sizeof *sel), n = 0;
    if (run) {  // the run's validation split, drawn as train drew it
        sf_split sp;
        sf_split_stratified(&sp, &ds, (float)val_frac, split_seed, 1);
        for (int i = 0; i < sp.n_val; i++)
            if (map[ds.labels[sp.val[i]]] >= 0) sel[n++] = sp.val[i];
        sf_split_free(&sp);
        printf("validation split of %s: %d images (seed %llu, fraction %.3g) from %s\n", run, n,
               (unsigned long long)split_seed, val_frac, dir);
    } else {
        for (int i = 0; i < ds.n; i++)
            if (map[ds.labels[i]] >= 0) sel[n++] = i;
    }
    int64_t *cm = sf_calloc((size_t)k * k, sizeof *cm);
    int bad = 0;
    double t0 = sf_now();
    for (int b0 = 0; b0 < n; b0 += batch) {
        int nb = n - b0 < batch ? n - b0 : batch;
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < nb; i++) {
            char why[SF_IMAGE_ERR_LEN];
            const char *path = ds.paths[sel[b0 + i]];
            ok[i] = sf_image_load(&img[i], path, NULL, why, sizeof why) == 0;
            if (ok[i]) ok[i] = sf_prepare_image(&img[i], shrink, reencode, path, why, sizeof why) == 0;
            if (!ok[i]) sf_warn("%s; skipped", why);
        }
        sf_ensemble_classify(&e, probs, img, ok, nb, flip);
        for (int i = 0; i < nb; i++)
            if (ok[i]) sf_image_free(&img[i]);
        int nk = 0;
        for (int i = 0; i < nb; i++) {
            if (!ok[i]) {
                bad++;
                continue;
            }
            yt[nk] = map[ds.labels[sel[b0 + i]]];
            yp[nk++] = sf_argmax(probs + (size_t)i * k, k);
        }
        sf_confusion_add(cm, k, yt, yp, nk);
    }
    double dt = sf_now() - t0;
    sf_metrics mt;
    double *p = sf_malloc((size_t)k * sizeof *p), *r = sf_malloc((size_t)k * sizeof *r),
           *f = sf_malloc((size_t)k * sizeof *f);
    int64_t *sup = sf_malloc((size_t)k * sizeof *sup);
    sf_metrics_compute(&mt, p, r, f, sup, cm, k);
    char fallback[32];
    printf("%-28s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    for (int c = 0; c < k; c++) {
        snprintf(fallback, sizeof fallback, "%d", c);
        printf("%-28s %9.4f %9.4f %9.4f %8lld\n", ci.names ? ci.names[c] : fallback, p[c], r[c], f[c],
               (long long)sup[c]);
    }
    char prep[64];
    sf_prepare_describe(prep, sizeof prep, shrink, reencode);
    printf("\nimages %lld (%d unreadable, skipped)  accuracy %.4f  macro_f1 %.4f  weighted_f1 %.4f  (%.1f img/s%s%s%s)\n",
           (long long)mt.total, bad, mt.accuracy, mt.macro_f1, mt.weighted_f1, n / dt, flip ? ", tta flip" : "",
           prep[0] ? ", " : "", prep);
    if (sf_opt_flag(&o, "matrix")) {
        printf("\nconfusion matrix (row = true class, column = predicted, in class order above):\n");
        for (int t = 0; t < k; t++) {
            for (int c = 0; c < k; c++) printf("%s%lld", c ? " " : "", (long long)cm[(size_t)t * k + c]);
            printf("\n");
        }
    }
    rc = 0;
    const char *png = sf_opt_str(&o, "png"), *csv = sf_opt_str(&o, "per-class");
    char **names = ci.names;
    char **tmp = NULL;
    if (!names) {
        tmp = sf_malloc((size_t)k * sizeof *tmp);
        for (int c = 0; c < k; c++) {
            char b[32];
            snprintf(b, sizeof b, "%d", c);
            tmp[c] = strdup(b);
        }
        names = tmp;
    }
    if (png && sf_plot_confusion(png, cm, k, (const char *const *)names, "confusion matrix", err, sizeof err)) {
        fprintf(stderr, "springfield evaluate: %s\n", err);
        rc = 1;
    }
    if (csv && sf_write_per_class_csv(csv, (const char *const *)names, k, p, r, f, sup, err, sizeof err)) {
        fprintf(stderr, "springfield evaluate: %s\n", err);
        rc = 1;
    }
    for (int c = 0; tmp && c < k; c++) free(tmp[c]);
    free(tmp);
    free(p);
    free(r);
    free(f);
    free(sup);
    free(cm);
    free(sel);
    free(ok);
    free(yt);
    free(yp);
    free(probs);
    free(img);
    free(map);
    sf_ensemble_free(&e);
    sf_dataset_free(&ds);
    return rc;
}
