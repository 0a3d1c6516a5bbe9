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
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aihw/device.h"
#include "core/error.h"
#include "core/json_util.h"
#include "devices/device_params_table.h"

/* The area word of JSON error messages ("device parameter 'drift.nu': ..."). */
#define AREA "device"

/* aihwkit device classes that are compounds of several devices (§5.10): recognised so that
 * such a file gets a clear UNSUPPORTED instead of "unknown type". */
static const char *const compound_classes[] = {
    "VectorUnitCell",          "ReferenceUnitCell",
    "OneSidedUnitCell",        "DifferenceUnitCell",
    "TransferCompound",        "BufferedTransferCompound",
    "ChoppedTransferCompound", "DynamicTransferCompound",
    "MixedPrecisionCompound",  NULL};

/* ---- output ------------------------------------------------------------------------- */

static cJSON *nodes_to_json(const aihw_device_params *p, const device_field *f) {
  const float *nodes = (const float *)(const void *)((const char *)p + f->offset);
  return aihw_json_float_array(nodes, p->piecewise_n);
}

static cJSON *drift_to_json(const aihw_device_params *p) {
  cJSON *object = cJSON_CreateObject();
  unsigned bit = AIHW_DEVICE_BIT(p->type);
  for (int i = 0; object != NULL && i < aihw_drift_field_count; ++i) {
    const device_field *d = &aihw_drift_fields[i];
    if ((d->types & bit) &&
        !aihw_json_add_item(object, d->name,
                            aihw_json_float_item(aihw_json_get_float(&p->drift, d->offset)))) {
      cJSON_Delete(object);
      return NULL;
    }
  }
  return object;
}

static cJSON *field_to_json(const aihw_device_params *p, const device_field *f) {
  switch (f->kind) {
  case DEVICE_FIELD_FLOAT: return aihw_json_float_item(aihw_json_get_float(p, f->offset));
  case DEVICE_FIELD_INT: return cJSON_CreateNumber((double)aihw_json_get_int(p, f->offset));
  case DEVICE_FIELD_BOOL: return cJSON_CreateBool(aihw_json_get_int(p, f->offset) != 0);
  case DEVICE_FIELD_SEED: return cJSON_CreateNumber((double)p->construction_seed);
  case DEVICE_FIELD_NODES: return nodes_to_json(p, f);
  case DEVICE_FIELD_DRIFT: return drift_to_json(p);
  }
  return NULL;
}

AIHW_API aihw_status aihw_device_params_to_json(const aihw_device_params *params,
                                                char **json_out) {
  static const char function[] = "aihw_device_params_to_json";
  AIHW_TRY(aihw_json_write_begin(function, params, json_out));
  /* Only valid parameters are written, so that what we write we can always read back. */
  AIHW_TRY(aihw_device_params_validate(params, NULL));

  unsigned bit = AIHW_DEVICE_BIT(params->type);
  cJSON *root = cJSON_CreateObject();
  int ok =
      root != NULL &&
      aihw_json_add_item(root, "type", cJSON_CreateString(aihw_device_type_name(params->type)));
  for (int i = 0; ok && i < aihw_device_field_count; ++i) {
    const device_field *f = &aihw_device_fields[i];
    if (f->types & bit)
      ok = aihw_json_add_item(root, f->name, field_to_json(params, f));
  }
  return aihw_json_write_end(function, root, ok, json_out);
}

/* ---- input -------------------------------------------------------------------------- */

/* piecewise_up / piecewise_down: 1..AIHW_PIECEWISE_MAX numbers; *n receives the length. */
static aihw_status nodes_from_json(const device_field *f, const cJSON *item,
                                   aihw_device_params *work, int *n) {
  if (!cJSON_IsArray(item))
    return aihw_json_wrong_type(AREA, NULL, f->name, item, "an array of numbers");
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
                        aihw_json_type_name(node));
    nodes[k] = (float)node->valuedouble;
  }
  memcpy((char *)work + f->offset, nodes, sizeof nodes);
  *n = count;
  return AIHW_OK;
}

static aihw_status drift_from_json(const cJSON *object, aihw_device_params *work) {
  if (!cJSON_IsObject(object))
    return aihw_json_wrong_type(AREA, NULL, "drift", object, "an object");
  unsigned bit = AIHW_DEVICE_BIT(work->type);
  const char *type_name = aihw_device_type_name(work->type);
  char seen[AIHW_DRIFT_FIELD_MAX];
  memset(seen, 0, sizeof seen);
  for (const cJSON *item = object->child; item != NULL; item = item->next) {
    int index = aihw_json_find_named(aihw_drift_fields, sizeof aihw_drift_fields[0],
                                     aihw_drift_field_count, item->string);
    if (index < 0)
      return aihw_error(AIHW_ERR_FORMAT, "unknown drift parameter 'drift.%s' for %s",
                        item->string, type_name);
    const device_field *d = &aihw_drift_fields[index];
    if (!(d->types & bit))
      return aihw_error(AIHW_ERR_FORMAT,
                        "drift parameter 'drift.%s' is not a field of %s (its drift has "
                        "only nu, t_0 and reset_tol, as aihwkit's SimpleDriftParameter)",
                        item->string, type_name);
    AIHW_TRY(aihw_json_mark_seen(AREA, "drift", item->string, seen, index));
    float v = 0.0f;
    AIHW_TRY(aihw_json_read_float(AREA, "drift", d->name, item, &v));
    aihw_json_set_float(&work->drift, d->offset, v);
  }
  return AIHW_OK;
}

/* Stores one JSON value into *work; node counts go to *n_up / *n_down. */
static aihw_status field_from_json(const device_field *f, const cJSON *item,
                                   aihw_device_params *work, int *n_up, int *n_down) {
  int v = 0; /* ints and booleans */
  switch (f->kind) {
  case DEVICE_FIELD_FLOAT: {
    /* Out-of-range doubles become +-inf, which validation rejects as not finite. */
    float x = 0.0f;
    AIHW_TRY(aihw_json_read_float(AREA, NULL, f->name, item, &x));
    aihw_json_set_float(work, f->offset, x);
    return AIHW_OK;
  }
  case DEVICE_FIELD_INT:
    AIHW_TRY(aihw_json_read_int(AREA, NULL, f->name, item, &v));
    aihw_json_set_int(work, f->offset, v);
    return AIHW_OK;
  case DEVICE_FIELD_SEED: {
    if (!cJSON_IsNumber(item))
      return aihw_json_wrong_type(AREA, NULL, f->name, item, "an integer in 0..4294967295");
    double d = item->valuedouble;
    if (!aihw_json_is_integral_in(d, 0.0, 4294967295.0))
      return aihw_error(AIHW_ERR_FORMAT,
                        "device parameter '%s': expected an integer in 0..4294967295, got "
                        "%.17g",
                        f->name, d);
    work->construction_seed = (uint32_t)d;
    return AIHW_OK;
  }
  case DEVICE_FIELD_BOOL:
    AIHW_TRY(aihw_json_read_bool(AREA, NULL, f->name, item, &v));
    aihw_json_set_int(work, f->offset, v);
    return AIHW_OK;
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
  const char *name = NULL;
  AIHW_TRY(aihw_json_read_string(AREA, NULL, "type", found, &name));
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
    int index = aihw_json_find_named(aihw_device_fields, sizeof aihw_device_fields[0],
                                     aihw_device_field_count, item->string);
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
    AIHW_TRY(aihw_json_mark_seen(AREA, NULL, item->string, seen, index));
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
  AIHW_TRY(aihw_json_read_begin("aihw_device_params_from_json", json, params));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  aihw_device_params work;
  aihw_status status = object_from_json(root, &work);
  cJSON_Delete(root);
  if (status != AIHW_OK)
    return status;
  AIHW_TRY(aihw_device_params_validate(&work, NULL));
  *params = work;
  return AIHW_OK;
}
