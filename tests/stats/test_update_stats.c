/* Statistics of the pulsed update (reference §4.2–4.4), fixed seeds. Tolerances are stated
 * per test in standard errors (SE); with many simultaneous checks we use 6 SE so that the
 * chance of a false alarm stays below 1e-6 for the whole program. */
#include "aihw/aihw.h"
#include "test_util.h"
#include "tile/tile_internal.h"

/* A noise-free, spread-free ConstantStep device with wide bounds (no clipping). */
static aihw_device_params ideal_constant_step(float dw_min, float bound) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  p.dw_min = dw_min;
  p.dw_min_std = 0.0f;
  p.dw_min_dtod = 0.0f;
  p.up_down_dtod = 0.0f;
  p.w_max_dtod = p.w_min_dtod = 0.0f;
  p.w_max = bound;
  p.w_min = -bound;
  return p;
}

static aihw_tile *make(const aihw_device_params *dev, const aihw_update_params *up,
                       int out, int in, uint32_t seed) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device = *dev;
  cfg.update = *up;
  cfg.seed = seed;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, out, in, &t));
  return t;
}

/* E[dW] = -lr d x^T when no probability saturates (k <= BL): R repeated updates with the
 * same x, d; per weight the count per update has variance <= its mean m (a sum of BL
 * Bernoulli coincidences with p <= 1), so the SE of the averaged count is sqrt(m/R). */
static void check_expected_update(int um, int ublm, uint32_t seed) {
  const int n = 12, reps = 3000;
  const float lr = 0.01f, dw = 0.001f;
  aihw_device_params dev = ideal_constant_step(dw, 100.0f);
  aihw_update_params up = aihw_update_params_default();
  up.update_management = um;
  up.update_bl_management = ublm;
  aihw_tile *t = make(&dev, &up, n, n, seed);
  float x[12], d[12], w[144];
  for (int j = 0; j < n; ++j) {
    x[j] = (float)(j - 5) / 7.0f;      /* max |x| = 1 */
    d[j] = (float)(3 - j) / 9.0f * 0.8f; /* max |d| = 0.8 */
  }
  for (int r = 0; r < reps; ++r)
    CHECK_OK(aihw_tile_update(t, x, 1, n, d, n, lr));
  CHECK_OK(aihw_tile_get_weights(t, w, n, n));
  int bad = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      const double expect_count = lr * fabs((double)d[i] * x[j]) / dw; /* per update */
      const double mean_count = fabs((double)w[i * n + j]) / dw / reps;
      const double se = sqrt((expect_count + 1e-3) / reps);
      if (fabs(mean_count - expect_count) > 6.0 * se + 1e-9)
        ++bad;
      if (expect_count > 0.05 && (w[i * n + j] > 0) != (-(double)d[i] * x[j] > 0))
        ++bad; /* sign of -lr d x */
    }
  if (bad)
    fprintf(stderr, "  um %d ublm %d: %d weights off\n", um, ublm, bad);
  CHECK(bad == 0);
  aihw_tile_destroy(t);
}

static void mean_update_equals_sgd_with_and_without_management(void) {
  check_expected_update(1, 1, 1);
  check_expected_update(1, 0, 2);
  check_expected_update(0, 0, 3);
}

/* UBLM: BL = ceil(k). A single element with k = lr x d / g = 2.5 fires Binomial(3, 2.5/3)
 * coincidences (mean 2.5, variance 0.4167, reference §4.2). N = 20000 updates:
 * SE(mean) = 0.0046, SE(variance) ~ 0.0035; 5 SE. Read through the pulse counters. */
static void update_bl_management_uses_ceil_k_pulses(void) {
  aihw_device_params dev = ideal_constant_step(0.001f, 1000.0f);
  dev.count_pulses = 1;
  aihw_update_params up = aihw_update_params_default();
  aihw_tile *t = make(&dev, &up, 1, 1, 9);
  const int reps = 20000;
  float x[1] = {1.0f}, d[1] = {-1.0f};
  double s = 0, s2 = 0;
  int64_t prev = 0, counts[2];
  for (int r = 0; r < reps; ++r) {
    CHECK_OK(aihw_tile_update(t, x, 1, 1, d, 1, 0.0025f));
    CHECK_OK(aihw_tile_get_pulse_counts(t, counts, 1, 1));
    const double c = (double)(counts[0] - prev); /* up pulses (d x < 0) */
    prev = counts[0];
    s += c;
    s2 += c * c;
  }
  const double mean = s / reps, var = s2 / reps - mean * mean;
  CHECK_NEAR(mean, 2.5, 5 * 0.0046);
  CHECK_NEAR(var, 2.5 / 3.0 * 3.0 * (1.0 - 2.5 / 3.0), 5 * 0.0035);
  CHECK(counts[1] == 0);
  /* k = 1000 > BL: exactly desired_bl = 31 pulses per update. */
  prev = counts[0];
  CHECK_OK(aihw_tile_update(t, x, 1, 1, d, 1, 1.0f));
  CHECK_OK(aihw_tile_get_pulse_counts(t, counts, 1, 1));
  CHECK(counts[0] - prev == 31);
  aihw_tile_destroy(t);
}

/* A single up step of a ConstantStep device with dw_min_std 0.3 has mean dwmin_up and
 * std 0.3 dwmin_up (§5.4). 100 x 100 devices without dtod spread, one pulse each (BL 1,
 * no management, lr 1): SE(mean) = 0.3/100 relative, SE(std) = 0.3/sqrt(2e4). */
static void constant_step_noise_has_dw_min_std(void) {
  aihw_device_params dev = ideal_constant_step(0.01f, 10.0f);
  dev.dw_min_std = 0.3f;
  aihw_update_params up = aihw_update_params_default();
  up.desired_bl = 1;
  up.update_management = up.update_bl_management = 0;
  for (int path = 0; path < 2; ++path) {
    aihw_update_reference_path = path;
    aihw_tile *t = make(&dev, &up, 100, 100, 11);
    float x[100], d[100];
    for (int k = 0; k < 100; ++k) {
      x[k] = -1.0f;
      d[k] = 1.0f;
    }
    CHECK_OK(aihw_tile_update(t, x, 1, 100, d, 100, 1.0f));
    float *w = malloc(sizeof(float) * 10000);
    CHECK_OK(aihw_tile_get_weights(t, w, 100, 100));
    double s = 0, s2 = 0;
    for (int k = 0; k < 10000; ++k) {
      s += w[k] / 0.01;
      s2 += (w[k] / 0.01) * (w[k] / 0.01);
    }
    const double mean = s / 1e4, sd = sqrt(s2 / 1e4 - mean * mean);
    CHECK_NEAR(mean, 1.0, 5 * 0.3 / 100.0);
    CHECK_NEAR(sd, 0.3, 5 * 0.3 / sqrt(2e4));
    free(w);
    aihw_tile_destroy(t);
  }
  aihw_update_reference_path = 0;
}

/* Aggregating ConstantStep steps over the batch is exact in law: the same training run
 * with and without aggregation gives weights with the same mean and spread, also when many
 * devices sit at their bounds. 64 x 64 devices with dtod spread, 40 updates of batch 8;
 * the per-device weights of the two runs are independent samples, so their means differ
 * by < 5 SE of the difference and their stds by < 5 SE. */
static void constant_step_aggregation_is_exact_in_law(void) {
  const int n = 64, batch = 8, reps = 40;
  for (int tight = 0; tight < 2; ++tight) {
    aihw_device_params dev = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
    dev.dw_min = 0.002f;
    dev.w_max = tight ? 0.05f : 1.0f;
    dev.w_min = tight ? -0.05f : -1.0f;
    aihw_update_params up = aihw_update_params_default();
    double mean[2], sd[2], at_bound[2];
    for (int path = 0; path < 2; ++path) {
      aihw_update_reference_path = path;
      aihw_tile *t = make(&dev, &up, n, n, 21 + (uint32_t)path);
      float *x = malloc(sizeof(float) * batch * n), *d = malloc(sizeof(float) * batch * n);
      for (int k = 0; k < batch * n; ++k) {
        x[k] = 0.3f + 0.7f * (float)((k * 37) % 101) / 100.0f; /* positive: a drift */
        d[k] = -(0.2f + 0.8f * (float)((k * 53) % 97) / 96.0f);
      }
      for (int r = 0; r < reps; ++r)
        CHECK_OK(aihw_tile_update(t, x, batch, n, d, n, 0.01f));
      float *w = malloc(sizeof(float) * n * n), *hi = malloc(sizeof(float) * n * n);
      CHECK_OK(aihw_tile_get_weights(t, w, n, n));
      CHECK_OK(aihw_tile_get_hidden(t, 0, hi, n, n));
      double s = 0, s2 = 0, b = 0;
      for (int k = 0; k < n * n; ++k) {
        s += w[k];
        s2 += (double)w[k] * w[k];
        b += w[k] == hi[k];
      }
      mean[path] = s / (n * n);
      sd[path] = sqrt(s2 / (n * n) - mean[path] * mean[path]);
      at_bound[path] = b / (n * n);
      free(x);
      free(d);
      free(w);
      free(hi);
      aihw_tile_destroy(t);
    }
    const double se_mean = sqrt((sd[0] * sd[0] + sd[1] * sd[1]) / (n * n));
    CHECK_NEAR(mean[0], mean[1], 5 * se_mean);
    CHECK_NEAR(sd[0], sd[1], 5 * sd[0] / sqrt(n * n));
    if (tight) {
      CHECK(at_bound[0] > 0.3); /* the test exercises clipping */
      CHECK_NEAR(at_bound[0], at_bound[1], 5 * sqrt(0.25 / (n * n)) * 1.5);
    }
  }
  aihw_update_reference_path = 0;
}

/* Write noise (§5.3): after set_weights the visible weights are the persistent ones plus
 * N(0, (write_noise_std dw_min)^2); aihwkit measured std 0.0200 for write_noise_std 2,
 * dw_min 0.01. 100 x 100 devices: SE of the std = 0.02/sqrt(2e4). */
static void write_noise_separates_visible_from_persistent_weights(void) {
  aihw_device_params dev = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  dev.dw_min = 0.01f;
  dev.write_noise_std = 2.0f;
  aihw_update_params up = aihw_update_params_default();
  aihw_tile *t = make(&dev, &up, 100, 100, 13);
  float *w = malloc(sizeof(float) * 10000), *wp = malloc(sizeof(float) * 10000);
  for (int k = 0; k < 10000; ++k)
    w[k] = 0.1f * (float)((k % 7) - 3) / 3.0f;
  CHECK_OK(aihw_tile_set_weights(t, w, 100, 100));
  CHECK_OK(aihw_tile_get_weights(t, w, 100, 100));
  int idx = -1;
  CHECK_OK(aihw_tile_hidden_index(t, "persistent_weights", &idx));
  CHECK_OK(aihw_tile_get_hidden(t, idx, wp, 100, 100));
  double s = 0, s2 = 0;
  for (int k = 0; k < 10000; ++k) {
    const double e = (double)w[k] - wp[k];
    s += e;
    s2 += e * e;
  }
  const double mean = s / 1e4, sd = sqrt(s2 / 1e4 - mean * mean);
  CHECK_NEAR(mean, 0.0, 5 * 0.02 / 100.0);
  CHECK_NEAR(sd, 0.02, 5 * 0.02 / sqrt(2e4));
  free(w);
  free(wp);
  aihw_tile_destroy(t);
}

/* Diffusion (§5.3): one diffusion call adds N(0, diffusion_rate^2) to every weight;
 * diffusion 0.01 without spread on 100 x 100 devices far from their bounds. */
static void diffusion_adds_gaussian_noise_of_its_rate(void) {
  aihw_device_params dev = ideal_constant_step(0.001f, 10.0f);
  dev.diffusion = 0.01f;
  aihw_update_params up = aihw_update_params_default();
  aihw_tile *t = make(&dev, &up, 100, 100, 17);
  float *w = calloc(10000, sizeof(float));
  CHECK_OK(aihw_tile_set_weights(t, w, 100, 100));
  CHECK_OK(aihw_tile_post_update_step(t)); /* diffusion > 0: one diffusion call */
  CHECK_OK(aihw_tile_get_weights(t, w, 100, 100));
  double s = 0, s2 = 0;
  for (int k = 0; k < 10000; ++k) {
    s += w[k];
    s2 += (double)w[k] * w[k];
  }
  const double mean = s / 1e4, sd = sqrt(s2 / 1e4 - mean * mean);
  CHECK_NEAR(mean, 0.0, 5 * 0.01 / 100.0);
  CHECK_NEAR(sd, 0.01, 5 * 0.01 / sqrt(2e4));
  free(w);
  aihw_tile_destroy(t);
}

TEST_MAIN(TEST(mean_update_equals_sgd_with_and_without_management),
          TEST(write_noise_separates_visible_from_persistent_weights),
          TEST(diffusion_adds_gaussian_noise_of_its_rate),
          TEST(update_bl_management_uses_ceil_k_pulses),
          TEST(constant_step_noise_has_dw_min_std),
          TEST(constant_step_aggregation_is_exact_in_law))
