// cmd_predict.c: `springfield predict --weights W --images DIR --submission out.csv [--top K]`.
//
// Classifies every image file in DIR (evaluation transform: antialiased resize to the model's size,
// ImageNet normalisation) and writes the Kaggle submission: header `Id,Expected`, one row per image,
// e.g. `img0.jpg,nelson_muntz`. Rows are in natural filename order (img2 before img10, i.e. the
// numeric order of the competition's imgN names); Kaggle matches rows by Id, so order is cosmetic.
// An unreadable image still gets a row: the class most frequent in training (from the checkpoint's
// metadata; else the most frequent prediction), and a warning on stderr names it. --tta flip averages
// each image's class probabilities with its mirror image's (sf_classify). --weights a,b,... averages the
// class probabilities of several checkpoints of the same classes (cli/ensemble.h). --shrink N and
// --reencode Q prepare each image as the training images were made (shorter side at most N px, bicubic;
// then a JPEG of quality Q), for full-size test images and a model trained on shrunk JPEGs.
#include "cli/commands.h"
#include "cli/ensemble.h"
#include "cli/options.h"
#include "cli/placement.h"
#include "cli/run_dir.h"
#include "data/augment.h"
#include "data/image.h"
#include "nn/classify.h"
#include "nn/metrics.h"
#include "nn/model.h"
#include "util/atomic_file.h"
#include "util/text.h"
#include "util/util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const sf_opt_spec spec[] = {
    {"weights", SF_OPT_STR, NULL, NULL, 0, 0,
     "checkpoint (.safetensors) written by springfield train; several, comma-separated: an ensemble (mean of their class probabilities, each at its own input size); "
     "PATH@SIZE runs that model at input size SIZE"},
    {"images", SF_OPT_STR, NULL, NULL, 0, 0, "folder of images to classify (e.g. testset/)"},
    {"submission", SF_OPT_STR, NULL, NULL, 0, 0, "Kaggle CSV to write (Id,Expected); omitted: print only"},
    {"top", SF_OPT_INT, "1", NULL, 1, 42, "also print the K most likely classes per image to stdout"},
    SF_INFER_OPTS,
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

// Natural order: runs of digits compare as numbers, the rest byte by byte.
static int natural_cmp(const char *a, const char *b) {
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la])) la++;
            while (isdigit((unsigned char)b[lb])) lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int cmp_names(const void *x, const void *y) {
    int c = natural_cmp(*(char *const *)x, *(char *const *)y);
    return c ? c : strcmp(*(char *const *)x, *(char *const *)y);
}

// Regular, non-hidden files of dir, sorted; returns the count (-1 when dir cannot be read).
static int list_files(char ***out, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 256;
    char **v = sf_malloc((size_t)cap * sizeof *v);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4096];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            cap *= 2;
            char **w = sf_malloc((size_t)cap * sizeof *w);
            memcpy(w, v, (size_t)n * sizeof *w);
            free(v);
            v = w;
        }
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof *v, cmp_names);
    *out = v;
    return n;
}

int sf_cmd_predict(int argc, char **argv) {
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, NSPEC, argc, argv,
                         "springfield predict --weights W --images DIR [--submission out.csv] [--top K]");
    if (rc >= 0) return rc;
    const char *weights = sf_opt_str(&o, "weights"), *dir = sf_opt_str(&o, "images");
    const char *sub = sf_opt_str(&o, "submission");
    if (!weights || !dir) {
        fprintf(stderr, "springfield predict: --weights and --images are required (see --help)\n");
        return 2;
    }
    char err[1024];
    sf_placement pl;
    if (sf_placement_setup(&pl, (int)sf_opt_int(&o, "threads"), sf_opt_str(&o, "numa"), (int)sf_opt_int(&o, "batch"),
                           err, sizeof err)) {
        fprintf(stderr, "springfield predict: %s\n", err);
        return 2;
    }
    sf_info("%s; cpu profile %s", pl.report, pl.profile);
    sf_ensemble e;
    int batch = (int)sf_opt_int(&o, "batch"), top = (int)sf_opt_int(&o, "top");
    int erc = sf_ensemble_open(&e, weights, sf_opt_str(&o, "model"), sf_opt_given(&o, "size") ? (int)sf_opt_int(&o, "size") : 0,
                         0, batch, sf_opt_str(&o, "precision"), sf_placement_model_node(&pl), err, sizeof err);
    if (erc) {
        fprintf(stderr, "springfield predict: %s\n", err);
        return erc == -2 ? 2 : 1;
    }
    const sf_ckpt_info ci = e.info;
    int k = e.k;
    if (top > k) top = k;
    char **files = NULL;
    int n = list_files(&files, dir);
    if (n <= 0) {
        fprintf(stderr, "springfield predict: no image files in '%s'\n", dir);
        sf_ensemble_free(&e);
        return 1;
    }
    int *pred = sf_malloc((size_t)n * sizeof *pred);
    int *ok = sf_malloc((size_t)n * sizeof *ok);
    sf_image *img = sf_calloc((size_t)batch, sizeof *img);
    char(*why)[SF_IMAGE_ERR_LEN] = sf_malloc((size_t)batch * SF_IMAGE_ERR_LEN);
    float *probs = sf_malloc((size_t)batch * k * sizeof *probs);  // probs is (B,K)
    int flip = !strcmp(sf_opt_str(&o, "tta"), "flip"), shrink = (int)sf_opt_int(&o, "shrink");
    int reencode = (int)sf_opt_int(&o, "reencode");
    int *order = sf_malloc((size_t)k * sizeof *order);
    int64_t *votes = sf_calloc((size_t)k, sizeof *votes);
    double t0 = sf_now();
    for (int b0 = 0; b0 < n; b0 += batch) {
        int nb = n - b0 < batch ? n - b0 : batch;
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < nb; i++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, files[b0 + i]);
            ok[b0 + i] = sf_image_load(&img[i], p, NULL, why[i], SF_IMAGE_ERR_LEN) == 0;
            if (ok[b0 + i]) ok[b0 + i] = sf_prepare_image(&img[i], shrink, reencode, p, why[i], SF_IMAGE_ERR_LEN) == 0;
        }
        sf_ensemble_classify(&e, probs, img, ok + b0, nb, flip);
        for (int i = 0; i < nb; i++)
            if (ok[b0 + i]) sf_image_free(&img[i]);
        for (int i = 0; i < nb; i++) {
            const float *prob = probs + (size_t)i * k;
            int j = b0 + i;
            pred[j] = sf_argmax(prob, k);
            if (!ok[j]) {
                sf_warn("%s: %s; it gets the fallback class", files[j], why[i]);
                continue;
            }
            votes[pred[j]]++;
            if (top <= 1) continue;
            for (int c = 0; c < k; c++) order[c] = c;
            for (int t = 0; t < top; t++)  // partial selection sort: top is small
                for (int c = t + 1; c < k; c++)
                    if (prob[order[c]] > prob[order[t]]) {
                        int s = order[t];
                        order[t] = order[c];
                        order[c] = s;
                    }
            printf("%s", files[j]);
            for (int t = 0; t < top; t++)
                printf(" %s %.4f", ci.names ? ci.names[order[t]] : "?", prob[order[t]]);
            printf("\n");
        }
    }
    double dt = sf_now() - t0;
    // Fallback class for unreadable images.
    int fallback = 0, bad = 0;
    for (int c = 1; c < k; c++) {
        int64_t a = ci.counts ? ci.counts[c] : votes[c], b = ci.counts ? ci.counts[fallback] : votes[fallback];
        if (a > b) fallback = c;
    }
    for (int j = 0; j < n; j++)
        if (!ok[j]) {
            pred[j] = fallback;
            bad++;
        }
    rc = 0;
    if (sub) {
        sf_atomic_file *af = sf_atomic_begin(sub, err, sizeof err);
        if (af) {
            FILE *f = sf_atomic_fp(af);
            fprintf(f, "Id,Expected\n");
            for (int j = 0; j < n; j++) {
                // A file name with a comma or quote (its Id) is quoted, so the columns stay in place.
                sf_csv_field(f, files[j]);
                if (ci.names) {
                    fputc(',', f);
                    sf_csv_field(f, ci.names[pred[j]]);
                    fputc('\n', f);
                } else {
                    fprintf(f, ",%d\n", pred[j]);
                }
            }
            if (sf_atomic_commit(af, err, sizeof err)) af = NULL;
        }
        if (!af) {
            fprintf(stderr, "springfield predict: %s\n", err);
            rc = 1;
        } else {
            char prep[64];
            sf_prepare_describe(prep, sizeof prep, shrink, reencode);
            sf_info("wrote %s: %d rows (%d unreadable images given class %s), %.1f img/s%s%s%s%s", sub, n, bad,
                    ci.names ? ci.names[fallback] : "0", n / dt, flip ? " (tta flip)" : "", prep[0] ? " (" : "",
                    prep, prep[0] ? ")" : "");
        }
    }
    if (!ci.names) sf_warn("%s has no class_names metadata: predictions are class indices", e.path[0]);
    for (int j = 0; j < n; j++) free(files[j]);
    free(files);
    free(pred);
    free(ok);
    free(img);
    free(why);
    free(probs);
    free(order);
    free(votes);
    sf_ensemble_free(&e);
    return rc;
}
