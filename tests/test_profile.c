// test_profile.c: the profile parser (good files, every kind of bad line), the writer round trip, the
// naming rule, the loader's search order, the committed profiles, and applying GEMM blocks.
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/profile.h"
#include "kernels/sgemm_tuning.h"

static const char *good =
    "# tuned by hand\n"
    "\n"
    "[cpu]\n"
    "vendor = GenuineIntel\n"
    "family = 6\r\n"
    "  model=207   # Emerald Rapids\n"
    "brand = Intel(R) Xeon(R) Processor\n"
    "[gemm]\n"
    "mc = 224\n"
    "kc = 384\n"
    "nc = 2048\n"
    "[conv]\n"
    "avx512.kxk.ocb = 3\n"
    "avx512.kxk.across = 0\n"
    "avx2.first.ocb = 1\n"
    "[baseline]\n"
    "margin = 0.2\n"
    "sgemm_vs_openblas_512 = 0.85\n"
    "sgemm_vs_peak_512.margin = 0.35\n"
    "sgemm_vs_peak_512 = 0.6";

Test(profile, parses_a_good_file) {
    sf_profile p;
    char err[256] = "";
    cr_assert_eq(sf_profile_parse(&p, good, strlen(good), err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(p.vendor, "GenuineIntel");
    cr_assert_eq(p.family, 6);
    cr_assert_eq(p.model, 207);
    cr_assert_str_eq(p.brand, "Intel(R) Xeon(R) Processor");
    cr_assert_eq(p.gemm_mc, 224);
    cr_assert_eq(p.gemm_kc, 384);
    cr_assert_eq(p.gemm_nc, 2048);
    cr_assert_eq(p.n_baselines, 2);
    double m;
    const sf_profile_baseline *b = sf_profile_baseline_get(&p, "sgemm_vs_openblas_512", &m);
    cr_assert_not_null(b);
    cr_assert_float_eq(b->ratio, 0.85, 1e-12);
    cr_assert_float_eq(m, 0.2, 1e-12);
    b = sf_profile_baseline_get(&p, "sgemm_vs_peak_512", &m);
    cr_assert_not_null(b);
    cr_assert_float_eq(b->ratio, 0.6, 1e-12);
    cr_assert_float_eq(m, 0.35, 1e-12);
    cr_assert_null(sf_profile_baseline_get(&p, "conv", NULL));

    // Empty text is a valid, empty profile with the default margin.
    cr_assert_eq(sf_profile_parse(&p, "", 0, err, sizeof err), 0);
    cr_assert_eq(p.n_baselines, 0);
    cr_assert_eq(p.gemm_mc, 0);
    cr_assert_float_eq(p.margin, SF_PROFILE_DEFAULT_MARGIN, 1e-12);
}

typedef struct {
    const char *text;
    const char *want; // substring of the error
} bad_case;

Test(profile, bad_lines_are_named) {
    static char longline[400];
    memset(longline, 'x', sizeof longline - 1);
    const bad_case cases[] = {
        {"[cpu]\nfamily = 6\n[gpu]\n", "line 3: unknown section"},
        {"mc = 4\n", "line 1: key before any [section]"},
        {"[gemm]\nmc = 12x\n", "line 2: expected an integer"},
        {"[gemm]\nmc = 0\n", "line 2: expected an integer in 1..65536"},
        {"[gemm]\nmc = 99999999999999999999\n", "line 2: expected an integer"},
        {"[gemm]\nmc = 4\nmc = 8\n", "line 3: repeated key"},
        {"[gemm]\nmr = 4\n", "line 2: unknown key in [gemm]"},
        {"[conv]\nocb = 2\n", "line 2: expected <isa>.<class>.<knob>"},
        {"[conv]\nsse.kxk.ocb = 2\n", "line 2: unknown ISA"},
        {"[conv]\navx2.3x3.ocb = 2\n", "line 2: unknown layer class"},
        {"[conv]\navx2.kxk.ur = 2\n", "line 2: unknown knob"},
        {"[conv]\navx2.kxk.ocb = 5\n", "line 2: expected an integer in 1..4"},
        {"[conv]\navx2.kxk.across = -1\n", "line 2: expected an integer in 0..4096"},
        {"[conv]\navx2.kxk.ocb = 2\navx2.kxk.ocb = 2\n", "line 3: repeated key"},
        {"[cpu]\n\n# c\nfamily\n", "line 4: expected 'key = value'"},
        {"[cpu]\nfamily =\n", "line 2: empty value"},
        {"[cpu]\nbrand =#x # a value cannot start with a comment\n", "line 2: empty value"},
        {"[cpu]\nfam ily = 3\n", "line 2: bad key"},
        {"[baseline]\nx = -1\n", "line 2: expected a positive ratio"},
        {"[baseline]\nx = nan\n", "line 2: expected a positive ratio"},
        {"[baseline]\nx = 1\nx = 2\n", "line 3: repeated key"},
        {"[baseline]\nmargin = 1.5\n", "line 2: expected a margin"},
        {"[baseline]\nx.margin = 0.1\n", "'x.margin' given without a 'x' baseline"},
        {"[baseline]\na.b = 0.1\n", "line 2: a case name has no '.'"},
        {"[cpu]\nvendor = ThisVendorIdIsTooLong\n", "line 2: vendor id longer"},
        {longline, "line 1: line longer than 255"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sf_profile p;
        char err[256] = "";
        int rc = sf_profile_parse(&p, cases[i].text, strlen(cases[i].text), err, sizeof err);
        cr_log_info("case %zu: %s", i, err);
        cr_assert_eq(rc, -1, "case %zu parsed", i);
        cr_assert(strstr(err, cases[i].want) != NULL, "case %zu: got '%s', want '%s'", i, err, cases[i].want);
        cr_assert_eq(p.n_baselines, 0, "a failed parse must leave the empty profile");
        cr_assert_eq(p.gemm_mc, 0);
    }
    // A NUL byte inside the text, and too many baselines.
    const char nul[] = "[cpu]\nfamily = 6\0\n";
    sf_profile p;
    char err[256];
    cr_assert_eq(sf_profile_parse(&p, nul, sizeof nul - 1, err, sizeof err), -1);
    cr_assert(strstr(err, "line 2: NUL byte"), "%s", err);
    char many[8192] = "[baseline]\n";
    for (int i = 0; i < SF_PROFILE_MAX_BASELINES + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "case%d = 1\n", i);
    cr_assert_eq(sf_profile_parse(&p, many, strlen(many), err, sizeof err), -1);
    char want[64];
    snprintf(want, sizeof want, "line %d: too many baselines", SF_PROFILE_MAX_BASELINES + 2);
    cr_assert(strstr(err, want), "%s", err);
}

Test(profile, write_then_parse_round_trip) {
    sf_profile a, b;
    char err[256];
    cr_assert_eq(sf_profile_parse(&a, good, strlen(good), err, sizeof err), 0);
    cr_assert_eq(sf_profile_baseline_set(&a, "conv_vs_ref", 3.5), 0);
    cr_assert_eq(sf_profile_baseline_set(&a, "bad.key", 1.0), -1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sf_profile_write(f, &a);
    fclose(f);
    cr_log_info("written:\n%s", buf);
    cr_assert_eq(sf_profile_parse(&b, buf, len, err, sizeof err), 0, "%s", err);
    free(buf);
    cr_assert_str_eq(b.brand, a.brand);
    cr_assert_eq(b.model, a.model);
    cr_assert_eq(b.gemm_kc, a.gemm_kc);
    cr_assert(memcmp(b.conv_ocb, a.conv_ocb, sizeof a.conv_ocb) == 0, "[conv] ocb lost in the round trip");
    cr_assert(memcmp(b.conv_across, a.conv_across, sizeof a.conv_across) == 0, "[conv] across lost");
    cr_assert_eq(b.conv_ocb[SF_ISA_AVX512][SF_CONV_CLASS_KXK], 3);
    cr_assert_eq(b.conv_across[SF_ISA_AVX512][SF_CONV_CLASS_KXK], 0);
    cr_assert_eq(b.conv_ocb[SF_ISA_AVX2][SF_CONV_CLASS_FIRST], 1);
    cr_assert_eq(b.conv_ocb[SF_ISA_AVX2][SF_CONV_CLASS_KXK], -1, "an absent entry must stay absent");
    cr_assert_eq(b.n_baselines, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq(b.baseline[i].key, a.baseline[i].key);
        cr_assert_float_eq(b.baseline[i].ratio, a.baseline[i].ratio, 1e-4);
        cr_assert_float_eq(b.baseline[i].margin, a.baseline[i].margin, 1e-4);
    }
}

static sf_cpu_info cpu_of(const char *vendor, int family, int model, const char *brand) {
    sf_cpu_info c;
    memset(&c, 0, sizeof c);
    snprintf(c.vendor, sizeof c.vendor, "%s", vendor);
    snprintf(c.name, sizeof c.name, "%s", brand);
    c.family = family, c.model = model;
    return c;
}

Test(profile, names_from_cpuid) {
    struct {
        sf_cpu_info cpu;
        const char *full, *generic;
    } cases[] = {
        {cpu_of("GenuineIntel", 6, 207, "Intel(R) Xeon(R) Processor"), "intel-6-207-xeon-processor", "intel-6-207"},
        {cpu_of("AuthenticAMD", 26, 2, "AMD EPYC 9655 96-Core Processor"), "amd-26-2-epyc-9655-96-core-processor",
         "amd-26-2"},
        {cpu_of("GenuineIntel", 6, 140, "11th Gen Intel(R) Core(TM) i7-1185G7 @ 3.00GHz"),
         "intel-6-140-11th-gen-core-i7-1185g7", "intel-6-140"},
        {cpu_of("ARM", 0, 0, "aarch64"), "arm-0-0-aarch64", "arm-0-0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[160];
        sf_profile_name(name, sizeof name, &cases[i].cpu, 1);
        cr_assert_str_eq(name, cases[i].full);
        sf_profile_name(name, sizeof name, &cases[i].cpu, 0);
        cr_assert_str_eq(name, cases[i].generic);
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

Test(profile, loader_search_order) {
    char dir[64], path[160], note[1024];
    snprintf(dir, sizeof dir, "/tmp/sf_profiles_%d", (int)getpid());
    mkdir(dir, 0755);
    sf_cpu_info cpu = cpu_of("GenuineIntel", 6, 207, "Intel(R) Xeon(R) Processor");
    sf_profile p;
    unsetenv("SPRINGFIELD_PROFILE");
    cr_assert_eq(sf_profile_find(&p, &cpu, dir, note, sizeof note), 0);
    cr_assert_str_eq(p.name, "builtin");
    cr_assert_eq(p.n_baselines, 0);

    snprintf(path, sizeof path, "%s/intel-6-207.profile", dir);
    write_file(path, "[gemm]\nkc = 256\n");
    cr_assert_eq(sf_profile_find(&p, &cpu, dir, note, sizeof note), 1, "%s", note);
    cr_assert_str_eq(p.name, "intel-6-207");
    cr_assert_eq(p.gemm_kc, 256);

    // The brand-specific file wins over the family/model one.
    snprintf(path, sizeof path, "%s/intel-6-207-xeon-processor.profile", dir);
    write_file(path, "[cpu]\nfamily = 6\nmodel = 207\n[gemm]\nkc = 320\n");
    cr_assert_eq(sf_profile_find(&p, &cpu, dir, note, sizeof note), 1);
    cr_assert_eq(p.gemm_kc, 320);

    // A file that names another CPU, or does not parse, is skipped with a note.
    write_file(path, "[cpu]\nmodel = 143\n");
    cr_assert_eq(sf_profile_find(&p, &cpu, dir, note, sizeof note), 1);
    cr_assert_eq(p.gemm_kc, 256);
    cr_log_info("note: %s", note);
    cr_assert(strstr(note, "not this CPU"), "%s", note);
    write_file(path, "[gemm]\nkc = lots\n");
    cr_assert_eq(sf_profile_find(&p, &cpu, dir, note, sizeof note), 1);
    cr_assert(strstr(note, "line 2: expected an integer"), "%s", note);
    unlink(path);

    // SPRINGFIELD_PROFILE names a file explicitly, or turns profiles off.
    snprintf(path, sizeof path, "%s/other.profile", dir);
    write_file(path, "[gemm]\nnc = 1024\n");
    setenv("SPRINGFIELD_PROFILE", "other", 1);
    cr_assert_eq(sf_profile_find(&p, &cpu, dir, note, sizeof note), 1);
    cr_assert_eq(p.gemm_nc, 1024);
    setenv("SPRINGFIELD_PROFILE", "none", 1);
    cr_assert_eq(sf_profile_find(&p, &cpu, dir, note, sizeof note), 0);
    unsetenv("SPRINGFIELD_PROFILE");
    unlink(path);
    snprintf(path, sizeof path, "%s/intel-6-207.profile", dir);
    unlink(path);
    rmdir(dir);
}

// Every committed profile parses, and the one for this CPU (if any) matches it.
Test(profile, committed_profiles_parse) {
    DIR *d = opendir("profiles");
    cr_assert_not_null(d, "run the tests from the repository root");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 9 || strcmp(e->d_name + len - 8, ".profile")) continue;
        char path[512], err[512];
        snprintf(path, sizeof path, "profiles/%s", e->d_name);
        sf_profile p;
        cr_assert_eq(sf_profile_load_file(&p, path, err, sizeof err), 0, "%s", err);
        cr_log_info("%s: gemm %d/%d/%d, %d baselines", path, p.gemm_mc, p.gemm_kc, p.gemm_nc, p.n_baselines);
        n++;
    }
    closedir(d);
    sf_profile p;
    char note[1024];
    int found = sf_profile_find(&p, sf_cpu(), "profiles", note, sizeof note);
    cr_log_info("%d committed profiles; this CPU: %s (%s)", n, found ? p.name : "none", note);
    if (found) cr_assert(sf_profile_matches(&p, sf_cpu()));
}

Test(profile, apply_sets_gemm_blocks) {
    int mr, nr, mc0, kc0, nc0, mc, kc, nc;
    sf_sgemm_get_blocking(&mr, &nr, &mc0, &kc0, &nc0, NULL);
    sf_profile p;
    sf_profile_init(&p);
    p.gemm_kc = 200;
    p.gemm_mc = 5 * mr + 1;
    unsetenv("SPRINGFIELD_GEMM_MC");
    unsetenv("SPRINGFIELD_GEMM_KC");
    sf_profile_apply(&p);
    sf_sgemm_get_blocking(NULL, NULL, &mc, &kc, &nc, NULL);
    cr_assert_eq(kc, 200);
    cr_assert_eq(mc, 6 * mr, "mc %d not rounded up to MR %d", mc, mr);
    cr_assert_eq(nc, nc0, "an unset block must keep its value");
    sf_sgemm_set_blocking(mc0, kc0, nc0);
}

Test(profile, apply_sets_conv_blocking) {
    sf_isa isa = sf_isa_active();
    int ocb0, across0, kxk0, ocb, across;
    cr_assert_eq(sf_conv_get_tuning(isa, SF_CONV_CLASS_STRIDED, &ocb0, &across0), 0);
    sf_conv_get_tuning(isa, SF_CONV_CLASS_KXK, &kxk0, NULL);
    sf_profile p;
    sf_profile_init(&p);
    p.conv_ocb[isa][SF_CONV_CLASS_STRIDED] = 1;
    p.conv_across[isa][SF_CONV_CLASS_STRIDED] = 0;
    sf_profile_apply(&p);
    sf_conv_get_tuning(isa, SF_CONV_CLASS_STRIDED, &ocb, &across);
    cr_assert_eq(ocb, 1);
    cr_assert_eq(across, 0);
    // The plan takes it: a strided layer with 4 output blocks now runs one block per register group.
    sf_conv2d_shape s = sf_conv2d_shape_make(1, 16, 12, 12, 4 * sf_vb(), 3, 3, 2, 1);
    sf_conv2d_plan *plan = sf_conv2d_plan_create(&s, false, false);
    const char *algo = sf_conv2d_plan_algo(plan);
    cr_log_info("%s: %s", sf_isa_name(isa), algo);
    cr_assert(strstr(algo, "x1") && algo[strlen(algo) - 1] == '1', "plan %s does not use ocb 1", algo);
    sf_conv2d_plan_destroy(plan);
    // Other classes are untouched, and the empty profile restores the defaults.
    sf_conv_get_tuning(isa, SF_CONV_CLASS_KXK, &ocb, NULL);
    cr_assert_eq(ocb, kxk0);
    sf_profile_init(&p);
    sf_profile_apply(&p);
    sf_conv_get_tuning(isa, SF_CONV_CLASS_STRIDED, &ocb, &across);
    cr_assert_eq(ocb, ocb0);
    cr_assert_eq(across, across0);
    // An ocb wider than the registers hold is refused.
    cr_assert_eq(sf_conv_set_tuning(isa, SF_CONV_CLASS_KXK, sf_conv_max_ocb(isa) + 1, -1), -1);
}
