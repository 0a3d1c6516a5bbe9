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
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/inference.h"
#include "core/error.h"
#include "inference/inference_params_table.h"

/* ---- output ------------------------------------------------------------------------- */

/* The shortest decimal text that reads back (strtod, then to float) to exactly v; 9
 * significant digits always suffice for float32. Only validated, finite values arrive. */
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

static cJSON *float_item(float v) {
  char text[40];
  format_float(v, text, sizeof text);
  return cJSON_CreateRaw(text);
}

static float get_float(const void *base, size_t offset) {
  float v;
  memcpy(&v, (const char *)base + offset, sizeof v);
  return v;
}

static int get_int(const void *base, size_t offset) {
  int v;
  memcpy(&v, (const char *)base + offset, sizeof v);
  return v;
}

/* Adds item to object (or array if name is NULL); frees item and returns 0 on failure. */
static int add_item(cJSON *to, const char *name, cJSON *item) {
  int ok = item != NULL && (name != NULL ? cJSON_AddItemToObject(to, name, item)
                                         : cJSON_AddItemToArray(to, item));
  if (!ok)
    cJSON_Delete(item);
  return ok;
}

static cJSON *float_array(const float *v, int n) {
  cJSON *array = cJSON_CreateArray();
  for (int k = 0; array != NULL && k < n; ++k) {
    if (!add_item(array, NULL, float_item(v[k]))) {
      cJSON_Delete(array);
      return NULL;
    }
  }
  return array;
}

static cJSON *field_to_json(const void *base, const inf_field *f) {
  switch (f->kind) {
  case INF_FLOAT: return float_item(get_float(base, f->offset));
  case INF_BOOL: return cJSON_CreateBool(get_int(base, f->offset) != 0);
  case INF_ENUM:
    return cJSON_CreateString(aihw_inf_enum_name(f->enumeration, get_int(base, f->offset)));
  case INF_LIST:
    return float_array((const float *)(const void *)((const char *)base + f->offset),
                       get_int(base, f->count_offset));
  }
  return NULL;
}

/* Adds the fields of table t that type_bit has to object; 0 on failure. */
static int add_fields(cJSON *object, const void *base, const inf_table *t, unsigned type_bit) {
  for (int i = 0; i < t->count; ++i)
    if ((t->fields[i].types & type_bit) &&
        !add_item(object, t->fields[i].name, field_to_json(base, &t->fields[i])))
      return 0;
  return 1;
}

static cJSON *converter_to_json(const aihw_converter_params *cv) {
  cJSON *object = cJSON_CreateObject();
  int ok =
      object != NULL &&
      add_item(object, "type",
               cJSON_CreateString(aihw_inf_enum_name(&aihw_inf_converter_enum, cv->type))) &&
      add_fields(object, cv, &aihw_inf_converter_table, AIHW_INF_BIT(cv->type));
  if (ok && cv->type == AIHW_CONVERTER_CUSTOM_PAIR) {
    /* aihwkit's list of 2 n_f lists (g+ and g- of each pair). */
    const int lists = 2 * cv->n_f, length = cv->n_g / lists;
    cJSON *outer = cJSON_CreateArray();
    for (int l = 0; outer != NULL && l < lists; ++l) {
      if (!add_item(outer, NULL, float_array(cv->g_lst + l * length, length))) {
        cJSON_Delete(outer);
        outer = NULL;
      }
    }
    ok = add_item(object, "g_lst", outer);
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
  int ok =
      object != NULL &&
      add_item(object, "type",
               cJSON_CreateString(aihw_inf_enum_name(&aihw_inf_noise_model_enum, nm->type))) &&
      add_fields(object, nm, &aihw_inf_noise_model_table, AIHW_INF_BIT(nm->type));
  if (ok && nm->type == AIHW_NOISE_CUSTOM_DRIFT_PCM) {
    cJSON *table = cJSON_CreateObject();
    ok = table != NULL && add_item(table, "g_lst", float_array(nm->custom_g, nm->n_custom)) &&
         add_item(table, "nu_mean_lst", float_array(nm->custom_nu_mean, nm->n_custom)) &&
         add_item(table, "nu_std_lst", float_array(nm->custom_nu_std, nm->n_custom));
    if (!ok)
      cJSON_Delete(table);
    else
      ok = add_item(object, "custom_drift_model", table);
  }
  if (ok)
    ok = add_item(object, "g_converter", converter_to_json(cv));
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
  if (json_out != NULL)
    *json_out = NULL;
  if (params == NULL || json_out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_inference_params_to_json: %s is NULL",
                      params == NULL ? "params" : "json_out");
  /* Only valid parameters are written, so that what we write we can always read back. */
  AIHW_TRY(aihw_inference_params_validate(params, NULL));

  const char *compensation =
      aihw_inf_enum_name(&aihw_inf_compensation_enum, params->drift_compensation);
  cJSON *root = cJSON_CreateObject();
  int ok =
      root != NULL &&
      add_item(root, "noise_model",
               noise_model_to_json(&params->noise_model, &params->converter)) &&
      add_item(root, "drift_compensation",
               compensation != NULL ? cJSON_CreateString(compensation) : cJSON_CreateNull()) &&
      add_item(root, "clip", flat_to_json(&params->clip, &aihw_inf_clip_table)) &&
      add_item(root, "remap", flat_to_json(&params->remap, &aihw_inf_remap_table)) &&
      add_item(root, "modifier", flat_to_json(&params->modifier, &aihw_inf_modifier_table));
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_inference_params_to_json: out of memory");
  *json_out = text;
  return AIHW_OK;
}

/* ---- input -------------------------------------------------------------------------- */

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

/* Key paths in messages: "noise_model.g_converter.g_max". */
static aihw_status wrong_type(const char *group, const char *name, const cJSON *item,
                              const char *expected) {
  return aihw_error(AIHW_ERR_FORMAT, "inference parameter '%s%s%s': expected %s, got %s", group,
                    group[0] != '\0' ? "." : "", name, expected, json_type_name(item));
}

static void set_float(void *base, size_t offset, float v) {
  memcpy((char *)base + offset, &v, sizeof v);
}

static void set_int(void *base, size_t offset, int v) {
  memcpy((char *)base + offset, &v, sizeof v);
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
                        group, name, k, json_type_name(v));
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
  if (!cJSON_IsString(item))
    return wrong_type(group, name, item, "a string");
  const char *s = item->valuestring;
  for (int v = 0; v < e->count; ++v) {
    if ((e->names[v] != NULL && strcmp(s, e->names[v]) == 0) ||
        (e->values != NULL && strcmp(s, e->values[v]) == 0)) {
      *out = v;
      return AIHW_OK;
    }
  }
  for (const inf_unsupported *u = e->unsupported; u != NULL && u->name != NULL; ++u)
    if (strcmp(s, u->name) == 0 || (u->value != NULL && strcmp(s, u->value) == 0))
      return aihw_error(AIHW_ERR_UNSUPPORTED,
                        "inference parameter '%s%s%s': %s is not supported: it %s", group,
                        group[0] != '\0' ? "." : "", name, u->name, u->reason);
  return aihw_error(AIHW_ERR_FORMAT,
                    "inference parameter '%s%s%s': unknown value '%s' "
                    "(allowed: %s)",
                    group, group[0] != '\0' ? "." : "", name, s,
                    aihw_inf_enum_list(e, list, sizeof list));
}

static aihw_status field_from_json(const char *group, const inf_field *f, const cJSON *item,
                                   void *base) {
  switch (f->kind) {
  case INF_FLOAT:
    if (!cJSON_IsNumber(item))
      return wrong_type(group, f->name, item, "a number");
    set_float(base, f->offset, (float)item->valuedouble);
    return AIHW_OK;
  case INF_BOOL:
    if (cJSON_IsBool(item)) {
      set_int(base, f->offset, cJSON_IsTrue(item) ? 1 : 0);
      return AIHW_OK;
    }
    if (cJSON_IsNumber(item) && (item->valuedouble == 0.0 || item->valuedouble == 1.0)) {
      set_int(base, f->offset, item->valuedouble == 1.0);
      return AIHW_OK;
    }
    return wrong_type(group, f->name, item, "true/false (or 0/1)");
  case INF_ENUM: {
    int v = 0;
    AIHW_TRY(enum_from_json(group, f->name, item, f->enumeration, &v));
    set_int(base, f->offset, v);
    return AIHW_OK;
  }
  case INF_LIST: {
    int n = 0;
    float *array = (float *)(void *)((char *)base + f->offset);
    AIHW_TRY(numbers_from_json(group, f->name, item, array, 1, f->max_count, &n));
    set_int(base, f->count_offset, n);
    return AIHW_OK;
  }
  }
  return aihw_error(AIHW_ERR_INTERNAL, "inference_params: bad field kind");
}

/* Index of key in t, or -1. */
static int find_field(const inf_table *t, const char *key) {
  for (int i = 0; i < t->count; ++i)
    if (strcmp(t->fields[i].name, key) == 0)
      return i;
  return -1;
}

#define MAX_KEYS 40 /* more than any table has fields (+ hand-written keys) */

/* Sets seen[index]; FORMAT error if already set. */
static aihw_status mark_seen(char *seen, int index, const char *group, const char *key) {
  if (seen[index])
    return aihw_error(AIHW_ERR_FORMAT, "inference parameter '%s%s%s' appears twice", group,
                      group[0] != '\0' ? "." : "", key);
  seen[index] = 1;
  return AIHW_OK;
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
  if (json == NULL || params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_inference_params_from_json: %s is NULL",
                      json == NULL ? "json" : "params");
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
  if (root == NULL) {
    size_t at = end != NULL && end >= json ? (size_t)(end - json) : 0;
    return aihw_error(AIHW_ERR_FORMAT,
                      "inference parameters: JSON parse error at byte %zu near '%.20s'", at,
                      json + at);
  }
  if (!cJSON_IsObject(root)) {
    aihw_status s =
        aihw_error(AIHW_ERR_FORMAT, "inference parameters: expected a JSON object, got %s",
                   json_type_name(root));
    cJSON_Delete(root);
    return s;
  }
  aihw_inference_params work = *params;
  aihw_status status = object_from_json(root, &work);
  cJSON_Delete(root);
  if (status != AIHW_OK)
    return status;
  AIHW_TRY(aihw_inference_params_validate(&work, NULL));
  *params = work;
  return AIHW_OK;
}
