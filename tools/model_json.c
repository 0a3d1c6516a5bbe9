/* Network descriptions in JSON (models.h): a PyTorch-like nn.Sequential as a list of
 * layers whose input sizes follow from the declared input shape,
 *
 *   {"input": [1, 28, 28],
 *    "layers": [{"type": "Conv2d", "out_channels": 16, "kernel_size": 5},
 *               {"type": "Tanh"}, {"type": "MaxPool2d", "kernel_size": 2},
 *               {"type": "Flatten"}, {"type": "Linear", "out_features": 10}]}
 *
 * The built-in architectures of --arch are such texts too. Every analog layer gets the
 * configuration and mapping of --rpu, with tile ids handed out in layer order over every
 * tile; a layer may override the configuration with "rpu": "<preset name>". The shape is
 * tracked as [C, H, W] (images), [C, L] or [F] (vectors); layers that need a shape
 * (Conv2d, pooling) say so when they get another one. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "core/error.h"
#include "models.h"

#define MODEL_MAX_DIMS 3

typedef struct shape {
  int ndim;
  int64_t d[MODEL_MAX_DIMS];
} shape;

static int64_t numel(const shape *s) {
  int64_t n = 1;
  for (int k = 0; k < s->ndim; ++k)
    n *= s->d[k];
  return n;
}

typedef struct model_ctx {
  const char *cmd, *source;
  aihw_tile_config config; /* tile_id advances over every tile built */
  const aihw_mapping_params *mapping;
  aihw_module *seq;
  shape cur;
  int index; /* layer being built, for messages */
} model_ctx;

static int fail(model_ctx *c, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "aihw %s: %s: layer %d: %s\n", c->cmd, c->source, c->index, msg);
  return CLI_EXIT_FAILURE;
}

static int lib_fail(model_ctx *c, const char *what, aihw_status s) {
  fprintf(stderr, "aihw %s: %s: layer %d: %s: %s: %s\n", c->cmd, c->source, c->index, what,
          aihw_status_name(s), aihw_last_error());
  return CLI_EXIT_FAILURE;
}

/* Integer member `key` (or *out unchanged when absent and not required). */
static int get_int(model_ctx *c, const cJSON *layer, const char *key, int required,
                   int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(layer, key);
  if (v == NULL) {
    if (required)
      fail(c, "needs \"%s\"", key);
    return !required;
  }
  if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble ||
      v->valuedouble < 0 || v->valuedouble > 2147483647.0) {
    fail(c, "\"%s\" must be an integer in 0 .. 2^31-1", key);
    return 0;
  }
  *out = (int64_t)v->valuedouble;
  return 1;
}

/* The tile configuration of a layer: --rpu, or its own "rpu" preset. */
static int layer_config(model_ctx *c, const cJSON *layer, aihw_tile_config *out) {
  *out = c->config;
  const cJSON *rpu = cJSON_GetObjectItemCaseSensitive(layer, "rpu");
  if (rpu == NULL)
    return 1;
  if (!cJSON_IsString(rpu)) {
    fail(c, "\"rpu\" must be a preset name");
    return 0;
  }
  aihw_tile_config own;
  aihw_status s = aihw_tile_config_preset(rpu->valuestring, &own);
  if (s != AIHW_OK) {
    lib_fail(c, "rpu", s);
    return 0;
  }
  own.seed = c->config.seed;
  own.tile_id = c->config.tile_id;
  own.device.construction_seed = c->config.device.construction_seed;
  *out = own;
  return 1;
}

static int append(model_ctx *c, aihw_module *m, const shape *next) {
  aihw_status s = aihw_sequential_append(c->seq, m);
  if (s != AIHW_OK)
    return lib_fail(c, "aihw_sequential_append", s);
  c->cur = *next;
  return CLI_EXIT_OK;
}

static int add_linear(model_ctx *c, const cJSON *layer) {
  int64_t out = 0, bias = 1;
  if (!get_int(c, layer, "out_features", 1, &out) || !get_int(c, layer, "bias", 0, &bias))
    return CLI_EXIT_FAILURE;
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(layer, "bias");
  if (cJSON_IsBool(b))
    bias = cJSON_IsTrue(b);
  if (c->cur.ndim != 1)
    return fail(c, "Linear needs a flat input (add a Flatten); the input has %d dims",
                c->cur.ndim);
  aihw_tile_config config;
  if (!layer_config(c, layer, &config))
    return CLI_EXIT_FAILURE;
  aihw_module *m = NULL;
  aihw_status s = aihw_linear_create(&config, c->mapping, c->cur.d[0], out, (int)bias, &m);
  if (s != AIHW_OK)
    return lib_fail(c, "Linear", s);
  int64_t rows = 0, cols = 0;
  aihw_linear_tile_grid(m, &rows, &cols);
  c->config.tile_id += (uint32_t)(rows * cols);
  shape next = {1, {out, 0, 0}};
  return append(c, m, &next);
}

static int add_activation(model_ctx *c, aihw_module_kind kind) {
  aihw_module *m = NULL;
  aihw_status s = aihw_activation_create(kind, numel(&c->cur), &m);
  if (s != AIHW_OK)
    return lib_fail(c, "activation", s);
  shape next = c->cur;
  if (kind == AIHW_MODULE_FLATTEN) {
    next.ndim = 1;
    next.d[0] = numel(&c->cur);
  }
  return append(c, m, &next);
}

/* One layer object. */
static int add_layer(model_ctx *c, const cJSON *layer) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(layer, "type");
  if (!cJSON_IsObject(layer) || !cJSON_IsString(type))
    return fail(c, "a layer is an object with a \"type\"");
  const char *t = type->valuestring;
  if (strcmp(t, "Linear") == 0)
    return add_linear(c, layer);
  static const struct {
    const char *name;
    aihw_module_kind kind;
  } activations[] = {{"ReLU", AIHW_MODULE_RELU},
                     {"Sigmoid", AIHW_MODULE_SIGMOID},
                     {"Tanh", AIHW_MODULE_TANH},
                     {"Flatten", AIHW_MODULE_FLATTEN}};
  for (size_t k = 0; k < sizeof activations / sizeof activations[0]; ++k)
    if (strcmp(t, activations[k].name) == 0)
      return add_activation(c, activations[k].kind);
  return fail(c, "unknown type \"%s\" (known: Linear, ReLU, Sigmoid, Tanh, Flatten)", t);
}

int models_build_json(const char *cmd, const char *json, const char *source,
                      const aihw_tile_config *config, const aihw_mapping_params *mapping,
                      int64_t in_features, aihw_module **out) {
  cJSON *root = cJSON_Parse(json);
  model_ctx c = {cmd, source, *config, mapping, NULL, {0, {0, 0, 0}}, 0};
  int rc = CLI_EXIT_FAILURE;
  const cJSON *input = cJSON_GetObjectItemCaseSensitive(root, "input");
  const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
  if (root == NULL || !cJSON_IsObject(root)) {
    fprintf(stderr, "aihw %s: %s: not a JSON object (a network description is "
                    "{\"input\": [...], \"layers\": [...]})\n",
            cmd, source);
    goto done;
  }
  if (!cJSON_IsArray(input) || cJSON_GetArraySize(input) < 1 ||
      cJSON_GetArraySize(input) > MODEL_MAX_DIMS || !cJSON_IsArray(layers) ||
      cJSON_GetArraySize(layers) < 1) {
    fprintf(stderr, "aihw %s: %s: needs \"input\" (the shape of one sample: [F], [C, L] or "
                    "[C, H, W]) and a non-empty \"layers\" list\n",
            cmd, source);
    goto done;
  }
  for (const cJSON *d = input->child; d != NULL; d = d->next) {
    if (!cJSON_IsNumber(d) || d->valuedouble < 1 || d->valuedouble > 2147483647.0 ||
        d->valuedouble != (double)(int64_t)d->valuedouble) {
      fprintf(stderr, "aihw %s: %s: \"input\" extents must be integers >= 1\n", cmd, source);
      goto done;
    }
    c.cur.d[c.cur.ndim++] = (int64_t)d->valuedouble;
  }
  if (numel(&c.cur) != in_features) {
    fprintf(stderr, "aihw %s: %s: the input shape has %lld values, the data %lld features\n",
            cmd, source, (long long)numel(&c.cur), (long long)in_features);
    goto done;
  }
  aihw_status s = aihw_sequential_create(&c.seq);
  if (s != AIHW_OK) {
    rc = cli_report_failure(cmd, "aihw_sequential_create", s);
    goto done;
  }
  rc = CLI_EXIT_OK;
  for (const cJSON *l = layers->child; l != NULL && rc == CLI_EXIT_OK; l = l->next, ++c.index)
    rc = add_layer(&c, l);
done:
  cJSON_Delete(root);
  if (rc != CLI_EXIT_OK) {
    aihw_module_destroy(c.seq);
    return rc;
  }
  *out = c.seq;
  return CLI_EXIT_OK;
}
