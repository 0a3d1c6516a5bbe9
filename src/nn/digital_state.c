/* State files of the digital layers (state.c holds the file format; nn.h aihw_module_save).
 *
 * Architecture entries (besides "kind" and "training"):
 *   DIGITAL_LINEAR   in_features, out_features, bias, seed, module_id
 *   BATCHNORM1D      channels, length, eps, momentum, affine, track_running_stats
 *   BATCHNORM2D      channels, height, width, eps, momentum, affine, track_running_stats
 *   DROPOUT          features, p, seed, module_id
 *   SOFTMAX, LOGSOFTMAX  features
 * Tensors at the module's path P (torch's state_dict names where torch has them):
 *   DIGITAL_LINEAR   P"weight" F32 [out][in], P"bias" F32 [out] (with bias)
 *   BATCHNORM*       P"weight" (gamma), P"bias" (beta) F32 [C] (affine); P"running_mean",
 *                    P"running_var" F32 [C] and P"num_batches_tracked" I64 [] (tracking)
 *   DROPOUT          P"step_counter" I64 [] (training forwards so far)
 * and, for every digital parameter P"<name>" whose torch momentum buffer exists,
 * P"<name>.momentum" F32 of the parameter's shape. Momentum tensors are optional, also in
 * strict loads (torch's optimizer state holds a buffer only after a momentum step): one in
 * the file is loaded and makes the buffer valid; one absent leaves the buffer invalid. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json_util.h"
#include "core/safetensors.h"
#include "nn/digital_internal.h"
#include "tile/tile_internal.h"

/* ---- import plumbing ------------------------------------------------------------------- */

static aihw_status push_copy(aihw_nn_import *im, aihw_nn_copy c) {
  if (im->n_copies == im->cap_copies) {
    const size_t cap = im->cap_copies > 0 ? 2 * im->cap_copies : 16;
    aihw_nn_copy *p = aihw_alloc_array(cap, sizeof *p, "state copies");
    if (p == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    if (im->n_copies > 0)
      memcpy(p, im->copies, im->n_copies * sizeof *p);
    aihw_free(im->copies);
    im->copies = p;
    im->cap_copies = cap;
  }
  im->copies[im->n_copies++] = c;
  return AIHW_OK;
}

void aihw_nn_import_commit(aihw_nn_import *im) {
  for (size_t k = 0; k < im->n_copies; ++k) {
    const aihw_nn_copy *c = &im->copies[k];
    if (c->dst != NULL)
      memcpy(c->dst, c->src, c->bytes);
    if (c->flag != NULL)
      *c->flag = c->flag_value;
  }
}

void aihw_nn_import_free(aihw_nn_import *im) {
  aihw_free(im->copies);
  im->copies = NULL;
  im->n_copies = im->cap_copies = 0;
}

static void mark_used(aihw_nn_import *im, const char *name) {
  const size_t n = aihw_st_dict_count(im->dict);
  for (size_t k = 0; k < n; ++k) {
    aihw_st_tensor t;
    if (aihw_st_dict_at(im->dict, k, &t) == AIHW_OK && strcmp(t.name, name) == 0) {
      im->used[k] = 1;
      return;
    }
  }
}

/* The f32 tensor `name` of the given shape with finite values, or NULL when absent. */
static aihw_status fetch_f32(aihw_nn_import *im, const char *name, const size_t *shape,
                             size_t ndim, const float **data) {
  *data = NULL;
  if (!aihw_st_dict_contains(im->dict, name))
    return AIHW_OK;
  aihw_st_tensor t;
  AIHW_TRY(aihw_st_dict_get_f32(im->dict, name, data, &t));
  AIHW_TRY(aihw_st_tensor_expect_shape(&t, shape, ndim));
  size_t n = 1;
  for (size_t d = 0; d < ndim; ++d)
    n *= shape[d];
  for (size_t k = 0; k < n; ++k)
    if (!isfinite((*data)[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "tensor '%s': element %zu is %g; must be finite",
                        name, k, (double)(*data)[k]);
  mark_used(im, name);
  return AIHW_OK;
}

aihw_status aihw_nn_import_f32(aihw_nn_import *im, const char *name, const size_t *shape,
                               size_t ndim, float *dst) {
  const float *src = NULL;
  AIHW_TRY(fetch_f32(im, name, shape, ndim, &src));
  if (src == NULL) {
    aihw_state_names_add(im->missing, name);
    return AIHW_OK;
  }
  size_t n = 1;
  for (size_t d = 0; d < ndim; ++d)
    n *= shape[d];
  return push_copy(im, (aihw_nn_copy){dst, src, n * sizeof(float), NULL, 0});
}

/* An I64 scalar in [lo, hi] into *dst (8 bytes; dst may be an int64_t or a uint64_t). */
static aihw_status import_i64(aihw_nn_import *im, const char *name, int64_t lo, int64_t hi,
                              void *dst) {
  if (!aihw_st_dict_contains(im->dict, name)) {
    aihw_state_names_add(im->missing, name);
    return AIHW_OK;
  }
  const int64_t *v = NULL;
  aihw_st_tensor t;
  AIHW_TRY(aihw_st_dict_get_i64(im->dict, name, &v, &t));
  AIHW_TRY(aihw_st_tensor_expect_shape(&t, NULL, 0));
  if (*v < lo || *v > hi)
    return aihw_error(AIHW_ERR_FORMAT, "tensor '%s': %lld is outside [%lld, %lld]", name,
                      (long long)*v, (long long)lo, (long long)hi);
  mark_used(im, name);
  return push_copy(im, (aihw_nn_copy){dst, v, sizeof(int64_t), NULL, 0});
}

static int join(char *buf, size_t size, const char *prefix, const char *name) {
  const int n = snprintf(buf, size, "%s%s", prefix, name);
  return n >= 0 && (size_t)n < size;
}

static aihw_status too_long(const char *prefix) {
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "module state: tensor path '%s...' is too long",
                    prefix);
}

/* ---- parameters ------------------------------------------------------------------------ */

aihw_status aihw_nn_param_export(const aihw_nn_param *p, aihw_st_dict *dict, const char *name) {
  if (!p->momentum_valid)
    return AIHW_OK;
  char full[600];
  if (!join(full, sizeof full, name, ".momentum"))
    return too_long(name);
  const size_t shape[1] = {(size_t)p->n};
  return aihw_st_dict_add(dict, full, AIHW_ST_F32, shape, 1, p->momentum);
}

aihw_status aihw_nn_param_prepare_momentum(aihw_nn_param *p, aihw_nn_import *im,
                                           const char *name) {
  char full[600];
  if (!join(full, sizeof full, name, ".momentum"))
    return too_long(name);
  const size_t shape[1] = {(size_t)p->n};
  const float *src = NULL;
  AIHW_TRY(fetch_f32(im, full, shape, 1, &src));
  return push_copy(im, (aihw_nn_copy){src != NULL ? p->momentum : NULL, src,
                                      (size_t)p->n * sizeof(float), &p->momentum_valid,
                                      src != NULL});
}

/* A parameter P<name> of `shape` (its values are p->n floats) with its momentum. */
static aihw_status export_param(const aihw_nn_param *p, aihw_st_dict *dict, const char *prefix,
                                const char *name, const size_t *shape, size_t ndim) {
  char full[600];
  if (!join(full, sizeof full, prefix, name))
    return too_long(prefix);
  AIHW_TRY(aihw_st_dict_add(dict, full, AIHW_ST_F32, shape, ndim, p->value));
  return aihw_nn_param_export(p, dict, full);
}

static aihw_status prepare_param(aihw_nn_param *p, aihw_nn_import *im, const char *prefix,
                                 const char *name, const size_t *shape, size_t ndim) {
  char full[600];
  if (!join(full, sizeof full, prefix, name))
    return too_long(prefix);
  AIHW_TRY(aihw_nn_import_f32(im, full, shape, ndim, p->value));
  return aihw_nn_param_prepare_momentum(p, im, full);
}

/* ---- export / import ------------------------------------------------------------------- */

aihw_status aihw_digital_export(const aihw_module *m, aihw_st_dict *dict, const char *prefix) {
  const char *where = prefix[0] ? prefix : "(root)";
  char full[600];
  switch (m->kind) {
  case AIHW_MODULE_DIGITAL_LINEAR: {
    const aihw_dlinear *d = &m->digital->linear;
    if (d->acc_rows > 0)
      return aihw_error(AIHW_ERR_STATE,
                        "module '%s' (DIGITAL_LINEAR) holds gradients of %lld samples not yet "
                        "applied: call aihw_module_step before saving (state is saved between "
                        "steps)",
                        where, (long long)d->acc_rows);
    const size_t wshape[2] = {(size_t)m->out_features, (size_t)m->in_features};
    AIHW_TRY(export_param(&d->weight, dict, prefix, "weight", wshape, 2));
    if (d->bias.n > 0)
      AIHW_TRY(export_param(&d->bias, dict, prefix, "bias", wshape, 1));
    return AIHW_OK;
  }
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D: {
    const aihw_batchnorm *bn = &m->digital->norm;
    if (bn->has_grad)
      return aihw_error(AIHW_ERR_STATE,
                        "module '%s' (BATCHNORM) holds gradients not yet applied: call "
                        "aihw_module_step before saving (state is saved between steps)",
                        where);
    const size_t shape[1] = {(size_t)bn->channels};
    if (bn->params.affine) {
      AIHW_TRY(export_param(&bn->gamma, dict, prefix, "weight", shape, 1));
      AIHW_TRY(export_param(&bn->beta, dict, prefix, "bias", shape, 1));
    }
    if (bn->params.track_running_stats) {
      if (!join(full, sizeof full, prefix, "running_mean"))
        return too_long(prefix);
      AIHW_TRY(aihw_st_dict_add(dict, full, AIHW_ST_F32, shape, 1, bn->running_mean));
      if (!join(full, sizeof full, prefix, "running_var"))
        return too_long(prefix);
      AIHW_TRY(aihw_st_dict_add(dict, full, AIHW_ST_F32, shape, 1, bn->running_var));
      if (!join(full, sizeof full, prefix, "num_batches_tracked"))
        return too_long(prefix);
      AIHW_TRY(aihw_st_dict_add(dict, full, AIHW_ST_I64, NULL, 0, &bn->num_batches_tracked));
    }
    return AIHW_OK;
  }
  case AIHW_MODULE_DROPOUT: {
    if (!join(full, sizeof full, prefix, "step_counter"))
      return too_long(prefix);
    const int64_t counter = (int64_t)m->digital->dropout.step_counter;
    return aihw_st_dict_add(dict, full, AIHW_ST_I64, NULL, 0, &counter);
  }
  default: return AIHW_OK;
  }
}

aihw_status aihw_digital_prepare(aihw_module *m, aihw_nn_import *im, const char *prefix) {
  char full[600];
  switch (m->kind) {
  case AIHW_MODULE_DIGITAL_LINEAR: {
    aihw_dlinear *d = &m->digital->linear;
    const size_t wshape[2] = {(size_t)m->out_features, (size_t)m->in_features};
    AIHW_TRY(prepare_param(&d->weight, im, prefix, "weight", wshape, 2));
    if (d->bias.n > 0)
      AIHW_TRY(prepare_param(&d->bias, im, prefix, "bias", wshape, 1));
    return AIHW_OK;
  }
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D: {
    aihw_batchnorm *bn = &m->digital->norm;
    const size_t shape[1] = {(size_t)bn->channels};
    if (bn->params.affine) {
      AIHW_TRY(prepare_param(&bn->gamma, im, prefix, "weight", shape, 1));
      AIHW_TRY(prepare_param(&bn->beta, im, prefix, "bias", shape, 1));
    }
    if (bn->params.track_running_stats) {
      if (!join(full, sizeof full, prefix, "running_mean"))
        return too_long(prefix);
      AIHW_TRY(aihw_nn_import_f32(im, full, shape, 1, bn->running_mean));
      if (!join(full, sizeof full, prefix, "running_var"))
        return too_long(prefix);
      const float *var = NULL;
      AIHW_TRY(fetch_f32(im, full, shape, 1, &var));
      for (size_t c = 0; var != NULL && c < shape[0]; ++c)
        if (var[c] < 0.0f)
          return aihw_error(AIHW_ERR_FORMAT, "tensor '%s': element %zu is %g; must be >= 0",
                            full, c, (double)var[c]);
      AIHW_TRY(aihw_nn_import_f32(im, full, shape, 1, bn->running_var));
      if (!join(full, sizeof full, prefix, "num_batches_tracked"))
        return too_long(prefix);
      AIHW_TRY(import_i64(im, full, 0, INT64_MAX, &bn->num_batches_tracked));
    }
    return AIHW_OK;
  }
  case AIHW_MODULE_DROPOUT:
    if (!join(full, sizeof full, prefix, "step_counter"))
      return too_long(prefix);
    return import_i64(im, full, 0, (int64_t)1 << 48, &m->digital->dropout.step_counter);
  default: return AIHW_OK;
  }
}

/* ---- architecture ---------------------------------------------------------------------- */

static const char *bn_spatial_names[2][2] = {{"length", NULL}, {"height", "width"}};

int aihw_digital_architecture(const aihw_module *m, cJSON *o) {
  switch (m->kind) {
  case AIHW_MODULE_DIGITAL_LINEAR: {
    const aihw_dlinear *d = &m->digital->linear;
    return aihw_json_add_item(o, "in_features", cJSON_CreateNumber((double)m->in_features)) &&
           aihw_json_add_item(o, "out_features", cJSON_CreateNumber((double)m->out_features)) &&
           aihw_json_add_item(o, "bias", cJSON_CreateBool(d->bias.n > 0)) &&
           aihw_json_add_item(o, "seed", cJSON_CreateNumber((double)d->seed)) &&
           aihw_json_add_item(o, "module_id", cJSON_CreateNumber((double)d->module_id));
  }
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D: {
    const aihw_batchnorm *bn = &m->digital->norm;
    const int two = m->kind == AIHW_MODULE_BATCHNORM2D;
    int ok =
        aihw_json_add_item(o, "channels", cJSON_CreateNumber((double)bn->channels)) &&
        aihw_json_add_item(o, bn_spatial_names[two][0], cJSON_CreateNumber((double)bn->height));
    if (ok && two)
      ok = aihw_json_add_item(o, "width", cJSON_CreateNumber((double)bn->width));
    return ok && aihw_json_add_item(o, "eps", aihw_json_float_item(bn->params.eps)) &&
           aihw_json_add_item(o, "momentum", aihw_json_float_item(bn->params.momentum)) &&
           aihw_json_add_item(o, "affine", cJSON_CreateBool(bn->params.affine)) &&
           aihw_json_add_item(o, "track_running_stats",
                              cJSON_CreateBool(bn->params.track_running_stats));
  }
  case AIHW_MODULE_DROPOUT: {
    const aihw_dropout *d = &m->digital->dropout;
    return aihw_json_add_item(o, "features", cJSON_CreateNumber((double)m->in_features)) &&
           aihw_json_add_item(o, "p", aihw_json_float_item(d->p)) &&
           aihw_json_add_item(o, "seed", cJSON_CreateNumber((double)d->seed)) &&
           aihw_json_add_item(o, "module_id", cJSON_CreateNumber((double)d->module_id));
  }
  default: return aihw_json_add_item(o, "features", cJSON_CreateNumber((double)m->in_features));
  }
}

static int read_count(const cJSON *o, const char *key, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || !aihw_json_is_integral_in(v->valuedouble, 0.0, 2147483647.0))
    return 0;
  *out = (int64_t)v->valuedouble;
  return 1;
}

static int read_u32(const cJSON *o, const char *key, uint32_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || !aihw_json_is_integral_in(v->valuedouble, 0.0, 4294967295.0))
    return 0;
  *out = (uint32_t)v->valuedouble;
  return 1;
}

static int read_float(const cJSON *o, const char *key, float *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v))
    return 0;
  *out = (float)v->valuedouble;
  return 1;
}

static int read_flag(const cJSON *o, const char *key, int *out) {
  return aihw_json_bool_value(cJSON_GetObjectItemCaseSensitive(o, key), out);
}

static aihw_status arch_error(const char *source, const char *what) {
  return aihw_error(AIHW_ERR_FORMAT, "%s: architecture: %s", source, what);
}

aihw_status aihw_digital_build(int kind, const cJSON *a, const char *source,
                               aihw_module **out) {
  int64_t in = 0, outf = 0, c = 0, h = 1, w = 1;
  uint32_t seed = 0, id = 0;
  int bias = 0;
  switch (kind) {
  case AIHW_MODULE_DIGITAL_LINEAR:
    if (!read_count(a, "in_features", &in) || !read_count(a, "out_features", &outf) ||
        !read_flag(a, "bias", &bias) || !read_u32(a, "seed", &seed) ||
        !read_u32(a, "module_id", &id))
      return arch_error(source, "a DIGITAL_LINEAR entry needs in_features, out_features, "
                                "bias, seed and module_id");
    return aihw_digital_linear_create(in, outf, bias, seed, id, out);
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D: {
    const int two = kind == AIHW_MODULE_BATCHNORM2D;
    aihw_batchnorm_params p = aihw_batchnorm_params_default();
    if (!read_count(a, "channels", &c) || !read_count(a, bn_spatial_names[two][0], &h) ||
        (two && !read_count(a, "width", &w)) || !read_float(a, "eps", &p.eps) ||
        !read_float(a, "momentum", &p.momentum) || !read_flag(a, "affine", &p.affine) ||
        !read_flag(a, "track_running_stats", &p.track_running_stats))
      return arch_error(source, two ? "a BATCHNORM2D entry needs channels, height, width, eps, "
                                      "momentum, affine and track_running_stats"
                                    : "a BATCHNORM1D entry needs channels, length, eps, "
                                      "momentum, affine and track_running_stats");
    return two ? aihw_batchnorm2d_create(c, h, w, &p, out)
               : aihw_batchnorm1d_create(c, h, &p, out);
  }
  case AIHW_MODULE_DROPOUT: {
    float p = 0.0f;
    if (!read_count(a, "features", &in) || !read_float(a, "p", &p) ||
        !read_u32(a, "seed", &seed) || !read_u32(a, "module_id", &id))
      return arch_error(source, "a DROPOUT entry needs features, p, seed and module_id");
    return aihw_dropout_create(in, p, seed, id, out);
  }
  default:
    if (!read_count(a, "features", &in))
      return arch_error(source, "an activation entry needs 'features'");
    return aihw_activation_create((aihw_module_kind)kind, in, out);
  }
}
