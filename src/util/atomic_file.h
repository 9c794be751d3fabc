// atomic_file.h: replace a file atomically, so that a crash or a full disk never leaves a half-written
// checkpoint, config or CSV behind.
//
// The bytes go to "<path>.tmp.<pid>" in the same directory; commit flushes and fsyncs it, renames it
// over <path> and fsyncs the directory. On any failure the temporary file is removed, the previous
// file at <path> (if any) is left untouched, and the error names the path and strerror.
//
//     sf_atomic_file *af = sf_atomic_begin("run/config.json", err, sizeof err);
//     if (!af) return -1;
//     fprintf(sf_atomic_fp(af), "{\"lr\": %g}\n", lr);
//     if (sf_atomic_commit(af, err, sizeof err) != 0) return -1;  // af is freed either way
#ifndef SF_ATOMIC_FILE_H
#define SF_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct sf_atomic_file sf_atomic_file;

// Creates the temporary file; NULL with the reason in err (e.g. a missing or read-only directory).
sf_atomic_file *sf_atomic_begin(const char *path, char *err, size_t errlen);
// The stream to write to; write errors are sticky and reported by sf_atomic_commit.
FILE *sf_atomic_fp(sf_atomic_file *af);
// fwrite that remembers the first errno for sf_atomic_commit's message; returns 0 or -1.
int sf_atomic_write(sf_atomic_file *af, const void *data, size_t len);
// Returns 0 once <path> holds exactly what was written, or -1 with the reason in err. Frees af.
int sf_atomic_commit(sf_atomic_file *af, char *err, size_t errlen);
// Discards everything written and removes the temporary file. Frees af.
void sf_atomic_abort(sf_atomic_file *af);

// One-shot form: <path> := data[0..len).
int sf_atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen);

#endif
