/* Helpers for tests that read the golden JSON vectors of tests/data/golden (produced by
 * aihwkit v1.1.0; see tests/data/golden/README.md). Header-only, for test programs. */
#ifndef AIHW_TEST_GOLDEN_UTIL_H
#define AIHW_TEST_GOLDEN_UTIL_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Parses tests/data/<subdir>/<name> (subdir "golden": aihwkit's exact vectors; "aihwkit":
 * aihwkit's statistics); aborts the test program if it cannot be read. */
static inline cJSON *test_data_load(const char *subdir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s/%s", AIHW_TEST_DATA_DIR, subdir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)len + 1);
  if (text == NULL || fread(text, 1, (size_t)len, f) != (size_t)len) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(2);
  }
  text[len] = '\0';
  fclose(f);
  cJSON *root = cJSON_Parse(text);
  free(text);
  if (root == NULL) {
    fprintf(stderr, "cannot parse %s\n", path);
    exit(2);
  }
  return root;
}

/* Parses tests/data/golden/<name>. */
static inline cJSON *golden_load(const char *name) { return test_data_load("golden", name); }

static inline float golden_number(const cJSON *item) {
  if (cJSON_IsString(item)) {
    const char *s = item->valuestring;
    if (s[0] == 'n')
      return NAN;
    return s[0] == '-' ? -INFINITY : INFINITY;
  }
  return (float)item->valuedouble;
}

/* Flattens a nested list of numbers (row-major) into a new malloc'ed float array;
 * *count receives the number of values. */
static inline void golden_flatten_into(const cJSON *item, float *out, size_t *n) {
  if (cJSON_IsArray(item)) {
    const cJSON *e;
    cJSON_ArrayForEach(e, item) golden_flatten_into(e, out, n);
  } else {
    if (out != NULL)
      out[*n] = golden_number(item);
    ++*n;
  }
}

static inline float *golden_floats(const cJSON *obj, const char *key, size_t *count) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (item == NULL) {
    fprintf(stderr, "golden record has no '%s'\n", key);
    exit(2);
  }
  size_t n = 0;
  golden_flatten_into(item, NULL, &n);
  float *out = malloc((n ? n : 1) * sizeof(float));
  size_t k = 0;
  golden_flatten_into(item, out, &k);
  if (count != NULL)
    *count = n;
  return out;
}

static inline int golden_int(const cJSON *obj, const char *key) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  return item != NULL ? item->valueint : 0;
}

#endif
