/* Statistical noise models of programmed devices (reference §6.6): programming noise,
 * drift exponents, drift and read (1/f) noise of one device conductance, for
 * PCMLikeNoiseModel, StateIndependentNoiseModel and CustomDriftPCMLikeNoiseModel. Pure
 * static inline functions shared by every backend (DESIGN.md §4 rule 1); conductances in
 * uS, times in seconds.
 *
 *   sigma_prog = (c0 + c1 r + c2 r^2 + ...) * g_max/g_ref,  r = g_T/g_max   (PCM; the
 *                state-independent model has no g_max/g_ref factor)
 *   g_prog     = max(g_T + prog_noise_scale sigma_prog xi, 0)
 *   mu_nu      = clip(-0.0155 ln(g_rel) + 0.0244, 0.049, 0.1), g_rel = max(|r|, 1e-7)
 *   sigma_nu   = clip(-0.0125 ln(g_rel) - 0.0059, 0.008, 0.045)
 *   nu         = |mu_nu + sigma_nu xi| drift_scale        (a folded normal)
 *   g_drift    = g_prog (t/t_0)^-nu,  t = t_inference + t_0   (only if t > t_0)
 *   Q_s        = min(0.0088 / max((|g_prog|/g_max)^0.65, 1e-3), 0.2)
 *   g(t)       = max(g_drift + |g_drift| read_noise_scale Q_s sqrt(ln((t + t_read) /
 *                (2 t_read))) xi, 0)      (state-independent: |g_drift|/g_max for Q_s)
 *
 * Float operation order is aihwkit's (the `float32_recipe` of
 * tests/data/golden/pcm_functions.json), so that sigma_prog, mu_nu, sigma_nu and the
 * drift factor reproduce aihwkit bit for bit and Q_s within torch's 1-ulp powf error.
 *
 * The logarithms and powers are computed here, not by libm: aihw_pcm_log() and
 * aihw_pcm_exp() evaluate ln and exp in double with +, -, *, / and bit operations only
 * (relative error near 2^-52), and the float results are rounded once from them. That
 * makes logf and powf correctly rounded except where the exact value lies within about
 * 2^-51 of a float rounding tie. Checked against logl/powl (80 bit) on every float: of
 * 212 418 668 arguments in [1e-7, 4] (logf and powf(x, 0.65)) and 481 895 336 drift
 * factors (nu in [1e-4, 2] at the four golden times), 4 differ by an ulp, all such
 * near-ties; glibc 2.36's logf, powf differ on 292 329, 133 691 and 290 789 of them.
 * tests/unit/test_pcm_golden.c repeats a sample of this. Being libm-free, the same bits
 * come out of gcc's SIMD loops and of CUDA (compiled without FMA contraction), and the
 * element loops of src/inference/program.c vectorise (glibc's scalar logf and powf cost
 * 8 and 11 ns here).
 */
#ifndef AIHW_PHYSICS_PCM_MATH_H
#define AIHW_PHYSICS_PCM_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "aihw/inference.h"
#include "core/hd.h"
#include "core/philox.h"
#include "physics/converter_math.h"

/* ---- Correctly rounded (almost always) logarithm and power ------------------------- */

AIHW_HD static inline uint64_t aihw_double_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

AIHW_HD static inline double aihw_bits_double(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* ln 2 split so that e * AIHW_LN2_HI is exact for |e| < 2^11 (fdlibm's constants). */
#define AIHW_LN2_HI 0x1.62e42fefa3800p-1
#define AIHW_LN2_LO 0x1.ef35793c76730p-45

/* ln(x) in double for a positive normal float x (also finite for +inf and subnormals, but
 * then meaningless). x = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s),
 * s = (m-1)/(m+1), |s| < 0.1716, by its series up to s^21 (truncation below 1e-18
 * relative). m - 1 and m + 1 are exact in double, so the error is a few double ulps. */
AIHW_HD static inline double aihw_pcm_log(float x) {
  uint32_t bits = aihw_float_bits(x);
  int32_t e = (int32_t)((bits >> 23) & 0xffu) - 127;
  uint32_t m_bits = (bits & 0x007fffffu) | 0x3f800000u; /* m in [1, 2) */
  /* Integer select (see aihw_fselect): m > sqrt(2) is halved by its exponent. */
  uint32_t big = m_bits > 0x3fb504f3u;
  m_bits -= big << 23;
  e += (int32_t)big;
  double m = (double)aihw_bits_float(m_bits);
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double p = 1.0 / 21.0;
  p = 1.0 / 19.0 + s2 * p;
  p = 1.0 / 17.0 + s2 * p;
  p = 1.0 / 15.0 + s2 * p;
  p = 1.0 / 13.0 + s2 * p;
  p = 1.0 / 11.0 + s2 * p;
  p = 1.0 / 9.0 + s2 * p;
  p = 1.0 / 7.0 + s2 * p;
  p = 1.0 / 5.0 + s2 * p;
  p = 1.0 / 3.0 + s2 * p;
  double two_s = 2.0 * s;
  double ln_m = two_s + two_s * (s2 * p);
  double ed = (double)e;
  return ed * AIHW_LN2_HI + (ed * AIHW_LN2_LO + ln_m);
}

/* exp(y) in double for y in [-1e9, 88]; results below 2^-200 (far under the smallest
 * float) are 0. y = k ln2 + r, |r| <= ln2/2, exp(r) by its Taylor series to r^13
 * (truncation below 5e-18 relative); k from the round-to-nearest of 1.5 2^52 + y/ln2,
 * read back from the bits, so that no float-to-integer conversion is needed. */
AIHW_HD static inline double aihw_pcm_exp(double y) {
  const double shifter = 0x1.8p52;
  double t = y * 0x1.71547652b82fep0 + shifter;
  double kd = t - shifter;
  int64_t k = (int64_t)(aihw_double_bits(t) - aihw_double_bits(shifter));
  double r = (y - kd * AIHW_LN2_HI) - kd * AIHW_LN2_LO;
  double p = 1.0 / 6227020800.0;
  p = 1.0 / 479001600.0 + r * p;
  p = 1.0 / 39916800.0 + r * p;
  p = 1.0 / 3628800.0 + r * p;
  p = 1.0 / 362880.0 + r * p;
  p = 1.0 / 40320.0 + r * p;
  p = 1.0 / 5040.0 + r * p;
  p = 1.0 / 720.0 + r * p;
  p = 1.0 / 120.0 + r * p;
  p = 1.0 / 24.0 + r * p;
  p = 1.0 / 6.0 + r * p;
  p = 0.5 + r * p;
  p = 1.0 + r * p;
  p = 1.0 + r * p;
  uint64_t keep = 0u - (uint64_t)(k >= -200); /* integer select: 2^k or 0 */
  uint64_t scale_bits = ((uint64_t)(k + 1023) << 52) & keep;
  return p * aihw_bits_double(scale_bits);
}

/* logf(x), x a positive normal float. */
AIHW_HD static inline float aihw_pcm_logf(float x) { return (float)aihw_pcm_log(x); }

/* powf(x, a) for a positive normal float x and |a ln x| < 88. */
AIHW_HD static inline float aihw_pcm_powf(float x, float a) {
  return (float)aihw_pcm_exp((double)a * aihw_pcm_log(x));
}

/* ---- Programming noise -------------------------------------------------------------- */

/* sigma_prog of target conductance g_T: the polynomial sum_i c_i r^i (i < n),
 * r = g_T/g_max (a float division; powers built up as aihwkit's loop does: r, r*r,
 * (r*r)*r, ...), times `factor` (PCM: g_max/g_ref rounded to float; state-independent
 * model: 1). */
AIHW_HD static inline float aihw_pcm_prog_sigma(const float *coeff, int n, float g_target,
                                                float g_max, float factor) {
  float r = g_target / g_max;
  float power = 1.0f;
  float sigma = n > 0 ? coeff[0] : 0.0f;
  for (int i = 1; i < n; ++i) {
    power = power * r;
    sigma = sigma + power * coeff[i];
  }
  return sigma * factor;
}

/* g_prog = max(g_T + (prog_noise_scale sigma) xi, 0). */
AIHW_HD static inline float aihw_pcm_program(float g_target, float sigma,
                                             float prog_noise_scale, float xi) {
  return aihw_fmax_of(g_target + (prog_noise_scale * sigma) * xi, 0.0f);
}

/* ---- Drift exponents ---------------------------------------------------------------- */

/* PCM mean and std of nu at target conductance g_T (one shared logarithm). */
AIHW_HD static inline void aihw_pcm_nu_moments(float g_target, float g_max, float *mu,
                                               float *sigma) {
  float r = g_target / g_max;
  /* max(|r|, 1e-7f) on the bits: non-negative floats order as their bit patterns. */
  uint32_t abs_bits = aihw_float_bits(r) & 0x7fffffffu;
  uint32_t floor_bits = aihw_float_bits(1e-7f);
  uint32_t rel_bits = abs_bits > floor_bits ? abs_bits : floor_bits;
  float l = aihw_pcm_logf(aihw_bits_float(rel_bits));
  *mu = aihw_fclamp(-0.0155f * l + 0.0244f, 0.049f, 0.1f);
  *sigma = aihw_fclamp(-0.0125f * l - 0.0059f, 0.008f, 0.045f);
}

/* CustomDrift: mean and std of nu by linear interpolation (numpy.interp in double) of the
 * tables at g_T clipped to [g[0], g[n-1]]. slope tables as aihw_interp_slopes(). */
AIHW_HD static inline void aihw_pcm_nu_moments_table(float g_target, const double *g,
                                                     const double *mean,
                                                     const double *mean_slope,
                                                     const double *std, const double *std_slope,
                                                     int n, float *mu, float *sigma) {
  float lo = (float)g[0], hi = (float)g[n - 1];
  float x = aihw_fselect(g_target > hi, hi, aihw_fselect(g_target < lo, lo, g_target));
  *mu = (float)aihw_interp((double)x, g, mean, mean_slope, n);
  *sigma = (float)aihw_interp((double)x, g, std, std_slope, n);
}

/* nu = |mu + sigma xi| drift_scale. */
AIHW_HD static inline float aihw_pcm_nu(float mu, float sigma, float xi, float drift_scale) {
  return fabsf(mu + sigma * xi) * drift_scale;
}

/* ---- Drift and read noise ------------------------------------------------------------ */

/* t = t_inference + t_0 in double (aihwkit's Python floats). */
AIHW_HD static inline double aihw_pcm_time(double t_inference, double t_0) {
  return t_inference + t_0;
}

/* Base t/t_0 of the drift power, rounded to float; 1 when t <= t_0 (no drift). */
AIHW_HD static inline float aihw_pcm_drift_base(double t_inference, double t_0) {
  double t = aihw_pcm_time(t_inference, t_0);
  return t > t_0 ? (float)(t / t_0) : 1.0f;
}

/* (t/t_0)^-nu from ln_base = aihw_pcm_log(base). nu is clamped to [0, 1e6] (programming
 * never draws outside) so that every input gives a finite result. */
AIHW_HD static inline float aihw_pcm_drift_factor_ln(double ln_base, float nu) {
  float nu_c = aihw_fmin_of(aihw_fselect(nu > 0.0f, nu, 0.0f), 1e6f);
  return (float)aihw_pcm_exp(-(double)nu_c * ln_base);
}

/* powf(base, -nu), base = aihw_pcm_drift_base(). */
AIHW_HD static inline float aihw_pcm_drift_factor(float base, float nu) {
  return aihw_pcm_drift_factor_ln(aihw_pcm_log(base), nu);
}

/* sqrt(ln((t + t_read) / (2 t_read))) in double (numpy's float64 in aihwkit). */
AIHW_HD static inline double aihw_pcm_read_factor(double t_inference, double t_0,
                                                  double t_read) {
  double t = aihw_pcm_time(t_inference, t_0);
  return sqrt(log((t + t_read) / (2.0 * t_read)));
}

/* PCM read-noise factor Q_s at conductance g:
 * min((1/max(powf(|g|/g_max, 0.65), 1e-3)) 0.0088, 0.2). Below |g|/g_max = 1e-30 the
 * power is taken at 1e-30: the 1e-3 floor applies there either way. */
AIHW_HD static inline float aihw_pcm_read_qs(float g, float g_max) {
  float x = fabsf(g) / g_max;
  uint32_t x_bits = aihw_float_bits(x), floor_bits = aihw_float_bits(1e-30f);
  float p = aihw_pcm_powf(aihw_bits_float(x_bits > floor_bits ? x_bits : floor_bits), 0.65f);
  return aihw_fmin_of((1.0f / aihw_fmax_of(p, 1e-3f)) * 0.0088f, 0.2f);
}

/* PCM device at inference time: drift factor df (1: none), read-noise sigma
 * sigma_read = Q_s * (float)read_factor, one normal xi:
 * max(g df + ((|g df| read_noise_scale) sigma_read) xi, 0). */
AIHW_HD static inline float aihw_pcm_read(float g, float df, float sigma_read,
                                          float read_noise_scale, float xi) {
  float g_drift = g * df;
  return aihw_fmax_of(g_drift + ((fabsf(g_drift) * read_noise_scale) * sigma_read) * xi, 0.0f);
}

/* State-independent device: max(g df + ((|g df / g_max| read_noise_scale) read_factor) xi,
 * 0). */
AIHW_HD static inline float aihw_state_independent_read(float g, float df, float g_max,
                                                        float read_factor,
                                                        float read_noise_scale, float xi) {
  float g_drift = g * df;
  return aihw_fmax_of(
      g_drift + ((fabsf(g_drift / g_max) * read_noise_scale) * read_factor) * xi, 0.0f);
}

#endif
