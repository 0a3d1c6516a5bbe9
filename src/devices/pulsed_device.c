/* Construction of a tile's devices: the common device-to-device draws of every pulsed
 * model (reference §5.2), then the model's own (devices/<model>.c); life cycle of the
 * state arrays.
 *
 * Randomness: Philox keyed by (construction_seed, tile_id), purpose DEVICE_DTOD, one
 * sub-stream per drawn quantity (AIHW_DTOD_*), row = weight row, element = column. The
 * same seed therefore gives the same devices at any thread count and for any draw order,
 * and a quantity that is switched off does not shift the draws of the others.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "devices/device_models.h"
#include "devices/device_state.h"

static aihw_rng_stream dtod_stream(const aihw_device_state *s, uint32_t round) {
  return aihw_rng_stream_make(s->params.construction_seed, s->tile_id, 0, AIHW_RNG_DEVICE_DTOD,
                              s->dtod_round_base + round);
}

void aihw_dtod_normals(const aihw_device_state *s, uint32_t round, int64_t row, float *out) {
  aihw_rng_stream st = dtod_stream(s, round);
  aihw_rng_fill_normal(&st, (uint32_t)row, 0, out, (size_t)s->cols);
}

void aihw_dtod_uniforms(const aihw_device_state *s, uint32_t round, int64_t row, float *out) {
  aihw_rng_stream st = dtod_stream(s, round);
  aihw_rng_fill_uniform(&st, (uint32_t)row, 0, out, (size_t)s->cols);
}

void aihw_device_state_destroy(aihw_device_state *s) {
  if (s == NULL)
    return;
  float **arrays[] = {&s->max_bound,   &s->min_bound,      &s->scale_up,
                      &s->scale_down,  &s->decay_scale,    &s->diffusion_rate,
                      &s->reset_bias,  &s->drift_nu,       &s->persistent,
                      &s->extra[0],    &s->extra[1],       &s->extra[2]};
  for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; ++k)
    aihw_free(*arrays[k]);
  aihw_free(s);
}

/* The common draws of §5.2 for row i; `t` holds 10 scratch rows of cols floats. */
static void populate_row(aihw_device_state *s, int64_t i, float *t) {
  const aihw_device_params *p = &s->params;
  const int64_t cols = s->cols;
  float *xi_max = t, *xi_min = t + cols, *xi_gain = t + 2 * cols, *xi_r = t + 3 * cols;
  float *u_corrupt = t + 4 * cols, *u_value = t + 5 * cols, *xi_diff = t + 6 * cols;
  float *xi_reset = t + 7 * cols, *xi_life = t + 8 * cols, *xi_nu = t + 9 * cols;
  aihw_dtod_normals(s, AIHW_DTOD_W_MAX, i, xi_max);
  aihw_dtod_normals(s, AIHW_DTOD_W_MIN, i, xi_min);
  aihw_dtod_normals(s, AIHW_DTOD_GAIN, i, xi_gain);
  aihw_dtod_normals(s, AIHW_DTOD_UP_DOWN, i, xi_r);
  aihw_dtod_uniforms(s, AIHW_DTOD_CORRUPT, i, u_corrupt);
  aihw_dtod_uniforms(s, AIHW_DTOD_CORRUPT_VALUE, i, u_value);
  aihw_dtod_normals(s, AIHW_DTOD_DIFFUSION, i, xi_diff);
  aihw_dtod_normals(s, AIHW_DTOD_RESET, i, xi_reset);
  aihw_dtod_normals(s, AIHW_DTOD_LIFETIME, i, xi_life);
  aihw_dtod_normals(s, AIHW_DTOD_DRIFT_NU, i, xi_nu);

  const float up_bias = p->up_down > 0.0f ? 0.0f : p->up_down;
  const float down_bias = p->up_down > 0.0f ? -p->up_down : 0.0f;
  for (int64_t j = 0; j < cols; ++j) {
    const int64_t k = i * cols + j;
    float bmax = p->w_max * (1.0f + p->w_max_dtod * xi_max[j]);
    float bmin = p->w_min * (1.0f + p->w_min_dtod * xi_min[j]);
    float gain = p->dw_min_dtod_log_normal ? expf(p->dw_min_dtod * xi_gain[j])
                                           : 1.0f + p->dw_min_dtod * xi_gain[j];
    float r = p->up_down_dtod * xi_r[j];
    float scale_up = (up_bias + gain + r) * p->dw_min;
    float scale_down = (down_bias + gain - r) * p->dw_min;
    if (p->enforce_consistency) {
      scale_up = fabsf(scale_up);
      scale_down = fabsf(scale_down);
      if (bmin > bmax) {
        float tmp = bmin;
        bmin = bmax;
        bmax = tmp;
      }
      bmax = fabsf(bmax);
      bmin = -fabsf(bmin);
    } else if (bmin > bmax) {
      bmax = bmin = (bmax + bmin) / 2.0f; /* a "turned off" device */
    }
    if (p->corrupt_devices_prob > u_corrupt[j]) { /* stuck device */
      const float range = fabsf(p->corrupt_devices_range);
      float lo = fminf(bmax, bmin), hi = fmaxf(bmax, bmin);
      lo = lo > -range ? lo : -range;
      hi = hi < range ? hi : range;
      bmax = bmin = lo + (hi - lo) * u_value[j];
      scale_up = scale_down = 0.0f;
    }
    if (p->perfect_bias && j == cols - 1) {
      scale_up = scale_down = p->dw_min;
      bmin = 100.0f * p->w_min;
      bmax = 100.0f * p->w_max;
    }
    s->max_bound[k] = bmax;
    s->min_bound[k] = bmin;
    s->scale_up[k] = scale_up;
    s->scale_down[k] = scale_down;
    s->diffusion_rate[k] = fabsf(p->diffusion * (1.0f + p->diffusion_dtod * xi_diff[j]));
    s->reset_bias[k] = p->reset + p->reset_dtod * xi_reset[j];
    float decay = 1.0f;
    if (p->lifetime > 0.0f) {
      float life = p->lifetime * (1.0f + p->lifetime_dtod * xi_life[j]);
      decay = life > 1.0f ? 1.0f - 1.0f / life : 0.0f;
    }
    s->decay_scale[k] = decay;
    s->drift_nu[k] = p->drift.nu != 0.0f ? p->drift.nu * (1.0f + p->drift.nu_dtod * xi_nu[j])
                                         : 0.0f;
  }
}

aihw_status aihw_device_state_create(const aihw_device_params *params, int64_t rows,
                                     int64_t cols, uint32_t tile_id, aihw_device_state **out) {
  return aihw_device_state_create_sub(params, rows, cols, tile_id, 0, out);
}

aihw_status aihw_device_state_create_sub(const aihw_device_params *params, int64_t rows,
                                         int64_t cols, uint32_t tile_id, int sub,
                                         aihw_device_state **out) {
  AIHW_TRY(aihw_device_params_validate(params, "device"));
  const aihw_device_model *model = aihw_device_model_of(params->type);
  if (model == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "device type %s has no pulsed device state",
                      aihw_device_type_name(params->type));
  aihw_device_state *s = aihw_calloc_array(1, sizeof *s, "device state");
  if (s == NULL)
    return aihw_last_status();
  s->params = *params;
  if (params->type == AIHW_DEVICE_SOFT_BOUNDS_PMAX)
    s->params = aihw_device_params_resolved(params); /* derived w_min/w_max/dw_min/up_down */
  s->rows = rows;
  s->cols = cols;
  s->size = rows * cols;
  s->tile_id = tile_id;
  s->dtod_round_base = 32u * (uint32_t)sub;
  s->granularity = model->granularity(&s->params);
  const size_t n = (size_t)s->size;
  float **common[] = {&s->max_bound,  &s->min_bound,      &s->scale_up,   &s->scale_down,
                      &s->decay_scale, &s->diffusion_rate, &s->reset_bias, &s->drift_nu};
  for (size_t k = 0; k < sizeof common / sizeof common[0]; ++k)
    if ((*common[k] = aihw_alloc_array(n, sizeof(float), "device parameters")) == NULL)
      goto fail;
  if (model->has_write_noise && params->write_noise_std > 0.0f &&
      (s->persistent = aihw_calloc_array(n, sizeof(float), "persistent weights")) == NULL)
    goto fail;
  for (int e = 0; e < model->n_extra; ++e)
    if ((s->extra[e] = aihw_alloc_array(n, sizeof(float), "device parameters")) == NULL)
      goto fail;
  float *scratch = aihw_alloc_array((size_t)cols * 10, sizeof(float), "dtod scratch");
  if (scratch == NULL)
    goto fail;
  for (int64_t i = 0; i < rows; ++i)
    populate_row(s, i, scratch);
  aihw_free(scratch);
  if (model->populate_extra != NULL && model->populate_extra(s) != AIHW_OK)
    goto fail;
  *out = s;
  return AIHW_OK;
fail:;
  aihw_status status = aihw_last_status();
  aihw_device_state_destroy(s);
  return status;
}
