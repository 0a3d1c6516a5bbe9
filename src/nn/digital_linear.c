/* DIGITAL_LINEAR modules: torch.nn.Linear, y = x W^T + b with float weights in host memory.
 *
 * The products are the ones a FLOATING_POINT tile makes (src/tile/periphery.c exact_mv,
 * src/tile/update.c exact_update), through the same blocked gemm wrappers, so that a
 * digital layer and an FP-tile LINEAR layer with the same weights agree bit for bit and
 * any thread count gives the same bits:
 *   forward   Y = X W^T          (sgemv for one sample, sgemm otherwise), then + b
 *   backward  dX = dY W
 *   step      plain SGD: W += (-lr) dY^T X as one gemm over all accumulated rows (the FP
 *             tile's update); otherwise G = dY^T X, then torch SGD (optim.c).
 * The bias gradient is the column sum of dY in double, rounded once (as LINEAR's digital
 * bias). Backward keeps the (x, dy) rows of every call since the last step (aihwkit's
 * AnalogContext for tiles; for a digital layer the same sum as torch's accumulated .grad).
 */
#include <math.h>
#include <string.h>

#include "backend/cpu/gemm.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/digital_internal.h"

static aihw_status make_module(aihw_module_kind kind, int64_t in, int64_t out, const char *what,
                               aihw_module **m) {
  *m = aihw_calloc_array(1, sizeof **m, what);
  if (*m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  (*m)->kind = kind;
  (*m)->in_features = in;
  (*m)->out_features = out;
  (*m)->digital = aihw_calloc_array(1, sizeof *(*m)->digital, what);
  if ((*m)->digital == NULL) {
    aihw_free(*m);
    *m = NULL;
    return AIHW_ERR_OUT_OF_MEMORY;
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_digital_linear_create(int64_t in_features, int64_t out_features,
                                                int bias, uint32_t seed, uint32_t module_id,
                                                aihw_module **out) {
  static const char *fn = "aihw_digital_linear_create";
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  if (in_features < 1 || out_features < 1 || in_features > 0x7fffffff ||
      out_features > 0x7fffffff || in_features * out_features > 0x7fffffff)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: in_features = %lld, out_features = %lld: must be in 1 .. 2^31-1 "
                      "(and so must their product)",
                      fn, (long long)in_features, (long long)out_features);
  if (bias != 0 && bias != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: bias = %d: must be 0 or 1", fn, bias);
  aihw_module *m = NULL;
  AIHW_TRY(make_module(AIHW_MODULE_DIGITAL_LINEAR, in_features, out_features,
                       "digital linear module", &m));
  aihw_dlinear *d = &m->digital->linear;
  d->seed = seed;
  d->module_id = module_id;
  aihw_status st = aihw_nn_param_init(&d->weight, in_features * out_features, "weights");
  if (st == AIHW_OK && bias)
    st = aihw_nn_param_init(&d->bias, out_features, "bias");
  if (st != AIHW_OK) {
    aihw_module_destroy(m);
    return st;
  }
  /* torch.nn.Linear's reset_parameters, drawn as aihw_linear_create draws them */
  const aihw_rng_stream stream = aihw_rng_stream_make(seed, module_id, 0, AIHW_RNG_INIT, 0);
  const float bound = (float)(1.0 / sqrt((double)in_features));
  for (int64_t o = 0; o < out_features; ++o)
    aihw_rng_fill_uniform(&stream, (uint32_t)o, 0, d->weight.value + o * in_features,
                          (size_t)in_features);
  for (int64_t k = 0; k < in_features * out_features; ++k)
    d->weight.value[k] = bound * (2.0f * d->weight.value[k] - 1.0f);
  if (bias) {
    aihw_rng_fill_uniform(&stream, (uint32_t)out_features, 0, d->bias.value,
                          (size_t)out_features);
    for (int64_t k = 0; k < out_features; ++k)
      d->bias.value[k] = bound * (2.0f * d->bias.value[k] - 1.0f);
  }
  *out = m;
  return AIHW_OK;
}

static aihw_status check_dlinear(const aihw_module *m, const float *b, const char *fn) {
  if (m == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (m->kind != AIHW_MODULE_DIGITAL_LINEAR)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is not DIGITAL_LINEAR (kind %d)",
                      fn, (int)m->kind);
  if (b != NULL && m->digital->linear.bias.n == 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: the layer has no bias, but a bias buffer was given", fn);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_digital_linear_set_weights(aihw_module *module, const float *w,
                                                     const float *b) {
  static const char *fn = "aihw_digital_linear_set_weights";
  AIHW_TRY(check_dlinear(module, b, fn));
  if (w == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: w is NULL", fn);
  aihw_dlinear *d = &module->digital->linear;
  const int64_t in = module->in_features;
  for (int64_t k = 0; k < d->weight.n; ++k)
    if (!isfinite(w[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: w[%lld][%lld] = %g: must be finite", fn,
                        (long long)(k / in), (long long)(k % in), (double)w[k]);
  for (int64_t k = 0; b != NULL && k < d->bias.n; ++k)
    if (!isfinite(b[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: b[%lld] = %g: must be finite", fn,
                        (long long)k, (double)b[k]);
  memcpy(d->weight.value, w, (size_t)d->weight.n * sizeof(float));
  if (b != NULL)
    memcpy(d->bias.value, b, (size_t)d->bias.n * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_digital_linear_get_weights(const aihw_module *module, float *w,
                                                     float *b) {
  static const char *fn = "aihw_digital_linear_get_weights";
  AIHW_TRY(check_dlinear(module, b, fn));
  const aihw_dlinear *d = &module->digital->linear;
  if (w != NULL)
    memcpy(w, d->weight.value, (size_t)d->weight.n * sizeof(float));
  if (b != NULL)
    memcpy(b, d->bias.value, (size_t)d->bias.n * sizeof(float));
  return AIHW_OK;
}

aihw_status aihw_dlinear_forward(aihw_module *m, const float *x, int64_t batch, float *y) {
  aihw_dlinear *d = &m->digital->linear;
  const int64_t in = m->in_features, out = m->out_features;
  const size_t n = (size_t)batch * (size_t)in;
  AIHW_TRY(aihw_nn_buffer_reserve(&m->cache, n, "cached layer input"));
  memcpy(m->cache.data, x, n * sizeof(float));
  const float *w = d->weight.value;
  if (batch == 1)
    aihw_sgemv(0, out, in, 1.0f, w, in, m->cache.data, 0.0f, y);
  else
    aihw_sgemm(0, 1, batch, out, in, 1.0f, m->cache.data, in, w, in, 0.0f, y, out);
  if (d->bias.n > 0)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < out; ++i)
        y[b * out + i] += d->bias.value[i];
  return AIHW_OK;
}

aihw_status aihw_dlinear_backward(aihw_module *m, const float *dy, int64_t batch, float *dx) {
  aihw_dlinear *d = &m->digital->linear;
  const int64_t in = m->in_features, out = m->out_features;
  const size_t nb = (size_t)batch, rows = (size_t)(d->acc_rows + batch);
  /* room for the rows (and the step's gradient) first: a failure records nothing */
  AIHW_TRY(aihw_nn_buffer_grow(&d->acc_x, rows * (size_t)in, (size_t)d->acc_rows * (size_t)in,
                               "accumulated inputs"));
  AIHW_TRY(aihw_nn_buffer_grow(&d->acc_d, rows * (size_t)out, (size_t)d->acc_rows * (size_t)out,
                               "accumulated gradients"));
  AIHW_TRY(aihw_nn_buffer_reserve(&d->work, (size_t)(in * out), "weight gradient"));
  if (dx != NULL) {
    const float *w = d->weight.value;
    if (batch == 1)
      aihw_sgemv(1, out, in, 1.0f, w, in, dy, 0.0f, dx);
    else
      aihw_sgemm(0, 0, batch, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
  }
  memcpy(d->acc_x.data + (size_t)d->acc_rows * (size_t)in, m->cache.data,
         nb * (size_t)in * sizeof(float));
  memcpy(d->acc_d.data + (size_t)d->acc_rows * (size_t)out, dy,
         nb * (size_t)out * sizeof(float));
  d->acc_rows += batch;
  return AIHW_OK;
}

void aihw_dlinear_step(aihw_module *m, const aihw_sgd_params *sgd) {
  aihw_dlinear *d = &m->digital->linear;
  const int64_t in = m->in_features, out = m->out_features, rows = d->acc_rows;
  if (rows == 0)
    return;
  float *g = d->work.data; /* in x out floats, reserved by backward */
  if (aihw_sgd_is_plain(sgd)) {
    aihw_sgemm(1, 0, out, in, rows, -sgd->lr, d->acc_d.data, out, d->acc_x.data, in, 1.0f,
               d->weight.value, in);
  } else {
    aihw_sgemm(1, 0, out, in, rows, 1.0f, d->acc_d.data, out, d->acc_x.data, in, 0.0f, g, in);
    aihw_nn_param_sgd(&d->weight, g, sgd);
  }
  if (d->bias.n > 0) { /* out <= in x out floats of scratch */
    for (int64_t i = 0; i < out; ++i) {
      double sum = 0.0;
      for (int64_t b = 0; b < rows; ++b)
        sum += (double)d->acc_d.data[b * out + i];
      g[i] = (float)sum;
    }
    aihw_nn_param_sgd(&d->bias, g, sgd);
  }
  d->acc_rows = 0;
}
