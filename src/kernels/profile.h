// profile.h: per-CPU tuning profiles: GEMM cache blocks and the perf-check baselines of one CPU model.
//
// File format (profiles/<name>.profile, plain text, at most 64 KiB):
//   # a comment (a line whose first non-blank character is '#'; also " # ..." after a value)
//   [cpu]                       what the profile was tuned on; a loaded file that names another CPU
//   vendor = GenuineIntel       model is skipped. Keys: vendor, family, model (integers), brand (text)
//   family = 6
//   model = 207
//   brand = Intel(R) Xeon(R) Processor
//   [gemm]                      sf_sgemm cache blocks (sgemm_tuning.h); each key optional
//   mc = 224                    integers in 1..65536
//   kc = 384
//   nc = 2048
//   [conv]                      direct convolution blocking (conv2d_tuning.h): <isa>.<class>.<knob>
//   avx512.kxk.ocb = 4          isa: scalar, avx2, avx512, neon; class: first, 1x1, kxk, strided;
//   avx512.kxk.across = 16      knob: ocb (output blocks per register group, 1..4), across (0..4096)
//   [baseline]                  perf-check yardsticks: case = ratio (a positive number), measured on this CPU
//   margin = 0.25               default allowed drop, as a fraction of the baseline (0 <= margin < 1)
//   sgemm_vs_openblas_512 = 0.83
//   sgemm_vs_openblas_512.margin = 0.3   per-case margin
// Keys are [A-Za-z0-9_.-]+; values run to the end of the line (or an inline " #"), blanks trimmed, and
// cannot start with '#'. Any
// other line (unknown section or key, a repeated key, a bad number, a key before any section, a line
// over 255 characters, a NUL byte) is an error naming its line number; nothing is applied then.
//
// Naming, from cpuid: <vendor>-<family>-<model>[-<brand>], all lower case, where vendor is intel, amd or
// the lower-cased vendor id, family and model are decimal (Intel "family 6 model 207"), and brand is the
// brand string without (R)/(TM), the vendor's own name, and anything from '@' on, runs of other
// characters turned into '-'. "Intel(R) Xeon(R) Processor", family 6, model 207 gives
// intel-6-207-xeon-processor. The loader tries, in order: $SPRINGFIELD_PROFILE (a path, a name in the
// profile directory, or "none"), <dir>/<vendor>-<family>-<model>-<brand>.profile, then
// <dir>/<vendor>-<family>-<model>.profile, where <dir> is $SPRINGFIELD_PROFILE_DIR, else ./profiles,
// else profiles/ next to the executable's build directory. With no file it falls back to the built-in
// profile: no baselines, and the GEMM's own cache-size-derived blocks (sgemm.c: the KC x NR sliver of B
// in half of L1, the MC x KC block of A in half of L2, the KC x NC panel in a quarter of L3).
#ifndef SF_PROFILE_H
#define SF_PROFILE_H

#include <stddef.h>
#include <stdio.h>

#include "kernels/conv2d_tuning.h"
#include "kernels/cpu.h"

#define SF_PROFILE_MAX_BASELINES 64
#define SF_PROFILE_DEFAULT_MARGIN 0.25

typedef struct {
    char key[48];
    double ratio;
    double margin;  // < 0: use the profile's margin
} sf_profile_baseline;

typedef struct {
    char name[96];    // file stem, or "builtin"
    char path[256];   // the file it came from ("" for the built-in profile)
    char vendor[16];  // [cpu]; "" / -1 when absent
    int family, model;
    char brand[128];
    int gemm_mc, gemm_kc, gemm_nc;  // [gemm]; 0: keep the GEMM's default
    // [conv] per [sf_isa][sf_conv_class]; -1: keep the kernel's default
    int conv_ocb[SF_CONV_N_ISAS][SF_CONV_N_CLASSES], conv_across[SF_CONV_N_ISAS][SF_CONV_N_CLASSES];
    double margin;                  // [baseline] margin
    int n_baselines;
    sf_profile_baseline baseline[SF_PROFILE_MAX_BASELINES];
} sf_profile;

// An empty profile (no CPU, no blocks, no baselines, default margin) named "builtin".
void sf_profile_init(sf_profile *out);
// Parses `len` bytes of profile text (need not be NUL-terminated). Returns 0, or -1 with
// "line N: what is wrong" in err; `out` is then the empty profile.
int sf_profile_parse(sf_profile *out, const char *text, size_t len, char *err, size_t errlen);
// Reads and parses a file; -1 with "path: line N: ..." or the I/O error in err.
int sf_profile_load_file(sf_profile *out, const char *path, char *err, size_t errlen);
// Writes the profile in the format above (what parse reads back).
void sf_profile_write(FILE *f, const sf_profile *p);

// The profile name for a CPU, with or without the brand part (see Naming above).
void sf_profile_name(char *out, size_t n, const sf_cpu_info *cpu, int with_brand);
// Whether the profile's [cpu] section (if any) matches this CPU's vendor, family and model.
int sf_profile_matches(const sf_profile *p, const sf_cpu_info *cpu);
// The directory the loader searches (see above).
void sf_profile_dir(char *out, size_t n);
// Finds and loads the profile for `cpu` from `dir` (NULL: sf_profile_dir()). Returns 1 when a file was
// loaded, 0 for the built-in profile; `note` (may be NULL) says which files were tried and why skipped.
int sf_profile_find(sf_profile *out, const sf_cpu_info *cpu, const char *dir, char *note, size_t notelen);

// The baseline of a case, or NULL; its margin resolved (per case, else the profile's).
const sf_profile_baseline *sf_profile_baseline_get(const sf_profile *p, const char *key, double *margin);
// Sets (adds or replaces) a baseline ratio; -1 when the table is full or the key is invalid.
int sf_profile_baseline_set(sf_profile *p, const char *key, double ratio);

// Applies the profile's GEMM blocks (sf_sgemm_set_blocking); unset ones keep their defaults, and
// SPRINGFIELD_GEMM_MC/KC/NC in the environment win over the profile.
void sf_profile_apply(const sf_profile *p);
// The profile of this CPU, found and applied once (thread-safe); what `info`, `tune` and the training
// commands use.
const sf_profile *sf_profile_active(void);

#endif
