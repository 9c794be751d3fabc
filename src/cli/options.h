// options.h: a small declarative option parser shared by every springfield command.
//
// A command declares a table of typed options with defaults (and allowed values or ranges); parsing
// accepts `--name value`, `--name=value`, `--flag` and `--no-flag`, never allocates, never exits and
// never prints, so the same code runs under a fuzzer. `--help` (or `-h`) asks for the usage text, which
// lists every option with its default. Any error names the option and what it allows.
#ifndef SF_CLI_OPTIONS_H
#define SF_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    SF_OPT_STR,     // any text (a path, a pattern)
    SF_OPT_INT,     // integer, optionally within [min, max]
    SF_OPT_FLOAT,   // finite number, optionally within [min, max]
    SF_OPT_FLAG,    // boolean: --name sets it, --no-name clears it
    SF_OPT_CHOICE,  // one of the '|'-separated words in `choices`
} sf_opt_type;

typedef struct {
    const char *name;     // without the dashes: "batch" is --batch
    sf_opt_type type;
    const char *def;      // default as text ("64", "1e-3", "on"/"off" for flags); NULL: unset, no default
    const char *choices;  // SF_OPT_CHOICE only: "adamw|sgd"
    double min, max;      // SF_OPT_INT / SF_OPT_FLOAT: checked when min < max
    const char *help;
} sf_opt_spec;

#define SF_OPTS_MAX 64

// The parsed values point into argv or into the spec's defaults; nothing is copied.
typedef struct {
    const sf_opt_spec *spec;
    int n;
    const char *value[SF_OPTS_MAX];  // NULL: unset and no default
    int given[SF_OPTS_MAX];          // 1 when the command line named it
} sf_opts;

enum { SF_OPTS_OK = 0, SF_OPTS_HELP = 1, SF_OPTS_ERROR = 2 };

// argv[0] is the command name and is skipped. Returns SF_OPTS_OK, SF_OPTS_HELP (caller prints usage,
// exits 0) or SF_OPTS_ERROR with the message in err (caller prints it, exits 2).
int sf_opts_parse(sf_opts *o, const sf_opt_spec *spec, int n, int argc, char *const *argv, char *err,
                  size_t errlen);

// One line per option: name, type or allowed values, default, help.
void sf_opts_usage(FILE *f, const char *usage_line, const sf_opt_spec *spec, int n);

// Parse, and on --help print usage to stdout; on error print the message and a hint to stderr.
// Returns -1 to continue, otherwise the exit status the command should return (0 or 2).
int sf_opts_cli(sf_opts *o, const sf_opt_spec *spec, int n, int argc, char *const *argv, const char *usage_line);

// Typed access by name; asking for a name that is not in the table, or with the wrong type, is a
// programming error and dies.
const char *sf_opt_str(const sf_opts *o, const char *name);  // NULL when unset
long sf_opt_int(const sf_opts *o, const char *name);
double sf_opt_float(const sf_opts *o, const char *name);
int sf_opt_flag(const sf_opts *o, const char *name);
int sf_opt_given(const sf_opts *o, const char *name);
// 1 when the option has a value (given, or a default exists), of any type.
int sf_opt_set(const sf_opts *o, const char *name);

#endif
