/* What every `aihw bench <op>` case shares: the common options (--json, --quick,
 * --repeats, --threads), a monotonic timer, interleaved timing of an operation and its
 * floor with medians over repeats, and the one-JSON-object-per-line printer.
 *
 * Method (DESIGN.md §6): each case times the operation and its floor (e.g. a bare sgemm of
 * the same shape) in the same run, interleaved round by round so that frequency changes
 * and other load hit both alike; after untimed warm-up rounds, the number of rounds is
 * chosen so that the timed work of a case lasts at least `min_time_s` (and at least
 * `min_repeats` rounds); each reported time is the median over the rounds.
 */
#ifndef AIHW_BENCH_UTIL_H
#define AIHW_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Options common to every benchmark. */
typedef struct bench_options {
  int json;          /* --json: one JSON object per case and line, nothing else on stdout */
  int quick;         /* --quick: a few small cases (seconds), for demos and smoke tests */
  long repeats;      /* --repeats N: timed rounds per case; 0 = automatic */
  long threads;      /* --threads N: OpenMP + OpenBLAS threads; 0 = their default */
  uint32_t seed;     /* --seed N: seed of the data and of the tiles */
  double min_time_s; /* automatic repeats: timed work per case at least this long */
  long min_repeats;  /* automatic repeats: at least this many rounds */
  long warmup;       /* untimed rounds before timing */
} bench_options;

/* Defaults: table output, full case list, automatic repeats (>= 0.2 s, >= 5 rounds),
 * 2 warm-up rounds, default threads, seed 1. */
bench_options bench_options_default(void);

/* A benchmark's own options: called for each argument the common parser does not know,
 * with *i at that argument. Returns 1 if it consumed it (advancing *i past any value it
 * took), 0 if it is unknown, -1 on a bad value (after printing why). */
typedef int (*bench_extra_option)(void *ctx, int argc, char **argv, int *i);

/* Parses argv[1..argc) of `aihw bench <op> ...` (argv[0] = op name) into *opts, which
 * holds the defaults on entry; `extra` (may be NULL) handles the op's own options. Applies
 * --threads. Returns 0 to go on, 1 when --help was printed to stdout (exit 0), 2 after a
 * usage error printed to stderr (exit 2). */
int bench_parse_options(int argc, char **argv, bench_options *opts, bench_extra_option extra,
                        void *ctx, void (*usage)(FILE *out));

/* Seconds on CLOCK_MONOTONIC. */
double bench_now_s(void);

/* Median of v[0..n) (n >= 1); reorders v. */
double bench_median(double *v, size_t n);

/* One timed operation: runs it once, returns 0 on success (nonzero stops the timing). */
typedef struct bench_call {
  int (*fn)(void *ctx);
  void *ctx;
} bench_call;

/* Times `count` calls interleaved (round r runs calls[0], calls[1], ... once each) after
 * opts->warmup untimed rounds: opts->repeats rounds if set, else rounds until the timed
 * work of all calls reaches opts->min_time_s and opts->min_repeats rounds (at most
 * 200000). Writes the median seconds per call to median_s[k] and the rounds used to
 * *rounds (may be NULL). Returns 0, the first nonzero result of a call, or -1 when out
 * of memory (message printed). */
int bench_time_interleaved(const bench_options *opts, const bench_call *calls, size_t count,
                           double *median_s, long *rounds);

/* A 64-byte-aligned float buffer of n elements, or NULL after printing an error. Release
 * with free(). */
float *bench_alloc_floats(size_t n);

/* Prints one line "# aihw X.Y.Z, N threads, BLAS: <config>" describing the run. */
void bench_print_environment(FILE *out);

/* One JSON object on one line: begin, fields in order, end ("}\n", flushed). Keys and
 * string values must not need escaping (plain identifiers). Non-finite numbers are
 * written as null, the only JSON form they have. Output: {"k": v, "k2": v2}. */
typedef struct bench_json {
  FILE *out;
  int fields;
} bench_json;

void bench_json_begin(bench_json *j, FILE *out);
void bench_json_string(bench_json *j, const char *key, const char *value);
void bench_json_int(bench_json *j, const char *key, long long value);
/* `digits` significant digits (printf %.*g). */
void bench_json_number(bench_json *j, const char *key, double value, int digits);
void bench_json_end(bench_json *j);

#endif
