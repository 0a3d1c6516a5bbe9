/* Architecture entries of convolution and pooling modules in state files (state.c, nn.h
 * aihw_module_save). The tensors of a convolution are those of its groups' LINEAR layers
 * under "groups.<g>." (state.c); pooling has none.
 *
 * CONV2D: {"kind": "CONV2D", "in_channels", "out_channels", "kernel": [kh, kw], "stride",
 *          "padding", "dilation" (pairs), "groups", "bias", "in_h", "in_w", "mapping",
 *          "tile_config" (group 0, tile (0, 0)), "training"}
 * CONV1D:  the same with one-element arrays and "in_len" for in_h / in_w.
 * MAXPOOL2D / AVGPOOL2D: {"kind", "channels", "in_h", "in_w", "kernel", "stride",
 *          "padding" (pairs, stride as resolved), "training"} */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "core/error.h"
#include "core/json_util.h"
#include "nn/module_internal.h"

static cJSON *pair(const int64_t *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int k = 0; a != NULL && k < n; ++k)
    if (!aihw_json_add_item(a, NULL, cJSON_CreateNumber((double)v[k]))) {
      cJSON_Delete(a);
      return NULL;
    }
  return a;
}

static int add_i64(cJSON *o, const char *key, int64_t v) {
  return aihw_json_add_item(o, key, cJSON_CreateNumber((double)v));
}

int aihw_layers_architecture(const aihw_module *m, cJSON *o) {
  int ok = 1;
  if (m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D) {
    aihw_conv_params p;
    int64_t in_h = 0, in_w = 0;
    if (aihw_conv_geometry(m, &p, &in_h, &in_w, NULL, NULL) != AIHW_OK)
      return 0;
    const int n = m->kind == AIHW_MODULE_CONV1D ? 1 : 2;
    ok = add_i64(o, "in_channels", p.in_channels) && add_i64(o, "out_channels", p.out_channels) &&
         aihw_json_add_item(o, "kernel", pair(p.kernel, n)) &&
         aihw_json_add_item(o, "stride", pair(p.stride, n)) &&
         aihw_json_add_item(o, "padding", pair(p.padding, n)) &&
         aihw_json_add_item(o, "dilation", pair(p.dilation, n)) &&
         add_i64(o, "groups", p.groups) &&
         aihw_json_add_item(o, "bias", cJSON_CreateBool(p.bias)) &&
         (n == 1 ? add_i64(o, "in_len", in_w)
                 : add_i64(o, "in_h", in_h) && add_i64(o, "in_w", in_w)) &&
         aihw_nn_arch_add_layer_config(o, aihw_conv_group(m, 0));
  } else {
    int64_t channels = 0, in_h = 0, in_w = 0, k[2], s[2], p[2];
    if (aihw_pool2d_geometry(m, &channels, &in_h, &in_w, k, s, p) != AIHW_OK)
      return 0;
    ok = add_i64(o, "channels", channels) && add_i64(o, "in_h", in_h) &&
         add_i64(o, "in_w", in_w) && aihw_json_add_item(o, "kernel", pair(k, 2)) &&
         aihw_json_add_item(o, "stride", pair(s, 2)) &&
         aihw_json_add_item(o, "padding", pair(p, 2));
  }
  return ok;
}

/* Reads a non-negative integer (< 2^31) member. */
static int read_i64(const cJSON *o, const char *key, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || !aihw_json_is_integral_in(v->valuedouble, 0.0, 2147483647.0))
    return 0;
  *out = (int64_t)v->valuedouble;
  return 1;
}

/* Reads an array of exactly n such integers. */
static int read_array(const cJSON *o, const char *key, int n, int64_t *out) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
    return 0;
  int k = 0;
  for (const cJSON *v = a->child; v != NULL; v = v->next, ++k)
    if (!cJSON_IsNumber(v) || !aihw_json_is_integral_in(v->valuedouble, 0.0, 2147483647.0))
      return 0;
    else
      out[k] = (int64_t)v->valuedouble;
  return 1;
}

static aihw_status arch_error(const char *source, const char *kind, const char *fields) {
  return aihw_error(AIHW_ERR_FORMAT, "%s: architecture: a %s entry needs %s", source, kind,
                    fields);
}

aihw_status aihw_layers_build(aihw_module_kind kind, const cJSON *a, const char *source,
                              aihw_module **out) {
  if (kind == AIHW_MODULE_CONV1D || kind == AIHW_MODULE_CONV2D) {
    const int n = kind == AIHW_MODULE_CONV1D ? 1 : 2;
    const char *name = n == 1 ? "CONV1D" : "CONV2D";
    aihw_conv_params p = aihw_conv_params_default(1, 1, 1);
    int64_t in_h = 1, in_w = 1;
    if (!read_i64(a, "in_channels", &p.in_channels) ||
        !read_i64(a, "out_channels", &p.out_channels) || !read_array(a, "kernel", n, p.kernel) ||
        !read_array(a, "stride", n, p.stride) || !read_array(a, "padding", n, p.padding) ||
        !read_array(a, "dilation", n, p.dilation) || !read_i64(a, "groups", &p.groups) ||
        !aihw_json_bool_value(cJSON_GetObjectItemCaseSensitive(a, "bias"), &p.bias) ||
        (n == 1 ? !read_i64(a, "in_len", &in_w)
                : !read_i64(a, "in_h", &in_h) || !read_i64(a, "in_w", &in_w)))
      return arch_error(source, name,
                        n == 1 ? "in_channels, out_channels, kernel, stride, padding, "
                                 "dilation ([k] arrays), groups, bias, in_len, mapping and "
                                 "tile_config"
                               : "in_channels, out_channels, kernel, stride, padding, "
                                 "dilation ([h, w] arrays), groups, bias, in_h, in_w, mapping "
                                 "and tile_config");
    aihw_mapping_params mp;
    aihw_tile_config tc;
    AIHW_TRY(aihw_nn_arch_layer_config(a, source, name, &mp, &tc));
    return n == 1 ? aihw_conv1d_create(&tc, &mp, &p, in_w, out)
                  : aihw_conv2d_create(&tc, &mp, &p, in_h, in_w, out);
  }
  int64_t channels = 0, in_h = 0, in_w = 0, k[2], s[2], p[2];
  if (!read_i64(a, "channels", &channels) || !read_i64(a, "in_h", &in_h) ||
      !read_i64(a, "in_w", &in_w) || !read_array(a, "kernel", 2, k) ||
      !read_array(a, "stride", 2, s) || !read_array(a, "padding", 2, p))
    return arch_error(source, kind == AIHW_MODULE_MAXPOOL2D ? "MAXPOOL2D" : "AVGPOOL2D",
                      "channels, in_h, in_w and [h, w] arrays kernel, stride, padding");
  return aihw_pool2d_create(kind, channels, in_h, in_w, k, s, p, out);
}
