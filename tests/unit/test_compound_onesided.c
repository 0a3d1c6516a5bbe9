/* OneSidedUnitCell (reference §5.10): coincidences split by sign onto g+ / g-, set
 * weights, the refresh of a crafted saturated pair, schedule, JSON, presets and state. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compound_test_util.h"
#include "core/safetensors.h"
#include "tile/tile_internal.h"

static aihw_tile_config os_config(void) {
  aihw_tile_config c = compound_config(AIHW_COMPOUND_ONE_SIDED, 2);
  c.compound.refresh_forward.is_perfect = 1;
  c.compound.refresh_update = exact_update();
  for (int k = 0; k < 2; ++k)
    c.compound.devices[k].reset_std = 0.0f;
  return c;
}

/* A coincidence that lowers W is an up step of g-, one that raises W an up step of g+. */
static void test_update_directions(void) {
  aihw_tile_config c = os_config();
  aihw_tile *t = make(&c, 1, 3);
  const float w0[3] = {0.3f, -0.2f, 0.0f};
  CHECK_OK(aihw_tile_set_weights(t, w0, 1, 3));
  float gp[3], gm[3], w[3];
  sub_weights(t, 1, gp);
  sub_weights(t, 0, gm);
  CHECK(gp[0] == 0.3f && gp[1] == 0.0f && gp[2] == 0.0f);
  CHECK(gm[0] == 0.0f && gm[1] == 0.2f && gm[2] == 0.0f);
  const float x[3] = {1.0f, 1.0f, -1.0f}, d[1] = {0.05f};
  CHECK_OK(aihw_tile_update(t, x, 1, 3, d, 1, 1.0f)); /* 5 coincidences per element */
  sub_weights(t, 1, gp);
  sub_weights(t, 0, gm);
  CHECK_NEAR(gp[0], 0.3f, 1e-6);
  CHECK_NEAR(gp[1], 0.0f, 1e-6);
  CHECK_NEAR(gp[2], 0.05f, 1e-6);
  CHECK_NEAR(gm[0], 0.05f, 1e-6);
  CHECK_NEAR(gm[1], 0.25f, 1e-6);
  CHECK_NEAR(gm[2], 0.0f, 1e-6);
  CHECK_OK(aihw_tile_get_weights(t, w, 1, 3));
  CHECK_NEAR(w[0], 0.25f, 1e-6);
  CHECK_NEAR(w[1], -0.25f, 1e-6);
  CHECK_NEAR(w[2], 0.05f, 1e-6);
  /* a device never steps down: 100 coincidences of each sign only raise both */
  const float x2[3] = {1.0f, -1.0f, 1.0f}, d2[1] = {1.0f};
  CHECK_OK(aihw_tile_update(t, x2, 1, 3, d2, 1, 1.0f));
  float gp2[3], gm2[3];
  sub_weights(t, 1, gp2);
  sub_weights(t, 0, gm2);
  for (int j = 0; j < 3; ++j)
    CHECK(gp2[j] >= gp[j] && gm2[j] >= gm[j]);
  CHECK_NEAR(gm2[0], 1.0f, 1e-6); /* +100 steps, clipped at w_max 1 */
  CHECK_NEAR(gp2[1], 1.0f, 1e-6);
  aihw_tile_destroy(t);
}

/* Crafted pairs (w_max 1 for both): (0.9, 0.5) and (0.3, 0.8) are refreshed to (0.4, 0)
 * and (0, 0.5); (0.9, 0.1) (g- below lower 0.25) and (0.7, 0.7) (neither above upper
 * 0.75 with wp > wm false) are not. Visible weights do not change. */
static void test_refresh_saturated_pair(void) {
  aihw_tile_config c = os_config();
  c.compound.refresh_every = 1;
  aihw_tile *t = make(&c, 2, 2);
  const float gp[4] = {0.9f, 0.3f, 0.9f, 0.7f}, gm[4] = {0.5f, 0.8f, 0.1f, 0.7f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 1, gp, 2, 2));
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, gm, 2, 2));
  const float x[2] = {1.0f, 1.0f}, d[2] = {0.0f, 0.0f};
  CHECK_OK(aihw_tile_update(t, x, 1, 2, d, 2, 0.1f)); /* no pulses; refresh after it */
  float p[4], m[4], w[4];
  sub_weights(t, 1, p);
  sub_weights(t, 0, m);
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 2));
  CHECK_NEAR(p[0], 0.4f, 1e-6);
  CHECK(m[0] == 0.0f);
  CHECK(p[1] == 0.0f);
  CHECK_NEAR(m[1], 0.5f, 1e-6);
  CHECK(p[2] == 0.9f && m[2] == 0.1f && p[3] == 0.7f && m[3] == 0.7f);
  const float want[4] = {0.4f, -0.5f, 0.8f, 0.0f};
  for (int e = 0; e < 4; ++e)
    CHECK_NEAR(w[e], want[e], 1e-6);
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.refresh_count == 2 && n.update_count == 1);
  aihw_tile_destroy(t);
}

/* refresh_every 3 vectors (units_in_mbatch off): the refresh runs after vector 3 only. */
static void test_refresh_schedule(void) {
  aihw_tile_config c = os_config();
  c.compound.refresh_every = 3;
  c.compound.units_in_mbatch = 0;
  aihw_tile *t = make(&c, 1, 1);
  const float gp[1] = {0.9f}, gm[1] = {0.5f};
  CHECK_OK(aihw_tile_compound_set_weights(t, 1, gp, 1, 1));
  CHECK_OK(aihw_tile_compound_set_weights(t, 0, gm, 1, 1));
  const float x[2] = {1.0f, 1.0f}, d[2] = {0.0f, 0.0f};
  aihw_compound_counters n;
  CHECK_OK(aihw_tile_update(t, x, 2, 1, d, 1, 0.1f));
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.refresh_count == 0);
  CHECK_OK(aihw_tile_update(t, x, 2, 1, d, 1, 0.1f)); /* vector 3 is its first sample */
  CHECK_OK(aihw_tile_compound_get_counters(t, &n));
  CHECK(n.refresh_count == 1 && n.update_count == 4);
  aihw_tile_destroy(t);
}

static void test_params_json(void) {
  aihw_device_params d = exact_device();
  aihw_compound_params p = aihw_compound_params_default(AIHW_COMPOUND_ONE_SIDED, &d, 1);
  CHECK(p.n_devices == 2 && p.refresh_every == 0 && p.units_in_mbatch == 1);
  CHECK(p.refresh_upper_thres == 0.75f && p.refresh_lower_thres == 0.25f && !p.copy_inverted);
  p.refresh_every = 4;
  p.refresh_forward.out_noise = 0.02f;
  p.refresh_update.desired_bl = 17;
  char *json = NULL;
  CHECK_OK(aihw_compound_params_to_json(&p, &json));
  aihw_compound_params q;
  CHECK_OK(aihw_compound_params_from_json(json, &q));
  CHECK(q.refresh_every == 4 && q.refresh_forward.out_noise == 0.02f &&
        q.refresh_update.desired_bl == 17 && q.n_devices == 2);
  free(json);
  /* one device is duplicated */
  char *dev = NULL;
  CHECK_OK(aihw_device_params_to_json(&d, &dev));
  char text[4096];
  snprintf(text, sizeof text,
           "{\"type\": \"OneSidedUnitCell\", \"unit_cell_devices\": [%s], \"refresh_every\": 2}",
           dev);
  CHECK_OK(aihw_compound_params_from_json(text, &q));
  CHECK(q.n_devices == 2 && q.devices[1].dw_min == G && q.refresh_every == 2);
  snprintf(text, sizeof text,
           "{\"type\": \"OneSidedUnitCell\", \"unit_cell_devices\": [%s], \"gamma_vec\": [1]}",
           dev);
  CHECK_STATUS(aihw_compound_params_from_json(text, &q), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("gamma_vec");
  free(dev);
  /* bad values */
  p.refresh_every = -1;
  CHECK_STATUS(aihw_compound_params_validate(&p, "c"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("c.refresh_every");
  p.refresh_every = 1;
  p.devices[1] = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  CHECK_STATUS(aihw_compound_params_validate(&p, "c"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("one type");
  p.devices[1] = d;
  p.refresh_upper_thres = NAN;
  CHECK_STATUS(aihw_compound_params_validate(&p, "c"), AIHW_ERR_NOT_FINITE);
}

static void test_copy_inverted(void) {
  aihw_tile_config c = os_config();
  c.compound.copy_inverted = 1;
  for (int k = 0; k < 2; ++k) {
    c.compound.devices[k].w_min = 0.0f;
    c.compound.devices[k].w_max = 1.0f;
    c.compound.devices[k].up_down = 0.2f; /* up steps 1.2 g, down 0.8 g */
  }
  aihw_tile *t = make(&c, 1, 1);
  aihw_st_dict *dict = NULL;
  CHECK_OK(aihw_st_dict_create(&dict));
  CHECK_OK(aihw_tile_state_export(t, dict, ""));
  aihw_st_tensor a, b;
  CHECK_OK(aihw_st_dict_get(dict, "compound.0.hidden.max_bound", &a));
  CHECK_OK(aihw_st_dict_get(dict, "compound.1.hidden.min_bound", &b));
  CHECK(((const float *)a.data)[0] == -((const float *)b.data)[0]);
  CHECK_OK(aihw_st_dict_get(dict, "compound.0.hidden.dwmin_up", &a));
  CHECK_OK(aihw_st_dict_get(dict, "compound.1.hidden.dwmin_down", &b));
  CHECK(((const float *)a.data)[0] == ((const float *)b.data)[0]);
  aihw_st_dict_destroy(dict);
  aihw_tile_destroy(t);
  c.compound.devices[0] = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  c.compound.devices[1] = c.compound.devices[0];
  aihw_tile *u = NULL;
  CHECK_STATUS(aihw_tile_create(&c, 1, 1, &u), AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("copy_inverted");
  CHECK(u == NULL);
}

static void train_some(aihw_tile *t, int batches, uint32_t salt) {
  train_some_lr(t, batches, salt, 0.3f);
}

/* PCMPreset (noisy PCM pair, noisy refresh reads): save, load, continue bit-identically. */
static void test_state_round_trip(void) {
  aihw_tile_config c;
  CHECK_OK(aihw_tile_config_preset("PCMPreset", &c));
  CHECK(c.compound.type == AIHW_COMPOUND_ONE_SIDED && c.compound.refresh_every == 1);
  CHECK(c.compound.refresh_update.desired_bl == 31);
  c.compound.devices[0].write_noise_std = 0.5f;
  c.compound.devices[1].write_noise_std = 0.5f;
  c.seed = 5;
  c.analog_bias = 1;
  aihw_tile *a = make(&c, 4, 5), *b = make(&c, 4, 5);
  float w0[24];
  for (int e = 0; e < 24; ++e)
    w0[e] = 0.08f * (float)(e % 13) - 0.5f;
  CHECK_OK(aihw_tile_set_weights(a, w0, 4, 6));
  train_some(a, 30, 0);
  aihw_compound_counters na, nb;
  CHECK_OK(aihw_tile_compound_get_counters(a, &na));
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(a, d, "t."));
  CHECK(aihw_st_dict_contains(d, "t.compound.extra_counters"));
  CHECK_OK(aihw_tile_state_import(b, d, "t.", 1));
  train_some(a, 20, 1);
  train_some(b, 20, 1);
  float wa[24], wb[24];
  for (int k = 0; k < 2; ++k) {
    sub_weights(a, k, wa);
    sub_weights(b, k, wb);
    CHECK(memcmp(wa, wb, sizeof wa) == 0);
  }
  CHECK_OK(aihw_tile_compound_get_counters(a, &na));
  CHECK_OK(aihw_tile_compound_get_counters(b, &nb));
  CHECK(memcmp(&na, &nb, sizeof na) == 0);
  CHECK(na.update_count == 150);
  CHECK(na.refresh_count > 0); /* the saved state had refreshes to continue from */
  aihw_st_dict_destroy(d);
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

/* Stochastic pulse trains (default UpdateParameters: BL 31, UM, UBLM), noise-free
 * ConstantStep far from its bounds: g+ gains exactly the single-device tile's up steps and
 * g- its down steps (same seed, same trains), so W = g+ - g- equals the single-device
 * weights exactly, and neither device ever steps down. Small gradients (few firing
 * columns: the sparse count paths of update.c) and large ones (the whole-row paths). */
static void test_matches_single_device(void) {
  aihw_device_params d = exact_device();
  d.w_max = 5.0f;
  d.w_min = -5.0f;
  aihw_tile_config cs = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cs.device = d;
  cs.seed = 31;
  aihw_tile_config co = cs;
  co.compound = aihw_compound_params_default(AIHW_COMPOUND_ONE_SIDED, &d, 2);
  enum { R = 32, C = 64, B = 8 };
  aihw_tile *single = make(&cs, R, C), *os = make(&co, R, C);
  static float x[B * C], dd[B * R], ws[R * C], wo[R * C], gp[R * C], gm[R * C];
  static float gp0[R * C], gm0[R * C];
  for (int r = 0; r < 8; ++r) {
    const float scale = r % 2 == 0 ? 0.02f : 1.0f;
    for (int e = 0; e < B * C; ++e)
      x[e] = 0.013f * (float)((e * 37 + r * 11) % 150) - 1.0f;
    for (int e = 0; e < B * R; ++e)
      dd[e] = scale * (0.01f * (float)((e * 53 + r * 7) % 100) - 0.5f);
    sub_weights(os, 1, gp0);
    sub_weights(os, 0, gm0);
    CHECK_OK(aihw_tile_update(single, x, B, C, dd, R, 0.1f));
    CHECK_OK(aihw_tile_update(os, x, B, C, dd, R, 0.1f));
    sub_weights(os, 1, gp);
    sub_weights(os, 0, gm);
    for (int e = 0; e < R * C; ++e)
      CHECK(gp[e] >= gp0[e] && gm[e] >= gm0[e]);
  }
  CHECK_OK(aihw_tile_get_weights(single, ws, R, C));
  CHECK_OK(aihw_tile_get_weights(os, wo, R, C));
  int moved = 0;
  for (int e = 0; e < R * C; ++e) {
    CHECK_NEAR(wo[e], ws[e], 1e-5);
    moved += ws[e] != 0.0f;
  }
  CHECK(moved > R * C / 2);
  aihw_tile_destroy(single);
  aihw_tile_destroy(os);
}

TEST_MAIN(TEST(test_update_directions), TEST(test_matches_single_device), TEST(test_refresh_saturated_pair),
          TEST(test_refresh_schedule), TEST(test_params_json), TEST(test_copy_inverted),
          TEST(test_state_round_trip))
