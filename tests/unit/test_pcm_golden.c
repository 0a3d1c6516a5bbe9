/* Golden and exactness tests of the inference physics (reference §6.5-§6.7):
 *   - pcm_functions.json: sigma_prog, mu_nu, sigma_nu and the drift factor bit for bit,
 *     Q_s within 1 ulp (torch's powf is 1 ulp off at some points), the read factor (a
 *     double) to the ulp; tests/data/golden/README.md gives the float32 recipe;
 *   - the libm-free logarithm and power of pcm_math.h against an 80-bit reference;
 *   - converter.json: SinglePair g+, g-, scale ratio and back-conversion bit for bit, also
 *     through aihw_inference_program with the programming noise scaled to 0;
 *   - N-pair and single-device conversions against values printed by aihwkit 1.1.0, and
 *     exact round trips on crafted (dyadic) matrices;
 *   - aihw_inference_program / aihw_inference_drift against a scalar re-computation from
 *     the physics functions and the scalar Philox definition, bit for bit, for every noise
 *     model and converter (the fast pair kernels included), and their argument checks.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/inference.h"
#include "core/philox.h"
#include "golden_util.h"
#include "inference/inference_internal.h"
#include "physics/converter_math.h"
#include "physics/pcm_math.h"
#include "test_util.h"

static const float pcm_coeff[3] = {0.26348f, 1.9650f, -1.1731f};

/* Distance in ulps between two floats of the same sign. */
static long ulps_apart(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, sizeof ia);
  memcpy(&ib, &b, sizeof ib);
  return labs((long)ia - (long)ib);
}

static long ulps_apart_double(double a, double b) {
  int64_t ia, ib;
  memcpy(&ia, &a, sizeof ia);
  memcpy(&ib, &b, sizeof ib);
  return (long)llabs(ia - ib);
}

static const cJSON *child(const cJSON *o, const char *key) {
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, key);
  if (c == NULL) {
    fprintf(stderr, "golden: no '%s'\n", key);
    exit(2);
  }
  return c;
}

/* ---- pcm_functions.json ----------------------------------------------------------- */

static void pcm_functions_of_g_match_aihwkit(void) {
  cJSON *root = golden_load("pcm_functions.json");
  size_t n = 0, m = 0;
  float *g = golden_floats(root, "g_grid_uS", &n);
  const cJSON *fog = child(root, "functions_of_g");
  float *sp = golden_floats(child(fog, "sigma_prog"), "f32_aihwkit", &m);
  float *mu = golden_floats(child(fog, "mu_nu"), "f32_aihwkit", NULL);
  float *sd = golden_floats(child(fog, "sigma_nu"), "f32_aihwkit", NULL);
  float *qs = golden_floats(child(fog, "Q_s"), "f32_aihwkit", NULL);
  CHECK(n == 25 && m == n);
  long qs_max_ulp = 0;
  int qs_exact = 0;
  for (size_t i = 0; i < n; ++i) {
    /* PCMLikeNoiseModel(): g_max 25, g_ref 25: factor (float)(25/25) = 1. */
    CHECK_FEQ(aihw_pcm_prog_sigma(pcm_coeff, 3, g[i], 25.0f, 1.0f), sp[i]);
    float mu_i, sd_i;
    aihw_pcm_nu_moments(g[i], 25.0f, &mu_i, &sd_i);
    CHECK_FEQ(mu_i, mu[i]);
    CHECK_FEQ(sd_i, sd[i]);
    float q = aihw_pcm_read_qs(g[i], 25.0f);
    long d = ulps_apart(q, qs[i]);
    qs_max_ulp = d > qs_max_ulp ? d : qs_max_ulp;
    qs_exact += d == 0;
  }
  CHECK(qs_max_ulp <= 1);
  printf("     Q_s: %d of %zu bit-exact, max %ld ulp (README: torch's powf is 1 ulp off)\n",
         qs_exact, n, qs_max_ulp);
  free(g);
  free(sp);
  free(mu);
  free(sd);
  free(qs);
  cJSON_Delete(root);
}

static void pcm_drift_and_read_factors_match_aihwkit(void) {
  cJSON *root = golden_load("pcm_functions.json");
  size_t n_nu = 0, n_t = 0, n_df = 0, n_rf = 0;
  float *nu = golden_floats(root, "nu_grid", &n_nu);
  const cJSON *t_json = child(root, "t_inference_s");
  float *t = golden_floats(root, "t_inference_s", &n_t);
  float *df = golden_floats(child(root, "drift_factor"), "f32_aihwkit", &n_df);
  const cJSON *rf_json = child(child(root, "read_factor"), "f64_aihwkit");
  CHECK(n_df == n_nu * n_t);
  long rf_max_ulp = 0;
  for (size_t i = 0; i < n_t; ++i) {
    double t_inf = cJSON_GetArrayItem(t_json, (int)i)->valuedouble;
    float base = aihw_pcm_drift_base(t_inf, 20.0);
    for (size_t k = 0; k < n_nu; ++k)
      CHECK_FEQ(aihw_pcm_drift_factor(base, nu[k]), df[i * n_nu + k]);
    /* aihwkit's t_read is the Python double 250e-9. */
    double rf = aihw_pcm_read_factor(t_inf, 20.0, 250e-9);
    double want = cJSON_GetArrayItem(rf_json, (int)i)->valuedouble;
    long d = ulps_apart_double(rf, want);
    rf_max_ulp = d > rf_max_ulp ? d : rf_max_ulp;
    ++n_rf;
  }
  CHECK(n_rf == 4);
  CHECK(rf_max_ulp <= 1);
  printf("     read factor: max %ld ulp (double) from numpy's\n", rf_max_ulp);
  free(nu);
  free(t);
  free(df);
  cJSON_Delete(root);
}

/* Float nearest the 80-bit value (the x87 long double carries 64 bits: the rounding to
 * float of its logl/powl is the correctly rounded float except within 2^-40 of a tie). */
static void log_and_pow_are_correctly_rounded(void) {
  long n = 0, log_diff = 0, pow_diff = 0, drift_diff = 0;
  for (uint32_t b = aihw_float_bits(1e-7f); b <= aihw_float_bits(4.0f); b += 97) {
    float x = aihw_bits_float(b);
    log_diff += aihw_pcm_logf(x) != (float)logl((long double)x);
    pow_diff += aihw_pcm_powf(x, 0.65f) != (float)powl((long double)x, 0.65L);
    ++n;
  }
  /* The drift factors of a year, a day and a second for nu in [1e-4, 2]. */
  const double t_inf[3] = {1.0, 86400.0, 31536000.0};
  for (int k = 0; k < 3; ++k) {
    float base = aihw_pcm_drift_base(t_inf[k], 20.0);
    for (uint32_t b = aihw_float_bits(1e-4f); b <= aihw_float_bits(2.0f); b += 211) {
      float nu = aihw_bits_float(b);
      drift_diff += aihw_pcm_drift_factor(base, nu) !=
                    (float)powl((long double)base, -(long double)nu);
    }
  }
  CHECK(log_diff == 0);
  CHECK(pow_diff == 0);
  CHECK(drift_diff == 0);
  printf("     %ld logf / powf arguments and %ld drift factors: all equal to the rounded "
         "80-bit values\n",
         n, 3 * (long)((aihw_float_bits(2.0f) - aihw_float_bits(1e-4f)) / 211 + 1));
}

static void exp_and_drift_factor_edges(void) {
  CHECK_FEQ(aihw_pcm_drift_factor(1.0f, 0.05f), 1.0f);
  CHECK_FEQ(aihw_pcm_drift_factor(2.0f, 0.0f), 1.0f);
  CHECK_FEQ(aihw_pcm_drift_factor(2.0f, -1.0f), 1.0f); /* negative nu clamps to 0 */
  CHECK_FEQ(aihw_pcm_drift_factor(2.0f, 1.0f), 0.5f);
  CHECK_FEQ(aihw_pcm_drift_factor(1.5e6f, 1e6f), 0.0f);   /* underflow to 0, no NaN */
  CHECK_FEQ(aihw_pcm_drift_factor(2.0f, INFINITY), 0.0f); /* clamped at 1e6 */
  CHECK_FEQ(aihw_pcm_drift_base(0.0, 20.0), 1.0f);
  CHECK_FEQ(aihw_pcm_read_qs(0.0f, 25.0f), 0.2f);
  CHECK_FEQ(aihw_pcm_read_qs(-25.0f, 25.0f), 0.0088f);
  CHECK_FEQ((float)aihw_pcm_exp(0.0), 1.0f);
  CHECK_FEQ(aihw_pcm_logf(1.0f), 0.0f);
}

/* ---- converter.json ----------------------------------------------------------------- */

static void single_pair_converter_matches_golden(void) {
  cJSON *root = golden_load("converter.json");
  const cJSON *rec;
  int records = 0;
  cJSON_ArrayForEach(rec, child(root, "records")) {
    const cJSON *conv = child(rec, "converter");
    aihw_converter_params cv = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_PAIR);
    cv.g_max = (float)child(conv, "g_max")->valuedouble;
    cv.g_min = (float)child(conv, "g_min")->valuedouble;
    size_t n = 0;
    float *w = golden_floats(rec, "W", &n);
    float *gp = golden_floats(rec, "g_plus", NULL);
    float *gm = golden_floats(rec, "g_minus", NULL);
    float *back = golden_floats(rec, "W_back", NULL);
    const int rows = cJSON_GetArraySize(child(rec, "W"));
    const int cols = (int)n / rows;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; ++i) {
      lo = fminf(lo, w[i]);
      hi = fmaxf(hi, w[i]);
    }
    aihw_conductance_map map = aihw_conductance_map_make(&cv, lo, hi);
    CHECK_FEQ(map.scale, (float)child(rec, "scale_ratio")->valuedouble);
    for (size_t i = 0; i < n; ++i) {
      float g[2];
      aihw_conductance_to_g(&map, w[i], g, 1);
      CHECK_FEQ(g[0], gp[i]);
      CHECK_FEQ(g[1], gm[i]);
      CHECK_FEQ(aihw_conductance_to_w(&map, g, 1), back[i]);
    }
    /* The array path: with prog_noise_scale 0 the programmed weights are the
     * back-converted targets (g_T + 0 xi = g_T, clamp inactive). */
    aihw_noise_model_params nm = aihw_noise_model_params_default(AIHW_NOISE_PCM_LIKE);
    nm.g_max = cv.g_max;
    nm.prog_noise_scale = 0.0f;
    float *w_prog = malloc(n * sizeof(float)), *nu = malloc(2 * n * sizeof(float));
    aihw_stream_key key = {1, 2, 3};
    CHECK_OK(aihw_inference_program(&nm, &cv, w, rows, cols, key, w_prog, nu));
    for (size_t i = 0; i < n; ++i)
      CHECK_FEQ(w_prog[i], back[i]);
    free(w_prog);
    free(nu);
    free(w);
    free(gp);
    free(gm);
    free(back);
    ++records;
  }
  CHECK(records == 9);
  cJSON_Delete(root);
}

/* ---- Other converters ------------------------------------------------------------------ */

/* torch.manual_seed(0); W = (torch.rand(3, 5) - 0.5) * 2; W[0, 0] = 0, converted by aihwkit
 * 1.1.0's NPairConductanceConverter([0.5, 2, 3], g_max=20, g_min=1) and
 * SingleDeviceConductanceConverter() (g_max 88.199997, g_min 9). */
static const float probe_w[15] = {
    0x0p0f,         0x1.12a8bcp-1f, -0x1.a5662cp-1f, -0x1.78cd00p-1f, -0x1.8a65e8p-2f,
    0x1.1297d8p-2f, -0x1.449e80p-6f, 0x1.95f59cp-1f, -0x1.6b7ee0p-4f, 0x1.0ef698p-2f,
    -0x1.357758p-2f, -0x1.9290e0p-3f, -0x1.e92370p-1f, -0x1.5316a4p-1f, -0x1.a61dd0p-2f};
static const float probe_npair_g[6][15] = {
    {1, 20, 1, 1, 1, 20, 1, 20, 1, 20, 1, 1, 1, 1, 1},
    {1, 1, 20, 20, 20, 1, 0x1.556864p2f, 1, 20, 1, 20, 20, 20, 20, 20},
    {1, 20, 1, 1, 1, 0x1.5d5092p3f, 1, 20, 1, 0x1.571c5ep3f, 1, 1, 1, 1, 1},
    {1, 1, 20, 20, 0x1.1509d0p4f, 1, 1, 1, 0x1.1a8550p0f, 1, 0x1.98ead0p3f, 0x1.c0095cp2f, 20,
     20, 0x1.2cb9b8p4f},
    {1, 0x1.2e792cp2f, 1, 1, 1, 1, 1, 0x1.c272dap3f, 1, 1, 1, 1, 1, 1, 1},
    {1, 1, 0x1.e5a216p3f, 0x1.800036p3f, 1, 1, 1, 1, 1, 1, 1, 1, 20, 0x1.2a0f80p3f, 1}};
static const float probe_npair_back[15] = {
    0x0p0f,         0x1.12a8bcp-1f, -0x1.a5662cp-1f, -0x1.78ccfep-1f, -0x1.8a65e8p-2f,
    0x1.1297d8p-2f, -0x1.449e80p-6f, 0x1.95f59cp-1f, -0x1.6b7ee0p-4f, 0x1.0ef698p-2f,
    -0x1.357758p-2f, -0x1.9290e0p-3f, -0x1.e92370p-1f, -0x1.5316a4p-1f, -0x1.a61dd0p-2f};
static const float probe_single_g[15] = {
    0x1.a23d46p5f, 0x1.325444p6f, 0x1.dfcc70p3f, 0x1.2f09a4p4f, 0x1.16a6a2p5f,
    0x1.01b676p6f, 0x1.9b0f00p5f, 0x1.60ccccp6f, 0x1.821398p5f, 0x1.011204p6f,
    0x1.34b5eep5f, 0x1.5affeep5f, 0x1.200000p3f, 0x1.646d6cp4f, 0x1.0cd732p5f};
static const float probe_single_back[15] = {
    0x1.000000p-24f, 0x1.12a8bcp-1f, -0x1.a5662cp-1f, -0x1.78cd00p-1f, -0x1.8a65e8p-2f,
    0x1.1297d8p-2f,  -0x1.449e80p-6f, 0x1.95f5a0p-1f, -0x1.6b7ee0p-4f, 0x1.0ef698p-2f,
    -0x1.357758p-2f, -0x1.9290d8p-3f, -0x1.e92370p-1f, -0x1.5316a4p-1f, -0x1.a61dd0p-2f};

static aihw_conductance_map map_of(const aihw_converter_params *cv, const float *w, int n) {
  float lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; ++i) {
    lo = fminf(lo, w[i]);
    hi = fmaxf(hi, w[i]);
  }
  return aihw_conductance_map_make(cv, lo, hi);
}

static void n_pair_and_single_device_match_aihwkit(void) {
  aihw_converter_params np = aihw_converter_params_default(AIHW_CONVERTER_N_PAIR);
  np.n_f = 3;
  np.f_lst[0] = 0.5f;
  np.f_lst[1] = 2.0f;
  np.f_lst[2] = 3.0f;
  np.g_max = 20.0f;
  np.g_min = 1.0f;
  aihw_conductance_map m = map_of(&np, probe_w, 15);
  CHECK_FEQ(m.scale, 0x1.b58964p+6f);
  for (int i = 0; i < 15; ++i) {
    float g[6];
    aihw_conductance_to_g(&m, probe_w[i], g, 1);
    for (int s = 0; s < 6; ++s)
      CHECK_FEQ(g[s], probe_npair_g[s][i]);
    CHECK_FEQ(aihw_conductance_to_w(&m, g, 1), probe_npair_back[i]);
  }
  aihw_converter_params sd = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_DEVICE);
  m = map_of(&sd, probe_w, 15);
  CHECK_FEQ(m.scale, 0x1.6a6c0ap+5f);
  CHECK_FEQ(m.w_min, -0x1.e92370p-1f);
  for (int i = 0; i < 15; ++i) {
    float g;
    aihw_conductance_to_g(&m, probe_w[i], &g, 1);
    CHECK_FEQ(g, probe_single_g[i]);
    CHECK_FEQ(aihw_conductance_to_w(&m, &g, 1), probe_single_back[i]);
  }
}

/* Weights k/8 with max|W| = 1: every product, quotient and sum below is exact. */
static void dyadic_matrices_round_trip_exactly(void) {
  float w[17];
  for (int k = 0; k < 17; ++k)
    w[k] = (float)(k - 8) / 8.0f;
  aihw_converter_params dual = aihw_converter_params_default(AIHW_CONVERTER_DUAL_PAIR);
  dual.f_lst[0] = 1.0f;
  dual.f_lst[1] = 4.0f; /* r = 125 uS: W r = 15.625 k */
  aihw_converter_params npair = aihw_converter_params_default(AIHW_CONVERTER_N_PAIR);
  npair.n_f = 3;
  npair.f_lst[0] = 1.0f;
  npair.f_lst[1] = 2.0f;
  npair.f_lst[2] = 0.5f; /* r = 3.5 * 24 = 84 uS with g_min 1 */
  npair.g_min = 1.0f;
  aihw_converter_params single = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_DEVICE);
  single.g_min = 8.0f;
  single.g_max = 72.0f; /* r = 64 / 2 = 32 uS */
  const aihw_converter_params *cvs[3] = {&dual, &npair, &single};
  for (int c = 0; c < 3; ++c) {
    aihw_conductance_map m = map_of(cvs[c], w, 17);
    for (int k = 0; k < 17; ++k) {
      float g[AIHW_INFERENCE_MAX_PAIRS * 2];
      aihw_conductance_to_g(&m, w[k], g, 1);
      for (int s = 0; s < m.n_slices; ++s)
        CHECK(g[s] >= m.g_min && g[s] <= m.g_max);
      for (int p = 0; p < m.n_pairs; ++p) /* one device of each pair at g_min */
        CHECK(g[2 * p] == m.g_min || g[2 * p + 1] == m.g_min);
      CHECK_FEQ(aihw_conductance_to_w(&m, g, 1), w[k]);
    }
  }
  /* DualPair [1, 4]: W = 1 -> 125 uS = 25 on the first pair + 4 * 25 on the second. */
  aihw_conductance_map m = map_of(&dual, w, 17);
  float g[4];
  aihw_conductance_to_g(&m, 1.0f, g, 1);
  CHECK(g[0] == 25.0f && g[1] == 0.0f && g[2] == 25.0f && g[3] == 0.0f);
  aihw_conductance_to_g(&m, -0.25f, g, 1); /* -31.25 uS: 25 + 4 * 1.5625 */
  CHECK(g[0] == 0.0f && g[1] == 25.0f && g[2] == 0.0f && g[3] == 1.5625f);
  CHECK_EQ_SLICES : (void)0;
}
