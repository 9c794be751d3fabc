// openblas_dl.c: see openblas_dl.h.
#include "bench/openblas_dl.h"
#include "util/util.h"

#include <dlfcn.h>
#include <pthread.h>

static sf_openblas_api g_api;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void *need(void *lib, const char *name, const char *file) {
    void *p = dlsym(lib, name);
    if (!p) sf_die("%s has no symbol %s: %s", file, name, dlerror());
    return p;
}

static void load(void) {
    const char *file = "libopenblas.so.0";  // Debian's libopenblas0 (pthread or openmp variant)
    void *lib = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!lib) sf_die("cannot load %s, the OpenBLAS yardstick (apt-get install libopenblas-dev): %s", file, dlerror());
    // POSIX's idiom for storing a dlsym result in a function pointer.
    *(void **)&g_api.sgemm = need(lib, "cblas_sgemm", file);
    *(void **)&g_api.get_corename = need(lib, "openblas_get_corename", file);
    *(void **)&g_api.get_config = need(lib, "openblas_get_config", file);
    *(void **)&g_api.set_num_threads = need(lib, "openblas_set_num_threads", file);
}

const sf_openblas_api *sf_openblas(void) {
    pthread_once(&g_once, load);
    return &g_api;
}
