/* Exact behaviour of the tile update (reference §4): aihwkit's golden dense updates and
 * single device steps through the whole update path, the sign convention, exact
 * floating-point updates, reproducibility across thread counts, and bad input. */
#include <cjson/cJSON.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "aihw/aihw.h"
#include "golden_util.h"
#include "test_util.h"
#include "tile/tile_internal.h"

void openblas_set_num_threads(int num_threads);

/* Parses {"type": device, ...config} with our JSON reader (aihwkit field names). */
static aihw_device_params device_from(const char *type, const cJSON *config) {
  cJSON *obj = config ? cJSON_Duplicate(config, 1) : cJSON_CreateObject();
  cJSON_AddStringToObject(obj, "type", type);
  char *text = cJSON_PrintUnformatted(obj);
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  CHECK_OK(aihw_device_params_from_json(text, &p));
  free(text);
  cJSON_Delete(obj);
  return p;
}

static aihw_update_params update_from(const cJSON *config) {
  aihw_update_params u = aihw_update_params_default();
  if (config != NULL) {
    char *text = cJSON_PrintUnformatted(config);
    CHECK_OK(aihw_update_params_from_json(text, &u));
    free(text);
  }
  return u;
}

/* dense_update.json: one update() of a ConstantStep tile with MEAN_COUNT or
 * DETERMINISTIC_IMPLICIT pulses; every step applied singly in float32 (reference path)
 * reproduces aihwkit bit for bit; the aggregated path agrees to float rounding. */
static void dense_updates_match_aihwkit(void) {
  cJSON *root = golden_load("dense_update.json");
  const cJSON *rec;
  int records = 0;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(root, "records")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(rec, "name")->valuestring;
    const int out = golden_int(rec, "out_size"), in = golden_int(rec, "in_size");
    const int batch = golden_int(rec, "batch");
    const float lr = (float)cJSON_GetObjectItemCaseSensitive(rec, "lr")->valuedouble;
    cJSON *dev = cJSON_Parse("{\"w_max\": 10, \"w_min\": -10, \"dw_min_std\": 0, "
                             "\"dw_min_dtod\": 0, \"up_down_dtod\": 0, \"w_max_dtod\": 0, "
                             "\"w_min_dtod\": 0}");
    aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
    cfg.device = device_from("ConstantStepDevice", dev);
    cJSON_Delete(dev);
    cfg.update = update_from(cJSON_GetObjectItemCaseSensitive(rec, "update"));
    float *w0 = golden_floats(rec, "W0", NULL), *x = golden_floats(rec, "x", NULL);
    float *d = golden_floats(rec, "d", NULL), *w1 = golden_floats(rec, "W1", NULL);
    float *got = malloc((size_t)(out * in) * sizeof(float));
    for (int path = 0; path < 2; ++path) {
      aihw_update_reference_path = path == 0;
      aihw_tile *t = NULL;
      CHECK_OK(aihw_tile_create(&cfg, out, in, &t));
      if (t == NULL)
        break;
      CHECK_OK(aihw_tile_set_weights(t, w0, out, in));
      CHECK_OK(aihw_tile_update(t, x, batch, in, d, out, lr));
      CHECK_OK(aihw_tile_get_weights(t, got, out, in));
      int bad = 0;
      for (int k = 0; k < out * in; ++k) {
        int ok = path == 0 ? got[k] == w1[k] : fabsf(got[k] - w1[k]) <= 2e-6f;
        if (!ok && bad++ < 3)
          fprintf(stderr, "  %s (%s path): W1[%d] = %.9g, aihwkit %.9g\n", name,
                  path == 0 ? "reference" : "aggregated", k, (double)got[k], (double)w1[k]);
      }
      CHECK(bad == 0);
      aihw_tile_destroy(t);
    }
    aihw_update_reference_path = 0;
    free(w0);
    free(x);
    free(d);
    free(w1);
    free(got);
    ++records;
  }
  CHECK(records == 14);
  cJSON_Delete(root);
}

/* device_steps.json through the tile: AnalogTile(n, 1) with desired_bl 1, update
 * management off and lr 1, so every update(x = [[-1]], d = +-1) is exactly one up / down
 * step per device (aihwkit's pulse-response recipe). */
static aihw_tile *step_tile(const cJSON *rec, int n) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  const char *type = cJSON_GetObjectItemCaseSensitive(rec, "device")->valuestring;
  cfg.device = device_from(type, cJSON_GetObjectItemCaseSensitive(rec, "config"));
  cfg.device.dw_min = (float)cJSON_GetObjectItemCaseSensitive(rec, "dw_min")->valuedouble;
  cfg.update.desired_bl = 1;
  cfg.update.update_management = 0;
  cfg.update.update_bl_management = 0;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, n, 1, &t));
  return t;
}

static int pulse(aihw_tile *t, int n, int direction) {
  float x[1] = {-1.0f}, d[64];
  for (int i = 0; i < n; ++i)
    d[i] = (float)direction;
  return aihw_tile_update(t, x, 1, 1, d, n, 1.0f);
}

/* Tolerance of the golden README: bitwise for most devices; |dw| <= 2e-7 where expf/powf
 * or float64 evaluation of the reference shift may differ by an ulp. */
static int step_close(const char *name, float got, float want) {
  if (got == want)
    return 1;
  return fabsf(got - want) <= 2e-7f && (strstr(name, "Exp") || strstr(name, "Pow") ||
                                        strstr(name, "Reference"));
}

static void device_steps_match_aihwkit_through_the_tile(void) {
  cJSON *root = golden_load("device_steps.json");
  const cJSON *rec;
  int records = 0;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(root, "records")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(rec, "name")->valuestring;
    size_t n9;
    float *w_start = golden_floats(rec, "w_start", &n9);
    float *want_up = golden_floats(rec, "w_after_up", NULL);
    float *want_down = golden_floats(rec, "w_after_down", NULL);
    float *traj_up = golden_floats(rec, "traj_up", NULL);
    float *traj_down = golden_floats(rec, "traj_down", NULL);
    const int n = (int)n9;
    float got[64];
    int bad = 0;
    for (int dir = 1; dir >= -1; dir -= 2) {
      aihw_tile *t = step_tile(rec, n);
      if (t == NULL)
        continue;
      CHECK_OK(aihw_tile_set_weights(t, w_start, n, 1));
      CHECK_OK(pulse(t, n, dir));
      CHECK_OK(aihw_tile_get_weights(t, got, n, 1));
      for (int i = 0; i < n; ++i)
        if (!step_close(name, got[i], dir > 0 ? want_up[i] : want_down[i]) && bad++ < 3)
          fprintf(stderr, "  %s %s from %.9g: %.9g, aihwkit %.9g\n", name,
                  dir > 0 ? "up" : "down", (double)w_start[i], (double)got[i],
                  (double)(dir > 0 ? want_up[i] : want_down[i]));
      aihw_tile_destroy(t);
      t = step_tile(rec, 1);
      const float zero = 0.0f;
      CHECK_OK(aihw_tile_set_weights(t, &zero, 1, 1));
      for (int p = 0; p < 20; ++p) {
        CHECK_OK(pulse(t, 1, dir));
        CHECK_OK(aihw_tile_get_weights(t, got, 1, 1));
        const float want = dir > 0 ? traj_up[p] : traj_down[p];
        if (!(got[0] == want || fabsf(got[0] - want) <= 2e-7f) && bad++ < 3)
          fprintf(stderr, "  %s trajectory %s pulse %d: %.9g, aihwkit %.9g\n", name,
                  dir > 0 ? "up" : "down", p + 1, (double)got[0], (double)want);
      }
      aihw_tile_destroy(t);
    }
    if (bad)
      fprintf(stderr, "device_steps %s: %d mismatches\n", name, bad);
    CHECK(bad == 0);
    free(w_start);
    free(want_up);
    free(want_down);
    free(traj_up);
    free(traj_down);
    ++records;
  }
  CHECK(records == 22);
  cJSON_Delete(root);
}

/* Sign (§4.2): x = [1, -1], d = [1, -1], lr 0.01 gives dW = [[-0.01, +0.01], [+0.01,
 * -0.01]]: positive d_i x_j means down steps. With a noise-free ConstantStep of
 * dw_min 0.001 and MEAN_COUNT (BL 31, UM/UBLM on: k = 10 -> BL 10) that is 10 steps each. */
static void positive_d_times_x_gives_down_steps(void) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device.dw_min_std = 0.0f;
  cfg.device.dw_min_dtod = 0.0f;
  cfg.device.up_down_dtod = 0.0f;
  cfg.device.w_max_dtod = cfg.device.w_min_dtod = 0.0f;
  cfg.update.pulse_type = AIHW_PULSE_MEAN_COUNT;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, 2, 2, &t));
  float x[2] = {1, -1}, d[2] = {1, -1}, w[4];
  CHECK_OK(aihw_tile_update(t, x, 1, 2, d, 2, 0.01f));
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 2));
  CHECK_NEAR(w[0], -0.01, 1e-6);
  CHECK_NEAR(w[1], 0.01, 1e-6);
  CHECK_NEAR(w[2], 0.01, 1e-6);
  CHECK_NEAR(w[3], -0.01, 1e-6);
  aihw_tile_destroy(t);
}

/* Floating-point and inference tiles update exactly: W -= lr/bwd_alpha sum_b d_b x_b^T. */
static void exact_update_is_sgd(void) {
  const aihw_tile_kind kinds[2] = {AIHW_TILE_FLOATING_POINT, AIHW_TILE_INFERENCE};
  for (int k = 0; k < 2; ++k) {
    aihw_tile_config cfg = aihw_tile_config_default(kinds[k]);
    cfg.analog_bias = 1;
    aihw_tile *t = NULL;
    CHECK_OK(aihw_tile_create(&cfg, 2, 3, &t));
    float x[6] = {1, 2, 3, -1, 0.5f, 0}, d[4] = {0.5f, -1, 2, 1}, w[8];
    CHECK_OK(aihw_tile_set_alpha(t, 1.0f, 2.0f));
    CHECK_OK(aihw_tile_update(t, x, 2, 3, d, 2, 0.1f));
    CHECK_OK(aihw_tile_get_weights(t, w, 2, 4));
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 4; ++j) {
        double g = 0;
        for (int b = 0; b < 2; ++b)
          g += (double)d[b * 2 + i] * (j < 3 ? x[b * 3 + j] : 1.0);
        CHECK_NEAR(w[i * 4 + j], -0.1 / 2.0 * g, 1e-6);
      }
    aihw_tile_destroy(t);
  }
}

static void run_pulsed(int threads, aihw_device_type type, float *w_out, float *hidden_out) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  openblas_set_num_threads(threads);
  const int out = 40, in = 70, batch = 9;
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device = aihw_device_params_default(type);
  cfg.device.construction_seed = 17;
  cfg.device.w_max = 0.1f; /* many devices reach a bound: both ConstantStep paths run */
  cfg.device.w_min = -0.1f;
  cfg.seed = 5;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, out, in, &t));
  float *x = malloc(sizeof(float) * batch * in), *d = malloc(sizeof(float) * batch * out);
  unsigned st = 3;
  for (int k = 0; k < batch * in; ++k)
    x[k] = (float)((st = st * 1664525u + 1013904223u) >> 8) * 0x1p-23f - 1.0f;
  for (int k = 0; k < batch * out; ++k)
    d[k] = (float)((st = st * 1664525u + 1013904223u) >> 8) * 0x1p-23f - 1.0f;
  for (int rep = 0; rep < 5; ++rep)
    CHECK_OK(aihw_tile_update(t, x, batch, in, d, out, 0.05f));
  CHECK_OK(aihw_tile_get_weights(t, w_out, out, in));
  CHECK_OK(aihw_tile_get_hidden(t, 2, hidden_out, out, in));
  aihw_tile_destroy(t);
  free(x);
  free(d);
}

/* Same seed => identical hidden parameters and weights at 1, 2 and 16 threads (16: more
 * threads than cores, every thread's slice of the workspace in use; the sanitizer build
 * checks that the slices fit, which they did not before the stride was budgeted). */
static void pulsed_update_is_identical_across_thread_counts(void) {
  const aihw_device_type types[3] = {AIHW_DEVICE_CONSTANT_STEP, AIHW_DEVICE_SOFT_BOUNDS,
                                     AIHW_DEVICE_EXP_STEP};
  static float w1[40 * 70], w2[40 * 70], h1[40 * 70], h2[40 * 70];
  for (int k = 0; k < 3; ++k) {
    run_pulsed(1, types[k], w1, h1);
    run_pulsed(2, types[k], w2, h2);
    CHECK(memcmp(w1, w2, sizeof w1) == 0);
    CHECK(memcmp(h1, h2, sizeof h1) == 0);
    run_pulsed(16, types[k], w2, h2);
    CHECK(memcmp(w1, w2, sizeof w1) == 0);
    CHECK(memcmp(h1, h2, sizeof h1) == 0);
    int moved = 0;
    for (int e = 0; e < 40 * 70; ++e)
      moved += w1[e] != 0.0f;
    CHECK(moved > 40 * 70 / 2);
  }
#ifdef _OPENMP
  omp_set_num_threads(2);
#endif
}

static void bad_update_arguments_are_rejected(void) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, 2, 3, &t));
  float w0[6] = {0.1f, 0.2f, 0.3f, -0.1f, -0.2f, -0.3f}, w[6];
  CHECK_OK(aihw_tile_set_weights(t, w0, 2, 3));
  CHECK_OK(aihw_tile_get_weights(t, w0, 2, 3));
  float x[3] = {1, 2, 3}, d[2] = {1, 1};
  CHECK_STATUS(aihw_tile_update(t, x, 1, 3, d, 2, -0.1f), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("lr = -0.1");
  CHECK_STATUS(aihw_tile_update(t, x, 1, 3, d, 2, NAN), AIHW_ERR_NOT_FINITE);
  CHECK_STATUS(aihw_tile_update(t, x, 1, 2, d, 2, 0.1f), AIHW_ERR_SHAPE);
  CHECK_STATUS(aihw_tile_update(t, x, 1, 3, d, 3, 0.1f), AIHW_ERR_SHAPE);
  CHECK_STATUS(aihw_tile_update(t, x, 0, 3, d, 2, 0.1f), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_tile_update(NULL, x, 1, 3, d, 2, 0.1f), AIHW_ERR_INVALID_ARGUMENT);
  d[1] = INFINITY;
  CHECK_STATUS(aihw_tile_update(t, x, 1, 3, d, 2, 0.1f), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("d[0][1]");
  CHECK_OK(aihw_tile_get_weights(t, w, 2, 3));
  CHECK(memcmp(w, w0, sizeof w) == 0);
  aihw_tile_destroy(t);
}

/* Hidden parameters: names in aihwkit's order, round trip, validation. */
static void hidden_parameters_are_named_and_settable(void) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  cfg.device.write_noise_std = 1.0f;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, 3, 4, &t));
  const char *expect[] = {"max_bound",    "min_bound",  "dwmin_up",   "dwmin_down",
                          "decay_scales", "diffusion_rates", "reset_bias", "drift_nu",
                          "persistent_weights", "slope_up", "slope_down"};
  CHECK(aihw_tile_hidden_count(t) == 11);
  for (int k = 0; k < 11 && k < aihw_tile_hidden_count(t); ++k)
    CHECK(strcmp(aihw_tile_hidden_name(t, k), expect[k]) == 0);
  int idx = -1;
  CHECK_OK(aihw_tile_hidden_index(t, "dwmin_up", &idx));
  CHECK(idx == 2);
  CHECK_STATUS(aihw_tile_hidden_index(t, "dw_min_up", &idx), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("slope_down");
  float v[12];
  for (int k = 0; k < 12; ++k)
    v[k] = 0.01f * (float)k;
  CHECK_OK(aihw_tile_set_hidden(t, idx, v, 3, 4));
  float back[12];
  CHECK_OK(aihw_tile_get_hidden(t, idx, back, 3, 4));
  CHECK(memcmp(v, back, sizeof v) == 0);
  v[5] = -1.0f;
  CHECK_STATUS(aihw_tile_set_hidden(t, idx, v, 3, 4), AIHW_ERR_INVALID_ARGUMENT);
  v[5] = NAN;
  CHECK_STATUS(aihw_tile_set_hidden(t, idx, v, 3, 4), AIHW_ERR_NOT_FINITE);
  CHECK_STATUS(aihw_tile_set_hidden(t, idx, v, 4, 3), AIHW_ERR_SHAPE);
  CHECK_OK(aihw_tile_get_hidden(t, idx, back, 3, 4));
  CHECK(back[5] == 0.01f * 5.0f); /* unchanged by the failed calls */
  /* Shrinking the bounds clips the weights. */
  float w[12], hi[12];
  for (int k = 0; k < 12; ++k) {
    w[k] = 0.5f;
    hi[k] = 0.2f;
  }
  CHECK_OK(aihw_tile_set_weights(t, w, 3, 4));
  CHECK_OK(aihw_tile_set_hidden(t, 0, hi, 3, 4));
  CHECK_OK(aihw_tile_get_hidden(t, 8, back, 3, 4)); /* persistent weights */
  for (int k = 0; k < 12; ++k)
    CHECK(back[k] == 0.2f);
  aihw_tile_destroy(t);
  /* Floating-point tiles have none. */
  cfg = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  CHECK_OK(aihw_tile_create(&cfg, 3, 4, &t));
  CHECK(aihw_tile_hidden_count(t) == 0);
  CHECK(aihw_tile_hidden_name(t, 0) == NULL);
  aihw_tile_destroy(t);
}

/* Drift during training (§5.9): w = w0 max(t - t_start, 1)^-nu from the last change;
 * a changed weight restarts its clock. nu = 0.1 without spreads. */
static void drift_follows_power_law_and_restarts_on_change(void) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device.w_max_dtod = cfg.device.w_min_dtod = 0.0f;
  cfg.device.drift.nu = 0.1f;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, 1, 2, &t));
  float w[2] = {0.5f, -0.25f}, got[2];
  CHECK_OK(aihw_tile_set_weights(t, w, 1, 2));
  CHECK_OK(aihw_tile_drift_weights(t, 1.0f)); /* t = 1: max(1, 1)^-nu = 1 */
  CHECK_OK(aihw_tile_get_weights(t, got, 1, 2));
  CHECK_NEAR(got[0], 0.5, 1e-7);
  CHECK_OK(aihw_tile_drift_weights(t, 9.0f)); /* t = 10 */
  CHECK_OK(aihw_tile_get_weights(t, got, 1, 2));
  CHECK_NEAR(got[0], 0.5 * pow(10.0, -0.1), 1e-6);
  CHECK_NEAR(got[1], -0.25 * pow(10.0, -0.1), 1e-6);
  /* Change weight 0 only: the call that sees the change (t = 100) restarts its clock. */
  float changed[2] = {0.3f, got[1]};
  CHECK_OK(aihw_tile_set_weights(t, changed, 1, 2));
  CHECK_OK(aihw_tile_drift_weights(t, 90.0f)); /* t = 100 */
  CHECK_OK(aihw_tile_get_weights(t, got, 1, 2));
  CHECK_NEAR(got[0], 0.3, 1e-7); /* restarted this call */
  CHECK_NEAR(got[1], -0.25 * pow(100.0, -0.1), 1e-6);
  CHECK_OK(aihw_tile_drift_weights(t, 900.0f)); /* t = 1000 */
  CHECK_OK(aihw_tile_get_weights(t, got, 1, 2));
  CHECK_NEAR(got[0], 0.3 * pow(900.0, -0.1), 1e-6);
  CHECK_STATUS(aihw_tile_drift_weights(t, -1.0f), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_tile_drift_weights(t, NAN), AIHW_ERR_NOT_FINITE);
  aihw_tile_destroy(t);
}

/* Decay: w = (w - reset_bias) (1 - 1/lifetime) + reset_bias per post-update step;
 * diffusion adds N(0, diffusion^2) per step (checked loosely here, exact mean). */
static void post_update_step_decays_towards_reset_bias(void) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device.w_max_dtod = cfg.device.w_min_dtod = 0.0f;
  cfg.device.lifetime = 10.0f;
  cfg.device.reset = 0.1f;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, 1, 1, &t));
  float w = 0.5f, got;
  CHECK_OK(aihw_tile_set_weights(t, &w, 1, 1));
  CHECK_OK(aihw_tile_post_update_step(t));
  CHECK_OK(aihw_tile_get_weights(t, &got, 1, 1));
  CHECK_NEAR(got, (0.5 - 0.1) * 0.9 + 0.1, 1e-7);
  for (int k = 0; k < 200; ++k)
    CHECK_OK(aihw_tile_post_update_step(t));
  CHECK_OK(aihw_tile_get_weights(t, &got, 1, 1));
  CHECK_NEAR(got, 0.1, 1e-6);
  /* Reset with probability 1 returns every device to reset_bias + reset_std xi. */
  CHECK_OK(aihw_tile_set_weights(t, &w, 1, 1));
  CHECK_OK(aihw_tile_reset_columns(t, 0, 1, 1.0f));
  CHECK_OK(aihw_tile_get_weights(t, &got, 1, 1));
  CHECK(fabsf(got - 0.1f) < 0.06f && got != 0.5f);
  CHECK_STATUS(aihw_tile_reset_columns(t, 0, 1, 1.5f), AIHW_ERR_INVALID_ARGUMENT);
  aihw_tile_destroy(t);
}

TEST_MAIN(TEST(dense_updates_match_aihwkit),
          TEST(drift_follows_power_law_and_restarts_on_change),
          TEST(post_update_step_decays_towards_reset_bias), TEST(device_steps_match_aihwkit_through_the_tile),
          TEST(positive_d_times_x_gives_down_steps), TEST(exact_update_is_sgd),
          TEST(pulsed_update_is_identical_across_thread_counts),
          TEST(bad_update_arguments_are_rejected),
          TEST(hidden_parameters_are_named_and_settable))
