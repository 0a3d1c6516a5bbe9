/* Pulsed-update parameters: aihwkit's Python `UpdateParameters()` defaults and presets
 * (reference §4.1, §8), validation of every field, and JSON read/write with aihwkit's
 * field names.
 *
 * Same shape as io_params.c: one table (update_fields) lists every field with its JSON
 * name, storage kind and allowed range, and validation and both JSON directions walk it.
 * Invariants: validation never changes the struct; from_json works on a copy (absent keys
 * keep the caller's values) and stores it only after the whole object parsed and
 * validated; to_json writes each float with the fewest decimal digits that read back to
 * the same float32, so a write/read round trip is bit-exact.
 */
#include "aihw/update_params.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The enum field is read and written as int through memcpy. */
_Static_assert(sizeof(aihw_pulse_type) == sizeof(int), "enum must have the size of int");

#define COUNT_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- pulse type --------------------------------------------------------------------- */

/* Python member names (JSON output) and aihwkit Enum values (also accepted on input,
 * since aihwkit's own dumps use them), indexed by the C value. */
static const char *const pulse_names[] = {"NONE",       "STOCHASTIC_COMPRESSED",
                                          "STOCHASTIC", "NONE_WITH_DEVICE",
                                          "MEAN_COUNT", "DETERMINISTIC_IMPLICIT"};
static const char *const pulse_values[] = {"None",       "StochasticCompressed",
                                           "Stochastic", "NoneWithDevice",
                                           "MeanCount",  "DeterministicImplicit"};
#define N_PULSE_TYPES COUNT_OF(pulse_names)
#define PULSE_LIST                                                          \
  "NONE, STOCHASTIC_COMPRESSED, STOCHASTIC, NONE_WITH_DEVICE, MEAN_COUNT, " \
  "DETERMINISTIC_IMPLICIT"

AIHW_API const char *aihw_pulse_type_name(aihw_pulse_type v) {
  int i = (int)v;
  return i >= 0 && i < N_PULSE_TYPES ? pulse_names[i] : NULL;
}

/* ---- field table -------------------------------------------------------------------- */

typedef enum field_kind { KIND_FLOAT, KIND_INT, KIND_BOOL, KIND_PULSE_TYPE } field_kind;

/* Allowed ranges; every float must also be finite (checked first, AIHW_ERR_NOT_FINITE). */
typedef enum range_rule {
  RULE_NONE,     /* booleans and the enum: checked by kind */
  RULE_FINITE,   /* any finite value */
  RULE_NONNEG,   /* >= 0 */
  RULE_POSITIVE, /* > 0 */
  RULE_BL        /* integer in [1, AIHW_UPDATE_MAX_BL] */
} range_rule;

typedef struct field_desc {
  const char *name; /* struct field = JSON key = aihwkit name */
  field_kind kind;
  size_t offset;
  range_rule rule;
} field_desc;

#define FIELD(f, kind, rule) \
  { #f, kind, offsetof(aihw_update_params, f), rule }

static const field_desc update_fields[] = {
    FIELD(desired_bl, KIND_INT, RULE_BL),
    FIELD(fixed_bl, KIND_BOOL, RULE_NONE),
    FIELD(pulse_type, KIND_PULSE_TYPE, RULE_NONE),
    /* Resolutions: 0 = off, (0, 1] a bin width, > 1 a number of steps (policy in the
     * header); a negative width has no meaning. */
    FIELD(res, KIND_FLOAT, RULE_NONNEG),
    FIELD(x_res_implicit, KIND_FLOAT, RULE_NONNEG),
    FIELD(d_res_implicit, KIND_FLOAT, RULE_NONNEG),
    FIELD(d_sparsity, KIND_BOOL, RULE_NONE),
    FIELD(sto_round, KIND_BOOL, RULE_NONE),
    FIELD(update_bl_management, KIND_BOOL, RULE_NONE),
    FIELD(update_management, KIND_BOOL, RULE_NONE),
    /* Multiplies d inside a square root (§4.2): must be a positive scale. */
    FIELD(um_grad_scale, KIND_FLOAT, RULE_POSITIVE),
    /* Unused by aihwkit's CPU code; any finite value is kept for round trips. */
    FIELD(um_reg_scale, KIND_FLOAT, RULE_FINITE),
    FIELD(res_steps_quirk, KIND_BOOL, RULE_NONE),
};

#define N_FIELDS COUNT_OF(update_fields)

/* Every field is 4 bytes: a struct field missing from the table fails here. */
_Static_assert(sizeof(update_fields) / sizeof(update_fields[0]) * 4 ==
                   sizeof(aihw_update_params),
               "update_fields must list every field of aihw_update_params");

static float field_get_float(const aihw_update_params *p, const field_desc *f) {
  float v;
  memcpy(&v, (const char *)p + f->offset, sizeof v);
  return v;
}

static void field_set_float(aihw_update_params *p, const field_desc *f, float v) {
  memcpy((char *)p + f->offset, &v, sizeof v);
}

static int field_get_int(const aihw_update_params *p, const field_desc *f) {
  int v;
  memcpy(&v, (const char *)p + f->offset, sizeof v);
  return v;
}

static void field_set_int(aihw_update_params *p, const field_desc *f, int v) {
  memcpy((char *)p + f->offset, &v, sizeof v);
}

/* ---- defaults and presets ----------------------------------------------------------- */

AIHW_API aihw_update_params aihw_update_params_default(void) {
  aihw_update_params p;
  memset(&p, 0, sizeof p);
  p.desired_bl = 31;
  p.fixed_bl = 1;
  p.pulse_type = AIHW_PULSE_STOCHASTIC_COMPRESSED;
  p.res = 0.0f;
  p.x_res_implicit = 0.0f;
  p.d_res_implicit = 0.0f;
  p.d_sparsity = 0;
  p.sto_round = 0;
  p.update_bl_management = 1;
  p.update_management = 1;
  p.um_grad_scale = 1.0f;
  p.um_reg_scale = 1.0f;
  p.res_steps_quirk = 0;
  return p;
}

AIHW_API aihw_status aihw_update_params_preset(const char *name, aihw_update_params *out) {
  static const char known[] = "UpdateParameters, PresetUpdateParameters";
  if (name == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_update_params_preset: %s is NULL",
                      name == NULL ? "name" : "out");
  aihw_update_params p = aihw_update_params_default();
  if (strcmp(name, "UpdateParameters") == 0) {
    /* the defaults */
  } else if (strcmp(name, "PresetUpdateParameters") == 0) {
    /* aihwkit presets/utils.py (reference §8): it restates the defaults explicitly. */
    p.desired_bl = 31;
    p.pulse_type = AIHW_PULSE_STOCHASTIC_COMPRESSED;
    p.update_bl_management = 1;
    p.update_management = 1;
  } else {
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "unknown update preset '%s' (known: %s)", name,
                      known);
  }
  *out = p;
  return AIHW_OK;
}

/* ---- validation --------------------------------------------------------------------- */

/* "update.desired_bl" or "desired_bl". */
static const char *field_label(const char *what, const char *name, char *buf, size_t size) {
  if (what != NULL)
    snprintf(buf, size, "%s.%s", what, name);
  else
    snprintf(buf, size, "%s", name);
  return buf;
}

static aihw_status check_field(const aihw_update_params *p, const field_desc *f,
                               const char *what) {
  char label[160];
  switch (f->kind) {
  case KIND_FLOAT: {
    float v = field_get_float(p, f);
    if (f->rule == RULE_NONNEG && !(v >= 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be >= 0",
                        field_label(what, f->name, label, sizeof label), (double)v);
    if (f->rule == RULE_POSITIVE && !(v > 0.0f))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %.9g: must be > 0",
                        field_label(what, f->name, label, sizeof label), (double)v);
    return AIHW_OK;
  }
  case KIND_INT: {
    int v = field_get_int(p, f);
    if (f->rule == RULE_BL && (v < 1 || v > AIHW_UPDATE_MAX_BL))
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be in [1, %d]",
                        field_label(what, f->name, label, sizeof label), v, AIHW_UPDATE_MAX_BL);
    return AIHW_OK;
  }
  case KIND_BOOL: {
    int v = field_get_int(p, f);
    if (v != 0 && v != 1)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be 0 or 1",
                        field_label(what, f->name, label, sizeof label), v);
    return AIHW_OK;
  }
  case KIND_PULSE_TYPE: {
    int v = field_get_int(p, f);
    if (v < 0 || v >= N_PULSE_TYPES)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s = %d: must be one of %s (0..%d)",
                        field_label(what, f->name, label, sizeof label), v, PULSE_LIST,
                        N_PULSE_TYPES - 1);
    return AIHW_OK;
  }
  }
  return aihw_error(AIHW_ERR_INTERNAL, "update_params: bad field kind");
}

AIHW_API aihw_status aihw_update_params_validate(const aihw_update_params *params,
                                                 const char *what) {
  char label[160];
  if (params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_update_params_validate: params is NULL");
  /* Finiteness first, so that a NaN is always AIHW_ERR_NOT_FINITE whatever its field. */
  for (int i = 0; i < N_FIELDS; ++i) {
    const field_desc *f = &update_fields[i];
    if (f->kind != KIND_FLOAT)
      continue;
    float v = field_get_float(params, f);
    if (!isfinite(v))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s = %g: must be finite",
                        field_label(what, f->name, label, sizeof label), (double)v);
  }
  for (int i = 0; i < N_FIELDS; ++i)
    AIHW_TRY(check_field(params, &update_fields[i], what));
  return AIHW_OK;
}

/* ---- JSON output -------------------------------------------------------------------- */

/* The shortest decimal text that reads back (strtod, then to float) to exactly v; 9
 * significant digits always suffice for float32. Only finite values reach here. */
static void format_float(float v, char *buf, size_t size) {
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

static cJSON *field_to_json(const aihw_update_params *p, const field_desc *f) {
  switch (f->kind) {
  case KIND_FLOAT: {
    char text[40];
    format_float(field_get_float(p, f), text, sizeof text);
    return cJSON_CreateRaw(text);
  }
  case KIND_INT: return cJSON_CreateNumber((double)field_get_int(p, f));
  case KIND_BOOL: return cJSON_CreateBool(field_get_int(p, f) != 0);
  case KIND_PULSE_TYPE: return cJSON_CreateString(pulse_names[field_get_int(p, f)]);
  }
  return NULL;
}

AIHW_API aihw_status aihw_update_params_to_json(const aihw_update_params *params,
                                                char **json_out) {
  if (json_out != NULL)
    *json_out = NULL;
  if (params == NULL || json_out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_update_params_to_json: %s is NULL",
                      params == NULL ? "params" : "json_out");
  /* Only valid parameters are written, so that what we write we can always read back. */
  AIHW_TRY(aihw_update_params_validate(params, NULL));

  cJSON *root = cJSON_CreateObject();
  if (root == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_update_params_to_json: out of memory");
  for (int i = 0; i < N_FIELDS; ++i) {
    cJSON *item = field_to_json(params, &update_fields[i]);
    if (item == NULL || !cJSON_AddItemToObject(root, update_fields[i].name, item)) {
      cJSON_Delete(item);
      cJSON_Delete(root);
      return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_update_params_to_json: out of memory");
    }
  }
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_update_params_to_json: out of memory");
  *json_out = text;
  return AIHW_OK;
}

/* ---- JSON input --------------------------------------------------------------------- */

static const char *json_type_name(const cJSON *item) {
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

static aihw_status wrong_type(const field_desc *f, const cJSON *item, const char *expected) {
  return aihw_error(AIHW_ERR_FORMAT, "update parameter '%s': expected %s, got %s", f->name,
                    expected, json_type_name(item));
}

static aihw_status pulse_type_from_json(const field_desc *f, const cJSON *item, int *out) {
  if (!cJSON_IsString(item))
    return wrong_type(f, item, "a string");
  const char *s = item->valuestring;
  for (int v = 0; v < N_PULSE_TYPES; ++v) {
    if (strcmp(s, pulse_names[v]) == 0 || strcmp(s, pulse_values[v]) == 0) {
      *out = v;
      return AIHW_OK;
    }
  }
  return aihw_error(AIHW_ERR_FORMAT, "update parameter '%s': unknown value '%s' (allowed: %s)",
                    f->name, s, PULSE_LIST);
}

/* Stores one JSON value into *p (the caller's working copy). */
static aihw_status field_from_json(const field_desc *f, const cJSON *item,
                                   aihw_update_params *p) {
  switch (f->kind) {
  case KIND_FLOAT:
    if (!cJSON_IsNumber(item))
      return wrong_type(f, item, "a number");
    /* Out-of-range doubles become +-inf, which validation rejects as not finite. */
    field_set_float(p, f, (float)item->valuedouble);
    return AIHW_OK;
  case KIND_INT: {
    if (!cJSON_IsNumber(item))
      return wrong_type(f, item, "an integer");
    double d = item->valuedouble;
    if (!(d == floor(d) && d >= (double)INT_MIN && d <= (double)INT_MAX))
      return aihw_error(AIHW_ERR_FORMAT,
                        "update parameter '%s': expected an integer in int range, got %.17g",
                        f->name, d);
    field_set_int(p, f, (int)d);
    return AIHW_OK;
  }
  case KIND_BOOL:
    if (cJSON_IsBool(item)) {
      field_set_int(p, f, cJSON_IsTrue(item) ? 1 : 0);
      return AIHW_OK;
    }
    if (cJSON_IsNumber(item) && (item->valuedouble == 0.0 || item->valuedouble == 1.0)) {
      field_set_int(p, f, item->valuedouble == 1.0);
      return AIHW_OK;
    }
    if (cJSON_IsNumber(item))
      return aihw_error(AIHW_ERR_FORMAT,
                        "update parameter '%s': expected true/false (or 0/1), got %.17g",
                        f->name, item->valuedouble);
    return wrong_type(f, item, "true/false (or 0/1)");
  case KIND_PULSE_TYPE: {
    int v = 0;
    AIHW_TRY(pulse_type_from_json(f, item, &v));
    field_set_int(p, f, v);
    return AIHW_OK;
  }
  }
  return aihw_error(AIHW_ERR_INTERNAL, "update_params: bad field kind");
}

static aihw_status object_from_json(const cJSON *root, aihw_update_params *work) {
  char seen[N_FIELDS];
  memset(seen, 0, sizeof seen);
  for (const cJSON *item = root->child; item != NULL; item = item->next) {
    int index = -1;
    for (int i = 0; i < N_FIELDS && index < 0; ++i)
      if (strcmp(item->string, update_fields[i].name) == 0)
        index = i;
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown update parameter '%s'", item->string);
    if (seen[index])
      return aihw_error(AIHW_ERR_FORMAT, "update parameter '%s' appears twice", item->string);
    seen[index] = 1;
    AIHW_TRY(field_from_json(&update_fields[index], item, work));
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_update_params_from_json(const char *json,
                                                  aihw_update_params *params) {
  if (json == NULL || params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_update_params_from_json: %s is NULL",
                      json == NULL ? "json" : "params");
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
  if (root == NULL) {
    size_t at = end != NULL && end >= json ? (size_t)(end - json) : 0;
    return aihw_error(AIHW_ERR_FORMAT,
                      "update parameters: JSON parse error at byte %zu near '%.20s'", at,
                      json + at);
  }
  if (!cJSON_IsObject(root)) {
    aihw_status s =
        aihw_error(AIHW_ERR_FORMAT, "update parameters: expected a JSON object, got %s",
                   json_type_name(root));
    cJSON_Delete(root);
    return s;
  }
  aihw_update_params work = *params;
  aihw_status status = object_from_json(root, &work);
  cJSON_Delete(root);
  if (status != AIHW_OK)
    return status;
  AIHW_TRY(aihw_update_params_validate(&work, NULL));
  *params = work;
  return AIHW_OK;
}
