// options.c: see options.h.
#include "cli/options.h"
#include "util/util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

// "integer in [1, 4096]", "one of adamw|sgd": what an option accepts, for errors and usage.
static void describe(char *buf, size_t n, const sf_opt_spec *s) {
    switch (s->type) {
    case SF_OPT_STR: snprintf(buf, n, "text"); break;
    case SF_OPT_FLAG: snprintf(buf, n, "flag (--%s / --no-%s)", s->name, s->name); break;
    case SF_OPT_CHOICE: snprintf(buf, n, "one of %s", s->choices ? s->choices : ""); break;
    case SF_OPT_INT:
        if (s->min < s->max) snprintf(buf, n, "integer in [%.0f, %.0f]", s->min, s->max);
        else snprintf(buf, n, "integer");
        break;
    case SF_OPT_FLOAT:
        if (s->min < s->max) snprintf(buf, n, "number in [%g, %g]", s->min, s->max);
        else snprintf(buf, n, "number");
        break;
    }
}

static int choice_ok(const char *choices, const char *v) {
    size_t len = strlen(v);
    if (!choices || len == 0) return 0;
    for (const char *p = choices;;) {
        const char *bar = strchr(p, '|');
        size_t wl = bar ? (size_t)(bar - p) : strlen(p);
        if (wl == len && !strncmp(p, v, len)) return 1;
        if (!bar) return 0;
        p = bar + 1;
    }
}

static int flag_value(const char *v) {
    if (!strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) return 1;
    if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) return 0;
    return -1;
}

// Checks v against s; 0 when valid.
static int check_value(const sf_opt_spec *s, const char *v, char *err, size_t errlen) {
    char what[160];
    describe(what, sizeof what, s);
    char *end = NULL;
    errno = 0;
    switch (s->type) {
    case SF_OPT_STR: return 0;
    case SF_OPT_FLAG:
        if (flag_value(v) >= 0) return 0;
        set_err(err, errlen, "--%s: '%s' is not on/off (it is a %s)", s->name, v, what);
        return -1;
    case SF_OPT_CHOICE:
        if (choice_ok(s->choices, v)) return 0;
        set_err(err, errlen, "--%s: '%s' is not allowed; use %s", s->name, v, what);
        return -1;
    case SF_OPT_INT: {
        long x = strtol(v, &end, 10);
        if (end == v || *end || errno == ERANGE) {
            set_err(err, errlen, "--%s: '%s' is not an integer; expected %s", s->name, v, what);
            return -1;
        }
        if (s->min < s->max && ((double)x < s->min || (double)x > s->max)) {
            set_err(err, errlen, "--%s: %ld is out of range; expected %s", s->name, x, what);
            return -1;
        }
        return 0;
    }
    case SF_OPT_FLOAT: {
        double x = strtod(v, &end);
        if (end == v || *end || !isfinite(x)) {
            set_err(err, errlen, "--%s: '%s' is not a finite number; expected %s", s->name, v, what);
            return -1;
        }
        if (s->min < s->max && (x < s->min || x > s->max)) {
            set_err(err, errlen, "--%s: %g is out of range; expected %s", s->name, x, what);
            return -1;
        }
        return 0;
    }
    }
    return -1;
}

static int find(const sf_opt_spec *spec, int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(spec[i].name) == len && !strncmp(spec[i].name, name, len)) return i;
    return -1;
}

int sf_opts_parse(sf_opts *o, const sf_opt_spec *spec, int n, int argc, char *const *argv, char *err,
                  size_t errlen) {
    if (n > SF_OPTS_MAX) sf_die("option table has %d entries, more than SF_OPTS_MAX=%d", n, SF_OPTS_MAX);
    memset(o, 0, sizeof *o);
    o->spec = spec;
    o->n = n;
    if (err && errlen) err[0] = 0;
    for (int i = 0; i < n; i++) o->value[i] = spec[i].def;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!arg) break;
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) return SF_OPTS_HELP;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == 0) {
            set_err(err, errlen, "unexpected argument '%s' (options start with --)", arg);
            return SF_OPTS_ERROR;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int i = find(spec, n, name, len);
        int negated = 0;
        if (i < 0 && len > 3 && !strncmp(name, "no-", 3)) {
            i = find(spec, n, name + 3, len - 3);
            if (i >= 0 && spec[i].type != SF_OPT_FLAG) i = -1;
            negated = i >= 0;
        }
        if (i < 0) {
            set_err(err, errlen, "unknown option '--%.*s'", (int)(len > 64 ? 64 : len), name);
            return SF_OPTS_ERROR;
        }
        const char *v;
        if (spec[i].type == SF_OPT_FLAG) {
            if (negated && eq) {
                set_err(err, errlen, "--no-%s takes no value", spec[i].name);
                return SF_OPTS_ERROR;
            }
            v = eq ? eq + 1 : negated ? "off" : "on";
        } else if (eq) {
            v = eq + 1;
        } else {
            // "--size --batch 8": the next word is an option, so this one has no value.
            if (a + 1 >= argc || !argv[a + 1] || !strncmp(argv[a + 1], "--", 2)) {
                char what[160];
                describe(what, sizeof what, &spec[i]);
                set_err(err, errlen, "--%s needs a value (%s)", spec[i].name, what);
                return SF_OPTS_ERROR;
            }
            v = argv[++a];
        }
        if (check_value(&spec[i], v, err, errlen)) return SF_OPTS_ERROR;
        o->value[i] = v;
        o->given[i] = 1;
    }
    return SF_OPTS_OK;
}

void sf_opts_usage(FILE *f, const char *usage_line, const sf_opt_spec *spec, int n) {
    fprintf(f, "usage: %s\n\noptions:\n", usage_line);
    for (int i = 0; i < n; i++) {
        char what[160], left[96];
        describe(what, sizeof what, &spec[i]);
        if (spec[i].type == SF_OPT_FLAG) snprintf(left, sizeof left, "--[no-]%s", spec[i].name);
        else snprintf(left, sizeof left, "--%s", spec[i].name);
        fprintf(f, "  %-22s %s\n  %-22s   %s; default: %s\n", left, spec[i].help ? spec[i].help : "", "", what,
                spec[i].def ? spec[i].def : "(none)");
    }
    fprintf(f, "  %-22s %s\n", "--help", "this text");
}

int sf_opts_cli(sf_opts *o, const sf_opt_spec *spec, int n, int argc, char *const *argv, const char *usage_line) {
    char err[512];
    int rc = sf_opts_parse(o, spec, n, argc, argv, err, sizeof err);
    if (rc == SF_OPTS_HELP) {
        sf_opts_usage(stdout, usage_line, spec, n);
        return 0;
    }
    if (rc == SF_OPTS_ERROR) {
        fprintf(stderr, "springfield: %s\n(see `%s --help`)\n", err, argv[0] ? argv[0] : "springfield");
        return 2;
    }
    return -1;
}

static int index_of(const sf_opts *o, const char *name, sf_opt_type t) {
    int i = find(o->spec, o->n, name, strlen(name));
    if (i < 0) sf_die("option '%s' is not in this command's table", name);
    if (o->spec[i].type != t && !(t == SF_OPT_STR && o->spec[i].type == SF_OPT_CHOICE))
        sf_die("option '%s' read with the wrong type", name);
    return i;
}

const char *sf_opt_str(const sf_opts *o, const char *name) { return o->value[index_of(o, name, SF_OPT_STR)]; }

long sf_opt_int(const sf_opts *o, const char *name) {
    const char *v = o->value[index_of(o, name, SF_OPT_INT)];
    return v ? strtol(v, NULL, 10) : 0;
}

double sf_opt_float(const sf_opts *o, const char *name) {
    const char *v = o->value[index_of(o, name, SF_OPT_FLOAT)];
    return v ? strtod(v, NULL) : 0.0;
}

int sf_opt_flag(const sf_opts *o, const char *name) {
    const char *v = o->value[index_of(o, name, SF_OPT_FLAG)];
    return v ? flag_value(v) == 1 : 0;
}

int sf_opt_given(const sf_opts *o, const char *name) {
    int i = find(o->spec, o->n, name, strlen(name));
    if (i < 0) sf_die("option '%s' is not in this command's table", name);
    return o->given[i];
}

int sf_opt_set(const sf_opts *o, const char *name) {
    int i = find(o->spec, o->n, name, strlen(name));
    if (i < 0) sf_die("option '%s' is not in this command's table", name);
    return o->value[i] != NULL;
}
