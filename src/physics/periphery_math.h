/* Scalar physics of the tile periphery (reference §3.3–3.8): quantisers, noise-management
 * factors, output non-idealities and the ADC stage. Pure static inline functions shared
 * by every backend (DESIGN.md §4 rule 1); no allocation, no I/O, no globals.
 *
 * Every function follows aihwkit's float32 operation order, so that the noise-free golden
 * vectors (tests/data/golden) are reproduced bit for bit. Compile with FMA contraction
 * off (-ffp-contract=off, nvcc --fmad=false).
 */
#ifndef AIHW_PHYSICS_PERIPHERY_MATH_H
#define AIHW_PHYSICS_PERIPHERY_MATH_H

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "core/hd.h"

/* aihwkit's checkRes (§3.2): negative -> 0 (off), r > 1 means "r steps" -> 1/r. */
AIHW_HD static inline float aihw_check_res(float res) {
  if (res < 0.0f)
    return 0.0f;
  return res > 1.0f ? 1.0f / res : res;
}

/* Effective quantisation step of a converter with raw range +-bound (§3.2 step 2). It is
 * computed from the raw bound, so bound <= 0 (no bound) also gives a step <= 0 (no
 * quantisation). */
AIHW_HD static inline float aihw_res_effective(float res, float bound) {
  return aihw_check_res(res) * (2.0f * bound);
}

/* Range used in computations: bound <= 0 means unbounded (§3.2 step 4). */
AIHW_HD static inline float aihw_bound_effective(float bound) {
  return bound <= 0.0f ? INFINITY : bound;
}

/* Quantise v to the grid of step res (§3.3). Deterministic rounding is round-half-even
 * (rintf in the default rounding mode); stochastic rounding adds (u - 1/2) with u uniform
 * in [0, 1) before rounding, which makes the result unbiased. res <= 0: no quantisation. */
AIHW_HD static inline float aihw_discretize(float v, float res, int sto_round, float u) {
  if (res <= 0.0f)
    return v;
  if (sto_round)
    return rintf(v / res + (u - 0.5f)) * res;
  return rintf(v / res) * res;
}

AIHW_HD static inline float aihw_clip(float v, float lo, float hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* DAC stage of one input (§3.6, CPU order: quantise -> clip -> noise -> asymmetry).
 * `noise` is inp_noise * xi (0 if off); u is the rounding uniform. */
AIHW_HD static inline float aihw_dac(float v, float res, int sto_round, float u, float bound,
                                     float noise, float asymmetry) {
  v = aihw_discretize(v, res, sto_round, u);
  v = aihw_clip(v, -bound, bound);
  v = v + noise;
  if (asymmetry != 0.0f && v < 0.0f)
    v = v * (1.0f - asymmetry);
  return v;
}

/* IR-drop correction factor k(a) = a (a (0.05 a - 0.2) + 0.5) of the normalised output
 * current a_i = (n / g_ratio) c_i (§3.7 item 1). */
AIHW_HD static inline float aihw_ir_drop_k(float a) {
  return a * (a * (0.05f * a - 0.2f) + 0.5f);
}

/* Position weight of input j of n in the IR-drop model: 1 - (1 - j/n)^2 (§3.7). */
AIHW_HD static inline float aihw_ir_drop_position_weight(int64_t j, int64_t n) {
  float f = 1.0f - (float)j / (float)n;
  return 1.0f - f * f;
}

/* Voltage offset / series resistance of one output (§3.7 item 2). y: analog output,
 * vo: that output's offset, rs: series resistance (<= 0: none), rs_max: cap of rs|y|,
 * w_min: weight of the implicit reference device (0: none), x_sum: sum of the inputs. */
AIHW_HD static inline float aihw_voltage_offset(float y, float vo, float rs, float rs_max,
                                                float w_min, float x_sum) {
  if (w_min == 0.0f) {
    if (rs <= 0.0f)
      return (1.0f - vo) * y;
    return (1.0f - vo) * y / (1.0f + fminf(rs * fabsf(y), rs_max));
  }
  if (rs <= 0.0f)
    return (1.0f - vo) * y - vo * (-2.0f * w_min * x_sum);
  float yr = -w_min * x_sum;
  float yp = y + yr;
  return (1.0f - vo) * yp / (1.0f + fminf(rs * fabsf(yp), rs_max)) -
         (1.0f + vo) * yr / (1.0f + fminf(rs * fabsf(yr), rs_max));
}

/* S-shaped output non-linearity with slope calibration (§3.8):
 * v -> nl_factor * v / (1 + |nl_i v|). */
AIHW_HD static inline float aihw_output_nonlinearity(float v, float nl_i, float nl_factor) {
  return nl_factor * v / (1.0f + fabsf(nl_i * v));
}

/* ADC stage of one output (§3.8) after the non-linearity: asymmetry -> noise -> quantise
 * -> clip to +-bound. `noise` is sigma_i * xi, u the rounding uniform. *saturation is set
 * to +1 / -1 when the positive / negative bound was hit and left alone otherwise. */
AIHW_HD static inline float aihw_adc(float v, float asymmetry, float noise, float res,
                                     int sto_round, float u, float bound, int *saturation) {
  if (asymmetry > 0.0f && v < 0.0f)
    v = v * (1.0f - asymmetry);
  v = v + noise;
  v = aihw_discretize(v, res, sto_round, u);
  if (v > bound) {
    *saturation = 1;
    return bound;
  }
  if (v < -bound) {
    *saturation = -1;
    return -bound;
  }
  return v;
}

#endif
