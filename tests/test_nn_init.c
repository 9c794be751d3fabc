// test_nn_init.c: PyTorch's default initialisation schemes: bounds and moments of every parameter,
// BatchNorm constants, seeding, and the architectures' parameter counts against torchvision/seed.
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <string.h>

#include "nn/model.h"
#include "springfield.h"

static sf_model *make(const char *arch, int size, int classes, uint64_t seed) {
    char err[256];
    sf_model_config c = {.arch = arch, .n_classes = classes, .in_h = size, .in_w = size, .max_batch = 1, .seed = seed};
    sf_model *m = sf_model_create(&c, err, sizeof err);
    cr_assert(m, "%s", err);
    return m;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void moments(const float *x, size_t n, double *mean, double *var, double *maxabs) {
    double s = 0, s2 = 0, mx = 0;
    for (size_t i = 0; i < n; i++) s += x[i], s2 += (double)x[i] * x[i], mx = fmax(mx, fabs(x[i]));
    *mean = s / n;
    *var = s2 / n - *mean * *mean;
    *maxabs = mx;
}

// A parameter is a BatchNorm's when its name has a BatchNorm buffer next to it.
static bool is_bn(sf_model *m, const sf_param *p) {
    char name[96];
    snprintf(name, sizeof name, "%.*s.running_mean", (int)(strrchr(p->name, '.') - p->name), p->name);
    return sf_model_find(m, name) != NULL;
}

// resnet: torchvision's kaiming_normal(fan_out) for convs; others: kaiming_uniform(a=sqrt(5)).
static void check_init(const char *arch, int size) {
    sf_model *m = make(arch, size, 42, 7);
    bool tv = !strncmp(arch, "resnet", 6);
    double worst_var = 0;
    for (int i = 0; i < sf_model_n_params(m); i++) {
        sf_param *p = sf_model_param(m, i);
        const float *d = p->data;
        double mean, var, mx;
        moments(d, p->count, &mean, &var, &mx);
        if (is_bn(m, p)) {
            float want = ends_with(p->name, "weight") ? 1.0f : 0.0f;
            for (size_t j = 0; j < p->count; j++) cr_assert_eq(d[j], want, "%s[%zu] = %g", p->name, j, d[j]);
            continue;
        }
        size_t fan_in = p->ndim > 1 ? p->count / (size_t)p->shape[0] : 0;
        if (p->ndim == 1) {
            // bias: fan_in of the weight stored just before it
            const sf_param *w = sf_model_param(m, i - 1);
            fan_in = w->count / (size_t)w->shape[0];
        }
        double expect_var, bound = INFINITY;
        if (tv && p->ndim == 4) {
            size_t fan_out = (size_t)p->shape[0] * (size_t)p->shape[2] * (size_t)p->shape[3];
            expect_var = 2.0 / fan_out;
        } else {
            // kaiming_uniform(a=sqrt(5)): gain sqrt(1/3), bound gain*sqrt(3/fan_in) = 1/sqrt(fan_in);
            // the biases use the same bound
            bound = 1.0 / sqrt((double)fan_in);
            expect_var = bound * bound / 3.0;
            cr_assert_leq(mx, bound, "%s: max |w| %g beyond the bound %g", p->name, mx, bound);
        }
        if (p->count >= 4096) {
            // moments of n samples: the variance estimate is good to a few / sqrt(n)
            double rel = fabs(var / expect_var - 1.0);
            worst_var = fmax(worst_var, rel);
            cr_assert_leq(rel, 8.0 / sqrt((double)p->count) + 0.01, "%s: variance %g, expected %g", p->name, var, expect_var);
            cr_assert_leq(fabs(mean), 6.0 * sqrt(expect_var / p->count), "%s: mean %g", p->name, mean);
            if (isfinite(bound)) cr_assert_geq(mx, 0.99 * bound, "%s: max |w| %g far inside the bound %g", p->name, mx, bound);
        }
    }
    for (int i = 0; i < sf_model_n_buffers(m); i++) {
        sf_param *b = sf_model_buffer(m, i);
        if (b->dtype == SF_DT_I64) {
            cr_assert_eq(*(int64_t *)b->data, 0);
            continue;
        }
        float want = ends_with(b->name, "running_var") ? 1.0f : 0.0f;
        for (size_t j = 0; j < b->count; j++) cr_assert_eq(((float *)b->data)[j], want, "%s", b->name);
    }
    cr_log_info("%-9s %2d params, %zu weights: worst relative variance error %.3f", arch, sf_model_n_params(m),
                sf_model_param_count(m), worst_var);
    sf_model_free(m);
}

Test(nn_init, simple_default_init) { check_init("simple", 224); }
Test(nn_init, best_default_init) { check_init("best", 96); }
Test(nn_init, resnet18_torchvision_init) { check_init("resnet18", 64); }
Test(nn_init, resnet50_torchvision_init) { check_init("resnet50", 64); }

Test(nn_init, seeds) {
    sf_model *a = make("simple", 94, 42, 1), *b = make("simple", 94, 42, 1), *c = make("simple", 94, 42, 2);
    for (int i = 0; i < sf_model_n_params(a); i++) {
        sf_param *pa = sf_model_param(a, i), *pb = sf_model_param(b, i), *pc = sf_model_param(c, i);
        cr_assert(!memcmp(pa->data, pb->data, pa->count * sizeof(float)), "%s differs for the same seed", pa->name);
        if (!is_bn(a, pa) && pa->count > 4)
            cr_assert(memcmp(pa->data, pc->data, pa->count * sizeof(float)), "%s equal for different seeds", pa->name);
    }
    sf_model_free(a);
    sf_model_free(b);
    sf_model_free(c);
}

// Parameter totals of the PyTorch modules (tools/seed_models.py, torchvision) for 42 classes.
Test(nn_init, parameter_counts_match_pytorch) {
    static const struct {
        const char *arch;
        int size;
        size_t params;
        int tensors;
    } want[] = {
        {"simple", 224, 1331802, 16}, {"best", 96, 18161130, 36}, {"resnet18", 224, 11198058, 62},
        {"resnet50", 224, 23594090, 161},
    };
    for (int i = 0; i < 4; i++) {
        sf_model *m = make(want[i].arch, want[i].size, 42, 0);
        cr_log_info("%-9s %zu parameters in %d tensors, %d buffers, %.1f MFLOP/image forward", want[i].arch,
                    sf_model_param_count(m), sf_model_n_params(m), sf_model_n_buffers(m),
                    sf_model_flops_per_image(m) * 1e-6);
        cr_assert_eq(sf_model_param_count(m), want[i].params, "%s: %zu parameters", want[i].arch, sf_model_param_count(m));
        cr_assert_eq(sf_model_n_params(m), want[i].tensors, "%s: %d tensors", want[i].arch, sf_model_n_params(m));
        sf_model_free(m);
    }
}

Test(nn_init, too_small_input_is_an_error) {
    char err[256];
    sf_model_config c = {.arch = "simple", .in_h = 93, .in_w = 93, .max_batch = 1};
    cr_assert_null(sf_model_create(&c, err, sizeof err));
    cr_log_info("expected error: %s", err);
    c.arch = "vgg16";
    c.in_h = c.in_w = 224;
    cr_assert_null(sf_model_create(&c, err, sizeof err));
    cr_assert(strstr(err, "unknown model"), "%s", err);
}
