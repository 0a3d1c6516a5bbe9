/* Row transfers (transfer_columns = 0) of the transfer compounds and the per-sub-device
 * column reset and drift of compound tiles (reference §5.10), with exact devices and
 * hand-computed values (compound_test_util.h); drift state through save / load. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "compound_test_util.h"
#include "core/safetensors.h"
#include "tile/tile_internal.h"

static void zero_update(aihw_tile *t, float lr) {
  const int64_t in = aihw_tile_in_size(t), out = aihw_tile_out_size(t);
  float *x = calloc((size_t)in, sizeof(float)), *d = calloc((size_t)out, sizeof(float));
  for (int64_t j = 0; j < in; ++j)
    x[j] = 1.0f;
  CHECK_OK(aihw_tile_update(t, x, 1, in, d, out, lr));
  free(x);
  free(d);
}

/* TTv1 rows: each mini-batch adds lr_t times one row of A to C, rows in turn. */
static void test_row_transfer(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_TRANSFER, 2);
  c.compound.transfer_columns = 0;
  aihw_tile *t = make(&c, 3, 2);
  const float a[6] = {0.05f, -0.03f, 0.02f, 0.07f, -0.04f, 0.01f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 3, 2));
  float w[6];
  zero_update(t, 1.0f);
  sub_weights(t, 1, w);
  const float want1[6] = {0.05f, -0.03f, 0, 0, 0, 0};
  for (int e = 0; e < 6; ++e)
    CHECK_NEAR(w[e], want1[e], 1e-6);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.current_slice[0] == 1);
  zero_update(t, 1.0f);
  zero_update(t, 1.0f);
  zero_update(t, 1.0f); /* rows 1, 2, then 0 again */
  sub_weights(t, 1, w);
  const float want4[6] = {0.10f, -0.06f, 0.02f, 0.07f, -0.04f, 0.01f};
  for (int e = 0; e < 6; ++e)
    CHECK_NEAR(w[e], want4[e], 1e-6);
  CHECK_OK(aihw_tile_get_weights(t, w, 3, 2)); /* fully hidden: visible = C */
  for (int e = 0; e < 6; ++e)
    CHECK_NEAR(w[e], want4[e], 1e-6);
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.current_slice[0] == 1 && n.transfers[0] == 4);
  aihw_tile_destroy(t);
}

/* TTv2 rows: the buffer of row 0 fills along the row; whole steps pass on. */
static void test_row_buffered(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_BUFFERED_TRANSFER, 2);
  c.compound.transfer_columns = 0;
  aihw_tile *t = make(&c, 2, 2);
  const float a[4] = {0.015f, -0.004f, 0.3f, 0.3f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 2, 2));
  zero_update(t, 1.0f);
  /* h = a |lr_t| = [0.015, -0.004]: n = [1, 0]; forget: h = 0.015 momentum 0.1 */
  float h[4], w[4];
  CHECK_OK(aihw_tile_compound_get_buffer(t, 0, h, 2, 2));
  CHECK_NEAR(h[0], 0.0015f, 1e-7);
  CHECK_NEAR(h[1], -0.004f, 1e-7);
  CHECK(h[2] == 0.0f && h[3] == 0.0f);
  sub_weights(t, 1, w);
  CHECK_NEAR(w[0], 0.01f, 1e-6);
  CHECK(w[1] == 0.0f && w[2] == 0.0f && w[3] == 0.0f);
  aihw_tile_destroy(t);
  /* chopped compounds transfer rows too: the slice choppers are then per row */
  c = compound_config(AIHW_COMPOUND_CHOPPED_TRANSFER, 2);
  c.compound.transfer_columns = 0;
  aihw_tile *u = make(&c, 3, 2);
  float in[3], out[2];
  CHECK_OK(aihw_tile_compound_get_choppers(u, in, 3, out, 2));
  CHECK_STATUS(aihw_tile_compound_get_choppers(u, in, 2, out, 3), AIHW_ERR_SHAPE);
  aihw_tile_destroy(u);
}

/* Resets: transfer compounds reset A only, vector cells every device. */
static void test_reset_columns(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_TRANSFER, 2);
  for (int k = 0; k < 2; ++k)
    c.compound.devices[k].reset_std = 0.0f;
  aihw_tile *t = make(&c, 2, 2);
  const float a[4] = {0.1f, 0.2f, 0.3f, 0.4f}, cw[4] = {-0.1f, -0.2f, -0.3f, -0.4f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 2, 2));
  CHECK_OK(aihw_tile_compound_set_weights(t, 1, cw, 2, 2));
  CHECK_OK(aihw_tile_reset_columns(t, 1, 1, 1.0f));
  float w[4];
  sub_weights(t, 0, w);
  CHECK(w[0] == 0.1f && w[1] == 0.0f && w[2] == 0.3f && w[3] == 0.0f);
  sub_weights(t, 1, w);
  CHECK(memcmp(w, cw, sizeof w) == 0);
  CHECK_STATUS(aihw_tile_reset_columns(t, 0, 5, 1.0f), AIHW_ERR_INVALID_ARGUMENT);
  aihw_tile_destroy(t);

  c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  for (int k = 0; k < 2; ++k)
    c.compound.devices[k].reset_std = 0.0f;
  t = make(&c, 2, 2);
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 2, 2));
  CHECK_OK(aihw_tile_compound_set_weights(t, 1, a, 2, 2));
  CHECK_OK(aihw_tile_reset_columns(t, 0, 1, 1.0f));
  for (int k = 0; k < 2; ++k) {
    sub_weights(t, k, w);
    CHECK(w[0] == 0.0f && w[1] == 0.2f && w[2] == 0.0f && w[3] == 0.4f);
  }
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 2)); /* mean of the two */
  CHECK(w[0] == 0.0f && w[2] == 0.0f);
  CHECK_NEAR(w[1], 0.2f, 1e-7);
  aihw_tile_destroy(t);
}

/* Drift (nu 0.1, no spreads): every sub-device follows w0 (t / t_0)^-nu from its first
 * drift call; the visible weights are reduced from them. Continues bit-identically after
 * save / load. */
static void test_drift(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_VECTOR, 2);
  for (int k = 0; k < 2; ++k)
    c.compound.devices[k].drift.nu = 0.1f;
  aihw_tile *t = make(&c, 1, 2), *u = make(&c, 1, 2);
  const float a[2] = {0.5f, -0.4f}, b[2] = {0.2f, 0.3f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, a, 1, 2));
  CHECK_OK(aihw_tile_compound_set_weights(t, 1, b, 1, 2));
  CHECK_OK(aihw_tile_drift_weights(t, 10.0f));
  const float f = powf(10.0f, -0.1f);
  float w0[2], w1[2], w[2];
  sub_weights(t, 0, w0);
  sub_weights(t, 1, w1);
  CHECK_OK(aihw_tile_get_weights(t, w, 1, 2));
  for (int j = 0; j < 2; ++j) {
    CHECK_NEAR(w0[j], a[j] * f, 1e-6);
    CHECK_NEAR(w1[j], b[j] * f, 1e-6);
    CHECK_NEAR(w[j], 0.5f * (a[j] + b[j]) * f, 1e-6);
  }
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(t, d, ""));
  CHECK(aihw_st_dict_contains(d, "compound.1.drift_t"));
  CHECK_OK(aihw_tile_state_import(u, d, "", 1));
  CHECK_OK(aihw_tile_drift_weights(t, 90.0f));
  CHECK_OK(aihw_tile_drift_weights(u, 90.0f));
  sub_weights(t, 0, w0);
  sub_weights(u, 0, w1);
  CHECK(memcmp(w0, w1, sizeof w0) == 0);
  CHECK_NEAR(w0[0], a[0] * powf(100.0f, -0.1f), 1e-6);
  CHECK_STATUS(aihw_tile_drift_weights(t, -1.0f), AIHW_ERR_INVALID_ARGUMENT);
  aihw_st_dict_destroy(d);
  aihw_tile_destroy(t);
  aihw_tile_destroy(u);
}

/* AGAD with row transfers (choppers per row): save, load, continue bit-identically. */
static void test_rows_state_round_trip(void) {
  aihw_tile_config c;
  CHECK_OK(aihw_tile_config_preset("AGADIdealizedPreset", &c));
  c.compound.transfer_columns = 0;
  c.compound.in_chop_prob = 0.3f;
  c.compound.in_chop_random = 1;
  c.compound.out_chop_prob = 0.2f;
  c.seed = 4;
  aihw_tile *a = make(&c, 5, 3), *b = make(&c, 5, 3);
  float x[2 * 3], d[2 * 5];
  for (int r = 0; r < 20; ++r) {
    for (int e = 0; e < 6; ++e)
      x[e] = 0.1f * (float)((e * 7 + r) % 13) - 0.6f;
    for (int e = 0; e < 10; ++e)
      d[e] = 0.07f * (float)((e * 5 + 3 * r) % 11) - 0.35f;
    CHECK_OK(aihw_tile_update(a, x, 2, 3, d, 5, 0.1f));
    if (r == 9) {
      aihw_st_dict *dict = NULL;
      CHECK_OK(aihw_st_dict_create(&dict));
      CHECK_OK(aihw_tile_state_export(a, dict, ""));
      aihw_st_tensor ten;
      CHECK_OK(aihw_st_dict_get(dict, "compound.chop_in", &ten));
      CHECK(ten.ndim == 1 && ten.shape[0] == 5); /* one slice chopper per row */
      CHECK_OK(aihw_tile_state_import(b, dict, "", 1));
      aihw_st_dict_destroy(dict);
    }
    if (r > 9)
      CHECK_OK(aihw_tile_update(b, x, 2, 3, d, 5, 0.1f));
  }
  float wa[15], wb[15], ia[5], ib[5], oa[3], ob[3];
  for (int k = 0; k < 2; ++k) {
    sub_weights(a, k, wa);
    sub_weights(b, k, wb);
    CHECK(memcmp(wa, wb, sizeof wa) == 0);
  }
  CHECK_OK(aihw_tile_compound_get_choppers(a, ia, 5, oa, 3));
  CHECK_OK(aihw_tile_compound_get_choppers(b, ib, 5, ob, 3));
  CHECK(memcmp(ia, ib, sizeof ia) == 0 && memcmp(oa, ob, sizeof oa) == 0);
  aihw_compound_counters na, nb;
  CHECK_OK(aihw_tile_compound_get_counters(a, &na));
  CHECK_OK(aihw_tile_compound_get_counters(b, &nb));
  CHECK(memcmp(&na, &nb, sizeof na) == 0);
  CHECK(na.transfers[0] == 40 && na.transfer_counter == 8); /* 40 rows read, 5 per sweep */
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

enum { TR = 64, TC = 130, TB = 8 }; /* chi's row loop threads from 65536 products */

/* Sub-device weights (and the digital state) after a few noisy batches with `threads`. */
static void run_threads(int threads, aihw_compound_type type, float *out) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_device_params dv = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
  c.compound = aihw_compound_params_default(type, &dv, 2);
  if (type == AIHW_COMPOUND_ONE_SIDED)
    c.compound.refresh_every = 2;
  if (type == AIHW_COMPOUND_MIXED_PRECISION) {
    c.compound.n_x_bins = 7;
    c.compound.n_d_bins = 5;
  }
  if (type == AIHW_COMPOUND_DYNAMIC_TRANSFER) {
    c.compound.auto_scale = 1;
    c.compound.in_chop_prob = 0.25f;
    c.compound.transfer_lr = 10.0f;
  }
  c.seed = 23;
  aihw_tile *t = make(&c, TR, TC);
  float *x = malloc(sizeof(float) * TB * TC), *d = malloc(sizeof(float) * TB * TR);
  for (int r = 0; r < 6; ++r) {
    for (int e = 0; e < TB * TC; ++e)
      x[e] = 0.01f * (float)((e * 37 + r * 11) % 200) - 1.0f;
    for (int e = 0; e < TB * TR; ++e)
      d[e] = 0.01f * (float)((e * 53 + r * 7) % 100) - 0.5f;
    CHECK_OK(aihw_tile_update(t, x, TB, TC, d, TR, 0.1f));
  }
  const int n = aihw_tile_compound_devices(t);
  for (int k = 0; k < n; ++k)
    CHECK_OK(aihw_tile_compound_get_weights(t, k, out + k * TR * TC, TR, TC));
  if (type != AIHW_COMPOUND_ONE_SIDED)
    CHECK_OK(aihw_tile_compound_get_buffer(t, 0, out + 2 * TR * TC, TR, TC));
  free(x);
  free(d);
  aihw_tile_destroy(t);
}

/* OneSided (with refresh), MixedPrecision (stochastic bins) and AGAD give bit-identical
 * results with 1 and 2 threads. */
static void test_thread_count_invariance(void) {
  const aihw_compound_type types[3] = {AIHW_COMPOUND_ONE_SIDED, AIHW_COMPOUND_MIXED_PRECISION,
                                       AIHW_COMPOUND_DYNAMIC_TRANSFER};
  const size_t n = 3 * TR * TC;
  for (int k = 0; k < 3; ++k) {
    float *a = calloc(n, sizeof(float)), *b = calloc(n, sizeof(float));
    run_threads(1, types[k], a);
    run_threads(2, types[k], b);
    CHECK(memcmp(a, b, n * sizeof(float)) == 0);
    int moved = 0;
    for (size_t e = 0; e < (size_t)(TR * TC); ++e)
      moved += a[e] != 0.0f;
    CHECK(moved > 0);
    free(a);
    free(b);
  }
}

TEST_MAIN(TEST(test_row_transfer), TEST(test_row_buffered), TEST(test_reset_columns),
          TEST(test_drift), TEST(test_thread_count_invariance),
          TEST(test_rows_state_round_trip))
