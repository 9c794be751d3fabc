// test_corpus_safetensors.c: every file in tests/corpus/safetensors/ (written by tests/corpus/make_corpus.py)
// gives exactly the message a user sees, "<path>: <reason>", and the one valid file opens.
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "springfield.h"

typedef struct {
    const char *file;
    const char *msg;  // NULL: the file must open
} corpus_case;

static const corpus_case CASES[] = {
    {"valid.safetensors", NULL},
    {"zero_bytes.safetensors", "file is too short (0 bytes) to hold the 8-byte header length"},
    {"too_short.safetensors", "file is too short (3 bytes) to hold the 8-byte header length"},
    {"header_length_huge.safetensors", "header length 1099511627776 exceeds the 100 MB limit (not a safetensors file?)"},
    {"html_page.safetensors", "header length 5789751444030890300 exceeds the 100 MB limit (not a safetensors file?)"},
    {"header_past_end.safetensors",
     "header length 64 runs past the end of the file (16 bytes; truncated, or not a safetensors file?)"},
    {"torch_zip.safetensors",
     "header length 67324752 runs past the end of the file (64 bytes; truncated, or not a safetensors file?)"},
    {"truncated_data.safetensors",
     "tensor 'w': data_offsets [16, 40] run past the end of the data section (33 bytes; file truncated?)"},
    {"invalid_json.safetensors", "invalid JSON header: ':' expected near end of file (at byte 13 of the header)"},
    {"invalid_utf8.safetensors", "invalid JSON header: unable to decode byte 0xff near '\"' (at byte 2 of the header)"},
    {"header_not_object.safetensors", "the JSON header is not an object"},
    {"duplicate_name.safetensors", "duplicate name in the JSON header (duplicate object key near '\"w\"')"},
    {"metadata_not_object.safetensors", "__metadata__ is not a JSON object"},
    {"metadata_not_string.safetensors", "metadata value for 'epoch' is not a string"},
    {"entry_not_object.safetensors", "tensor 'w': header entry is not a JSON object"},
    {"missing_dtype.safetensors", "tensor 'w': missing or non-string dtype"},
    {"unknown_dtype.safetensors", "tensor 'w': unknown dtype 'F31'"},
    {"bf16.safetensors", "tensor 'w': unsupported dtype BF16 (springfield reads F32, F64, I64, I32, U8)"},
    {"f16.safetensors", "tensor 'w': unsupported dtype F16 (springfield reads F32, F64, I64, I32, U8)"},
    {"missing_shape.safetensors", "tensor 'w': missing or non-array shape"},
    {"negative_shape.safetensors", "tensor 'w': shape must hold non-negative integers"},
    {"too_many_dims.safetensors", "tensor 'w': 9 dimensions, at most 8 supported"},
    {"bad_offsets.safetensors", "tensor 'w': data_offsets must be [begin, end] with non-negative integers"},
    {"shape_mismatch.safetensors", "tensor 'w': shape does not match data_offsets (24 bytes of F32 needed, 20 given)"},
    {"shape_overflow.safetensors", "tensor 'w': shape does not match data_offsets (its size overflows 64 bits, 4 bytes given)"},
    {"offsets_out_of_range.safetensors",
     "tensor 'w': data_offsets [0, 16] run past the end of the data section (8 bytes; file truncated?)"},
    {"offsets_reversed.safetensors", "tensor 'w': data_offsets [8, 0] are reversed"},
    {"overlap.safetensors", "tensor 'b' overlaps tensor 'a' in the data section"},
    {"gap.safetensors", "data is not contiguous: 4 unused bytes before tensor 'b'"},
    {"trailing_bytes.safetensors", "data is not contiguous: 3 unused bytes at the end of the data section"},
    {"flipped_data_bit.safetensors", "checksum mismatch: file is corrupted (stored c19063f6, computed 99633bbf)"},
    {"crc_not_hex.safetensors", "invalid sf_crc32 value 'not-hex!' (8 hex digits expected)"},
};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])

// Tests run from the repository root (make test); also accept runs from build/ or build/tests/.
static const char *corpus_dir(void) {
    static const char *dirs[] = {"tests/corpus/safetensors", "../tests/corpus/safetensors", "../../tests/corpus/safetensors"};
    for (int i = 0; i < 3; i++)
        if (access(dirs[i], R_OK) == 0) return dirs[i];
    cr_assert_fail("tests/corpus/safetensors not found (run from the repository root)");
    return NULL;
}

Test(corpus_safetensors, each_file_gives_its_message) {
    const char *dir = corpus_dir();
    for (int i = 0; i < NCASES; i++) {
        char path[512], want[1024], err[512] = "";
        snprintf(path, sizeof path, "%s/%s", dir, CASES[i].file);
        sf_st_file *f = sf_st_open(path, err, sizeof err);
        if (!CASES[i].msg) {
            cr_expect_not_null(f, "%s should open: %s", path, err);
            sf_st_close(f);
            continue;
        }
        cr_log_info("%s", err);
        snprintf(want, sizeof want, "%s: %s", path, CASES[i].msg);
        cr_expect_null(f, "%s was accepted", path);
        sf_st_close(f);
        cr_expect_str_eq(err, want, "%s:\n  expected '%s'\n  got      '%s'", CASES[i].file, want, err);
    }
}

Test(corpus_safetensors, valid_file_contents) {
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/valid.safetensors", corpus_dir());
    sf_st_file *f = sf_st_open(path, err, sizeof err);
    cr_assert_not_null(f, "%s", err);
    const sf_st_tensor *w = sf_st_get(f, "w"), *b = sf_st_get(f, "b");
    cr_assert(w && w->dtype == SF_DT_F32 && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3);
    cr_assert(b && b->dtype == SF_DT_I64 && b->ndim == 1 && b->shape[0] == 2);
    for (int i = 0; i < 6; i++) cr_assert_eq(((const float *)w->data)[i], (float)i - 2.5f);
    cr_assert(((const int64_t *)b->data)[0] == 1 && ((const int64_t *)b->data)[1] == 2);
    cr_assert_str_eq(sf_st_meta(f, "format"), "pt");
    sf_st_close(f);
}

// A corpus file without an expected message would be silently untested.
Test(corpus_safetensors, every_file_has_a_case) {
    const char *dir = corpus_dir();
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        files++;
        int found = 0;
        for (int i = 0; i < NCASES && !found; i++) found = strcmp(CASES[i].file, e->d_name) == 0;
        cr_expect(found, "%s/%s has no expected message in test_corpus_safetensors.c", dir, e->d_name);
    }
    closedir(d);
    cr_log_info("%d corpus files, %d cases", files, NCASES);
    cr_assert_eq(files, NCASES);
}
