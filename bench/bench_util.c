/* Shared benchmark machinery (bench_util.h): option parsing, timer, interleaved median
 * timing, aligned buffers and the JSON line printer. */
#define _POSIX_C_SOURCE 200809L

#include "bench_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aihw/common.h"
#include "cli.h"

/* OpenBLAS introspection; weak so that another CBLAS links too (then not printed). */
extern char *openblas_get_config(void) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

/* Upper bound of automatic rounds: a case with a microsecond-scale call stops here. */
#define BENCH_MAX_AUTO_ROUNDS 200000L

bench_options bench_options_default(void) {
  bench_options o;
  memset(&o, 0, sizeof o);
  o.seed = 1;
  o.min_time_s = 0.2;
  o.min_repeats = 5;
  o.warmup = 2;
  return o;
}

int bench_parse_options(int argc, char **argv, bench_options *opts, bench_extra_option extra,
                        void *ctx, void (*usage)(FILE *out)) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "bench %s", argv[0]);
  for (int i = 1; i < argc; ++i) {
    const char *value = NULL;
    long v = 0;
    int found;
    if (cli_is_flag(argv, i, "--help") || cli_is_flag(argv, i, "-h")) {
      usage(stdout);
      return 1;
    }
    if (cli_is_flag(argv, i, "--json")) {
      opts->json = 1;
      continue;
    }
    if (cli_is_flag(argv, i, "--quick")) {
      opts->quick = 1;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--repeats", &value)) != 0) {
      if (found < 0 || cli_parse_long(cmd, "--repeats", value, 1, 100000000L, &v) != 0)
        return 2;
      opts->repeats = v;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--threads", &value)) != 0) {
      if (found < 0 || cli_parse_long(cmd, "--threads", value, 1, 4096, &v) != 0)
        return 2;
      opts->threads = v;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--seed", &value)) != 0) {
      if (found < 0 || cli_parse_long(cmd, "--seed", value, 0, 4294967295L, &v) != 0)
        return 2;
      opts->seed = (uint32_t)v;
      continue;
    }
    if (extra != NULL) {
      int taken = extra(ctx, argc, argv, &i);
      if (taken < 0)
        return 2;
      if (taken > 0)
        continue;
    }
    cli_usage_error(cmd, argv[i], usage);
    return 2;
  }
  if (opts->threads > 0)
    cli_set_threads((int)opts->threads);
  return 0;
}

double bench_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, compare_double);
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bench_time_interleaved(const bench_options *opts, const bench_call *calls, size_t count,
                           double *median_s, long *rounds) {
  long warmup = opts->warmup > 0 ? opts->warmup : 1;
  for (long r = 0; r < warmup; ++r) {
    for (size_t k = 0; k < count; ++k) {
      int rc = calls[k].fn(calls[k].ctx);
      if (rc != 0)
        return rc;
    }
  }
  /* Fixed count (--repeats), or rounds until the timed work reaches min_time_s and
   * min_repeats; samples[r * count + k] is call k of round r. */
  const int fixed = opts->repeats > 0;
  size_t capacity = fixed ? (size_t)opts->repeats : 64;
  double *samples = malloc(sizeof *samples * capacity * count);
  int oom = samples == NULL, rc = oom ? -1 : 0;
  long n = 0;
  double timed_s = 0.0;
  while (rc == 0) {
    if (fixed ? n >= opts->repeats
              : (n >= opts->min_repeats && timed_s >= opts->min_time_s) ||
                    n >= BENCH_MAX_AUTO_ROUNDS)
      break;
    if ((size_t)n == capacity) {
      double *grown = realloc(samples, sizeof *samples * 2 * capacity * count);
      if (grown == NULL) {
        oom = 1;
        rc = -1;
        break;
      }
      samples = grown;
      capacity *= 2;
    }
    for (size_t k = 0; k < count && rc == 0; ++k) {
      double t0 = bench_now_s();
      rc = calls[k].fn(calls[k].ctx);
      double dt = bench_now_s() - t0;
      samples[(size_t)n * count + k] = dt;
      timed_s += dt;
    }
    n += 1;
  }
  if (rc == 0) {
    double *column = malloc(sizeof *column * (size_t)n);
    if (column == NULL) {
      oom = 1;
      rc = -1;
    }
    for (size_t k = 0; k < count && rc == 0; ++k) {
      for (long r = 0; r < n; ++r)
        column[r] = samples[(size_t)r * count + k];
      median_s[k] = bench_median(column, (size_t)n);
    }
    free(column);
    if (rc == 0 && rounds != NULL)
      *rounds = n;
  }
  if (oom)
    fprintf(stderr, "aihw bench: out of memory for %ld timing samples\n", n);
  free(samples);
  return rc;
}

float *bench_alloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  float *p = n > SIZE_MAX / sizeof(float) - 64 ? NULL : aligned_alloc(64, bytes);
  if (p == NULL)
    fprintf(stderr, "aihw bench: out of memory allocating %zu floats\n", n);
  return p;
}

void bench_print_environment(FILE *out) {
  fprintf(out, "# aihw %s, %d threads", aihw_version_string(), cli_max_threads());
  if (openblas_get_config != NULL) {
    const char *config = openblas_get_config();
    /* Trim the trailing space OpenBLAS leaves in its config string. */
    int len = (int)strlen(config);
    while (len > 0 && config[len - 1] == ' ')
      --len;
    fprintf(out, ", BLAS: %.*s", len, config);
    if (openblas_get_num_threads != NULL)
      fprintf(out, " (%d threads)", openblas_get_num_threads());
  }
  fprintf(out, "\n");
}

static void json_key(bench_json *j, const char *key) {
  fprintf(j->out, "%s\"%s\": ", j->fields > 0 ? ", " : "", key);
  j->fields += 1;
}

void bench_json_begin(bench_json *j, FILE *out) {
  j->out = out;
  j->fields = 0;
  fputc('{', out);
}

void bench_json_string(bench_json *j, const char *key, const char *value) {
  json_key(j, key);
  fprintf(j->out, "\"%s\"", value);
}

void bench_json_int(bench_json *j, const char *key, long long value) {
  json_key(j, key);
  fprintf(j->out, "%lld", value);
}

void bench_json_number(bench_json *j, const char *key, double value, int digits) {
  json_key(j, key);
  if (isfinite(value))
    fprintf(j->out, "%.*g", digits, value);
  else
    fprintf(j->out, "null");
}

void bench_json_end(bench_json *j) {
  fputs("}\n", j->out);
  fflush(j->out);
}
