// run_dir.c: see run_dir.h.
#include "cli/run_dir.h"
#include "nn/safetensors.h"
#include "util/atomic_file.h"
#include "util/text.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int mkdir_p(const char *path, char *err, size_t errlen) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, errlen, "run folder path too long: %s", path);
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c != '/' && c != 0) continue;
        *p = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create folder '%s': %s", buf, strerror(errno));
            return -1;
        }
        *p = c;
        if (!c) break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a folder", path);
        return -1;
    }
    return 0;
}

// A process killed while writing (kill -9, power loss) leaves its "<file>.tmp.<pid>" behind
// (util/atomic_file.h); each is as large as a checkpoint, and repeated crashes would pile them up.
// Removed only when that process no longer exists, so a run writing into the same folder is spared.
static void remove_stale_temps(sf_run_dir *d) {
    DIR *dir = opendir(d->path);
    if (!dir) return;
    struct dirent *e;
    while ((e = readdir(dir))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || !t[5]) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char p[PATH_MAX + 256];
        snprintf(p, sizeof p, "%s/%s", d->path, e->d_name);
        if (unlink(p) == 0) sf_run_log(d, "springfield: removed %s, left by a write that was cut short", p);
    }
    closedir(dir);
}

int sf_run_dir_open(sf_run_dir *d, const char *path, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    if (mkdir_p(path, err, errlen)) return -1;
    snprintf(d->path, sizeof d->path, "%s", path);
    char lp[PATH_MAX];
    sf_run_file(lp, sizeof lp, d, "train.log");
    d->log = fopen(lp, "a");
    if (!d->log) {
        snprintf(err, errlen, "cannot open '%s': %s", lp, strerror(errno));
        return -1;
    }
    remove_stale_temps(d);
    return 0;
}

void sf_run_dir_close(sf_run_dir *d) {
    if (d->log) fclose(d->log);
    d->log = NULL;
}

void sf_run_file(char *buf, size_t n, const sf_run_dir *d, const char *file) {
    if (snprintf(buf, n, "%s/%s", d->path, file) >= (int)n) sf_die("path too long: %s/%s", d->path, file);
}

void sf_run_log(sf_run_dir *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (!d || !d->log) return;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(d->log, "%s ", ts);
    va_start(ap, fmt);
    vfprintf(d->log, fmt, ap);
    va_end(ap);
    fputc('\n', d->log);
    fflush(d->log);
}

json_t *sf_opts_to_json(const sf_opts *o) {
    json_t *j = json_object();
    for (int i = 0; i < o->n; i++) {
        const sf_opt_spec *s = &o->spec[i];
        const char *v = o->value[i];
        json_t *x;
        if (!v) x = json_null();
        else if (s->type == SF_OPT_INT) x = json_integer(strtoll(v, NULL, 10));
        else if (s->type == SF_OPT_FLOAT) x = json_real(strtod(v, NULL));
        else if (s->type == SF_OPT_FLAG) x = json_boolean(sf_opt_flag(o, s->name));
        else x = json_string(v);
        json_object_set_new(j, s->name, x);
    }
    return j;
}

int sf_run_write_config(const sf_run_dir *d, const sf_opts *o, json_t *extra, char *err, size_t errlen) {
    // JSON holds only UTF-8: a value that is not would be dropped from config.json, and --resume would
    // then run without it.
    for (int i = 0; i < o->n; i++) {
        const sf_opt_spec *s = &o->spec[i];
        if (o->value[i] && (s->type == SF_OPT_STR || s->type == SF_OPT_CHOICE) && !sf_utf8_valid(o->value[i])) {
            snprintf(err, errlen, "--%s: the value is not valid UTF-8, and config.json (JSON) cannot record it",
                     s->name);
            json_decref(extra);
            return -1;
        }
    }
    json_t *j = sf_opts_to_json(o);
    if (extra) {
        json_object_update(j, extra);
        json_decref(extra);
    }
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(j);
    if (!text) {
        snprintf(err, errlen, "cannot serialise config.json");
        return -1;
    }
    size_t len = strlen(text);
    char *buf = sf_malloc(len + 2);
    memcpy(buf, text, len);
    buf[len] = '\n';
    free(text);
    char path[PATH_MAX];
    sf_run_file(path, sizeof path, d, "config.json");
    int rc = sf_atomic_write_file(path, buf, len + 1, err, errlen);
    free(buf);
    return rc;
}

int sf_run_write_history(const sf_run_dir *d, const sf_epoch_record *h, int n, char *err, size_t errlen) {
    char path[PATH_MAX];
    sf_run_file(path, sizeof path, d, "history.csv");
    sf_atomic_file *af = sf_atomic_begin(path, err, errlen);
    if (!af) return -1;
    FILE *f = sf_atomic_fp(af);
    fprintf(f, "epoch,lr,train_loss,train_acc,val_loss,val_acc,val_f1,seconds,img_per_s,skipped_steps\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%d,%.9g,%.6f,%.6f,%.6f,%.6f,%.6f,%.2f,%.1f,%d\n", h[i].epoch, h[i].lr, h[i].train_loss,
                h[i].train_acc, h[i].val_loss, h[i].val_acc, h[i].val_f1, h[i].seconds, h[i].img_per_s,
                h[i].skipped);
    return sf_atomic_commit(af, err, errlen);
}

int sf_write_per_class_csv(const char *path, const char *const *names, int k, const double *precision,
                           const double *recall, const double *f1, const int64_t *support, char *err,
                           size_t errlen) {
    sf_atomic_file *af = sf_atomic_begin(path, err, errlen);
    if (!af) return -1;
    FILE *f = sf_atomic_fp(af);
    fprintf(f, "class,precision,recall,f1,support\n");
    for (int c = 0; c < k; c++) {
        sf_csv_field(f, names[c]);
        fprintf(f, ",%.6f,%.6f,%.6f,%lld\n", precision[c], recall[c], f1[c], (long long)support[c]);
    }
    return sf_atomic_commit(af, err, errlen);
}

int sf_run_write_bad_images(const sf_run_dir *d, const char *const *paths, const char *const *reasons, int n,
                            char *err, size_t errlen) {
    char path[PATH_MAX];
    sf_run_file(path, sizeof path, d, "bad_images.txt");
    sf_atomic_file *af = sf_atomic_begin(path, err, errlen);
    if (!af) return -1;
    FILE *f = sf_atomic_fp(af);
    for (int i = 0; i < n; i++) {
        if (reasons && reasons[i]) fprintf(f, "%s\t%s\n", paths[i], reasons[i]);
        else fprintf(f, "%s\n", paths[i]);
    }
    return sf_atomic_commit(af, err, errlen);
}

int sf_ckpt_info_read(sf_ckpt_info *ci, const char *path, char *err, size_t errlen) {
    memset(ci, 0, sizeof *ci);
    sf_st_file *f = sf_st_open(path, err, errlen);
    if (!f) return -1;
    int rc = -1;
    const char *v;
    if ((v = sf_st_meta(f, "arch"))) snprintf(ci->arch, sizeof ci->arch, "%s", v);
    if ((v = sf_st_meta(f, "n_classes"))) ci->n_classes = atoi(v);
    if ((v = sf_st_meta(f, "in_h"))) ci->size = atoi(v);
    ci->bf16 = (v = sf_st_meta(f, "precision")) && !strcmp(v, "bf16");
    if ((v = sf_st_meta(f, "class_names"))) {
        json_error_t je;
        json_t *a = json_loads(v, 0, &je);
        if (!json_is_array(a) || (ci->n_classes && (int)json_array_size(a) != ci->n_classes)) {
            snprintf(err, errlen, "%s: metadata class_names is not an array of %d names", path, ci->n_classes);
            json_decref(a);
            goto done;
        }
        int k = (int)json_array_size(a);
        ci->n_classes = k;
        ci->names = sf_calloc((size_t)k, sizeof *ci->names);
        for (int i = 0; i < k; i++) {
            const char *s = json_string_value(json_array_get(a, (size_t)i));
            ci->names[i] = strdup(s ? s : "?");
        }
        json_decref(a);
    }
    if ((v = sf_st_meta(f, "class_counts")) && ci->n_classes > 0) {
        json_error_t je;
        json_t *a = json_loads(v, 0, &je);
        if (json_is_array(a) && (int)json_array_size(a) == ci->n_classes) {
            ci->counts = sf_calloc((size_t)ci->n_classes, sizeof *ci->counts);
            for (int i = 0; i < ci->n_classes; i++) ci->counts[i] = json_integer_value(json_array_get(a, (size_t)i));
        }
        json_decref(a);
    }
    rc = 0;
done:
    sf_st_close(f);
    if (rc) sf_ckpt_info_free(ci);
    return rc;
}

void sf_ckpt_info_free(sf_ckpt_info *ci) {
    for (int i = 0; ci->names && i < ci->n_classes; i++) free(ci->names[i]);
    free(ci->names);
    free(ci->counts);
    ci->names = NULL;
    ci->counts = NULL;
}

char *sf_json_names(const char *const *names, int k) {
    json_t *a = json_array();
    for (int i = 0; i < k; i++) json_array_append_new(a, json_string(names[i]));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}

char *sf_json_counts(const int64_t *counts, int k) {
    json_t *a = json_array();
    for (int i = 0; i < k; i++) json_array_append_new(a, json_integer(counts[i]));
    char *s = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return s;
}
