// profile.c: per-CPU tuning profiles: parser, writer, naming, loader (see profile.h).
#include "kernels/profile.h"
#include "kernels/sgemm_tuning.h"
#include "util/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINE 255
#define MAX_FILE (64 << 10)

void sf_profile_init(sf_profile *out) {
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "builtin");
    out->family = out->model = -1;
    out->margin = SF_PROFILE_DEFAULT_MARGIN;
    for (int i = 0; i < SF_CONV_N_ISAS; i++)
        for (int c = 0; c < SF_CONV_N_CLASSES; c++) out->conv_ocb[i][c] = out->conv_across[i][c] = -1;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int valid_key(const char *k) {
    if (!*k) return 0;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '.' && *k != '-') return 0;
    return 1;
}

// Strict number parsing: the whole value, finite, within [lo, hi].
static int parse_long(const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static int parse_double(const char *v, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static sf_profile_baseline *baseline_slot(sf_profile *p, const char *key, int create) {
    for (int i = 0; i < p->n_baselines; i++)
        if (!strcmp(p->baseline[i].key, key)) return &p->baseline[i];
    if (!create || p->n_baselines == SF_PROFILE_MAX_BASELINES || strlen(key) >= sizeof p->baseline[0].key) return NULL;
    sf_profile_baseline *b = &p->baseline[p->n_baselines++];
    memset(b, 0, sizeof *b);
    snprintf(b->key, sizeof b->key, "%s", key);
    b->ratio = NAN;
    b->margin = -1;
    return b;
}

enum { SEC_NONE, SEC_CPU, SEC_GEMM, SEC_CONV, SEC_BASELINE };

// One key = value line of a known section; returns NULL or what is wrong with it.
static const char *parse_entry(sf_profile *p, int section, const char *key, const char *val, unsigned *seen) {
    long l;
    double d;
    if (section == SEC_CPU) {
        static const char *keys[] = {"vendor", "family", "model", "brand"};
        for (unsigned i = 0; i < 4; i++) {
            if (strcmp(key, keys[i])) continue;
            if (*seen & (1u << i)) return "repeated key";
            *seen |= 1u << i;
            if (i == 0) {
                if (strlen(val) >= sizeof p->vendor) return "vendor id longer than 15 characters";
                snprintf(p->vendor, sizeof p->vendor, "%s", val);
            } else if (i == 3) {
                if (strlen(val) >= sizeof p->brand) return "brand string longer than 127 characters";
                snprintf(p->brand, sizeof p->brand, "%s", val);
            } else {
                if (parse_long(val, 0, 65535, &l)) return "expected an integer in 0..65535";
                *(i == 1 ? &p->family : &p->model) = (int)l;
            }
            return NULL;
        }
        return "unknown key in [cpu] (vendor, family, model, brand)";
    }
    if (section == SEC_GEMM) {
        static const char *keys[] = {"mc", "kc", "nc"};
        int *dst[] = {&p->gemm_mc, &p->gemm_kc, &p->gemm_nc};
        for (unsigned i = 0; i < 3; i++) {
            if (strcmp(key, keys[i])) continue;
            if (*seen & (1u << (4 + i))) return "repeated key";
            *seen |= 1u << (4 + i);
            if (parse_long(val, 1, 65536, &l)) return "expected an integer in 1..65536";
            *dst[i] = (int)l;
            return NULL;
        }
        return "unknown key in [gemm] (mc, kc, nc)";
    }
    if (section == SEC_CONV) {
        // <isa>.<class>.<knob>
        char k[64], *cls, *knob;
        if (strlen(key) >= sizeof k) return "key too long";
        snprintf(k, sizeof k, "%s", key);
        if (!(cls = strchr(k, '.')) || !(knob = strchr(cls + 1, '.')))
            return "expected <isa>.<class>.<knob> in [conv], e.g. avx512.kxk.ocb";
        *cls++ = 0, *knob++ = 0;
        int isa = sf_isa_parse(k), c = sf_conv_class_from_name(cls);
        if (isa < 0 || isa >= SF_CONV_N_ISAS) return "unknown ISA in [conv] (scalar, avx2, avx512, neon)";
        if (c < 0) return "unknown layer class in [conv] (first, 1x1, kxk, strided)";
        int is_ocb = !strcmp(knob, "ocb");
        if (!is_ocb && strcmp(knob, "across")) return "unknown knob in [conv] (ocb, across)";
        int *dst = is_ocb ? &p->conv_ocb[isa][c] : &p->conv_across[isa][c];
        if (*dst != -1) return "repeated key";
        if (is_ocb ? parse_long(val, 1, 4, &l) : parse_long(val, 0, 4096, &l))
            return is_ocb ? "expected an integer in 1..4" : "expected an integer in 0..4096";
        *dst = (int)l;
        return NULL;
    }
    // [baseline]: margin, <case>, <case>.margin
    if (!strcmp(key, "margin")) {
        if (*seen & (1u << 7)) return "repeated key";
        *seen |= 1u << 7;
        if (parse_double(val, 0.0, 0.999, &d)) return "expected a margin in [0, 1)";
        p->margin = d;
        return NULL;
    }
    size_t n = strlen(key);
    int is_margin = n > 7 && !strcmp(key + n - 7, ".margin");
    char name[64];
    if (n >= sizeof name) return "case name too long";
    memcpy(name, key, n + 1);
    if (is_margin) name[n - 7] = 0;
    if (!*name || strchr(name, '.')) return "a case name has no '.' (only <case>.margin)";
    sf_profile_baseline *b = baseline_slot(p, name, 1);
    if (!b) return strlen(name) >= sizeof p->baseline[0].key ? "case name longer than 47 characters"
                                                               : "too many baselines (64 at most)";
    if (is_margin) {
        if (b->margin >= 0) return "repeated key";
        if (parse_double(val, 0.0, 0.999, &d)) return "expected a margin in [0, 1)";
        b->margin = d;
    } else {
        if (!isnan(b->ratio)) return "repeated key";
        if (parse_double(val, 1e-9, 1e6, &d)) return "expected a positive ratio";
        b->ratio = d;
    }
    return NULL;
}

int sf_profile_parse(sf_profile *out, const char *text, size_t len, char *err, size_t errlen) {
    sf_profile_init(out);
    int section = SEC_NONE, line = 0;
    unsigned seen = 0;
    const char *why = NULL;
    size_t pos = 0;
    while (pos < len && !why) {
        line++;
        size_t end = pos;
        while (end < len && text[end] != '\n') end++;
        size_t n = end - pos;
        char buf[MAX_LINE + 2];
        if (n > MAX_LINE) {
            why = "line longer than 255 characters";
            break;
        }
        memcpy(buf, text + pos, n);
        buf[n] = 0;
        pos = end + 1;
        if (memchr(buf, 0, n)) {
            why = "NUL byte";
            break;
        }
        if (n && buf[n - 1] == '\r') buf[--n] = 0;
        // Inline comment: " #" after a value; a leading '#' makes the whole line a comment.
        char *s = buf;
        while (isspace((unsigned char)*s)) s++;
        if (*s == '#' || !*s) continue;
        for (char *h = s + 1; *h; h++)
            if (*h == '#' && isspace((unsigned char)h[-1])) {
                *h = 0;
                break;
            }
        for (size_t k = strlen(s); k && isspace((unsigned char)s[k - 1]); k--) s[k - 1] = 0;
        if (*s == '[') {
            if (!strcmp(s, "[cpu]")) section = SEC_CPU;
            else if (!strcmp(s, "[gemm]")) section = SEC_GEMM;
            else if (!strcmp(s, "[conv]")) section = SEC_CONV;
            else if (!strcmp(s, "[baseline]")) section = SEC_BASELINE;
            else why = "unknown section (expected [cpu], [gemm], [conv] or [baseline])";
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            why = "expected 'key = value' or '[section]'";
            break;
        }
        *eq = 0;
        char *val = eq + 1;
        for (size_t k = strlen(s); k && isspace((unsigned char)s[k - 1]); k--) s[k - 1] = 0;
        while (isspace((unsigned char)*val)) val++;
        if (!valid_key(s)) why = "bad key (letters, digits, '_', '.', '-')";
        else if (!*val || *val == '#') why = "empty value";
        else if (section == SEC_NONE) why = "key before any [section]";
        else why = parse_entry(out, section, s, val, &seen);
    }
    if (!why)
        for (int i = 0; i < out->n_baselines; i++)
            if (isnan(out->baseline[i].ratio)) {
                set_err(err, errlen, "'%s.margin' given without a '%s' baseline", out->baseline[i].key,
                        out->baseline[i].key);
                sf_profile_init(out);
                return -1;
            }
    if (why) {
        set_err(err, errlen, "line %d: %s", line, why);
        sf_profile_init(out);
        return -1;
    }
    return 0;
}

int sf_profile_load_file(sf_profile *out, const char *path, char *err, size_t errlen) {
    sf_profile_init(out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = sf_malloc(MAX_FILE + 1);
    size_t n = fread(buf, 1, MAX_FILE + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc = -1;
    char why[192] = "";
    if (bad) set_err(err, errlen, "%s: read error", path);
    else if (n > MAX_FILE) set_err(err, errlen, "%s: larger than 64 KiB", path);
    else if (sf_profile_parse(out, buf, n, why, sizeof why)) set_err(err, errlen, "%s: %s", path, why);
    else rc = 0;
    free(buf);
    if (rc == 0) {
        snprintf(out->path, sizeof out->path, "%s", path);
        const char *base = strrchr(path, '/');
        snprintf(out->name, sizeof out->name, "%s", base ? base + 1 : path);
        char *dot = strstr(out->name, ".profile");
        if (dot && !dot[8]) *dot = 0;
    }
    return rc;
}

void sf_profile_write(FILE *f, const sf_profile *p) {
    fprintf(f, "# springfield CPU profile (format: src/kernels/profile.h)\n");
    if (p->vendor[0] || p->family >= 0 || p->model >= 0 || p->brand[0]) {
        fprintf(f, "\n[cpu]\n");
        if (p->vendor[0]) fprintf(f, "vendor = %s\n", p->vendor);
        if (p->family >= 0) fprintf(f, "family = %d\n", p->family);
        if (p->model >= 0) fprintf(f, "model = %d\n", p->model);
        if (p->brand[0]) fprintf(f, "brand = %s\n", p->brand);
    }
    if (p->gemm_mc || p->gemm_kc || p->gemm_nc) {
        fprintf(f, "\n[gemm]\n");
        if (p->gemm_mc) fprintf(f, "mc = %d\n", p->gemm_mc);
        if (p->gemm_kc) fprintf(f, "kc = %d\n", p->gemm_kc);
        if (p->gemm_nc) fprintf(f, "nc = %d\n", p->gemm_nc);
    }
    int any_conv = 0;
    for (int i = 0; i < SF_CONV_N_ISAS; i++)
        for (int c = 0; c < SF_CONV_N_CLASSES; c++) any_conv |= p->conv_ocb[i][c] >= 0 || p->conv_across[i][c] >= 0;
    if (any_conv) {
        fprintf(f, "\n[conv]\n");
        for (int i = 0; i < SF_CONV_N_ISAS; i++)
            for (int c = 0; c < SF_CONV_N_CLASSES; c++) {
                const char *in = sf_isa_name((sf_isa)i), *cn = sf_conv_class_name((sf_conv_class)c);
                if (p->conv_ocb[i][c] >= 0) fprintf(f, "%s.%s.ocb = %d\n", in, cn, p->conv_ocb[i][c]);
                if (p->conv_across[i][c] >= 0) fprintf(f, "%s.%s.across = %d\n", in, cn, p->conv_across[i][c]);
            }
    }
    fprintf(f, "\n[baseline]\nmargin = %.3g\n", p->margin);
    for (int i = 0; i < p->n_baselines; i++) {
        const sf_profile_baseline *b = &p->baseline[i];
        fprintf(f, "%s = %.4g\n", b->key, b->ratio);
        if (b->margin >= 0) fprintf(f, "%s.margin = %.3g\n", b->key, b->margin);
    }
}

// Lower-case alphanumeric runs joined by '-'.
static void slug_append(char *out, size_t n, const char *s) {
    size_t k = strlen(out);
    int dash = k > 0;
    for (; *s && k + 2 < n; s++) {
        if (isalnum((unsigned char)*s)) {
            if (dash && k) out[k++] = '-';
            dash = 0;
            out[k++] = (char)tolower((unsigned char)*s);
        } else {
            dash = 1;
        }
    }
    out[k] = 0;
}

static const char *vendor_short(const char *vendor) {
    if (!strcmp(vendor, "GenuineIntel")) return "intel";
    if (!strcmp(vendor, "AuthenticAMD")) return "amd";
    return vendor[0] ? vendor : "unknown";
}

void sf_profile_name(char *out, size_t n, const sf_cpu_info *cpu, int with_brand) {
    if (!n) return;
    out[0] = 0;
    const char *v = vendor_short(cpu->vendor);
    slug_append(out, n, v);
    char num[32];
    snprintf(num, sizeof num, "%d %d", cpu->family, cpu->model);
    slug_append(out, n, num);
    if (!with_brand) return;
    // The brand without trademarks, the vendor's own name and the clock ("@ 3.00GHz").
    char brand[sizeof cpu->name];
    snprintf(brand, sizeof brand, "%s", cpu->name);
    char *at = strchr(brand, '@');
    if (at) *at = 0;
    static const char *drop[] = {"(r)", "(tm)", "(c)"};
    char word[sizeof brand];
    for (char *s = brand; *s;) {
        while (*s == ' ') s++;
        size_t w = strcspn(s, " ");
        if (!w) break;
        memcpy(word, s, w);
        word[w] = 0;
        s += w;
        for (char *c = word; *c; c++) *c = (char)tolower((unsigned char)*c);
        for (size_t i = 0; i < 3; i++) {
            char *m;
            while ((m = strstr(word, drop[i]))) memmove(m, m + strlen(drop[i]), strlen(m + strlen(drop[i])) + 1);
        }
        if (strcmp(word, v)) slug_append(out, n, word);
    }
}

int sf_profile_matches(const sf_profile *p, const sf_cpu_info *cpu) {
    if (p->vendor[0] && strcmp(p->vendor, cpu->vendor)) return 0;
    if (p->family >= 0 && p->family != cpu->family) return 0;
    if (p->model >= 0 && p->model != cpu->model) return 0;
    return 1;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void sf_profile_dir(char *out, size_t n) {
    const char *env = getenv("SPRINGFIELD_PROFILE_DIR");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    if (is_dir("profiles")) {
        snprintf(out, n, "profiles");
        return;
    }
    // build/springfield and build/<variant>/springfield: profiles/ is one or two levels above.
    char exe[512];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0) {
        exe[k] = 0;
        for (int up = 1; up <= 3; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) break;
            *slash = 0;
            char cand[600];
            snprintf(cand, sizeof cand, "%s/profiles", exe);
            if (is_dir(cand)) {
                snprintf(out, n, "%s", cand);
                return;
            }
        }
    }
    snprintf(out, n, "profiles");
}

static void note_add(char *note, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note_add(char *note, size_t n, const char *fmt, ...) {
    if (!note || !n) return;
    size_t k = strlen(note);
    if (k + 1 >= n) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + k, n - k, fmt, ap);
    va_end(ap);
}

// Loads one candidate; 1 when it loaded and fits this CPU.
static int try_file(sf_profile *out, const char *path, const sf_cpu_info *cpu, int must_exist, char *note,
                    size_t notelen) {
    char err[320];
    if (!must_exist && access(path, F_OK) != 0) {
        note_add(note, notelen, "%s: none; ", path);
        return 0;
    }
    if (sf_profile_load_file(out, path, err, sizeof err)) {
        note_add(note, notelen, "%s; ", err);
        return 0;
    }
    if (!sf_profile_matches(out, cpu)) {
        note_add(note, notelen, "%s: tuned on %s family %d model %d, not this CPU; ", path, out->vendor, out->family,
                 out->model);
        sf_profile_init(out);
        return 0;
    }
    return 1;
}

int sf_profile_find(sf_profile *out, const sf_cpu_info *cpu, const char *dir, char *note, size_t notelen) {
    if (note && notelen) note[0] = 0;
    sf_profile_init(out);
    char dbuf[512], path[800], name[160];
    if (!dir) {
        sf_profile_dir(dbuf, sizeof dbuf);
        dir = dbuf;
    }
    const char *env = getenv("SPRINGFIELD_PROFILE");
    if (env && *env) {
        if (!strcmp(env, "none")) {
            note_add(note, notelen, "SPRINGFIELD_PROFILE=none");
            return 0;
        }
        if (strchr(env, '/')) snprintf(path, sizeof path, "%s", env);
        else snprintf(path, sizeof path, "%s/%s.profile", dir, env);
        if (try_file(out, path, cpu, 1, note, notelen)) return 1;
        note_add(note, notelen, "SPRINGFIELD_PROFILE not usable; ");
    }
    for (int with_brand = 1; with_brand >= 0; with_brand--) {
        sf_profile_name(name, sizeof name, cpu, with_brand);
        snprintf(path, sizeof path, "%s/%s.profile", dir, name);
        if (try_file(out, path, cpu, 0, note, notelen)) return 1;
    }
    note_add(note, notelen, "using the built-in profile");
    return 0;
}

const sf_profile_baseline *sf_profile_baseline_get(const sf_profile *p, const char *key, double *margin) {
    for (int i = 0; i < p->n_baselines; i++)
        if (!strcmp(p->baseline[i].key, key)) {
            if (margin) *margin = p->baseline[i].margin >= 0 ? p->baseline[i].margin : p->margin;
            return &p->baseline[i];
        }
    return NULL;
}

int sf_profile_baseline_set(sf_profile *p, const char *key, double ratio) {
    if (!valid_key(key) || strchr(key, '.') || !(ratio > 0) || !isfinite(ratio)) return -1;
    sf_profile_baseline *b = baseline_slot(p, key, 1);
    if (!b) return -1;
    b->ratio = ratio;
    return 0;
}

// An explicit SPRINGFIELD_GEMM_MC/KC/NC (already applied by the GEMM) wins over the profile.
static int unless_env(const char *name, int v) {
    const char *e = getenv(name);
    return e && *e ? 0 : v;
}

void sf_profile_apply(const sf_profile *p) {
    sf_sgemm_set_blocking(unless_env("SPRINGFIELD_GEMM_MC", p->gemm_mc), unless_env("SPRINGFIELD_GEMM_KC", p->gemm_kc),
                          unless_env("SPRINGFIELD_GEMM_NC", p->gemm_nc));
    // An entry this build's kernels cannot take (an ocb wider than its registers hold) keeps the default.
    for (int i = 0; i < SF_CONV_N_ISAS; i++)
        for (int c = 0; c < SF_CONV_N_CLASSES; c++)
            if (sf_conv_set_tuning((sf_isa)i, (sf_conv_class)c, p->conv_ocb[i][c], p->conv_across[i][c]))
                sf_warn("profile %s: [conv] %s.%s: ocb %d is more than this build's kernels hold; default kept",
                        p->name, sf_isa_name((sf_isa)i), sf_conv_class_name((sf_conv_class)c), p->conv_ocb[i][c]);
}

static sf_profile g_active;
static pthread_once_t g_active_once = PTHREAD_ONCE_INIT;

static void active_init(void) {
    char note[1024];
    sf_profile_find(&g_active, sf_cpu(), NULL, note, sizeof note);
    // A profile the user named but that cannot be used must not be passed over in silence.
    const char *env = getenv("SPRINGFIELD_PROFILE");
    if (env && *env && strcmp(env, "none") != 0 && strstr(note, "SPRINGFIELD_PROFILE not usable"))
        sf_warn("SPRINGFIELD_PROFILE=%s is not used: %s", env, note);
    sf_profile_apply(&g_active);
}

const sf_profile *sf_profile_active(void) {
    pthread_once(&g_active_once, active_init);
    return &g_active;
}
