/* JSON read/write of aihw_inference_params with aihwkit's class, field and enum names
 * (reference §6.1–6.6):
 *
 *   {"noise_model": {"type": "PCMLikeNoiseModel", "g_max": 25, "prog_coeff": [...], ...,
 *                    "g_converter": {"type": "SinglePairConductanceConverter",
 *                                    "g_max": 25, "g_min": 0}},
 *    "drift_compensation": "GlobalDriftCompensation",
 *    "clip": {"type": "NONE", "fixed_value": -1, "sigma": 2.5},
 *    "remap": {...}, "modifier": {"type": "NONE", "std_dev": 0, ...}}
 *
 * The converter is nested in the noise model as `g_converter`, where aihwkit keeps it
 * (`InferenceRPUConfig.noise_model.g_converter`). aihwkit has no "no noise" model: noise
 * type NONE is written as `"noise_model": null`, without its converter (which has no effect
 * then); reading null leaves the converter as it was. No drift compensation is `null`, as
 * aihwkit's `drift_compensation=None`.
 *
 * Reading: the top level and the clip, remap and modifier objects update the given values
 * key by key (keys not present keep their value). The class-typed objects (noise_model,
 * g_converter) start from the defaults of their "type", as constructing the aihwkit class
 * does; following aihwkit's constructor, a noise model without "g_converter" gets the
 * default SinglePair converter with the noise model's g_max, and one without "g_max" takes
 * its converter's. Enums are accepted by Python member name or Enum value ("ADD_NORMAL" or
 * "AddNormal"). Unknown keys and names are AIHW_ERR_FORMAT naming the key; aihwkit names
 * aihw does not implement are AIHW_ERR_UNSUPPORTED with the reason. The result is validated
 * before it is stored: on failure *params is unchanged.
 *
 * Writing: only valid parameters; each float with the fewest decimal digits that read back
 * to the same float32, so a write/read round trip is bit-exact.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "aihw/inference.h"
#include "core/error.h"
#include "core/json_util.h"
#include "inference/inference_params_table.h"

/* The area word of JSON error messages ("inference parameter 'clip.sigma': ..."). */
#define AREA "inference"

/* ---- output ------------------------------------------------------------------------- */

static cJSON *field_to_json(const void *base, const inf_field *f) {
  switch (f->kind) {
  case INF_FLOAT: return aihw_json_float_item(aihw_json_get_float(base, f->offset));
  case INF_BOOL: return cJSON_CreateBool(aihw_json_get_int(base, f->offset) != 0);
  case INF_ENUM:
    return cJSON_CreateString(
        aihw_inf_enum_name(f->enumeration, aihw_json_get_int(base, f->offset)));
  case INF_LIST:
    return aihw_json_float_array((const float *)(const void *)((const char *)base + f->offset),
                                 aihw_json_get_int(base, f->count_offset));
  }
  return NULL;
}

/* Adds the fields of table t that type_bit has to object; 0 on failure. */
static int add_fields(cJSON *object, const void *base, const inf_table *t, unsigned type_bit) {
  for (int i = 0; i < t->count; ++i)
    if ((t->fields[i].types & type_bit) &&
        !aihw_json_add_item(object, t->fields[i].name, field_to_json(base, &t->fields[i])))
      return 0;
  return 1;
}

static cJSON *converter_to_json(const aihw_converter_params *cv) {
  cJSON *object = cJSON_CreateObject();
  int ok = object != NULL &&
           aihw_json_add_item(
               object, "type",
               cJSON_CreateString(aihw_inf_enum_name(&aihw_inf_converter_enum, cv->type))) &&
           add_fields(object, cv, &aihw_inf_converter_table, AIHW_INF_BIT(cv->type));
  if (ok && cv->type == AIHW_CONVERTER_CUSTOM_PAIR) {
    /* aihwkit's list of 2 n_f lists (g+ and g- of each pair). */
    const int lists = 2 * cv->n_f, length = cv->n_g / lists;
    cJSON *outer = cJSON_CreateArray();
    for (int l = 0; outer != NULL && l < lists; ++l) {
      if (!aihw_json_add_item(outer, NULL,
                              aihw_json_float_array(cv->g_lst + l * length, length))) {
        cJSON_Delete(outer);
        outer = NULL;
      }
    }
    ok = aihw_json_add_item(object, "g_lst", outer);
  }
  if (!ok) {
    cJSON_Delete(object);
    return NULL;
  }
  return object;
}

static cJSON *noise_model_to_json(const aihw_noise_model_params *nm,
                                  const aihw_converter_params *cv) {
  if (nm->type == AIHW_NOISE_NONE)
    return cJSON_CreateNull();
  cJSON *object = cJSON_CreateObject();
  int ok = object != NULL &&
           aihw_json_add_item(
               object, "type",
               cJSON_CreateString(aihw_inf_enum_name(&aihw_inf_noise_model_enum, nm->type))) &&
           add_fields(object, nm, &aihw_inf_noise_model_table, AIHW_INF_BIT(nm->type));
  if (ok && nm->type == AIHW_NOISE_CUSTOM_DRIFT_PCM) {
    cJSON *table = cJSON_CreateObject();
    ok =
        table != NULL &&
        aihw_json_add_item(table, "g_lst", aihw_json_float_array(nm->custom_g, nm->n_custom)) &&
        aihw_json_add_item(table, "nu_mean_lst",
                           aihw_json_float_array(nm->custom_nu_mean, nm->n_custom)) &&
        aihw_json_add_item(table, "nu_std_lst",
                           aihw_json_float_array(nm->custom_nu_std, nm->n_custom));
    if (!ok)
      cJSON_Delete(table);
    else
      ok = aihw_json_add_item(object, "custom_drift_model", table);
  }
  if (ok)
    ok = aihw_json_add_item(object, "g_converter", converter_to_json(cv));
  if (!ok) {
    cJSON_Delete(object);
    return NULL;
  }
  return object;
}

static cJSON *flat_to_json(const void *base, const inf_table *t) {
  cJSON *object = cJSON_CreateObject();
  if (object != NULL && !add_fields(object, base, t, AIHW_INF_ALL_TYPES)) {
    cJSON_Delete(object);
    return NULL;
  }
  return object;
}

AIHW_API aihw_status aihw_inference_params_to_json(const aihw_inference_params *params,
                                                   char **json_out) {
  static const char function[] = "aihw_inference_params_to_json";
  AIHW_TRY(aihw_json_write_begin(function, params, json_out));
  /* Only valid parameters are written, so that what we write we can always read back. */
  AIHW_TRY(aihw_inference_params_validate(params, NULL));

  const char *compensation =
      aihw_inf_enum_name(&aihw_inf_compensation_enum, params->drift_compensation);
  cJSON *root = cJSON_CreateObject();
  int ok =
      root != NULL &&
      aihw_json_add_item(root, "noise_model",
                         noise_model_to_json(&params->noise_model, &params->converter)) &&
      aihw_json_add_item(root, "drift_compensation",
                         compensation != NULL ? cJSON_CreateString(compensation)
                                              : cJSON_CreateNull()) &&
      aihw_json_add_item(root, "clip", flat_to_json(&params->clip, &aihw_inf_clip_table)) &&
      aihw_json_add_item(root, "remap", flat_to_json(&params->remap, &aihw_inf_remap_table)) &&
      aihw_json_add_item(root, "modifier",
                         flat_to_json(&params->modifier, &aihw_inf_modifier_table));
  return aihw_json_write_end(function, root, ok, json_out);
}

/* ---- input -------------------------------------------------------------------------- */

/* Key paths in messages: "noise_model.g_converter.g_max"; group "" is the top level. */
static aihw_status wrong_type(const char *group, const char *name, const cJSON *item,
                              const char *expected) {
  return aihw_json_wrong_type(AREA, group, name, item, expected);
}

/* 1..max_count numbers into out[] (unused entries 0); *n receives the length. Out-of-range
 * doubles become +-inf, which validation rejects as not finite. */
static aihw_status numbers_from_json(const char *group, const char *name, const cJSON *item,
                                     float *out, int min_count, int max_count, int *n) {
  if (!cJSON_IsArray(item))
    return wrong_type(group, name, item, "an array of numbers");
  int count = cJSON_GetArraySize(item);
  if (count < min_count || count > max_count)
    return aihw_error(AIHW_ERR_FORMAT,
                      "inference parameter '%s.%s': expected %d to %d numbers, got %d", group,
                      name, min_count, max_count, count);
  int k = 0;
  for (const cJSON *v = item->child; v != NULL; v = v->next, ++k) {
    if (!cJSON_IsNumber(v))
      return aihw_error(AIHW_ERR_FORMAT,
                        "inference parameter '%s.%s': entry %d: expected a number, got %s",
                        group, name, k, aihw_json_type_name(v));
    out[k] = (float)v->valuedouble;
  }
  for (; k < max_count; ++k)
    out[k] = 0.0f;
  *n = count;
  return AIHW_OK;
}

/* Enum by Python member name or Enum value (class names for the class-typed objects). */
static aihw_status enum_from_json(const char *group, const char *name, const cJSON *item,
                                  const inf_enum *e, int *out) {
  char list[400];
  const char *s = NULL;
  AIHW_TRY(aihw_json_read_string(AREA, group, name, item, &s));
  int v = aihw_json_enum_index(s, e->names, e->values, e->count);
  if (v >= 0) {
    *out = v;
    return AIHW_OK;
  }
  for (const inf_unsupported *u = e->unsupported; u != NULL && u->name != NULL; ++u)
    if (aihw_json_names_member(s, u->name, u->value))
      return aihw_json_unsupported_value(AREA, group, name, u->name, u->reason);
  return aihw_json_unknown_value(AREA, group, name, s,
                                 aihw_inf_enum_list(e, list, sizeof list));
}

static aihw_status field_from_json(const char *group, const inf_field *f, const cJSON *item,
                                   void *base) {
  int v = 0; /* booleans, enums, list lengths */
  switch (f->kind) {
  case INF_FLOAT: {
    /* Out-of-range doubles become +-inf, which validation rejects as not finite. */
    float x = 0.0f;
    AIHW_TRY(aihw_json_read_float(AREA, group, f->name, item, &x));
    aihw_json_set_float(base, f->offset, x);
    return AIHW_OK;
  }
  case INF_BOOL:
    /* Unlike the other areas, a number other than 0/1 is reported as a wrong type. */
    if (!aihw_json_bool_value(item, &v))
      return wrong_type(group, f->name, item, "true/false (or 0/1)");
    aihw_json_set_int(base, f->offset, v);
    return AIHW_OK;
  case INF_ENUM:
    AIHW_TRY(enum_from_json(group, f->name, item, f->enumeration, &v));
    aihw_json_set_int(base, f->offset, v);
    return AIHW_OK;
  case INF_LIST: {
    float *array = (float *)(void *)((char *)base + f->offset);
    AIHW_TRY(numbers_from_json(group, f->name, item, array, 1, f->max_count, &v));
    aihw_json_set_int(base, f->count_offset, v);
    return AIHW_OK;
  }
  }
  return aihw_error(AIHW_ERR_INTERNAL, "inference_params: bad field kind");
}

/* Index of key in t, or -1. */
static int find_field(const inf_table *t, const char *key) {
  return aihw_json_find_named(t->fields, sizeof t->fields[0], t->count, key);
}

#define MAX_KEYS 40 /* more than any table has fields (+ hand-written keys) */

/* Sets seen[index]; FORMAT error if already set. */
static aihw_status mark_seen(char *seen, int index, const char *group, const char *key) {
  return aihw_json_mark_seen(AREA, group, key, seen, index);
}

/* The string value of the one "type" key of a class-typed object. */
static aihw_status class_from_json(const char *group, const cJSON *object, const inf_enum *e,
                                   int *type) {
  char list[400];
  const cJSON *found = NULL;
  for (const cJSON *item = object->child; item != NULL; item = item->next) {
    if (strcmp(item->string, "type") != 0)
      continue;
    if (found != NULL)
      return aihw_error(AIHW_ERR_FORMAT, "inference parameter '%s.type' appears twice", group);
    found = item;
  }
  if (found == NULL)
    return aihw_error(AIHW_ERR_FORMAT, "inference parameter '%s': missing \"type\" (one of %s)",
                      group, aihw_inf_enum_list(e, list, sizeof list));
  return enum_from_json(group, "type", found, e, type);
}

/* Walks the keys of a class-typed object: "type" skipped, table fields of the type read,
 * others passed to `extra` (which returns 0 if it does not know the key). */
typedef aihw_status (*extra_key_fn)(const cJSON *item, void *context, int *known);

static aihw_status typed_fields_from_json(const char *group, const cJSON *object,
                                          const inf_table *t, const inf_enum *e, int type,
                                          void *base, extra_key_fn extra, void *context) {
  char seen[MAX_KEYS];
  memset(seen, 0, sizeof seen);
  const char *class_name = aihw_inf_enum_name(e, type);
  for (const cJSON *item = object->child; item != NULL; item = item->next) {
    if (strcmp(item->string, "type") == 0)
      continue;
    int index = find_field(t, item->string);
    if (index >= 0 && (t->fields[index].types & AIHW_INF_BIT(type))) {
      AIHW_TRY(mark_seen(seen, index, group, item->string));
      AIHW_TRY(field_from_json(group, &t->fields[index], item, base));
      continue;
    }
    int known = 0;
    if (extra != NULL)
      AIHW_TRY(extra(item, context, &known));
    if (known)
      continue;
    if (index >= 0)
      return aihw_error(AIHW_ERR_FORMAT, "inference parameter '%s.%s' is not a field of %s",
                        group, item->string, class_name);
    return aihw_error(AIHW_ERR_FORMAT, "unknown inference parameter '%s.%s' for %s", group,
                      item->string, class_name);
  }
  return AIHW_OK;
}

/* CustomPair "g_lst": a list of 2 n_f lists of equal length (checked against n_f after
 * the whole object is read, by validation). */
static aihw_status g_lst_from_json(const cJSON *item, aihw_converter_params *cv) {
  static const char *group = "noise_model.g_converter";
  if (!cJSON_IsArray(item))
    return wrong_type(group, "g_lst", item, "an array of arrays of numbers");
  float table[AIHW_INFERENCE_MAX_TABLE];
  int total = 0, length = -1, l = 0;
  for (const cJSON *list = item->child; list != NULL; list = list->next, ++l) {
    float entries[AIHW_INFERENCE_MAX_TABLE];
    char name[32];
    snprintf(name, sizeof name, "g_lst[%d]", l);
    int n = 0;
    AIHW_TRY(numbers_from_json(group, name, list, entries, 1, AIHW_INFERENCE_MAX_TABLE, &n));
    if (length >= 0 && n != length)
      return aihw_error(AIHW_ERR_FORMAT,
                        "inference parameter '%s.g_lst': list %d has %d entries, list 0 has "
                        "%d: all must have the same length",
                        group, l, n, length);
    length = n;
    if (total + n > AIHW_INFERENCE_MAX_TABLE)
      return aihw_error(AIHW_ERR_FORMAT,
                        "inference parameter '%s.g_lst': more than %d entries in all", group,
                        AIHW_INFERENCE_MAX_TABLE);
    memcpy(table + total, entries, (size_t)n * sizeof(float));
    total += n;
  }
  memset(cv->g_lst, 0, sizeof cv->g_lst);
  memcpy(cv->g_lst, table, (size_t)total * sizeof(float));
  cv->n_g = total;
  return AIHW_OK;
}

static aihw_status converter_extra(const cJSON *item, void *context, int *known) {
  aihw_converter_params *cv = context;
  if (cv->type != AIHW_CONVERTER_CUSTOM_PAIR || strcmp(item->string, "g_lst") != 0)
    return AIHW_OK;
  *known = 1;
  return g_lst_from_json(item, cv);
}

static aihw_status converter_from_json(const cJSON *object, aihw_converter_params *cv) {
  static const char *group = "noise_model.g_converter";
  if (!cJSON_IsObject(object))
    return wrong_type("noise_model", "g_converter", object, "an object");
  int type = 0;
  AIHW_TRY(class_from_json(group, object, &aihw_inf_converter_enum, &type));
  *cv = aihw_converter_params_default((aihw_converter_type)type);
  if (cv->type == AIHW_CONVERTER_CUSTOM_PAIR) {
    /* g_lst and f_lst come together in aihwkit (both required): no default table. */
    int has_g_lst = cJSON_GetObjectItemCaseSensitive(object, "g_lst") != NULL;
    int has_f_lst = cJSON_GetObjectItemCaseSensitive(object, "f_lst") != NULL;
    if (has_f_lst != has_g_lst)
      return aihw_error(AIHW_ERR_FORMAT,
                        "inference parameter '%s': CustomPairConductanceConverter needs both "
                        "f_lst and g_lst (or neither, for the default)",
                        group);
  }
  AIHW_TRY(typed_fields_from_json(group, object, &aihw_inf_converter_table,
                                  &aihw_inf_converter_enum, type, cv, converter_extra, cv));
  /* The flat table keeps only the total, so the number of lists is checked here. */
  const cJSON *g_lst = cJSON_GetObjectItemCaseSensitive(object, "g_lst");
  if (cv->type == AIHW_CONVERTER_CUSTOM_PAIR && g_lst != NULL &&
      cJSON_GetArraySize(g_lst) != 2 * cv->n_f)
    return aihw_error(AIHW_ERR_FORMAT,
                      "inference parameter '%s.g_lst': %d lists: must be 2 per entry of f_lst "
                      "(g+ and g- of each pair: %d)",
                      group, cJSON_GetArraySize(g_lst), 2 * cv->n_f);
  return AIHW_OK;
}

typedef struct noise_context {
  aihw_noise_model_params *nm;
  aihw_converter_params *cv;
  int has_converter;
  char seen[3]; /* g_converter, custom_drift_model */
} noise_context;

static aihw_status custom_drift_from_json(const cJSON *object, aihw_noise_model_params *nm) {
  static const char *group = "noise_model.custom_drift_model";
  static const char *const keys[] = {"g_lst", "nu_mean_lst", "nu_std_lst"};
  if (!cJSON_IsObject(object))
    return wrong_type("noise_model", "custom_drift_model", object, "an object");
  float *tables[] = {nm->custom_g, nm->custom_nu_mean, nm->custom_nu_std};
  int counts[3] = {0, 0, 0};
  char seen[3] = {0, 0, 0};
  for (const cJSON *item = object->child; item != NULL; item = item->next) {
    int index = -1;
    for (int k = 0; k < 3 && index < 0; ++k)
      if (strcmp(item->string, keys[k]) == 0)
        index = k;
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT,
                        "unknown inference parameter '%s.%s' (keys: g_lst, nu_mean_lst, "
                        "nu_std_lst)",
                        group, item->string);
    AIHW_TRY(mark_seen(seen, index, group, item->string));
    AIHW_TRY(numbers_from_json(group, keys[index], item, tables[index], 1,
                               AIHW_INFERENCE_MAX_TABLE, &counts[index]));
  }
  for (int k = 0; k < 3; ++k)
    if (!seen[k])
      return aihw_error(AIHW_ERR_FORMAT, "inference parameter '%s': missing \"%s\"", group,
                        keys[k]);
  if (counts[1] != counts[0] || counts[2] != counts[0])
    return aihw_error(AIHW_ERR_FORMAT,
                      "inference parameter '%s': g_lst, nu_mean_lst and nu_std_lst have %d, "
                      "%d and %d entries: must have the same length",
                      group, counts[0], counts[1], counts[2]);
  nm->n_custom = counts[0];
  return AIHW_OK;
}

static aihw_status noise_extra(const cJSON *item, void *context, int *known) {
  noise_context *c = context;
  if (strcmp(item->string, "g_converter") == 0) {
    *known = 1;
    AIHW_TRY(mark_seen(c->seen, 0, "noise_model", item->string));
    c->has_converter = 1;
    return converter_from_json(item, c->cv);
  }
  if (strcmp(item->string, "custom_drift_model") == 0 &&
      c->nm->type == AIHW_NOISE_CUSTOM_DRIFT_PCM) {
    *known = 1;
    AIHW_TRY(mark_seen(c->seen, 1, "noise_model", item->string));
    return custom_drift_from_json(item, c->nm);
  }
  return AIHW_OK;
}

static aihw_status noise_model_from_json(const cJSON *object, aihw_noise_model_params *nm,
                                         aihw_converter_params *cv) {
  if (cJSON_IsNull(object)) {
    *nm = aihw_noise_model_params_default(AIHW_NOISE_NONE);
    return AIHW_OK;
  }
  if (!cJSON_IsObject(object))
    return wrong_type("", "noise_model", object, "an object or null");
  int type = 0;
  AIHW_TRY(class_from_json("noise_model", object, &aihw_inf_noise_model_enum, &type));
  *nm = aihw_noise_model_params_default((aihw_noise_model_type)type);
  *cv = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_PAIR);
  noise_context c = {nm, cv, 0, {0, 0, 0}};
  AIHW_TRY(typed_fields_from_json("noise_model", object, &aihw_inf_noise_model_table,
                                  &aihw_inf_noise_model_enum, type, nm, noise_extra, &c));
  int has_g_max = cJSON_GetObjectItemCaseSensitive(object, "g_max") != NULL;
  /* aihwkit: g_converter or SinglePairConductanceConverter(g_max); g_max from the
   * converter. Both given and different: validation names the mismatch. */
  if (c.has_converter && !has_g_max)
    nm->g_max = cv->g_max;
  else if (!c.has_converter && has_g_max)
    cv->g_max = nm->g_max;
  return AIHW_OK;
}

static aihw_status flat_from_json(const char *group, const cJSON *object, const inf_table *t,
                                  void *base) {
  if (!cJSON_IsObject(object))
    return wrong_type("", group, object, "an object");
  char seen[MAX_KEYS];
  memset(seen, 0, sizeof seen);
  for (const cJSON *item = object->child; item != NULL; item = item->next) {
    int index = find_field(t, item->string);
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown inference parameter '%s.%s'", group,
                        item->string);
    AIHW_TRY(mark_seen(seen, index, group, item->string));
    AIHW_TRY(field_from_json(group, &t->fields[index], item, base));
  }
  return AIHW_OK;
}

static aihw_status compensation_from_json(const cJSON *item, aihw_drift_compensation *out) {
  if (cJSON_IsNull(item)) {
    *out = AIHW_DRIFT_COMPENSATION_NONE;
    return AIHW_OK;
  }
  if (!cJSON_IsString(item))
    return wrong_type("", "drift_compensation", item, "a class name or null");
  int v = 0;
  AIHW_TRY(enum_from_json("", "drift_compensation", item, &aihw_inf_compensation_enum, &v));
  *out = (aihw_drift_compensation)v;
  return AIHW_OK;
}

static const char *const top_keys[] = {"noise_model", "drift_compensation", "clip", "remap",
                                       "modifier"};

static aihw_status object_from_json(const cJSON *root, aihw_inference_params *work) {
  char seen[5] = {0, 0, 0, 0, 0};
  for (const cJSON *item = root->child; item != NULL; item = item->next) {
    int index = -1;
    for (int k = 0; k < 5 && index < 0; ++k)
      if (strcmp(item->string, top_keys[k]) == 0)
        index = k;
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown inference parameter '%s'%s", item->string,
                        strcmp(item->string, "g_converter") == 0
                            ? " (the converter is noise_model.g_converter, as in aihwkit)"
                            : "");
    AIHW_TRY(mark_seen(seen, index, "", item->string));
    switch (index) {
    case 0: AIHW_TRY(noise_model_from_json(item, &work->noise_model, &work->converter)); break;
    case 1: AIHW_TRY(compensation_from_json(item, &work->drift_compensation)); break;
    case 2: AIHW_TRY(flat_from_json("clip", item, &aihw_inf_clip_table, &work->clip)); break;
    case 3: AIHW_TRY(flat_from_json("remap", item, &aihw_inf_remap_table, &work->remap)); break;
    default:
      AIHW_TRY(flat_from_json("modifier", item, &aihw_inf_modifier_table, &work->modifier));
      break;
    }
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_inference_params_from_json(const char *json,
                                                     aihw_inference_params *params) {
  AIHW_TRY(aihw_json_read_begin("aihw_inference_params_from_json", json, params));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  aihw_inference_params work = *params;
  aihw_status status = object_from_json(root, &work);
  cJSON_Delete(root);
  if (status != AIHW_OK)
    return status;
  AIHW_TRY(aihw_inference_params_validate(&work, NULL));
  *params = work;
  return AIHW_OK;
}
