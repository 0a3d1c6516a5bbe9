/* Shared helpers of the compound-device tests (test_compound.c,
 * test_compound_transfer.c): exact ConstantStep devices (step g = 0.01, no spread, no
 * noise) and DETERMINISTIC_IMPLICIT pulses with UM/UBLM off and BL 1000, so that a sample
 * moves w_ij by exactly rint(lr d_i x_j / g) steps of g; perfect transfer reads. */
#ifndef AIHW_TEST_COMPOUND_UTIL_H
#define AIHW_TEST_COMPOUND_UTIL_H

#include "aihw/aihw.h"
#include "test_util.h"

#define G 0.01f

static aihw_device_params exact_device(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  p.dw_min = G;
  p.dw_min_dtod = 0.0f;
  p.dw_min_std = 0.0f;
  p.up_down_dtod = 0.0f;
  p.w_max_dtod = 0.0f;
  p.w_min_dtod = 0.0f;
  p.w_max = 1.0f;
  p.w_min = -1.0f;
  return p;
}

static aihw_update_params exact_update(void) {
  aihw_update_params u = aihw_update_params_default();
  u.pulse_type = AIHW_PULSE_DETERMINISTIC_IMPLICIT;
  u.update_management = 0;
  u.update_bl_management = 0;
  u.desired_bl = 1000;
  return u;
}

static aihw_tile_config compound_config(aihw_compound_type type, int n) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.forward.is_perfect = 1;
  c.backward.is_perfect = 1;
  c.update = exact_update();
  const aihw_device_params d = exact_device();
  c.compound = aihw_compound_params_default(type, &d, n);
  c.compound.transfer_forward.is_perfect = 1;
  c.compound.transfer_update = exact_update();
  return c;
}

static inline aihw_tile *make(const aihw_tile_config *c, int64_t rows, int64_t cols) {
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(c, rows, cols, &t));
  return t;
}

static inline void sub_weights(const aihw_tile *t, int k, float *w) {
  CHECK_OK(aihw_tile_compound_get_weights(t, k, w, aihw_tile_out_size(t),
                                          aihw_tile_weight_cols(t)));
}

/* One-hot samples x_b = e_{col[b]} with gradients d_b. */
static inline void update_onehot(aihw_tile *t, const int *col, const float *d, int batch, float lr) {
  const int64_t in = aihw_tile_in_size(t), out = aihw_tile_out_size(t);
  float *x = calloc((size_t)(batch * in), sizeof(float));
  for (int b = 0; b < batch; ++b)
    x[b * in + col[b]] = 1.0f;
  CHECK_OK(aihw_tile_update(t, x, batch, in, d, out, lr));
  free(x);
}

/* `batches` updates with deterministic batches of 3 samples of a 4 x 5 tile, varied by
 * `salt` (the state round-trip tests train before and after saving). */
static inline void train_some_lr(aihw_tile *t, int batches, uint32_t salt, float lr) {
  float x[3 * 5], d[3 * 4];
  for (int b = 0; b < batches; ++b) {
    for (int e = 0; e < 15; ++e)
      x[e] = 0.13f * (float)((e * 7 + b + (int)salt) % 11) - 0.6f;
    for (int e = 0; e < 12; ++e)
      d[e] = 0.11f * (float)((e * 5 + 3 * b + (int)salt) % 9) - 0.4f;
    CHECK_OK(aihw_tile_update(t, x, 3, 5, d, 4, lr));
  }
}

/* ALL: every sub-device receives the same coincidences; W = mean (default gamma 1/n). */

#endif
