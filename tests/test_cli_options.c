// test_cli_options.c: the declarative option parser (src/cli/options.c; the CLI is not part of the
// library, so its one translation unit is compiled into this test directly).
#include <criterion/criterion.h>
#include <string.h>

#include "cli/options.c"

static const sf_opt_spec spec[] = {
    {"model", SF_OPT_CHOICE, "simple", "simple|best|resnet18|resnet50", 0, 0, "architecture"},
    {"batch", SF_OPT_INT, "64", NULL, 1, 4096, "batch size"},
    {"lr", SF_OPT_FLOAT, "1e-3", NULL, 0, 10, "learning rate"},
    {"amsgrad", SF_OPT_FLAG, "on", NULL, 0, 0, "AMSGrad variant"},
    {"cache", SF_OPT_FLAG, "off", NULL, 0, 0, "cache decoded images"},
    {"data", SF_OPT_STR, NULL, NULL, 0, 0, "data folder"},
    {"seed", SF_OPT_INT, "0", NULL, 0, 0, "seed (no range)"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

static int parse(sf_opts *o, char *err, size_t n, int argc, const char **argv) {
    return sf_opts_parse(o, spec, NSPEC, argc, (char *const *)argv, err, n);
}

Test(options, defaults) {
    sf_opts o;
    char err[256];
    const char *argv[] = {"train"};
    cr_assert_eq(parse(&o, err, sizeof err, 1, argv), SF_OPTS_OK);
    cr_assert_str_eq(sf_opt_str(&o, "model"), "simple");
    cr_assert_eq(sf_opt_int(&o, "batch"), 64);
    cr_assert_float_eq(sf_opt_float(&o, "lr"), 1e-3, 1e-15);
    cr_assert_eq(sf_opt_flag(&o, "amsgrad"), 1);
    cr_assert_eq(sf_opt_flag(&o, "cache"), 0);
    cr_assert_null(sf_opt_str(&o, "data"));
    cr_assert_eq(sf_opt_given(&o, "batch"), 0);
}

Test(options, values_both_spellings_and_negation) {
    sf_opts o;
    char err[256];
    const char *argv[] = {"train", "--batch", "32", "--lr=0.01", "--no-amsgrad", "--cache", "--data", "/x y",
                          "--model=resnet18", "--seed", "-5", "--batch=16"};
    cr_assert_eq(parse(&o, err, sizeof err, 12, argv), SF_OPTS_OK, "%s", err);
    cr_assert_eq(sf_opt_int(&o, "batch"), 16, "the last occurrence wins");
    cr_assert_float_eq(sf_opt_float(&o, "lr"), 0.01, 1e-15);
    cr_assert_eq(sf_opt_flag(&o, "amsgrad"), 0);
    cr_assert_eq(sf_opt_flag(&o, "cache"), 1);
    cr_assert_str_eq(sf_opt_str(&o, "data"), "/x y");
    cr_assert_str_eq(sf_opt_str(&o, "model"), "resnet18");
    cr_assert_eq(sf_opt_int(&o, "seed"), -5);
    cr_assert(sf_opt_given(&o, "batch"));
}

Test(options, flag_with_explicit_value) {
    sf_opts o;
    char err[256];
    const char *argv[] = {"train", "--amsgrad=off", "--cache=yes"};
    cr_assert_eq(parse(&o, err, sizeof err, 3, argv), SF_OPTS_OK, "%s", err);
    cr_assert_eq(sf_opt_flag(&o, "amsgrad"), 0);
    cr_assert_eq(sf_opt_flag(&o, "cache"), 1);
}

Test(options, help) {
    sf_opts o;
    char err[256];
    const char *argv[] = {"train", "--batch", "8", "--help"};
    cr_assert_eq(parse(&o, err, sizeof err, 4, argv), SF_OPTS_HELP);
    const char *argv2[] = {"train", "-h"};
    cr_assert_eq(parse(&o, err, sizeof err, 2, argv2), SF_OPTS_HELP);
}

Test(options, usage_lists_every_option_with_default) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sf_opts_usage(f, "springfield train [options]", spec, NSPEC);
    fclose(f);
    for (int i = 0; i < NSPEC; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "%s", spec[i].name);
        cr_assert(strstr(buf, needle), "usage misses %s", spec[i].name);
        if (spec[i].def) {
            snprintf(needle, sizeof needle, "default: %s", spec[i].def);
            cr_assert(strstr(buf, needle), "usage misses the default of %s", spec[i].name);
        }
    }
    cr_assert(strstr(buf, "simple|best|resnet18|resnet50"));
    free(buf);
}

// Each bad command line must fail with a message that names what is allowed.
static void expect_error(int argc, const char **argv, const char *must_contain) {
    sf_opts o;
    char err[256];
    cr_assert_eq(parse(&o, err, sizeof err, argc, argv), SF_OPTS_ERROR, "accepted %s", argv[argc - 1]);
    cr_log_info("%s -> %s", argv[1], err);
    cr_assert(strstr(err, must_contain), "error '%s' lacks '%s'", err, must_contain);
}

Test(options, errors_say_what_is_allowed) {
    expect_error(2, (const char *[]){"t", "--bogus"}, "unknown option '--bogus'");
    expect_error(3, (const char *[]){"t", "--model", "vgg"}, "simple|best|resnet18|resnet50");
    expect_error(3, (const char *[]){"t", "--batch", "0"}, "integer in [1, 4096]");
    expect_error(3, (const char *[]){"t", "--batch", "12x"}, "not an integer");
    expect_error(3, (const char *[]){"t", "--batch", "99999999999999999999999"}, "not an integer");
    expect_error(3, (const char *[]){"t", "--lr", "nan"}, "finite number");
    expect_error(3, (const char *[]){"t", "--lr", "inf"}, "finite number");
    expect_error(3, (const char *[]){"t", "--lr", "20"}, "number in [0, 10]");
    expect_error(2, (const char *[]){"t", "--batch"}, "needs a value");
    expect_error(3, (const char *[]){"t", "--batch", "--lr"}, "needs a value");
    expect_error(2, (const char *[]){"t", "--amsgrad=maybe"}, "on/off");
    expect_error(2, (const char *[]){"t", "--no-amsgrad=on"}, "takes no value");
    expect_error(2, (const char *[]){"t", "--no-batch"}, "unknown option");
    expect_error(2, (const char *[]){"t", "stray"}, "unexpected argument");
    expect_error(2, (const char *[]){"t", "--"}, "unexpected argument");
    expect_error(2, (const char *[]){"t", "--model="}, "not allowed");
}

Test(options, cli_exit_codes) {
    sf_opts o;
    const char *bad[] = {"t", "--model", "vgg"};
    cr_assert_eq(sf_opts_cli(&o, spec, NSPEC, 3, (char *const *)bad, "t"), 2);
    const char *good[] = {"t", "--batch", "4"};
    cr_assert_eq(sf_opts_cli(&o, spec, NSPEC, 3, (char *const *)good, "t"), -1);
}
