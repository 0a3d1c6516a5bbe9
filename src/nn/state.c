/* Module state files (DESIGN.md §3 "Module state", §4 rule 7; nn.h aihw_module_save /
 * _load / _load_new): one safetensors file holds a whole module tree, so that the model
 * can be rebuilt from the file alone and training continues bit-identically.
 *
 * Metadata: aihw_format = "aihw-module", format_version = "1", aihw_version, and
 * architecture = JSON of the tree: {"kind": "SEQUENTIAL", "training": false, "children":
 * [{"kind": "LINEAR", "in_features": 4, "out_features": 3, "bias": true, "mapping": {..},
 * "tile_config": <aihw_tile_config_to_json of tile (0, 0)>, "training": false},
 * {"kind": "SIGMOID", "features": 3, "training": false}, ...]}.
 * Tensors: per LINEAR module at path P ("" for the root, "<k>." per container level, e.g.
 * "1.0."): P"tiles.<in_index>.<out_index>."<tile key> for every tile of its grid
 * (tile_state.c lists the keys) and P"bias" for a digital bias.
 *
 * Loading never replaces a module's configuration: the file's architecture must equal the
 * module's (the error names the first difference, e.g. 'children[0].tile_config.device.
 * dw_min'); to take the file's configuration, build a new module with load_new. Loading
 * validates every tensor of every tile before it writes any, so a failed load changes
 * nothing. The forward caches are not state: a successful load clears them (a backward must
 * follow a new forward). Gradients accumulated by backward but not yet applied are not
 * saved: save refuses (STATE) until the step has run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json_util.h"
#include "core/safetensors.h"
#include "nn/digital_internal.h"
#include "nn/linear_internal.h"
#include "tile/tile_internal.h"

#define FORMAT_NAME "aihw-module"
#define FORMAT_VERSION "1"

static const char *const kind_names[] = {[AIHW_MODULE_LINEAR] = "LINEAR",
                                         [AIHW_MODULE_SEQUENTIAL] = "SEQUENTIAL",
                                         [AIHW_MODULE_RELU] = "RELU",
                                         [AIHW_MODULE_SIGMOID] = "SIGMOID",
                                         [AIHW_MODULE_TANH] = "TANH",
                                         [AIHW_MODULE_FLATTEN] = "FLATTEN",
                                         [AIHW_MODULE_CONV1D] = "CONV1D",
                                         [AIHW_MODULE_CONV2D] = "CONV2D",
                                         [AIHW_MODULE_MAXPOOL2D] = "MAXPOOL2D",
                                         [AIHW_MODULE_AVGPOOL2D] = "AVGPOOL2D",
                                         [AIHW_MODULE_DIGITAL_LINEAR] = "DIGITAL_LINEAR",
                                         [AIHW_MODULE_BATCHNORM1D] = "BATCHNORM1D",
                                         [AIHW_MODULE_BATCHNORM2D] = "BATCHNORM2D",
                                         [AIHW_MODULE_DROPOUT] = "DROPOUT",
                                         [AIHW_MODULE_SOFTMAX] = "SOFTMAX",
                                         [AIHW_MODULE_LOGSOFTMAX] = "LOGSOFTMAX"};
enum { N_KINDS = (int)(sizeof kind_names / sizeof kind_names[0]) };

static int is_conv_kind(aihw_module_kind k) {
  return k == AIHW_MODULE_CONV1D || k == AIHW_MODULE_CONV2D;
}

static const char *kind_name(aihw_module_kind k) {
  return (int)k >= 0 && (int)k < N_KINDS && kind_names[k] != NULL ? kind_names[k] : "?";
}

/* Appends "<k>." to the path prefix in buf (restored by the caller). */
static int push_index(char *buf, size_t size, const char *part) {
  const size_t len = strlen(buf);
  const int n = snprintf(buf + len, size - len, "%s", part);
  return n >= 0 && (size_t)n < size - len;
}

static aihw_status name_too_long(const char *prefix) {
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "module state: tensor path '%s...' is too long",
                    prefix);
}

/* ---- architecture ---------------------------------------------------------------------- */

static cJSON *mapping_json(const aihw_mapping_params *m) {
  cJSON *o = cJSON_CreateObject();
  const int ok =
      o != NULL && aihw_json_add_item(o, "digital_bias", cJSON_CreateBool(m->digital_bias)) &&
      aihw_json_add_item(o, "weight_scaling_omega",
                         aihw_json_float_item(m->weight_scaling_omega)) &&
      aihw_json_add_item(o, "weight_scaling_columnwise",
                         cJSON_CreateBool(m->weight_scaling_columnwise)) &&
      aihw_json_add_item(o, "weight_scaling_lr_compensation",
                         cJSON_CreateBool(m->weight_scaling_lr_compensation)) &&
      aihw_json_add_item(o, "learn_out_scaling", cJSON_CreateBool(m->learn_out_scaling)) &&
      aihw_json_add_item(o, "out_scaling_columnwise",
                         cJSON_CreateBool(m->out_scaling_columnwise)) &&
      aihw_json_add_item(o, "max_input_size", cJSON_CreateNumber((double)m->max_input_size)) &&
      aihw_json_add_item(o, "max_output_size", cJSON_CreateNumber((double)m->max_output_size)) &&
      (m->handle_output_bound || /* absent when 1: older files match */
       aihw_json_add_item(o, "handle_output_bound", cJSON_CreateBool(0)));
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

int aihw_nn_arch_add_layer_config(cJSON *o, const aihw_module *linear) {
  aihw_linear_view v;
  aihw_linear_view_of(linear, &v);
  aihw_tile_config tc;
  char *text = NULL;
  if (aihw_tile_get_config(aihw_linear_tile(linear, 0, 0), &tc) != AIHW_OK ||
      aihw_tile_config_to_json(&tc, &text) != AIHW_OK)
    return 0;
  int ok = aihw_json_add_item(o, "mapping", mapping_json(&v.mapping)) &&
           aihw_json_add_item(o, "tile_config", cJSON_CreateRaw(text));
  free(text);
  if (ok && v.mapping.input_range.enable) { /* absent when disabled: older files match */
    cJSON *pp = cJSON_CreateObject();
    ok = aihw_json_add_item(o, "pre_post", pp) &&
         aihw_json_add_item(pp, "input_range", aihw_input_range_to_cjson(&v.mapping.input_range));
  }
  return ok;
}

/* The architecture object of m (NULL with the error set on failure). */
static cJSON *architecture(const aihw_module *m) {
  cJSON *o = cJSON_CreateObject();
  int ok = o != NULL && aihw_json_add_item(o, "kind", cJSON_CreateString(kind_name(m->kind)));
  if (ok && m->kind == AIHW_MODULE_LINEAR) {
    aihw_linear_view v;
    aihw_linear_view_of(m, &v);
    ok = aihw_json_add_item(o, "in_features", cJSON_CreateNumber((double)m->in_features)) &&
         aihw_json_add_item(o, "out_features", cJSON_CreateNumber((double)m->out_features)) &&
         aihw_json_add_item(o, "bias", cJSON_CreateBool(v.has_bias)) &&
         aihw_nn_arch_add_layer_config(o, m);
  } else if (ok && (is_conv_kind(m->kind) || m->kind == AIHW_MODULE_MAXPOOL2D ||
                    m->kind == AIHW_MODULE_AVGPOOL2D)) {
    ok = aihw_layers_architecture(m, o);
  } else if (ok && m->kind == AIHW_MODULE_SEQUENTIAL) {
    cJSON *children = cJSON_CreateArray();
    ok = aihw_json_add_item(o, "children", children);
    for (int k = 0; ok && k < m->child_count; ++k) {
      cJSON *c = architecture(m->children[k]);
      if (c == NULL) {
        cJSON_Delete(o);
        return NULL;
      }
      ok = aihw_json_add_item(children, NULL, c);
    }
  } else if (ok && aihw_digital_kind(m->kind)) {
    ok = aihw_digital_architecture(m, o);
  } else if (ok) {
    ok = aihw_json_add_item(o, "features", cJSON_CreateNumber((double)m->in_features));
  }
  ok = ok && aihw_json_add_item(o, "training", cJSON_CreateBool(m->training));
  if (!ok) {
    cJSON_Delete(o);
    aihw_error(AIHW_ERR_OUT_OF_MEMORY, "module state: out of memory (architecture)");
    return NULL;
  }
  return o;
}

/* Architecture text of m (malloc'ed), NULL with the error set. */
static char *architecture_text(const aihw_module *m) {
  cJSON *a = architecture(m);
  if (a == NULL)
    return NULL;
  char *text = cJSON_PrintUnformatted(a);
  cJSON_Delete(a);
  if (text == NULL)
    aihw_error(AIHW_ERR_OUT_OF_MEMORY, "module state: out of memory (architecture)");
  return text;
}

/* Removes every layer's configuration ("mapping", "tile_config", "pre_post") from an
 * architecture tree, leaving its structure. */
static void strip_configs(cJSON *a) {
  if (!cJSON_IsObject(a) && !cJSON_IsArray(a))
    return;
  if (cJSON_IsObject(a)) {
    cJSON_DeleteItemFromObjectCaseSensitive(a, "mapping");
    cJSON_DeleteItemFromObjectCaseSensitive(a, "tile_config");
    cJSON_DeleteItemFromObjectCaseSensitive(a, "pre_post");
  }
  for (cJSON *c = a->child; c != NULL; c = c->next)
    strip_configs(c);
}

/* Compares the stored architecture with the module's: FORMAT naming the first difference.
 * Modes ("training") are state, not architecture. configs = 0 compares the structure only
 * (every layer's configuration stripped from both). */
static aihw_status check_architecture(const aihw_module *m, const cJSON *file_arch,
                                      const char *source, int configs) {
  char *text = architecture_text(m);
  if (text == NULL)
    return aihw_last_status();
  cJSON *mine = cJSON_Parse(text);
  free(text);
  cJSON *theirs = configs ? NULL : cJSON_Duplicate(file_arch, 1);
  if (mine == NULL || (!configs && theirs == NULL)) {
    cJSON_Delete(mine);
    cJSON_Delete(theirs);
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "module state: out of memory (architecture)");
  }
  if (!configs) {
    strip_configs(mine);
    strip_configs(theirs);
    file_arch = theirs;
  }
  char path[256];
  const cJSON *fa = NULL, *ma = NULL;
  aihw_status s = AIHW_OK;
  if (aihw_json_first_difference(file_arch, mine, "training", path, sizeof path, &fa, &ma)) {
    char *ft = fa != NULL ? cJSON_PrintUnformatted(fa) : NULL;
    char *mt = ma != NULL ? cJSON_PrintUnformatted(ma) : NULL;
    const int config = strstr(path, "tile_config") != NULL || strstr(path, "mapping") != NULL ||
                       strstr(path, "pre_post") != NULL;
    s = aihw_error(AIHW_ERR_FORMAT,
                   "%s: the stored architecture differs from the module's at '%s' (stored: "
                   "%.80s, module: %.80s)%s",
                   source, path[0] ? path : "(root)", ft != NULL ? ft : "absent",
                   mt != NULL ? mt : "absent",
                   config ? "; the stored configuration never replaces a module's silently: "
                            "load with AIHW_CONFIG_KEEP_MODULE or AIHW_CONFIG_FROM_STATE "
                            "(aihw_module_load_state_dict), or build the module from the "
                            "state with aihw_module_load_new / aihw_module_from_state_dict"
                          : "");
    free(ft);
    free(mt);
  }
  cJSON_Delete(mine);
  cJSON_Delete(theirs);
  return s;
}

/* ---- export ---------------------------------------------------------------------------- */

static aihw_status export_tree(const aihw_module *m, aihw_st_dict *dict, char *prefix,
                               size_t size) {
  const size_t len = strlen(prefix);
  if (m->kind == AIHW_MODULE_SEQUENTIAL) {
    for (int k = 0; k < m->child_count; ++k) {
      char part[16];
      snprintf(part, sizeof part, "%d.", k);
      if (!push_index(prefix, size, part))
        return name_too_long(prefix);
      AIHW_TRY(export_tree(m->children[k], dict, prefix, size));
      prefix[len] = '\0';
    }
    return AIHW_OK;
  }
  if (is_conv_kind(m->kind)) { /* "groups.<g>." + the group's LINEAR tensors */
    for (int64_t g = 0; g < aihw_conv_group_count(m); ++g) {
      char part[32];
      snprintf(part, sizeof part, "groups.%lld.", (long long)g);
      if (!push_index(prefix, size, part))
        return name_too_long(prefix);
      AIHW_TRY(export_tree(aihw_conv_group(m, g), dict, prefix, size));
      prefix[len] = '\0';
    }
    return AIHW_OK;
  }
  if (aihw_digital_kind(m->kind))
    return aihw_digital_export(m, dict, prefix);
  if (m->kind != AIHW_MODULE_LINEAR)
    return AIHW_OK;
  aihw_linear_view v;
  aihw_linear_view_of(m, &v);
  if (v.pending_rows > 0)
    return aihw_error(AIHW_ERR_STATE,
                      "module '%s' (LINEAR) holds gradients of %lld samples not yet applied: "
                      "call aihw_module_step before saving (state is saved between steps)",
                      len > 0 ? prefix : "(root)", (long long)v.pending_rows);
  int64_t rows = 0, cols = 0;
  AIHW_TRY(aihw_linear_tile_grid(m, &rows, &cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      char part[64];
      snprintf(part, sizeof part, "tiles.%lld.%lld.", (long long)r, (long long)c);
      if (!push_index(prefix, size, part))
        return name_too_long(prefix);
      AIHW_TRY(aihw_tile_state_export(aihw_linear_tile(m, r, c), dict, prefix));
      prefix[len] = '\0';
    }
  AIHW_TRY(aihw_linear_hwa_export(m, dict, prefix)); /* learned scales, input ranges */
  if (v.bias != NULL) {
    if (!push_index(prefix, size, "bias"))
      return name_too_long(prefix);
    const size_t shape[1] = {(size_t)m->out_features};
    AIHW_TRY(aihw_st_dict_add(dict, prefix, AIHW_ST_F32, shape, 1, v.bias));
    AIHW_TRY(aihw_nn_param_export(v.bias_param, dict, prefix));
    prefix[len] = '\0';
  }
  return AIHW_OK;
}

aihw_status aihw_module_state_export(const aihw_module *m, aihw_st_dict *dict) {
  if (m == NULL || dict == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_module_state_export: NULL argument");
  char *arch = architecture_text(m);
  if (arch == NULL)
    return aihw_last_status();
  aihw_status s = aihw_st_dict_set_metadata(dict, "aihw_format", FORMAT_NAME);
  if (s == AIHW_OK)
    s = aihw_st_dict_set_metadata(dict, "format_version", FORMAT_VERSION);
  if (s == AIHW_OK)
    s = aihw_st_dict_set_metadata(dict, "aihw_version", aihw_version_string());
  if (s == AIHW_OK)
    s = aihw_st_dict_set_metadata(dict, "architecture", arch);
  free(arch);
  char prefix[512] = "";
  return s == AIHW_OK ? export_tree(m, dict, prefix, sizeof prefix) : s;
}

AIHW_API aihw_status aihw_module_save(const aihw_module *module, const char *path) {
  static const char *fn = "aihw_module_save";
  if (module == NULL || path == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      module == NULL ? "module" : "path");
  aihw_st_dict *dict = NULL;
  AIHW_TRY(aihw_st_dict_create(&dict));
  aihw_status s = aihw_module_state_export(module, dict);
  if (s == AIHW_OK)
    s = aihw_st_write_file(dict, path);
  aihw_st_dict_destroy(dict);
  return s == AIHW_OK ? s : aihw_nn_wrap_error(s, fn);
}

/* ---- metadata checks ------------------------------------------------------------------- */

/* Checks the format metadata and parses the architecture into *arch (caller deletes). */
static aihw_status read_header(const aihw_st_dict *dict, const char *source, cJSON **arch) {
  *arch = NULL;
  const char *format = aihw_st_dict_metadata(dict, "aihw_format");
  if (format == NULL)
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: not an aihw module file: metadata 'aihw_format' is missing (a "
                      "safetensors file written by another program?)",
                      source);
  if (strcmp(format, FORMAT_NAME) != 0)
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: not an aihw module file: metadata 'aihw_format' is '%.60s', "
                      "expected '" FORMAT_NAME "'",
                      source, format);
  const char *version = aihw_st_dict_metadata(dict, "format_version");
  if (version == NULL)
    return aihw_error(AIHW_ERR_FORMAT, "%s: metadata 'format_version' is missing", source);
  if (strcmp(version, FORMAT_VERSION) != 0)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s: format_version '%.20s' (written by aihw %.20s) is not supported: "
                      "aihw %s reads format_version " FORMAT_VERSION,
                      source, version,
                      aihw_st_dict_metadata(dict, "aihw_version") != NULL
                          ? aihw_st_dict_metadata(dict, "aihw_version")
                          : "?",
                      aihw_version_string());
  const char *text = aihw_st_dict_metadata(dict, "architecture");
  if (text == NULL)
    return aihw_error(AIHW_ERR_FORMAT, "%s: metadata 'architecture' is missing", source);
  *arch = cJSON_Parse(text);
  if (*arch == NULL || !cJSON_IsObject(*arch)) {
    cJSON_Delete(*arch);
    *arch = NULL;
    return aihw_error(AIHW_ERR_FORMAT, "%s: metadata 'architecture' is not a JSON object",
                      source);
  }
  return AIHW_OK;
}

/* ---- import ---------------------------------------------------------------------------- */

typedef struct bias_load {
  float *dst;
  const float *src;
  size_t n;
} bias_load;

typedef struct import_ctx {
  const aihw_st_dict *dict;
  unsigned char *used;
  aihw_state_names *missing;
  aihw_tile_state_plan *plans;
  size_t n_plans, cap_plans;
  bias_load *biases;
  size_t n_biases, cap_biases;
  aihw_nn_import digital; /* digital layers and momentum buffers */
} import_ctx;

static void count_tree(const aihw_module *m, size_t *tiles, size_t *linears) {
  if (m->kind == AIHW_MODULE_LINEAR) {
    int64_t r = 0, c = 0;
    (void)aihw_linear_tile_grid(m, &r, &c);
    *tiles += (size_t)(r * c);
    ++*linears;
  }
  if (is_conv_kind(m->kind))
    for (int64_t g = 0; g < aihw_conv_group_count(m); ++g)
      count_tree(aihw_conv_group(m, g), tiles, linears);
  for (int k = 0; k < m->child_count; ++k)
    count_tree(m->children[k], tiles, linears);
}

static void mark_name(import_ctx *x, const char *name) {
  const size_t n = aihw_st_dict_count(x->dict);
  for (size_t k = 0; k < n; ++k) {
    aihw_st_tensor t;
    if (aihw_st_dict_at(x->dict, k, &t) == AIHW_OK && strcmp(t.name, name) == 0) {
      x->used[k] = 1;
      return;
    }
  }
}

static aihw_status prepare_linear(aihw_module *m, import_ctx *x, char *prefix, size_t size) {
  const size_t len = strlen(prefix);
  int64_t rows = 0, cols = 0;
  AIHW_TRY(aihw_linear_tile_grid(m, &rows, &cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      char part[64];
      snprintf(part, sizeof part, "tiles.%lld.%lld.", (long long)r, (long long)c);
      if (!push_index(prefix, size, part))
        return name_too_long(prefix);
      AIHW_TRY(aihw_tile_state_prepare(aihw_linear_tile(m, r, c), x->dict, prefix, x->used,
                                       x->missing, &x->plans[x->n_plans]));
      ++x->n_plans;
      prefix[len] = '\0';
    }
  AIHW_TRY(aihw_linear_hwa_prepare(m, &x->digital, prefix));
  aihw_linear_view v;
  aihw_linear_view_of(m, &v);
  if (v.bias == NULL)
    return AIHW_OK;
  if (!push_index(prefix, size, "bias"))
    return name_too_long(prefix);
  if (!aihw_st_dict_contains(x->dict, prefix)) {
    aihw_state_names_add(x->missing, prefix);
  } else {
    const float *b = NULL;
    aihw_st_tensor t;
    const size_t shape[1] = {(size_t)m->out_features};
    AIHW_TRY(aihw_st_dict_get_f32(x->dict, prefix, &b, &t));
    AIHW_TRY(aihw_st_tensor_expect_shape(&t, shape, 1));
    for (size_t i = 0; i < shape[0]; ++i)
      if (!isfinite(b[i]))
        return aihw_error(AIHW_ERR_NOT_FINITE, "tensor '%s': element %zu is not finite", prefix,
                          i);
    mark_name(x, prefix);
    x->biases[x->n_biases++] = (bias_load){v.bias, b, shape[0]};
  }
  AIHW_TRY(aihw_nn_param_prepare_momentum(v.bias_param, &x->digital, prefix));
  prefix[len] = '\0';
  return AIHW_OK;
}

static aihw_status prepare_tree(aihw_module *m, import_ctx *x, char *prefix, size_t size) {
  if (m->kind == AIHW_MODULE_LINEAR)
    return prepare_linear(m, x, prefix, size);
  if (aihw_digital_kind(m->kind))
    return aihw_digital_prepare(m, &x->digital, prefix);
  const size_t len = strlen(prefix);
  if (is_conv_kind(m->kind))
    for (int64_t g = 0; g < aihw_conv_group_count(m); ++g) {
      char part[32];
      snprintf(part, sizeof part, "groups.%lld.", (long long)g);
      if (!push_index(prefix, size, part))
        return name_too_long(prefix);
      AIHW_TRY(prepare_linear(aihw_conv_group(m, g), x, prefix, size));
      prefix[len] = '\0';
    }
  for (int k = 0; k < m->child_count; ++k) {
    char part[16];
    snprintf(part, sizeof part, "%d.", k);
    if (!push_index(prefix, size, part))
      return name_too_long(prefix);
    AIHW_TRY(prepare_tree(m->children[k], x, prefix, size));
    prefix[len] = '\0';
  }
  return AIHW_OK;
}

/* Sets the modes of the file's architecture and clears every forward cache. */
static void commit_modes(aihw_module *m, const cJSON *arch) {
  const cJSON *training = cJSON_GetObjectItemCaseSensitive(arch, "training");
  if (cJSON_IsBool(training))
    m->training = cJSON_IsTrue(training);
  m->cached_batch = 0;
  if (is_conv_kind(m->kind))
    for (int64_t g = 0; g < aihw_conv_group_count(m); ++g) {
      aihw_conv_group(m, g)->training = m->training;
      aihw_conv_group(m, g)->cached_batch = 0;
    }
  const cJSON *children = cJSON_GetObjectItemCaseSensitive(arch, "children");
  const cJSON *c = cJSON_IsArray(children) ? children->child : NULL;
  for (int k = 0; k < m->child_count; ++k, c = c != NULL ? c->next : NULL)
    commit_modes(m->children[k], c);
}

/* Validates every tensor, then (only if all is well) commits. arch may be NULL. */
static aihw_status import_tensors(aihw_module *m, const aihw_st_dict *dict, int strict,
                                  const cJSON *arch, const char *source) {
  size_t tiles = 0, linears = 0;
  count_tree(m, &tiles, &linears);
  const size_t count = aihw_st_dict_count(dict);
  import_ctx x = {dict,  NULL, NULL, NULL,    0,
                  tiles, NULL, 0,    linears, {dict, NULL, NULL, NULL, 0, 0}};
  aihw_state_names *unexpected = NULL;
  x.used = aihw_calloc_array(count > 0 ? count : 1, 1, "tensor marks");
  x.missing = aihw_calloc_array(1, sizeof *x.missing, "name list");
  unexpected = aihw_calloc_array(1, sizeof *unexpected, "name list");
  x.plans = aihw_calloc_array(tiles > 0 ? tiles : 1, sizeof *x.plans, "tile state plans");
  x.biases = aihw_calloc_array(linears > 0 ? linears : 1, sizeof *x.biases, "bias loads");
  aihw_status s = AIHW_OK;
  if (x.used == NULL || x.missing == NULL || unexpected == NULL || x.plans == NULL ||
      x.biases == NULL)
    s = AIHW_ERR_OUT_OF_MEMORY;
  char prefix[512] = "";
  x.digital.used = x.used;
  x.digital.missing = x.missing;
  if (s == AIHW_OK)
    s = prepare_tree(m, &x, prefix, sizeof prefix);
  if (s == AIHW_OK && strict) {
    for (size_t k = 0; k < count; ++k) {
      aihw_st_tensor t;
      if (!x.used[k] && aihw_st_dict_at(dict, k, &t) == AIHW_OK)
        aihw_state_names_add(unexpected, t.name);
    }
    if (x.missing->count > 0 || unexpected->count > 0) {
      char miss[1700];
      snprintf(miss, sizeof miss, "%s", aihw_state_names_text(x.missing));
      s = aihw_error(
          AIHW_ERR_FORMAT,
          "%s (strict load): %zu missing tensor(s)%s%s; %zu unexpected tensor(s)%s%s", source,
          x.missing->count, x.missing->count ? ": " : "", miss, unexpected->count,
          unexpected->count ? ": " : "", aihw_state_names_text(unexpected));
    }
  }
  if (s == AIHW_OK) {
    for (size_t k = 0; k < x.n_plans; ++k)
      aihw_tile_state_commit(&x.plans[k]);
    for (size_t k = 0; k < x.n_biases; ++k)
      memcpy(x.biases[k].dst, x.biases[k].src, x.biases[k].n * sizeof(float));
    aihw_nn_import_commit(&x.digital);
    commit_modes(m, arch);
  } else {
    for (size_t k = 0; x.plans != NULL && k < x.n_plans; ++k)
      aihw_tile_state_plan_free(&x.plans[k]);
  }
  aihw_free(x.used);
  aihw_free(x.missing);
  aihw_free(unexpected);
  aihw_free(x.plans);
  aihw_free(x.biases);
  aihw_nn_import_free(&x.digital);
  return s;
}

/* Exchanges the contents of two module structs: *a takes b's tree and b a's (so that a
 * keeps its address, and a container holding a still holds it). */
static void swap_modules(aihw_module *a, aihw_module *b) {
  aihw_module tmp = *a;
  *a = *b;
  *b = tmp;
}

static aihw_status build_tree(const cJSON *a, const char *source, int depth,
                              aihw_module **out);

aihw_status aihw_module_state_load(aihw_module *m, const aihw_st_dict *dict, int strict,
                                   int policy, const char *source) {
  cJSON *arch = NULL;
  aihw_status s = read_header(dict, source, &arch);
  if (s == AIHW_OK)
    s = check_architecture(m, arch, source, policy == AIHW_CONFIG_MUST_MATCH);
  if (s == AIHW_OK && policy != AIHW_CONFIG_FROM_STATE) {
    s = import_tensors(m, dict, strict, arch, source);
  } else if (s == AIHW_OK) { /* rebuild with the stored configuration, then swap in */
    aihw_module *fresh = NULL;
    s = build_tree(arch, source, 0, &fresh);
    if (s != AIHW_OK)
      s = aihw_nn_wrap_error(s, source);
    if (s == AIHW_OK)
      s = check_architecture(fresh, arch, source, 1);
    if (s == AIHW_OK)
      s = import_tensors(fresh, dict, strict, arch, source);
    if (s == AIHW_OK)
      swap_modules(m, fresh);
    aihw_module_destroy(fresh); /* the old tree after a swap */
  }
  cJSON_Delete(arch);
  return s;
}

aihw_status aihw_module_state_import(aihw_module *m, const aihw_st_dict *dict, int strict) {
  if (m == NULL || dict == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_module_state_import: NULL argument");
  if (strict != 0 && strict != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_module_state_import: strict = %d: must be 0 or 1", strict);
  return aihw_module_state_load(m, dict, strict, AIHW_CONFIG_MUST_MATCH, "module state");
}

AIHW_API aihw_status aihw_module_load(aihw_module *module, const char *path, int strict) {
  static const char *fn = "aihw_module_load";
  if (module == NULL || path == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      module == NULL ? "module" : "path");
  if (strict != 0 && strict != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: strict = %d: must be 0 or 1", fn, strict);
  aihw_st_dict *dict = NULL;
  AIHW_TRY(aihw_st_read_file(path, &dict));
  const aihw_status s = aihw_module_state_load(module, dict, strict, AIHW_CONFIG_MUST_MATCH, path);
  aihw_st_dict_destroy(dict);
  return s;
}

/* ---- rebuilding from the architecture -------------------------------------------------- */

static aihw_status arch_error(const char *source, const char *what) {
  return aihw_error(AIHW_ERR_FORMAT, "%s: architecture: %s", source, what);
}

static int read_i64(const cJSON *o, const char *key, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || !aihw_json_is_integral_in(v->valuedouble, 0.0, 2147483647.0))
    return 0;
  *out = (int64_t)v->valuedouble;
  return 1;
}

static int read_flag(const cJSON *o, const char *key, int *out) {
  return aihw_json_bool_value(cJSON_GetObjectItemCaseSensitive(o, key), out);
}

aihw_status aihw_nn_arch_layer_config(const cJSON *a, const char *source, const char *what,
                                      aihw_mapping_params *mapping, aihw_tile_config *config) {
  const cJSON *mj = cJSON_GetObjectItemCaseSensitive(a, "mapping");
  const cJSON *tj = cJSON_GetObjectItemCaseSensitive(a, "tile_config");
  if (!cJSON_IsObject(mj) || !cJSON_IsObject(tj)) {
    char msg[96];
    snprintf(msg, sizeof msg, "a %s entry needs 'mapping' and 'tile_config'", what);
    return arch_error(source, msg);
  }
  aihw_mapping_params mp = aihw_mapping_params_default();
  const cJSON *omega = cJSON_GetObjectItemCaseSensitive(mj, "weight_scaling_omega");
  if (!read_flag(mj, "digital_bias", &mp.digital_bias) || !cJSON_IsNumber(omega) ||
      !read_flag(mj, "weight_scaling_columnwise", &mp.weight_scaling_columnwise) ||
      !read_flag(mj, "weight_scaling_lr_compensation", &mp.weight_scaling_lr_compensation) ||
      !read_flag(mj, "learn_out_scaling", &mp.learn_out_scaling) ||
      !read_flag(mj, "out_scaling_columnwise", &mp.out_scaling_columnwise) ||
      !read_i64(mj, "max_input_size", &mp.max_input_size) ||
      !read_i64(mj, "max_output_size", &mp.max_output_size))
  {
    char msg[96];
    snprintf(msg, sizeof msg, "a %s entry has an incomplete or malformed 'mapping'", what);
    return arch_error(source, msg);
  }
  mp.weight_scaling_omega = (float)omega->valuedouble;
  const cJSON *hob = cJSON_GetObjectItemCaseSensitive(mj, "handle_output_bound");
  if (hob != NULL && !read_flag(mj, "handle_output_bound", &mp.handle_output_bound))
    return arch_error(source, "a layer's 'mapping.handle_output_bound' is not a flag");
  const cJSON *pp = cJSON_GetObjectItemCaseSensitive(a, "pre_post");
  if (pp != NULL) {
    const cJSON *ir = cJSON_GetObjectItemCaseSensitive(pp, "input_range");
    if (!cJSON_IsObject(pp) || ir == NULL) {
      char msg[96];
      snprintf(msg, sizeof msg, "a %s entry has a malformed 'pre_post'", what);
      return arch_error(source, msg);
    }
    AIHW_TRY(aihw_input_range_from_cjson(ir, "pre_post.input_range", &mp.input_range));
  }
  /* printed from a copy: exact printing turns infinities into raw items, and the tree is
   * compared with the rebuilt module's afterwards */
  cJSON *copy = cJSON_Duplicate(tj, 1);
  char *text = copy != NULL ? aihw_json_print_exact(copy) : NULL;
  cJSON_Delete(copy);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: out of memory", source);
  *config = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_status s = aihw_tile_config_from_json(text, config);
  free(text);
  *mapping = mp;
  return s;
}

static aihw_status build_linear(const cJSON *a, const char *source, aihw_module **out) {
  int64_t in = 0, outf = 0;
  int bias = 0;
  if (!read_i64(a, "in_features", &in) || !read_i64(a, "out_features", &outf) ||
      !read_flag(a, "bias", &bias))
    return arch_error(source, "a LINEAR entry needs in_features, out_features, bias, mapping "
                              "and tile_config");
  aihw_mapping_params mp;
  aihw_tile_config tc;
  AIHW_TRY(aihw_nn_arch_layer_config(a, source, "LINEAR", &mp, &tc));
  return aihw_linear_create(&tc, &mp, in, outf, bias, out);
}

static aihw_status build_tree(const cJSON *a, const char *source, int depth,
                              aihw_module **out) {
  *out = NULL;
  if (depth > 64)
    return arch_error(source, "nested deeper than 64 levels");
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(a, "kind");
  int k = 0;
  while (cJSON_IsString(kind) && k < N_KINDS &&
         (kind_names[k] == NULL || strcmp(kind->valuestring, kind_names[k]) != 0))
    ++k;
  if (!cJSON_IsString(kind) || k == N_KINDS)
    return arch_error(source, "an entry has no known 'kind' (LINEAR, SEQUENTIAL, RELU, "
                              "SIGMOID, TANH, FLATTEN, CONV1D, CONV2D, MAXPOOL2D, AVGPOOL2D, "
                              "DIGITAL_LINEAR, BATCHNORM1D, BATCHNORM2D, DROPOUT, SOFTMAX, "
                              "LOGSOFTMAX)");
  if (k == AIHW_MODULE_LINEAR)
    return build_linear(a, source, out);
  if (is_conv_kind((aihw_module_kind)k) || k == AIHW_MODULE_MAXPOOL2D ||
      k == AIHW_MODULE_AVGPOOL2D)
    return aihw_layers_build((aihw_module_kind)k, a, source, out);
  if (aihw_digital_kind((aihw_module_kind)k))
    return aihw_digital_build(k, a, source, out);
  if (k != AIHW_MODULE_SEQUENTIAL) {
    int64_t features = 0;
    if (!read_i64(a, "features", &features))
      return arch_error(source, "an activation entry needs 'features'");
    return aihw_activation_create((aihw_module_kind)k, features, out);
  }
  const cJSON *children = cJSON_GetObjectItemCaseSensitive(a, "children");
  if (!cJSON_IsArray(children))
    return arch_error(source, "a SEQUENTIAL entry needs 'children'");
  aihw_module *seq = NULL;
  AIHW_TRY(aihw_sequential_create(&seq));
  int index = 0;
  for (const cJSON *c = children->child; c != NULL; c = c->next, ++index) {
    aihw_module *child = NULL;
    aihw_status s = build_tree(c, source, depth + 1, &child);
    if (s == AIHW_OK)
      s = aihw_sequential_append(seq, child);
    if (s != AIHW_OK) {
      aihw_module_destroy(seq);
      char prefix[48];
      snprintf(prefix, sizeof prefix, "child %d", index);
      return aihw_nn_wrap_error(s, prefix);
    }
  }
  *out = seq;
  return AIHW_OK;
}

/* Bytes of weights the LINEAR entries of an architecture declare (4 per in x out; every
 * tile kind stores its weights as F32), as a double (no overflow: at most 2^64 per entry
 * and 64 levels). Malformed entries count 0: build_tree reports them. */
static double declared_weight_bytes(const cJSON *a, int depth) {
  if (depth > 64 || !cJSON_IsObject(a))
    return 0.0;
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(a, "kind");
  if (cJSON_IsString(kind) && strcmp(kind->valuestring, "LINEAR") == 0) {
    int64_t in = 0, outf = 0;
    return read_i64(a, "in_features", &in) && read_i64(a, "out_features", &outf)
               ? 4.0 * (double)in * (double)outf
               : 0.0;
  }
  double sum = 0.0;
  const cJSON *children = cJSON_GetObjectItemCaseSensitive(a, "children");
  if (cJSON_IsArray(children))
    for (const cJSON *c = children->child; c != NULL; c = c->next)
      sum += declared_weight_bytes(c, depth + 1);
  return sum;
}

aihw_status aihw_module_state_build(const aihw_st_dict *dict, const char *source,
                                    aihw_module **out) {
  cJSON *arch = NULL;
  aihw_module *m = NULL;
  aihw_status s = read_header(dict, source, &arch);
  if (s == AIHW_OK) {
    /* the weights must be in the dict: a header claiming more is refused before anything
     * is built, so that a small file cannot make us allocate gigabytes */
    size_t have = 0;
    for (size_t k = 0; k < aihw_st_dict_count(dict); ++k) {
      aihw_st_tensor t;
      if (aihw_st_dict_at(dict, k, &t) == AIHW_OK)
        have += t.nbytes; /* no overflow: the tensors are in memory */
    }
    const double declared = declared_weight_bytes(arch, 0);
    if (declared > (double)have)
      s = aihw_error(AIHW_ERR_FORMAT,
                     "%s: architecture: its linear layers declare %.0f bytes of weights but "
                     "the file holds %zu bytes of tensors (truncated or lying header)",
                     source, declared, have);
  }
  if (s == AIHW_OK) {
    s = build_tree(arch, source, 0, &m);
    if (s != AIHW_OK)
      s = aihw_nn_wrap_error(s, source);
  }
  if (s == AIHW_OK) /* the rebuilt module's own architecture must match what it came from */
    s = check_architecture(m, arch, source, 1);
  if (s == AIHW_OK)
    s = import_tensors(m, dict, 1, arch, source);
  cJSON_Delete(arch);
  if (s != AIHW_OK) {
    aihw_module_destroy(m);
    return s;
  }
  *out = m;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_module_load_new(const char *path, aihw_module **out) {
  static const char *fn = "aihw_module_load_new";
  if (path == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      path == NULL ? "path" : "out");
  aihw_st_dict *dict = NULL;
  AIHW_TRY(aihw_st_read_file(path, &dict));
  const aihw_status s = aihw_module_state_build(dict, path, out);
  aihw_st_dict_destroy(dict);
  return s;
}

/* ---- architecture access for other module files (module_internal.h) ------------------ */

struct cJSON *aihw_module_architecture_json(const aihw_module *m) { return architecture(m); }

aihw_status aihw_module_from_architecture(const struct cJSON *arch, const char *source,
                                          aihw_module **out) {
  return build_tree(arch, source, 0, out);
}
