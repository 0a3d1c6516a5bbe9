/* BATCHNORM1D / BATCHNORM2D modules: torch.nn.BatchNorm1d / BatchNorm2d (Ioffe & Szegedy
 * 2015) on per-sample data laid out [C][S] (S = L for 1d, H x W for 2d), statistics per
 * channel c over the M = batch x S values x[b][c][s]:
 *   training (or no running statistics):
 *     mean = 1/M sum x,  var = 1/M sum (x - mean)^2  (biased),  invstd = 1/sqrt(var + eps)
 *     running_mean = (1 - momentum) running_mean + momentum mean
 *     running_var  = (1 - momentum) running_var  + momentum var M/(M - 1)  (unbiased)
 *     num_batches_tracked += 1                        (track_running_stats only)
 *   evaluation with running statistics: mean, var = running_mean, running_var
 *   y = gamma (x - mean) invstd + beta               (gamma 1, beta 0 without affine)
 * Backward with batch statistics (mean and var depend on x):
 *   dx = invstd (g - mean_M(g) - xhat mean_M(g xhat)),  g = gamma dy,  xhat = (x - mean) invstd
 * with running statistics dx = gamma invstd dy; d gamma = sum dy xhat, d beta = sum dy.
 * Sums run in double, per channel in a fixed order (bit-reproducible); the cache holds
 * xhat in float and invstd per channel in double. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/digital_internal.h"

AIHW_API aihw_batchnorm_params aihw_batchnorm_params_default(void) {
  aihw_batchnorm_params p = {1e-5f, 0.1f, 1, 1};
  return p;
}

AIHW_API aihw_status aihw_batchnorm_params_validate(const aihw_batchnorm_params *p,
                                                    const char *what) {
  if (what == NULL)
    what = "batchnorm params";
  if (p == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL", what);
  if (!isfinite(p->eps) || !isfinite(p->momentum))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s = %g: must be finite", what,
                      isfinite(p->eps) ? "momentum" : "eps",
                      (double)(isfinite(p->eps) ? p->momentum : p->eps));
  if (!(p->eps > 0.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: eps = %g: must be > 0", what,
                      (double)p->eps);
  if (p->momentum < 0.0f || p->momentum > 1.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: momentum = %g: must be in [0, 1]", what,
                      (double)p->momentum);
  if (p->affine != 0 && p->affine != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: affine = %d: must be 0 or 1", what,
                      p->affine);
  if (p->track_running_stats != 0 && p->track_running_stats != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: track_running_stats = %d: must be 0 or 1",
                      what, p->track_running_stats);
  return AIHW_OK;
}

static aihw_status create(aihw_module_kind kind, int64_t channels, int64_t height,
                          int64_t width, const aihw_batchnorm_params *params, aihw_module **out,
                          const char *fn) {
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  const int64_t lim = 0x7fffffff;
  if (channels < 1 || height < 1 || width < 1 || channels > lim || height > lim ||
      width > lim || height * width > lim || channels * (height * width) > lim)
    return kind == AIHW_MODULE_BATCHNORM1D
               ? aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                            "%s: channels = %lld, length = %lld: must be >= 1 with a product "
                            "of at most 2^31-1",
                            fn, (long long)channels, (long long)height)
               : aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                            "%s: channels = %lld, height = %lld, width = %lld: must be >= 1 "
                            "with a product of at most 2^31-1",
                            fn, (long long)channels, (long long)height, (long long)width);
  const aihw_batchnorm_params p = params != NULL ? *params : aihw_batchnorm_params_default();
  char what[96];
  snprintf(what, sizeof what, "%s: params", fn);
  AIHW_TRY(aihw_batchnorm_params_validate(&p, what));
  aihw_module *m = aihw_calloc_array(1, sizeof *m, "batchnorm module");
  if (m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  m->kind = kind;
  m->in_features = m->out_features = channels * height * width;
  aihw_status st = AIHW_ERR_OUT_OF_MEMORY;
  m->digital = aihw_calloc_array(1, sizeof *m->digital, "batchnorm module");
  if (m->digital == NULL)
    goto fail;
  aihw_batchnorm *bn = &m->digital->norm;
  bn->params = p;
  bn->channels = channels;
  bn->height = height;
  bn->width = width;
  bn->spatial = height * width;
  bn->grad = aihw_calloc_array((size_t)(3 * channels), sizeof(double), "batchnorm gradients");
  if (bn->grad == NULL)
    goto fail;
  bn->cache_invstd = bn->grad + 2 * channels;
  bn->grad_f32 = aihw_alloc_array((size_t)(2 * channels), sizeof(float), "batchnorm gradients");
  if (bn->grad_f32 == NULL)
    goto fail;
  if (p.affine) {
    if ((st = aihw_nn_param_init(&bn->gamma, channels, "batchnorm gamma")) != AIHW_OK ||
        (st = aihw_nn_param_init(&bn->beta, channels, "batchnorm beta")) != AIHW_OK)
      goto fail;
    for (int64_t c = 0; c < channels; ++c)
      bn->gamma.value[c] = 1.0f;
    st = AIHW_ERR_OUT_OF_MEMORY;
  }
  if (p.track_running_stats) {
    bn->running_mean =
        aihw_calloc_array((size_t)(2 * channels), sizeof(float), "running stats");
    if (bn->running_mean == NULL)
      goto fail;
    bn->running_var = bn->running_mean + channels;
    for (int64_t c = 0; c < channels; ++c)
      bn->running_var[c] = 1.0f;
  }
  *out = m;
  return AIHW_OK;
fail:
  aihw_module_destroy(m);
  return st;
}

AIHW_API aihw_status aihw_batchnorm1d_create(int64_t channels, int64_t length,
                                             const aihw_batchnorm_params *params,
                                             aihw_module **out) {
  return create(AIHW_MODULE_BATCHNORM1D, channels, length, 1, params, out,
                "aihw_batchnorm1d_create");
}

AIHW_API aihw_status aihw_batchnorm2d_create(int64_t channels, int64_t height, int64_t width,
                                             const aihw_batchnorm_params *params,
                                             aihw_module **out) {
  return create(AIHW_MODULE_BATCHNORM2D, channels, height, width, params, out,
                "aihw_batchnorm2d_create");
}

static int uses_batch_stats(const aihw_module *m) {
  return m->training || !m->digital->norm.params.track_running_stats;
}

aihw_status aihw_batchnorm_forward(aihw_module *m, const float *x, int64_t batch, float *y) {
  aihw_batchnorm *bn = &m->digital->norm;
  const int64_t C = bn->channels, S = bn->spatial, M = batch * S;
  const int batch_stats = uses_batch_stats(m);
  if (batch_stats && M < 2) /* torch: training, or evaluation without running statistics */
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "batch normalisation with batch statistics needs more than 1 value per "
                      "channel (batch %lld x %lld spatial), as torch",
                      (long long)batch, (long long)S);
  const size_t n = (size_t)batch * (size_t)m->in_features;
  AIHW_TRY(aihw_nn_buffer_reserve(&m->cache, n, "normalised input"));
  float *xhat = m->cache.data;
  bn->cache_batch_stats = batch_stats;
  const double momentum = bn->params.momentum, eps = bn->params.eps;
  for (int64_t c = 0; c < C; ++c) {
    double mean, var;
    if (batch_stats) {
      double sum = 0.0;
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t s = 0; s < S; ++s)
          sum += (double)x[(b * C + c) * S + s];
      mean = sum / (double)M;
      double sq = 0.0;
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t s = 0; s < S; ++s) {
          const double e = (double)x[(b * C + c) * S + s] - mean;
          sq += e * e;
        }
      var = sq / (double)M;
      if (m->training && bn->params.track_running_stats) {
        bn->running_mean[c] =
            (float)((1.0 - momentum) * (double)bn->running_mean[c] + momentum * mean);
        bn->running_var[c] = (float)((1.0 - momentum) * (double)bn->running_var[c] +
                                     momentum * var * (double)M / (double)(M - 1));
      }
    } else {
      mean = bn->running_mean[c];
      var = bn->running_var[c];
    }
    const double invstd = 1.0 / sqrt(var + eps);
    const double g = bn->params.affine ? (double)bn->gamma.value[c] : 1.0;
    const double beta = bn->params.affine ? (double)bn->beta.value[c] : 0.0;
    bn->cache_invstd[c] = invstd;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t k = (b * C + c) * S + s;
        const double h = ((double)x[k] - mean) * invstd;
        xhat[k] = (float)h;
        y[k] = (float)(g * h + beta);
      }
  }
  if (m->training && bn->params.track_running_stats)
    ++bn->num_batches_tracked;
  return AIHW_OK;
}

aihw_status aihw_batchnorm_backward(aihw_module *m, const float *dy, int64_t batch, float *dx) {
  aihw_batchnorm *bn = &m->digital->norm;
  const int64_t C = bn->channels, S = bn->spatial, M = batch * S;
  const float *xhat = m->cache.data;
  const int batch_stats = bn->cache_batch_stats;
  for (int64_t c = 0; c < C; ++c) {
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t k = (b * C + c) * S + s;
        sum_dy += (double)dy[k];
        sum_dy_xhat += (double)dy[k] * (double)xhat[k];
      }
    if (bn->params.affine) {
      bn->grad[c] += sum_dy_xhat;
      bn->grad[C + c] += sum_dy;
    }
    if (dx == NULL)
      continue;
    const double g = bn->params.affine ? (double)bn->gamma.value[c] : 1.0;
    const double scale = g * bn->cache_invstd[c];
    const double mean_dy = sum_dy / (double)M, mean_dy_xhat = sum_dy_xhat / (double)M;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t k = (b * C + c) * S + s;
        dx[k] =
            batch_stats
                ? (float)(scale * ((double)dy[k] - mean_dy - (double)xhat[k] * mean_dy_xhat))
                : (float)(scale * (double)dy[k]);
      }
  }
  if (bn->params.affine)
    bn->has_grad = 1;
  return AIHW_OK;
}

void aihw_batchnorm_step(aihw_module *m, const aihw_sgd_params *sgd) {
  aihw_batchnorm *bn = &m->digital->norm;
  if (!bn->has_grad)
    return;
  const int64_t C = bn->channels;
  float *g = bn->grad_f32;
  for (int64_t c = 0; c < 2 * C; ++c)
    g[c] = (float)bn->grad[c];
  aihw_nn_param_sgd(&bn->gamma, g, sgd);
  aihw_nn_param_sgd(&bn->beta, g + C, sgd);
  memset(bn->grad, 0, (size_t)(2 * C) * sizeof(double));
  bn->has_grad = 0;
}

static aihw_status check_bn(const aihw_module *m, const char *fn) {
  if (m == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (m->kind != AIHW_MODULE_BATCHNORM1D && m->kind != AIHW_MODULE_BATCHNORM2D)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: module is not BATCHNORM1D or BATCHNORM2D (kind %d)", fn,
                      (int)m->kind);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_batchnorm_get_running_stats(const aihw_module *module, float *mean,
                                                      float *var,
                                                      int64_t *num_batches_tracked) {
  static const char *fn = "aihw_batchnorm_get_running_stats";
  AIHW_TRY(check_bn(module, fn));
  const aihw_batchnorm *bn = &module->digital->norm;
  if (!bn->params.track_running_stats)
    return aihw_error(AIHW_ERR_STATE, "%s: the layer has track_running_stats = 0", fn);
  const size_t bytes = (size_t)bn->channels * sizeof(float);
  if (mean != NULL)
    memcpy(mean, bn->running_mean, bytes);
  if (var != NULL)
    memcpy(var, bn->running_var, bytes);
  if (num_batches_tracked != NULL)
    *num_batches_tracked = bn->num_batches_tracked;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_batchnorm_get_affine(const aihw_module *module, float *gamma,
                                               float *beta) {
  static const char *fn = "aihw_batchnorm_get_affine";
  AIHW_TRY(check_bn(module, fn));
  const aihw_batchnorm *bn = &module->digital->norm;
  if (!bn->params.affine)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: the layer has affine = 0", fn);
  const size_t bytes = (size_t)bn->channels * sizeof(float);
  if (gamma != NULL)
    memcpy(gamma, bn->gamma.value, bytes);
  if (beta != NULL)
    memcpy(beta, bn->beta.value, bytes);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_batchnorm_set_affine(aihw_module *module, const float *gamma,
                                               const float *beta) {
  static const char *fn = "aihw_batchnorm_set_affine";
  AIHW_TRY(check_bn(module, fn));
  aihw_batchnorm *bn = &module->digital->norm;
  if (!bn->params.affine)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: the layer has affine = 0", fn);
  const float *v[2] = {gamma, beta};
  static const char *const names[2] = {"gamma", "beta"};
  for (int t = 0; t < 2; ++t)
    for (int64_t c = 0; v[t] != NULL && c < bn->channels; ++c)
      if (!isfinite(v[t][c]))
        return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s[%lld] = %g: must be finite", fn,
                          names[t], (long long)c, (double)v[t][c]);
  const size_t bytes = (size_t)bn->channels * sizeof(float);
  if (gamma != NULL)
    memcpy(bn->gamma.value, gamma, bytes);
  if (beta != NULL)
    memcpy(bn->beta.value, beta, bytes);
  return AIHW_OK;
}
