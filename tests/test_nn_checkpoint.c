// test_nn_checkpoint.c: weights round trip through safetensors bit for bit (PyTorch names, I64
// num_batches_tracked with shape ()), clear errors for files that do not fit, and --freeze.
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/adamw.h"
#include "nn/model.h"
#include "springfield.h"

static sf_model *make(const char *arch, int size, int classes, uint64_t seed, int batch) {
    char err[256];
    sf_model_config c = {.arch = arch, .n_classes = classes, .in_h = size, .in_w = size, .max_batch = batch, .seed = seed};
    sf_model *m = sf_model_create(&c, err, sizeof err);
    cr_assert(m, "%s", err);
    return m;
}

static void tmp_path(char *path) {
    strcpy(path, "/tmp/sf_test_ckpt_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
}

static float *batch(int n, int size) {
    size_t c = (size_t)n * 3 * size * size;
    float *x = malloc(c * sizeof(float));
    sf_rng r;
    sf_rng_seed(&r, 5, 0);
    for (size_t i = 0; i < c; i++) x[i] = sf_rng_uniform_range(&r, -1.0f, 1.0f);
    return x;
}

Test(nn_checkpoint, round_trip_is_bit_exact) {
    const char *archs[2] = {"simple", "resnet18"};
    const int sizes[2] = {94, 32};
    for (int a = 0; a < 2; a++) {
        sf_model *m = make(archs[a], sizes[a], 7, 1, 2), *m2 = make(archs[a], sizes[a], 7, 2, 2);
        float *x = batch(2, sizes[a]);
        int64_t labels[2] = {3, 6};
        // One training step so that running stats and num_batches_tracked are not the defaults.
        sf_model_forward(m, x, 2, true);
        sf_model_loss_backward(m, labels, NULL);
        char path[64], err[512];
        tmp_path(path);
        const char *meta[] = {"classes", "a,b,c", NULL};
        cr_assert_eq(sf_model_save(m, path, meta, err, sizeof err), 0, "%s", err);
        cr_assert_eq(sf_model_load(m2, path, NULL, err, sizeof err), 0, "%s", err);
        for (int i = 0; i < sf_model_n_params(m); i++)
            cr_assert(!memcmp(sf_model_param(m, i)->data, sf_model_param(m2, i)->data, sf_model_param(m, i)->count * 4),
                      "%s differs after the round trip", sf_model_param(m, i)->name);
        for (int i = 0; i < sf_model_n_buffers(m); i++) {
            sf_param *b = sf_model_buffer(m, i);
            cr_assert(!memcmp(b->data, sf_model_buffer(m2, i)->data, b->count * sf_dtype_size(b->dtype)), "%s differs",
                      b->name);
        }
        cr_assert_eq(*(int64_t *)sf_model_find(m2, archs[a][0] == 's' ? "fc1.1.num_batches_tracked"
                                                                      : "bn1.num_batches_tracked")->data, 1);
        // The file as PyTorch sees it: names, dtypes, shapes, metadata.
        sf_st_file *f = sf_st_open(path, err, sizeof err);
        cr_assert(f, "%s", err);
        cr_assert_eq(sf_st_count(f), sf_model_n_params(m) + sf_model_n_buffers(m));
        const sf_st_tensor *nbt = sf_st_get(f, archs[a][0] == 's' ? "fc1.1.num_batches_tracked" : "layer1.0.bn1.num_batches_tracked");
        cr_assert(nbt && nbt->dtype == SF_DT_I64 && nbt->ndim == 0);
        cr_assert_str_eq(sf_st_meta(f, "arch"), archs[a]);
        cr_assert_str_eq(sf_st_meta(f, "n_classes"), "7");
        cr_assert_str_eq(sf_st_meta(f, "classes"), "a,b,c");
        sf_st_close(f);
        sf_weights_info info = {.n_classes = 42};
        cr_assert_eq(sf_model_weights_info(&info, path, err, sizeof err), 0);
        cr_assert_str_eq(info.arch, archs[a]);
        cr_assert_eq(info.n_classes, 7);
        cr_assert_eq(info.in_h, sizes[a]);
        // Same weights, same eval logits (both repack after the load).
        float y1[14], y2[14];
        memcpy(y1, sf_model_forward(m, x, 2, false), sizeof y1);
        memcpy(y2, sf_model_forward(m2, x, 2, false), sizeof y2);
        cr_assert(!memcmp(y1, y2, sizeof y1), "%s: logits differ after loading", archs[a]);
        unlink(path);
        free(x);
        sf_model_free(m);
        sf_model_free(m2);
    }
}

Test(nn_checkpoint, mismatches_are_reported) {
    sf_model *simple = make("simple", 94, 42, 1, 1), *simple5 = make("simple", 94, 5, 1, 1);
    sf_model *best = make("best", 96, 42, 1, 1);
    char path[64], err[1024];
    tmp_path(path);
    cr_assert_eq(sf_model_save(simple, path, NULL, err, sizeof err), 0, "%s", err);
    float before = ((float *)sf_model_param(simple5, 0)->data)[0];
    cr_assert_eq(sf_model_load(simple5, path, NULL, err, sizeof err), -1);
    cr_log_info("classes mismatch: %s", err);
    cr_assert(strstr(err, "out.weight") && strstr(err, "2 mismatched"), "%s", err);
    cr_assert_eq(((float *)sf_model_param(simple5, 0)->data)[0], before, "a failed load changed the model");
    cr_assert_eq(sf_model_load(best, path, NULL, err, sizeof err), -1);
    cr_log_info("architecture mismatch: %s", err);
    cr_assert(strstr(err, "43 missing [conv2.1.weight") && strstr(err, "unexpected [out.bias"), "%s", err);
    cr_assert(strstr(err, "conv1.0.weight (file F32[8,3,3,3], model F32[32,3,7,7])"), "%s", err);
    cr_assert_eq(sf_model_load(best, "/nonexistent/w.safetensors", NULL, err, sizeof err), -1);
    cr_log_info("missing file: %s", err);
    // Extra optimizer tensors are accepted only under an allowed prefix.
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    sf_optimizer *o = sf_opt_create(&oc, sf_model_param(simple, 0), sf_model_n_params(simple));
    sf_st_writer *w = sf_st_writer_new();
    for (int i = 0; i < sf_model_n_params(simple); i++) {
        sf_param *p = sf_model_param(simple, i);
        sf_st_writer_add(w, p->name, p->dtype, p->ndim, p->shape, p->data);
    }
    for (int i = 0; i < sf_model_n_buffers(simple); i++) {
        sf_param *p = sf_model_buffer(simple, i);
        sf_st_writer_add(w, p->name, p->dtype, p->ndim, p->shape, p->data);
    }
    sf_opt_state_add(o, w, NULL);
    cr_assert_eq(sf_st_write(w, path, err, sizeof err), 0, "%s", err);
    sf_st_writer_free(w);
    cr_assert_eq(sf_model_load(simple, path, NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "unexpected [adam."), "%s", err);
    cr_assert_eq(sf_model_load(simple, path, "adam.", err, sizeof err), 0, "%s", err);
    sf_opt_free(o);
    unlink(path);
    sf_model_free(simple);
    sf_model_free(simple5);
    sf_model_free(best);
}

// sf_model_copy_weights: a ResNet at another input size takes the weights whole (train --val-size);
// `simple` at a size that changes its classifier is refused by name, and the target is left untouched.
Test(nn_checkpoint, copy_weights_across_sizes) {
    sf_model *a = make("resnet18", 64, 42, 1, 2), *b = make("resnet18", 80, 42, 2, 2);
    char err[256];
    cr_assert_eq(sf_model_copy_weights(b, a, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < sf_model_n_params(a); i++) {
        const sf_param *p = sf_model_param(a, i);
        cr_assert_eq(memcmp(p->data, sf_model_param(b, i)->data, p->count * sizeof(float)), 0, "%s differs", p->name);
    }
    for (int i = 0; i < sf_model_n_buffers(a); i++) {
        const sf_param *p = sf_model_buffer(a, i);
        cr_assert_eq(memcmp(p->data, sf_model_buffer(b, i)->data, p->count * sf_dtype_size(p->dtype)), 0, "%s differs",
                     p->name);
    }
    sf_model *s96 = make("simple", 96, 42, 1, 1), *s128 = make("simple", 128, 42, 2, 1);
    float before = ((float *)sf_model_param(s128, 0)->data)[0];
    cr_assert_eq(sf_model_copy_weights(s128, s96, err, sizeof err), -1);
    cr_log_info("simple 96 -> 128: %s", err);
    cr_assert(strstr(err, "fc1.0.weight"), "%s", err);
    cr_assert_eq(((float *)sf_model_param(s128, 0)->data)[0], before, "a refused copy changed the model");
    cr_assert_eq(sf_model_copy_weights(a, s96, err, sizeof err), -1);  // another architecture
    sf_model_free(a);
    sf_model_free(b);
    sf_model_free(s96);
    sf_model_free(s128);
}

// Fine-tuning layer4 and fc only: everything else keeps its values, and backward stops at layer4.
Test(nn_checkpoint, freeze_pattern) {
    sf_model *m = make("resnet18", 32, 5, 3, 2);
    int frozen = sf_model_freeze(m, "conv1*,bn1.*,layer1*,layer2,layer3.*");
    int expect = 0, trainable = 0;
    for (int i = 0; i < sf_model_n_params(m); i++) {
        const char *n = sf_model_param(m, i)->name;
        bool f = strncmp(n, "layer4", 6) && strncmp(n, "fc.", 3);
        expect += f;
        trainable += !f;
        cr_assert_eq(sf_model_param(m, i)->frozen, f, "%s", n);
    }
    cr_assert_eq(frozen, expect);
    cr_log_info("froze %d tensors, %d trainable", frozen, trainable);
    size_t total = sf_model_param_count(m);
    float *before = malloc(total * sizeof(float));
    size_t off = 0;
    for (int i = 0; i < sf_model_n_params(m); i++) {
        sf_param *p = sf_model_param(m, i);
        memcpy(before + off, p->data, p->count * sizeof(float));
        off += p->count;
    }
    float *x = batch(2, 32);
    int64_t labels[2] = {1, 4};
    sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
    sf_optimizer *o = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
    for (int s = 0; s < 2; s++) {
        sf_model_forward(m, x, 2, true);
        sf_model_loss_backward(m, labels, NULL);
        sf_opt_step(o);
    }
    off = 0;
    for (int i = 0; i < sf_model_n_params(m); i++) {
        sf_param *p = sf_model_param(m, i);
        bool same = !memcmp(before + off, p->data, p->count * sizeof(float));
        cr_assert_eq(same, p->frozen, "%s: frozen %d but %s", p->name, p->frozen, same ? "unchanged" : "changed");
        if (p->frozen)
            for (size_t j = 0; j < p->count; j++) cr_assert_eq(p->grad[j], 0.0f, "%s has a gradient", p->name);
        off += p->count;
    }
    sf_model_unfreeze_all(m);
    cr_assert_eq(sf_model_freeze(m, "nomatch*"), 0);
    free(before);
    free(x);
    sf_opt_free(o);
    sf_model_free(m);
}

// --deterministic: two identical runs end with bit-identical weights (fixed-order reductions).
Test(nn_checkpoint, deterministic_runs_are_bit_identical) {
    float *w[2];
    size_t total = 0;
    for (int run = 0; run < 2; run++) {
        char err[256];
        sf_model_config c = {.arch = "resnet18", .n_classes = 5, .in_h = 32, .in_w = 32, .max_batch = 4, .seed = 9,
                             .deterministic = true};
        sf_model *m = sf_model_create(&c, err, sizeof err);
        cr_assert(m, "%s", err);
        float *x = batch(4, 32);
        int64_t labels[4] = {0, 1, 2, 3};
        sf_opt_config oc = sf_opt_defaults(SF_OPT_ADAMW);
        oc.amsgrad = true;
        sf_optimizer *o = sf_opt_create(&oc, sf_model_param(m, 0), sf_model_n_params(m));
        for (int s = 0; s < 2; s++) {
            sf_model_forward(m, x, 4, true);
            sf_model_loss_backward(m, labels, NULL);
            sf_opt_step(o);
        }
        total = sf_model_param_count(m);
        w[run] = malloc(total * sizeof(float));
        size_t off = 0;
        for (int i = 0; i < sf_model_n_params(m); i++) {
            memcpy(w[run] + off, sf_model_param(m, i)->data, sf_model_param(m, i)->count * sizeof(float));
            off += sf_model_param(m, i)->count;
        }
        free(x);
        sf_opt_free(o);
        sf_model_free(m);
    }
    cr_assert(!memcmp(w[0], w[1], total * sizeof(float)), "deterministic runs differ");
    free(w[0]);
    free(w[1]);
}
