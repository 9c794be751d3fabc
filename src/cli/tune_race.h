// tune_race.h: how `springfield tune` compares two parameter sets on a shared, noisy machine.
#ifndef SF_TUNE_RACE_H
#define SF_TUNE_RACE_H

// Runs the timed operation once with the parameters `cand`; returns its seconds (sf_tune_clock).
typedef double (*sf_tune_run_fn)(void *ctx, const void *cand);

// On one thread the thread's CPU time, which the time slicing of a crowded host does not inflate; with
// more threads, wall time. sf_tune_clock_init picks which from the thread count.
void sf_tune_clock_init(int threads);
double sf_tune_clock(void);

// min t(incumbent) / min t(candidate) over `reps` alternating runs of each (ABAB..., after one warm-up run
// of the candidate): > 1 when the candidate is faster. The fastest run is the one the machine's other load
// disturbed least, so the minimum estimates the undisturbed speed far better than a median does.
double sf_tune_race(void *ctx, sf_tune_run_fn run, const void *incumbent, const void *cand, int reps);

#endif
