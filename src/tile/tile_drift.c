/* Power-law weight drift during training (reference §5.9, aihwkit's WeightDrifter): each
 * device drifts from the weight it had when it last changed, w = w0 s with
 * s = max(t - t_start, 1)^(-nu), optionally offset by a = g_offset wg_ratio + w_offset
 * (w += a (s - 1)), with per-device exponents drift_nu (nu (1 + nu_dtod xi), drawn at
 * construction), per-call spread nu_std and conductance dependence nu_k. Any weight change
 * between two calls larger than reset_tol restarts that device's drift clock.
 *
 * The clock is kept in double precision: training runs call this many times with small
 * steps. Random numbers: stream (op counter of the call, purpose POST_UPDATE, rounds
 * 8 and 9), row = weight row, element = column.
 */
#include <math.h>
#include <string.h>

#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tile/tile_internal.h"

enum { ROUND_DRIFT_NU = 8, ROUND_DRIFT_READ = 9 };

AIHW_API aihw_status aihw_tile_drift_weights(aihw_tile *tile, float dt) {
  static const char *fn = "aihw_tile_drift_weights";
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tile is NULL", fn);
  if (tile->compound != NULL) /* each sub-device as a single-device view (compound_ops.c) */
    return aihw_compound_drift(tile, dt);
  AIHW_TRY(aihw_tile_require_host(tile, fn)); /* no GPU version yet */
  if (!isfinite(dt))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: dt = %g: must be finite", fn, (double)dt);
  if (dt < 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: dt = %g: must be >= 0", fn, (double)dt);
  aihw_device_state *s = tile->devices;
  const aihw_device_params *p = s != NULL ? &s->params : &tile->config.device;
  const aihw_drift_params *dp = &p->drift;
  if (dp->nu == 0.0f)
    return AIHW_OK;
  /* FloatingPointDevice uses the simple drift: one exponent, no spreads or offsets. */
  const int simple = s == NULL;
  const int64_t rows = tile->out_size, cols = tile->cols, n = rows * cols;
  float *scratch = aihw_workspace_get(&tile->workspace, (size_t)(2 * cols) * sizeof(float));
  if (scratch == NULL)
    return aihw_last_status();
  float *w = s != NULL && s->persistent != NULL ? s->persistent : tile->weights;
  if (tile->drift_w0 == NULL) {
    float *w0 = aihw_alloc_array((size_t)n, sizeof(float), "drift start weights");
    float *prev = aihw_alloc_array((size_t)n, sizeof(float), "drift previous weights");
    double *t = aihw_calloc_array((size_t)n, sizeof(double), "drift start times");
    if (w0 == NULL || prev == NULL || t == NULL) {
      aihw_free(w0);
      aihw_free(prev);
      aihw_free(t);
      return aihw_last_status();
    }
    memcpy(w0, w, (size_t)n * sizeof(float));
    memcpy(prev, w, (size_t)n * sizeof(float));
    tile->drift_w0 = w0;
    tile->drift_prev = prev;
    tile->drift_t = t;
    tile->drift_now = 0.0;
  }
  const uint64_t op = tile->op_counter++;
  tile->drift_now += (double)dt / (double)dp->t_0;
  const double now = tile->drift_now;
  float a = simple ? 0.0f : dp->g_offset * dp->wg_ratio + dp->w_offset;
  if (fabsf(a) < dp->reset_tol)
    a = 0.0f;
  aihw_rng_stream st_nu = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                               AIHW_RNG_POST_UPDATE, ROUND_DRIFT_NU);
  aihw_rng_stream st_read = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                                 AIHW_RNG_POST_UPDATE, ROUND_DRIFT_READ);
  float *xi_nu = scratch, *xi_read = scratch + cols;
  for (int64_t i = 0; i < rows; ++i) {
    if (!simple && dp->nu_std > 0.0f)
      aihw_rng_fill_normal(&st_nu, (uint32_t)i, 0, xi_nu, (size_t)cols);
    if (!simple && dp->w_noise_std > 0.0f)
      aihw_rng_fill_normal(&st_read, (uint32_t)i, 0, xi_read, (size_t)cols);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t k = i * cols + j;
      float v = w[k];
      if (fabsf(tile->drift_prev[k] - v) > dp->reset_tol) {
        tile->drift_t[k] = now; /* changed since the last call: restart */
        tile->drift_w0[k] = v;
      } else {
        float nu = simple ? dp->nu : s->drift_nu[k];
        if (!simple && dp->nu_std > 0.0f)
          nu += dp->nu_std * nu * xi_nu[j];
        if (!simple && dp->nu_k != 0.0f)
          nu += -dp->nu_k * logf((v - dp->w_offset) / dp->wg_ratio + dp->g_offset) +
                dp->nu_k * dp->log_g0;
        double elapsed = now - tile->drift_t[k];
        const float scale = (float)pow(elapsed > 1.0 ? elapsed : 1.0, -(double)nu);
        v = tile->drift_w0[k] * scale;
        if (a != 0.0f)
          v += a * (scale - 1.0f);
      }
      if (!simple && dp->w_noise_std > 0.0f)
        v += dp->w_noise_std * xi_read[j];
      if (s != NULL) {
        v = v > s->max_bound[k] ? s->max_bound[k] : v;
        v = v > s->min_bound[k] ? v : s->min_bound[k];
      }
      w[k] = v;
      tile->drift_prev[k] = v;
    }
  }
  if (s != NULL && s->persistent != NULL)
    aihw_tile_apply_write_noise(tile, op, NULL, scratch);
  if (tile->weights_abs != NULL)
    for (int64_t k = 0; k < n; ++k)
      tile->weights_abs[k] = fabsf(tile->weights[k]);
  return aihw_tile_weights_changed(tile);
}
