/* The digital kinds' dispatch (DIGITAL_LINEAR .. LOGSOFTMAX), their state's life cycle, and
 * the two small layers that need no file of their own:
 *
 * DROPOUT (torch.nn.Dropout, Srivastava et al. 2014, inverted scaling): in training
 *   y = keep ? x / (1 - p) : 0 with keep = u >= p, u the uniform of Philox key (seed,
 *   module_id), op counter = the module's step counter, purpose DROPOUT, row = sample,
 *   element = feature; the counter advances once per training forward. The scale
 *   1/(1 - p) is rounded to float once and multiplies x, as torch's mask does. The mask
 *   (0 or the scale) is cached for backward: dx = dy mask. Evaluation: identity.
 *
 * SOFTMAX / LOGSOFTMAX over the features of each sample, with the row maximum m
 *   subtracted and the sum accumulated in double: s = sum exp(x - m),
 *   softmax = exp(x - m) / s, log_softmax = x - m - log s (never overflows, and
 *   log_softmax keeps its precision where softmax underflows). The output is cached:
 *   softmax backward dx = y (dy - sum dy y), log_softmax backward dx = dy - exp(y) sum dy.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/philox.h"
#include "nn/digital_internal.h"

int aihw_digital_kind(aihw_module_kind kind) {
  return kind == AIHW_MODULE_DIGITAL_LINEAR || kind == AIHW_MODULE_BATCHNORM1D ||
         kind == AIHW_MODULE_BATCHNORM2D || kind == AIHW_MODULE_DROPOUT ||
         kind == AIHW_MODULE_SOFTMAX || kind == AIHW_MODULE_LOGSOFTMAX;
}

void aihw_digital_state_free(aihw_digital_state *s) {
  if (s == NULL)
    return;
  aihw_nn_param_free(&s->linear.weight);
  aihw_nn_param_free(&s->linear.bias);
  aihw_nn_buffer_free(&s->linear.acc_x);
  aihw_nn_buffer_free(&s->linear.acc_d);
  aihw_nn_buffer_free(&s->linear.work);
  aihw_nn_param_free(&s->norm.gamma);
  aihw_nn_param_free(&s->norm.beta);
  aihw_free(s->norm.running_mean);
  aihw_free(s->norm.grad);
  aihw_free(s->norm.grad_f32);
  aihw_free(s);
}

/* ---- Dropout ------------------------------------------------------------------------------
 */

AIHW_API aihw_status aihw_dropout_create(int64_t features, float p, uint32_t seed,
                                         uint32_t module_id, aihw_module **out) {
  static const char *fn = "aihw_dropout_create";
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  if (features < 1 || features > 0x7fffffff)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: features = %lld: must be in 1 .. 2^31-1",
                      fn, (long long)features);
  if (!(p >= 0.0f && p < 1.0f))
    return aihw_error(isnan(p) ? AIHW_ERR_NOT_FINITE : AIHW_ERR_INVALID_ARGUMENT,
                      "%s: p = %g: must be in [0, 1)", fn, (double)p);
  aihw_module *m = aihw_calloc_array(1, sizeof *m, "dropout module");
  if (m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  m->digital = aihw_calloc_array(1, sizeof *m->digital, "dropout module");
  if (m->digital == NULL) {
    aihw_free(m);
    return AIHW_ERR_OUT_OF_MEMORY;
  }
  m->kind = AIHW_MODULE_DROPOUT;
  m->in_features = m->out_features = features;
  m->digital->dropout = (aihw_dropout){p, seed, module_id, 0, 0};
  *out = m;
  return AIHW_OK;
}

static aihw_status dropout_forward(aihw_module *m, const float *x, int64_t batch, float *y) {
  aihw_dropout *d = &m->digital->dropout;
  const int64_t n = m->in_features;
  const size_t total = (size_t)batch * (size_t)n;
  d->cache_masked = m->training;
  if (!m->training) {
    if (y != x)
      memmove(y, x, total * sizeof(float));
    return AIHW_OK;
  }
  if (d->step_counter >= ((uint64_t)1 << 48))
    return aihw_error(AIHW_ERR_STATE, "dropout: the step counter is exhausted (2^48 forwards)");
  AIHW_TRY(aihw_nn_buffer_reserve(&m->cache, total, "dropout mask"));
  float *mask = m->cache.data;
  const float p = d->p, scale = 1.0f / (1.0f - p);
  const aihw_rng_stream stream =
      aihw_rng_stream_make(d->seed, d->module_id, d->step_counter, AIHW_RNG_DROPOUT, 0);
  for (int64_t b = 0; b < batch; ++b) {
    float *row = mask + b * n;
    for (int64_t e = 0; e < n; e += 4) {
      float u[4];
      aihw_rng_uniform4(&stream, (uint32_t)b, (uint32_t)(e / 4), u);
      for (int64_t k = 0; k < 4 && e + k < n; ++k)
        row[e + k] = u[k] >= p ? scale : 0.0f;
    }
  }
  for (size_t k = 0; k < total; ++k)
    y[k] = x[k] * mask[k];
  ++d->step_counter;
  return AIHW_OK;
}

static void dropout_backward(aihw_module *m, const float *dy, int64_t batch, float *dx) {
  const size_t total = (size_t)batch * (size_t)m->in_features;
  if (dx == NULL)
    return;
  if (!m->digital->dropout.cache_masked) {
    if (dx != dy)
      memmove(dx, dy, total * sizeof(float));
    return;
  }
  for (size_t k = 0; k < total; ++k)
    dx[k] = dy[k] * m->cache.data[k];
}

/* ---- Softmax / log-softmax ----------------------------------------------------------------
 */

static aihw_status softmax_forward(aihw_module *m, const float *x, int64_t batch, float *y) {
  const int64_t n = m->in_features;
  const size_t total = (size_t)batch * (size_t)n;
  AIHW_TRY(aihw_nn_buffer_reserve(&m->cache, total, "cached softmax output"));
  float *out = m->cache.data;
  const int log_form = m->kind == AIHW_MODULE_LOGSOFTMAX;
  for (int64_t b = 0; b < batch; ++b) {
    const float *xr = x + b * n;
    float *yr = out + b * n;
    float mx = xr[0];
    for (int64_t j = 1; j < n; ++j)
      mx = xr[j] > mx ? xr[j] : mx;
    double sum = 0.0;
    for (int64_t j = 0; j < n; ++j)
      sum += exp((double)xr[j] - (double)mx);
    const double log_sum = log(sum);
    for (int64_t j = 0; j < n; ++j) {
      const double shifted = (double)xr[j] - (double)mx;
      yr[j] = log_form ? (float)(shifted - log_sum) : (float)(exp(shifted) / sum);
    }
  }
  memcpy(y, out, total * sizeof(float));
  return AIHW_OK;
}

static void softmax_backward(aihw_module *m, const float *dy, int64_t batch, float *dx) {
  if (dx == NULL)
    return;
  const int64_t n = m->in_features;
  const float *out = m->cache.data;
  const int log_form = m->kind == AIHW_MODULE_LOGSOFTMAX;
  for (int64_t b = 0; b < batch; ++b) {
    const float *yr = out + b * n, *dr = dy + b * n;
    float *xr = dx + b * n;
    double dot = 0.0;
    for (int64_t j = 0; j < n; ++j)
      dot += log_form ? (double)dr[j] : (double)dr[j] * (double)yr[j];
    for (int64_t j = 0; j < n; ++j)
      xr[j] = log_form ? (float)((double)dr[j] - exp((double)yr[j]) * dot)
                       : (float)((double)yr[j] * ((double)dr[j] - dot));
  }
}

/* ---- Dispatch -----------------------------------------------------------------------------
 */

aihw_status aihw_digital_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y) {
  switch (m->kind) {
  case AIHW_MODULE_DIGITAL_LINEAR: return aihw_dlinear_forward(m, x, batch, y);
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D: return aihw_batchnorm_forward(m, x, batch, y);
  case AIHW_MODULE_DROPOUT: return dropout_forward(m, x, batch, y);
  case AIHW_MODULE_SOFTMAX:
  case AIHW_MODULE_LOGSOFTMAX: return softmax_forward(m, x, batch, y);
  default: return aihw_error(AIHW_ERR_INTERNAL, "module kind %d is not digital", (int)m->kind);
  }
}

aihw_status aihw_digital_backward_impl(aihw_module *m, const float *dy, int64_t batch,
                                       float *dx) {
  switch (m->kind) {
  case AIHW_MODULE_DIGITAL_LINEAR: return aihw_dlinear_backward(m, dy, batch, dx);
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D: return aihw_batchnorm_backward(m, dy, batch, dx);
  case AIHW_MODULE_DROPOUT: dropout_backward(m, dy, batch, dx); return AIHW_OK;
  case AIHW_MODULE_SOFTMAX:
  case AIHW_MODULE_LOGSOFTMAX: softmax_backward(m, dy, batch, dx); return AIHW_OK;
  default: return aihw_error(AIHW_ERR_INTERNAL, "module kind %d is not digital", (int)m->kind);
  }
}

int aihw_digital_has_gradients(const aihw_module *m) {
  if (m->kind == AIHW_MODULE_DIGITAL_LINEAR)
    return m->digital->linear.acc_rows > 0;
  if (m->kind == AIHW_MODULE_BATCHNORM1D || m->kind == AIHW_MODULE_BATCHNORM2D)
    return m->digital->norm.has_grad;
  return 0;
}

aihw_status aihw_digital_step_impl(aihw_module *m, const aihw_sgd_params *sgd) {
  if (m->kind == AIHW_MODULE_DIGITAL_LINEAR)
    aihw_dlinear_step(m, sgd);
  else if (m->kind == AIHW_MODULE_BATCHNORM1D || m->kind == AIHW_MODULE_BATCHNORM2D)
    aihw_batchnorm_step(m, sgd);
  return AIHW_OK;
}
