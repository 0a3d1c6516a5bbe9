/* Shared helpers of the aihw command-line tool (cli.h): option parsing, thread control,
 * error reporting, reproducible test data and reading small text files. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/rng.h"

/* OpenBLAS's thread control. Declared weak (and not through cblas.h, whose flavour varies)
 * so that the tool still links against another CBLAS; it is then simply not called. */
extern void openblas_set_num_threads(int num_threads) __attribute__((weak));

int cli_is_flag(char **argv, int i, const char *name) { return strcmp(argv[i], name) == 0; }

int cli_option_value(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *arg = argv[*i];
  size_t len = strlen(name);
  if (strncmp(arg, name, len) != 0)
    return 0;
  if (arg[len] == '=') {
    *value = arg + len + 1;
    return 1;
  }
  if (arg[len] != '\0')
    return 0;
  if (*i + 1 >= argc) {
    fprintf(stderr, "aihw: option %s needs a value\n", name);
    return -1;
  }
  *i += 1;
  *value = argv[*i];
  return 1;
}

int cli_parse_long(const char *cmd, const char *name, const char *text, long min, long max,
                   long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  if (text[0] == '\0' || *end != '\0' || errno == ERANGE) {
    fprintf(stderr, "aihw %s: option %s: '%s' is not an integer\n", cmd, name, text);
    return -1;
  }
  if (v < min || v > max) {
    fprintf(stderr, "aihw %s: option %s: %ld is outside [%ld, %ld]\n", cmd, name, v, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

void cli_set_threads(int n) {
  if (n < 1)
    return;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  if (openblas_set_num_threads)
    openblas_set_num_threads(n);
}

int cli_max_threads(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int cli_report_failure(const char *cmd, const char *what, aihw_status status) {
  fprintf(stderr, "aihw %s: %s failed: %s: %s\n", cmd, what, aihw_status_name(status),
          aihw_last_error());
  return CLI_EXIT_FAILURE;
}

int cli_usage_error(const char *cmd, const char *arg, void (*usage)(FILE *out)) {
  fprintf(stderr, "aihw %s: unknown argument '%s'\n\n", cmd, arg);
  usage(stderr);
  return CLI_EXIT_USAGE;
}

void cli_fill_uniform(float *out, int64_t rows, int64_t cols, float lo, float hi, uint32_t seed,
                      uint32_t stream) {
  const aihw_rng_stream s = aihw_rng_stream_make(seed, stream, 0, 0, 0);
  const float width = hi - lo;
  for (int64_t r = 0; r < rows; ++r) {
    float *row = out + r * cols;
    aihw_rng_fill_uniform(&s, (uint32_t)r, 0, row, (size_t)cols);
    for (int64_t c = 0; c < cols; ++c)
      row[c] = lo + width * row[c];
  }
}

int cli_names_a_file(const char *arg) {
  const size_t len = strlen(arg);
  return strchr(arg, '/') != NULL || (len >= 5 && strcasecmp(arg + len - 5, ".json") == 0);
}

char *cli_read_text_file(const char *cmd, const char *what, const char *path, long max_bytes) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "aihw %s: cannot read %s '%s': ", cmd, what, path);
    perror(NULL);
    return NULL;
  }
  char *text = NULL;
  size_t used = 0, capacity = 0;
  for (;;) {
    if (used + 4096 + 1 > capacity) {
      if (capacity >= (size_t)max_bytes) {
        fprintf(stderr, "aihw %s: %s '%s' is larger than %ld bytes\n", cmd, what, path,
                max_bytes);
        goto fail;
      }
      size_t grown_capacity = capacity == 0 ? 65536 : 2 * capacity;
      char *grown = realloc(text, grown_capacity);
      if (grown == NULL) {
        fprintf(stderr, "aihw %s: out of memory reading '%s'\n", cmd, path);
        goto fail;
      }
      text = grown;
      capacity = grown_capacity;
    }
    size_t got = fread(text + used, 1, capacity - used - 1, f);
    used += got;
    if (got == 0)
      break;
  }
  if (ferror(f)) {
    fprintf(stderr, "aihw %s: error reading %s '%s'\n", cmd, what, path);
    goto fail;
  }
  fclose(f);
  text[used] = '\0';
  return text;
fail:
  fclose(f);
  free(text);
  return NULL;
}

int cli_match_option(const char *cmd, int argc, char **argv, int *i, const cli_option *opts,
                     int count) {
  for (int k = 0; k < count; ++k) {
    const cli_option *o = &opts[k];
    if (o->kind == CLI_OPT_FLAG) {
      if (cli_is_flag(argv, *i, o->name)) {
        *(int *)o->target = 1;
        return 1;
      }
      continue;
    }
    const char *value = NULL;
    const int found = cli_option_value(argc, argv, i, o->name, &value);
    if (found == 0)
      continue;
    if (found < 0)
      return -1;
    long v = 0;
    switch (o->kind) {
    case CLI_OPT_STRING: *(const char **)o->target = value; break;
    case CLI_OPT_LONG:
      if (cli_parse_long(cmd, o->name, value, o->min, o->max, &v) != 0)
        return -1;
      *(long *)o->target = v;
      break;
    case CLI_OPT_SEED:
      if (cli_parse_long(cmd, o->name, value, 0, 4294967295L, &v) != 0)
        return -1;
      *(uint32_t *)o->target = (uint32_t)v;
      break;
    default: break;
    }
    return 1;
  }
  return 0;
}
