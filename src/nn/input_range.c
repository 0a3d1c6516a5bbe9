/* Input-range parameters (aihwkit InputRangeParameter, RPUConfig.pre_post.input_range,
 * reference §8.3): defaults, validation and JSON with aihwkit's field names. The forward,
 * gradient and update arithmetic lives with the layer (linear_hwa.c). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/nn.h"
#include "core/error.h"
#include "core/json_util.h"
#include "nn/module_internal.h"
#include "tile/tile_internal.h"

#define AREA "input_range"

AIHW_API aihw_input_range_params aihw_input_range_params_default(void) {
  aihw_input_range_params p;
  memset(&p, 0, sizeof p);
  p.enable = 0;
  p.learn_input_range = 1;
  p.init_value = 3.0f;
  p.init_from_data = 100;
  p.init_std_alpha = 3.0f;
  p.decay = 0.001f;
  p.input_min_percentage = 0.95f;
  p.manage_output_clipping = 0;
  p.output_min_percentage = 0.95f;
  p.gradient_scale = 1.0f;
  p.gradient_relative = 1;
  return p;
}

static aihw_status flag(int v, const char *what, const char *name) {
  if (v != 0 && v != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: input_range.%s = %d: must be 0 or 1",
                      what, name, v);
  return AIHW_OK;
}

static aihw_status number(float v, float lo, float hi, int lo_open, const char *what,
                          const char *name, const char *range) {
  if (!isfinite(v))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: input_range.%s = %g: must be finite", what,
                      name, (double)v);
  if (v < lo || v > hi || (lo_open && v == lo))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: input_range.%s = %g: must be %s", what,
                      name, (double)v, range);
  return AIHW_OK;
}

aihw_status aihw_input_range_params_validate(const aihw_input_range_params *p,
                                             const char *what) {
  AIHW_TRY(flag(p->enable, what, "enable"));
  AIHW_TRY(flag(p->learn_input_range, what, "learn_input_range"));
  AIHW_TRY(flag(p->manage_output_clipping, what, "manage_output_clipping"));
  AIHW_TRY(flag(p->gradient_relative, what, "gradient_relative"));
  AIHW_TRY(number(p->init_value, 0.0f, INFINITY, 1, what, "init_value", "> 0"));
  AIHW_TRY(number(p->init_std_alpha, 0.0f, INFINITY, 0, what, "init_std_alpha", ">= 0"));
  AIHW_TRY(number(p->decay, 0.0f, INFINITY, 0, what, "decay", ">= 0"));
  AIHW_TRY(number(p->input_min_percentage, 0.0f, 1.0f, 0, what, "input_min_percentage",
                  "in [0, 1]"));
  AIHW_TRY(number(p->output_min_percentage, 0.0f, 1.0f, 0, what, "output_min_percentage",
                  "in [0, 1]"));
  AIHW_TRY(number(p->gradient_scale, -INFINITY, INFINITY, 0, what, "gradient_scale",
                  "finite"));
  if (p->init_from_data < 0 || p->init_from_data > ((int64_t)1 << 24))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: input_range.init_from_data = %lld: must be in 0 .. 2^24",
                      what, (long long)p->init_from_data);
  return AIHW_OK;
}

enum field_type { F_FLAG, F_FLOAT, F_COUNT };

typedef struct ir_field {
  const char *name;
  enum field_type type;
  size_t offset;
} ir_field;

static const ir_field FIELDS[] = {
    {"enable", F_FLAG, offsetof(aihw_input_range_params, enable)},
    {"learn_input_range", F_FLAG, offsetof(aihw_input_range_params, learn_input_range)},
    {"init_value", F_FLOAT, offsetof(aihw_input_range_params, init_value)},
    {"init_from_data", F_COUNT, offsetof(aihw_input_range_params, init_from_data)},
    {"init_std_alpha", F_FLOAT, offsetof(aihw_input_range_params, init_std_alpha)},
    {"decay", F_FLOAT, offsetof(aihw_input_range_params, decay)},
    {"input_min_percentage", F_FLOAT, offsetof(aihw_input_range_params, input_min_percentage)},
    {"manage_output_clipping", F_FLAG,
     offsetof(aihw_input_range_params, manage_output_clipping)},
    {"output_min_percentage", F_FLOAT,
     offsetof(aihw_input_range_params, output_min_percentage)},
    {"gradient_scale", F_FLOAT, offsetof(aihw_input_range_params, gradient_scale)},
    {"gradient_relative", F_FLAG, offsetof(aihw_input_range_params, gradient_relative)},
};
#define N_FIELDS ((int)(sizeof FIELDS / sizeof FIELDS[0]))

struct cJSON *aihw_input_range_to_cjson(const aihw_input_range_params *p) {
  cJSON *o = cJSON_CreateObject();
  int ok = o != NULL;
  for (int k = 0; ok && k < N_FIELDS; ++k) {
    const char *base = (const char *)p + FIELDS[k].offset;
    cJSON *item = NULL;
    if (FIELDS[k].type == F_FLAG)
      item = cJSON_CreateBool(*(const int *)(const void *)base);
    else if (FIELDS[k].type == F_FLOAT)
      item = aihw_json_float_item(*(const float *)(const void *)base);
    else
      item = cJSON_CreateNumber((double)*(const int64_t *)(const void *)base);
    ok = aihw_json_add_item(o, FIELDS[k].name, item);
  }
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

aihw_status aihw_input_range_from_cjson(const struct cJSON *o, const char *group,
                                        aihw_input_range_params *out) {
  if (!cJSON_IsObject(o))
    return aihw_json_wrong_type(AREA, NULL, group != NULL ? group : AREA, o, "an object");
  aihw_input_range_params p = aihw_input_range_params_default();
  char seen[N_FIELDS] = {0};
  for (const cJSON *item = o->child; item != NULL; item = item->next) {
    const int k = aihw_json_find_named(FIELDS, sizeof FIELDS[0], N_FIELDS, item->string);
    if (k < 0)
      return aihw_error(AIHW_ERR_FORMAT,
                        AREA " parameter '%s%s%s': unknown key (allowed: enable, "
                             "learn_input_range, init_value, init_from_data, init_std_alpha, "
                             "decay, input_min_percentage, manage_output_clipping, "
                             "output_min_percentage, gradient_scale, gradient_relative)",
                        group != NULL ? group : "", group != NULL ? "." : "", item->string);
    AIHW_TRY(aihw_json_mark_seen(AREA, group, item->string, seen, k));
    char *base = (char *)&p + FIELDS[k].offset;
    if (FIELDS[k].type == F_FLAG) {
      AIHW_TRY(aihw_json_read_bool(AREA, group, FIELDS[k].name, item, (int *)(void *)base));
    } else if (FIELDS[k].type == F_FLOAT) {
      AIHW_TRY(aihw_json_read_float(AREA, group, FIELDS[k].name, item, (float *)(void *)base));
    } else {
      int v = 0;
      AIHW_TRY(aihw_json_read_int(AREA, group, FIELDS[k].name, item, &v));
      *(int64_t *)(void *)base = v;
    }
  }
  AIHW_TRY(aihw_input_range_params_validate(&p, AREA));
  *out = p;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_input_range_params_to_json(const aihw_input_range_params *params,
                                                     char **json_out) {
  static const char *fn = "aihw_input_range_params_to_json";
  AIHW_TRY(aihw_json_write_begin(fn, params, json_out));
  AIHW_TRY(aihw_input_range_params_validate(params, AREA));
  cJSON *root = aihw_input_range_to_cjson(params);
  return aihw_json_write_end(fn, root, root != NULL, json_out);
}

AIHW_API aihw_status aihw_input_range_params_from_json(const char *json,
                                                       aihw_input_range_params *params) {
  AIHW_TRY(aihw_json_read_begin("aihw_input_range_params_from_json", json, params));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  aihw_input_range_params p;
  const aihw_status s = aihw_input_range_from_cjson(root, NULL, &p);
  cJSON_Delete(root);
  if (s == AIHW_OK)
    *params = p;
  return s;
}
