// test_util_text.c: UTF-8 validation (the rules JSON encoders apply) and CSV field quoting (RFC 4180),
// checked by parsing the written field back.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util/text.h"

Test(util_text, utf8_valid_and_invalid) {
    cr_assert(sf_utf8_valid(""));
    cr_assert(sf_utf8_valid("homer_simpson"));
    cr_assert(sf_utf8_valid("\xc3\xa9mile"));                  // U+00E9
    cr_assert(sf_utf8_valid("\xe2\x82\xac"));                  // U+20AC
    cr_assert(sf_utf8_valid("\xf0\x9f\x8d\xa9 donut"));        // U+1F369
    cr_assert(sf_utf8_valid("\xf4\x8f\xbf\xbf"));              // U+10FFFF, the last code point
    cr_assert_not(sf_utf8_valid("caf\xe9"));                   // Latin-1 byte
    cr_assert_not(sf_utf8_valid("\x80"));                      // lone continuation byte
    cr_assert_not(sf_utf8_valid("\xc3"));                      // cut short by the end
    cr_assert_not(sf_utf8_valid("\xc0\xaf"));                  // overlong '/'
    cr_assert_not(sf_utf8_valid("\xe0\x80\xaf"));              // overlong, 3 bytes
    cr_assert_not(sf_utf8_valid("\xed\xa0\x80"));              // surrogate U+D800
    cr_assert_not(sf_utf8_valid("\xf4\x90\x80\x80"));          // U+110000
    cr_assert_not(sf_utf8_valid("\xff"));
}

// Writes s as a field followed by ",x\n" and reads the field back; returns it (malloc'd) and what follows.
static char *round_trip(const char *s, char **rest) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_neq(sf_csv_field(f, s), EOF);
    fputs(",x\n", f);
    fclose(f);
    char *out = malloc(len + 1);
    const char *end = sf_csv_parse_field(out, buf);
    cr_assert_not_null(end, "the written field does not parse: %s", buf);
    *rest = strdup(end);
    free(buf);
    return out;
}

Test(util_text, csv_fields_round_trip) {
    const char *cases[] = {"homer_simpson", "pic_0001.jpg", "", "a,b.jpg", "say \"d'oh\"", "two\nlines",
                           "cr\rhere", " leading", "trailing ", "\"", ",", "\xc3\xa9mile"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *rest;
        char *back = round_trip(cases[i], &rest);
        cr_assert_str_eq(back, cases[i], "field %zu did not survive", i);
        cr_assert_str_eq(rest, ",x\n", "the next column moved for field %zu: '%s'", i, rest);
        free(back);
        free(rest);
    }
}

Test(util_text, csv_reader_refuses_malformed_fields) {
    char out[64];
    const char *end = sf_csv_parse_field(out, "\"a\"\"b\",c");
    cr_assert_not_null(end);
    cr_assert_str_eq(out, "a\"b");
    cr_assert_str_eq(end, ",c");
    end = sf_csv_parse_field(out, "plain\r\n");
    cr_assert_str_eq(out, "plain");
    cr_assert_str_eq(end, "\r\n");
    cr_assert_null(sf_csv_parse_field(out, "\"open"), "unterminated quote accepted");
    cr_assert_null(sf_csv_parse_field(out, "ab\"c"), "bare quote in an unquoted field accepted");
    cr_assert_null(sf_csv_parse_field(out, "\"ab\"c,"), "text after the closing quote accepted");
}
