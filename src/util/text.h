// text.h: names that leave the program as text: UTF-8 validity (JSON needs it) and CSV fields.
//
// Class names are folder names and image ids are file names: bytes chosen by whoever made the dataset.
// They reach checkpoint metadata and config.json (JSON, which must be UTF-8) and per_class.csv and the
// submission (CSV, where a comma, quote or newline would shift the columns).
#ifndef SF_UTIL_TEXT_H
#define SF_UTIL_TEXT_H

#include <stdio.h>

// 1 when s is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), else 0.
int sf_utf8_valid(const char *s);

// Writes s as one CSV field (RFC 4180): as is, or in double quotes with inner quotes doubled when it holds
// a comma, a quote, CR or LF, or starts or ends with a space. Returns what fputs returns.
int sf_csv_field(FILE *f, const char *s);

// The reader that matches sf_csv_field: parses the field that starts at p into out (room for strlen(p) + 1
// bytes) and returns where the field ends (at ',', CR, LF or the terminating 0). NULL when the field is
// malformed: an unterminated quote, a quote inside an unquoted field, or text after a closing quote.
const char *sf_csv_parse_field(char *out, const char *p);

#endif
