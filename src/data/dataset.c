// dataset.c: see dataset.h.
#include "data/dataset.h"
#include "data/image.h"
#include "util/text.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// A growable array of strings.
typedef struct {
    char **v;
    int n, cap;
} strvec;

static void strvec_push(strvec *s, char *str) {
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        char **v = sf_malloc(sizeof(char *) * (size_t)s->cap);
        if (s->n) memcpy(v, s->v, sizeof(char *) * (size_t)s->n);
        free(s->v);
        s->v = v;
    }
    s->v[s->n++] = str;
}

static char *dupstr(const char *a) {
    size_t n = strlen(a) + 1;
    char *p = sf_malloc(n);
    memcpy(p, a, n);
    return p;
}

static char *join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    int slash = na > 0 && a[na - 1] != '/';
    char *p = sf_malloc(na + nb + (size_t)slash + 1);
    memcpy(p, a, na);
    if (slash) p[na] = '/';
    memcpy(p + na + slash, b, nb + 1);
    return p;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void skip_warn(sf_dataset *ds, int quiet, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void skip_warn(sf_dataset *ds, int quiet, const char *fmt, ...) {
    ds->n_skipped++;
    if (quiet) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sf_warn("dataset: %s", msg);
}

// The sorted, non-hidden entry names of dir; -1 with errno set when it cannot be opened.
static int list_dir(strvec *out, const char *dir) {
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') strvec_push(out, dupstr(e->d_name));
    closedir(d);
    if (out->n) qsort(out->v, (size_t)out->n, sizeof(char *), cmp_str);
    return 0;
}

static void strvec_free(strvec *s) {
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

// Appends the usable images of dir to paths (with label) and returns how many.
static int scan_images(sf_dataset *ds, strvec *paths, int **labels, int *lab_cap, const char *dir, int label,
                       int quiet) {
    strvec names;
    if (list_dir(&names, dir) != 0) {
        skip_warn(ds, quiet, "cannot read folder '%s': %s", dir, strerror(errno));
        return 0;
    }
    int kept = 0;
    for (int i = 0; i < names.n; i++) {
        char *p = join(dir, names.v[i]);
        struct stat st;
        int fd = -1;
        uint8_t head[8];
        ssize_t got = 0;
        if (stat(p, &st) != 0) {
            skip_warn(ds, quiet, "skipping '%s': %s", p, strerror(errno));  // e.g. a dangling symlink
        } else if (!S_ISREG(st.st_mode)) {
            skip_warn(ds, quiet, "skipping '%s': not a regular file", p);
        } else if ((fd = open(p, O_RDONLY | O_CLOEXEC)) < 0 || (got = read(fd, head, sizeof head)) < 0) {
            skip_warn(ds, quiet, "skipping '%s': cannot read: %s", p, strerror(errno));
        } else if (sf_image_sniff(head, (size_t)got) == SF_IMG_UNKNOWN) {
            skip_warn(ds, quiet, "skipping '%s': %s", p, got == 0 ? "empty file" : "not a JPEG or PNG (by content)");
        } else {
            if (ds->n == *lab_cap) {
                *lab_cap = *lab_cap ? 2 * *lab_cap : 256;
                int *l = sf_malloc(sizeof(int) * (size_t)*lab_cap);
                if (ds->n) memcpy(l, *labels, sizeof(int) * (size_t)ds->n);
                free(*labels);
                *labels = l;
            }
            (*labels)[ds->n++] = label;
            strvec_push(paths, p);
            p = NULL;
            kept++;
        }
        if (fd >= 0) close(fd);
        free(p);
    }
    strvec_free(&names);
    return kept;
}

int sf_dataset_scan(sf_dataset *ds, const char *root, int quiet, char *err, size_t errlen) {
    memset(ds, 0, sizeof *ds);
    strvec entries, classes = {0}, paths = {0};
    if (list_dir(&entries, root) != 0) {
        snprintf(err, errlen, "cannot read dataset folder '%s': %s", root, strerror(errno));
        return -1;
    }
    int *labels = NULL, lab_cap = 0;
    int *counts = sf_malloc(sizeof(int) * (size_t)(entries.n + 1));
    for (int i = 0; i < entries.n; i++) {
        char *dir = join(root, entries.v[i]);
        struct stat st;
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            skip_warn(ds, quiet, "ignoring '%s': not a class folder (images go in %s/<class>/)", dir, root);
        } else if (!sf_utf8_valid(entries.v[i])) {
            // The class name goes into checkpoints and config.json, which are JSON and so UTF-8.
            skip_warn(ds, quiet, "ignoring class folder '%s': its name is not valid UTF-8 (rename it)", dir);
        } else {
            int kept = scan_images(ds, &paths, &labels, &lab_cap, dir, classes.n, quiet);
            if (kept == 0) {
                skip_warn(ds, quiet, "class '%s' has no usable image and is left out", entries.v[i]);
            } else {
                counts[classes.n] = kept;
                strvec_push(&classes, dupstr(entries.v[i]));
            }
        }
        free(dir);
    }
    strvec_free(&entries);
    ds->paths = paths.v;
    ds->labels = labels;
    ds->classes = classes.v;
    ds->n_classes = classes.n;
    ds->class_counts = counts;
    if (ds->n == 0) {
        snprintf(err, errlen, "no usable image in '%s' (expected %s/<class>/<image files>)", root, root);
        sf_dataset_free(ds);
        return -1;
    }
    return 0;
}

int sf_dataset_scan_flat(sf_dataset *ds, const char *dir, int quiet, char *err, size_t errlen) {
    memset(ds, 0, sizeof *ds);
    strvec paths = {0};
    int *labels = NULL, lab_cap = 0;
    struct stat st;
    int ok = stat(dir, &st) == 0;
    if (!ok || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot read image folder '%s': %s", dir, ok ? "not a folder" : strerror(errno));
        return -1;
    }
    scan_images(ds, &paths, &labels, &lab_cap, dir, -1, quiet);
    ds->paths = paths.v;
    ds->labels = labels;
    if (ds->n == 0) {
        snprintf(err, errlen, "no usable image in '%s'", dir);
        sf_dataset_free(ds);
        return -1;
    }
    return 0;
}

void sf_dataset_free(sf_dataset *ds) {
    for (int i = 0; i < ds->n; i++) free(ds->paths[i]);
    for (int i = 0; i < ds->n_classes; i++) free(ds->classes[i]);
    free(ds->paths);
    free(ds->labels);
    free(ds->classes);
    free(ds->class_counts);
    memset(ds, 0, sizeof *ds);
}

int sf_dataset_class_index(const sf_dataset *ds, const char *name) {
    for (int i = 0; i < ds->n_classes; i++)
        if (!strcmp(ds->classes[i], name)) return i;
    return -1;
}

const char *sf_dataset_basename(const sf_dataset *ds, int i) {
    const char *s = strrchr(ds->paths[i], '/');
    return s ? s + 1 : ds->paths[i];
}
