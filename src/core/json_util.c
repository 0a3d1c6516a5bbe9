/* Internal JSON helpers shared by the four parameter areas (io_params.c, update_params.c,
 * device_params_json.c, inference_params_json.c); see json_util.h for the contract.
 *
 * Invariant: every message names the key as "<area> parameter '<group>.<name>'" (or
 * "'<name>'" without a group), so that the four areas report the same mistake the same
 * way. Float text is the shortest that reads back to the same float32, so write/read
 * round trips are bit-exact.
 */
#include "core/json_util.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The three "%s%s%s" pieces of a key path: group, separator, name. */
#define GROUP_TEXT(group) ((group) != NULL ? (group) : "")
#define GROUP_DOT(group) ((group) != NULL && (group)[0] != '\0' ? "." : "")

/* ---- field storage ------------------------------------------------------------------ */

float aihw_json_get_float(const void *base, size_t offset) {
  float v;
  memcpy(&v, (const char *)base + offset, sizeof v);
  return v;
}

int aihw_json_get_int(const void *base, size_t offset) {
  int v;
  memcpy(&v, (const char *)base + offset, sizeof v);
  return v;
}

void aihw_json_set_float(void *base, size_t offset, float v) {
  memcpy((char *)base + offset, &v, sizeof v);
}

void aihw_json_set_int(void *base, size_t offset, int v) {
  memcpy((char *)base + offset, &v, sizeof v);
}

/* ---- writing ------------------------------------------------------------------------ */

void aihw_json_format_float(float v, char *buf, size_t size) {
  if (isinf(v)) {
    snprintf(buf, size, "%s", v > 0.0f ? "1e999" : "-1e999");
    return;
  }
  /* 9 significant digits always suffice for float32 (FLT_DECIMAL_DIG). */
  for (int digits = 1; digits <= 9; ++digits) {
    snprintf(buf, size, "%.*g", digits, (double)v);
    if ((float)strtod(buf, NULL) == v)
      break;
  }
  /* %g writes 1000 as "1e+03"; a plain integer is shorter up to 4 digits ("1000"). */
  char integer[40];
  if (v == floorf(v) && fabsf(v) < 1e9f &&
      (size_t)snprintf(integer, sizeof integer, "%.0f", (double)v) <= strlen(buf))
    snprintf(buf, size, "%s", integer);
  /* printf and strtod follow LC_NUMERIC; JSON always uses '.' (cJSON does the same). */
  char point = localeconv()->decimal_point[0];
  if (point != '.') {
    char *c = strchr(buf, point);
    if (c != NULL)
      *c = '.';
  }
}

cJSON *aihw_json_float_item(float v) {
  char text[40];
  aihw_json_format_float(v, text, sizeof text);
  return cJSON_CreateRaw(text);
}

int aihw_json_add_item(cJSON *to, const char *name, cJSON *item) {
  int ok = item != NULL && (name != NULL ? cJSON_AddItemToObject(to, name, item)
                                         : cJSON_AddItemToArray(to, item));
  if (!ok)
    cJSON_Delete(item);
  return ok;
}

cJSON *aihw_json_float_array(const float *values, int n) {
  cJSON *array = cJSON_CreateArray();
  for (int k = 0; array != NULL && k < n; ++k) {
    if (!aihw_json_add_item(array, NULL, aihw_json_float_item(values[k]))) {
      cJSON_Delete(array);
      return NULL;
    }
  }
  return array;
}

aihw_status aihw_json_write_begin(const char *function, const void *params, char **json_out) {
  if (json_out != NULL)
    *json_out = NULL;
  if (params == NULL || json_out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", function,
                      params == NULL ? "params" : "json_out");
  return AIHW_OK;
}

aihw_status aihw_json_write_end(const char *function, cJSON *root, int ok, char **json_out) {
  char *text = ok && root != NULL ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: out of memory", function);
  *json_out = text;
  return AIHW_OK;
}

/* ---- reading ------------------------------------------------------------------------ */

aihw_status aihw_json_read_begin(const char *function, const char *json, const void *params) {
  if (json == NULL || params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", function,
                      json == NULL ? "json" : "params");
  return AIHW_OK;
}

aihw_status aihw_json_parse_object(const char *area, const char *json, cJSON **root_out) {
  *root_out = NULL;
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
  if (root == NULL) {
    size_t at = end != NULL && end >= json ? (size_t)(end - json) : 0;
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s parameters: JSON parse error at byte %zu near '%.20s'", area, at,
                      json + at);
  }
  if (!cJSON_IsObject(root)) {
    aihw_status s = aihw_error(AIHW_ERR_FORMAT, "%s parameters: expected a JSON object, got %s",
                               area, aihw_json_type_name(root));
    cJSON_Delete(root);
    return s;
  }
  *root_out = root;
  return AIHW_OK;
}

const char *aihw_json_type_name(const cJSON *item) {
  if (cJSON_IsNull(item))
    return "null";
  if (cJSON_IsBool(item))
    return "a boolean";
  if (cJSON_IsNumber(item))
    return "a number";
  if (cJSON_IsString(item))
    return "a string";
  if (cJSON_IsArray(item))
    return "an array";
  if (cJSON_IsObject(item))
    return "an object";
  return "an invalid value";
}

aihw_status aihw_json_wrong_type(const char *area, const char *group, const char *name,
                                 const cJSON *item, const char *expected) {
  return aihw_error(AIHW_ERR_FORMAT, "%s parameter '%s%s%s': expected %s, got %s", area,
                    GROUP_TEXT(group), GROUP_DOT(group), name, expected,
                    aihw_json_type_name(item));
}

aihw_status aihw_json_read_float(const char *area, const char *group, const char *name,
                                 const cJSON *item, float *out) {
  if (!cJSON_IsNumber(item))
    return aihw_json_wrong_type(area, group, name, item, "a number");
  *out = (float)item->valuedouble;
  return AIHW_OK;
}

int aihw_json_is_integral_in(double d, double low, double high) {
  return d == floor(d) && d >= low && d <= high;
}

aihw_status aihw_json_read_int(const char *area, const char *group, const char *name,
                               const cJSON *item, int *out) {
  if (!cJSON_IsNumber(item))
    return aihw_json_wrong_type(area, group, name, item, "an integer");
  double d = item->valuedouble;
  if (!aihw_json_is_integral_in(d, -2147483648.0, 2147483647.0))
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s parameter '%s%s%s': expected an integer in int range, got %.17g",
                      area, GROUP_TEXT(group), GROUP_DOT(group), name, d);
  *out = (int)d;
  return AIHW_OK;
}

int aihw_json_bool_value(const cJSON *item, int *out) {
  if (cJSON_IsBool(item)) {
    *out = cJSON_IsTrue(item) ? 1 : 0;
    return 1;
  }
  if (cJSON_IsNumber(item) && (item->valuedouble == 0.0 || item->valuedouble == 1.0)) {
    *out = item->valuedouble == 1.0;
    return 1;
  }
  return 0;
}

aihw_status aihw_json_read_bool(const char *area, const char *group, const char *name,
                                const cJSON *item, int *out) {
  if (aihw_json_bool_value(item, out))
    return AIHW_OK;
  if (cJSON_IsNumber(item))
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s parameter '%s%s%s': expected true/false (or 0/1), got %.17g", area,
                      GROUP_TEXT(group), GROUP_DOT(group), name, item->valuedouble);
  return aihw_json_wrong_type(area, group, name, item, "true/false (or 0/1)");
}

aihw_status aihw_json_read_string(const char *area, const char *group, const char *name,
                                  const cJSON *item, const char **out) {
  if (!cJSON_IsString(item))
    return aihw_json_wrong_type(area, group, name, item, "a string");
  *out = item->valuestring;
  return AIHW_OK;
}

int aihw_json_enum_index(const char *s, const char *const *names, const char *const *values,
                         int count) {
  for (int v = 0; v < count; ++v)
    if ((names[v] != NULL && strcmp(s, names[v]) == 0) ||
        (values != NULL && values[v] != NULL && strcmp(s, values[v]) == 0))
      return v;
  return -1;
}

int aihw_json_names_member(const char *s, const char *name, const char *value) {
  return strcmp(s, name) == 0 || (value != NULL && strcmp(s, value) == 0);
}

aihw_status aihw_json_unsupported_value(const char *area, const char *group, const char *name,
                                        const char *member, const char *reason) {
  return aihw_error(AIHW_ERR_UNSUPPORTED, "%s parameter '%s%s%s': %s is not supported: it %s",
                    area, GROUP_TEXT(group), GROUP_DOT(group), name, member, reason);
}

aihw_status aihw_json_unknown_value(const char *area, const char *group, const char *name,
                                    const char *value, const char *allowed) {
  return aihw_error(AIHW_ERR_FORMAT, "%s parameter '%s%s%s': unknown value '%s' (allowed: %s)",
                    area, GROUP_TEXT(group), GROUP_DOT(group), name, value, allowed);
}

int aihw_json_find_named(const void *entries, size_t stride, int count, const char *key) {
  for (int i = 0; i < count; ++i) {
    /* A pointer to a struct, converted, points to its first member (C11 6.7.2.1p15). */
    const char *const *name =
        (const char *const *)(const void *)((const char *)entries + (size_t)i * stride);
    if (strcmp(key, *name) == 0)
      return i;
  }
  return -1;
}

aihw_status aihw_json_mark_seen(const char *area, const char *group, const char *key,
                                char *seen, int index) {
  if (seen[index])
    return aihw_error(AIHW_ERR_FORMAT, "%s parameter '%s%s%s' appears twice", area,
                      GROUP_TEXT(group), GROUP_DOT(group), key);
  seen[index] = 1;
  return AIHW_OK;
}
