// text.c: see text.h.
#include "util/text.h"

#include <string.h>

int sf_utf8_valid(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        int len;
        unsigned cp, min;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
        else return 0;  // a continuation byte where a lead byte belongs, or 0xF8..0xFF
        for (int i = 1; i < len; i++) {
            if ((s[i] & 0xC0) != 0x80) return 0;  // also stops at the terminating NUL
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        s += len;
    }
    return 1;
}

int sf_csv_field(FILE *f, const char *s) {
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) return fputs(s, f);
    if (fputc('"', f) == EOF) return EOF;
    for (const char *p = s; *p; p++) {
        if (*p == '"' && fputc('"', f) == EOF) return EOF;
        if (fputc(*p, f) == EOF) return EOF;
    }
    return fputc('"', f) == EOF ? EOF : 0;
}

const char *sf_csv_parse_field(char *out, const char *p) {
    if (*p != '"') {
        for (; *p && *p != ',' && *p != '\r' && *p != '\n'; p++) {
            if (*p == '"') return NULL;
            *out++ = *p;
        }
        *out = 0;
        return p;
    }
    for (p++;; p++) {
        if (!*p) return NULL;
        if (*p == '"') {
            if (p[1] != '"') break;
            p++;  // a doubled quote stands for one
        }
        *out++ = *p;
    }
    *out = 0;
    p++;  // past the closing quote, where only a separator or the end may follow
    return (*p && *p != ',' && *p != '\r' && *p != '\n') ? NULL : p;
}
