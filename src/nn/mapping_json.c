/* JSON of the mapping parameters (aihwkit MappingParameter, reference §7.3) and of a whole
 * RPU configuration with its "mapping" area (aihwkit's RPUConfig.mapping). The tile layer
 * reads every other area (aihw_tile_config_from_json); the mapping belongs to the module
 * layer, so the combined reader here takes the "mapping" member out of the object and
 * hands the rest to the tile reader. Keys are aihwkit's field names; absent fields keep
 * aihw_mapping_params_default()'s values; unknown keys, duplicates and wrong types are
 * FORMAT errors naming the key. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/nn.h"
#include "core/error.h"
#include "core/json_util.h"
#include "nn/module_internal.h"
#include "tile/tile_internal.h"

#define AREA "mapping"

enum field_type { FIELD_FLAG, FIELD_FLOAT, FIELD_SIZE };

typedef struct mapping_field {
  const char *name;
  enum field_type type;
  size_t offset;
} mapping_field;

static const mapping_field FIELDS[] = {
    {"digital_bias", FIELD_FLAG, offsetof(aihw_mapping_params, digital_bias)},
    {"weight_scaling_omega", FIELD_FLOAT, offsetof(aihw_mapping_params, weight_scaling_omega)},
    {"weight_scaling_columnwise", FIELD_FLAG,
     offsetof(aihw_mapping_params, weight_scaling_columnwise)},
    {"weight_scaling_lr_compensation", FIELD_FLAG,
     offsetof(aihw_mapping_params, weight_scaling_lr_compensation)},
    {"learn_out_scaling", FIELD_FLAG, offsetof(aihw_mapping_params, learn_out_scaling)},
    {"out_scaling_columnwise", FIELD_FLAG, offsetof(aihw_mapping_params, out_scaling_columnwise)},
    {"max_input_size", FIELD_SIZE, offsetof(aihw_mapping_params, max_input_size)},
    {"max_output_size", FIELD_SIZE, offsetof(aihw_mapping_params, max_output_size)},
    /* [aihw] extension, last: written only when 0 (aihwkit's JSON has no such key) */
    {"handle_output_bound", FIELD_FLAG, offsetof(aihw_mapping_params, handle_output_bound)},
};
#define N_FIELDS ((int)(sizeof FIELDS / sizeof FIELDS[0]))

static cJSON *mapping_to_cjson(const aihw_mapping_params *m) {
  cJSON *o = cJSON_CreateObject();
  int ok = o != NULL;
  for (int k = 0; ok && k < N_FIELDS; ++k) {
    const mapping_field *f = &FIELDS[k];
    const char *base = (const char *)m + f->offset;
    if (k == N_FIELDS - 1 && m->handle_output_bound)
      break;
    cJSON *item = NULL;
    if (f->type == FIELD_FLAG)
      item = cJSON_CreateBool(*(const int *)(const void *)base);
    else if (f->type == FIELD_FLOAT)
      item = aihw_json_float_item(*(const float *)(const void *)base);
    else
      item = cJSON_CreateNumber((double)*(const int64_t *)(const void *)base);
    ok = aihw_json_add_item(o, f->name, item);
  }
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

AIHW_API aihw_status aihw_mapping_params_to_json(const aihw_mapping_params *params,
                                                 char **json_out) {
  static const char *fn = "aihw_mapping_params_to_json";
  AIHW_TRY(aihw_json_write_begin(fn, params, json_out));
  AIHW_TRY(aihw_mapping_params_validate(params, AREA));
  cJSON *root = mapping_to_cjson(params);
  return aihw_json_write_end(fn, root, root != NULL, json_out);
}

/* Reads the members of object `o` into *m (which holds the defaults); group names the
 * object's key path in messages. */
static aihw_status mapping_from_cjson(const cJSON *o, const char *group,
                                      aihw_mapping_params *m) {
  char seen[N_FIELDS] = {0};
  for (const cJSON *item = o->child; item != NULL; item = item->next) {
    const int k = aihw_json_find_named(FIELDS, sizeof FIELDS[0], N_FIELDS, item->string);
    if (k < 0)
      return aihw_error(AIHW_ERR_FORMAT,
                        AREA " parameter '%s%s%s': unknown key (allowed: digital_bias, "
                             "weight_scaling_omega, weight_scaling_columnwise, "
                             "weight_scaling_lr_compensation, learn_out_scaling, "
                             "out_scaling_columnwise, max_input_size, max_output_size, "
                             "handle_output_bound)",
                        group != NULL ? group : "", group != NULL ? "." : "", item->string);
    AIHW_TRY(aihw_json_mark_seen(AREA, group, item->string, seen, k));
    const mapping_field *f = &FIELDS[k];
    char *base = (char *)m + f->offset;
    if (f->type == FIELD_FLAG) {
      AIHW_TRY(aihw_json_read_bool(AREA, group, f->name, item, (int *)(void *)base));
    } else if (f->type == FIELD_FLOAT) {
      AIHW_TRY(aihw_json_read_float(AREA, group, f->name, item, (float *)(void *)base));
    } else {
      if (!cJSON_IsNumber(item))
        return aihw_json_wrong_type(AREA, group, f->name, item, "an integer");
      if (!aihw_json_is_integral_in(item->valuedouble, 0.0, 9007199254740992.0))
        return aihw_error(AIHW_ERR_FORMAT,
                          AREA " parameter '%s%s%s': expected an integer >= 0, got %.17g",
                          group != NULL ? group : "", group != NULL ? "." : "", f->name,
                          item->valuedouble);
      *(int64_t *)(void *)base = (int64_t)item->valuedouble;
    }
  }
  return aihw_mapping_params_validate(m, AREA);
}

AIHW_API aihw_status aihw_mapping_params_from_json(const char *json,
                                                   aihw_mapping_params *params) {
  AIHW_TRY(aihw_json_read_begin("aihw_mapping_params_from_json", json, params));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  aihw_mapping_params m = aihw_mapping_params_default();
  aihw_status s = mapping_from_cjson(root, NULL, &m);
  cJSON_Delete(root);
  if (s == AIHW_OK)
    *params = m;
  return s;
}

AIHW_API aihw_status aihw_rpu_config_from_json(const char *json, aihw_tile_config *config,
                                               aihw_mapping_params *mapping) {
  static const char *fn = "aihw_rpu_config_from_json";
  if (json == NULL || config == NULL || mapping == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      json == NULL ? "json" : config == NULL ? "config" : "mapping");
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object("RPU config", json, &root));
  aihw_mapping_params m = aihw_mapping_params_default();
  aihw_status s = AIHW_OK;
  cJSON *mj = cJSON_DetachItemFromObjectCaseSensitive(root, "mapping");
  if (mj != NULL) {
    if (cJSON_GetObjectItemCaseSensitive(root, "mapping") != NULL)
      s = aihw_error(AIHW_ERR_FORMAT, AREA " parameter 'mapping' appears twice");
    else if (!cJSON_IsObject(mj))
      s = aihw_json_wrong_type("RPU config", NULL, "mapping", mj, "an object");
    else
      s = mapping_from_cjson(mj, "mapping", &m);
    cJSON_Delete(mj);
  }
  cJSON *pp = s == AIHW_OK ? cJSON_DetachItemFromObjectCaseSensitive(root, "pre_post") : NULL;
  if (pp != NULL) { /* aihwkit's PrePostProcessingParameter: {"input_range": {..}} */
    if (cJSON_GetObjectItemCaseSensitive(root, "pre_post") != NULL)
      s = aihw_error(AIHW_ERR_FORMAT, "RPU config parameter 'pre_post' appears twice");
    else if (!cJSON_IsObject(pp))
      s = aihw_json_wrong_type("RPU config", NULL, "pre_post", pp, "an object");
    for (const cJSON *item = pp->child; s == AIHW_OK && item != NULL; item = item->next) {
      if (strcmp(item->string, "input_range") != 0)
        s = aihw_error(AIHW_ERR_FORMAT,
                       "RPU config parameter 'pre_post.%s': unknown key (allowed: input_range)",
                       item->string);
      else
        s = aihw_input_range_from_cjson(item, "pre_post.input_range", &m.input_range);
    }
    cJSON_Delete(pp);
  }
  char *rest = NULL;
  if (s == AIHW_OK) {
    rest = aihw_json_print_exact(root); /* keeps infinities as 1e999 */
    if (rest == NULL)
      s = aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  cJSON_Delete(root);
  aihw_tile_config tc;
  if (s == AIHW_OK)
    s = aihw_tile_config_from_json(rest, &tc);
  free(rest);
  if (s == AIHW_OK) {
    *config = tc;
    *mapping = m;
  }
  return s;
}
