// test_safetensors.c: bit-exact round trip, a file written by Python, every kind of malformed header,
// the checksum, and the atomic write (a failed write leaves the previous file intact).
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/npy.h"
#include "springfield.h"
#include "util/atomic_file.h"

static char g_dir[64];

static void make_dir(void) {
    strcpy(g_dir, "/tmp/sf_st_test_XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void rm_dir(void) {
    DIR *d = opendir(g_dir);
    if (!d) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
    closedir(d);
    rmdir(g_dir);
}

static const char *in_dir(const char *name) {
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    *len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    cr_assert_eq(fread(b, 1, *len, fp), *len);
    fclose(fp);
    return b;
}

static void write_all(const char *path, const void *b, size_t len) {
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(b, 1, len, fp), len);
    fclose(fp);
}

// ---- round trip

TestSuite(safetensors, .init = make_dir, .fini = rm_dir);

// Criterion does not run .fini for a skipped test, so a skip removes the temporary folder itself.
#define skip_clean(...) \
    do { \
        rm_dir(); \
        cr_skip_test(__VA_ARGS__); \
    } while (0)

Test(safetensors, round_trip_is_bit_exact) {
    // w is (3,5,7,2) F32, b is (5,) F64, idx is (4,) I64, cnt is (2,3) I32, raw is (11,) U8
    float w[3 * 5 * 7 * 2];
    double b[5];
    int64_t idx[4] = {-1, 0, INT64_MAX, INT64_MIN};
    int32_t cnt[6] = {INT32_MIN, -7, 0, 1, 99, INT32_MAX};
    uint8_t raw[11];
    float scalar = -0.0f;
    sf_rng rng;
    sf_rng_seed(&rng, 7, 1);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) w[i] = sf_rng_uniform_range(&rng, -1e3f, 1e3f);
    w[0] = 1e-45f;  // a denormal must survive untouched
    for (int i = 0; i < 5; i++) b[i] = 1.0 / (i + 3);
    for (int i = 0; i < 11; i++) raw[i] = (uint8_t)(i * 37);
    const int64_t sw[4] = {3, 5, 7, 2}, sb[1] = {5}, si[1] = {4}, sc[2] = {2, 3}, sr[1] = {11}, se[2] = {0, 3};

    sf_st_writer *wr = sf_st_writer_new();
    sf_st_writer_add(wr, "raw", SF_DT_U8, 1, sr, raw);  // odd-length U8 added first: the writer must still align the rest
    sf_st_writer_add(wr, "conv.weight", SF_DT_F32, 4, sw, w);
    sf_st_writer_add(wr, "bn.running_var", SF_DT_F64, 1, sb, b);
    sf_st_writer_add(wr, "idx", SF_DT_I64, 1, si, idx);
    sf_st_writer_add(wr, "cnt", SF_DT_I32, 2, sc, cnt);
    sf_st_writer_add(wr, "scalar", SF_DT_F32, 0, NULL, &scalar);
    sf_st_writer_add(wr, "empty", SF_DT_F32, 2, se, NULL);
    sf_st_writer_meta(wr, "format", "pt");
    sf_st_writer_meta(wr, "note", "h\xc3\xa9llo \"quoted\"");
    char err[512];
    const char *path = in_dir("rt.safetensors");
    cr_assert_eq(sf_st_write(wr, path, err, sizeof err), 0, "%s", err);
    sf_st_writer_free(wr);

    size_t len;
    uint8_t *bytes = read_all(path, &len);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)bytes[i] << (8 * i);
    cr_log_info("file %zu bytes, header %llu bytes", len, (unsigned long long)hl);
    cr_assert_eq(hl % 8, 0, "header length %llu is not padded to 8", (unsigned long long)hl);
    free(bytes);

    sf_st_file *f = sf_st_open(path, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    cr_assert_eq(sf_st_count(f), 7);
    const sf_st_tensor *t = sf_st_get(f, "conv.weight");
    cr_assert_not_null(t);
    cr_assert_eq(t->dtype, SF_DT_F32);
    cr_assert_eq(t->ndim, 4);
    for (int d = 0; d < 4; d++) cr_assert_eq(t->shape[d], sw[d]);
    cr_assert_eq(memcmp(t->data, w, sizeof w), 0);
    cr_assert_eq((uintptr_t)t->data % 4, 0);
    t = sf_st_get(f, "bn.running_var");
    cr_assert(t && t->dtype == SF_DT_F64 && t->ndim == 1 && t->shape[0] == 5 && memcmp(t->data, b, sizeof b) == 0);
    cr_assert_eq((uintptr_t)t->data % 8, 0);
    t = sf_st_get(f, "idx");
    cr_assert(t && t->dtype == SF_DT_I64 && memcmp(t->data, idx, sizeof idx) == 0);
    t = sf_st_get(f, "cnt");
    cr_assert(t && t->dtype == SF_DT_I32 && t->ndim == 2 && t->shape[1] == 3 && memcmp(t->data, cnt, sizeof cnt) == 0);
    t = sf_st_get(f, "raw");
    cr_assert(t && t->dtype == SF_DT_U8 && memcmp(t->data, raw, sizeof raw) == 0);
    t = sf_st_get(f, "scalar");
    cr_assert(t && t->ndim == 0 && memcmp(t->data, &scalar, 4) == 0);
    t = sf_st_get(f, "empty");
    cr_assert(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 3);
    cr_assert_null(sf_st_get(f, "missing"));
    cr_assert_null(sf_st_get_index(f, 7));
    cr_assert_str_eq(sf_st_meta(f, "format"), "pt");
    cr_assert_str_eq(sf_st_meta(f, "note"), "h\xc3\xa9llo \"quoted\"");
    cr_assert_not_null(sf_st_meta(f, "sf_crc32"));
    cr_assert_null(sf_st_meta(f, "nope"));
    sf_st_close(f);
    cr_assert_eq(count_entries(g_dir), 1, "temporary file left behind");
}

Test(safetensors, rewrite_replaces_and_leaves_no_temp) {
    char err[512];
    const char *path = in_dir("x.safetensors");
    for (int round = 0; round < 3; round++) {
        float v[4] = {(float)round, 1, 2, 3};
        const int64_t s[1] = {4};
        sf_st_writer *w = sf_st_writer_new();
        sf_st_writer_add(w, "v", SF_DT_F32, 1, s, v);
        cr_assert_eq(sf_st_write(w, path, err, sizeof err), 0, "%s", err);
        sf_st_writer_free(w);
        sf_st_file *f = sf_st_open(path, err, sizeof err);
        cr_assert_not_null(f, "%s", err);
        cr_assert_eq(((const float *)sf_st_get(f, "v")->data)[0], (float)round);
        sf_st_close(f);
    }
    cr_assert_eq(count_entries(g_dir), 1);
}

Test(safetensors, writer_rejects_bad_names) {
    char err[512];
    float v = 1;
    sf_st_writer *w = sf_st_writer_new();
    sf_st_writer_add(w, "a", SF_DT_F32, 0, NULL, &v);
    sf_st_writer_add(w, "a", SF_DT_F32, 0, NULL, &v);
    cr_assert_eq(sf_st_write(w, in_dir("d.safetensors"), err, sizeof err), -1);
    cr_log_info("%s", err);
    cr_assert(strstr(err, "duplicate tensor name 'a'"), "%s", err);
    sf_st_writer_free(w);
    w = sf_st_writer_new();
    sf_st_writer_add(w, "__metadata__", SF_DT_F32, 0, NULL, &v);
    cr_assert_eq(sf_st_write(w, in_dir("d.safetensors"), err, sizeof err), -1);
    cr_assert(strstr(err, "reserved"), "%s", err);
    sf_st_writer_free(w);
    cr_assert_eq(count_entries(g_dir), 0);
}

// ---- a file written by Python (tests/golden/make_safetensors.py)

Test(safetensors, reads_python_file) {
    char err[512];
    sf_st_file *f = sf_st_open(golden_path("safetensors/python.safetensors"), err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    cr_assert_eq(sf_st_count(f), 7);
    cr_assert_str_eq(sf_st_meta(f, "format"), "pt");
    cr_assert_null(sf_st_meta(f, "sf_crc32"));
    const sf_st_tensor *t = sf_st_get(f, "a_bytes");
    cr_assert(t && t->dtype == SF_DT_U8 && t->ndim == 1 && t->shape[0] == 5);
    for (int i = 0; i < 5; i++) cr_assert_eq(((const uint8_t *)t->data)[i], i * 7 % 256);
    // b_weight starts at byte 5 of the data section; the reader must hand out an aligned pointer.
    t = sf_st_get(f, "b_weight");
    cr_assert(t && t->dtype == SF_DT_F32 && t->ndim == 3 && t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 4);
    cr_assert_eq((uintptr_t)t->data % 4, 0);
    for (int i = 0; i < 24; i++) cr_assert_eq(((const float *)t->data)[i], 0.25f * i - 3.0f);
    t = sf_st_get(f, "c_index");
    cr_assert(t && t->dtype == SF_DT_I64);
    const int64_t *ci = t->data;
    cr_assert(ci[0] == -1 && ci[1] == 0 && ci[2] == (INT64_C(1) << 40) + 5);
    t = sf_st_get(f, "d_scale");
    cr_assert(t && t->dtype == SF_DT_F64 && t->ndim == 2);
    for (int i = 0; i < 4; i++) cr_assert_eq(((const double *)t->data)[i], i / 3.0);
    t = sf_st_get(f, "e_count");
    cr_assert(t && t->dtype == SF_DT_I32);
    for (int i = 0; i < 4; i++) cr_assert_eq(((const int32_t *)t->data)[i], -2 * i + 1);
    t = sf_st_get(f, "f_empty");
    cr_assert(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 4);
    t = sf_st_get(f, "g_scalar");
    cr_assert(t && t->ndim == 0 && *(const float *)t->data == 42.5f);
    sf_st_close(f);
}

// ---- malformed input: each case must be rejected with its own message

// A file with the given JSON header (unpadded) followed by dlen data bytes.
static uint8_t *mk(const char *json, size_t dlen, size_t *len) {
    size_t hl = strlen(json);
    *len = 8 + hl + dlen;
    uint8_t *b = calloc(1, *len);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, json, hl);
    for (size_t i = 0; i < dlen; i++) b[8 + hl + i] = (uint8_t)i;
    return b;
}

static void expect_reject(const char *json, size_t dlen, const char *msg) {
    size_t len;
    uint8_t *b = mk(json, dlen, &len);
    char err[512] = "";
    sf_st_file *f = sf_st_open_memory(b, len, err, sizeof err);
    cr_log_info("%-70.70s -> %s", json, err);
    cr_expect_null(f, "accepted: %s", json);
    sf_st_close(f);
    cr_expect(strncmp(err, "<memory>: ", 10) == 0, "no source label in '%s'", err);
    cr_expect(strstr(err, msg) != NULL, "for %s\n  expected '%s'\n  got      '%s'", json, msg, err);
    free(b);
}

#define T1 "\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"

Test(safetensors, accepts_minimal_files) {
    char err[512];
    size_t len;
    uint8_t *b = mk("{" T1 "}", 8, &len);
    sf_st_file *f = sf_st_open_memory(b, len, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    sf_st_close(f);
    free(b);
    b = mk("{}", 0, &len);
    f = sf_st_open_memory(b, len, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    cr_assert_eq(sf_st_count(f), 0);
    sf_st_close(f);
    free(b);
}

Test(safetensors, rejects_malformed_headers) {
    expect_reject("{\"__metadata__\":[1]}", 0, "__metadata__ is not a JSON object");
    expect_reject("{\"__metadata__\":{\"k\":1}}", 0, "metadata value for 'k' is not a string");
    expect_reject("{" T1 ",", 8, "invalid JSON header");
    expect_reject("[1,2]", 0, "the JSON header is not an object");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                  16, "duplicate name in the JSON header");
    expect_reject("{\"t\":5}", 0, "tensor 't': header entry is not a JSON object");
    expect_reject("{\"t\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 't': missing or non-string dtype");
    expect_reject("{\"t\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 't': unknown dtype 'Q7'");
    expect_reject("{\"t\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
                  "tensor 't': unsupported dtype BF16 (springfield reads F32, F64, I64, I32, U8)");
    expect_reject("{\"t\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "tensor 't': unsupported dtype F16");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "tensor 't': missing or non-array shape");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", 8,
                  "tensor 't': shape must hold non-negative integers");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8,
                  "tensor 't': shape must hold non-negative integers");
    expect_reject("{\"t\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
                  "tensor 't': 9 dimensions, at most 8 supported");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "tensor 't': data_offsets must be [begin, end]");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]}}", 8, "data_offsets must be [begin, end]");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", 8, "data_offsets must be [begin, end]");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                  "tensor 't': shape does not match data_offsets (12 bytes of F32 needed, 8 given)");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,8]}}", 8,
                  "tensor 't': shape does not match data_offsets (its size overflows 64 bits, 8 bytes given)");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8,
                  "tensor 't': data_offsets [0, 16] run past the end of the data section (8 bytes; file truncated?)");
    expect_reject("{\"t\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8, "tensor 't': data_offsets [8, 4] are reversed");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                  12, "tensor 'b' overlaps tensor 'a' in the data section");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                  12, "data is not contiguous: 4 unused bytes before tensor 'b'");
    expect_reject("{" T1 "}", 9, "data is not contiguous: 1 unused bytes at the end of the data section");
    expect_reject("{\"__metadata__\":{\"sf_crc32\":\"0x123456\"}," T1 "}", 8, "invalid sf_crc32 value '0x123456' (8 hex digits expected)");
    expect_reject("{\"__metadata__\":{\"sf_crc32\":\"1234567\"}," T1 "}", 8, "invalid sf_crc32 value");
    expect_reject("{\"__metadata__\":{\"sf_crc32\":\"00000000\"}," T1 "}", 8, "checksum mismatch: file is corrupted");
}

Test(safetensors, rejects_bad_lengths) {
    char err[512];
    uint8_t b[16] = {1, 2, 3, 4, 5};
    cr_assert_null(sf_st_open_memory(b, 5, err, sizeof err));
    cr_log_info("%s", err);
    cr_assert_str_eq(err, "<memory>: file is too short (5 bytes) to hold the 8-byte header length");
    cr_assert_null(sf_st_open_memory(b, 0, err, sizeof err));
    cr_assert_str_eq(err, "<memory>: file is too short (0 bytes) to hold the 8-byte header length");
    memset(b, 0, sizeof b);
    b[3] = 0x10;  // 0x10000000 = 268435456
    cr_assert_null(sf_st_open_memory(b, 16, err, sizeof err));
    cr_log_info("%s", err);
    cr_assert_str_eq(err, "<memory>: header length 268435456 exceeds the 100 MB limit (not a safetensors file?)");
    memset(b, 0xff, 8);  // 2^64-1: must not wrap around in the bounds check
    cr_assert_null(sf_st_open_memory(b, 16, err, sizeof err));
    cr_assert(strstr(err, "exceeds the 100 MB limit"), "%s", err);
    memset(b, 0, sizeof b);
    b[0] = 9;
    cr_assert_null(sf_st_open_memory(b, 16, err, sizeof err));
    cr_log_info("%s", err);
    cr_assert_str_eq(err, "<memory>: header length 9 runs past the end of the file (16 bytes; truncated, or not a safetensors file?)");
}

Test(safetensors, flipped_data_byte_fails_checksum) {
    float v[64];
    for (int i = 0; i < 64; i++) v[i] = (float)i;
    const int64_t s[2] = {8, 8};
    sf_st_writer *w = sf_st_writer_new();
    sf_st_writer_add(w, "v", SF_DT_F32, 2, s, v);
    char err[512];
    const char *path = in_dir("c.safetensors");
    cr_assert_eq(sf_st_write(w, path, err, sizeof err), 0, "%s", err);
    sf_st_writer_free(w);
    size_t len;
    uint8_t *b = read_all(path, &len);
    b[len - 100] ^= 0x01;  // one bit of v[39]: still a perfectly plausible float
    write_all(path, b, len);
    free(b);
    cr_assert_null(sf_st_open(path, err, sizeof err));
    cr_log_info("%s", err);
    cr_assert(strncmp(err, path, strlen(path)) == 0, "%s", err);
    cr_assert(strstr(err, ": checksum mismatch: file is corrupted (stored "), "%s", err);
}

Test(safetensors, truncated_file_rejected) {
    float v[16] = {0};
    const int64_t s[1] = {16};
    sf_st_writer *w = sf_st_writer_new();
    sf_st_writer_add(w, "v", SF_DT_F32, 1, s, v);
    char err[512];
    const char *path = in_dir("t.safetensors");
    cr_assert_eq(sf_st_write(w, path, err, sizeof err), 0, "%s", err);
    sf_st_writer_free(w);
    size_t len;
    uint8_t *b = read_all(path, &len);
    // Every prefix must be rejected, never crash.
    for (size_t cut = 0; cut < len; cut++) {
        sf_st_file *f = sf_st_open_memory(b, cut, err, sizeof err);
        cr_assert_null(f, "prefix of %zu/%zu bytes accepted", cut, len);
    }
    free(b);
}

Test(safetensors, open_reports_missing_and_directories) {
    char err[512];
    cr_assert_null(sf_st_open(in_dir("absent.safetensors"), err, sizeof err));
    cr_log_info("%s", err);
    cr_assert(strstr(err, "absent.safetensors: cannot open: No such file or directory"), "%s", err);
    cr_assert_null(sf_st_open(g_dir, err, sizeof err));
    cr_assert(strstr(err, ": not a regular file"), "%s", err);
}

// ---- atomic writes

static int write_one(const char *path, size_t n, float fill, char *err, size_t errlen) {
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = fill;
    const int64_t s[1] = {(int64_t)n};
    sf_st_writer *w = sf_st_writer_new();
    sf_st_writer_add(w, "v", SF_DT_F32, 1, s, v);
    int rc = sf_st_write(w, path, err, errlen);
    sf_st_writer_free(w);
    free(v);
    return rc;
}

static void expect_intact(const char *path, size_t n, float fill) {
    char err[512];
    sf_st_file *f = sf_st_open(path, err, sizeof err);
    cr_assert_not_null(f, "previous file damaged: %s", err);
    const sf_st_tensor *t = sf_st_get(f, "v");
    cr_assert(t && t->shape[0] == (int64_t)n && ((const float *)t->data)[n - 1] == fill);
    sf_st_close(f);
}

Test(safetensors, write_into_missing_directory_fails_cleanly) {
    char err[512];
    char path[512];
    snprintf(path, sizeof path, "%s/no/such/dir/w.safetensors", g_dir);
    cr_assert_eq(write_one(path, 4, 1.0f, err, sizeof err), -1);
    cr_log_info("%s", err);
    cr_assert(strstr(err, path) == err, "%s", err);
    cr_assert(strstr(err, "No such file or directory"), "%s", err);
}

Test(safetensors, rename_failure_removes_temp_file) {
    char err[512];
    char path[512];
    snprintf(path, sizeof path, "%s/taken", g_dir);
    cr_assert_eq(mkdir(path, 0755), 0);  // the rename over a directory fails after all data is written
    cr_assert_eq(write_one(path, 4, 1.0f, err, sizeof err), -1);
    cr_log_info("%s", err);
    cr_assert(strstr(err, "cannot rename temporary file into place: Is a directory"), "%s", err);
    cr_assert_eq(count_entries(g_dir), 1, "temporary file left behind");
    rmdir(path);
}

Test(safetensors, atomic_write_helper_replaces_file) {
    char err[512];
    const char *path = in_dir("config.json");
    cr_assert_eq(sf_atomic_write_file(path, "{\"a\":1}\n", 8, err, sizeof err), 0, "%s", err);
    sf_atomic_file *af = sf_atomic_begin(path, err, sizeof err);
    cr_assert_not_null(af, "%s", err);
    fprintf(sf_atomic_fp(af), "{\"a\":%d}\n", 2);
    sf_atomic_abort(af);  // an aborted write leaves the previous contents
    size_t len;
    uint8_t *b = read_all(path, &len);
    cr_assert(len == 8 && memcmp(b, "{\"a\":1}\n", 8) == 0);
    free(b);
    af = sf_atomic_begin(path, err, sizeof err);
    fprintf(sf_atomic_fp(af), "{\"a\":%d}\n", 3);
    cr_assert_eq(sf_atomic_commit(af, err, sizeof err), 0, "%s", err);
    b = read_all(path, &len);
    cr_assert(len == 8 && memcmp(b, "{\"a\":3}\n", 8) == 0);
    free(b);
    cr_assert_eq(count_entries(g_dir), 1);
}

// A small tmpfs needs root and a kernel that lets this process mount; elsewhere the test says so and skips.
static int mount_tmpfs(const char *dir, const char *opts) {
    if (mount("tmpfs", dir, "tmpfs", 0, opts) != 0) {
        cr_log_warn("cannot mount a tmpfs on %s (%s)", dir, strerror(errno));
        return -1;
    }
    return 0;
}

Test(safetensors, full_disk_leaves_previous_file_intact) {
    char mnt[512];
    snprintf(mnt, sizeof mnt, "%s/small", g_dir);
    cr_assert_eq(mkdir(mnt, 0755), 0);
    if (mount_tmpfs(mnt, "size=64k") != 0) {
        rmdir(mnt);
        skip_clean("mounting a 64 KiB tmpfs needs root (ENOSPC case not run)");
    }
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/ckpt.safetensors", mnt);
    int rc0 = write_one(path, 1000, 1.5f, err, sizeof err);
    int rc1 = write_one(path, 40000, 2.5f, err, sizeof err);  // 160 KB into 64 KiB
    cr_log_info("full tmpfs: %s", err);
    int entries = count_entries(mnt);
    if (rc0 == 0) expect_intact(path, 1000, 1.5f);
    umount(mnt);
    rmdir(mnt);
    cr_assert_eq(rc0, 0);
    cr_assert_eq(rc1, -1);
    cr_assert(strstr(err, path) == err, "%s", err);
    cr_assert(strstr(err, "No space left on device"), "%s", err);
    cr_assert_eq(entries, 1, "temporary file left behind on the full disk");
}

Test(safetensors, read_only_filesystem_leaves_previous_file_intact) {
    char mnt[512];
    snprintf(mnt, sizeof mnt, "%s/ro", g_dir);
    cr_assert_eq(mkdir(mnt, 0755), 0);
    if (mount_tmpfs(mnt, "size=64k") != 0) {
        rmdir(mnt);
        skip_clean("mounting a tmpfs needs root (read-only case not run)");
    }
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/ckpt.safetensors", mnt);
    int rc0 = write_one(path, 100, 3.5f, err, sizeof err);
    int rc_ro = mount("tmpfs", mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, "size=64k");
    int rc1 = rc_ro == 0 ? write_one(path, 100, 4.5f, err, sizeof err) : 0;
    cr_log_info("read-only tmpfs: %s", err);
    if (rc0 == 0) expect_intact(path, 100, 3.5f);
    int entries = count_entries(mnt);
    umount(mnt);
    rmdir(mnt);
    cr_assert_eq(rc0, 0);
    cr_assert_eq(rc_ro, 0, "remount read-only failed: %s", strerror(errno));
    cr_assert_eq(rc1, -1);
    cr_assert(strstr(err, "Read-only file system"), "%s", err);
    cr_assert_eq(entries, 1);
}
