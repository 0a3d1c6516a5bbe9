/* Shared pieces of the aihw command-line tool: the subcommand entry points, option parsing
 * helpers, thread control and error reporting.
 *
 * Conventions every subcommand follows: `run(argc, argv)` gets argv[0] = its own name and
 * returns the process exit status — 0 success, 1 a failure while running (message on
 * stderr), 2 a usage error (message plus the subcommand's usage on stderr). Options take
 * their value either as the next argument (`--seed 7`) or after '=' (`--seed=7`).
 */
#ifndef AIHW_TOOLS_CLI_H
#define AIHW_TOOLS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "aihw/common.h"

/* Exit statuses of the tool. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* One subcommand: name, one-line summary, entry point and usage printer. */
typedef struct cli_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
  void (*usage)(FILE *out);
} cli_command;

/* Subcommands (tools/<name>.c). */
int cli_demo_run(int argc, char **argv);
void cli_demo_usage(FILE *out);
/* The periphery comparison that opens the demo (demo_periphery.c); an exit status. */
int demo_periphery(uint32_t seed);
int cli_bench_run(int argc, char **argv);
void cli_bench_usage(FILE *out);
int cli_response_run(int argc, char **argv);
void cli_response_usage(FILE *out);
int cli_train_run(int argc, char **argv);
void cli_train_usage(FILE *out);
int cli_infer_run(int argc, char **argv);
void cli_infer_usage(FILE *out);

/* True if argv[*i] is the flag `name` (no value). */
int cli_is_flag(char **argv, int i, const char *name);

/* If argv[*i] is option `name` with a value ("--name V" or "--name=V"): stores the value
 * in *value, advances *i past a separate value argument and returns 1. Returns 0 if
 * argv[*i] is not this option; -1 (after printing an error) if the value is missing. */
int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value);

/* Parses a whole decimal integer in [min, max]; on failure prints "aihw <cmd>: option
 * <name>: ..." to stderr and returns -1, else stores it and returns 0. */
int cli_parse_long(const char *cmd, const char *name, const char *text, long min, long max,
                   long *out);

/* One option of a command's table: a flag (target int, set to 1), a string (target
 * const char *), a whole number in [min, max] (target long) or a 32-bit seed (target
 * uint32_t, 0 .. 2^32-1). */
typedef enum { CLI_OPT_FLAG, CLI_OPT_STRING, CLI_OPT_LONG, CLI_OPT_SEED } cli_option_kind;
typedef struct cli_option {
  const char *name;
  cli_option_kind kind;
  void *target;
  long min, max;
} cli_option;

/* Matches argv[*i] against the table: 1 when it is one of the options (value stored, *i
 * advanced past a separate value), 0 when it is none of them, -1 after printing an error
 * (missing or invalid value). */
int cli_match_option(const char *cmd, int argc, char **argv, int *i, const cli_option *opts,
                     int count);

/* Sets the number of threads of OpenMP loops and of OpenBLAS (n >= 1). Either part is
 * skipped when this build has no OpenMP or the BLAS is not OpenBLAS. */
void cli_set_threads(int n);

/* Number of threads the next parallel region will use (1 without OpenMP). */
int cli_max_threads(void);

/* Prints "aihw <cmd>: <what>: <status name>: <last error>" to stderr; returns
 * CLI_EXIT_FAILURE. */
int cli_report_failure(const char *cmd, const char *what, aihw_status status);

/* Prints "aihw <cmd>: unknown argument '<arg>'" and the usage to stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *arg, void (*usage)(FILE *out));

/* Fills out[0..n) with uniforms in [lo, hi) from a Philox stream keyed by (seed, stream)
 * (core/rng.h), so the tool's data are reproducible and independent of threads. Streams
 * use purpose 0, which tiles never use. */
void cli_fill_uniform(float *out, int64_t rows, int64_t cols, float lo, float hi, uint32_t seed,
                      uint32_t stream);

/* 1 if a --device / --rpu argument names a JSON file (contains '/' or ends in ".json")
 * rather than a preset. */
int cli_names_a_file(const char *arg);

/* Reads a whole text file of at most max_bytes (NUL-terminated; the caller frees it), or
 * returns NULL after printing "aihw <cmd>: cannot read <what> '<path>': <reason>" to
 * stderr. */
char *cli_read_text_file(const char *cmd, const char *what, const char *path, long max_bytes);

#endif
