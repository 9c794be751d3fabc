// npy.h: read the float32/int64 .npy files that the golden generators (tests/golden/*.py) write, and
// compare tensors with an explicit tolerance. Test-only; the library itself never reads .npy.
#ifndef SF_TEST_NPY_H
#define SF_TEST_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int ndim;
    int64_t shape[8];
    size_t count;   // product of shape
    char dtype;     // 'f' float32 or 'i' int64
    float *f;       // data when dtype 'f'
    int64_t *i;     // data when dtype 'i'
} npy_array;

// Loads tests/golden/<rel> (relative to the repository root, found from the test's working directory
// or SF_GOLDEN_DIR). Fails the calling test with the path and reason when the file is missing or bad.
npy_array npy_load(const char *rel);
void npy_free(npy_array *a);

// Full path of a golden file (static buffer).
const char *golden_path(const char *rel);

// max |a-b| / max(1, max|b|): the normalized error the tests bound and print.
double max_rel_err(const float *a, const float *b, size_t n);
double max_abs_err(const float *a, const float *b, size_t n);

#endif
