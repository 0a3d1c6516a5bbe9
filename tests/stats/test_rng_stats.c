/* Statistical tests of the Philox streams (core/rng.h): the normals have the moments,
 * distribution and tails of N(0, 1), the uniforms are uniform, and neighbouring elements,
 * rows, op counters, tiles and seeds are uncorrelated.
 *
 * Every test uses fixed seeds, so it is deterministic. Tolerances are 5 standard errors
 * of the estimator under the null hypothesis (a false alarm for one statistic would have
 * probability below 6e-7 for a fresh seed), or the 0.001 critical value of the named test;
 * the comment at each check gives the standard error. Run time is about a second in a
 * Release build, dominated by sorting 4e6 floats for the Kolmogorov-Smirnov test. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/rng.h"
#include "test_util.h"

/* Main sample: 100 rows of 40000 normals = 4e6 values. */
enum { ROWS = 100, COLS = 40000 };
#define N_MAIN ((double)ROWS * COLS)

static const double sqrt_half = 0.70710678118654752440;

static aihw_rng_stream main_stream(void) {
  return aihw_rng_stream_make(0x5eed1234u, 17u, 3u, AIHW_RNG_OUTPUT_NOISE, 0u);
}

/* rows x cols values, row r filled from element 0 of row r of `s`. Caller frees. */
static float *sample(const aihw_rng_stream *s, int uniform, size_t rows, size_t cols) {
  float *x = malloc(rows * cols * sizeof *x);
  if (x == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t r = 0; r < rows; ++r) {
    if (uniform)
      aihw_rng_fill_uniform(s, (uint32_t)r, 0, x + r * cols, cols);
    else
      aihw_rng_fill_normal(s, (uint32_t)r, 0, x + r * cols, cols);
  }
  return x;
}

/* Mean of x[i] y[i] over n pairs: the correlation estimate for values of known mean 0 and
 * variance 1. */
static double mean_product(const float *x, const float *y, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i)
    sum += (double)x[i] * (double)y[i];
  return sum / (double)n;
}

/* Mean 0, variance 1, skewness 0, kurtosis 3 over N = 4e6. Standard errors for N(0, 1):
 * mean 1/sqrt(N) = 5.0e-4, variance sqrt(2/N) = 7.1e-4, skewness sqrt(6/N) = 1.2e-3,
 * kurtosis sqrt(24/N) = 2.4e-3. */
static void normal_moments_match_standard_normal(void) {
  aihw_rng_stream s = main_stream();
  float *x = sample(&s, 0, ROWS, COLS);
  const size_t n = (size_t)ROWS * COLS;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i)
    sum += x[i];
  double mean = sum / (double)n;
  double m2 = 0.0, m3 = 0.0, m4 = 0.0;
  for (size_t i = 0; i < n; ++i) {
    double d = (double)x[i] - mean, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= (double)n;
  m3 /= (double)n;
  m4 /= (double)n;
  double skewness = m3 / pow(m2, 1.5), kurtosis = m4 / (m2 * m2);
  printf("  N = %.0f: mean %.2e, variance %.6f, skewness %.2e, kurtosis %.5f\n", N_MAIN, mean,
         m2, skewness, kurtosis);
  CHECK_NEAR(mean, 0.0, 5.0 / sqrt(N_MAIN));
  CHECK_NEAR(m2, 1.0, 5.0 * sqrt(2.0 / N_MAIN));
  CHECK_NEAR(skewness, 0.0, 5.0 * sqrt(6.0 / N_MAIN));
  CHECK_NEAR(kurtosis, 3.0, 5.0 * sqrt(24.0 / N_MAIN));
  free(x);
}

static int compare_floats(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Kolmogorov-Smirnov against Phi(x) = erfc(-x / sqrt 2) / 2 over N = 4e6: D sqrt(N) below
 * 1.95, the asymptotic 0.001 critical value of the Kolmogorov distribution. Tied values
 * (floats repeat) are compared at the empirical CDF just below and just above the tie. */
static void normal_passes_kolmogorov_smirnov(void) {
  aihw_rng_stream s = main_stream();
  float *x = sample(&s, 0, ROWS, COLS);
  const size_t n = (size_t)ROWS * COLS;
  qsort(x, n, sizeof *x, compare_floats);
  double d = 0.0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && x[j] == x[i])
      ++j;
    double cdf = 0.5 * erfc(-(double)x[i] * sqrt_half);
    double below = (double)i / (double)n, above = (double)j / (double)n;
    d = fmax(d, fmax(fabs(cdf - below), fabs(cdf - above)));
    i = j;
  }
  printf("  N = %.0f: D sqrt(N) = %.3f (critical value at 0.001: 1.95)\n", N_MAIN,
         d * sqrt(N_MAIN));
  CHECK(d * sqrt(N_MAIN) < 1.95);
  free(x);
}

/* P(|z| > 4) = erfc(4 / sqrt 2) = 6.334e-5 and P(|z| > 5) = 5.733e-7 over N = 1e8 normals
 * (generated in rows of 2^15, not stored): binomial standard errors sqrt(N p (1 - p)) = 80
 * and 7.6 counts, i.e. 1.3 % and 13 % of the expected 6334 and 57. The largest radius
 * Box-Muller can produce from u1 >= 2^-24 is sqrt(2 ln 2^24) = 5.768. */
static void normal_tails_match_standard_normal(void) {
  aihw_rng_stream s = aihw_rng_stream_make(0x7a11u, 5u, 1u, AIHW_RNG_INPUT_NOISE, 0u);
  enum { ROW = 1 << 15 };
  const size_t rows = 3052; /* 3052 * 2^15 = 1.0001e8 */
  const double n = (double)rows * ROW;
  float *x = malloc(ROW * sizeof *x);
  CHECK(x != NULL);
  if (x == NULL)
    return;
  size_t beyond4 = 0, beyond5 = 0;
  float largest = 0.0f;
  for (size_t r = 0; r < rows; ++r) {
    aihw_rng_fill_normal(&s, (uint32_t)r, 0, x, ROW);
    for (size_t i = 0; i < ROW; ++i) {
      float a = fabsf(x[i]);
      beyond4 += a > 4.0f;
      beyond5 += a > 5.0f;
      largest = a > largest ? a : largest;
    }
  }
  double p4 = erfc(4.0 * sqrt_half), p5 = erfc(5.0 * sqrt_half);
  printf("  N = %.3g: |z|>4: %zu (expected %.0f), |z|>5: %zu (expected %.1f), max |z| %.4f\n",
         n, beyond4, n * p4, beyond5, n * p5, largest);
  CHECK_NEAR((double)beyond4, n * p4, 5.0 * sqrt(n * p4 * (1.0 - p4)));
  CHECK_NEAR((double)beyond5, n * p5, 5.0 * sqrt(n * p5 * (1.0 - p5)));
  CHECK(largest <= 5.77f);
  free(x);
}

/* 1000 equal bins over N = 4e6 uniforms (expected 4000 each): the chi-square statistic with
 * 999 degrees of freedom lies between its 0.001 and 0.999 quantiles, 866.5 and 1142.9
 * (Wilson-Hilferty). The 2^-24 grid makes bin probabilities unequal by at most 6e-5
 * relative, far below the 1.6 % counting noise of a bin. Mean 1/2 and variance 1/12 are
 * checked too (standard errors sqrt(1/12 N) = 1.4e-4 and sqrt(1/180 N) = 3.7e-5). */
static void uniform_passes_chi_square_over_1000_bins(void) {
  aihw_rng_stream s = aihw_rng_stream_make(0x5eed1234u, 17u, 3u, AIHW_RNG_INPUT_ROUND, 0u);
  float *u = sample(&s, 1, ROWS, COLS);
  const size_t n = (size_t)ROWS * COLS;
  enum { BINS = 1000 };
  static size_t count[BINS];
  memset(count, 0, sizeof count);
  double sum = 0.0, sum2 = 0.0;
  int in_range = 1;
  for (size_t i = 0; i < n; ++i) {
    in_range &= u[i] >= 0.0f && u[i] < 1.0f;
    count[(size_t)((double)u[i] * BINS)]++;
    sum += u[i];
    sum2 += (double)u[i] * u[i];
  }
  CHECK(in_range);
  double expected = N_MAIN / BINS, chi2 = 0.0;
  for (int b = 0; b < BINS; ++b)
    chi2 += ((double)count[b] - expected) * ((double)count[b] - expected) / expected;
  double mean = sum / N_MAIN, variance = sum2 / N_MAIN - mean * mean;
  printf("  N = %.0f: chi2 = %.1f (999 dof), mean %.6f, variance %.6f\n", N_MAIN, chi2, mean,
         variance);
  CHECK(chi2 > 866.5 && chi2 < 1142.9);
  CHECK_NEAR(mean, 0.5, 5.0 * sqrt(1.0 / 12.0 / N_MAIN));
  CHECK_NEAR(variance, 1.0 / 12.0, 5.0 * sqrt(1.0 / 180.0 / N_MAIN));
  free(u);
}

/* Serial test: non-overlapping pairs (u[2i], u[2i+1]) in a 32 x 32 grid, 2e6 pairs
 * (expected 1953 per cell); chi-square with 1023 degrees of freedom between its 0.001 and
 * 0.999 quantiles, 888.9 and 1168.5 (Wilson-Hilferty). Catches dependence between the
 * words of a block that a correlation would miss. */
static void uniform_pairs_pass_serial_chi_square(void) {
  aihw_rng_stream s = aihw_rng_stream_make(0x5eed1234u, 17u, 3u, AIHW_RNG_INPUT_ROUND, 1u);
  float *u = sample(&s, 1, ROWS, COLS);
  const size_t pairs = (size_t)ROWS * COLS / 2;
  enum { SIDE = 32 };
  static size_t count[SIDE][SIDE];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < pairs; ++i)
    count[(size_t)(u[2 * i] * SIDE)][(size_t)(u[2 * i + 1] * SIDE)]++;
  double expected = (double)pairs / (SIDE * SIDE), chi2 = 0.0;
  for (int a = 0; a < SIDE; ++a)
    for (int b = 0; b < SIDE; ++b)
      chi2 += ((double)count[a][b] - expected) * ((double)count[a][b] - expected) / expected;
  printf("  %zu pairs: chi2 = %.1f (1023 dof)\n", pairs, chi2);
  CHECK(chi2 > 888.9 && chi2 < 1168.5);
  free(u);
}

/* Correlation of elements e and e + lag within rows, lags 1..4 (the two normals of one
 * Box-Muller pair, the two pairs of a block, and neighbouring blocks), over ~4e6 pairs of
 * N(0, 1) values: E[x y] = 0 with standard error 1/sqrt(n) = 5.0e-4 (the overlapping
 * products are uncorrelated; for the Box-Muller pair r cos, r sin, E[x^2 y^2] =
 * E[r^4]/8 = 1 as for independent normals). Squares are compared too, as they would reveal
 * a shared radius: E[(x^2-1)(y^2-1)] = 0 with standard error Var(x^2) / sqrt(n) =
 * 2 / sqrt(n). */
static void neighbouring_elements_are_uncorrelated(void) {
  aihw_rng_stream s = main_stream();
  float *x = sample(&s, 0, ROWS, COLS);
  for (size_t lag = 1; lag <= 4; ++lag) {
    double sum = 0.0, sum_sq = 0.0;
    size_t n = 0;
    for (size_t r = 0; r < ROWS; ++r) {
      const float *row = x + r * COLS;
      for (size_t e = 0; e + lag < COLS; ++e) {
        double a = row[e], b = row[e + lag];
        sum += a * b;
        sum_sq += (a * a - 1.0) * (b * b - 1.0);
      }
      n += COLS - lag;
    }
    double corr = sum / (double)n, corr_sq = sum_sq / (double)n;
    printf("  lag %zu: E[x y] = %+.2e, Cov(x^2, y^2) = %+.2e (n = %zu)\n", lag, corr, corr_sq,
           n);
    CHECK_NEAR(corr, 0.0, 5.0 / sqrt((double)n));
    CHECK_NEAR(corr_sq, 0.0, 5.0 * 2.0 / sqrt((double)n));
  }
  free(x);
}

/* Element e of neighbouring streams: rows r and r + 1, op counters c and c + 1 (and
 * c + 2^32, the high word), tile ids, seeds and purposes, each over 4e6 pairs; E[x y]
 * within 5 standard errors, 5 / sqrt(4e6) = 2.5e-3. */
static void neighbouring_rows_and_streams_are_uncorrelated(void) {
  aihw_rng_stream s = main_stream();
  float *x = sample(&s, 0, ROWS, COLS);
  const size_t n = (size_t)ROWS * COLS;
  const double tol = 5.0 / sqrt(N_MAIN);

  /* Rows r and r + 1 of the same sample: 99 * 40000 pairs. */
  double rows = mean_product(x, x + COLS, n - COLS);
  printf("  rows r, r+1: %+.2e\n", rows);
  CHECK_NEAR(rows, 0.0, 5.0 / sqrt((double)(n - COLS)));

  const aihw_rng_stream others[] = {
      aihw_rng_stream_make(0x5eed1234u, 17u, 4u, AIHW_RNG_OUTPUT_NOISE, 0u),
      aihw_rng_stream_make(0x5eed1234u, 17u, 3u + (1ull << 32), AIHW_RNG_OUTPUT_NOISE, 0u),
      aihw_rng_stream_make(0x5eed1234u, 18u, 3u, AIHW_RNG_OUTPUT_NOISE, 0u),
      aihw_rng_stream_make(0x5eed1235u, 17u, 3u, AIHW_RNG_OUTPUT_NOISE, 0u),
      aihw_rng_stream_make(0x5eed1234u, 17u, 3u, AIHW_RNG_OUTPUT_NOISE_NEG, 0u),
      aihw_rng_stream_make(0x5eed1234u, 17u, 3u, AIHW_RNG_OUTPUT_NOISE, 1u),
  };
  const char *names[] = {"op counter + 1", "op counter + 2^32", "tile id + 1",
                         "seed + 1",       "purpose",           "round + 1"};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; ++i) {
    float *y = sample(&others[i], 0, ROWS, COLS);
    double c = mean_product(x, y, n);
    printf("  %s: %+.2e\n", names[i], c);
    CHECK_NEAR(c, 0.0, tol);
    free(y);
  }
  free(x);
}

TEST_MAIN(TEST(normal_moments_match_standard_normal), TEST(normal_passes_kolmogorov_smirnov),
          TEST(normal_tails_match_standard_normal),
          TEST(uniform_passes_chi_square_over_1000_bins),
          TEST(uniform_pairs_pass_serial_chi_square),
          TEST(neighbouring_elements_are_uncorrelated),
          TEST(neighbouring_rows_and_streams_are_uncorrelated))
