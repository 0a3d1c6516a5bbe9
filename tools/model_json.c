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
 * tile; a layer may override the configuration with "rpu": "<preset name>", and a Linear
 * with "analog": false is torch's digital Linear (DIGITAL_LINEAR). The shape is
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
  const cJSON *analog = cJSON_GetObjectItemCaseSensitive(layer, "analog");
  if (analog != NULL && !cJSON_IsBool(analog))
    return fail(c, "\"analog\" must be true or false");
  aihw_module *m = NULL;
  shape next = {1, {out, 0, 0}};
  if (cJSON_IsFalse(analog)) { /* torch.nn.Linear in floating point on the host */
    aihw_status s = aihw_digital_linear_create(c->cur.d[0], out, (int)bias, c->config.seed,
                                               c->config.tile_id++, &m);
    return s == AIHW_OK ? append(c, m, &next) : lib_fail(c, "Linear (digital)", s);
  }
  aihw_tile_config config;
  if (!layer_config(c, layer, &config))
    return CLI_EXIT_FAILURE;
  aihw_status s = aihw_linear_create(&config, c->mapping, c->cur.d[0], out, (int)bias, &m);
  if (s != AIHW_OK)
    return lib_fail(c, "Linear", s);
  int64_t rows = 0, cols = 0;
  aihw_linear_tile_grid(m, &rows, &cols);
  c->config.tile_id += (uint32_t)(rows * cols);
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

/* A kernel/stride/padding/dilation member: an integer (both axes) or [h, w] ([k] for 1-D).
 * Absent: *out keeps its defaults. */
static int get_pair(model_ctx *c, const cJSON *layer, const char *key, int n, int64_t out[2]) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(layer, key);
  if (v == NULL)
    return 1;
  if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 65536 &&
      v->valuedouble == (double)(int64_t)v->valuedouble) {
    out[0] = out[1] = (int64_t)v->valuedouble;
    return 1;
  }
  if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == n) {
    int k = 0;
    for (const cJSON *e = v->child; e != NULL; e = e->next, ++k) {
      if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 65536 ||
          e->valuedouble != (double)(int64_t)e->valuedouble)
        break;
      out[k] = (int64_t)e->valuedouble;
    }
    if (k == n)
      return 1;
  }
  fail(c, "\"%s\" must be an integer or %s of integers in 0 .. 65536", key,
       n == 1 ? "[k]" : "[h, w]");
  return 0;
}

static int add_conv(model_ctx *c, const cJSON *layer, int dims) {
  if (c->cur.ndim != dims + 1)
    return fail(c, "Conv%dd needs a [C, %s] input; the input has %d dims", dims,
                dims == 2 ? "H, W" : "L", c->cur.ndim);
  int64_t out = 0, bias = 1;
  if (!get_int(c, layer, "out_channels", 1, &out))
    return CLI_EXIT_FAILURE;
  aihw_conv_params p = aihw_conv_params_default(c->cur.d[0], out, 1);
  p.kernel[0] = p.kernel[1] = 0;
  if (!get_pair(c, layer, "kernel_size", dims, p.kernel) ||
      !get_pair(c, layer, "stride", dims, p.stride) ||
      !get_pair(c, layer, "padding", dims, p.padding) ||
      !get_pair(c, layer, "dilation", dims, p.dilation) ||
      !get_int(c, layer, "groups", 0, &p.groups) || !get_int(c, layer, "bias", 0, &bias))
    return CLI_EXIT_FAILURE;
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(layer, "bias");
  p.bias = cJSON_IsBool(b) ? cJSON_IsTrue(b) : (int)bias;
  if (p.kernel[0] == 0)
    return fail(c, "Conv%dd needs \"kernel_size\" >= 1", dims);
  if (dims == 1) { /* the 1-D constructor reads the [0] entries */
    p.kernel[1] = p.stride[1] = p.dilation[1] = 1;
    p.padding[1] = 0;
  }
  aihw_tile_config config;
  if (!layer_config(c, layer, &config))
    return CLI_EXIT_FAILURE;
  aihw_module *m = NULL;
  aihw_status s = dims == 2 ? aihw_conv2d_create(&config, c->mapping, &p, c->cur.d[1],
                                                 c->cur.d[2], &m)
                            : aihw_conv1d_create(&config, c->mapping, &p, c->cur.d[1], &m);
  if (s != AIHW_OK)
    return lib_fail(c, dims == 2 ? "Conv2d" : "Conv1d", s);
  for (int64_t g = 0; g < p.groups; ++g) {
    int64_t rows = 0, cols = 0;
    aihw_linear_tile_grid(aihw_conv_group(m, g), &rows, &cols);
    c->config.tile_id += (uint32_t)(rows * cols);
  }
  int64_t oh = 0, ow = 0;
  aihw_conv_geometry(m, NULL, NULL, NULL, &oh, &ow);
  shape next = dims == 2 ? (shape){3, {out, oh, ow}} : (shape){2, {out, ow, 0}};
  return append(c, m, &next);
}

static int add_pool(model_ctx *c, const cJSON *layer, aihw_module_kind kind) {
  if (c->cur.ndim != 3)
    return fail(c, "pooling needs a [C, H, W] input; the input has %d dims", c->cur.ndim);
  int64_t kernel[2] = {0, 0}, stride[2] = {0, 0}, padding[2] = {0, 0};
  if (!get_pair(c, layer, "kernel_size", 2, kernel) ||
      !get_pair(c, layer, "stride", 2, stride) || !get_pair(c, layer, "padding", 2, padding))
    return CLI_EXIT_FAILURE;
  aihw_module *m = NULL;
  aihw_status s =
      aihw_pool2d_create(kind, c->cur.d[0], c->cur.d[1], c->cur.d[2], kernel, stride, padding, &m);
  if (s != AIHW_OK)
    return lib_fail(c, kind == AIHW_MODULE_MAXPOOL2D ? "MaxPool2d" : "AvgPool2d", s);
  int64_t k[2], st[2], pd[2];
  aihw_pool2d_geometry(m, NULL, NULL, NULL, k, st, pd);
  shape next = {3,
                {c->cur.d[0], (c->cur.d[1] + 2 * pd[0] - k[0]) / st[0] + 1,
                 (c->cur.d[2] + 2 * pd[1] - k[1]) / st[1] + 1}};
  return append(c, m, &next);
}

static int add_batchnorm(model_ctx *c, const cJSON *layer, int dims) {
  if ((dims == 2 && c->cur.ndim != 3) || (dims == 1 && c->cur.ndim == 3))
    return fail(c, "BatchNorm%dd needs a %s input; the input has %d dims", dims,
                dims == 2 ? "[C, H, W]" : "[F] or [C, L]", c->cur.ndim);
  aihw_batchnorm_params p = aihw_batchnorm_params_default();
  const cJSON *eps = cJSON_GetObjectItemCaseSensitive(layer, "eps");
  const cJSON *mom = cJSON_GetObjectItemCaseSensitive(layer, "momentum");
  if ((eps != NULL && !cJSON_IsNumber(eps)) || (mom != NULL && !cJSON_IsNumber(mom)))
    return fail(c, "\"eps\" and \"momentum\" must be numbers");
  if (eps != NULL)
    p.eps = (float)eps->valuedouble;
  if (mom != NULL)
    p.momentum = (float)mom->valuedouble;
  aihw_module *m = NULL;
  aihw_status s = dims == 2 ? aihw_batchnorm2d_create(c->cur.d[0], c->cur.d[1], c->cur.d[2],
                                                      &p, &m)
                            : aihw_batchnorm1d_create(c->cur.d[0],
                                                      c->cur.ndim == 2 ? c->cur.d[1] : 1, &p,
                                                      &m);
  if (s != AIHW_OK)
    return lib_fail(c, "BatchNorm", s);
  shape next = c->cur;
  return append(c, m, &next);
}

static int add_dropout(model_ctx *c, const cJSON *layer) {
  const cJSON *pj = cJSON_GetObjectItemCaseSensitive(layer, "p");
  if (pj != NULL && !cJSON_IsNumber(pj))
    return fail(c, "\"p\" must be a number in [0, 1)");
  const float p = pj != NULL ? (float)pj->valuedouble : 0.5f; /* torch's default */
  aihw_module *m = NULL;
  aihw_status s = aihw_dropout_create(numel(&c->cur), p, c->config.seed, c->config.tile_id++, &m);
  if (s != AIHW_OK)
    return lib_fail(c, "Dropout", s);
  shape next = c->cur;
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
  if (strcmp(t, "Conv2d") == 0 || strcmp(t, "Conv1d") == 0)
    return add_conv(c, layer, t[4] == '2' ? 2 : 1);
  if (strcmp(t, "BatchNorm1d") == 0 || strcmp(t, "BatchNorm2d") == 0)
    return add_batchnorm(c, layer, t[9] == '2' ? 2 : 1);
  if (strcmp(t, "Dropout") == 0)
    return add_dropout(c, layer);
  if (strcmp(t, "MaxPool2d") == 0)
    return add_pool(c, layer, AIHW_MODULE_MAXPOOL2D);
  if (strcmp(t, "AvgPool2d") == 0)
    return add_pool(c, layer, AIHW_MODULE_AVGPOOL2D);
  static const struct {
    const char *name;
    aihw_module_kind kind;
  } activations[] = {{"ReLU", AIHW_MODULE_RELU},
                     {"Sigmoid", AIHW_MODULE_SIGMOID},
                     {"Tanh", AIHW_MODULE_TANH},
                     {"Flatten", AIHW_MODULE_FLATTEN},
                     {"Softmax", AIHW_MODULE_SOFTMAX},
                     {"LogSoftmax", AIHW_MODULE_LOGSOFTMAX}};
  for (size_t k = 0; k < sizeof activations / sizeof activations[0]; ++k)
    if (strcmp(t, activations[k].name) == 0)
      return add_activation(c, activations[k].kind);
  return fail(c, "unknown type \"%s\" (known: Linear, Conv1d, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Dropout, ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Flatten)", t);
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
