// fuzz_dataset.c: libFuzzer harness for the dataset scanner's name handling (src/data/dataset.h) and the
// CSV fields the names end up in (src/util/text.h).
//
// The input describes a dataset folder, one entry per line: a kind byte, then "class/file" (or a bare
// name at the top level) in arbitrary bytes. The harness builds that tree under a private temporary
// folder, scans it, and checks what every caller relies on: classes unique, sorted bytewise and valid
// UTF-8; every path is ROOT/<its class>/<its basename>; labels and files in order; counts add up;
// class_index finds each class; each class name and file name survives a CSV write and read-back. The
// flat scan (predict's) runs over the first class folder too.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "util/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag;
    if (ftw->level > 0) remove(p);
    return 0;
}

// The temporary root goes when the fuzzer exits (libFuzzer leaves through exit()).
static void remove_root(void) {
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    rmdir(root);
}

static void put_file(const char *path, const void *bytes, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;  // a name the file system refuses (too long, ...) is simply absent
    if (n && write(fd, bytes, n) < 0) {
    }
    close(fd);
}

// Writes s as a CSV field, reads it back with the matching reader, and aborts unless the same bytes
// return and the next column stays where it was.
static void csv_round_trip(const char *s) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return;
    sf_csv_field(f, s);
    fputs(",x", f);
    fclose(f);
    char *out = malloc(len + 1);
    const char *rest = sf_csv_parse_field(out, buf);
    if (!rest || strcmp(out, s) != 0 || strcmp(rest, ",x") != 0) abort();
    free(out);
    free(buf);
}

static void check(const sf_dataset *ds) {
    size_t rl = strlen(root);
    int sum = 0;
    for (int c = 0; c < ds->n_classes; c++) {
        if (c > 0 && strcmp(ds->classes[c - 1], ds->classes[c]) >= 0) abort();  // unique, sorted
        if (!sf_utf8_valid(ds->classes[c]) || sf_dataset_class_index(ds, ds->classes[c]) != c) abort();
        if (ds->class_counts[c] <= 0) abort();
        sum += ds->class_counts[c];
        csv_round_trip(ds->classes[c]);
    }
    if (sum != ds->n) abort();
    for (int i = 0; i < ds->n; i++) {
        int l = ds->labels[i];
        if (l < 0 || l >= ds->n_classes || (i > 0 && l < ds->labels[i - 1])) abort();
        const char *p = ds->paths[i], *base = sf_dataset_basename(ds, i);
        size_t cl = strlen(ds->classes[l]);
        if (strncmp(p, root, rl) != 0 || p[rl] != '/' || strncmp(p + rl + 1, ds->classes[l], cl) != 0 ||
            p[rl + 1 + cl] != '/' || strcmp(p + rl + 2 + cl, base) != 0 || strchr(base, '/'))
            abort();
        if (i > 0 && l == ds->labels[i - 1] && strcmp(sf_dataset_basename(ds, i - 1), base) >= 0) abort();
        csv_round_trip(base);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'};
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0};
    if (!root[0]) {
        snprintf(root, sizeof root, "/tmp/sf_fuzz_dataset_XXXXXX");
        if (!mkdtemp(root)) abort();
        atexit(remove_root);
    }
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (size > 4096) return 0;
    const uint8_t *p = data, *end = data + size;
    char path[1024], first[1024] = "";
    for (int entries = 0; p < end && entries < 64; entries++) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        const uint8_t *e = nl ? nl : end;
        if (e - p >= 2 && e - p < 400) {
            int kind = p[0] % 6;
            char name[512];
            size_t n = (size_t)(e - p - 1);
            memcpy(name, p + 1, n);
            name[n] = 0;
            if (strlen(name) != n) goto next;  // a NUL cannot be in a file name
            char *slash = strchr(name, '/');
            if (slash) {
                *slash = 0;
                if (strchr(slash + 1, '/') || !name[0] || !slash[1]) goto next;
                snprintf(path, sizeof path, "%s/%s", root, name);
                if (!strcmp(name, ".") || !strcmp(name, "..")) goto next;
                mkdir(path, 0755);
                if (!first[0]) snprintf(first, sizeof first, "%s", path);
                snprintf(path, sizeof path, "%s/%s/%s", root, name, slash + 1);
            } else {
                snprintf(path, sizeof path, "%s/%s", root, name);
            }
            const char *leaf = slash ? slash + 1 : name;
            if (!strcmp(leaf, ".") || !strcmp(leaf, "..")) goto next;
            switch (kind) {
            case 0: put_file(path, jpeg, sizeof jpeg); break;
            case 1: put_file(path, png, sizeof png); break;
            case 2: put_file(path, "", 0); break;
            case 3: put_file(path, "<html>", 6); break;
            case 4: mkdir(path, 0755); break;
            default:
                if (symlink("no/such/target", path)) {
                }
                break;
            }
        }
    next:
        p = nl ? nl + 1 : end;
    }
    sf_dataset ds;
    char err[512];
    if (sf_dataset_scan(&ds, root, 1, err, sizeof err) == 0) {
        check(&ds);
        sf_dataset_free(&ds);
    } else if (!err[0] || !strstr(err, root)) {
        abort();  // a failure must say which folder
    }
    if (first[0] && sf_dataset_scan_flat(&ds, first, 1, err, sizeof err) == 0) {
        for (int i = 0; i < ds.n; i++)
            if (ds.labels[i] != -1 || strchr(sf_dataset_basename(&ds, i), '/')) abort();
        sf_dataset_free(&ds);
    }
    return 0;
}
