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
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/json_util.h"

/* The area word of JSON error messages ("update parameter 'res': ..."). */
#define AREA "update"

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
  return aihw_json_get_float(p, f->offset);
}

/* Ints, booleans and the enum (all stored with the size of int). */
static int field_get_int(const aihw_update_params *p, const field_desc *f) {
  return aihw_json_get_int(p, f->offset);
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

static cJSON *field_to_json(const aihw_update_params *p, const field_desc *f) {
  switch (f->kind) {
  case KIND_FLOAT: return aihw_json_float_item(field_get_float(p, f));
  case KIND_INT: return cJSON_CreateNumber((double)field_get_int(p, f));
  case KIND_BOOL: return cJSON_CreateBool(field_get_int(p, f) != 0);
  case KIND_PULSE_TYPE: return cJSON_CreateString(pulse_names[field_get_int(p, f)]);
  }
  return NULL;
}

AIHW_API aihw_status aihw_update_params_to_json(const aihw_update_params *params,
                                                char **json_out) {
  static const char function[] = "aihw_update_params_to_json";
  AIHW_TRY(aihw_json_write_begin(function, params, json_out));
  /* Only valid parameters are written, so that what we write we can always read back. */
  AIHW_TRY(aihw_update_params_validate(params, NULL));

  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL;
  for (int i = 0; ok && i < N_FIELDS; ++i)
    ok = aihw_json_add_item(root, update_fields[i].name,
                            field_to_json(params, &update_fields[i]));
  return aihw_json_write_end(function, root, ok, json_out);
}

/* ---- JSON input --------------------------------------------------------------------- */

static aihw_status pulse_type_from_json(const field_desc *f, const cJSON *item, int *out) {
  const char *s = NULL;
  AIHW_TRY(aihw_json_read_string(AREA, NULL, f->name, item, &s));
  int v = aihw_json_enum_index(s, pulse_names, pulse_values, N_PULSE_TYPES);
  if (v < 0)
    return aihw_json_unknown_value(AREA, NULL, f->name, s, PULSE_LIST);
  *out = v;
  return AIHW_OK;
}

/* Stores one JSON value into *p (the caller's working copy). Out-of-range doubles become
 * +-inf, which validation rejects as not finite. */
static aihw_status field_from_json(const field_desc *f, const cJSON *item,
                                   aihw_update_params *p) {
  int v = 0; /* ints, booleans and the enum */
  switch (f->kind) {
  case KIND_FLOAT: {
    float x = 0.0f;
    AIHW_TRY(aihw_json_read_float(AREA, NULL, f->name, item, &x));
    aihw_json_set_float(p, f->offset, x);
    return AIHW_OK;
  }
  case KIND_INT: AIHW_TRY(aihw_json_read_int(AREA, NULL, f->name, item, &v)); break;
  case KIND_BOOL: AIHW_TRY(aihw_json_read_bool(AREA, NULL, f->name, item, &v)); break;
  case KIND_PULSE_TYPE: AIHW_TRY(pulse_type_from_json(f, item, &v)); break;
  default: return aihw_error(AIHW_ERR_INTERNAL, "update_params: bad field kind");
  }
  aihw_json_set_int(p, f->offset, v);
  return AIHW_OK;
}

static aihw_status object_from_json(const cJSON *root, aihw_update_params *work) {
  char seen[N_FIELDS];
  memset(seen, 0, sizeof seen);
  for (const cJSON *item = root->child; item != NULL; item = item->next) {
    int index =
        aihw_json_find_named(update_fields, sizeof update_fields[0], N_FIELDS, item->string);
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown update parameter '%s'", item->string);
    AIHW_TRY(aihw_json_mark_seen(AREA, NULL, item->string, seen, index));
    AIHW_TRY(field_from_json(&update_fields[index], item, work));
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_update_params_from_json(const char *json,
                                                  aihw_update_params *params) {
  AIHW_TRY(aihw_json_read_begin("aihw_update_params_from_json", json, params));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  aihw_update_params work = *params;
  aihw_status status = object_from_json(root, &work);
  cJSON_Delete(root);
  if (status != AIHW_OK)
    return status;
  AIHW_TRY(aihw_update_params_validate(&work, NULL));
  *params = work;
  return AIHW_OK;
}
