// safetensors.h: read and write the safetensors format (8-byte little-endian header length, a JSON
// header parsed with jansson, then raw little-endian tensor data), as used by the PyTorch ecosystem.
//
// Writing is atomic (temporary file, fsync, rename, fsync of the directory) and stores a CRC-32 of the
// data section in the metadata ("sf_crc32"); reading validates the whole header (size limit, dtypes,
// shapes against byte lengths, offsets in range and not overlapping) and the checksum when present, and
// reports the first problem with the path in `err` instead of crashing.
#ifndef SF_SAFETENSORS_H
#define SF_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { SF_DT_F32, SF_DT_I64, SF_DT_F64, SF_DT_I32, SF_DT_U8 } sf_dtype;

typedef struct {
    const char *name;
    sf_dtype dtype;
    int ndim;
    int64_t shape[8];
    const void *data;  // little-endian, count(shape) * dtype size bytes
} sf_st_tensor;

// ---- writing: collect tensors (data is referenced, not copied, until sf_st_write) and metadata.
typedef struct sf_st_writer sf_st_writer;
sf_st_writer *sf_st_writer_new(void);
void sf_st_writer_add(sf_st_writer *w, const char *name, sf_dtype dt, int ndim, const int64_t *shape, const void *data);
void sf_st_writer_meta(sf_st_writer *w, const char *key, const char *value);
// Returns 0, or -1 with a message naming the path and cause (e.g. "No space left on device") in err;
// on failure the previous file at `path`, if any, is untouched.
int sf_st_write(sf_st_writer *w, const char *path, char *err, size_t errlen);
void sf_st_writer_free(sf_st_writer *w);

// ---- reading
typedef struct sf_st_file sf_st_file;
// Returns NULL with the reason in err for a missing, truncated, malformed or corrupted file.
sf_st_file *sf_st_open(const char *path, char *err, size_t errlen);
sf_st_file *sf_st_open_memory(const void *bytes, size_t len, char *err, size_t errlen);  // for fuzzing
void sf_st_close(sf_st_file *f);
int sf_st_count(const sf_st_file *f);
const sf_st_tensor *sf_st_get_index(const sf_st_file *f, int i);
const sf_st_tensor *sf_st_get(const sf_st_file *f, const char *name);  // NULL when absent
const char *sf_st_meta(const sf_st_file *f, const char *key);          // NULL when absent

size_t sf_dtype_size(sf_dtype dt);
const char *sf_dtype_name(sf_dtype dt);  // "F32", "I64", ...

#endif
