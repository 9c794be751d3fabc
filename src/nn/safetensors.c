// safetensors.c: see safetensors.h. The header is JSON handled by jansson; the data section is checked
// to be exactly covered by the tensors (no gaps, no overlaps) so that a damaged file is caught at load
// time rather than as garbage weights later.
#include "nn/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/atomic_file.h"
#include "util/util.h"

// The reference implementation's limit; anything bigger is a damaged length field, not a header.
#define SF_ST_MAX_HEADER 100000000ull
#define SF_ST_CRC_KEY "sf_crc32"

size_t sf_dtype_size(sf_dtype dt) {
    switch (dt) {
    case SF_DT_F32: return 4;
    case SF_DT_I64: return 8;
    case SF_DT_F64: return 8;
    case SF_DT_I32: return 4;
    case SF_DT_U8: return 1;
    }
    return 0;
}

const char *sf_dtype_name(sf_dtype dt) {
    switch (dt) {
    case SF_DT_F32: return "F32";
    case SF_DT_I64: return "I64";
    case SF_DT_F64: return "F64";
    case SF_DT_I32: return "I32";
    case SF_DT_U8: return "U8";
    }
    return "?";
}

// 1: supported (dt set), 0: a safetensors dtype springfield does not read, -1: not a dtype at all.
static int dtype_parse(const char *s, sf_dtype *dt) {
    static const sf_dtype all[] = {SF_DT_F32, SF_DT_I64, SF_DT_F64, SF_DT_I32, SF_DT_U8};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, sf_dtype_name(all[i])) == 0) {
            *dt = all[i];
            return 1;
        }
    static const char *other[] = {"BOOL", "I8", "I16", "U16", "U32", "U64", "F16", "BF16",
                                  "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (strcmp(s, other[i]) == 0) return 0;
    return -1;
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

// zlib's crc32 takes a 32-bit length; feed it in chunks.
static uint32_t crc_update(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = data;
    uLong c = crc;
    while (len > 0) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, n);
        p += n;
        len -= n;
    }
    return (uint32_t)c;
}

static void errf(char *err, size_t errlen, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void errf(char *err, size_t errlen, const char *label, const char *fmt, ...) {
    if (!err || !errlen) return;
    int n = snprintf(err, errlen, "%s: ", label);
    if (n < 0 || (size_t)n >= errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

// ---------------------------------------------------------------------------------------------------
// Writing

typedef struct {
    char *name;
    sf_dtype dtype;
    int ndim;
    int64_t shape[8];
    const void *data;
    size_t nbytes;
} wtensor;

struct sf_st_writer {
    wtensor *t;
    int n, cap;
    char **mkey, **mval;
    int nmeta, mcap;
};

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = sf_malloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

sf_st_writer *sf_st_writer_new(void) { return sf_calloc(1, sizeof(sf_st_writer)); }

void sf_st_writer_add(sf_st_writer *w, const char *name, sf_dtype dt, int ndim, const int64_t *shape, const void *data) {
    if (ndim < 0 || ndim > 8) sf_die("safetensors: tensor '%s' has %d dimensions (0..8 allowed)", name, ndim);
    if (sf_dtype_size(dt) == 0) sf_die("safetensors: tensor '%s' has an invalid dtype %d", name, (int)dt);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) sf_die("safetensors: tensor '%s' has negative extent %" PRId64, name, shape[i]);
        if (shape[i] > 0 && count > SIZE_MAX / 16 / (size_t)shape[i]) sf_die("safetensors: tensor '%s' is too large", name);
        count *= (size_t)shape[i];
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? 2 * w->cap : 16;
        wtensor *t = sf_malloc((size_t)w->cap * sizeof *t);
        if (w->n) memcpy(t, w->t, (size_t)w->n * sizeof *t);
        free(w->t);
        w->t = t;
    }
    wtensor *t = &w->t[w->n++];
    memset(t, 0, sizeof *t);
    t->name = dup_str(name);
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    t->nbytes = count * sf_dtype_size(dt);
}

void sf_st_writer_meta(sf_st_writer *w, const char *key, const char *value) {
    for (int i = 0; i < w->nmeta; i++)
        if (strcmp(w->mkey[i], key) == 0) {
            free(w->mval[i]);
            w->mval[i] = dup_str(value);
            return;
        }
    if (w->nmeta == w->mcap) {
        w->mcap = w->mcap ? 2 * w->mcap : 8;
        char **k = sf_malloc((size_t)w->mcap * sizeof *k), **v = sf_malloc((size_t)w->mcap * sizeof *v);
        if (w->nmeta) {
            memcpy(k, w->mkey, (size_t)w->nmeta * sizeof *k);
            memcpy(v, w->mval, (size_t)w->nmeta * sizeof *v);
        }
        free(w->mkey);
        free(w->mval);
        w->mkey = k;
        w->mval = v;
    }
    w->mkey[w->nmeta] = dup_str(key);
    w->mval[w->nmeta] = dup_str(value);
    w->nmeta++;
}

void sf_st_writer_free(sf_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    for (int i = 0; i < w->nmeta; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
}

// Widest dtype first keeps every tensor naturally aligned in the data section without padding
// (the layout the Python safetensors package uses too); names break ties for a deterministic file.
static int wtensor_cmp(const void *a, const void *b) {
    const wtensor *x = a, *y = b;
    size_t sx = sf_dtype_size(x->dtype), sy = sf_dtype_size(y->dtype);
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

// Builds the padded header (length prefix included) for the current tensor order; NULL + err on failure.
static char *build_header(const sf_st_writer *w, uint32_t crc, const char *path, size_t *out_len, char *err, size_t errlen) {
    json_t *root = json_object();
    json_t *meta = json_object();
    int bad = 0;
    for (int i = 0; i < w->nmeta && !bad; i++) {
        if (strcmp(w->mkey[i], SF_ST_CRC_KEY) == 0) continue;
        if (json_object_set_new(meta, w->mkey[i], json_string(w->mval[i])) != 0) {
            errf(err, errlen, path, "metadata '%s' is not valid UTF-8", w->mkey[i]);
            bad = 1;
        }
    }
    char crcs[16];
    snprintf(crcs, sizeof crcs, "%08" PRIx32, crc);
    json_object_set_new(meta, SF_ST_CRC_KEY, json_string(crcs));
    json_object_set_new(root, "__metadata__", meta);
    uint64_t off = 0;
    for (int i = 0; i < w->n && !bad; i++) {
        const wtensor *t = &w->t[i];
        json_t *shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_t *offs = json_array();
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + t->nbytes)));
        off += t->nbytes;
        json_t *e = json_object();
        json_object_set_new(e, "dtype", json_string(sf_dtype_name(t->dtype)));
        json_object_set_new(e, "shape", shape);
        json_object_set_new(e, "data_offsets", offs);
        if (json_object_set_new(root, t->name, e) != 0) {
            errf(err, errlen, path, "tensor name '%s' is not valid UTF-8", t->name);
            bad = 1;
        }
    }
    char *js = bad ? NULL : json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!js) {
        if (!bad) errf(err, errlen, path, "cannot serialise the header");
        return NULL;
    }
    size_t n = strlen(js);
    size_t padded = (n + 7) & ~(size_t)7;  // keeps the data section 8-byte aligned in the file
    char *hdr = sf_malloc(8 + padded);
    put_le64((uint8_t *)hdr, padded);
    memcpy(hdr + 8, js, n);
    memset(hdr + 8 + n, ' ', padded - n);
    free(js);
    *out_len = 8 + padded;
    return hdr;
}

int sf_st_write(sf_st_writer *w, const char *path, char *err, size_t errlen) {
    qsort(w->t, (size_t)w->n, sizeof *w->t, wtensor_cmp);
    for (int i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        if (strcmp(t->name, "__metadata__") == 0) {
            errf(err, errlen, path, "'__metadata__' is reserved and cannot name a tensor");
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(w->t[j].name, t->name) == 0) {
                errf(err, errlen, path, "duplicate tensor name '%s'", t->name);
                return -1;
            }
        if (t->nbytes && !t->data) {
            errf(err, errlen, path, "tensor '%s' has no data", t->name);
            return -1;
        }
    }
    uint32_t crc = crc_update(0, NULL, 0);
    for (int i = 0; i < w->n; i++) crc = crc_update(crc, w->t[i].data, w->t[i].nbytes);
    size_t hlen;
    char *hdr = build_header(w, crc, path, &hlen, err, errlen);
    if (!hdr) return -1;
    sf_atomic_file *af = sf_atomic_begin(path, err, errlen);
    if (!af) {
        free(hdr);
        return -1;
    }
    int rc = sf_atomic_write(af, hdr, hlen);
    for (int i = 0; i < w->n && rc == 0; i++) rc = sf_atomic_write(af, w->t[i].data, w->t[i].nbytes);
    free(hdr);
    return sf_atomic_commit(af, err, errlen);
}

// ---------------------------------------------------------------------------------------------------
// Reading

struct sf_st_file {
    json_t *root;  // owns the name and metadata strings the tensors point to
    uint8_t *buf;  // the whole file, 64-byte aligned
    sf_st_tensor *t;
    void **realigned;  // per tensor: an aligned copy when the file placed it off its natural alignment
    int n;
    const char **mkey, **mval;
    int nmeta;
};

void sf_st_close(sf_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) free(f->realigned[i]);
    free(f->realigned);
    free(f->t);
    free(f->mkey);
    free(f->mval);
    free(f->buf);
    json_decref(f->root);
    free(f);
}

typedef struct {
    uint64_t begin, end;
    int idx;
} span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->idx - y->idx;
}

static int parse_metadata(sf_st_file *f, json_t *meta, const char *label, char *err, size_t errlen) {
    if (!json_is_object(meta)) {
        errf(err, errlen, label, "__metadata__ is not a JSON object");
        return -1;
    }
    size_t n = json_object_size(meta);
    f->mkey = sf_calloc(n, sizeof *f->mkey);
    f->mval = sf_calloc(n, sizeof *f->mval);
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        if (!json_is_string(v)) {
            errf(err, errlen, label, "metadata value for '%s' is not a string", k);
            return -1;
        }
        f->mkey[f->nmeta] = k;
        f->mval[f->nmeta] = json_string_value(v);
        f->nmeta++;
    }
    return 0;
}

// Fills one tensor from its header entry; its data pointer is set later, once the layout is checked.
static int parse_entry(sf_st_tensor *t, span *s, const char *name, json_t *e, uint64_t data_len, const char *label,
                       char *err, size_t errlen) {
    t->name = name;
    if (!json_is_object(e)) {
        errf(err, errlen, label, "tensor '%s': header entry is not a JSON object", name);
        return -1;
    }
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"), *jo = json_object_get(e, "data_offsets");
    if (!json_is_string(jd)) {
        errf(err, errlen, label, "tensor '%s': missing or non-string dtype", name);
        return -1;
    }
    int kind = dtype_parse(json_string_value(jd), &t->dtype);
    if (kind == 0) {
        errf(err, errlen, label, "tensor '%s': unsupported dtype %s (springfield reads F32, F64, I64, I32, U8)", name,
             json_string_value(jd));
        return -1;
    }
    if (kind < 0) {
        errf(err, errlen, label, "tensor '%s': unknown dtype '%s'", name, json_string_value(jd));
        return -1;
    }
    if (!json_is_array(js)) {
        errf(err, errlen, label, "tensor '%s': missing or non-array shape", name);
        return -1;
    }
    if (json_array_size(js) > 8) {
        errf(err, errlen, label, "tensor '%s': %zu dimensions, at most 8 supported", name, json_array_size(js));
        return -1;
    }
    t->ndim = (int)json_array_size(js);
    uint64_t count = 1;
    int overflow = 0;
    for (int d = 0; d < t->ndim; d++) {
        json_t *x = json_array_get(js, (size_t)d);
        if (!json_is_integer(x) || json_integer_value(x) < 0) {
            errf(err, errlen, label, "tensor '%s': shape must hold non-negative integers", name);
            return -1;
        }
        t->shape[d] = json_integer_value(x);
        uint64_t ext = (uint64_t)t->shape[d];
        if (ext && count > UINT64_MAX / 8 / ext) overflow = 1;
        else count *= ext;
    }
    if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) ||
        !json_is_integer(json_array_get(jo, 1)) || json_integer_value(json_array_get(jo, 0)) < 0 ||
        json_integer_value(json_array_get(jo, 1)) < 0) {
        errf(err, errlen, label, "tensor '%s': data_offsets must be [begin, end] with non-negative integers", name);
        return -1;
    }
    s->begin = (uint64_t)json_integer_value(json_array_get(jo, 0));
    s->end = (uint64_t)json_integer_value(json_array_get(jo, 1));
    if (s->begin > s->end) {
        errf(err, errlen, label, "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] are reversed", name, s->begin, s->end);
        return -1;
    }
    if (s->end > data_len) {
        errf(err, errlen, label, "tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] run past the end of the data section (%" PRIu64 " bytes; file truncated?)",
             name, s->begin, s->end, data_len);
        return -1;
    }
    uint64_t need = count * sf_dtype_size(t->dtype);
    if (overflow) {
        errf(err, errlen, label, "tensor '%s': shape does not match data_offsets (its size overflows 64 bits, %" PRIu64 " bytes given)",
             name, s->end - s->begin);
        return -1;
    }
    if (need != s->end - s->begin) {
        errf(err, errlen, label, "tensor '%s': shape does not match data_offsets (%" PRIu64 " bytes of %s needed, %" PRIu64 " given)",
             name, need, sf_dtype_name(t->dtype), s->end - s->begin);
        return -1;
    }
    return 0;
}

// Every byte of the data section must belong to exactly one tensor.
static int check_layout(const sf_st_file *f, span *s, uint64_t data_len, const char *label, char *err, size_t errlen) {
    qsort(s, (size_t)f->n, sizeof *s, span_cmp);
    uint64_t expect = 0;
    for (int i = 0; i < f->n; i++) {
        if (s[i].begin < expect) {
            errf(err, errlen, label, "tensor '%s' overlaps tensor '%s' in the data section", f->t[s[i].idx].name,
                 f->t[s[i - 1].idx].name);
            return -1;
        }
        if (s[i].begin > expect) {
            errf(err, errlen, label, "data is not contiguous: %" PRIu64 " unused bytes before tensor '%s'",
                 s[i].begin - expect, f->t[s[i].idx].name);
            return -1;
        }
        expect = s[i].end;
    }
    if (expect != data_len) {
        errf(err, errlen, label, "data is not contiguous: %" PRIu64 " unused bytes at the end of the data section",
             data_len - expect);
        return -1;
    }
    return 0;
}

// Exactly 8 hex digits, as the writer stores them; strtoul would also take signs, spaces and "0x".
static int parse_hex32(const char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return -1;  // also stops at the terminator of a short string
        v = v << 4 | (uint32_t)d;
    }
    if (s[8] != '\0') return -1;
    *out = v;
    return 0;
}

static int check_crc(const sf_st_file *f, const uint8_t *data, uint64_t data_len, const char *label, char *err, size_t errlen) {
    const char *stored = sf_st_meta(f, SF_ST_CRC_KEY);
    if (!stored) return 0;
    uint32_t v;
    if (parse_hex32(stored, &v) != 0) {
        errf(err, errlen, label, "invalid %s value '%s' (8 hex digits expected)", SF_ST_CRC_KEY, stored);
        return -1;
    }
    uint32_t crc = crc_update(crc_update(0, NULL, 0), data, (size_t)data_len);
    if (v != crc) {
        errf(err, errlen, label, "checksum mismatch: file is corrupted (stored %08" PRIx32 ", computed %08" PRIx32 ")", v, crc);
        return -1;
    }
    return 0;
}

// The first check of any file, made before the rest of it is read.
static int check_header_length(uint64_t hlen, size_t len, const char *label, char *err, size_t errlen) {
    if (hlen > SF_ST_MAX_HEADER) {
        errf(err, errlen, label, "header length %" PRIu64 " exceeds the 100 MB limit (not a safetensors file?)", hlen);
        return -1;
    }
    if (hlen > len - 8) {
        errf(err, errlen, label, "header length %" PRIu64 " runs past the end of the file (%zu bytes; truncated, or not a safetensors file?)",
             hlen, len);
        return -1;
    }
    return 0;
}

// Takes ownership of buf (64-byte aligned, len bytes) whatever happens.
static sf_st_file *parse(uint8_t *buf, size_t len, const char *label, char *err, size_t errlen) {
    sf_st_file *f = sf_calloc(1, sizeof *f);
    f->buf = buf;
    if (len < 8) {
        errf(err, errlen, label, "file is too short (%zu bytes) to hold the 8-byte header length", len);
        goto fail;
    }
    uint64_t hlen = get_le64(buf);
    if (check_header_length(hlen, len, label, err, errlen) != 0) goto fail;
    json_error_t jerr;
    f->root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!f->root) {
        if (json_error_code(&jerr) == json_error_duplicate_key)
            errf(err, errlen, label, "duplicate name in the JSON header (%s)", jerr.text);
        else
            errf(err, errlen, label, "invalid JSON header: %s (at byte %d of the header)", jerr.text, jerr.position);
        goto fail;
    }
    if (!json_is_object(f->root)) {
        errf(err, errlen, label, "the JSON header is not an object");
        goto fail;
    }
    const uint8_t *data = buf + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    size_t nent = json_object_size(f->root);
    f->t = sf_calloc(nent, sizeof *f->t);
    f->realigned = sf_calloc(nent, sizeof *f->realigned);
    span *s = sf_calloc(nent, sizeof *s);
    const char *key;
    json_t *val;
    int rc = 0;
    json_object_foreach(f->root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            rc = parse_metadata(f, val, label, err, errlen);
        } else {
            s[f->n].idx = f->n;
            rc = parse_entry(&f->t[f->n], &s[f->n], key, val, data_len, label, err, errlen);
            f->n++;
        }
        if (rc) break;
    }
    if (rc == 0) {
        // Offsets by tensor index, before check_layout sorts the spans.
        for (int i = 0; i < f->n; i++) f->t[i].data = data + s[i].begin;
        rc = check_layout(f, s, data_len, label, err, errlen);
    }
    free(s);
    if (rc || check_crc(f, data, data_len, label, err, errlen)) goto fail;
    for (int i = 0; i < f->n; i++) {
        size_t es = sf_dtype_size(f->t[i].dtype);
        size_t nb = 1;
        for (int d = 0; d < f->t[i].ndim; d++) nb *= (size_t)f->t[i].shape[d];
        nb *= es;
        if (((uintptr_t)f->t[i].data % es) != 0) {
            f->realigned[i] = sf_aligned_alloc(nb);
            memcpy(f->realigned[i], f->t[i].data, nb);
            f->t[i].data = f->realigned[i];
        }
    }
    return f;
fail:
    sf_st_close(f);
    return NULL;
}

sf_st_file *sf_st_open_memory(const void *bytes, size_t len, char *err, size_t errlen) {
    uint8_t *buf = sf_aligned_alloc(len);
    if (len) memcpy(buf, bytes, len);
    return parse(buf, len, "<memory>", err, errlen);
}

sf_st_file *sf_st_open(const char *path, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errf(err, errlen, path, "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errf(err, errlen, path, "not a regular file");
        close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    // A multi-gigabyte file that is not safetensors at all is turned away on its first 8 bytes.
    uint8_t head[8];
    if (len >= 8 && pread(fd, head, 8, 0) == 8 && check_header_length(get_le64(head), len, path, err, errlen) != 0) {
        close(fd);
        return NULL;
    }
    uint8_t *buf = sf_aligned_alloc(len);
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            errf(err, errlen, path, "read failed after %zu of %zu bytes: %s", got, len, r < 0 ? strerror(errno) : "file shrank");
            close(fd);
            free(buf);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    return parse(buf, len, path, err, errlen);
}

int sf_st_count(const sf_st_file *f) { return f->n; }

const sf_st_tensor *sf_st_get_index(const sf_st_file *f, int i) { return (i >= 0 && i < f->n) ? &f->t[i] : NULL; }

const sf_st_tensor *sf_st_get(const sf_st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

const char *sf_st_meta(const sf_st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->mkey[i], key) == 0) return f->mval[i];
    return NULL;
}
