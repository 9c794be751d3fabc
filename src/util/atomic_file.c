// atomic_file.c: see atomic_file.h.
#include "util/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

struct sf_atomic_file {
    FILE *fp;
    int err_no;  // first errno seen while writing or flushing; 0 if none
    int n_writes;  // sf_atomic_write calls so far, for the test pause
    char *path;
    char *tmp;
};

static void set_err(char *err, size_t errlen, const char *path, const char *what, int e) {
    if (err && errlen) snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
}

sf_atomic_file *sf_atomic_begin(const char *path, char *err, size_t errlen) {
    size_t n = strlen(path);
    char *tmp = sf_malloc(n + 32);
    snprintf(tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        set_err(err, errlen, path, "cannot create temporary file", errno);
        free(tmp);
        return NULL;
    }
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        int e = errno;
        close(fd);
        unlink(tmp);
        set_err(err, errlen, path, "cannot open temporary file", e);
        free(tmp);
        return NULL;
    }
    sf_atomic_file *af = sf_calloc(1, sizeof *af);
    af->fp = fp;
    af->tmp = tmp;
    af->path = sf_malloc(n + 1);
    memcpy(af->path, path, n + 1);
    return af;
}

FILE *sf_atomic_fp(sf_atomic_file *af) { return af->fp; }

// SPRINGFIELD_TEST_WRITE_PAUSE_MS: the kill -9 test's way to land a kill inside a write, which on a
// fast disk lasts too short a time to aim at. Once per file, before the third write call (a
// checkpoint's header and first tensor are out), the bytes so far are flushed and the writer sleeps,
// so the temporary file sits half-written on disk. Read once; unset or 0 is off.
static long write_pause_ms(void) {
    static _Atomic long ms = -1;
    long v = ms;
    if (v < 0) {
        const char *e = getenv("SPRINGFIELD_TEST_WRITE_PAUSE_MS");
        v = e ? strtol(e, NULL, 10) : 0;
        v = v > 0 && v <= 10000 ? v : 0;
        ms = v;
    }
    return v;
}

int sf_atomic_write(sf_atomic_file *af, const void *data, size_t len) {
    long ms = ++af->n_writes == 3 ? write_pause_ms() : 0;
    if (ms > 0) {
        fflush(af->fp);
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    if (len == 0 || fwrite(data, 1, len, af->fp) == len) return 0;
    if (!af->err_no) af->err_no = errno ? errno : EIO;
    return -1;
}

static void free_af(sf_atomic_file *af) {
    free(af->path);
    free(af->tmp);
    free(af);
}

void sf_atomic_abort(sf_atomic_file *af) {
    if (!af) return;
    if (af->fp) fclose(af->fp);
    unlink(af->tmp);
    free_af(af);
}

// fsync of the directory makes the rename itself durable; some filesystems refuse fsync on a
// directory (EINVAL), which is not an error worth failing a finished write for.
static void sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    char *dir = sf_malloc(n + 2);
    if (!slash) strcpy(dir, ".");
    else if (n == 0) strcpy(dir, "/");
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0 && errno != EINVAL) sf_warn("%s: fsync of directory %s: %s", path, dir, strerror(errno));
        close(fd);
    }
    free(dir);
}

int sf_atomic_commit(sf_atomic_file *af, char *err, size_t errlen) {
    const char *what = NULL;
    int e = 0;
    if (ferror(af->fp) || af->err_no) {
        // errno of a failed fprintf is gone by now unless the one-shot path saved it; EIO stands in.
        what = "write failed";
        e = af->err_no ? af->err_no : EIO;
    } else if (fflush(af->fp) != 0) {
        what = "write failed";
        e = errno;
    } else if (fsync(fileno(af->fp)) != 0) {
        what = "fsync failed";
        e = errno;
    }
    int rc_close = fclose(af->fp);
    af->fp = NULL;
    if (!what && rc_close != 0) {
        what = "close failed";
        e = errno;
    }
    if (!what && rename(af->tmp, af->path) != 0) {
        what = "cannot rename temporary file into place";
        e = errno;
    }
    if (what) {
        set_err(err, errlen, af->path, what, e);
        unlink(af->tmp);
        free_af(af);
        return -1;
    }
    sync_dir(af->path);
    free_af(af);
    return 0;
}

int sf_atomic_write_file(const char *path, const void *data, size_t len, char *err, size_t errlen) {
    sf_atomic_file *af = sf_atomic_begin(path, err, errlen);
    if (!af) return -1;
    sf_atomic_write(af, data, len);
    return sf_atomic_commit(af, err, errlen);
}
