/* MixedPrecisionCompound (reference §5.10): chi accumulation, whole-step row transfers
 * with hand-computed values, quantisation, schedule, JSON, presets and saved state.
 * Exact devices and DETERMINISTIC_IMPLICIT pulses (compound_test_util.h): the forced
 * update management keeps the counts exact, so a transfer moves w_rj by exactly
 * -n_j g. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compound_test_util.h"
#include "core/safetensors.h"
#include "tile/tile_internal.h"

static aihw_tile_config mp_config(void) {
  return compound_config(AIHW_COMPOUND_MIXED_PRECISION, 1);
}

static void chi_of(const aihw_tile *t, float *chi) {
  CHECK_OK(aihw_tile_compound_get_buffer(t, 0, chi, aihw_tile_out_size(t),
                                         aihw_tile_weight_cols(t)));
}

/* Batch of 2, lr 1: chi = d0 x0^T + d1 x1^T; the transfer after the first vector of the
 * next call (aihwkit's order, compound_mixed.c; that vector has d = 0) moves trunc(chi / g)
 * steps and keeps the remainders. */
static void test_transfer_values(void) {
  aihw_tile_config c = mp_config();
  aihw_tile *t = make(&c, 2, 3);
  const float x[6] = {1.0f, 0.0f, 0.5f, 0.0f, 1.0f, 0.0f};
  const float d[4] = {0.023f, -0.011f, 0.004f, 0.035f};
  CHECK_OK(aihw_tile_update(t, x, 2, 3, d, 2, 1.0f));
  float w[6], chi[6];
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 3));
  for (int e = 0; e < 6; ++e)
    CHECK(w[e] == 0.0f); /* not yet transferred */
  const float d0[2] = {0.0f, 0.0f};
  CHECK_OK(aihw_tile_update(t, x, 1, 3, d0, 2, 1.0f));
  /* chi before: [[0.023, 0.004, 0.0115], [-0.011, 0.035, -0.0055]]
   * n = [[2, 0, 1], [-1, 3, 0]] */
  const float want_w[6] = {-0.02f, 0.0f, -0.01f, 0.01f, -0.03f, 0.0f};
  const float want_chi[6] = {0.003f, 0.004f, 0.0015f, -0.001f, 0.005f, -0.0055f};
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 3));
  chi_of(t, chi);
  for (int e = 0; e < 6; ++e) {
    CHECK_NEAR(w[e], want_w[e], 1e-6);
    CHECK_NEAR(chi[e], want_chi[e], 1e-7);
  }
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.transfers[0] == 1 && n.current_row == 0 && n.update_count == 3);
  /* set_weights clears chi and the counters */
  CHECK_OK(aihw_tile_set_weights(t, w, 2, 3));
  chi_of(t, chi);
  for (int e = 0; e < 6; ++e)
    CHECK(chi[e] == 0.0f);
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.update_count == 0);
  aihw_tile_destroy(t);
}

/* transfer_every 2 (mini-batches of 1), one row per transfer, transfer_lr 2, granularity
 * 0.02: row 0 after vector 3, row 1 after vector 5 (the counts before them are 2 and 4);
 * n = trunc(chi / 0.02), w -= 2 n 0.02. */
static void test_schedule_rows(void) {
  aihw_tile_config c = mp_config();
  c.compound.transfer_every = 2.0f;
  c.compound.n_rows_per_transfer = 1;
  c.compound.transfer_lr = 2.0f;
  c.compound.granularity = 0.02f;
  aihw_tile *t = make(&c, 2, 1);
  const float x[1] = {1.0f}, d[2] = {0.05f, -0.03f};
  float w[2], chi[2];
  CHECK_OK(aihw_tile_update(t, x, 1, 1, d, 2, 1.0f));
  CHECK_OK(aihw_tile_update(t, x, 1, 1, d, 2, 1.0f));
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 1));
  CHECK(w[0] == 0.0f && w[1] == 0.0f); /* no transfer in the first two vectors */
  CHECK_OK(aihw_tile_update(t, x, 1, 1, d, 2, 1.0f));
  /* chi = [0.15, -0.09] after vector 3; row 0: n = 7, w0 = -0.28, chi0 = 0.01 */
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 1));
  chi_of(t, chi);
  CHECK_NEAR(w[0], -0.28f, 1e-6);
  CHECK(w[1] == 0.0f);
  CHECK_NEAR(chi[0], 0.01f, 1e-6);
  CHECK_NEAR(chi[1], -0.09f, 1e-6);
  CHECK_OK(aihw_tile_update(t, x, 1, 1, d, 2, 1.0f));
  CHECK_OK(aihw_tile_update(t, x, 1, 1, d, 2, 1.0f));
  /* chi1 = -0.15 after vector 5; row 1: n = -7, w1 = 0.28, chi1 = -0.01 */
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 1));
  chi_of(t, chi);
  CHECK_NEAR(w[0], -0.28f, 1e-6);
  CHECK_NEAR(w[1], 0.28f, 1e-6);
  CHECK_NEAR(chi[0], 0.11f, 1e-6);
  CHECK_NEAR(chi[1], -0.01f, 1e-6);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.transfers[0] == 2 && n.current_row == 0);
  aihw_tile_destroy(t);
}

/* Deterministic quantisation: x bins 4 (h 2), d bins 2 (h 1), no transfer. */
static void test_quantisation(void) {
  aihw_tile_config c = mp_config();
  c.compound.transfer_every = 0.0f;
  c.compound.n_x_bins = 4;
  c.compound.n_d_bins = 2;
  c.compound.stoc_round_x = 0;
  c.compound.stoc_round_d = 0;
  aihw_tile *t = make(&c, 2, 3);
  const float x[3] = {1.0f, 0.3f, -0.6f}, d[2] = {0.2f, -0.05f};
  CHECK_OK(aihw_tile_update(t, x, 1, 3, d, 2, 0.5f));
  /* xq = [1, 0.5, -0.5] (scale 0.5: rint(2, 0.6, -1.2)); dq = [0.2, 0] */
  const float want[6] = {0.1f, 0.05f, -0.05f, 0.0f, 0.0f, 0.0f};
  float chi[6];
  chi_of(t, chi);
  for (int e = 0; e < 6; ++e)
    CHECK_NEAR(chi[e], want[e], 1e-7);
  aihw_tile_destroy(t);
}

/* Stochastic rounding is unbiased: x = [1, 0.3] with 4 bins (scale 0.5) gives xq_1 in
 * {0.5, 0} with P(0.5) = 0.6; over N = 4000 vectors (lr 1, d = 1, no transfer) chi_1 / N
 * has mean 0.3 and std sqrt(0.6 0.4 / N) 0.5 = 0.0039; tolerance 0.02 (5 sigma). The
 * deterministic rounding of the same input gives 0.5 (rint(0.6) = 1), so the test fails
 * if the rounding is not stochastic. */
static void test_stochastic_rounding(void) {
  aihw_tile_config c = mp_config();
  c.compound.transfer_every = 0.0f;
  c.compound.n_x_bins = 4;
  c.seed = 3;
  aihw_tile *t = make(&c, 1, 2);
  enum { N = 4000 };
  float *x = malloc(sizeof(float) * 2 * N), *d = malloc(sizeof(float) * N);
  for (int b = 0; b < N; ++b) {
    x[2 * b] = 1.0f;
    x[2 * b + 1] = 0.3f;
    d[b] = 1.0f;
  }
  CHECK_OK(aihw_tile_update(t, x, N, 2, d, 1, 1.0f));
  float chi[2];
  chi_of(t, chi);
  CHECK_NEAR(chi[0] / N, 1.0f, 1e-5);
  CHECK_NEAR(chi[1] / N, 0.3f, 0.02);
  free(x);
  free(d);
  aihw_tile_destroy(t);
}

static void test_params_json_presets(void) {
  aihw_device_params d = exact_device();
  aihw_compound_params p = aihw_compound_params_default(AIHW_COMPOUND_MIXED_PRECISION, &d, 3);
  CHECK(p.n_devices == 1 && p.transfer_every == 1.0f && p.n_rows_per_transfer == -1);
  CHECK(p.granularity == 0.0f && p.transfer_lr == 1.0f && p.n_x_bins == 0 && p.n_d_bins == 0);
  CHECK(p.stoc_round_x == 1 && p.stoc_round_d == 1 && p.random_row == 0);
  p.n_x_bins = 7;
  p.random_row = 1;
  char *json = NULL;
  CHECK_OK(aihw_compound_params_to_json(&p, &json));
  CHECK(strstr(json, "\"device\"") != NULL && strstr(json, "unit_cell_devices") == NULL);
  aihw_compound_params q;
  CHECK_OK(aihw_compound_params_from_json(json, &q));
  CHECK(q.n_x_bins == 7 && q.random_row == 1 && q.n_devices == 1 && q.devices[0].dw_min == G);
  free(json);
  CHECK_STATUS(aihw_compound_params_from_json("{\"type\": \"MixedPrecisionCompound\"}", &q),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'device'");
  p.transfer_every = 1.5f;
  CHECK_STATUS(aihw_compound_params_validate(&p, "c"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("c.transfer_every");
  p.transfer_every = 1.0f;
  p.n_rows_per_transfer = 0;
  CHECK_STATUS(aihw_compound_params_validate(&p, "c"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("c.n_rows_per_transfer");
  p.n_rows_per_transfer = -1;
  p.n_d_bins = -2;
  CHECK_STATUS(aihw_compound_params_validate(&p, "c"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("n_d_bins");
  static const char *const devices[] = {"ReRamES", "ReRamSB",  "Capacitor",   "EcRam",
                                        "EcRamMO", "Idealized", "GokmenVlasov"};
  for (int k = 0; k < 7; ++k) {
    char name[64], dev[64];
    snprintf(name, sizeof name, "MixedPrecision%sPreset", devices[k]);
    snprintf(dev, sizeof dev, "%sPresetDevice", devices[k]);
    aihw_tile_config c;
    CHECK_OK(aihw_tile_config_preset(name, &c));
    aihw_device_params want;
    CHECK_OK(aihw_device_params_preset(dev, &want));
    CHECK(c.compound.type == AIHW_COMPOUND_MIXED_PRECISION && c.compound.n_devices == 1);
    CHECK(memcmp(&c.compound.devices[0], &want, sizeof want) == 0);
    CHECK(c.update.desired_bl == 31 && c.update.update_management == 1);
    CHECK(c.forward.out_noise == 0.1f && c.compound.n_x_bins == 0);
  }
}

static void train_some(aihw_tile *t, int batches, uint32_t salt) {
  train_some_lr(t, batches, salt, 0.05f);
}

/* Noisy preset device, stochastic bins, one row per transfer: save, load, continue
 * bit-identically (chi, device, counters). */
static void test_state_round_trip(void) {
  aihw_tile_config c;
  CHECK_OK(aihw_tile_config_preset("MixedPrecisionReRamSBPreset", &c));
  c.compound.n_x_bins = 9;
  c.compound.n_d_bins = 5;
  c.compound.n_rows_per_transfer = 1;
  c.compound.random_row = 1;
  c.seed = 21;
  c.analog_bias = 1;
  aihw_tile *a = make(&c, 4, 5), *b = make(&c, 4, 5);
  train_some(a, 7, 0);
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(a, d, "t."));
  CHECK(aihw_st_dict_contains(d, "t.compound.chi"));
  CHECK_OK(aihw_tile_state_import(b, d, "t.", 1));
  train_some(a, 6, 1);
  train_some(b, 6, 1);
  float wa[24], wb[24];
  sub_weights(a, 0, wa);
  sub_weights(b, 0, wb);
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  chi_of(a, wa);
  chi_of(b, wb);
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  aihw_compound_counters na, nb;
  CHECK_OK(aihw_tile_compound_get_counters(a, &na));
  CHECK_OK(aihw_tile_compound_get_counters(b, &nb));
  CHECK(memcmp(&na, &nb, sizeof na) == 0);
  CHECK(na.transfers[0] == 12 && na.update_count == 39);
  aihw_st_dict_destroy(d);
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

TEST_MAIN(TEST(test_transfer_values), TEST(test_schedule_rows), TEST(test_quantisation),
          TEST(test_stochastic_rounding), TEST(test_params_json_presets),
          TEST(test_state_round_trip))
