/* Step rules and construction of the single-device models (reference §5.2–5.8b,
 * physics/device_math.h, src/devices/): aihwkit's golden single steps and 20-step
 * trajectories (tests/data/golden/device_steps.json), hand-computed cases of every rule,
 * the deterministic part of each model's construction, the registry and the granularity.
 *
 * Golden agreement: bit for bit for every record (ExpStep and PowStep included, with
 * glibc's expf/powf); the README's |dw| <= 2e-7 is the fallback bound if a libm's expf
 * or powf differs by an ulp, and the program prints the measured maximum differences.
 */
#include <cjson/cJSON.h>
#include <stdint.h>

#include "aihw/device.h"
#include "devices/device_models.h"
#include "devices/device_state.h"
#include "golden_util.h"
#include "physics/device_math.h"
#include "test_util.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* Bound for a step read back as (w + dw) - w with |w| <= 1: the float32 sum is rounded
 * to half an ulp of w (3e-8), the subtraction is exact; twice that for reference devices
 * (w + ref, then - ref). */
#define W_TOL 6e-8

static aihw_step_device device_at(const aihw_device_state *s, int64_t k) {
  aihw_step_device d;
  d.max_bound = s->max_bound[k];
  d.min_bound = s->min_bound[k];
  d.scale_up = s->scale_up[k];
  d.scale_down = s->scale_down[k];
  for (int e = 0; e < 3; ++e)
    d.extra[e] = s->extra[e] != NULL ? s->extra[e][k] : 0.0f;
  return d;
}

/* Parameters of `type` with every device-to-device and cycle-to-cycle spread off, bounds
 * +-0.6 and dw_min 0.001 (the golden set-up). */
static aihw_device_params quiet_params(aihw_device_type type) {
  aihw_device_params p = aihw_device_params_default(type);
  p.dw_min_dtod = 0.0f;
  p.dw_min_std = 0.0f;
  p.up_down_dtod = 0.0f;
  p.w_max_dtod = 0.0f;
  p.w_min_dtod = 0.0f;
  p.gamma_up_dtod = 0.0f;
  p.gamma_down_dtod = 0.0f;
  p.pow_gamma_dtod = 0.0f;
  return p;
}

/* A hand-made device with bounds +-0.6 and steps 0.001. */
static aihw_step_device plain_device(void) {
  aihw_step_device d = {0.6f, -0.6f, 0.001f, 0.001f, {0.0f, 0.0f, 0.0f}};
  return d;
}

/* Distance in units in the last place between two finite floats (0 for +0 / -0). */
static int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, sizeof ia);
  memcpy(&ib, &b, sizeof ib);
  int64_t oa = ia < 0 ? (int64_t)INT32_MIN - ia : ia;
  int64_t ob = ib < 0 ? (int64_t)INT32_MIN - ib : ib;
  return oa > ob ? oa - ob : ob - oa;
}

/* Params from a golden record: {"type": device} plus its config, through the JSON reader. */
static aihw_device_params params_of_record(const cJSON *rec) {
  cJSON *obj = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "config"), 1);
  cJSON_AddStringToObject(obj, "type",
                          cJSON_GetObjectItemCaseSensitive(rec, "device")->valuestring);
  char *text = cJSON_PrintUnformatted(obj);
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  CHECK_OK(aihw_device_params_from_json(text, &p));
  free(text);
  cJSON_Delete(obj);
  return p;
}

/* ---- golden ----------------------------------------------------------------------------- */

typedef struct {
  int64_t max_ulp;
  double max_abs;
} agreement;

static void compare(const char *name, const char *field, int k, float got, float want,
                    agreement *a) {
  int64_t ulp = ulp_distance(got, want);
  double diff = fabs((double)got - (double)want);
  if (ulp > a->max_ulp)
    a->max_ulp = ulp;
  if (diff > a->max_abs)
    a->max_abs = diff;
  /* README: |dw| <= 2e-7 wherever bitwise equality is not the goal (expf/powf). */
  if (!(diff <= 2e-7)) {
    fprintf(stderr, "%s %s[%d]: %.9g, aihwkit %.9g (%lld ulp)\n", name, field, k, (double)got,
            (double)want, (long long)ulp);
    ++test_failures_;
  }
}

static void golden_steps_match_aihwkit(void) {
  cJSON *root = golden_load("device_steps.json");
  const cJSON *rec;
  int records = 0;
  int64_t worst_ulp = 0;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(root, "records")) {
    const char *name = cJSON_GetObjectItemCaseSensitive(rec, "name")->valuestring;
    aihw_device_params p = params_of_record(rec);
    p.construction_seed = 12345; /* irrelevant: every spread is 0 */
    aihw_device_state *s = NULL;
    CHECK_OK(aihw_device_state_create(&p, 1, 1, 0, &s));
    if (s == NULL)
      continue;
    const aihw_step_device d = device_at(s, 0);
    const aihw_step_rule r = aihw_step_rule_make(&s->params);
    size_t n = 0, n_up = 0, n_down = 0, n_traj = 0;
    float *w_start = golden_floats(rec, "w_start", &n);
    float *after_up = golden_floats(rec, "w_after_up", &n_up);
    float *after_down = golden_floats(rec, "w_after_down", &n_down);
    float *traj_up = golden_floats(rec, "traj_up", &n_traj);
    float *traj_down = golden_floats(rec, "traj_down", NULL);
    CHECK(n == 9 && n_up == n && n_down == n && n_traj == 20);
    agreement a = {0, 0.0};
    for (size_t k = 0; k < n; ++k) {
      /* set_weights clips the visible weight to the device bounds (§5.3) */
      const float w0 = aihw_clip_to_bounds(w_start[k], &d);
      compare(name, "w_after_up", (int)k, aihw_device_step(&r, &d, w0, 1, 0.0f), after_up[k],
              &a);
      compare(name, "w_after_down", (int)k, aihw_device_step(&r, &d, w0, 0, 0.0f),
              after_down[k], &a);
    }
    float wu = 0.0f, wd = 0.0f;
    for (size_t k = 0; k < n_traj; ++k) {
      wu = aihw_device_step(&r, &d, wu, 1, 0.0f);
      wd = aihw_device_step(&r, &d, wd, 0, 0.0f);
      compare(name, "traj_up", (int)k, wu, traj_up[k], &a);
      compare(name, "traj_down", (int)k, wd, traj_down[k], &a);
    }
    printf("  %-36s max %lld ulp, max |dw| %.3g\n", name, (long long)a.max_ulp, a.max_abs);
    /* Bit for bit, except that another libm's expf/powf may round differently (then the
     * 2e-7 bound of compare() is the specification). Measured with glibc: 0 ulp in every
     * record. */
    const int uses_libm = strncmp(name, "ExpStep", 7) == 0 || strncmp(name, "PowStep", 7) == 0;
#ifdef __GLIBC__
    (void)uses_libm;
    CHECK(a.max_ulp == 0);
#else
    CHECK(uses_libm || a.max_ulp == 0);
#endif
    if (a.max_ulp > worst_ulp)
      worst_ulp = a.max_ulp;
    free(w_start);
    free(after_up);
    free(after_down);
    free(traj_up);
    free(traj_down);
    aihw_device_state_destroy(s);
    ++records;
  }
  CHECK(records == 22);
  printf("  worst over all records: %lld ulp\n", (long long)worst_ulp);
  cJSON_Delete(root);
}

/* ---- hand-computed rules ------------------------------------------------------------------
 */

static void soft_bounds_step_shrinks_to_zero_at_bound(void) {
  aihw_device_params p = quiet_params(AIHW_DEVICE_SOFT_BOUNDS);
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 1, 1, 0, &s));
  const aihw_step_device d = device_at(s, 0);
  const aihw_step_rule r = aihw_step_rule_make(&s->params);
  CHECK_FEQ(d.extra[0], -0.001f / 0.6f);
  CHECK_FEQ(d.extra[1], -0.001f / -0.6f);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.6f, 1, 0.0f), 0.6f);   /* no step at the bound */
  CHECK_FEQ(aihw_device_step(&r, &d, -0.6f, 0, 0.0f), -0.6f); /* nor at the lower one */
  CHECK_FEQ(aihw_device_step(&r, &d, 0.0f, 1, 0.0f), 0.001f); /* full step at 0 */
  /* half-way to the bound: half the step */
  CHECK_NEAR(aihw_device_step(&r, &d, 0.3f, 1, 0.0f) - 0.3f, 0.0005, W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, -0.3f, 0, 0.0f) + 0.3f, -0.0005, W_TOL);
  /* and twice the step on the far side */
  CHECK_NEAR(aihw_device_step(&r, &d, -0.6f, 1, 0.0f) + 0.6f, 0.002, W_TOL);
  aihw_device_state_destroy(s);
}

/* Up and down steps are equal at w* = (su - sd) / (su/bmax - sd/bmin). */
static void soft_bounds_up_and_down_steps_are_equal_at_symmetry_point(void) {
  aihw_device_params p = quiet_params(AIHW_DEVICE_SOFT_BOUNDS);
  p.up_down = 0.2f; /* down steps 0.8 dw_min */
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 1, 1, 0, &s));
  const aihw_step_device d = device_at(s, 0);
  const aihw_step_rule r = aihw_step_rule_make(&s->params);
  const double su = d.scale_up, sd = d.scale_down;
  CHECK_NEAR(sd, 0.0008, 1e-10);
  const float ws = (float)((su - sd) / (su / d.max_bound - sd / d.min_bound)); /* 0.0667 */
  const double up = aihw_device_step(&r, &d, ws, 1, 0.0f) - (double)ws;
  const double down = (double)ws - aihw_device_step(&r, &d, ws, 0, 0.0f);
  CHECK_NEAR(ws, 0.06666667, 1e-7);
  CHECK_NEAR(up, down, 1e-10);
  /* below w* the up step wins, above it the down step */
  CHECK(aihw_device_step(&r, &d, 0.0f, 1, 0.0f) > -aihw_device_step(&r, &d, 0.0f, 0, 0.0f));
  aihw_device_state_destroy(s);
}

static void soft_bounds_slopes_use_each_devices_own_bounds(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS); /* spreads on */
  p.construction_seed = 7;
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 8, 9, 3, &s));
  int exact = 1;
  for (int64_t k = 0; k < s->size; ++k)
    exact &= s->extra[0][k] == -s->scale_up[k] / s->max_bound[k] &&
             s->extra[1][k] == -s->scale_down[k] / s->min_bound[k];
  CHECK(exact);
  aihw_device_state_destroy(s);
}

static void soft_bounds_pmax_steps_like_soft_bounds_with_derived_parameters(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_PMAX);
  aihw_device_params q = aihw_device_params_resolved(&p);
  /* §5.5: defaults give b = 5.0829, w_max = 4.0829, dw_min = 0.0025415, up_down = 0.6065 */
  const double b = 2.0 / (1.0 - exp(-1000.0 * (double)p.alpha));
  CHECK_NEAR(q.w_min, -1.0, 0.0);
  CHECK_NEAR(q.w_max, -1.0 + b, 1e-6);
  CHECK_NEAR(q.dw_min, b * (double)p.alpha, 1e-9);
  CHECK_NEAR(q.up_down, 1.0 - 2.0 / b, 1e-7);
  /* bit for bit the float32 of aihwkit's Python derivation (p_max 1000, alpha 0.0005) */
  CHECK_FEQ(q.w_max, 4.08298826f);
  CHECK_FEQ(q.dw_min, 0.00254149409f);
  CHECK_FEQ(q.up_down, 0.606530666f);
  p.dw_min_dtod = p.up_down_dtod = p.w_max_dtod = p.w_min_dtod = 0.0f;
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 1, 1, 0, &s));
  const aihw_step_device d = device_at(s, 0);
  CHECK_NEAR(d.max_bound, q.w_max, 1e-6);
  CHECK_FEQ(d.extra[0], -d.scale_up / d.max_bound);
  const aihw_step_rule r = aihw_step_rule_make(&s->params);
  CHECK_FEQ(aihw_device_step(&r, &d, d.max_bound, 1, 0.0f), d.max_bound);
  aihw_device_state_destroy(s);
}

static void linear_step_slopes_use_gamma_and_mean_bounds(void) {
  aihw_device_params p = quiet_params(AIHW_DEVICE_LINEAR_STEP);
  p.gamma_up = 0.5f;
  p.gamma_down = 0.3f;
  p.w_max_dtod = 0.3f; /* per-device bounds differ, the reference bound does not */
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 4, 5, 0, &s));
  int exact = 1;
  for (int64_t k = 0; k < s->size; ++k)
    exact &= s->extra[0][k] == -0.5f * s->scale_up[k] / 0.6f &&
             s->extra[1][k] == -0.3f * s->scale_down[k] / -0.6f;
  CHECK(exact);
  aihw_device_state_destroy(s);
  /* gamma 1: zero step at the reference bound (the mean bound here) */
  p = quiet_params(AIHW_DEVICE_LINEAR_STEP);
  p.gamma_up = p.gamma_down = 1.0f;
  CHECK_OK(aihw_device_state_create(&p, 1, 1, 0, &s));
  const aihw_step_device d = device_at(s, 0);
  const aihw_step_rule r = aihw_step_rule_make(&s->params);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.6f, 1, 0.0f), 0.6f);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.3f, 1, 0.0f) - 0.3f, 0.0005, W_TOL);
  aihw_device_state_destroy(s);
}

static void linear_step_reverse_up_references_beyond_min_bound(void) {
  aihw_device_params p = quiet_params(AIHW_DEVICE_LINEAR_STEP);
  p.gamma_up = 1.0f;
  p.reverse_up = 1;
  p.reverse_offset = 0.01f;
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 1, 1, 0, &s));
  /* ref_up = w_min - offset = -0.61: the up step grows towards w_max */
  CHECK_FEQ(s->extra[0][0], -1.0f * 0.001f / (-0.6f - 0.01f));
  const aihw_step_device d = device_at(s, 0);
  const aihw_step_rule r = aihw_step_rule_make(&s->params);
  CHECK_NEAR(aihw_device_step(&r, &d, -0.6f, 1, 0.0f) + 0.6f, 0.001 * (1 - 0.6 / 0.61), W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.3f, 1, 0.0f) - 0.3f, 0.001 * (1 + 0.3 / 0.61), W_TOL);
  aihw_device_state_destroy(s);
}

static void linear_step_noise_is_multiplicative_or_additive(void) {
  aihw_step_rule r = aihw_step_rule_make(&(aihw_device_params){
      .type = AIHW_DEVICE_LINEAR_STEP, .dw_min_std = 0.5f, .mult_noise = 1, .piecewise_n = 1});
  aihw_step_device d = plain_device();
  d.extra[0] = -0.001f / 0.6f;
  d.extra[1] = 0.001f / 0.6f;
  const float w = 0.3f, xi = 1.0f;
  const float step = d.extra[0] * w + d.scale_up; /* 0.0005 */
  CHECK_FEQ(aihw_linear_step(&r, &d, w, 1, xi), w + step * 1.5f);
  r.mult_noise = 0;
  CHECK_FEQ(aihw_linear_step(&r, &d, w, 1, xi), w + (d.extra[0] * w + d.scale_up * 1.5f));
  CHECK_FEQ(aihw_linear_step(&r, &d, w, 0, xi), w - (d.extra[1] * w + d.scale_down * 1.5f));
}

static void constant_step_is_clipped_to_bounds(void) {
  aihw_step_rule r = aihw_step_rule_make(&(aihw_device_params){
      .type = AIHW_DEVICE_CONSTANT_STEP, .dw_min_std = 0.3f, .piecewise_n = 1});
  const aihw_step_device d = plain_device();
  CHECK_FEQ(aihw_device_step(&r, &d, 0.5995f, 1, 0.0f), 0.6f);
  CHECK_FEQ(aihw_device_step(&r, &d, -0.5995f, 0, 0.0f), -0.6f);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.1f, 1, 2.0f), 0.1f + 0.001f * 1.6f);
  /* a large negative xi turns an up step into a down step, still clipped */
  CHECK_FEQ(aihw_device_step(&r, &d, -0.6f, 1, -10.0f), -0.6f);
}

static aihw_step_rule exp_rule(float A_up, float A_down, float gamma, float a, float b) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  p.dw_min_std = 0.0f;
  p.A_up = A_up;
  p.A_down = A_down;
  p.gamma_up = p.gamma_down = gamma;
  p.a = a;
  p.b = b;
  return aihw_step_rule_make(&p);
}

static void exp_step_follows_the_exponential_and_clips_y_at_zero(void) {
  const aihw_step_device d = plain_device();
  aihw_step_rule r = exp_rule(0.3f, 0.1f, 2.0f, 0.5f, 0.0f);
  /* z = 2 w / 1.2 * 0.5: at w = 0, y_up = 0.7, y_down = 0.9 */
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 1, 0.0f), 0.0007, 1e-10);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 0, 0.0f), -0.0009, 1e-10);
  const double z = 2.0 * 0.3 / 1.2 * 0.5;
  CHECK_NEAR(aihw_device_step(&r, &d, 0.3f, 1, 0.0f) - 0.3f, 0.001 * (1 - 0.3 * exp(2 * z)),
             W_TOL);
  /* A_up 2: y_up = 1 - 2 e^{2z} < 0 for z >= 0 -> no up step at all */
  r = exp_rule(2.0f, 0.1f, 2.0f, 0.5f, 0.0f);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.2f, 1, 0.0f), 0.2f);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.2f, 1, 3.0f), 0.2f); /* nor noise on a zero step */
  /* no range: no step, no clip */
  aihw_step_device flat = d;
  flat.max_bound = flat.min_bound = 0.1f;
  CHECK_FEQ(aihw_device_step(&r, &flat, 0.3f, 0, 0.0f), 0.3f);
}

static void exp_step_complex_noise_adds_scaled_normal(void) {
  aihw_step_rule r = exp_rule(0.3f, 0.1f, 2.0f, 0.5f, 0.0f);
  r.dw_min_std = 0.2f;
  const aihw_step_device d = plain_device();
  const float y = 1.0f - 0.3f * expf(0.0f), dw = y * 0.001f;
  CHECK_FEQ(aihw_device_step(&r, &d, 0.0f, 1, 1.0f), 0.0f + dw * (1.0f + 0.2f));
  r.dw_min_std_add = 0.01f;
  r.dw_min_std_slope = 0.5f;
  const float w = -0.0f;
  const float dw_std = 0.2f * (fabsf(dw) + 0.01f + 0.5f * 0.0f);
  CHECK_FEQ(aihw_device_step(&r, &d, w, 1, -1.0f), w + (dw + dw_std * -1.0f));
}

static void pow_step_gamma_one_is_linear_in_distance_to_bound(void) {
  aihw_step_rule r = aihw_step_rule_make(
      &(aihw_device_params){.type = AIHW_DEVICE_POW_STEP, .piecewise_n = 1});
  aihw_step_device d = plain_device();
  d.extra[0] = d.extra[1] = 1.0f;
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 1, 0.0f), 0.0005, 1e-10);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.3f, 1, 0.0f) - 0.3f, 0.001 * 0.25, W_TOL);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.6f, 1, 0.0f), 0.6f);
  d.extra[0] = 2.0f;
  d.extra[1] = 0.5f;
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 1, 0.0f), 0.001 * 0.25, 1e-10);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 0, 0.0f), -0.001 * sqrt(0.5), 1e-10);
}

static void pow_step_gammas_follow_pow_up_down(void) {
  aihw_device_params p = quiet_params(AIHW_DEVICE_POW_STEP);
  p.pow_gamma = 2.0f;
  p.pow_up_down = 0.2f;
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 2, 3, 0, &s));
  CHECK_FEQ(s->extra[0][5], 2.0f);
  CHECK_FEQ(s->extra[1][5], (-0.2f + 1.0f) * 2.0f);
  aihw_device_state_destroy(s);
  p.pow_up_down = -0.2f; /* now the up exponent is the smaller one */
  CHECK_OK(aihw_device_state_create(&p, 1, 1, 0, &s));
  CHECK_FEQ(s->extra[0][0], (-0.2f + 1.0f) * 2.0f);
  CHECK_FEQ(s->extra[1][0], 2.0f);
  aihw_device_state_destroy(s);
}

/* §5.7: w' = w + ref beyond max_bound; an up pulse. */
static void pow_step_reference_quirk_off_gives_zero_step_beyond_bound(void) {
  aihw_step_rule r = aihw_step_rule_make(
      &(aihw_device_params){.type = AIHW_DEVICE_POW_STEP_REFERENCE, .piecewise_n = 1});
  aihw_step_device d = plain_device();
  d.extra[0] = d.extra[1] = 1.5f;
  d.extra[2] = 0.1f;
  /* w' = 0.7 > 0.6: no step, then w' is clipped to the bound: w = 0.6 - 0.1 */
  CHECK_FEQ(aihw_device_step(&r, &d, 0.6f, 1, 0.0f), 0.6f - 0.1f);
  /* a down pulse from there is an ordinary one (base > 1: larger than scale_down) */
  const float wr = 0.6f + 0.1f;
  const float down = wr - 0.001f * powf((wr + 0.6f) / 1.2f, 1.5f);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.6f, 0, 0.0f), (down < 0.6f ? down : 0.6f) - 0.1f);
  /* below the lower bound a down pulse does not move either */
  d.extra[2] = -0.1f;
  CHECK_FEQ(aihw_device_step(&r, &d, -0.6f, 0, 0.0f), -0.6f + 0.1f);
}

static void pow_step_reference_quirk_on_jumps_to_min_bound_minus_reference(void) {
  aihw_device_params p = {.type = AIHW_DEVICE_POW_STEP_REFERENCE, .piecewise_n = 1};
  p.pow_step_reference_nan_quirk = 1;
  aihw_step_rule r = aihw_step_rule_make(&p);
  aihw_step_device d = plain_device();
  d.extra[0] = d.extra[1] = 1.5f;
  d.extra[2] = 0.1f;
  CHECK_FEQ(aihw_device_step(&r, &d, 0.6f, 1, 0.0f), -0.6f - 0.1f); /* aihwkit: 49/401 */
  /* within the bounds both agree */
  p.pow_step_reference_nan_quirk = 0;
  aihw_step_rule sane = aihw_step_rule_make(&p);
  CHECK_FEQ(aihw_device_step(&r, &d, 0.2f, 1, 0.0f),
            aihw_device_step(&sane, &d, 0.2f, 1, 0.0f));
  CHECK_FEQ(aihw_device_step(&r, &d, 0.2f, 0, 0.0f),
            aihw_device_step(&sane, &d, 0.2f, 0, 0.0f));
}

/* subtract_symmetry_point: at w = 0 (reference_mean 0) the up and down steps balance. */
static void pow_step_reference_symmetry_point_balances_steps(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_POW_STEP_REFERENCE);
  p.dw_min = 0.01f; /* n = round(10 * range / min step) iterations: ~1000 here */
  p.dw_min_std = 0.0f;
  p.up_down = 0.3f;
  p.pow_gamma = 1.5f;
  p.subtract_symmetry_point = 1;
  p.construction_seed = 3;
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 4, 4, 0, &s));
  const aihw_step_rule r = aihw_step_rule_make(&s->params);
  double worst = 0.0;
  int moved = 0;
  for (int64_t k = 0; k < s->size; ++k) {
    const aihw_step_device d = device_at(s, k);
    const double up = aihw_device_step(&r, &d, 0.0f, 1, 0.0f);
    const double down = -(double)aihw_device_step(&r, &d, 0.0f, 0, 0.0f);
    worst = fmax(worst, fabs(up - down) / (up + down));
    moved += d.extra[2] != 0.0f && s->reset_bias[k] == d.extra[2]; /* reset 0 + sp */
  }
  /* the iteration contracts towards the fixed point; after its ~1000 steps the imbalance
   * is 4e-6 relative (measured) */
  CHECK(worst < 1e-4);
  CHECK(moved == s->size);
  aihw_device_state_destroy(s);
}

static aihw_step_rule piecewise_rule(int n, const float *up, const float *down) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_PIECEWISE_STEP);
  p.dw_min_std = 0.0f;
  p.piecewise_n = n;
  for (int k = 0; k < n; ++k) {
    p.piecewise_up[k] = up[k];
    p.piecewise_down[k] = down[k];
  }
  return aihw_step_rule_make(&p);
}

static void piecewise_step_interpolates_between_nodes(void) {
  const float up[3] = {1.0f, 2.0f, 0.5f}, down[3] = {0.5f, 1.0f, 4.0f};
  const aihw_step_rule r = piecewise_rule(3, up, down);
  const aihw_step_device d = plain_device();
  /* nodes at -0.6, 0, 0.6 */
  CHECK_NEAR(aihw_device_step(&r, &d, -0.6f, 1, 0.0f) + 0.6f, 0.001, W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, -0.3f, 1, 0.0f) + 0.3f, 0.0015, W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 1, 0.0f), 0.002, 1e-9);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.45f, 1, 0.0f) - 0.45f, 0.001 * 0.875, W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.3f, 0, 0.0f) - 0.3f, -0.001 * 2.5, W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.6f, 0, 0.0f) - 0.6f, -0.004, W_TOL);
  /* one node: constant relative step */
  const float one_up[1] = {1.5f}, one_down[1] = {0.25f};
  const aihw_step_rule r1 = piecewise_rule(1, one_up, one_down);
  CHECK_NEAR(aihw_device_step(&r1, &d, 0.4f, 1, 0.0f) - 0.4f, 0.0015, W_TOL);
  CHECK_NEAR(aihw_device_step(&r1, &d, 0.4f, 0, 0.0f) - 0.4f, -0.00025, W_TOL);
}

static void soft_bounds_reference_steps_the_shifted_weight(void) {
  aihw_step_rule r = aihw_step_rule_make(&(aihw_device_params){
      .type = AIHW_DEVICE_SOFT_BOUNDS_REFERENCE, .dw_min_std = 0.0f, .piecewise_n = 1});
  aihw_step_device d = plain_device();
  d.extra[0] = 0.3f; /* w' = w + 0.3 */
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 1, 0.0f), 0.0005, W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.0f, 0, 0.0f), -0.0015, W_TOL);
  CHECK_NEAR(aihw_device_step(&r, &d, 0.3f, 1, 0.0f), 0.3f, 1e-9); /* w' at max_bound */
  /* visible w within bounds but w' beyond: the pulse clips w' (w = bmax - ref) */
  CHECK_NEAR(aihw_device_step(&r, &d, 0.6f, 0, 0.0f), 0.3f, 1e-7);
  /* additive noise: scale (1 - a + sigma xi) */
  r.dw_min_std = 0.5f;
  d.extra[0] = 0.0f;
  CHECK_FEQ(aihw_device_step(&r, &d, 0.3f, 1, 1.0f),
            0.3f + 0.001f * (1.0f - 0.3f / 0.6f + 0.5f));
  r.mult_noise = 1;
  CHECK_FEQ(aihw_device_step(&r, &d, 0.3f, 1, 1.0f),
            0.3f + 0.001f * (1.0f - 0.3f / 0.6f) * 1.5f);
}

static void soft_bounds_reference_symmetry_point_balances_steps(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE);
  p.dw_min_std = 0.0f;
  p.up_down = 0.2f;
  p.subtract_symmetry_point = 1;
  p.slope_up_dtod = 0.1f;
  p.construction_seed = 11;
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(&p, 5, 5, 0, &s));
  const aihw_step_rule r = aihw_step_rule_make(&s->params);
  for (int64_t k = 0; k < s->size; ++k) {
    const aihw_step_device d = device_at(s, k);
    const double up = aihw_device_step(&r, &d, 0.0f, 1, 0.0f);
    const double down = -(double)aihw_device_step(&r, &d, 0.0f, 0, 0.0f);
    CHECK_NEAR(up, down, 1e-9);
  }
  aihw_device_state_destroy(s);
}

static void ideal_and_floating_point_do_not_step(void) {
  aihw_step_rule r = aihw_step_rule_make(&(aihw_device_params){.type = AIHW_DEVICE_IDEAL});
  const aihw_step_device d = plain_device();
  CHECK_FEQ(aihw_device_step(&r, &d, 5.0f, 1, 1.0f), 5.0f);
  r.type = AIHW_DEVICE_FLOATING_POINT;
  CHECK_FEQ(aihw_device_step(&r, &d, -5.0f, 0, 1.0f), -5.0f);
}

/* ---- registry and granularity ---------------------------------------------------------- */

static void registry_describes_every_pulsed_model(void) {
  static const struct {
    aihw_device_type type;
    const char *name;
    int n_extra, write_noise;
    const char *extra0;
  } want[] = {
      {AIHW_DEVICE_CONSTANT_STEP, "ConstantStepDevice", 0, 0, NULL},
      {AIHW_DEVICE_LINEAR_STEP, "LinearStepDevice", 2, 1, "slope_up"},
      {AIHW_DEVICE_SOFT_BOUNDS, "SoftBoundsDevice", 2, 1, "slope_up"},
      {AIHW_DEVICE_SOFT_BOUNDS_PMAX, "SoftBoundsPmaxDevice", 2, 1, "slope_up"},
      {AIHW_DEVICE_SOFT_BOUNDS_REFERENCE, "SoftBoundsReferenceDevice", 1, 1, "reference"},
      {AIHW_DEVICE_EXP_STEP, "ExpStepDevice", 0, 1, NULL},
      {AIHW_DEVICE_POW_STEP, "PowStepDevice", 2, 1, "gamma_up"},
      {AIHW_DEVICE_POW_STEP_REFERENCE, "PowStepReferenceDevice", 3, 0, "gamma_up"},
      {AIHW_DEVICE_PIECEWISE_STEP, "PiecewiseStepDevice", 0, 1, NULL},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i) {
    const aihw_device_model *m = aihw_device_model_of(want[i].type);
    CHECK(m != NULL);
    if (m == NULL)
      continue;
    CHECK(m->type == want[i].type);
    CHECK(strcmp(m->name, want[i].name) == 0);
    CHECK(strcmp(m->name, aihw_device_type_name(want[i].type)) == 0);
    CHECK(m->n_extra == want[i].n_extra);
    CHECK(m->has_write_noise == want[i].write_noise);
    CHECK(want[i].extra0 == NULL || strcmp(m->extra_names[0], want[i].extra0) == 0);
    CHECK(m->granularity != NULL);
  }
  CHECK(strcmp(aihw_device_model_of(AIHW_DEVICE_POW_STEP_REFERENCE)->extra_names[2],
               "reference") == 0);
  CHECK(strcmp(aihw_device_model_of(AIHW_DEVICE_SOFT_BOUNDS)->extra_names[1], "slope_down") ==
        0);
  CHECK(aihw_device_model_of(AIHW_DEVICE_IDEAL) == NULL);
  CHECK(aihw_device_model_of(AIHW_DEVICE_FLOATING_POINT) == NULL);
  CHECK(aihw_device_model_of((aihw_device_type)99) == NULL);
}

static float granularity_of(const aihw_device_params *p, float *n_states) {
  float g = -1.0f, n = -1.0f;
  CHECK_OK(aihw_device_params_granularity(p, &g, &n));
  if (n_states != NULL)
    *n_states = n;
  return g;
}

static void granularity_follows_each_model(void) {
  float n = 0.0f;
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  CHECK_FEQ(granularity_of(&p, &n), 0.001f);
  CHECK_FEQ(n, 1.2f / 0.001f);
  p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE);
  CHECK_FEQ(granularity_of(&p, NULL), 0.001f);
  p = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  p.dw_min = 0.02f;
  CHECK_FEQ(granularity_of(&p, NULL), 0.02f);
  /* PowStep(Reference): dw_min 0.5^pow_gamma */
  p = aihw_device_params_default(AIHW_DEVICE_POW_STEP);
  p.pow_gamma = 2.0f;
  CHECK_FEQ(granularity_of(&p, &n), 0.001f * 0.25f);
  CHECK_NEAR(n, 4800.0, 1e-3);
  p.type = AIHW_DEVICE_POW_STEP_REFERENCE;
  CHECK_FEQ(granularity_of(&p, NULL), 0.001f * 0.25f);
  /* PiecewiseStep: the middle node piecewise_up[n/2], for 3 and 4 nodes */
  p = aihw_device_params_default(AIHW_DEVICE_PIECEWISE_STEP);
  p.piecewise_n = 3;
  const float nodes[4] = {1.5f, 0.8f, 0.6f, 0.3f};
  memcpy(p.piecewise_up, nodes, sizeof nodes);
  memcpy(p.piecewise_down, nodes, sizeof nodes);
  CHECK_FEQ(granularity_of(&p, NULL), 0.001f * 0.8f);
  p.piecewise_n = 4;
  CHECK_FEQ(granularity_of(&p, NULL), 0.001f * 0.6f);
  /* SoftBoundsPmax: g = the derived dw_min = b alpha, n_states = b / (b alpha) = 1/alpha */
  p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_PMAX);
  const float g = granularity_of(&p, &n);
  CHECK_NEAR(g, 0.0025415, 1e-7);
  CHECK_NEAR(n, 1.0 / (double)p.alpha, 1e-2);
}

/* [aihw] ExpStep: mean of dw_up(0) and dw_down(0); aihwkit takes dw_down(0) only. */
static void exp_step_granularity_is_mean_of_up_and_down_steps(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  p.A_up = 0.3f;
  p.A_down = 0.1f;
  p.gamma_up = p.gamma_down = 2.0f;
  p.a = 0.5f;
  p.b = 0.0f;
  CHECK_NEAR(granularity_of(&p, NULL), 0.001 * (0.7 + 0.9) / 2, 1e-10);
  /* default parameters: both steps are 0.98342 dw_min */
  p = aihw_device_params_default(AIHW_DEVICE_EXP_STEP);
  CHECK_NEAR(granularity_of(&p, NULL), 0.00098342, 1e-8);
  /* both steps 0: falls back to dw_min */
  p.A_up = p.A_down = 100.0f;
  p.b = 0.0f;
  CHECK_FEQ(granularity_of(&p, NULL), 0.001f);
}

static void granularity_rejects_devices_that_are_not_pulsed(void) {
  float g = 0.0f, n = 0.0f;
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  CHECK_STATUS(aihw_device_params_granularity(&p, &g, &n), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("IdealDevice has no granularity");
  p = aihw_device_params_default(AIHW_DEVICE_FLOATING_POINT);
  CHECK_STATUS(aihw_device_params_granularity(&p, &g, &n), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("FloatingPointDevice");
  CHECK_STATUS(aihw_device_params_granularity(NULL, &g, &n), AIHW_ERR_INVALID_ARGUMENT);
  p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  p.dw_min = 0.0f;
  CHECK_STATUS(aihw_device_params_granularity(&p, &g, &n), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dw_min");
}

static void state_granularity_matches_the_public_query(void) {
  const aihw_device_type types[] = {AIHW_DEVICE_EXP_STEP, AIHW_DEVICE_POW_STEP,
                                    AIHW_DEVICE_PIECEWISE_STEP, AIHW_DEVICE_LINEAR_STEP};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; ++i) {
    aihw_device_params p = aihw_device_params_default(types[i]);
    p.up_down = -0.1f;
    aihw_device_state *s = NULL;
    CHECK_OK(aihw_device_state_create(&p, 2, 2, 0, &s));
    CHECK_FEQ(s->granularity, granularity_of(&p, NULL));
    aihw_device_state_destroy(s);
  }
}

TEST_MAIN(TEST(golden_steps_match_aihwkit), TEST(soft_bounds_step_shrinks_to_zero_at_bound),
          TEST(soft_bounds_up_and_down_steps_are_equal_at_symmetry_point),
          TEST(soft_bounds_slopes_use_each_devices_own_bounds),
          TEST(soft_bounds_pmax_steps_like_soft_bounds_with_derived_parameters),
          TEST(linear_step_slopes_use_gamma_and_mean_bounds),
          TEST(linear_step_reverse_up_references_beyond_min_bound),
          TEST(linear_step_noise_is_multiplicative_or_additive),
          TEST(constant_step_is_clipped_to_bounds),
          TEST(exp_step_follows_the_exponential_and_clips_y_at_zero),
          TEST(exp_step_complex_noise_adds_scaled_normal),
          TEST(pow_step_gamma_one_is_linear_in_distance_to_bound),
          TEST(pow_step_gammas_follow_pow_up_down),
          TEST(pow_step_reference_quirk_off_gives_zero_step_beyond_bound),
          TEST(pow_step_reference_quirk_on_jumps_to_min_bound_minus_reference),
          TEST(pow_step_reference_symmetry_point_balances_steps),
          TEST(piecewise_step_interpolates_between_nodes),
          TEST(soft_bounds_reference_steps_the_shifted_weight),
          TEST(soft_bounds_reference_symmetry_point_balances_steps),
          TEST(ideal_and_floating_point_do_not_step),
          TEST(registry_describes_every_pulsed_model), TEST(granularity_follows_each_model),
          TEST(exp_step_granularity_is_mean_of_up_and_down_steps),
          TEST(granularity_rejects_devices_that_are_not_pulsed),
          TEST(state_granularity_matches_the_public_query))
