/* Statistics of the stochastic weight modifiers (reference §6.3) with fixed seeds: each type
 * produces the distribution of its formula. Every check uses N = 200 000 weights (500 x 400)
 * and a tolerance of 5 standard errors of the estimate: sigma/sqrt(N) for a mean,
 * sigma/sqrt(2N) for a standard deviation of Gaussian samples, sqrt(p(1-p)/N) for a
 * fraction. A correct implementation fails such a check with probability < 1e-6; the seeds
 * are fixed, so the outcome never changes between runs. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "aihw/common.h"
#include "aihw/inference.h"
#include "inference/inference_internal.h"
#include "physics/modifier_math.h"
#include "test_util.h"

#define ROWS 500
#define COLS 400
#define N ((size_t)ROWS * COLS)
#define PI 3.14159265358979323846

static const aihw_stream_key key = {20240607u, 3u, 11u};

static aihw_weight_modifier_params modifier(aihw_weight_modifier_type type) {
  aihw_weight_modifier_params p = aihw_inference_params_default().modifier;
  p.type = type;
  return p;
}

/* Weights with |w| in [0.09, 0.9), alternating signs, and w[0] = 0.9 so that amax = 0.9
 * (a low-discrepancy sequence: deterministic and evenly spread). */
static float *weights(void) {
  float *w = malloc(N * sizeof(float));
  for (size_t k = 0; k < N; ++k) {
    double frac = fmod(0.6180339887498949 * (double)k, 1.0);
    float magnitude = 0.9f * (0.1f + 0.9f * (float)frac);
    w[k] = (k & 1u) ? -magnitude : magnitude;
  }
  w[0] = 0.9f;
  return w;
}

static float *modified(const aihw_weight_modifier_params *p, const float *w) {
  float *out = malloc(N * sizeof(float));
  CHECK_OK(aihw_hwa_modify(p, w, ROWS, COLS, key, out));
  return out;
}

static void mean_std(const double *v, size_t n, double *mean, double *std) {
  double s = 0.0, s2 = 0.0;
  for (size_t k = 0; k < n; ++k)
    s += v[k];
  *mean = s / (double)n;
  for (size_t k = 0; k < n; ++k)
    s2 += (v[k] - *mean) * (v[k] - *mean);
  *std = sqrt(s2 / (double)(n - 1));
}

/* Checks that the samples v[n] have mean 0 and standard deviation `sigma` (5 SE). */
static void check_normal(const double *v, size_t n, double sigma) {
  double mean, std;
  mean_std(v, n, &mean, &std);
  CHECK_NEAR(mean, 0.0, 5.0 * sigma / sqrt((double)n));
  CHECK_NEAR(std, sigma, 5.0 * sigma / sqrt(2.0 * (double)n));
}

/* MULT_NORMAL: w' = w (1 + std_dev amax xi): relative change std 0.1 * 0.9 = 0.09 (aihwkit
 * measured 0.0895 on its sample). */
static void mult_normal_relative_change_has_std_dev_times_amax(void) {
  float *w = weights();
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_MULT_NORMAL);
  p.std_dev = 0.1f;
  float *out = modified(&p, w);
  double *r = malloc(N * sizeof(double));
  for (size_t k = 0; k < N; ++k)
    r[k] = ((double)out[k] - w[k]) / w[k];
  check_normal(r, N, 0.09);
  free(r);
  free(out);
  free(w);
}

/* ADD_NORMAL: w' = w + std_dev amax xi; amax = max|W| = 0.9, or assumed_wmax = 2. */
static void add_normal_change_has_std_dev_times_amax(void) {
  float *w = weights();
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_ADD_NORMAL);
  p.std_dev = 0.1f;
  double *d = malloc(N * sizeof(double));
  for (int assumed = 0; assumed < 2; ++assumed) {
    p.rel_to_actual_wmax = !assumed;
    p.assumed_wmax = 2.0f;
    float *out = modified(&p, w);
    for (size_t k = 0; k < N; ++k)
      d[k] = (double)out[k] - w[k];
    check_normal(d, N, assumed ? 0.2 : 0.09);
    free(out);
  }
  free(d);
  free(w);
}

/* DISCRETIZE_ADD_NORMAL: w' - amax disc(w / amax) ~ N(0, (std_dev amax)^2). */
static void discretize_add_normal_residual_has_std_dev_times_amax(void) {
  float *w = weights();
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_DISCRETIZE_ADD_NORMAL);
  p.std_dev = 0.05f;
  p.res = 0.1f;
  float *out = modified(&p, w);
  double *d = malloc(N * sizeof(double));
  const float amax = 0.9f;
  for (size_t k = 0; k < N; ++k)
    d[k] = (double)out[k] - amax * (roundf(w[k] / amax / 0.1f) * 0.1f);
  check_normal(d, N, 0.05 * 0.9);
  free(d);
  free(out);
  free(w);
}

/* POLY: (w' - w) / (amax std_dev poly(|w| / amax)) ~ N(0, 1) (aihwkit measured 0.99). */
static void poly_normalised_residual_has_unit_std(void) {
  float *w = weights();
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_POLY);
  p.std_dev = 2.0f;
  float *out = modified(&p, w);
  double *z = malloc(N * sizeof(double));
  const double amax = 0.9f;
  for (size_t k = 0; k < N; ++k) {
    double a = fabs((double)w[k]) / amax;
    double sigma = p.std_dev * (p.coeffs[0] + p.coeffs[1] * a + p.coeffs[2] * a * a);
    z[k] = ((double)out[k] - w[k]) / (amax * sigma);
  }
  check_normal(z, N, 1.0);
  free(z);
  free(out);
  free(w);
}

/* PROG_NOISE: as POLY with std_dev / g_max, sign preserved. With std_dev 25 (= g_max) every
 * |w| is more than 5.3 noise stds from 0, so reflection (probability < 1e-7 per weight)
 * cannot bias the normalised residual, which is N(0, 1); with std_dev 2500 most signs would
 * flip, and none does. */
static void prog_noise_keeps_signs_and_has_the_poly_std(void) {
  float *w = weights();
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_PROG_NOISE);
  p.std_dev = 25.0f;
  float *out = modified(&p, w);
  double *z = malloc(N * sizeof(double));
  const double amax = 0.9f;
  for (size_t k = 0; k < N; ++k) {
    double a = fabs((double)w[k]) / amax;
    double sigma = (p.coeffs[0] + p.coeffs[1] * a + p.coeffs[2] * a * a);
    z[k] = ((double)out[k] - w[k]) / (amax * sigma);
  }
  check_normal(z, N, 1.0);
  free(out);
  p.std_dev = 2500.0f;
  out = modified(&p, w);
  size_t flipped = 0, changed = 0;
  for (size_t k = 0; k < N; ++k) {
    flipped += (w[k] < 0.0f) != (out[k] < 0.0f);
    changed += out[k] != w[k];
  }
  CHECK(flipped == 0);
  CHECK(changed > N / 2);
  free(z);
  free(out);
  free(w);
}

/* Fraction of zeros p with 5 binomial SE; the other weights unchanged. */
static void check_dropped_fraction(const float *w, const float *out, double pdrop) {
  size_t zeros = 0, other_changed = 0;
  for (size_t k = 0; k < N; ++k) {
    if (out[k] == 0.0f)
      ++zeros;
    else if (out[k] != w[k])
      ++other_changed;
  }
  CHECK_NEAR((double)zeros / (double)N, pdrop, 5.0 * sqrt(pdrop * (1.0 - pdrop) / (double)N));
  CHECK(other_changed == 0);
}

/* DROP_CONNECT pdrop 0.2 (aihwkit: 19.5 %), COPY + pdrop 0.3 (aihwkit: 30.3 %). */
static void drop_connect_zeroes_a_fraction_pdrop(void) {
  float *w = weights();
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_DROP_CONNECT);
  p.pdrop = 0.2f;
  float *out = modified(&p, w);
  check_dropped_fraction(w, out, 0.2);
  free(out);
  p.type = AIHW_MODIFIER_COPY;
  p.pdrop = 0.3f;
  out = modified(&p, w);
  check_dropped_fraction(w, out, 0.3);
  free(out);
  free(w);
}

/* Stochastic rounding is unbiased: w = 0.1 with step 0.25 becomes 0.25 with probability
 * 0.4 and 0 otherwise, mean 0.1 (SE 0.25 sqrt(0.24 / N)). */
static void stochastic_rounding_is_unbiased(void) {
  float *w = malloc(N * sizeof(float));
  for (size_t k = 0; k < N; ++k)
    w[k] = 0.1f;
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_DISCRETIZE);
  p.res = 0.25f;
  p.sto_round = 1;
  p.rel_to_actual_wmax = 0;
  float *out = modified(&p, w);
  double sum = 0.0;
  size_t off_grid = 0;
  for (size_t k = 0; k < N; ++k) {
    sum += out[k];
    off_grid += out[k] != 0.0f && out[k] != 0.25f;
  }
  CHECK(off_grid == 0);
  CHECK_NEAR(sum / (double)N, 0.1, 5.0 * 0.25 * sqrt(0.24 / (double)N));
  free(out);
  free(w);
}

/* PCM_NOISE: a zero target stays exactly 0 and no weight changes sign, even with large
 * noise (std_dev 3) and drift. Every fourth weight is 0. */
static void pcm_noise_keeps_zeros_and_signs(void) {
  float *w = weights();
  for (size_t k = 0; k < N; k += 4)
    w[k] = 0.0f;
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_PCM_NOISE);
  p.std_dev = 3.0f;
  p.pcm_t_inference = 1e4f;
  float *out = modified(&p, w);
  size_t zero_changed = 0, flipped = 0, changed = 0;
  for (size_t k = 0; k < N; ++k) {
    if (w[k] == 0.0f)
      zero_changed += out[k] != 0.0f;
    else
      flipped += out[k] != 0.0f && (out[k] < 0.0f) != (w[k] < 0.0f);
    changed += out[k] != w[k];
  }
  CHECK(zero_changed == 0);
  CHECK(flipped == 0);
  CHECK(changed > N / 2);
  free(out);
  free(w);
}

/* Without programming and read noise (std_dev 0) and with |w| = amax (g = g_max,
 * sigma_nu = 0.008): w' = w (t/t0)^-nu, nu = |0.008 xi|, a folded normal of mean
 * 0.008 sqrt(2/pi) and std 0.008 sqrt(1 - 2/pi). Drift only shrinks (t = 1e6 s); at
 * t_inference = 0 nothing drifts. */
static void pcm_noise_drift_shrinks_with_the_folded_normal_exponent(void) {
  float *w = malloc(N * sizeof(float));
  for (size_t k = 0; k < N; ++k)
    w[k] = (k & 1u) ? -1.0f : 1.0f;
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_PCM_NOISE);
  p.std_dev = 0.0f;
  p.pcm_t_inference = 1e6f - 20.0f; /* t = t_inference + t0 = 1e6 s */
  float *out = modified(&p, w);
  double *nu = malloc(N * sizeof(double));
  size_t grew = 0;
  for (size_t k = 0; k < N; ++k) {
    nu[k] = -log(fabs((double)out[k])) / log(1e6 / 20.0);
    grew += fabsf(out[k]) > 1.0f || (out[k] < 0.0f) != (w[k] < 0.0f);
  }
  CHECK(grew == 0);
  double mean, std;
  mean_std(nu, N, &mean, &std);
  const double sigma = 0.008, fold_mean = sigma * sqrt(2.0 / PI);
  const double fold_std = sigma * sqrt(1.0 - 2.0 / PI);
  CHECK_NEAR(mean, fold_mean, 5.0 * fold_std / sqrt((double)N));
  /* std of a sample std: sigma sqrt((kurtosis - 1) / 4N); half-normal kurtosis 3.87 */
  CHECK_NEAR(std, fold_std, 5.0 * fold_std * sqrt(2.87 / 4.0 / (double)N));
  free(out);
  p.pcm_t_inference = 0.0f;
  out = modified(&p, w);
  for (size_t k = 0; k < N; ++k)
    CHECK(out[k] == w[k]);
  free(nu);
  free(out);
  free(w);
}

/* prob_at_reset 0.3: that fraction of (non-zero) targets ends at 0. prob_at_gmax 1: half
 * the targets (w = 0.5 amax, g = 12.5) move to g + g_max (clipped: |w'| = amax), half to
 * g - g_max (sign restored: |w'| = 0.5 amax). prob_at_random 1: |w'| = U amax, mean
 * amax / 2, std amax / sqrt(12). */
static void pcm_noise_reset_gmax_and_random_probabilities(void) {
  float *w = malloc(N * sizeof(float));
  for (size_t k = 0; k < N; ++k)
    w[k] = (k & 1u) ? -0.5f : 0.5f;
  w[0] = 1.0f; /* amax */
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_PCM_NOISE);
  p.std_dev = 0.0f;
  p.pcm_prob_at_reset = 0.3f;
  float *out = modified(&p, w);
  size_t zeros = 0;
  for (size_t k = 0; k < N; ++k)
    zeros += out[k] == 0.0f;
  CHECK_NEAR((double)zeros / (double)N, 0.3, 5.0 * sqrt(0.21 / (double)N));
  free(out);

  p.pcm_prob_at_reset = 0.0f;
  p.pcm_prob_at_gmax = 1.0f;
  out = modified(&p, w);
  size_t at_max = 0, at_half = 0;
  for (size_t k = 1; k < N; ++k) {
    at_max += fabsf(fabsf(out[k]) - 1.0f) < 1e-6f;
    at_half += fabsf(fabsf(out[k]) - 0.5f) < 1e-6f;
  }
  CHECK(at_max + at_half == N - 1);
  CHECK_NEAR((double)at_max / (double)(N - 1), 0.5, 5.0 * sqrt(0.25 / (double)(N - 1)));
  free(out);

  p.pcm_prob_at_gmax = 0.0f;
  p.pcm_prob_at_random = 1.0f;
  out = modified(&p, w);
  double *a = malloc(N * sizeof(double));
  size_t flipped = 0;
  for (size_t k = 0; k < N; ++k) {
    a[k] = fabs((double)out[k]) - 0.5;
    flipped += out[k] != 0.0f && (out[k] < 0.0f) != (w[k] < 0.0f);
  }
  CHECK(flipped == 0);
  double mean, std;
  mean_std(a, N, &mean, &std);
  const double uniform_std = 1.0 / sqrt(12.0);
  CHECK_NEAR(mean, 0.0, 5.0 * uniform_std / sqrt((double)N));
  /* uniform: std of the sample std = sigma sqrt((kurtosis - 1) / 4N), kurtosis 1.8 */
  CHECK_NEAR(std, uniform_std, 5.0 * uniform_std * sqrt(0.8 / 4.0 / (double)N));
  free(a);
  free(out);
  free(w);
}

TEST_MAIN(TEST(mult_normal_relative_change_has_std_dev_times_amax),
          TEST(add_normal_change_has_std_dev_times_amax),
          TEST(discretize_add_normal_residual_has_std_dev_times_amax),
          TEST(poly_normalised_residual_has_unit_std),
          TEST(prog_noise_keeps_signs_and_has_the_poly_std),
          TEST(drop_connect_zeroes_a_fraction_pdrop), TEST(stochastic_rounding_is_unbiased),
          TEST(pcm_noise_keeps_zeros_and_signs),
          TEST(pcm_noise_drift_shrinks_with_the_folded_normal_exponent),
          TEST(pcm_noise_reset_gmax_and_random_probabilities))
