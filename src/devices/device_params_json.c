/* JSON read/write of aihw_device_params: {"type": "<aihwkit class name>", <fields of that
 * class>..., "drift": {...}}, with aihwkit's field names (reference §5.1–5.9).
 *
 * Both directions walk the field table of device_params_table.h and touch only the fields
 * of the given type, so a file lists exactly what aihwkit's dataclass of that class has.
 * piecewise_up/piecewise_down are arrays (piecewise_n is their common length).
 * Invariants: reading starts from the defaults of the file's "type", works on a copy and
 * stores it only after the whole object parsed and validated; writing emits each float
 * with the fewest decimal digits that read back to the same float32, so a write/read
 * round trip is bit-exact.
 */
#include <cjson/cJSON.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/device.h"
#include "core/error.h"
#include "devices/device_params_table.h"

/* aihwkit device classes that are compounds of several devices (§5.10): recognised so that
 * such a file gets a clear UNSUPPORTED instead of "unknown type". */
static const char *const compound_classes[] = {
    "VectorUnitCell",          "ReferenceUnitCell",
    "OneSidedUnitCell",        "DifferenceUnitCell",
    "TransferCompound",        "BufferedTransferCompound",
    "ChoppedTransferCompound", "DynamicTransferCompound",
    "MixedPrecisionCompound",  NULL};

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

static cJSON *nodes_to_json(const aihw_device_params *p, const device_field *f) {
  cJSON *array = cJSON_CreateArray();
  const float *nodes = (const float *)(const void *)((const char *)p + f->offset);
  for (int k = 0; array != NULL && k < p->piecewise_n; ++k) {
    if (!add_item(array, NULL, float_item(nodes[k]))) {
      cJSON_Delete(array);
      return NULL;
    }
  }
  return array;
}

static cJSON *drift_to_json(const aihw_device_params *p) {
  cJSON *object = cJSON_CreateObject();
  unsigned bit = AIHW_DEVICE_BIT(p->type);
  for (int i = 0; object != NULL && i < aihw_drift_field_count; ++i) {
    const device_field *d = &aihw_drift_fields[i];
    if ((d->types & bit) &&
        !add_item(object, d->name, float_item(get_float(&p->drift, d->offset)))) {
      cJSON_Delete(object);
      return NULL;
    }
  }
  return object;
}

static cJSON *field_to_json(const aihw_device_params *p, const device_field *f) {
  switch (f->kind) {
  case DEVICE_FIELD_FLOAT: return float_item(get_float(p, f->offset));
  case DEVICE_FIELD_INT: return cJSON_CreateNumber((double)get_int(p, f->offset));
  case DEVICE_FIELD_BOOL: return cJSON_CreateBool(get_int(p, f->offset) != 0);
  case DEVICE_FIELD_SEED: return cJSON_CreateNumber((double)p->construction_seed);
  case DEVICE_FIELD_NODES: return nodes_to_json(p, f);
  case DEVICE_FIELD_DRIFT: return drift_to_json(p);
  }
  return NULL;
}

AIHW_API aihw_status aihw_device_params_to_json(const aihw_device_params *params,
                                                char **json_out) {
  if (json_out != NULL)
    *json_out = NULL;
  if (params == NULL || json_out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_device_params_to_json: %s is NULL",
                      params == NULL ? "params" : "json_out");
  /* Only valid parameters are written, so that what we write we can always read back. */
  AIHW_TRY(aihw_device_params_validate(params, NULL));

  unsigned bit = AIHW_DEVICE_BIT(params->type);
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL &&
           add_item(root, "type", cJSON_CreateString(aihw_device_type_name(params->type)));
  for (int i = 0; ok && i < aihw_device_field_count; ++i) {
    const device_field *f = &aihw_device_fields[i];
    if (f->types & bit)
      ok = add_item(root, f->name, field_to_json(params, f));
  }
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_device_params_to_json: out of memory");
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

/* "'drift.nu'" style key names in messages: group is NULL or "drift". */
static aihw_status wrong_type(const char *group, const char *name, const cJSON *item,
                              const char *expected) {
  return aihw_error(AIHW_ERR_FORMAT, "device parameter '%s%s%s': expected %s, got %s",
                    group != NULL ? group : "", group != NULL ? "." : "", name, expected,
                    json_type_name(item));
}

static void set_float(void *base, size_t offset, float v) {
  memcpy((char *)base + offset, &v, sizeof v);
}

static void set_int(void *base, size_t offset, int v) {
  memcpy((char *)base + offset, &v, sizeof v);
}

static aihw_status float_from_json(const char *group, const char *name, const cJSON *item,
                                   float *out) {
  if (!cJSON_IsNumber(item))
    return wrong_type(group, name, item, "a number");
  /* Out-of-range doubles become +-inf, which validation rejects as not finite. */
  *out = (float)item->valuedouble;
  return AIHW_OK;
}

/* piecewise_up / piecewise_down: 1..AIHW_PIECEWISE_MAX numbers; *n receives the length. */
static aihw_status nodes_from_json(const device_field *f, const cJSON *item,
                                   aihw_device_params *work, int *n) {
  if (!cJSON_IsArray(item))
    return wrong_type(NULL, f->name, item, "an array of numbers");
  int count = cJSON_GetArraySize(item);
  if (count < 1 || count > AIHW_PIECEWISE_MAX)
    return aihw_error(AIHW_ERR_FORMAT, "device parameter '%s': expected 1 to %d nodes, got %d",
                      f->name, AIHW_PIECEWISE_MAX, count);
  float nodes[AIHW_PIECEWISE_MAX];
  memset(nodes, 0, sizeof nodes); /* unused nodes are 0, as in the defaults */
  int k = 0;
  for (const cJSON *node = item->child; node != NULL; node = node->next, ++k) {
    if (!cJSON_IsNumber(node))
      return aihw_error(AIHW_ERR_FORMAT,
                        "device parameter '%s': node %d: expected a number, got %s", f->name, k,
                        json_type_name(node));
    nodes[k] = (float)node->valuedouble;
  }
  memcpy((char *)work + f->offset, nodes, sizeof nodes);
  *n = count;
  return AIHW_OK;
}

static aihw_status drift_from_json(const cJSON *object, aihw_device_params *work) {
  if (!cJSON_IsObject(object))
    return wrong_type(NULL, "drift", object, "an object");
  unsigned bit = AIHW_DEVICE_BIT(work->type);
  const char *type_name = aihw_device_type_name(work->type);
  char seen[AIHW_DRIFT_FIELD_MAX];
  memset(seen, 0, sizeof seen);
  for (const cJSON *item = object->child; item != NULL; item = item->next) {
    int index = -1;
    for (int i = 0; i < aihw_drift_field_count && index < 0; ++i)
      if (strcmp(item->string, aihw_drift_fields[i].name) == 0)
        index = i;
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown drift parameter 'drift.%s' for %s",
                        item->string, type_name);
    const device_field *d = &aihw_drift_fields[index];
    if (!(d->types & bit))
      return aihw_error(AIHW_ERR_FORMAT,
                        "drift parameter 'drift.%s' is not a field of %s (its drift has "
                        "only nu, t_0 and reset_tol, as aihwkit's SimpleDriftParameter)",
                        item->string, type_name);
    if (seen[index])
      return aihw_error(AIHW_ERR_FORMAT, "device parameter 'drift.%s' appears twice",
                        item->string);
    seen[index] = 1;
    float v = 0.0f;
    AIHW_TRY(float_from_json("drift", d->name, item, &v));
    set_float(&work->drift, d->offset, v);
  }
  return AIHW_OK;
}

/* Stores one JSON value into *work; node counts go to *n_up / *n_down. */
static aihw_status field_from_json(const device_field *f, const cJSON *item,
                                   aihw_device_params *work, int *n_up, int *n_down) {
  switch (f->kind) {
  case DEVICE_FIELD_FLOAT: {
    float v = 0.0f;
    AIHW_TRY(float_from_json(NULL, f->name, item, &v));
    set_float(work, f->offset, v);
    return AIHW_OK;
  }
  case DEVICE_FIELD_INT: {
    if (!cJSON_IsNumber(item))
      return wrong_type(NULL, f->name, item, "an integer");
    double d = item->valuedouble;
    if (!(d == floor(d) && d >= -2147483648.0 && d <= 2147483647.0))
      return aihw_error(AIHW_ERR_FORMAT,
                        "device parameter '%s': expected an integer in int range, got %.17g",
                        f->name, d);
    set_int(work, f->offset, (int)d);
    return AIHW_OK;
  }
  case DEVICE_FIELD_SEED: {
    if (!cJSON_IsNumber(item))
      return wrong_type(NULL, f->name, item, "an integer in 0..4294967295");
    double d = item->valuedouble;
    if (!(d == floor(d) && d >= 0.0 && d <= 4294967295.0))
      return aihw_error(AIHW_ERR_FORMAT,
                        "device parameter '%s': expected an integer in 0..4294967295, got "
                        "%.17g",
                        f->name, d);
    work->construction_seed = (uint32_t)d;
    return AIHW_OK;
  }
  case DEVICE_FIELD_BOOL:
    if (cJSON_IsBool(item)) {
      set_int(work, f->offset, cJSON_IsTrue(item) ? 1 : 0);
      return AIHW_OK;
    }
    if (cJSON_IsNumber(item) && (item->valuedouble == 0.0 || item->valuedouble == 1.0)) {
      set_int(work, f->offset, item->valuedouble == 1.0);
      return AIHW_OK;
    }
    if (cJSON_IsNumber(item))
      return aihw_error(AIHW_ERR_FORMAT,
                        "device parameter '%s': expected true/false (or 0/1), got %.17g",
                        f->name, item->valuedouble);
    return wrong_type(NULL, f->name, item, "true/false (or 0/1)");
  case DEVICE_FIELD_NODES:
    return nodes_from_json(
        f, item, work, f->offset == offsetof(aihw_device_params, piecewise_up) ? n_up : n_down);
  case DEVICE_FIELD_DRIFT: return drift_from_json(item, work);
  }
  return aihw_error(AIHW_ERR_INTERNAL, "device_params: bad field kind");
}

/* The value of the one "type" key of root. */
static aihw_status type_from_json(const cJSON *root, aihw_device_type *type) {
  const cJSON *found = NULL;
  for (const cJSON *item = root->child; item != NULL; item = item->next) {
    if (strcmp(item->string, "type") != 0)
      continue;
    if (found != NULL)
      return aihw_error(AIHW_ERR_FORMAT, "device parameter 'type' appears twice");
    found = item;
  }
  if (found == NULL)
    return aihw_error(AIHW_ERR_FORMAT, "device parameters: missing \"type\" (one of %s)",
                      AIHW_DEVICE_TYPE_LIST);
  if (!cJSON_IsString(found))
    return wrong_type(NULL, "type", found, "a string");
  const char *name = found->valuestring;
  for (int i = 0; i < AIHW_DEVICE_TYPE_COUNT; ++i) {
    if (strcmp(name, aihw_device_type_name((aihw_device_type)i)) == 0) {
      *type = (aihw_device_type)i;
      return AIHW_OK;
    }
  }
  for (int i = 0; compound_classes[i] != NULL; ++i)
    if (strcmp(name, compound_classes[i]) == 0)
      return aihw_error(AIHW_ERR_UNSUPPORTED,
                        "device type '%s' is an aihwkit compound device (reference §5.10), "
                        "which aihw does not model; single devices: %s",
                        name, AIHW_DEVICE_TYPE_LIST);
  return aihw_error(AIHW_ERR_FORMAT, "unknown device type '%s' (allowed: %s)", name,
                    AIHW_DEVICE_TYPE_LIST);
}

static aihw_status object_from_json(const cJSON *root, aihw_device_params *work) {
  aihw_device_type type = AIHW_DEVICE_IDEAL;
  AIHW_TRY(type_from_json(root, &type));
  *work = aihw_device_params_default(type);
  const char *type_name = aihw_device_type_name(type);
  unsigned bit = AIHW_DEVICE_BIT(type);
  int n_up = work->piecewise_n, n_down = work->piecewise_n;
  char seen[AIHW_DEVICE_FIELD_MAX];
  memset(seen, 0, sizeof seen);
  for (const cJSON *item = root->child; item != NULL; item = item->next) {
    if (strcmp(item->string, "type") == 0)
      continue;
    int index = -1;
    for (int i = 0; i < aihw_device_field_count && index < 0; ++i)
      if (strcmp(item->string, aihw_device_fields[i].name) == 0)
        index = i;
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown device parameter '%s' for %s%s", item->string,
                        type_name,
                        strcmp(item->string, "piecewise_n") == 0
                            ? " (the number of nodes is the length of piecewise_up)"
                            : "");
    const device_field *f = &aihw_device_fields[index];
    if (!(f->types & bit))
      return aihw_error(AIHW_ERR_FORMAT, "device parameter '%s' is not a field of %s%s",
                        item->string, type_name,
                        type == AIHW_DEVICE_SOFT_BOUNDS_PMAX
                            ? " (SoftBoundsPmaxDevice derives w_min, w_max, dw_min and "
                              "up_down from p_max, alpha, range_min and range_max)"
                            : "");
    if (seen[index])
      return aihw_error(AIHW_ERR_FORMAT, "device parameter '%s' appears twice", item->string);
    seen[index] = 1;
    AIHW_TRY(field_from_json(f, item, work, &n_up, &n_down));
  }
  if (type == AIHW_DEVICE_PIECEWISE_STEP) {
    if (n_up != n_down)
      return aihw_error(AIHW_ERR_FORMAT,
                        "device parameters: piecewise_up has %d nodes but piecewise_down has "
                        "%d: both must have the same length",
                        n_up, n_down);
    work->piecewise_n = n_up;
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_device_params_from_json(const char *json,
                                                  aihw_device_params *params) {
  if (json == NULL || params == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_device_params_from_json: %s is NULL",
                      json == NULL ? "json" : "params");
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(json, &end, 1);
  if (root == NULL) {
    size_t at = end != NULL && end >= json ? (size_t)(end - json) : 0;
    return aihw_error(AIHW_ERR_FORMAT,
                      "device parameters: JSON parse error at byte %zu near '%.20s'", at,
                      json + at);
  }
  if (!cJSON_IsObject(root)) {
    aihw_status s =
        aihw_error(AIHW_ERR_FORMAT, "device parameters: expected a JSON object, got %s",
                   json_type_name(root));
    cJSON_Delete(root);
    return s;
  }
  aihw_device_params work;
  aihw_status status = object_from_json(root, &work);
  cJSON_Delete(root);
  if (status != AIHW_OK)
    return status;
  AIHW_TRY(aihw_device_params_validate(&work, NULL));
  *params = work;
  return AIHW_OK;
}
