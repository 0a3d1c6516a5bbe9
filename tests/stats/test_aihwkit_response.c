/* Device pulse-response curves match aihwkit 1.1.0 statistically
 * (tests/data/aihwkit/device_response.json, produced by scripts/aihwkit/
 * crosscheck_devices.py): for each of the 9 device models and 8 device presets, K = 2000
 * devices start at weight 0, receive 300 single up pulses then 300 down pulses, and the
 * mean and standard deviation over the devices after every pulse are compared with
 * aihwkit's.
 *
 * Tolerance: the difference of two independent means has standard error
 * SE = sqrt(s_a^2 + s_b^2) / sqrt(K); that of two standard deviations uses each side's
 * kurtosis k: SE(s) = s sqrt((k - 1) / (4K)). We check |difference| <= 6 SE at every one
 * of the 601 points of all 17 curves (about 2e4 comparisons; under the null hypothesis the
 * chance of any |z| > 6 is ~4e-5), plus 0.3 % of the value for aihwkit's per-tile Gaussian
 * table (scripts/aihwkit/README.md: each aihwkit tile draws all its noise from one table of
 * 32768 normals whose mean and variance are off by up to 0.5 % and 1.6 %; the fixture
 * averages 40 tiles). */
#include <cjson/cJSON.h>

#include "aihw/aihw.h"
#include "golden_util.h"
#include "test_util.h"

/* Runs the pulse-response recipe; mean/std/kurt receive 2N+1 values. */
static int response(const char *device, int k, int n, float *mean, float *sd, float *kurt) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  if (aihw_device_params_preset(device, &cfg.device) != AIHW_OK) {
    fprintf(stderr, "  %s: %s\n", device, aihw_last_error());
    return 0;
  }
  cfg.device.construction_seed = 1;
  cfg.seed = 1;
  cfg.update.desired_bl = 1;
  cfg.update.update_management = 0;
  cfg.update.update_bl_management = 0;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, k, 1, &t));
  if (t == NULL)
    return 0;
  float *w = calloc((size_t)k, sizeof(float)), *d = malloc(sizeof(float) * (size_t)k);
  const float x[1] = {-1.0f};
  CHECK_OK(aihw_tile_set_weights(t, w, k, 1));
  for (int step = 0; step <= 2 * n; ++step) {
    if (step > 0) {
      const float dir = step <= n ? 1.0f : -1.0f;
      for (int i = 0; i < k; ++i)
        d[i] = dir;
      CHECK_OK(aihw_tile_update(t, x, 1, 1, d, k, 1.0f));
    }
    CHECK_OK(aihw_tile_get_weights(t, w, k, 1));
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < k; ++i)
      s += w[i];
    const double m = s / k;
    for (int i = 0; i < k; ++i) {
      const double c = w[i] - m;
      s2 += c * c;
      s4 += c * c * c * c;
    }
    const double var = s2 / k;
    mean[step] = (float)m;
    sd[step] = (float)sqrt(var);
    kurt[step] = var > 0 ? (float)(s4 / k / (var * var)) : 0.0f;
  }
  aihw_tile_destroy(t);
  free(w);
  free(d);
  return 1;
}

static void pulse_responses_match_aihwkit(void) {
  cJSON *root = test_data_load("aihwkit", "device_response.json");
  const int k = golden_int(root, "devices"), n = golden_int(root, "pulses");
  const int stride = golden_int(root, "stride");
  CHECK(stride == 1);
  float *mean = malloc(sizeof(float) * (size_t)(2 * n + 1));
  float *sd = malloc(sizeof(float) * (size_t)(2 * n + 1));
  float *kurt = malloc(sizeof(float) * (size_t)(2 * n + 1));
  const cJSON *rec;
  int records = 0;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(root, "records")) {
    const char *device = cJSON_GetObjectItemCaseSensitive(rec, "device")->valuestring;
    float *am = golden_floats(rec, "mean", NULL), *as = golden_floats(rec, "std", NULL);
    float *ak = golden_floats(rec, "kurt", NULL);
    if (!response(device, k, n, mean, sd, kurt)) {
      CHECK(!"device could not be built");
      continue;
    }
    double worst_mean = 0, worst_std = 0;
    int bad = 0;
    for (int p = 0; p <= 2 * n; ++p) {
      const double se_m = sqrt(((double)sd[p] * sd[p] + (double)as[p] * as[p]) / k);
      const double se_s = sqrt((double)sd[p] * sd[p] * fmax(kurt[p] - 1.0, 0.0) / (4.0 * k) +
                               (double)as[p] * as[p] * fmax(ak[p] - 1.0, 0.0) / (4.0 * k));
      const double dm = fabs((double)mean[p] - am[p]), ds = fabs((double)sd[p] - as[p]);
      const double tol_m = 6.0 * se_m + 0.003 * fabs(am[p]) + 1e-7;
      const double tol_s = 6.0 * se_s + 0.003 * as[p] + 1e-7;
      if (se_m > 0)
        worst_mean = fmax(worst_mean, dm / se_m);
      if (se_s > 0)
        worst_std = fmax(worst_std, ds / se_s);
      if ((dm > tol_m || ds > tol_s) && bad++ < 3)
        fprintf(stderr, "  %s pulse %d: mean %.6g vs aihwkit %.6g, std %.6g vs %.6g\n", device,
                p, (double)mean[p], (double)am[p], (double)sd[p], (double)as[p]);
    }
    printf("     %-28s max |z| mean %.2f, std %.2f\n", device, worst_mean, worst_std);
    CHECK(bad == 0);
    free(am);
    free(as);
    free(ak);
    ++records;
  }
  CHECK(records == 17);
  free(mean);
  free(sd);
  free(kurt);
  cJSON_Delete(root);
}

TEST_MAIN(TEST(pulse_responses_match_aihwkit))
