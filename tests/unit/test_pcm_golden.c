/* Golden and exactness tests of the inference physics (reference §6.5-§6.7):
 *   - pcm_functions.json: sigma_prog, mu_nu, sigma_nu and the drift factor bit for bit,
 *     Q_s within 1 ulp (torch's powf is 1 ulp off at some points), the read factor (a
 *     double) to the ulp; tests/data/golden/README.md gives the float32 recipe;
 *   - the libm-free logarithm and power of pcm_math.h against an 80-bit reference;
 *   - converter.json: SinglePair g+, g-, scale ratio and back-conversion bit for bit, also
 *     through aihw_inference_program with the programming noise scaled to 0;
 *   - N-pair, custom-pair and single-device conversions against values printed by aihwkit
 *     1.1.0, and exact round trips on crafted (dyadic) matrices;
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
  for (uint32_t b = aihw_float_bits(1e-7f); b <= aihw_float_bits(4.0f); b += 211) {
    float x = aihw_bits_float(b);
    log_diff += aihw_pcm_logf(x) != (float)logl((long double)x);
    pow_diff += aihw_pcm_powf(x, 0.65f) != (float)powl((long double)x, (long double)0.65f);
    ++n;
  }
  /* The drift factors of a year, a day and a second for nu in [1e-4, 2]. */
  const double t_inf[3] = {1.0, 86400.0, 31536000.0};
  for (int k = 0; k < 3; ++k) {
    float base = aihw_pcm_drift_base(t_inf[k], 20.0);
    for (uint32_t b = aihw_float_bits(1e-4f); b <= aihw_float_bits(2.0f); b += 421) {
      float nu = aihw_bits_float(b);
      drift_diff +=
          aihw_pcm_drift_factor(base, nu) != (float)powl((long double)base, -(long double)nu);
    }
  }
  CHECK(log_diff == 0);
  CHECK(pow_diff == 0);
  CHECK(drift_diff == 0);
  printf("     %ld logf / powf arguments and %ld drift factors: all equal to the rounded "
         "80-bit values\n",
         n, 3 * (long)((aihw_float_bits(2.0f) - aihw_float_bits(1e-4f)) / 421 + 1));
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
      float g[16] = {0};
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
 * 1.1.0's NPairConductanceConverter([0.5, 2, 3], g_max=20, g_min=1),
 * SingleDeviceConductanceConverter() (g_max 88.199997, g_min 9) and
 * CustomPairConductanceConverter([1], [[0, 0, 0, 0, 8, 16, 24], [24, 16, 8, 0, 0, 0, 0]]). */
static const float probe_w[15] = {
    0x0p0f,          0x1.12a8bcp-1f,  -0x1.a5662cp-1f, -0x1.78cd00p-1f, -0x1.8a65e8p-2f,
    0x1.1297d8p-2f,  -0x1.449e80p-6f, 0x1.95f59cp-1f,  -0x1.6b7ee0p-4f, 0x1.0ef698p-2f,
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
    0x0p0f,          0x1.12a8bcp-1f,  -0x1.a5662cp-1f, -0x1.78ccfep-1f, -0x1.8a65e8p-2f,
    0x1.1297d8p-2f,  -0x1.449e80p-6f, 0x1.95f59cp-1f,  -0x1.6b7ee0p-4f, 0x1.0ef698p-2f,
    -0x1.357758p-2f, -0x1.9290e0p-3f, -0x1.e92370p-1f, -0x1.5316a4p-1f, -0x1.a61dd0p-2f};
static const float probe_single_g[15] = {
    0x1.a23d46p5f, 0x1.325444p6f, 0x1.dfcc70p3f, 0x1.2f09a4p4f, 0x1.16a6a2p5f,
    0x1.01b676p6f, 0x1.9b0f00p5f, 0x1.60ccccp6f, 0x1.821398p5f, 0x1.011204p6f,
    0x1.34b5eep5f, 0x1.5affeep5f, 0x1.200000p3f, 0x1.646d6cp4f, 0x1.0cd732p5f};
static const float probe_single_back[15] = {
    0x1.000000p-24f, 0x1.12a8bcp-1f,  -0x1.a5662cp-1f, -0x1.78cd00p-1f, -0x1.8a65e8p-2f,
    0x1.1297d8p-2f,  -0x1.449e80p-6f, 0x1.95f5a0p-1f,  -0x1.6b7ee0p-4f, 0x1.0ef698p-2f,
    -0x1.357758p-2f, -0x1.9290d8p-3f, -0x1.e92370p-1f, -0x1.5316a4p-1f, -0x1.a61dd0p-2f};

static const float probe_custom_g[2][15] = {
    {0, 0x1.af3e90p3f, 0, 0, 0, 0x1.af240cp2f, 0, 0x1.3eb332p4f, 0, 0x1.a97106p2f, 0, 0, 0, 0,
     0},
    {0, 0, 0x1.4ad22cp4f, 0x1.27cf14p4f, 0x1.359facp3f, 0, 0x1.fdafe0p-2f, 0, 0x1.1d5d16p1f, 0,
     0x1.e5e52ep2f, 0x1.3c0932p2f, 0x1.800000p4f, 0x1.0a33e2p4f, 0x1.4b6258p3f}};
static const float probe_custom_back[15] = {
    0x0p0f,          0x1.12a8bcp-1f,  -0x1.a5662cp-1f, -0x1.78cd00p-1f, -0x1.8a65e8p-2f,
    0x1.1297d8p-2f,  -0x1.449e80p-6f, 0x1.95f59ap-1f,  -0x1.6b7ee0p-4f, 0x1.0ef698p-2f,
    -0x1.357758p-2f, -0x1.9290e0p-3f, -0x1.e92370p-1f, -0x1.5316a2p-1f, -0x1.a61dd0p-2f};

static aihw_conductance_map map_of(const aihw_converter_params *cv, const float *w, int n) {
  float lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; ++i) {
    lo = fminf(lo, w[i]);
    hi = fmaxf(hi, w[i]);
  }
  return aihw_conductance_map_make(cv, lo, hi);
}

static void n_pair_custom_pair_and_single_device_match_aihwkit(void) {
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
    float g[16] = {0};
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
    float g[16] = {0};
    aihw_conductance_to_g(&m, probe_w[i], g, 1);
    CHECK_FEQ(g[0], probe_single_g[i]);
    CHECK_FEQ(aihw_conductance_to_w(&m, g, 1), probe_single_back[i]);
  }
  aihw_converter_params cp = aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR);
  const float table[14] = {0, 0, 0, 0, 8, 16, 24, 24, 16, 8, 0, 0, 0, 0};
  cp.n_f = 1;
  cp.f_lst[0] = 1.0f;
  cp.n_g = 14;
  memcpy(cp.g_lst, table, sizeof table);
  m = map_of(&cp, probe_w, 15);
  CHECK_FEQ(m.scale, 0x1.91f294p+4f);
  for (int i = 0; i < 15; ++i) {
    float g[16] = {0};
    aihw_conductance_to_g(&m, probe_w[i], g, 1);
    CHECK_FEQ(g[0], probe_custom_g[0][i]);
    CHECK_FEQ(g[1], probe_custom_g[1][i]);
    CHECK_FEQ(aihw_conductance_to_w(&m, g, 1), probe_custom_back[i]);
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
      float g[AIHW_INFERENCE_MAX_PAIRS * 2] = {0};
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
  float g[16] = {0};
  aihw_conductance_to_g(&m, 1.0f, g, 1);
  CHECK(g[0] == 25.0f && g[1] == 0.0f && g[2] == 25.0f && g[3] == 0.0f);
  aihw_conductance_to_g(&m, -0.25f, g, 1); /* -31.25 uS: 25 + 4 * 1.5625 */
  CHECK(g[0] == 0.0f && g[1] == 25.0f && g[2] == 0.0f && g[3] == 1.5625f);
}

/* ---- Array calls against a scalar re-computation ------------------------------------ */

static float normal_at(aihw_stream_key key, uint32_t purpose, int round, int64_t row,
                       int64_t col) {
  aihw_rng_stream s =
      aihw_rng_stream_make(key.seed, key.tile_id, key.op, purpose, (uint32_t)round);
  float v[4];
  aihw_rng_normal4(&s, (uint32_t)row, (uint32_t)(col / 4), v);
  return v[col % 4];
}

static float prog_factor(const aihw_noise_model_params *nm) {
  return nm->type == AIHW_NOISE_STATE_INDEPENDENT
             ? 1.0f
             : (float)((double)nm->g_max / (double)nm->prog_coeff_g_max_reference);
}

static void nu_moments_reference(const aihw_noise_model_params *nm, float g, float *mu,
                                 float *sd) {
  if (nm->type == AIHW_NOISE_PCM_LIKE) {
    aihw_pcm_nu_moments(g, nm->g_max, mu, sd);
  } else if (nm->type == AIHW_NOISE_STATE_INDEPENDENT) {
    *mu = nm->drift_nu_mean;
    *sd = nm->drift_nu_std;
  } else {
    double tg[AIHW_INFERENCE_MAX_TABLE], tm[AIHW_INFERENCE_MAX_TABLE];
    double ts[AIHW_INFERENCE_MAX_TABLE], sm[AIHW_INFERENCE_MAX_TABLE];
    double ss[AIHW_INFERENCE_MAX_TABLE];
    for (int k = 0; k < nm->n_custom; ++k) {
      tg[k] = nm->custom_g[k];
      tm[k] = nm->custom_nu_mean[k];
      ts[k] = nm->custom_nu_std[k];
    }
    aihw_interp_slopes(tg, tm, nm->n_custom, sm);
    aihw_interp_slopes(tg, ts, nm->n_custom, ss);
    aihw_pcm_nu_moments_table(g, tg, tm, sm, ts, ss, nm->n_custom, mu, sd);
  }
}

/* The specification of aihw_inference_program, one element at a time. */
static void program_reference(const aihw_noise_model_params *nm,
                              const aihw_converter_params *cv, const float *w, int64_t rows,
                              int64_t cols, aihw_stream_key key, float *w_prog, float *nu) {
  aihw_conductance_map m = map_of(cv, w, (int)(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      float g[16] = {0}, gp[16] = {0};
      aihw_conductance_to_g(&m, w[i * cols + j], g, 1);
      for (int s = 0; s < m.n_slices; ++s) {
        float sigma = aihw_pcm_prog_sigma(nm->prog_coeff, nm->n_prog_coeff, g[s], nm->g_max,
                                          prog_factor(nm));
        gp[s] = aihw_pcm_program(g[s], sigma, nm->prog_noise_scale,
                                 normal_at(key, AIHW_RNG_PROGRAM, 2 * s, i, j));
        float mu, sd;
        nu_moments_reference(nm, g[s], &mu, &sd);
        nu[(s * rows + i) * cols + j] = aihw_pcm_nu(
            mu, sd, normal_at(key, AIHW_RNG_PROGRAM, 2 * s + 1, i, j), nm->drift_scale);
      }
      w_prog[i * cols + j] = aihw_conductance_to_w(&m, gp, 1);
    }
}

/* The specification of aihw_inference_drift, one element at a time. */
static void drift_reference(const aihw_noise_model_params *nm, const aihw_converter_params *cv,
                            const float *w_prog, const float *nu, int64_t rows, int64_t cols,
                            float t_inference, aihw_stream_key key, float *w_out) {
  aihw_conductance_map m = map_of(cv, w_prog, (int)(rows * cols));
  float base = aihw_pcm_drift_base(t_inference, nm->t_0);
  float rf = (float)aihw_pcm_read_factor(t_inference, nm->t_0, nm->t_read);
  int pairs =
      cv->type != AIHW_CONVERTER_CUSTOM_PAIR && cv->type != AIHW_CONVERTER_SINGLE_DEVICE;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      float g[16] = {0}, gf[16] = {0};
      int round[16];
      aihw_conductance_to_g(&m, w_prog[i * cols + j], g, 1);
      for (int s = 0; s < m.n_slices; ++s)
        round[s] = s;
      for (int k = 0; pairs && k < m.n_pairs; ++k)
        if (g[2 * k] == m.g_min && g[2 * k + 1] != m.g_min) { /* g- is "on" */
          round[2 * k] = 2 * k + 1;
          round[2 * k + 1] = 2 * k;
        }
      for (int s = 0; s < m.n_slices; ++s) {
        float n_s = nu[(s * rows + i) * cols + j];
        float df = base != 1.0f ? aihw_pcm_drift_factor(base, n_s) : 1.0f;
        float xi = normal_at(key, AIHW_RNG_DRIFT_READ, round[s], i, j);
        gf[s] =
            nm->type == AIHW_NOISE_STATE_INDEPENDENT
                ? aihw_state_independent_read(g[s], df, nm->g_max, rf, nm->read_noise_scale, xi)
                : aihw_pcm_read(g[s], df, aihw_pcm_read_qs(g[s], nm->g_max) * rf,
                                nm->read_noise_scale, xi);
      }
      w_out[i * cols + j] = aihw_conductance_to_w(&m, gf, 1);
    }
}

static aihw_noise_model_params model_of(aihw_noise_model_type type, float g_max) {
  aihw_noise_model_params nm = aihw_noise_model_params_default(type);
  nm.g_max = g_max;
  if (type == AIHW_NOISE_CUSTOM_DRIFT_PCM) { /* a table spanning every converter below */
    const float g[4] = {0.0f, 10.0f, 30.0f, 100.0f}, mu[4] = {0.1f, 0.06f, 0.05f, 0.04f};
    const float sd[4] = {0.04f, 0.02f, 0.01f, 0.005f};
    nm.n_custom = 4;
    memcpy(nm.custom_g, g, sizeof g);
    memcpy(nm.custom_nu_mean, mu, sizeof mu);
    memcpy(nm.custom_nu_std, sd, sizeof sd);
  }
  return nm;
}

static int compare_bits(const float *a, const float *b, int64_t n) {
  int64_t diff = 0;
  for (int64_t k = 0; k < n; ++k)
    diff += memcmp(&a[k], &b[k], sizeof(float)) != 0 && !(a[k] == b[k]);
  return diff == 0;
}

/* rows x cols with a few exact zeros, crossing the kernels' chunk boundaries; with
 * rows x cols >= 16384 the calls run threaded. */
static void check_against_reference(aihw_noise_model_type type, const aihw_converter_params *cv,
                                    int64_t rows, int64_t cols, float t_inference) {
  const int64_t n = rows * cols;
  const int slices = aihw_converter_slices(cv);
  aihw_noise_model_params nm = model_of(type, cv->g_max);
  float *w = malloc((size_t)n * sizeof(float));
  float *wp = malloc((size_t)n * sizeof(float)), *wp_ref = malloc((size_t)n * sizeof(float));
  float *nu = malloc((size_t)(slices * n) * sizeof(float));
  float *nu_ref = malloc((size_t)(slices * n) * sizeof(float));
  float *wd = malloc((size_t)n * sizeof(float)), *wd_ref = malloc((size_t)n * sizeof(float));
  uint32_t state = 12345u;
  for (int64_t k = 0; k < n; ++k) {
    state = state * 1664525u + 1013904223u;
    w[k] = k % 37 == 5 ? 0.0f : ((float)(state >> 8) * 0x1p-24f - 0.5f) * 0.8f;
  }
  aihw_stream_key key = {7u, 3u, 41u};
  CHECK_OK(aihw_inference_program(&nm, cv, w, rows, cols, key, wp, nu));
  program_reference(&nm, cv, w, rows, cols, key, wp_ref, nu_ref);
  int ok_prog = compare_bits(wp, wp_ref, n) && compare_bits(nu, nu_ref, slices * n);
  key.op = 42u;
  CHECK_OK(aihw_inference_drift(&nm, cv, wp, nu, rows, cols, t_inference, key, wd));
  drift_reference(&nm, cv, wp, nu, rows, cols, t_inference, key, wd_ref);
  int ok_drift = compare_bits(wd, wd_ref, n);
  if (!ok_prog || !ok_drift)
    fprintf(stderr, "  noise model %d, converter %d (g_min %g), %lld x %lld, t %g: %s\n",
            (int)type, (int)cv->type, (double)cv->g_min, (long long)rows, (long long)cols,
            (double)t_inference, !ok_prog ? "programming differs" : "drift differs");
  CHECK(ok_prog);
  CHECK(ok_drift);
  free(w);
  free(wp);
  free(wp_ref);
  free(nu);
  free(nu_ref);
  free(wd);
  free(wd_ref);
}

static void program_and_drift_equal_scalar_specification(void) {
  aihw_converter_params cvs[7];
  cvs[0] = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_PAIR);
  cvs[1] = cvs[0];
  cvs[1].g_min = 2.0f; /* the generic drift kernel */
  cvs[2] = aihw_converter_params_default(AIHW_CONVERTER_DUAL_PAIR);
  cvs[3] = aihw_converter_params_default(AIHW_CONVERTER_N_PAIR);
  cvs[4] = cvs[3];
  cvs[4].g_min = 1.0f;
  cvs[5] = aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR);
  cvs[6] = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_DEVICE);
  const aihw_noise_model_type types[3] = {AIHW_NOISE_PCM_LIKE, AIHW_NOISE_STATE_INDEPENDENT,
                                          AIHW_NOISE_CUSTOM_DRIFT_PCM};
  for (int t = 0; t < 3; ++t)
    for (int c = 0; c < 7; ++c) {
      check_against_reference(types[t], &cvs[c], 3, 403, 3600.0f);
      check_against_reference(types[t], &cvs[c], 2, 7, 0.0f);
    }
  /* Threaded (64 x 400 >= 16384 weights), every chunk path. */
  check_against_reference(AIHW_NOISE_PCM_LIKE, &cvs[0], 64, 400, 1e5f);
  check_against_reference(AIHW_NOISE_PCM_LIKE, &cvs[4], 64, 400, 1e5f);
  check_against_reference(AIHW_NOISE_PCM_LIKE, &cvs[6], 64, 400, 1e5f);
}

/* w_prog may be w_target and w_out may be w_prog (NPair: several pairs read the weights). */
static void in_place_calls_equal_out_of_place(void) {
  aihw_noise_model_params nm = model_of(AIHW_NOISE_PCM_LIKE, 25.0f);
  aihw_converter_params cvs[3] = {aihw_converter_params_default(AIHW_CONVERTER_N_PAIR),
                                  aihw_converter_params_default(AIHW_CONVERTER_SINGLE_PAIR),
                                  aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR)};
  enum { R = 3, C = 500 };
  static float w[R * C], wp[R * C], wd[R * C], inplace[R * C], nu[6 * R * C];
  for (int k = 0; k < R * C; ++k)
    w[k] = (float)((k * 7919) % 1001 - 500) / 500.0f;
  for (int c = 0; c < 3; ++c) {
    aihw_stream_key key = {5u, 6u, 7u};
    CHECK_OK(aihw_inference_program(&nm, &cvs[c], w, R, C, key, wp, nu));
    memcpy(inplace, w, sizeof w);
    CHECK_OK(aihw_inference_program(&nm, &cvs[c], inplace, R, C, key, inplace, nu));
    CHECK(memcmp(inplace, wp, sizeof wp) == 0);
    CHECK_OK(aihw_inference_drift(&nm, &cvs[c], wp, nu, R, C, 1e4f, key, wd));
    CHECK_OK(aihw_inference_drift(&nm, &cvs[c], inplace, nu, R, C, 1e4f, key, inplace));
    CHECK(memcmp(inplace, wd, sizeof wd) == 0);
  }
}

static void none_model_copies_and_zeroes_nu(void) {
  aihw_noise_model_params nm = aihw_noise_model_params_default(AIHW_NOISE_NONE);
  aihw_converter_params cv = aihw_converter_params_default(AIHW_CONVERTER_DUAL_PAIR);
  float w[6] = {0.5f, -0.25f, 0.0f, 1.0f, -1.0f, 0.125f}, wp[6], nu[4 * 6], wd[6];
  memset(nu, 0xff, sizeof nu);
  aihw_stream_key key = {1, 1, 1};
  CHECK_OK(aihw_inference_program(&nm, &cv, w, 2, 3, key, wp, nu));
  CHECK_OK(aihw_inference_drift(&nm, &cv, wp, nu, 2, 3, 1e6f, key, wd));
  for (int k = 0; k < 6; ++k) {
    CHECK_FEQ(wp[k], w[k]);
    CHECK_FEQ(wd[k], w[k]);
  }
  for (int k = 0; k < 24; ++k)
    CHECK_FEQ(nu[k], 0.0f);
}

static void general_polynomial_and_reference_conductance(void) {
  /* Five coefficients and g_ref 50 with g_max 25: sigma = poly * 0.5. */
  aihw_noise_model_params nm = aihw_noise_model_params_default(AIHW_NOISE_PCM_LIKE);
  const float c5[5] = {0.3f, 1.0f, -0.5f, 0.25f, 0.125f};
  nm.n_prog_coeff = 5;
  memcpy(nm.prog_coeff, c5, sizeof c5);
  nm.prog_coeff_g_max_reference = 50.0f;
  aihw_converter_params cv = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_PAIR);
  float w[8] = {0.5f, -0.25f, 0.0f, 1.0f, -1.0f, 0.125f, 0.75f, -0.5f};
  float wp[8], wp_ref[8], nu[16], nu_ref[16];
  aihw_stream_key key = {9, 8, 7};
  CHECK_OK(aihw_inference_program(&nm, &cv, w, 2, 4, key, wp, nu));
  program_reference(&nm, &cv, w, 2, 4, key, wp_ref, nu_ref);
  CHECK(compare_bits(wp, wp_ref, 8) && compare_bits(nu, nu_ref, 16));
  float r = 0.5f; /* g = 12.5: r = 0.5 */
  float want = (((0.3f + r * 1.0f) + (r * r) * -0.5f) + ((r * r) * r) * 0.25f) +
               (((r * r) * r) * r) * 0.125f;
  CHECK_FEQ(aihw_pcm_prog_sigma(c5, 5, 12.5f, 25.0f, 0.5f), want * 0.5f);
}

static void arguments_are_checked(void) {
  aihw_noise_model_params nm = aihw_noise_model_params_default(AIHW_NOISE_PCM_LIKE);
  aihw_converter_params cv = aihw_converter_params_default(AIHW_CONVERTER_SINGLE_PAIR);
  float w[4] = {0.5f, -0.5f, 0.25f, 1.0f}, wp[4], nu[8], wd[4];
  aihw_stream_key key = {1, 2, 3};
  CHECK_STATUS(aihw_inference_program(NULL, &cv, w, 2, 2, key, wp, nu),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_inference_program(&nm, &cv, NULL, 2, 2, key, wp, nu),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("w_target");
  CHECK_STATUS(aihw_inference_program(&nm, &cv, w, 2, 2, key, wp, NULL),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_inference_program(&nm, &cv, w, 0, 2, key, wp, nu), AIHW_ERR_SHAPE);
  w[2] = NAN;
  CHECK_STATUS(aihw_inference_program(&nm, &cv, w, 2, 2, key, wp, nu), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("w_target[1][0]");
  w[2] = 0.25f;
  nm.t_0 = 0.0f;
  CHECK_STATUS(aihw_inference_program(&nm, &cv, w, 2, 2, key, wp, nu),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("t_0");
  nm.t_0 = 20.0f;
  CHECK_OK(aihw_inference_program(&nm, &cv, w, 2, 2, key, wp, nu));
  CHECK_STATUS(aihw_inference_drift(&nm, &cv, wp, nu, 2, 2, NAN, key, wd), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("t_inference");
  CHECK_STATUS(aihw_inference_drift(&nm, &cv, wp, nu, 2, 2, -1.0f, key, wd),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_inference_drift(&nm, &cv, wp, nu, 2, 2, INFINITY, key, wd),
               AIHW_ERR_NOT_FINITE);
  CHECK_STATUS(aihw_inference_drift(&nm, &cv, wp, NULL, 2, 2, 1.0f, key, wd),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("nu");
  nm.read_noise_at_target = 1;
  CHECK_STATUS(aihw_inference_drift(&nm, &cv, wp, nu, 2, 2, 1.0f, key, wd),
               AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("read_noise_at_target");
  nm.read_noise_at_target = 0;
  nm.g_max = 30.0f; /* must equal the converter's */
  CHECK_STATUS(aihw_inference_drift(&nm, &cv, wp, nu, 2, 2, 1.0f, key, wd),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("g_max");
  nm.g_max = 25.0f;
  aihw_converter_params flat = aihw_converter_params_default(AIHW_CONVERTER_CUSTOM_PAIR);
  for (int k = 0; k < flat.n_g; ++k)
    flat.g_lst[k] = 5.0f; /* g+ = g- everywhere: no weight range */
  CHECK_STATUS(aihw_inference_program(&nm, &flat, w, 2, 2, key, wp, nu),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("g_lst");
  CHECK(aihw_converter_slices(&cv) == 2);
  CHECK(aihw_converter_slices(NULL) == 0);
}

TEST_MAIN(TEST(pcm_functions_of_g_match_aihwkit),
          TEST(pcm_drift_and_read_factors_match_aihwkit),
          TEST(log_and_pow_are_correctly_rounded), TEST(exp_and_drift_factor_edges),
          TEST(single_pair_converter_matches_golden),
          TEST(n_pair_custom_pair_and_single_device_match_aihwkit),
          TEST(dyadic_matrices_round_trip_exactly),
          TEST(program_and_drift_equal_scalar_specification),
          TEST(in_place_calls_equal_out_of_place), TEST(none_model_copies_and_zeroes_nu),
          TEST(general_polynomial_and_reference_conductance), TEST(arguments_are_checked))
