/* One pulsed update matches aihwkit 1.1.0 statistically (tests/data/aihwkit/
 * update_stats.json, produced by scripts/aihwkit/crosscheck_update.py), with the fixture's
 * recipe: a 32 x 32 ANALOG tile (UpdateParameters() defaults: stochastic compressed pulse
 * trains, BL 31, update and BL management) with ConstantStepDevice or SoftBoundsDevice
 * (defaults, or without dtod: dw_min_dtod = up_down_dtod = w_max_dtod = w_min_dtod = 0,
 * dw_min_std = 0.3), lr 0.01; per repetition set_weights(W0), read W_start, update(x, d)
 * with the stored batch of 16, dW = W - W_start; R = 300 repetitions.
 *
 * Without dtod every device is alike, so the per-weight mean and std of dW are compared
 * element by element (1024 each; aihw: one tile, R repetitions): SE of a mean difference
 * sqrt((s_a^2 + s_b^2) / R), of a std difference sqrt((s_a^2 + s_b^2) (k - 1) / (4 R)) with
 * our per-weight kurtosis k; |z| <= 6 everywhere (null chance of any |z| > 6 over the 4096
 * comparisons ~1e-5), plus 0.3 % of the value for aihwkit's per-tile Gaussian table
 * (scripts/aihwkit/README.md: the table's mean offset biases each noisy step by
 * dw_min_std 0.0055 = 0.17 % per tile; the fixture pools 10 tiles).
 *
 * For every device (with and without dtod) the distributions over devices of the gain
 * m/E and the dispersion var/(dw_min |E|) (devices with |E| >= 0.5 rms E, E = -lr d^T x)
 * are compared with the fixture's sorted values by a two-sample Kolmogorov-Smirnov test,
 * D <= 2.23 sqrt(1/n_a + 1/n_b) (asymptotic p = 1e-4); aihw uses the same number of tiles
 * (construction_seed 1 + t) as the fixture for the dtod devices. The least-squares slope
 * sum(m E) / sum(E^2) must agree within 6 SE, SE = sqrt(2) x our own SE of the slope
 * (sqrt(sum E^2 (m - slope E)^2) / sum E^2, devices independent: dtod spread plus
 * sampling noise; both sides have the same design, so the same SE). */
#include <cjson/cJSON.h>

#include "aihw/aihw.h"
#include "golden_util.h"
#include "test_util.h"

#define SIZE 32
#define BATCH 16
#define MAX_TILES 16

static aihw_device_params make_device(const char *name, uint32_t seed) {
  const int soft = strncmp(name, "SoftBoundsDevice", 16) == 0;
  aihw_device_params dev =
      aihw_device_params_default(soft ? AIHW_DEVICE_SOFT_BOUNDS : AIHW_DEVICE_CONSTANT_STEP);
  dev.construction_seed = seed;
  if (strstr(name, "_no_dtod") != NULL) {
    dev.dw_min_dtod = 0.0f;
    dev.up_down_dtod = 0.0f;
    dev.w_max_dtod = 0.0f;
    dev.w_min_dtod = 0.0f;
    dev.dw_min_std = 0.3f;
  }
  return dev;
}

/* Per-weight mean, var (ddof 0) and kurtosis of dW over `repeats` single updates. */
static void repeat_update(const aihw_device_params *dev, uint32_t seed, const float *w0,
                          const float *x, const float *d, float lr, int repeats, double *mean,
                          double *var, double *kurt) {
  const int n = SIZE * SIZE;
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device = *dev;
  cfg.seed = seed;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, SIZE, SIZE, &t));
  float *dw = malloc(sizeof(float) * (size_t)n * (size_t)repeats), start[SIZE * SIZE];
  for (int r = 0; r < repeats && t != NULL; ++r) {
    float *row = dw + (size_t)r * n;
    CHECK_OK(aihw_tile_set_weights(t, w0, SIZE, SIZE));
    CHECK_OK(aihw_tile_get_weights(t, start, SIZE, SIZE));
    CHECK_OK(aihw_tile_update(t, x, BATCH, SIZE, d, SIZE, lr));
    CHECK_OK(aihw_tile_get_weights(t, row, SIZE, SIZE));
    for (int e = 0; e < n; ++e)
      row[e] -= start[e];
  }
  for (int e = 0; e < n; ++e) {
    double s = 0, s2 = 0, s4 = 0;
    for (int r = 0; r < repeats; ++r)
      s += dw[(size_t)r * n + e];
    const double m = s / repeats;
    for (int r = 0; r < repeats; ++r) {
      const double c = dw[(size_t)r * n + e] - m;
      s2 += c * c;
      s4 += c * c * c * c;
    }
    mean[e] = m;
    var[e] = s2 / repeats;
    kurt[e] = var[e] > 0 ? s4 / repeats / (var[e] * var[e]) : 3.0;
  }
  aihw_tile_destroy(t);
  free(dw);
}

static int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Two-sample Kolmogorov-Smirnov distance; sorts a, b must be sorted. */
static double ks_distance(double *a, int na, const double *b, int nb) {
  qsort(a, (size_t)na, sizeof(double), compare_doubles);
  int i = 0, j = 0;
  double worst = 0;
  while (i < na && j < nb) {
    const double v = a[i] < b[j] ? a[i] : b[j];
    while (i < na && a[i] <= v)
      ++i;
    while (j < nb && b[j] <= v)
      ++j;
    worst = fmax(worst, fabs((double)i / na - (double)j / nb));
  }
  return worst;
}

static double *fixture_sorted(const cJSON *dist, int *count) {
  size_t n = 0;
  float *f = golden_floats(dist, "sorted", &n);
  double *v = malloc(sizeof(double) * (n ? n : 1));
  for (size_t k = 0; k < n; ++k)
    v[k] = f[k];
  free(f);
  *count = (int)n;
  return v;
}

static void pulsed_update_statistics_match_aihwkit(void) {
  cJSON *root = test_data_load("aihwkit", "update_stats.json");
  CHECK(golden_int(root, "size") == SIZE && golden_int(root, "batch") == BATCH);
  const float lr = (float)cJSON_GetObjectItemCaseSensitive(root, "lr")->valuedouble;
  const double e_min_fraction =
      cJSON_GetObjectItemCaseSensitive(root, "e_min_fraction")->valuedouble;
  const int repeats = golden_int(root, "repeats"), n = SIZE * SIZE;
  float *w0 = golden_floats(root, "W0", NULL), *x = golden_floats(root, "x", NULL);
  float *d = golden_floats(root, "d", NULL);
  double ideal[SIZE * SIZE], rms = 0;
  for (int i = 0; i < SIZE; ++i)
    for (int j = 0; j < SIZE; ++j) {
      double s = 0;
      for (int b = 0; b < BATCH; ++b)
        s += (double)d[b * SIZE + i] * x[b * SIZE + j];
      ideal[i * SIZE + j] = -lr * s;
      rms += ideal[i * SIZE + j] * ideal[i * SIZE + j];
    }
  rms = sqrt(rms / n);
  double *mean = malloc(sizeof(double) * MAX_TILES * n),
         *var = malloc(sizeof(double) * MAX_TILES * n);
  double *kurt = malloc(sizeof(double) * MAX_TILES * n);
  double *gain = malloc(sizeof(double) * MAX_TILES * n),
         *disp = malloc(sizeof(double) * MAX_TILES * n);
  const cJSON *rec;
  int records = 0;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(root, "records")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(rec, "device")->valuestring;
    const int no_dtod = strstr(name, "_no_dtod") != NULL;
    /* Without dtod one tile of R repetitions (aihw has no per-tile table to average). */
    const int tiles = no_dtod ? 1 : golden_int(rec, "tiles");
    CHECK(tiles <= MAX_TILES);
    const double dw_min = make_device(name, 1).dw_min;
    for (int t = 0; t < tiles; ++t) {
      const aihw_device_params dev = make_device(name, 1u + (uint32_t)t);
      repeat_update(&dev, 1u + (uint32_t)t, w0, x, d, lr, repeats, mean + (size_t)t * n,
                    var + (size_t)t * n, kurt + (size_t)t * n);
    }
    if (no_dtod) {
      float *am = golden_floats(rec, "mean_dW", NULL), *as = golden_floats(rec, "std_dW", NULL);
      double worst_m = 0, worst_s = 0;
      int bad = 0;
      for (int e = 0; e < n; ++e) {
        const double sa = sqrt(var[e]), sb = as[e], k1 = fmax(kurt[e] - 1.0, 0.0);
        const double se_m = sqrt((sa * sa + sb * sb) / repeats) + 1e-12;
        const double se_s = sqrt((sa * sa + sb * sb) * k1 / (4.0 * repeats)) + 1e-12;
        const double dm = fabs(mean[e] - am[e]), ds = fabs(sa - sb);
        worst_m = fmax(worst_m, dm / se_m);
        worst_s = fmax(worst_s, ds / se_s);
        if ((dm > 6.0 * se_m + 0.003 * fabs(am[e]) || ds > 6.0 * se_s + 0.003 * sb) &&
            bad++ < 3)
          fprintf(stderr, "  %s dW[%d][%d]: mean %.6g vs aihwkit %.6g, std %.6g vs %.6g\n",
                  name, e / SIZE, e % SIZE, mean[e], (double)am[e], sa, sb);
      }
      printf("     %-27s per weight: max |z| mean %.2f, std %.2f\n", name, worst_m, worst_s);
      CHECK(bad == 0);
      free(am);
      free(as);
    }
    /* Over devices: slope, gain and dispersion distributions. */
    double me = 0, ee = 0;
    int kept = 0;
    for (int t = 0; t < tiles; ++t)
      for (int e = 0; e < n; ++e) {
        const double m = mean[(size_t)t * n + e], v = var[(size_t)t * n + e], E = ideal[e];
        me += m * E;
        ee += E * E;
        if (fabs(E) >= e_min_fraction * rms) {
          gain[kept] = m / E;
          disp[kept] = v / (dw_min * fabs(E));
          ++kept;
        }
      }
    const double slope = me / ee;
    double res = 0;
    for (int t = 0; t < tiles; ++t)
      for (int e = 0; e < n; ++e) {
        const double r = mean[(size_t)t * n + e] - slope * ideal[e];
        res += ideal[e] * ideal[e] * r * r;
      }
    const double se_slope = sqrt(2.0) * sqrt(res) / ee;
    const cJSON *od = cJSON_GetObjectItemCaseSensitive(rec, "over_devices");
    const double their_slope = cJSON_GetObjectItemCaseSensitive(od, "slope")->valuedouble;
    int ng = 0, nd = 0;
    double *their_gain = fixture_sorted(cJSON_GetObjectItemCaseSensitive(od, "gain"), &ng);
    double *their_disp =
        fixture_sorted(cJSON_GetObjectItemCaseSensitive(od, "dispersion"), &nd);
    const double dg = ks_distance(gain, kept, their_gain, ng);
    const double dd = ks_distance(disp, kept, their_disp, nd);
    const double lg = 2.23 * sqrt(1.0 / kept + 1.0 / ng),
                 ld = 2.23 * sqrt(1.0 / kept + 1.0 / nd);
    printf("     %-27s slope %.4f vs aihwkit %.4f (z %+.1f); KS gain %.3f, dispersion %.3f "
           "(limit %.3f, %d vs %d devices)\n",
           name, slope, their_slope, (slope - their_slope) / se_slope, dg, dd, lg, kept, ng);
    CHECK(fabs(slope - their_slope) <= 6.0 * se_slope);
    CHECK(dg <= lg);
    CHECK(dd <= ld);
    free(their_gain);
    free(their_disp);
    ++records;
  }
  CHECK(records == 4);
  free(mean);
  free(var);
  free(kurt);
  free(gain);
  free(disp);
  free(w0);
  free(x);
  free(d);
  cJSON_Delete(root);
}

TEST_MAIN(TEST(pulsed_update_statistics_match_aihwkit))
