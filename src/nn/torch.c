/* PyTorch parameter files and network conversion (reference §7.5, aihwkit's
 * convert_to_analog and load_state_dict of a digital model):
 *
 *  - aihw_module_save_torch / aihw_module_load_torch: the learnable parameters of a module
 *    tree under the names torch's state_dict() gives the same nn.Sequential ("0.weight",
 *    "0.bias", "3.weight", nested containers "1.0.weight"; LINEAR and DIGITAL_LINEAR
 *    weight/bias, BatchNorm weight/bias/running_mean/running_var/num_batches_tracked), in a
 *    safetensors file that Python's `safetensors.torch.load_file` reads and `save_file`
 *    writes;
 *  - aihw_module_convert: the same network on tiles of another configuration, with the
 *    weights copied exactly.
 *
 * Parameters: LINEAR (weight [out][in], bias [out]) and CONV1D/CONV2D (weight
 * [out][in/groups][k] / [out][in/groups][kh][kw], bias [out]); a module kind with
 * parameters lists them in a table (collect_*), in torch's order and
 * shapes; loading fills each listed parameter from the file (converting F64, F16 and BF16
 * to float), validates everything (names, dtypes, shapes, finiteness) and only then
 * writes the modules (apply_*), so that a bad file changes nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "nn/digital_internal.h"

#define TORCH_MAX_NAME 256
#define TORCH_MAX_DIMS 4

/* One learnable parameter of the tree: its torch name, shape and a float copy. */
typedef struct torch_param {
  aihw_module *module;
  char name[TORCH_MAX_NAME];
  size_t ndim, shape[TORCH_MAX_DIMS], numel;
  float *data;
  int role; /* per kind: 0 = weight, 1 = bias, ... */
  int loaded;
  int is_count; /* an I64 scalar (BatchNorm's num_batches_tracked), kept in `count` */
  int64_t count;
} torch_param;

typedef struct torch_list {
  torch_param *items;
  size_t count, capacity;
} torch_list;

static void list_free(torch_list *l) {
  for (size_t k = 0; k < l->count; ++k)
    aihw_free(l->items[k].data);
  aihw_free(l->items);
  memset(l, 0, sizeof *l);
}

/* Appends a parameter with room for its values (zeroed). */
static aihw_status list_add(torch_list *l, aihw_module *m, const char *prefix,
                            const char *suffix, int role, size_t ndim, const int64_t *shape,
                            torch_param **out) {
  if (l->count == l->capacity) {
    size_t cap = l->capacity > 0 ? 2 * l->capacity : 16;
    torch_param *p = aihw_calloc_array(cap, sizeof *p, "parameter list");
    if (p == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    if (l->count > 0)
      memcpy(p, l->items, l->count * sizeof *p);
    aihw_free(l->items);
    l->items = p;
    l->capacity = cap;
  }
  torch_param *t = &l->items[l->count];
  memset(t, 0, sizeof *t);
  int len = snprintf(t->name, sizeof t->name, "%s%s%s", prefix, prefix[0] ? "." : "", suffix);
  if (len < 0 || (size_t)len >= sizeof t->name)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "parameter name '%s.%s' is too long", prefix,
                      suffix);
  t->module = m;
  t->role = role;
  t->ndim = ndim;
  t->numel = 1;
  for (size_t d = 0; d < ndim; ++d) {
    t->shape[d] = (size_t)shape[d];
    t->numel *= (size_t)shape[d];
  }
  t->data = aihw_calloc_array(t->numel, sizeof(float), "parameter values");
  if (t->data == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  ++l->count;
  *out = t;
  return AIHW_OK;
}

/* ---- per kind: the parameters and how to write them back ---------------------------- */

static aihw_status collect_linear(aihw_module *m, const char *prefix, torch_list *l) {
  aihw_linear_view v;
  aihw_linear_view_of(m, &v);
  const int64_t wshape[2] = {m->out_features, m->in_features};
  torch_param *w = NULL, *b = NULL;
  AIHW_TRY(list_add(l, m, prefix, "weight", 0, 2, wshape, &w));
  if (v.has_bias)
    AIHW_TRY(list_add(l, m, prefix, "bias", 1, 1, &m->out_features, &b));
  return aihw_linear_get_weights(m, w->data, b != NULL ? b->data : NULL, 1);
}

/* The parameters of module m at [first, first + n) of the list. */
static aihw_status apply_linear(aihw_module *m, torch_param *p, size_t n) {
  const float *b = n > 1 ? p[1].data : NULL;
  return aihw_linear_set_weights(m, p[0].data, b, 1);
}

/* Conv2d: weight [out][in/groups][kh][kw]; Conv1d: [out][in/groups][k]; bias [out]. */
static aihw_status collect_conv(aihw_module *m, const char *prefix, torch_list *l) {
  aihw_conv_params p;
  AIHW_TRY(aihw_conv_geometry(m, &p, NULL, NULL, NULL, NULL));
  const int conv1d = m->kind == AIHW_MODULE_CONV1D;
  const int64_t wshape[4] = {p.out_channels, p.in_channels / p.groups, p.kernel[0],
                             p.kernel[1]};
  torch_param *w = NULL, *b = NULL;
  AIHW_TRY(list_add(l, m, prefix, "weight", 0, conv1d ? 3 : 4, wshape, &w));
  if (p.bias)
    AIHW_TRY(list_add(l, m, prefix, "bias", 1, 1, &p.out_channels, &b));
  return aihw_conv_get_weights(m, w->data, b != NULL ? b->data : NULL, 1);
}

static aihw_status apply_conv(aihw_module *m, torch_param *p, size_t n) {
  return aihw_conv_set_weights(m, p[0].data, n > 1 ? p[1].data : NULL, 1);
}

/* DIGITAL_LINEAR: weight [out][in], bias [out], as torch.nn.Linear. */
static aihw_status collect_digital_linear(aihw_module *m, const char *prefix, torch_list *l) {
  const int64_t wshape[2] = {m->out_features, m->in_features};
  torch_param *w = NULL, *b = NULL;
  AIHW_TRY(list_add(l, m, prefix, "weight", 0, 2, wshape, &w));
  if (m->digital->linear.bias.n > 0)
    AIHW_TRY(list_add(l, m, prefix, "bias", 1, 1, &m->out_features, &b));
  return aihw_digital_linear_get_weights(m, w->data, b != NULL ? b->data : NULL);
}

static aihw_status apply_digital_linear(aihw_module *m, torch_param *p, size_t n) {
  return aihw_digital_linear_set_weights(m, p[0].data, n > 1 ? p[1].data : NULL);
}

/* BATCHNORM1D/2D: weight and bias (affine), running_mean, running_var and the I64 scalar
 * num_batches_tracked (track_running_stats), as torch.nn.BatchNorm*d's state_dict. */
enum { BN_WEIGHT, BN_BIAS, BN_MEAN, BN_VAR, BN_TRACKED };

static aihw_status collect_batchnorm(aihw_module *m, const char *prefix, torch_list *l) {
  aihw_batchnorm *bn = &m->digital->norm;
  const int64_t c = bn->channels;
  torch_param *t = NULL;
  if (bn->params.affine) {
    AIHW_TRY(list_add(l, m, prefix, "weight", BN_WEIGHT, 1, &c, &t));
    memcpy(t->data, bn->gamma.value, (size_t)c * sizeof(float));
    AIHW_TRY(list_add(l, m, prefix, "bias", BN_BIAS, 1, &c, &t));
    memcpy(t->data, bn->beta.value, (size_t)c * sizeof(float));
  }
  if (bn->params.track_running_stats) {
    AIHW_TRY(list_add(l, m, prefix, "running_mean", BN_MEAN, 1, &c, &t));
    memcpy(t->data, bn->running_mean, (size_t)c * sizeof(float));
    AIHW_TRY(list_add(l, m, prefix, "running_var", BN_VAR, 1, &c, &t));
    memcpy(t->data, bn->running_var, (size_t)c * sizeof(float));
    AIHW_TRY(list_add(l, m, prefix, "num_batches_tracked", BN_TRACKED, 0, NULL, &t));
    t->is_count = 1;
    t->count = bn->num_batches_tracked;
  }
  return AIHW_OK;
}

static aihw_status apply_batchnorm(aihw_module *m, torch_param *p, size_t n) {
  aihw_batchnorm *bn = &m->digital->norm;
  const size_t bytes = (size_t)bn->channels * sizeof(float);
  for (size_t k = 0; k < n; ++k)
    switch (p[k].role) {
    case BN_WEIGHT: memcpy(bn->gamma.value, p[k].data, bytes); break;
    case BN_BIAS: memcpy(bn->beta.value, p[k].data, bytes); break;
    case BN_MEAN: memcpy(bn->running_mean, p[k].data, bytes); break;
    case BN_VAR: memcpy(bn->running_var, p[k].data, bytes); break;
    default: bn->num_batches_tracked = p[k].count; break;
    }
  return AIHW_OK;
}

/* Checks what the writers cannot refuse half-way: a running variance must be >= 0. */
static aihw_status check_values(const torch_list *l, const char *source) {
  for (size_t k = 0; k < l->count; ++k) {
    const torch_param *p = &l->items[k];
    const aihw_module_kind kind = p->module->kind;
    if ((kind == AIHW_MODULE_BATCHNORM1D || kind == AIHW_MODULE_BATCHNORM2D) &&
        p->role == BN_VAR)
      for (size_t i = 0; i < p->numel; ++i)
        if (p->data[i] < 0.0f)
          return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                            "%s: tensor '%s' element %zu = %g: a variance must be >= 0", source,
                            p->name, i, (double)p->data[i]);
  }
  return AIHW_OK;
}

/* ---- the walk ------------------------------------------------------------------------- */

static aihw_status collect_tree(aihw_module *m, char *prefix, size_t size, torch_list *l) {
  if (m->kind == AIHW_MODULE_LINEAR)
    return collect_linear(m, prefix, l);
  if (m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D)
    return collect_conv(m, prefix, l);
  if (m->kind == AIHW_MODULE_DIGITAL_LINEAR)
    return collect_digital_linear(m, prefix, l);
  if (m->kind == AIHW_MODULE_BATCHNORM1D || m->kind == AIHW_MODULE_BATCHNORM2D)
    return collect_batchnorm(m, prefix, l);
  const size_t len = strlen(prefix);
  for (int k = 0; k < m->child_count; ++k) {
    int n = snprintf(prefix + len, size - len, "%s%d", len > 0 ? "." : "", k);
    if (n < 0 || (size_t)n >= size - len)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "parameter path '%s' is too long", prefix);
    aihw_status s = collect_tree(m->children[k], prefix, size, l);
    prefix[len] = '\0';
    AIHW_TRY(s);
  }
  return AIHW_OK;
}

static aihw_status collect(const aihw_module *m, torch_list *l) {
  char prefix[TORCH_MAX_NAME] = "";
  /* collecting reads the module only; the list keeps a non-const pointer for apply */
  aihw_status s = collect_tree((aihw_module *)(uintptr_t)m, prefix, sizeof prefix, l);
  if (s != AIHW_OK)
    list_free(l);
  return s;
}

static aihw_status apply_all(torch_list *l) {
  size_t k = 0;
  while (k < l->count) {
    size_t n = 1;
    while (k + n < l->count && l->items[k + n].module == l->items[k].module)
      ++n;
    aihw_module *m = l->items[k].module;
    aihw_status s = AIHW_OK;
    if (m->kind == AIHW_MODULE_LINEAR)
      s = apply_linear(m, &l->items[k], n);
    else if (m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D)
      s = apply_conv(m, &l->items[k], n);
    else if (m->kind == AIHW_MODULE_DIGITAL_LINEAR)
      s = apply_digital_linear(m, &l->items[k], n);
    else if (m->kind == AIHW_MODULE_BATCHNORM1D || m->kind == AIHW_MODULE_BATCHNORM2D)
      s = apply_batchnorm(m, &l->items[k], n);
    else
      s = aihw_error(AIHW_ERR_INTERNAL, "no parameter writer for module kind %d", (int)m->kind);
    if (s != AIHW_OK) {
      char prefix[TORCH_MAX_NAME + 32];
      snprintf(prefix, sizeof prefix, "parameter '%s'", l->items[k].name);
      return aihw_nn_wrap_error(s, prefix);
    }
    k += n;
  }
  return AIHW_OK;
}

/* ---- element conversion ---------------------------------------------------------------- */

static float half_to_float(uint16_t h) {
  const uint32_t sign = (uint32_t)(h >> 15) << 31;
  const uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  float v;
  if (exp == 0)
    v = ldexpf((float)man, -24); /* zero and subnormals */
  else if (exp == 31)
    v = man == 0 ? INFINITY : NAN;
  else
    v = ldexpf((float)(man | 0x400u), (int)exp - 25);
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  bits |= sign;
  memcpy(&v, &bits, sizeof v);
  return v;
}

static float bf16_to_float(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float v;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* Copies tensor t into p->data as floats; FORMAT for other dtypes or shapes. */
static aihw_status convert_tensor(const aihw_st_tensor *t, torch_param *p, const char *source) {
  if (t->ndim != p->ndim || t->numel != p->numel) {
    char want[96] = "", got[96] = "";
    for (size_t d = 0; d < p->ndim; ++d)
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", d ? ", " : "",
               p->shape[d]);
    for (size_t d = 0; d < t->ndim; ++d)
      snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", d ? ", " : "",
               t->shape[d]);
    return aihw_error(AIHW_ERR_SHAPE, "%s: tensor '%s' has shape [%s], the module expects [%s]",
                      source, p->name, got, want);
  }
  for (size_t d = 0; d < p->ndim; ++d)
    if (t->shape[d] != p->shape[d])
      return aihw_error(AIHW_ERR_SHAPE,
                        "%s: tensor '%s' has extent %zu in dimension %zu, the module expects "
                        "%zu",
                        source, p->name, t->shape[d], d, p->shape[d]);
  const unsigned char *src = t->data;
  if (p->is_count) { /* torch keeps counters as int64 */
    int64_t v = 0;
    if (t->dtype != AIHW_ST_I64)
      return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s' has dtype %s (allowed: I64)", source,
                        p->name, aihw_st_dtype_name(t->dtype));
    memcpy(&v, src, sizeof v);
    if (v < 0)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tensor '%s' = %lld: must be >= 0",
                        source, p->name, (long long)v);
    p->count = v;
    p->loaded = 1;
    return AIHW_OK;
  }
  for (size_t k = 0; k < p->numel; ++k) {
    float v;
    switch (t->dtype) {
    case AIHW_ST_F32: memcpy(&v, src + 4 * k, 4); break;
    case AIHW_ST_F64: {
      double d;
      memcpy(&d, src + 8 * k, 8);
      v = (float)d;
      break;
    }
    case AIHW_ST_F16:
    case AIHW_ST_BF16: {
      uint16_t h;
      memcpy(&h, src + 2 * k, 2);
      v = t->dtype == AIHW_ST_F16 ? half_to_float(h) : bf16_to_float(h);
      break;
    }
    default:
      return aihw_error(AIHW_ERR_FORMAT,
                        "%s: tensor '%s' has dtype %s (allowed: F32, F64, F16, BF16)", source,
                        p->name, aihw_st_dtype_name(t->dtype));
    }
    if (!isfinite(v))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: tensor '%s' element %zu = %g: must be finite",
                        source, p->name, k, (double)v);
    p->data[k] = v;
  }
  p->loaded = 1;
  return AIHW_OK;
}

/* Fills the list from the dict and checks the names: strict reports every missing and
 * every unexpected tensor. */
static aihw_status fill_from_dict(torch_list *l, const aihw_st_dict *dict, int strict,
                                  const char *source) {
  for (size_t k = 0; k < l->count; ++k) {
    aihw_st_tensor t;
    if (!aihw_st_dict_contains(dict, l->items[k].name))
      continue;
    AIHW_TRY(aihw_st_dict_get(dict, l->items[k].name, &t));
    AIHW_TRY(convert_tensor(&t, &l->items[k], source));
  }
  if (!strict)
    return AIHW_OK;
  char missing[512] = "", unexpected[512] = "";
  size_t n_missing = 0, n_unexpected = 0;
  for (size_t k = 0; k < l->count; ++k)
    if (!l->items[k].loaded && n_missing++ < 16)
      snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s'%s'",
               n_missing > 1 ? ", " : "", l->items[k].name);
  const size_t count = aihw_st_dict_count(dict);
  for (size_t i = 0; i < count; ++i) {
    aihw_st_tensor t;
    AIHW_TRY(aihw_st_dict_at(dict, i, &t));
    int used = 0;
    for (size_t k = 0; k < l->count && !used; ++k)
      used = strcmp(l->items[k].name, t.name) == 0;
    if (!used && n_unexpected++ < 16)
      snprintf(unexpected + strlen(unexpected), sizeof unexpected - strlen(unexpected),
               "%s'%s'", n_unexpected > 1 ? ", " : "", t.name);
  }
  if (n_missing > 0 || n_unexpected > 0)
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: parameters do not match the module (strict): %zu missing%s%s%s, "
                      "%zu unexpected%s%s%s",
                      source, n_missing, n_missing ? " (" : "", missing, n_missing ? ")" : "",
                      n_unexpected, n_unexpected ? " (" : "", unexpected,
                      n_unexpected ? ")" : "");
  return AIHW_OK;
}

/* ---- public entry points ------------------------------------------------------------- */

static aihw_status export_dict(const aihw_module *m, aihw_st_dict **out) {
  torch_list l = {0};
  AIHW_TRY(collect(m, &l));
  aihw_st_dict *dict = NULL;
  aihw_status s = aihw_st_dict_create(&dict);
  for (size_t k = 0; k < l.count && s == AIHW_OK; ++k)
    s = l.items[k].is_count
            ? aihw_st_dict_add(dict, l.items[k].name, AIHW_ST_I64, NULL, 0, &l.items[k].count)
            : aihw_st_dict_add(dict, l.items[k].name, AIHW_ST_F32, l.items[k].shape,
                               l.items[k].ndim, l.items[k].data);
  if (s == AIHW_OK)
    s = aihw_st_dict_set_metadata(dict, "format", "pt");
  list_free(&l);
  if (s != AIHW_OK) {
    aihw_st_dict_destroy(dict);
    return s;
  }
  *out = dict;
  return AIHW_OK;
}

static aihw_status import_dict(aihw_module *m, const aihw_st_dict *dict, int strict,
                               const char *source) {
  torch_list l = {0};
  AIHW_TRY(collect(m, &l));
  aihw_status s = fill_from_dict(&l, dict, strict, source);
  if (s == AIHW_OK)
    s = check_values(&l, source);
  if (s == AIHW_OK)
    s = apply_all(&l);
  list_free(&l);
  return s;
}

AIHW_API aihw_status aihw_module_save_torch(const aihw_module *module, const char *path) {
  static const char *fn = "aihw_module_save_torch";
  if (module == NULL || path == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      module == NULL ? "module" : "path");
  aihw_st_dict *dict = NULL;
  aihw_status s = export_dict(module, &dict);
  if (s == AIHW_OK)
    s = aihw_st_write_file(dict, path);
  aihw_st_dict_destroy(dict);
  return s == AIHW_OK ? s : aihw_nn_wrap_error(s, fn);
}

AIHW_API aihw_status aihw_module_load_torch(aihw_module *module, const char *path, int strict) {
  static const char *fn = "aihw_module_load_torch";
  if (module == NULL || path == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      module == NULL ? "module" : "path");
  if (strict != 0 && strict != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: strict = %d: must be 0 or 1", fn, strict);
  aihw_st_dict *dict = NULL;
  AIHW_TRY(aihw_st_read_file(path, &dict));
  aihw_status s = import_dict(module, dict, strict, path);
  aihw_st_dict_destroy(dict);
  return s;
}

/* Product of the numbers of an array member (1 when absent). */
static int64_t array_product(const cJSON *a, const char *key) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(a, key);
  int64_t n = 1;
  for (const cJSON *v = arr != NULL ? arr->child : NULL; v != NULL; v = v->next)
    n *= cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 1;
  return n;
}

static int64_t number_of(const cJSON *a, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, key);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

/* Number of tiles of a LINEAR, CONV1D or CONV2D entry of the architecture tree under its
 * "mapping" (a convolution: one grid of in/groups kernel -> out/groups per group). */
static int64_t entry_tiles(const cJSON *a) {
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(a, "kind");
  if (cJSON_IsString(kind) && strncmp(kind->valuestring, "CONV", 4) == 0) {
    const int64_t groups = number_of(a, "groups") > 0 ? number_of(a, "groups") : 1;
    const int64_t in = number_of(a, "in_channels") / groups * array_product(a, "kernel");
    const int64_t out = number_of(a, "out_channels") / groups;
    const cJSON *mj = cJSON_GetObjectItemCaseSensitive(a, "mapping");
    int64_t n_in = 1, n_out = 1;
    if (aihw_mapping_split(in, number_of(mj, "max_input_size"), NULL, 0, &n_in) != AIHW_OK ||
        aihw_mapping_split(out, number_of(mj, "max_output_size"), NULL, 0, &n_out) != AIHW_OK)
      return groups;
    return groups * n_in * n_out;
  }
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(a, "in_features");
  const cJSON *out = cJSON_GetObjectItemCaseSensitive(a, "out_features");
  const cJSON *mj = cJSON_GetObjectItemCaseSensitive(a, "mapping");
  const cJSON *max_in = cJSON_GetObjectItemCaseSensitive(mj, "max_input_size");
  const cJSON *max_out = cJSON_GetObjectItemCaseSensitive(mj, "max_output_size");
  int64_t n_in = 1, n_out = 1;
  if (!cJSON_IsNumber(in) || !cJSON_IsNumber(out) || !cJSON_IsNumber(max_in) ||
      !cJSON_IsNumber(max_out) ||
      aihw_mapping_split((int64_t)in->valuedouble, (int64_t)max_in->valuedouble, NULL, 0,
                         &n_in) != AIHW_OK ||
      aihw_mapping_split((int64_t)out->valuedouble, (int64_t)max_out->valuedouble, NULL, 0,
                         &n_out) != AIHW_OK)
    return 1;
  return n_in * n_out;
}

/* Replaces every "tile_config" of the architecture tree by `config` and every "mapping"
 * by `mapping_text` when it is not NULL; tile ids are handed out in tree order from
 * *next_id, each layer taking as many as it has tiles. */
static aihw_status rewrite_configs(cJSON *a, const aihw_tile_config *config,
                                   const char *mapping_text, int64_t *next_id) {
  if (!cJSON_IsObject(a))
    return AIHW_OK;
  if (mapping_text != NULL && cJSON_GetObjectItemCaseSensitive(a, "mapping") != NULL) {
    cJSON *mj = cJSON_Parse(mapping_text);
    if (mj == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(a, "mapping", mj)) {
      cJSON_Delete(mj);
      return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_module_convert: out of memory");
    }
  }
  if (cJSON_GetObjectItemCaseSensitive(a, "tile_config") != NULL) {
    aihw_tile_config c = *config;
    c.tile_id = (uint32_t)*next_id;
    *next_id += entry_tiles(a);
    char *text = NULL;
    AIHW_TRY(aihw_tile_config_to_json(&c, &text));
    cJSON *raw = cJSON_Parse(text);
    free(text);
    if (raw == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(a, "tile_config", raw)) {
      cJSON_Delete(raw);
      return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_module_convert: out of memory");
    }
  }
  cJSON *children = cJSON_GetObjectItemCaseSensitive(a, "children");
  for (cJSON *c = children != NULL ? children->child : NULL; c != NULL; c = c->next)
    AIHW_TRY(rewrite_configs(c, config, mapping_text, next_id));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_module_convert(const aihw_module *src, const aihw_tile_config *config,
                                         const aihw_mapping_params *mapping,
                                         aihw_module **out) {
  static const char *fn = "aihw_module_convert";
  if (src == NULL || config == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      src == NULL      ? "module"
                      : config == NULL ? "config"
                                       : "out");
  char *mapping_text = NULL;
  if (mapping != NULL)
    AIHW_TRY(aihw_mapping_params_to_json(mapping, &mapping_text));
  /* the builder reads parsed JSON (numbers, not the writer's raw number items) */
  cJSON *written = aihw_module_architecture_json(src);
  char *arch_text = written != NULL ? cJSON_PrintUnformatted(written) : NULL;
  cJSON_Delete(written);
  cJSON *arch = arch_text != NULL ? cJSON_Parse(arch_text) : NULL;
  free(arch_text);
  int64_t next_id = (int64_t)config->tile_id;
  aihw_status s = arch != NULL ? rewrite_configs(arch, config, mapping_text, &next_id)
                               : aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
  free(mapping_text);
  aihw_module *m = NULL;
  if (s == AIHW_OK)
    s = aihw_module_from_architecture(arch, fn, &m);
  cJSON_Delete(arch);
  aihw_st_dict *dict = NULL;
  if (s == AIHW_OK)
    s = export_dict(src, &dict);
  if (s == AIHW_OK)
    s = import_dict(m, dict, 1, fn);
  aihw_st_dict_destroy(dict);
  if (s == AIHW_OK) /* a converted network starts in the source's mode */
    s = aihw_module_set_training(m, src->training);
  if (s != AIHW_OK) {
    aihw_module_destroy(m);
    return s;
  }
  *out = m;
  return AIHW_OK;
}
