// npy.c: see npy.h. Parses the fixed header numpy's np.save writes (version 1.0/2.0, C order, little endian).
#include "npy.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *golden_path(const char *rel) {
    static char buf[1024];
    const char *dir = getenv("SF_GOLDEN_DIR");
    if (dir) {
        snprintf(buf, sizeof buf, "%s/%s", dir, rel);
        return buf;
    }
    // Tests run from the repository root (make test); fall back to the parent for runs from build/.
    const char *roots[] = {"tests/golden", "../tests/golden", "../../tests/golden"};
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "%s/%s", roots[i], rel);
        if (access(buf, R_OK) == 0) return buf;
    }
    snprintf(buf, sizeof buf, "tests/golden/%s", rel);
    return buf;
}

npy_array npy_load(const char *rel) {
    npy_array a;
    memset(&a, 0, sizeof a);
    const char *path = golden_path(rel);
    FILE *f = fopen(path, "rb");
    if (!f) cr_assert_fail("golden file %s missing (regenerate with tests/golden/*.py)", path);
    unsigned char magic[8];
    cr_assert_eq(fread(magic, 1, 8, f), 8, "%s: short header", path);
    cr_assert(!memcmp(magic, "\x93NUMPY", 6), "%s: not a .npy file", path);
    size_t hlen;
    if (magic[6] == 1) {
        unsigned char l[2];
        cr_assert_eq(fread(l, 1, 2, f), 2);
        hlen = l[0] | (size_t)l[1] << 8;
    } else {
        unsigned char l[4];
        cr_assert_eq(fread(l, 1, 4, f), 4);
        hlen = l[0] | (size_t)l[1] << 8 | (size_t)l[2] << 16 | (size_t)l[3] << 24;
    }
    char *h = calloc(hlen + 1, 1);
    cr_assert_eq(fread(h, 1, hlen, f), hlen, "%s: short header", path);
    if (strstr(h, "'<f4'")) a.dtype = 'f';
    else if (strstr(h, "'<i8'")) a.dtype = 'i';
    else cr_assert_fail("%s: dtype must be <f4 or <i8: %s", path, h);
    cr_assert(strstr(h, "'fortran_order': False"), "%s: must be C order", path);
    char *s = strstr(h, "'shape': (");
    cr_assert(s, "%s: no shape", path);
    s += 10;
    a.count = 1;
    while (*s && *s != ')') {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ')') break;
        long v = strtol(s, &s, 10);
        cr_assert(a.ndim < 8);
        a.shape[a.ndim++] = v;
        a.count *= (size_t)v;
    }
    free(h);
    size_t esz = a.dtype == 'f' ? 4 : 8;
    void *data = malloc(a.count * esz + 1);
    cr_assert_eq(fread(data, esz, a.count, f), a.count, "%s: truncated data", path);
    fclose(f);
    if (a.dtype == 'f') a.f = data;
    else a.i = data;
    return a;
}

void npy_free(npy_array *a) {
    free(a->f);
    free(a->i);
    memset(a, 0, sizeof *a);
}

double max_abs_err(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

double max_rel_err(const float *a, const float *b, size_t n) {
    double scale = 1.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(b[i]) > scale) scale = fabs(b[i]);
    return max_abs_err(a, b, n) / scale;
}
