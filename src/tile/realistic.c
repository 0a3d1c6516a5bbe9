/* Realistic weight read and write of a tile (reference §7.1, aihwkit AnalogModuleBase's
 * realistic_read_write: C++ getWeightsReal / setWeightsReal).
 *
 * Read: with the forward alpha set to 1, one forward pass of the in_size one-hot inputs
 * through the full periphery (noise management, DAC, output noise, ADC, bounds) gives
 * column j of the weights as output j; no averaging, so the estimate carries one read's
 * noise.
 *
 * Write: closed-loop programming by pulsed updates. The weights start where they are;
 * with g = dw_min (0.001 for devices without pulses), [w_min, w_max] the device bounds
 * (±1 without pulses) and BL = desired_bl (the default update-BL management keeps it),
 *
 *   iterations = round(n_loops (w_max - w_min) / (BL g)),
 *
 * each one reads Y = forward(I) (alphas set to 1), forms D = Y - target and applies the
 * pulsed update W -= lr D column by column (one-hot inputs as the batch). ConstantStep
 * defaults with lr 0.01 and n_loops 10: 387 iterations. FLOATING_POINT tiles and ANALOG
 * tiles without a pulsed device have nothing to program: their write is exact.
 * INFERENCE tiles write the target exactly and program it (PCM programming noise, §6.7),
 * which is what aihwkit's realistic set_weights does for them (program_weights).
 *
 * Tiles with an analog bias column are refused (UNSUPPORTED): every forward adds the bias
 * column, so one-hot reads of the other columns would need the bias subtracted, which the
 * noisy periphery does not allow exactly. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tile/tile_internal.h"

static aihw_status check_args(const char *fn, const aihw_tile *tile, const float *w,
                              int64_t rows, int64_t cols) {
  if (tile == NULL || w == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      tile == NULL ? "tile" : "weights");
  if (rows != tile->out_size || cols != tile->cols)
    return aihw_error(AIHW_ERR_SHAPE, "%s: weights are %lld x %lld, the tile has %lld x %lld",
                      fn, (long long)rows, (long long)cols, (long long)tile->out_size,
                      (long long)tile->cols);
  if (tile->config.analog_bias)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s: tiles with an analog bias column have no realistic read/write "
                      "(every read adds the bias); use a digital bias",
                      fn);
  return AIHW_OK;
}

/* W^T estimate: out[j][i] = forward(e_j)[i] with alphas 1; restores the alphas. */
static aihw_status read_identity(aihw_tile *tile, float *eye, float *y) {
  float fa = 1.0f, ba = 1.0f;
  AIHW_TRY(aihw_tile_get_alpha(tile, &fa, &ba));
  AIHW_TRY(aihw_tile_set_alpha(tile, 1.0f, 1.0f));
  const int64_t n = tile->in_size;
  aihw_status s = aihw_tile_forward(tile, eye, n, n, y, tile->out_size);
  aihw_tile_set_alpha(tile, fa, ba);
  return s;
}

static float *identity(int64_t n) {
  float *eye = aihw_calloc_array((size_t)(n * n), sizeof(float), "identity inputs");
  if (eye != NULL)
    for (int64_t j = 0; j < n; ++j)
      eye[j * n + j] = 1.0f;
  return eye;
}

AIHW_API aihw_status aihw_tile_get_weights_realistic(aihw_tile *tile, float *w, int64_t rows,
                                                     int64_t cols) {
  static const char *fn = "aihw_tile_get_weights_realistic";
  AIHW_TRY(check_args(fn, tile, w, rows, cols));
  const int64_t n = tile->in_size, m = tile->out_size;
  float *eye = identity(n);
  float *y = aihw_alloc_array((size_t)(n * m), sizeof(float), "realistic read");
  aihw_status s = eye != NULL && y != NULL ? read_identity(tile, eye, y)
                                           : AIHW_ERR_OUT_OF_MEMORY;
  if (s == AIHW_OK)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        w[i * n + j] = y[j * m + i];
  aihw_free(eye);
  aihw_free(y);
  return s;
}

/* Iterations of the closed loop (see the file comment). */
static int64_t write_iterations(const aihw_tile *tile, int n_loops) {
  const aihw_device_params *d = &tile->config.device;
  float g = 0.001f, lo = -1.0f, hi = 1.0f;
  if (tile->devices != NULL) {
    g = d->dw_min;
    lo = d->w_min;
    hi = d->w_max;
  }
  const double bl = (double)tile->config.update.desired_bl;
  return (int64_t)llround((double)n_loops * ((double)hi - (double)lo) / (bl * (double)g));
}

AIHW_API aihw_status aihw_tile_set_weights_realistic(aihw_tile *tile, const float *w,
                                                     int64_t rows, int64_t cols, int n_loops,
                                                     float lr, int64_t *iterations) {
  static const char *fn = "aihw_tile_set_weights_realistic";
  AIHW_TRY(check_args(fn, tile, w, rows, cols));
  if (n_loops < 1 || n_loops > 100000)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: n_loops = %d: must be in 1 .. 100000",
                      fn, n_loops);
  if (!isfinite(lr) || !(lr > 0.0f))
    return aihw_error(isfinite(lr) ? AIHW_ERR_INVALID_ARGUMENT : AIHW_ERR_NOT_FINITE,
                      "%s: lr = %g: must be finite and > 0", fn, (double)lr);
  for (int64_t k = 0; k < rows * cols; ++k)
    if (!isfinite(w[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: w[%lld][%lld] = %g: must be finite", fn,
                        (long long)(k / cols), (long long)(k % cols), (double)w[k]);
  if (iterations != NULL)
    *iterations = 0;
  if (tile->config.kind == AIHW_TILE_INFERENCE) {
    AIHW_TRY(aihw_tile_set_weights(tile, w, rows, cols));
    return aihw_tile_program_weights(tile);
  }
  if (tile->devices == NULL) /* nothing to program: floating point or ideal storage */
    return aihw_tile_set_weights(tile, w, rows, cols);

  const int64_t n = tile->in_size, m = tile->out_size;
  const int64_t iters = write_iterations(tile, n_loops);
  float *eye = identity(n);
  float *d = aihw_alloc_array((size_t)(2 * n * m), sizeof(float), "realistic write");
  float *target_t = d != NULL ? d + n * m : NULL; /* target^T [n][m], once */
  if (target_t != NULL)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j)
        target_t[j * m + i] = w[i * n + j];
  float fa = 1.0f, ba = 1.0f;
  aihw_status s = eye != NULL && d != NULL ? aihw_tile_get_alpha(tile, &fa, &ba)
                                           : AIHW_ERR_OUT_OF_MEMORY;
  if (s == AIHW_OK)
    s = aihw_tile_set_alpha(tile, 1.0f, 1.0f);
  for (int64_t it = 0; it < iters && s == AIHW_OK; ++it) {
    s = aihw_tile_forward(tile, eye, n, n, d, m);
    if (s != AIHW_OK)
      break;
#pragma omp parallel for schedule(static) if (n * m >= 65536)
    for (int64_t k = 0; k < n * m; ++k) /* D[j][i] = Y[j][i] - target[i][j] */
      d[k] -= target_t[k];
    s = aihw_tile_update(tile, eye, n, n, d, m, lr);
    if (iterations != NULL && s == AIHW_OK)
      *iterations = it + 1;
  }
  if (eye != NULL && d != NULL)
    aihw_tile_set_alpha(tile, fa, ba);
  aihw_free(eye);
  aihw_free(d);
  return s;
}
