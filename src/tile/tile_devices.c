/* Device-level tile operations besides the update (reference §5.3, §1.5): decay,
 * diffusion, reset, clipping, the post-update step, hidden parameters and pulse counters.
 *
 * Under write noise every operation acts on the persistent (true) weights and then redraws
 * the visible ones for all devices, as aihwkit does. Random numbers: stream (op counter of
 * the call, purpose POST_UPDATE, round = operation), row = weight row, element = column;
 * each call that draws consumes one op-counter value.
 */
#include <math.h>
#include <string.h>

#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tile/tile_internal.h"

enum { ROUND_DIFFUSION = 0, ROUND_RESET = 1, ROUND_RESET_CHOICE = 2, ROUND_SIMPLE = 3 };

static aihw_status need_tile(const aihw_tile *tile, const char *fn) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tile is NULL", fn);
  return aihw_tile_require_host(tile, fn); /* no GPU version yet */
}

static float *device_weights(aihw_tile *tile) {
  return tile->devices->persistent != NULL ? tile->devices->persistent : tile->weights;
}

static float *scratch_floats(aihw_tile *tile, int64_t n) {
  return aihw_workspace_get(&tile->workspace, (size_t)n * sizeof(float));
}

/* Visible weights follow the persistent ones after a whole-array operation. */
static void refresh_visible(aihw_tile *tile, uint64_t op, float *scratch) {
  if (tile->devices != NULL && tile->devices->persistent != NULL)
    aihw_tile_apply_write_noise(tile, op, NULL, scratch);
  if (tile->weights_abs != NULL)
    for (int64_t k = 0; k < tile->out_size * tile->cols; ++k)
      tile->weights_abs[k] = fabsf(tile->weights[k]);
  (void)aihw_tile_weights_changed(tile); /* cannot fail: buffers exist */
}

static aihw_rng_stream post_stream(const aihw_tile *tile, uint64_t op, uint32_t round) {
  return aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                              AIHW_RNG_POST_UPDATE, round);
}

AIHW_API aihw_status aihw_tile_decay_weights(aihw_tile *tile, float alpha) {
  AIHW_TRY(need_tile(tile, "aihw_tile_decay_weights"));
  if (!isfinite(alpha))
    return aihw_error(AIHW_ERR_NOT_FINITE, "aihw_tile_decay_weights: alpha = %g",
                      (double)alpha);
  if (tile->compound != NULL)
    return aihw_compound_decay(tile, alpha);
  const int64_t n = tile->out_size * tile->cols;
  if (tile->devices == NULL) { /* IdealDevice / FloatingPointDevice: w *= 1 - alpha/lifetime */
    const float lifetime = tile->config.device.lifetime;
    if (lifetime > 1.0f) {
      const float f = 1.0f - alpha / lifetime;
      for (int64_t k = 0; k < n; ++k)
        tile->weights[k] *= f;
    }
    refresh_visible(tile, 0, NULL);
    return AIHW_OK;
  }
  float *scratch = scratch_floats(tile, tile->cols);
  if (scratch == NULL)
    return aihw_last_status();
  const aihw_device_state *s = tile->devices;
  float *w = device_weights(tile);
  for (int64_t k = 0; k < n; ++k) {
    const float scale = 1.0f + alpha * (s->decay_scale[k] - 1.0f);
    float v = (w[k] - s->reset_bias[k]) * scale + s->reset_bias[k];
    v = v > s->max_bound[k] ? s->max_bound[k] : v;
    w[k] = v > s->min_bound[k] ? v : s->min_bound[k];
  }
  refresh_visible(tile, tile->op_counter++, scratch);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_diffuse_weights(aihw_tile *tile) {
  AIHW_TRY(need_tile(tile, "aihw_tile_diffuse_weights"));
  if (tile->compound != NULL)
    return aihw_compound_diffuse(tile);
  const int64_t rows = tile->out_size, cols = tile->cols;
  float *scratch = scratch_floats(tile, cols);
  if (scratch == NULL)
    return aihw_last_status();
  const uint64_t op = tile->op_counter++;
  if (tile->devices == NULL) {
    const float rate = tile->config.device.diffusion;
    aihw_rng_stream st = post_stream(tile, op, ROUND_SIMPLE);
    for (int64_t i = 0; i < rows; ++i) {
      aihw_rng_fill_normal(&st, (uint32_t)i, 0, scratch, (size_t)cols);
      for (int64_t j = 0; j < cols; ++j)
        tile->weights[i * cols + j] += rate * scratch[j];
    }
    refresh_visible(tile, op, NULL);
    return AIHW_OK;
  }
  const aihw_device_state *s = tile->devices;
  float *w = device_weights(tile);
  aihw_rng_stream st = post_stream(tile, op, ROUND_DIFFUSION);
  for (int64_t i = 0; i < rows; ++i) {
    aihw_rng_fill_normal(&st, (uint32_t)i, 0, scratch, (size_t)cols);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t k = i * cols + j;
      float v = w[k] + s->diffusion_rate[k] * scratch[j];
      v = v > s->max_bound[k] ? s->max_bound[k] : v;
      w[k] = v > s->min_bound[k] ? v : s->min_bound[k];
    }
  }
  refresh_visible(tile, op, scratch);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_post_update_step(aihw_tile *tile) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_post_update_step: tile is NULL");
  if (tile->compound != NULL) { /* every sub-device, then the reduction (§5.10) */
    int decay = 0, diffusion = 0;
    aihw_compound_has_decay_or_diffusion(tile, &decay, &diffusion);
    if (decay)
      AIHW_TRY(aihw_tile_decay_weights(tile, 1.0f));
    if (diffusion)
      AIHW_TRY(aihw_tile_diffuse_weights(tile));
    return AIHW_OK;
  }
  const aihw_device_params *p =
      tile->devices != NULL ? &tile->devices->params : &tile->config.device;
  if (p->lifetime > 0.0f || p->diffusion > 0.0f || tile->config.kind == AIHW_TILE_INFERENCE)
    AIHW_TRY(aihw_tile_require_host(tile, "aihw_tile_post_update_step")); /* a no-op passes */
  if (p->lifetime > 0.0f)
    AIHW_TRY(aihw_tile_decay_weights(tile, 1.0f));
  if (p->diffusion > 0.0f)
    AIHW_TRY(aihw_tile_diffuse_weights(tile));
  if (tile->config.kind == AIHW_TILE_INFERENCE) /* clip -> remap -> modifier (§6.1) */
    AIHW_TRY(aihw_tile_inference_post_update(tile));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_reset_columns(aihw_tile *tile, int64_t start, int64_t count,
                                             float probability) {
  static const char *fn = "aihw_tile_reset_columns";
  AIHW_TRY(need_tile(tile, fn));
  if (tile->compound != NULL) /* each sub-device as a single-device view (compound_ops.c) */
    return aihw_compound_reset_columns(tile, start, count, probability);
  const int64_t rows = tile->out_size, cols = tile->cols;
  if (count < 0 || count > cols)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: count = %lld: must be in [0, %lld]", fn,
                      (long long)count, (long long)cols);
  if (!(probability >= 0.0f && probability <= 1.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: probability = %g: must be in [0, 1]",
                      fn, (double)probability);
  float *scratch = scratch_floats(tile, 2 * cols);
  if (scratch == NULL)
    return aihw_last_status();
  float *xi = scratch, *u = scratch + cols;
  const uint64_t op = tile->op_counter++;
  aihw_rng_stream st_value = post_stream(tile, op, ROUND_RESET);
  aihw_rng_stream st_choice = post_stream(tile, op, ROUND_RESET_CHOICE);
  const aihw_device_state *s = tile->devices;
  const float reset_std = tile->config.device.reset_std;
  float *w = s != NULL ? device_weights(tile) : tile->weights;
  const int64_t first = ((start % cols) + cols) % cols;
  for (int64_t i = 0; i < rows; ++i) {
    aihw_rng_fill_normal(&st_value, (uint32_t)i, 0, xi, (size_t)cols);
    aihw_rng_fill_uniform(&st_choice, (uint32_t)i, 0, u, (size_t)cols);
    for (int64_t c = 0; c < count; ++c) {
      const int64_t j = (first + c) % cols, k = i * cols + j;
      if (!(probability > u[j]) && probability < 1.0f)
        continue;
      if (s == NULL) {
        w[k] = reset_std * xi[j]; /* SimpleRPUDevice */
        continue;
      }
      float v = s->reset_bias[k] + reset_std * xi[j];
      v = v > s->max_bound[k] ? s->max_bound[k] : v;
      w[k] = v > s->min_bound[k] ? v : s->min_bound[k];
    }
  }
  refresh_visible(tile, op, xi);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_clip_weights(aihw_tile *tile, float clip) {
  AIHW_TRY(need_tile(tile, "aihw_tile_clip_weights"));
  if (isnan(clip))
    return aihw_error(AIHW_ERR_NOT_FINITE, "aihw_tile_clip_weights: clip is NaN");
  if (tile->compound != NULL)
    return aihw_compound_clip(tile, clip);
  float *scratch = scratch_floats(tile, tile->cols);
  if (scratch == NULL)
    return aihw_last_status();
  const int64_t n = tile->out_size * tile->cols;
  float *w = tile->devices != NULL ? device_weights(tile) : tile->weights;
  aihw_tile_clip_to_device_bounds(tile);
  if (clip >= 0.0f)
    for (int64_t k = 0; k < n; ++k)
      w[k] = w[k] > clip ? clip : (w[k] < -clip ? -clip : w[k]);
  refresh_visible(tile, tile->op_counter++, scratch);
  return AIHW_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Hidden parameters */

static const char *const base_names[] = {"max_bound",    "min_bound",       "dwmin_up",
                                         "dwmin_down",   "decay_scales",    "diffusion_rates",
                                         "reset_bias",   "drift_nu"};
enum { N_BASE = 8 };

AIHW_API int aihw_tile_hidden_count(const aihw_tile *tile) {
  if (tile == NULL || tile->devices == NULL)
    return 0;
  const aihw_device_model *m = aihw_device_model_of(tile->devices->params.type);
  return N_BASE + (tile->devices->persistent != NULL ? 1 : 0) + (m ? m->n_extra : 0);
}

/* Array and name of hidden parameter `index`. */
static float *hidden_array(const aihw_tile *tile, int index, const char **name) {
  const aihw_device_state *s = tile->devices;
  if (s == NULL || index < 0)
    return NULL;
  float *const base[N_BASE] = {s->max_bound,   s->min_bound,      s->scale_up,
                               s->scale_down,  s->decay_scale,    s->diffusion_rate,
                               s->reset_bias,  s->drift_nu};
  if (index < N_BASE) {
    *name = base_names[index];
    return base[index];
  }
  index -= N_BASE;
  if (s->persistent != NULL) {
    if (index == 0) {
      *name = "persistent_weights";
      return s->persistent;
    }
    --index;
  }
  const aihw_device_model *m = aihw_device_model_of(s->params.type);
  if (m == NULL || index >= m->n_extra)
    return NULL;
  *name = m->extra_names[index];
  return s->extra[index];
}

AIHW_API const char *aihw_tile_hidden_name(const aihw_tile *tile, int index) {
  const char *name = NULL;
  if (tile == NULL || hidden_array(tile, index, &name) == NULL)
    return NULL;
  return name;
}

AIHW_API aihw_status aihw_tile_hidden_index(const aihw_tile *tile, const char *name,
                                            int *index) {
  if (tile == NULL || name == NULL || index == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_hidden_index: NULL argument");
  char list[512] = "";
  const int n = aihw_tile_hidden_count(tile);
  for (int k = 0; k < n; ++k) {
    const char *nk = aihw_tile_hidden_name(tile, k);
    if (strcmp(nk, name) == 0) {
      *index = k;
      return AIHW_OK;
    }
    if (strlen(list) + strlen(nk) + 3 < sizeof list) {
      if (k > 0)
        strcat(list, ", ");
      strcat(list, nk);
    }
  }
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                    "unknown hidden parameter '%s'; this tile has: %s", name,
                    n > 0 ? list : "(none: no pulsed device)");
}

static aihw_status hidden_args(const aihw_tile *tile, int index, const void *values,
                               int64_t rows, int64_t cols, const char *fn, float **array,
                               const char **name) {
  AIHW_TRY(need_tile(tile, fn));
  if (values == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: values is NULL", fn);
  *array = hidden_array(tile, index, name);
  if (*array == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: index %d: the tile has %d hidden parameters", fn, index,
                      aihw_tile_hidden_count(tile));
  if (rows != tile->out_size || cols != tile->cols)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %s is [%lld][%lld], not [%lld][%lld]", fn, *name,
                      (long long)tile->out_size, (long long)tile->cols, (long long)rows,
                      (long long)cols);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_get_hidden(const aihw_tile *tile, int index, float *values,
                                          int64_t rows, int64_t cols) {
  float *array = NULL;
  const char *name = "";
  AIHW_TRY(hidden_args(tile, index, values, rows, cols, "aihw_tile_get_hidden", &array,
                       &name));
  memcpy(values, array, (size_t)(rows * cols) * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_set_hidden(aihw_tile *tile, int index, const float *values,
                                          int64_t rows, int64_t cols) {
  static const char *fn = "aihw_tile_set_hidden";
  float *array = NULL;
  const char *name = "";
  AIHW_TRY(hidden_args(tile, index, values, rows, cols, fn, &array, &name));
  AIHW_TRY(aihw_tile_require_host(tile, fn)); /* no GPU version yet */
  const aihw_device_state *s = tile->devices;
  const int64_t n = rows * cols;
  for (int64_t k = 0; k < n; ++k) {
    const float v = values[k];
    if (!isfinite(v))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s[%lld][%lld] is %g", fn, name,
                        (long long)(k / cols), (long long)(k % cols), (double)v);
    const int bad_bound = (array == s->max_bound && v < s->min_bound[k]) ||
                          (array == s->min_bound && v > s->max_bound[k]);
    const int bad_step = (array == s->scale_up || array == s->scale_down) && v < 0.0f;
    if (bad_bound || bad_step)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s[%lld][%lld] = %g: %s", fn, name,
                        (long long)(k / cols), (long long)(k % cols), (double)v,
                        bad_step ? "step sizes must be >= 0"
                                 : "min_bound must not exceed max_bound");
  }
  float *scratch = scratch_floats(tile, cols);
  if (scratch == NULL)
    return aihw_last_status();
  memcpy(array, values, (size_t)n * sizeof(float));
  if (array != s->persistent)
    aihw_tile_clip_to_device_bounds(tile);
  refresh_visible(tile, tile->op_counter++, scratch);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_get_pulse_counts(const aihw_tile *tile, int64_t *counts,
                                                int64_t rows, int64_t cols) {
  static const char *fn = "aihw_tile_get_pulse_counts";
  AIHW_TRY(need_tile(tile, fn));
  if (counts == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: counts is NULL", fn);
  if (tile->pulse_counts == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: pulse counting is off (set device.count_pulses = 1)", fn);
  if (rows != tile->out_size || cols != tile->cols)
    return aihw_error(AIHW_ERR_SHAPE, "%s: counts are [%lld][%lld][2]", fn,
                      (long long)tile->out_size, (long long)tile->cols);
  memcpy(counts, tile->pulse_counts, (size_t)(rows * cols * 2) * sizeof(int64_t));
  return AIHW_OK;
}
