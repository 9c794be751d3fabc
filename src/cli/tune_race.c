// tune_race.c: see tune_race.h.
#include "cli/tune_race.h"
#include "springfield.h"

#include <time.h>

static int g_cpu_clock;

void sf_tune_clock_init(int threads) { g_cpu_clock = threads == 1; }

double sf_tune_clock(void) {
    if (!g_cpu_clock) return sf_now();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double sf_tune_race(void *ctx, sf_tune_run_fn run, const void *incumbent, const void *cand, int reps) {
    double ti = 1e30, tc = 1e30;
    run(ctx, cand);
    for (int i = 0; i < reps; i++) {
        double a, b;
        if (i & 1) b = run(ctx, cand), a = run(ctx, incumbent);
        else a = run(ctx, incumbent), b = run(ctx, cand);
        ti = a < ti ? a : ti;
        tc = b < tc ? b : tc;
    }
    return ti / tc;
}
