/* Inference drift tables match aihwkit 1.1.0 statistically
 * (tests/data/aihwkit/drift_table.json, produced by scripts/aihwkit/crosscheck_drift.py):
 * a 128 x 256 INFERENCE tile (InferenceRPUConfig defaults: PCMLikeNoiseModel,
 * SinglePairConductanceConverter, GlobalDriftCompensation) with closed-form weights W
 * (Weyl sequence on U(-0.5, 0.5)) is programmed once per repeat and drifted to each
 * t_inference in {0, 1 s, 1 min, 1 h, 1 day, 30 days, 1 year}; per repeat and t we record the
 * drift shrink factor mean(W_drift / W) over |W| > 0.1, the effective noise std(W_drift -
 * shrink W) / max|W|, the global compensation factor alpha and the relative error of the
 * compensated evaluation forward of a fixed batch, with forward IOParameters() defaults and
 * with is_perfect. Each table entry (mean over the fixture's R = 200 repeats; aihw uses the
 * same R, tile seed program_seed + r) is compared with aihwkit's.
 *
 * Tolerance: the means of two independent sets of repeats differ with standard error
 * SE = sqrt(s_a^2 / R_a + s_b^2 / R_b) (s: the std over repeats of each side). We require
 * |difference| <= 6 SE at each of the 2 x 4 x 7 = 56 entries (under the null hypothesis
 * the chance of any |z| > 6 is ~1e-7). No allowance for aihwkit's Gaussian table is
 * needed: the programming and drift noise are torch draws, and the forward noise of
 * io_default comes from R tiles (R tables). Both io settings use the same tile seeds, so
 * their shrink and noise rows are the same draws (as in the fixture, same torch seeds). */
#include <cjson/cJSON.h>

#include "aihw/aihw.h"
#include "golden_util.h"
#include "test_util.h"

#define OUT 128
#define IN 256
#define BATCH 64
#define MAX_T 16
#define N_QUANTITIES 4

static const char *const quantity_names[N_QUANTITIES] = {"shrink", "noise", "alpha",
                                                         "rel_error"};

/* The fixture's closed-form data: frac in float64, then rounded to float32. */
static float weyl(int k, double step) {
  const double v = (double)k * step;
  return (float)(v - floor(v));
}

/* Runs the recipe for one io setting; values[r][t][q] receives the per-repeat quantities. */
static void run_setting(const aihw_io_params *io, int repeats, int program_seed,
                        const float *t_s, int n_t, const float *w, const float *x,
                        double *values) {
  double exact[BATCH * OUT], exact_norm = 0, w_max = 0;
  for (int b = 0; b < BATCH; ++b)
    for (int i = 0; i < OUT; ++i) {
      double s = 0;
      for (int j = 0; j < IN; ++j)
        s += (double)x[b * IN + j] * w[i * IN + j];
      exact[b * OUT + i] = s;
      exact_norm += s * s;
    }
  exact_norm = sqrt(exact_norm);
  for (int k = 0; k < OUT * IN; ++k)
    w_max = fmax(w_max, fabs((double)w[k]));
  float *wd = malloc(sizeof(float) * OUT * IN), y[BATCH * OUT], alpha[OUT];
  for (int r = 0; r < repeats; ++r) {
    aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_INFERENCE);
    cfg.forward = *io;
    cfg.seed = (uint32_t)(program_seed + r);
    aihw_tile *tile = NULL;
    CHECK_OK(aihw_tile_create(&cfg, OUT, IN, &tile));
    if (tile == NULL)
      break;
    CHECK_OK(aihw_tile_set_weights(tile, w, OUT, IN));
    CHECK_OK(aihw_tile_program_weights(tile));
    for (int k = 0; k < n_t; ++k) {
      CHECK_OK(aihw_tile_drift_to(tile, t_s[k]));
      CHECK_OK(aihw_tile_get_weights(tile, wd, OUT, IN));
      CHECK_OK(aihw_tile_get_drift_alpha(tile, alpha, OUT));
      CHECK_OK(aihw_tile_forward(tile, x, BATCH, IN, y, OUT));
      double ratio = 0, s = 0, s2 = 0, err = 0;
      int n = 0;
      for (int e = 0; e < OUT * IN; ++e)
        if (fabs((double)w[e]) > 0.1) {
          ratio += (double)wd[e] / w[e];
          ++n;
        }
      const double shrink = ratio / n;
      for (int e = 0; e < OUT * IN; ++e) {
        const double dev = wd[e] - shrink * w[e];
        s += dev;
        s2 += dev * dev;
      }
      const double mean_dev = s / (OUT * IN);
      for (int e = 0; e < BATCH * OUT; ++e)
        err += (y[e] - exact[e]) * (y[e] - exact[e]);
      double *v = values + ((size_t)r * n_t + k) * N_QUANTITIES;
      v[0] = shrink;
      v[1] = sqrt(fmax(s2 / (OUT * IN) - mean_dev * mean_dev, 0.0)) / w_max;
      v[2] = alpha[0];
      v[3] = sqrt(err) / exact_norm;
    }
    aihw_tile_destroy(tile);
  }
  free(wd);
}

static void drift_tables_match_aihwkit(void) {
  cJSON *root = test_data_load("aihwkit", "drift_table.json");
  CHECK(golden_int(root, "out_size") == OUT && golden_int(root, "in_size") == IN &&
        golden_int(root, "batch") == BATCH);
  const int repeats = golden_int(root, "repeats"),
            program_seed = golden_int(root, "program_seed");
  const double w_step = cJSON_GetObjectItemCaseSensitive(root, "w_step")->valuedouble;
  const double x_step = cJSON_GetObjectItemCaseSensitive(root, "x_step")->valuedouble;
  size_t n_t = 0;
  float *t_s = golden_floats(root, "t_inference_s", &n_t);
  CHECK(n_t <= MAX_T);
  float *w = malloc(sizeof(float) * OUT * IN), *x = malloc(sizeof(float) * BATCH * IN);
  for (int k = 0; k < OUT * IN; ++k)
    w[k] = weyl(k + 1, w_step) - 0.5f;
  for (int k = 0; k < BATCH * IN; ++k)
    x[k] = 2.0f * weyl(k + 1, x_step) - 1.0f;
  double *values = malloc(sizeof(double) * (size_t)repeats * n_t * N_QUANTITIES);
  const cJSON *tables = cJSON_GetObjectItemCaseSensitive(root, "tables");
  const char *settings[2] = {"io_default", "io_perfect"};
  for (int si = 0; si < 2; ++si) {
    aihw_io_params io = aihw_io_params_default();
    io.is_perfect = si == 1;
    run_setting(&io, repeats, program_seed, t_s, (int)n_t, w, x, values);
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(tables, settings[si]);
    for (int q = 0; q < N_QUANTITIES; ++q) {
      const cJSON *entry = cJSON_GetObjectItemCaseSensitive(table, quantity_names[q]);
      float *am = golden_floats(entry, "mean", NULL), *as = golden_floats(entry, "std", NULL);
      double worst = 0;
      for (size_t k = 0; k < n_t; ++k) {
        double s = 0, s2 = 0;
        for (int r = 0; r < repeats; ++r) {
          const double v = values[((size_t)r * n_t + k) * N_QUANTITIES + (size_t)q];
          s += v;
          s2 += v * v;
        }
        const double mean = s / repeats, sd = sqrt(fmax(s2 / repeats - mean * mean, 0.0));
        const double se = sqrt((sd * sd + (double)as[k] * as[k]) / repeats) + 1e-9;
        const double z = (mean - am[k]) / se;
        worst = fmax(worst, fabs(z));
        printf("     %-10s %-9s t=%-9g aihw %.5f +- %.5f  aihwkit %.5f +- %.5f  z %+.1f\n",
               settings[si], quantity_names[q], (double)t_s[k], mean, sd, (double)am[k],
               (double)as[k], z);
        CHECK(fabs(z) <= 6.0);
      }
      printf("     %-10s %-9s max |z| %.2f\n", settings[si], quantity_names[q], worst);
      free(am);
      free(as);
    }
  }
  free(values);
  free(w);
  free(x);
  free(t_s);
  cJSON_Delete(root);
}

TEST_MAIN(TEST(drift_tables_match_aihwkit))
