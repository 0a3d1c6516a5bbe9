/* Statistics of device construction and of noisy device steps (reference §5.2–5.8b), with
 * fixed seeds.
 *
 * Construction: 200 x 200 tiles (n = 40000 devices) reproduce the device-to-device
 * statistics aihwkit shows (§5.2 common draws, the model extras of §5.5, §5.7, §5.8b).
 * Steps: N = 100000 single steps from the same weight, each with its own normal from the
 * Philox generator, against the closed-form rule (mean = noise-free step, std = the
 * cycle-to-cycle spread).
 *
 * Tolerances are 5 standard errors (SE) of the estimate: sigma/sqrt(n) for a mean,
 * sigma/sqrt(2(n-1)) for the standard deviation of normal samples, (1 - rho^2)/sqrt(n) for a
 * correlation, sqrt(p(1-p)/n) for a fraction. A correct implementation fails one such check
 * with probability < 1e-6; with fixed seeds the outcome is deterministic anyway.
 * Expectations of non-linear functions of a normal (1 - 1/t, 1/|1 + 0.1 xi|) are
 * computed by quadrature over xi in [-8, 8] (the tails beyond hold < 1e-15 of the mass).
 */
#include <stdint.h>

#include "aihw/device.h"
#include "core/rng.h"
#include "devices/device_state.h"
#include "physics/device_math.h"
#include "test_util.h"

#define ROWS 200
#define COLS 200
#define N_DEVICES ((double)(ROWS * COLS))

/* ---- helpers -------------------------------------------------------------------------- */

typedef struct {
  double mean, std;
} moments;

static moments moments_of(const float *v, int64_t n) {
  double s = 0.0, s2 = 0.0;
  for (int64_t k = 0; k < n; ++k)
    s += v[k];
  const double mean = s / (double)n;
  for (int64_t k = 0; k < n; ++k)
    s2 += ((double)v[k] - mean) * ((double)v[k] - mean);
  return (moments){mean, sqrt(s2 / (double)(n - 1))};
}

static double correlation(const float *a, const float *b, int64_t n) {
  const moments ma = moments_of(a, n), mb = moments_of(b, n);
  double c = 0.0;
  for (int64_t k = 0; k < n; ++k)
    c += ((double)a[k] - ma.mean) * ((double)b[k] - mb.mean);
  return c / (double)(n - 1) / (ma.std * mb.std);
}

/* Checks mean and std of v against a normal(mean, std) law: 5 SE each. */
static void check_normal_moments(const char *what, const float *v, int64_t n, double mean,
                                 double std) {
  const moments m = moments_of(v, n);
  const double se_mean = std / sqrt((double)n), se_std = std / sqrt(2.0 * (double)(n - 1));
  if (!(fabs(m.mean - mean) <= 5.0 * se_mean) || !(fabs(m.std - std) <= 5.0 * se_std)) {
    fprintf(stderr, "%s: %s mean %.6g (want %.6g +- %.2g), std %.6g (want %.6g +- %.2g)\n",
            test_current_, what, m.mean, mean, 5.0 * se_mean, m.std, std, 5.0 * se_std);
    ++test_failures_;
  }
}

static void check_fraction(const char *what, int64_t count, int64_t n, double p) {
  const double f = (double)count / (double)n, se = sqrt(p * (1.0 - p) / (double)n);
  if (!(fabs(f - p) <= 5.0 * se)) {
    fprintf(stderr, "%s: %s fraction %.5f, want %.5f +- %.2g\n", test_current_, what, f, p,
            5.0 * se);
    ++test_failures_;
  }
}

/* E[f(xi)] for a standard normal xi: Simpson's rule on [-8, 8], 16000 intervals. */
static double normal_expectation(double (*f)(double x, const double *arg), const double *arg) {
  const int n = 16000;
  const double a = -8.0, h = 16.0 / n;
  double s = 0.0;
  for (int k = 0; k <= n; ++k) {
    const double x = a + h * k, w = (k == 0 || k == n) ? 1.0 : (k % 2 ? 4.0 : 2.0);
    s += w * f(x, arg) * exp(-0.5 * x * x);
  }
  return s * h / 3.0 / 2.5066282746310002; /* sqrt(2 pi) */
}

static double normal_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static aihw_device_state *make_state(const aihw_device_params *p, uint32_t tile_id) {
  aihw_device_state *s = NULL;
  CHECK_OK(aihw_device_state_create(p, ROWS, COLS, tile_id, &s));
  if (s == NULL) {
    fprintf(stderr, "%s: cannot create the device state\n", test_current_);
    exit(1);
  }
  return s;
}

/* ---- construction (§5.2) ------------------------------------------------------------- */

/* decay_scale = 1 - 1/t for t = lifetime (1 + lifetime_dtod xi) > 1, else 0 */
static double decay_of(double x, const double *arg) {
  const double t = arg[0] * (1.0 + arg[1] * x);
  return t > 1.0 ? 1.0 - 1.0 / t : 0.0;
}
static double decay_squared_of(double x, const double *arg) {
  const double d = decay_of(x, arg);
  return d * d;
}

/* The settings of §5.2's check, for every model without bound-changing extras. */
static void common_dtod_statistics_match_aihwkit(void) {
  const aihw_device_type types[] = {AIHW_DEVICE_CONSTANT_STEP, AIHW_DEVICE_LINEAR_STEP,
                                    AIHW_DEVICE_SOFT_BOUNDS,   AIHW_DEVICE_EXP_STEP,
                                    AIHW_DEVICE_POW_STEP,      AIHW_DEVICE_PIECEWISE_STEP};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; ++i) {
    aihw_device_params p = aihw_device_params_default(types[i]);
    p.construction_seed = 2024;
    p.dw_min = 0.01f;
    p.dw_min_dtod = 0.2f;
    p.up_down = 0.1f;
    p.up_down_dtod = 0.05f;
    p.w_max = 0.8f;
    p.w_max_dtod = 0.1f;
    p.w_min = -0.5f;
    p.w_min_dtod = 0.2f;
    p.lifetime = 50.0f;
    p.lifetime_dtod = 0.1f;
    p.diffusion = 0.01f;
    p.diffusion_dtod = 0.2f;
    p.reset = 0.05f;
    p.reset_dtod = 0.02f;
    p.drift.nu = 0.05f;
    p.drift.nu_dtod = 0.2f;
    aihw_device_state *s = make_state(&p, (uint32_t)i);
    const int64_t n = s->size;
    check_normal_moments("max_bound", s->max_bound, n, 0.8, 0.08);
    check_normal_moments("min_bound", s->min_bound, n, -0.5, 0.1);
    /* up_down 0.1 > 0: down steps (1 - 0.1) dw_min; std dw_min sqrt(dtod^2 + ud_dtod^2) */
    const double step_std = 0.01 * sqrt(0.2 * 0.2 + 0.05 * 0.05); /* 0.00206 */
    check_normal_moments("dwmin_up", s->scale_up, n, 0.0100, step_std);
    check_normal_moments("dwmin_down", s->scale_down, n, 0.0090, step_std);
    const double rho = (0.04 - 0.0025) / (0.04 + 0.0025); /* 0.88 */
    CHECK_NEAR(correlation(s->scale_up, s->scale_down, n), rho,
               5.0 * (1.0 - rho * rho) / sqrt(N_DEVICES));
    const double life[2] = {50.0, 0.1};
    const double decay_mean = normal_expectation(decay_of, life); /* 0.97980 */
    const double decay_std =
        sqrt(normal_expectation(decay_squared_of, life) - decay_mean * decay_mean);
    /* 1 - 1/t of a 10 % spread is close to normal: the normal SE formulas apply */
    check_normal_moments("decay_scales", s->decay_scale, n, decay_mean, decay_std);
    check_normal_moments("diffusion_rates", s->diffusion_rate, n, 0.01, 0.002);
    check_normal_moments("reset_bias", s->reset_bias, n, 0.05, 0.02); /* additive dtod */
    check_normal_moments("drift_nu", s->drift_nu, n, 0.05, 0.01);
    aihw_device_state_destroy(s);
  }
  /* without drift, lifetime and diffusion: nu 0, decay 1, diffusion 0 exactly */
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  aihw_device_state *s = make_state(&p, 0);
  int off = 1;
  for (int64_t k = 0; k < s->size; ++k)
    off &= s->drift_nu[k] == 0.0f && s->decay_scale[k] == 1.0f && s->diffusion_rate[k] == 0.0f;
  CHECK(off);
  aihw_device_state_destroy(s);
}

static void log_normal_step_gain_has_the_configured_spread(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  p.construction_seed = 5;
  p.dw_min_dtod_log_normal = 1;
  p.dw_min_dtod = 0.2f;
  p.up_down_dtod = 0.0f;
  aihw_device_state *s = make_state(&p, 0);
  float *log_gain = malloc((size_t)s->size * sizeof(float));
  for (int64_t k = 0; k < s->size; ++k)
    log_gain[k] = (float)log((double)s->scale_up[k] / (double)p.dw_min);
  check_normal_moments("log(dwmin_up / dw_min)", log_gain, s->size, 0.0, 0.2);
  free(log_gain);
  aihw_device_state_destroy(s);
}

static void corrupt_devices_are_stuck_at_uniform_values(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  p.construction_seed = 9;
  p.corrupt_devices_prob = 0.1f;
  p.corrupt_devices_range = 0.05f;
  p.w_max_dtod = p.w_min_dtod = 0.1f; /* bounds always contain +-range */
  aihw_device_state *s = make_state(&p, 0);
  float *stuck = malloc((size_t)s->size * sizeof(float));
  int64_t n_stuck = 0, n_zero_scale = 0, in_range = 1;
  for (int64_t k = 0; k < s->size; ++k) {
    const int zero = s->scale_up[k] == 0.0f && s->scale_down[k] == 0.0f;
    n_zero_scale += zero;
    if (zero) {
      in_range &= s->max_bound[k] == s->min_bound[k] && fabsf(s->max_bound[k]) <= 0.05f;
      stuck[n_stuck++] = s->max_bound[k];
    }
  }
  check_fraction("corrupt", n_stuck, s->size, 0.1);
  CHECK(in_range);
  /* uniform on [-0.05, 0.05]: mean 0, std 0.05/sqrt(3); the sample std of a uniform law
   * has SE sigma sqrt(0.8/n)/2 (fourth moment 9/5 sigma^4) */
  const moments m = moments_of(stuck, n_stuck);
  const double sigma = 0.05 / sqrt(3.0);
  CHECK_NEAR(m.mean, 0.0, 5.0 * sigma / sqrt((double)n_stuck));
  CHECK_NEAR(m.std, sigma, 5.0 * sigma * sqrt(0.8 / (double)n_stuck) / 2.0);
  free(stuck);
  aihw_device_state_destroy(s);
}

static double abs_affine(double x, const double *arg) { return fabs(1.0 + arg[0] * x); }

/* §5.2: w_max = -w_min = 0.2, bound dtod 1.5, dw_min_dtod 0.8. */
static void enforce_consistency_fixes_signs_or_turns_devices_off(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  p.construction_seed = 17;
  p.w_max = 0.2f;
  p.w_min = -0.2f;
  p.w_max_dtod = p.w_min_dtod = 1.5f;
  p.dw_min_dtod = 0.8f;
  aihw_device_state *s = make_state(&p, 0);
  int consistent = 1;
  float *mean_abs = malloc((size_t)s->size * sizeof(float));
  for (int64_t k = 0; k < s->size; ++k) {
    consistent &= s->scale_up[k] >= 0.0f && s->scale_down[k] >= 0.0f &&
                  s->max_bound[k] >= 0.0f && s->min_bound[k] <= 0.0f;
    mean_abs[k] = 0.5f * (fabsf(s->max_bound[k]) + fabsf(s->min_bound[k]));
  }
  CHECK(consistent);
  /* swap-then-abs keeps the pair of |bounds|: mean 0.2 E|1 + 1.5 xi| = 0.2907 */
  const double slope = 1.5, predicted = 0.2 * normal_expectation(abs_affine, &slope);
  const moments m = moments_of(mean_abs, s->size);
  CHECK_NEAR(predicted, 0.2907, 1e-4);
  CHECK_NEAR(m.mean, predicted, 5.0 * m.std / sqrt(N_DEVICES));
  aihw_device_state_destroy(s);

  p.enforce_consistency = 0;
  s = make_state(&p, 0);
  int64_t negative_up = 0, off = 0, negative_max = 0, positive_min = 0;
  for (int64_t k = 0; k < s->size; ++k) {
    negative_up += s->scale_up[k] < 0.0f;
    off += s->max_bound[k] == s->min_bound[k];
    negative_max += s->max_bound[k] < 0.0f;
    positive_min += s->min_bound[k] > 0.0f;
  }
  /* P(1 + 0.8 xi + 0.01 xi' < 0) = 10.6 %; P(bmin > bmax) = P(xi1 + xi2 < -4/3) = 17.2 % */
  check_fraction("negative dwmin_up", negative_up, s->size,
                 normal_cdf(-1.0 / sqrt(0.64 + 0.0001)));
  check_fraction("turned off", off, s->size, normal_cdf(-(4.0 / 3.0) / sqrt(2.0)));
  CHECK(negative_max > 0 && positive_min > 0); /* bounds of either sign */
  free(mean_abs);
  aihw_device_state_destroy(s);
}

/* ---- model extras (§5.5, §5.7, §5.8b) ---------------------------------------------- */

static void linear_step_slopes_spread_with_gamma_dtod(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_LINEAR_STEP);
  p.construction_seed = 21;
  p.gamma_up = 0.3f;
  p.gamma_up_dtod = 0.05f;
  p.gamma_down = 0.6f;
  p.gamma_down_dtod = 0.05f;
  aihw_device_state *s = make_state(&p, 0);
  float *gu = malloc((size_t)s->size * sizeof(float));
  float *gd = malloc((size_t)s->size * sizeof(float));
  for (int64_t k = 0; k < s->size; ++k) {
    gu[k] = -s->extra[0][k] * p.w_max / s->scale_up[k]; /* mean-bound reference */
    gd[k] = -s->extra[1][k] * p.w_min / s->scale_down[k];
  }
  check_normal_moments("-slope_up w_max / dwmin_up", gu, s->size, 0.3, 0.05);
  check_normal_moments("-slope_down w_min / dwmin_down", gd, s->size, 0.6, 0.05);
  CHECK_NEAR(correlation(gu, gd, s->size), 0.0, 5.0 / sqrt(N_DEVICES)); /* own streams */
  free(gu);
  free(gd);
  aihw_device_state_destroy(s);
}

static void pow_step_gammas_spread_as_aihwkit(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_POW_STEP);
  p.construction_seed = 33;
  p.pow_gamma = 2.0f;
  p.pow_gamma_dtod = 0.1f;
  p.pow_up_down = 0.2f;
  p.pow_up_down_dtod = 0.05f;
  aihw_device_state *s = make_state(&p, 0);
  /* gamma_up = (1 + 0.1 xi + 0.05 xi') 2, gamma_down = (0.8 + 0.1 xi - 0.05 xi') 2 */
  const double std = 2.0 * sqrt(0.01 + 0.0025); /* 0.224 */
  check_normal_moments("gamma_up", s->extra[0], s->size, 2.0, std);
  check_normal_moments("gamma_down", s->extra[1], s->size, 1.6, std);
  const double rho = (0.01 - 0.0025) / (0.01 + 0.0025);
  CHECK_NEAR(correlation(s->extra[0], s->extra[1], s->size), rho,
             5.0 * (1.0 - rho * rho) / sqrt(N_DEVICES));
  aihw_device_state_destroy(s);

  p.type = AIHW_DEVICE_POW_STEP_REFERENCE; /* same gammas, plus a reference */
  p.reference_mean = 0.1f;
  p.reference_std = 0.05f;
  s = make_state(&p, 0);
  check_normal_moments("PowStepReference gamma_up", s->extra[0], s->size, 2.0, std);
  check_normal_moments("PowStepReference reference", s->extra[2], s->size, 0.1, 0.05);
  aihw_device_state_destroy(s);
}

/* arg = {c, d}: (1 / |1 + d xi|)^c */
static double inverse_abs_power(double x, const double *arg) {
  return pow(1.0 / fabs(1.0 + arg[1] * x), arg[0]);
}

/* §5.8b: bound' = bound / |1 + slope_dtod xi|, checked against aihwkit's 0.809 +- 0.116
 * for w_max 0.8 +- 10 % and slope dtod 0.1. */
static void soft_bounds_reference_rescales_bounds_by_slope_dtod(void) {
  aihw_device_params p = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE);
  p.construction_seed = 44;
  p.w_max = 0.8f;
  p.w_max_dtod = 0.1f;
  p.w_min = -0.5f;
  p.w_min_dtod = 0.2f;
  p.slope_up_dtod = 0.1f;
  p.slope_down_dtod = 0.1f;
  p.reference_mean = 0.1f;
  p.reference_std = 0.05f;
  aihw_device_state *s = make_state(&p, 0);
  const double first[2] = {1.0, 0.1}, second[2] = {2.0, 0.1};
  const double inv1 = normal_expectation(inverse_abs_power, first);
  const double inv2 = normal_expectation(inverse_abs_power, second);
  /* product of independent factors: E[b (1 + d xi) / |1 + 0.1 xi'|] and its square */
  const double max_mean = 0.8 * inv1, max_std = sqrt(0.64 * 1.01 * inv2 - max_mean * max_mean);
  const double min_mean = -0.5 * inv1, min_std = sqrt(0.25 * 1.04 * inv2 - min_mean * min_mean);
  /* aihwkit's 0.809 and 0.116 are themselves sample values of a 200 x 200 tile */
  CHECK_NEAR(max_mean, 0.809, 5.0 * 0.116 / sqrt(N_DEVICES));
  CHECK_NEAR(max_std, 0.116, 5.0 * 0.116 * sqrt(4.0 / (4.0 * N_DEVICES)));
  const moments mx = moments_of(s->max_bound, s->size), mn = moments_of(s->min_bound, s->size);
  /* a ratio is not normal: the SE of its std uses the kurtosis; 5 bounds it generously here
   * (measured sample kurtosis 3.4) */
  const double kurtosis = 5.0;
  CHECK_NEAR(mx.mean, max_mean, 5.0 * max_std / sqrt(N_DEVICES));
  CHECK_NEAR(mx.std, max_std, 5.0 * max_std * sqrt((kurtosis - 1.0) / (4.0 * N_DEVICES)));
  CHECK_NEAR(mn.mean, min_mean, 5.0 * min_std / sqrt(N_DEVICES));
  CHECK_NEAR(mn.std, min_std, 5.0 * min_std * sqrt((kurtosis - 1.0) / (4.0 * N_DEVICES)));
  check_normal_moments("reference", s->extra[0], s->size, 0.1, 0.05);
  aihw_device_state_destroy(s);

  /* slope dtods 0: the bounds are those of the common draws, up to the ulp that
   * scale/(scale/bound) may move them */
  p.slope_up_dtod = p.slope_down_dtod = 0.0f;
  aihw_device_params q = p;
  q.type = AIHW_DEVICE_CONSTANT_STEP;
  s = make_state(&p, 0);
  aihw_device_state *c = make_state(&q, 0);
  int close = 1;
  for (int64_t k = 0; k < s->size; ++k)
    close &= fabsf(s->max_bound[k] - c->max_bound[k]) <= 1.2e-7f * fabsf(c->max_bound[k]) &&
             fabsf(s->min_bound[k] - c->min_bound[k]) <= 1.2e-7f * fabsf(c->min_bound[k]);
  CHECK(close);
  aihw_device_state_destroy(c);
  aihw_device_state_destroy(s);
}

/* ---- noisy single steps --------------------------------------------------------------- */

#define N_STEPS 100000

typedef struct {
  const char *name;
  aihw_device_params params; /* rule constants */
  aihw_step_device device;
  /* closed-form mean step and its ctoc std at weight w (double precision) */
  double (*mean)(const aihw_step_device *d, const aihw_step_rule *r, double w, int up);
  double (*std)(const aihw_step_device *d, const aihw_step_rule *r, double w, int up,
                double mean);
} step_case;

static double std_mult(const aihw_step_device *d, const aihw_step_rule *r, double w, int up,
                       double mean) {
  return r->dw_min_std * fabs(mean);
}
static double std_additive(const aihw_step_device *d, const aihw_step_rule *r, double w, int up,
                           double mean) {
  return r->dw_min_std * (up ? d->scale_up : d->scale_down);
}
static double std_exp_complex(const aihw_step_device *d, const aihw_step_rule *r, double w,
                              int up, double mean) {
  return r->dw_min_std * (fabs(mean) + r->dw_min_std_add + r->dw_min_std_slope * fabs(w));
}

static double mean_constant(const aihw_step_device *d, const aihw_step_rule *r, double w,
                            int up) {
  return up ? d->scale_up : -d->scale_down;
}
/* slopes in extra[0] / extra[1]: scale + slope w */
static double mean_linear(const aihw_step_device *d, const aihw_step_rule *r, double w,
                          int up) {
  return up ? d->scale_up + (double)d->extra[0] * w
            : -(d->scale_down + (double)d->extra[1] * w);
}
static double mean_exp(const aihw_step_device *d, const aihw_step_rule *r, double w, int up) {
  const double z = 2.0 * w / (d->max_bound - d->min_bound) * r->a + r->b;
  const double y =
      up ? 1.0 - r->A_up * exp(r->gamma_up * z) : 1.0 - r->A_down * exp(-r->gamma_down * z);
  return (y > 0.0 ? y : 0.0) * (up ? d->scale_up : -d->scale_down);
}
static double pow_mean_at(const aihw_step_device *d, double w, int up) {
  const double range = (double)d->max_bound - d->min_bound;
  return up ? d->scale_up * pow((d->max_bound - w) / range, d->extra[0])
            : -d->scale_down * pow((w - d->min_bound) / range, d->extra[1]);
}
static double mean_pow(const aihw_step_device *d, const aihw_step_rule *r, double w, int up) {
  return pow_mean_at(d, w, up);
}
static double mean_pow_reference(const aihw_step_device *d, const aihw_step_rule *r, double w,
                                 int up) {
  return pow_mean_at(d, w + d->extra[2], up);
}
static double mean_piecewise(const aihw_step_device *d, const aihw_step_rule *r, double w,
                             int up) {
  const float *nodes = up ? r->piecewise_up : r->piecewise_down;
  const double pos = (w - d->min_bound) / (d->max_bound - d->min_bound) * (r->piecewise_n - 1);
  const int k = (int)floor(pos);
  const double t = pos - k, f = (1.0 - t) * nodes[k] + t * nodes[k + 1];
  return up ? d->scale_up * f : -d->scale_down * f;
}
static double mean_sb_reference(const aihw_step_device *d, const aihw_step_rule *r, double w,
                                int up) {
  const double wr = w + d->extra[0];
  return up ? d->scale_up * (1.0 - wr / d->max_bound)
            : -d->scale_down * (1.0 - wr / d->min_bound);
}

static aihw_device_params rule_params(aihw_device_type type) {
  aihw_device_params p = aihw_device_params_default(type);
  p.dw_min_std = 0.3f;
  return p;
}

static step_case make_case(const char *name, aihw_device_params p, float e0, float e1, float e2,
                           double (*mean)(const aihw_step_device *, const aihw_step_rule *,
                                          double, int),
                           double (*std)(const aihw_step_device *, const aihw_step_rule *,
                                         double, int, double)) {
  step_case c;
  c.name = name;
  c.params = p;
  c.device = (aihw_step_device){0.6f, -0.6f, 0.001f, 0.0008f, {e0, e1, e2}};
  c.mean = mean;
  c.std = std;
  return c;
}

/* For every model, weights -0.3, 0, 0.3, up and down: N_STEPS steps from the same weight
 * with independent xi. The step is linear in xi for every rule, so its mean is the
 * noise-free step and its std the ctoc spread; SE as in the file comment, plus 3e-8 for
 * the float32 rounding of w + dw (half an ulp of 0.3). */
static void single_noisy_steps_follow_the_closed_form_rules(void) {
  aihw_device_params exp_complex = rule_params(AIHW_DEVICE_EXP_STEP);
  exp_complex.dw_min_std_add = 0.0005f;
  exp_complex.dw_min_std_slope = 0.002f;
  aihw_device_params linear_add = rule_params(AIHW_DEVICE_LINEAR_STEP);
  linear_add.mult_noise = 0;
  aihw_device_params sb_ref_mult = rule_params(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE);
  sb_ref_mult.mult_noise = 1;
  aihw_device_params piecewise = rule_params(AIHW_DEVICE_PIECEWISE_STEP);
  const float nodes_up[5] = {1.5f, 1.2f, 1.0f, 0.8f, 0.4f};
  const float nodes_down[5] = {0.4f, 0.8f, 1.0f, 1.2f, 1.5f};
  piecewise.piecewise_n = 5;
  memcpy(piecewise.piecewise_up, nodes_up, sizeof nodes_up);
  memcpy(piecewise.piecewise_down, nodes_down, sizeof nodes_down);
  /* LinearStep slopes for gamma 0.5 / 0.3 and mean bounds +-0.6 */
  const float lin_up = -0.5f * 0.001f / 0.6f, lin_down = -0.3f * 0.0008f / -0.6f;
  const step_case cases[] = {
      make_case("ConstantStep", rule_params(AIHW_DEVICE_CONSTANT_STEP), 0, 0, 0, mean_constant,
                std_mult),
      make_case("LinearStep mult", rule_params(AIHW_DEVICE_LINEAR_STEP), lin_up, lin_down, 0,
                mean_linear, std_mult),
      make_case("LinearStep additive", linear_add, lin_up, lin_down, 0, mean_linear,
                std_additive),
      make_case("SoftBounds", rule_params(AIHW_DEVICE_SOFT_BOUNDS), -0.001f / 0.6f,
                -0.0008f / -0.6f, 0, mean_linear, std_mult),
      make_case("ExpStep", rule_params(AIHW_DEVICE_EXP_STEP), 0, 0, 0, mean_exp, std_mult),
      make_case("ExpStep complex noise", exp_complex, 0, 0, 0, mean_exp, std_exp_complex),
      make_case("PowStep", rule_params(AIHW_DEVICE_POW_STEP), 2.0f, 1.6f, 0, mean_pow,
                std_mult),
      make_case("PowStepReference", rule_params(AIHW_DEVICE_POW_STEP_REFERENCE), 1.5f, 2.5f,
                0.1f, mean_pow_reference, std_mult),
      make_case("PiecewiseStep", piecewise, 0, 0, 0, mean_piecewise, std_mult),
      make_case("SoftBoundsReference additive", rule_params(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE),
                0.1f, 0, 0, mean_sb_reference, std_additive),
      make_case("SoftBoundsReference mult", sb_ref_mult, -0.1f, 0, 0, mean_sb_reference,
                std_mult),
  };
  float *xi = malloc(N_STEPS * sizeof(float)), *dw = malloc(N_STEPS * sizeof(float));
  const float weights[3] = {-0.3f, 0.0f, 0.3f};
  uint32_t row = 0;
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; ++c) {
    const aihw_step_rule r = aihw_step_rule_make(&cases[c].params);
    const aihw_step_device *d = &cases[c].device;
    for (int iw = 0; iw < 3; ++iw)
      for (int up = 0; up <= 1; ++up) {
        const aihw_rng_stream st = aihw_rng_stream_make(99, 0, 0, AIHW_RNG_STEP_NOISE, 0);
        aihw_rng_fill_normal(&st, row++, 0, xi, N_STEPS);
        const float w = weights[iw];
        for (int k = 0; k < N_STEPS; ++k)
          dw[k] = aihw_device_step(&r, d, w, up, xi[k]) - w;
        const double mean = cases[c].mean(d, &r, w, up);
        const double std = cases[c].std(d, &r, w, up, mean);
        const moments m = moments_of(dw, N_STEPS);
        const double tol_mean = 5.0 * std / sqrt((double)N_STEPS) + 3e-8;
        const double tol_std = 5.0 * std / sqrt(2.0 * (N_STEPS - 1)) + 3e-8;
        if (!(fabs(m.mean - mean) <= tol_mean) || !(fabs(m.std - std) <= tol_std)) {
          fprintf(stderr,
                  "%s w=%g %s: mean %.6g (want %.6g +- %.2g), std %.6g (want %.6g +- %.2g)\n",
                  cases[c].name, (double)w, up ? "up" : "down", m.mean, mean, tol_mean, m.std,
                  std, tol_std);
          ++test_failures_;
        }
      }
  }
  free(xi);
  free(dw);
}

/* ---- construction seed --------------------------------------------------------------------
 */

static int states_equal(const aihw_device_state *a, const aihw_device_state *b) {
  const size_t bytes = (size_t)a->size * sizeof(float);
  int same = memcmp(a->max_bound, b->max_bound, bytes) == 0 &&
             memcmp(a->min_bound, b->min_bound, bytes) == 0 &&
             memcmp(a->scale_up, b->scale_up, bytes) == 0 &&
             memcmp(a->scale_down, b->scale_down, bytes) == 0 &&
             memcmp(a->decay_scale, b->decay_scale, bytes) == 0 &&
             memcmp(a->diffusion_rate, b->diffusion_rate, bytes) == 0 &&
             memcmp(a->reset_bias, b->reset_bias, bytes) == 0 &&
             memcmp(a->drift_nu, b->drift_nu, bytes) == 0;
  for (int e = 0; e < AIHW_DEVICE_MAX_EXTRA; ++e)
    if (a->extra[e] != NULL)
      same &= memcmp(a->extra[e], b->extra[e], bytes) == 0;
  return same;
}

static int64_t count_different(const float *a, const float *b, int64_t n) {
  int64_t count = 0;
  for (int64_t k = 0; k < n; ++k)
    count += a[k] != b[k];
  return count;
}

static void construction_seed_fixes_every_device_value(void) {
  const aihw_device_type types[] = {AIHW_DEVICE_LINEAR_STEP, AIHW_DEVICE_POW_STEP_REFERENCE,
                                    AIHW_DEVICE_SOFT_BOUNDS_REFERENCE};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; ++i) {
    aihw_device_params p = aihw_device_params_default(types[i]);
    p.construction_seed = 1234;
    p.lifetime = 100.0f;
    p.lifetime_dtod = 0.1f;
    p.diffusion = 0.01f;
    p.diffusion_dtod = 0.1f;
    p.reset_dtod = 0.01f;
    p.drift.nu = 0.05f;
    p.drift.nu_dtod = 0.1f;
    p.gamma_up = 0.3f;
    p.reference_std = 0.05f;
    p.pow_up_down_dtod = 0.05f;
    p.slope_up_dtod = p.slope_down_dtod = 0.1f;
    aihw_device_state *a = make_state(&p, 7), *b = make_state(&p, 7);
    CHECK(states_equal(a, b));
    aihw_device_params q = p;
    q.construction_seed = 1235;
    aihw_device_state *c = make_state(&q, 7), *t = make_state(&p, 8);
    const int n_extra = aihw_device_model_of(types[i])->n_extra;
    const int64_t n = a->size;
    /* every drawn quantity changes with the seed, and with the tile */
    const aihw_device_state *other[2] = {c, t};
    for (int o = 0; o < 2; ++o) {
      CHECK(count_different(a->max_bound, other[o]->max_bound, n) == n);
      CHECK(count_different(a->scale_up, other[o]->scale_up, n) == n);
      CHECK(count_different(a->decay_scale, other[o]->decay_scale, n) > n * 99 / 100);
      CHECK(count_different(a->reset_bias, other[o]->reset_bias, n) == n);
      CHECK(count_different(a->drift_nu, other[o]->drift_nu, n) == n);
      for (int e = 0; e < n_extra; ++e)
        CHECK(count_different(a->extra[e], other[o]->extra[e], n) > n * 99 / 100);
    }
    aihw_device_state_destroy(a);
    aihw_device_state_destroy(b);
    aihw_device_state_destroy(c);
    aihw_device_state_destroy(t);
  }
}

TEST_MAIN(TEST(common_dtod_statistics_match_aihwkit),
          TEST(log_normal_step_gain_has_the_configured_spread),
          TEST(corrupt_devices_are_stuck_at_uniform_values),
          TEST(enforce_consistency_fixes_signs_or_turns_devices_off),
          TEST(linear_step_slopes_spread_with_gamma_dtod),
          TEST(pow_step_gammas_spread_as_aihwkit),
          TEST(soft_bounds_reference_rescales_bounds_by_slope_dtod),
          TEST(single_noisy_steps_follow_the_closed_form_rules),
          TEST(construction_seed_fixes_every_device_value))
