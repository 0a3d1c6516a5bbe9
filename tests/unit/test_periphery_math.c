/* Exact behaviour of the scalar periphery physics (src/physics/periphery_math.h):
 * converter steps and levels, round-half-even, clipping, the ADC bound test, the IR-drop
 * polynomial and the non-linearity (reference §3.2–3.8). */
#include <float.h>

#include "aihw/aihw.h"
#include "physics/periphery_math.h"
#include "test_util.h"

static void resolution_above_one_means_number_of_steps(void) {
  CHECK_FEQ(aihw_check_res(126.0f), 1.0f / 126.0f);
  CHECK_FEQ(aihw_check_res(254.0f), 1.0f / 254.0f);
  CHECK_FEQ(aihw_check_res(-0.5f), 0.0f);
  CHECK_FEQ(aihw_check_res(0.25f), 0.25f);
  CHECK_FEQ(aihw_res_effective(1.0f / 126.0f, 1.0f), (1.0f / 126.0f) * 2.0f);
}

/* The effective step is computed from the raw bound: bound <= 0 switches quantisation off
 * as well as clipping (§3.2 step 2). */
static void unbounded_converter_has_no_quantisation(void) {
  CHECK(aihw_res_effective(1.0f / 510.0f, 0.0f) <= 0.0f);
  CHECK(aihw_res_effective(1.0f / 510.0f, -3.0f) <= 0.0f);
  CHECK(isinf(aihw_bound_effective(0.0f)));
  CHECK_FEQ(aihw_discretize(0.123456f, 0.0f, 0, 0.5f), 0.123456f);
}

/* Default DAC: 127 levels -63..63 of step 2/126 over [-1, 1]. */
static void default_dac_has_127_levels(void) {
  const float res = aihw_res_effective(1.0f / 126.0f, 1.0f);
  float levels[200];
  int n_levels = 0;
  for (int k = -20000; k <= 20000; ++k) {
    float v = aihw_dac((float)k / 20000.0f, res, 0, 0.5f, 1.0f, 0.0f, 0.0f);
    int found = 0;
    for (int l = 0; l < n_levels; ++l)
      found |= levels[l] == v;
    if (!found && n_levels < 200)
      levels[n_levels++] = v;
  }
  CHECK(n_levels == 127);
  CHECK_FEQ(aihw_dac(1.0f, res, 0, 0.5f, 1.0f, 0.0f, 0.0f), 63.0f * res);
  CHECK_FEQ(aihw_dac(5.0f, res, 0, 0.5f, 1.0f, 0.0f, 0.0f), 1.0f); /* clipped after rounding */
}

/* Default ADC: step 24/510; the float32 top level 255*step exceeds 12 (§3.3 quirk), so it
 * is reported as a saturation and clipped to the bound. */
static void default_adc_top_level_counts_as_saturated(void) {
  const float res = aihw_res_effective(1.0f / 510.0f, 12.0f);
  int sat = 0;
  float v = aihw_adc(254.0f * res, 0.0f, 0.0f, res, 0, 0.5f, 12.0f, &sat);
  CHECK_FEQ(v, 254.0f * res);
  CHECK(sat == 0);
  v = aihw_adc(11.99f, 0.0f, 0.0f, res, 0, 0.5f, 12.0f, &sat);
  CHECK_FEQ(v, 12.0f);
  CHECK(sat == 1);
  sat = 0;
  v = aihw_adc(-13.0f, 0.0f, 0.0f, res, 0, 0.5f, 12.0f, &sat);
  CHECK_FEQ(v, -12.0f);
  CHECK(sat == -1);
}

static void deterministic_rounding_is_half_to_even(void) {
  const float res = 0.5f; /* ties at odd multiples of 0.25 are exact in float */
  CHECK_FEQ(aihw_discretize(0.25f, res, 0, 0.5f), 0.0f);  /* 0.5 steps -> 0 */
  CHECK_FEQ(aihw_discretize(0.75f, res, 0, 0.5f), 1.0f);  /* 1.5 steps -> 2 */
  CHECK_FEQ(aihw_discretize(1.25f, res, 0, 0.5f), 1.0f);  /* 2.5 steps -> 2 */
  CHECK_FEQ(aihw_discretize(-0.75f, res, 0, 0.5f), -1.0f);
  CHECK_FEQ(aihw_discretize(-1.25f, res, 0, 0.5f), -1.0f);
  CHECK_FEQ(aihw_discretize(0.3f, res, 0, 0.5f), 0.5f);
}

/* Stochastic rounding picks one of the two neighbouring levels: the lower one exactly
 * when u < 1 - frac (frac = fractional position between the levels). */
static void stochastic_rounding_picks_a_neighbouring_level(void) {
  const float res = 0.5f;
  const float v = 0.6f; /* 1.2 steps: lower level 0.5, upper 1.0 */
  CHECK_FEQ(aihw_discretize(v, res, 1, 0.0f), 0.5f);
  CHECK_FEQ(aihw_discretize(v, res, 1, 0.75f), 0.5f);
  CHECK_FEQ(aihw_discretize(v, res, 1, 0.85f), 1.0f);
  CHECK_FEQ(aihw_discretize(v, res, 1, 0.999f), 1.0f);
}

static void dac_applies_noise_after_clipping_and_asymmetry_last(void) {
  /* quantise -> clip -> noise -> asymmetry (reference §3.6, CPU order) */
  CHECK_FEQ(aihw_dac(2.0f, 0.0f, 0, 0.5f, 1.0f, 0.25f, 0.0f), 1.25f);
  CHECK_FEQ(aihw_dac(-2.0f, 0.0f, 0, 0.5f, 1.0f, 0.25f, 0.5f), -0.375f);
  CHECK_FEQ(aihw_dac(-0.5f, 0.0f, 0, 0.5f, 1.0f, 0.0f, 0.1f), -0.5f * 0.9f);
  CHECK_FEQ(aihw_dac(0.5f, 0.0f, 0, 0.5f, 1.0f, 0.0f, 0.1f), 0.5f);
}

static void ir_drop_polynomial_and_position_weights(void) {
  CHECK_FEQ(aihw_ir_drop_k(0.0f), 0.0f);
  CHECK_NEAR(aihw_ir_drop_k(1.0f), 1.0 * (1.0 * (0.05 - 0.2) + 0.5), 1e-7);
  CHECK_NEAR(aihw_ir_drop_k(2.0f), 2.0 * (2.0 * (0.1 - 0.2) + 0.5), 1e-6);
  CHECK_FEQ(aihw_ir_drop_position_weight(0, 8), 0.0f);
  CHECK_NEAR(aihw_ir_drop_position_weight(7, 8), 1.0 - 1.0 / 64.0, 1e-7);
}

static void nonlinearity_is_odd_and_saturating(void) {
  CHECK_FEQ(aihw_output_nonlinearity(0.0f, 0.5f, 1.0f), 0.0f);
  CHECK_FEQ(aihw_output_nonlinearity(2.0f, 0.5f, 1.0f), 1.0f);
  CHECK_FEQ(aihw_output_nonlinearity(-2.0f, 0.5f, 1.0f), -1.0f);
  CHECK(aihw_output_nonlinearity(1e6f, 0.5f, 1.0f) < 2.0f);
  CHECK_FEQ(aihw_output_nonlinearity(2.0f, 0.0f, 1.5625f), 3.125f);
}

static void voltage_offset_branches(void) {
  /* no reference device, no series resistance: (1 - vo) y */
  CHECK_FEQ(aihw_voltage_offset(2.0f, 0.25f, 0.0f, FLT_MAX, 0.0f, 0.0f), 1.5f);
  /* implicit reference with weight w_min = -1 and input sum X: (1-vo) y - vo (-2 w_min X) */
  CHECK_FEQ(aihw_voltage_offset(2.0f, 0.25f, 0.0f, FLT_MAX, -1.0f, 1.0f), 1.5f - 0.5f);
  /* series resistance without reference: (1-vo) y / (1 + rs|y|) */
  CHECK_FEQ(aihw_voltage_offset(2.0f, 0.0f, 0.5f, FLT_MAX, 0.0f, 0.0f), 1.0f);
  /* its cap */
  CHECK_FEQ(aihw_voltage_offset(2.0f, 0.0f, 0.5f, 0.25f, 0.0f, 0.0f), 1.6f);
}

TEST_MAIN(TEST(resolution_above_one_means_number_of_steps),
          TEST(unbounded_converter_has_no_quantisation), TEST(default_dac_has_127_levels),
          TEST(default_adc_top_level_counts_as_saturated),
          TEST(deterministic_rounding_is_half_to_even),
          TEST(stochastic_rounding_picks_a_neighbouring_level),
          TEST(dac_applies_noise_after_clipping_and_asymmetry_last),
          TEST(ir_drop_polynomial_and_position_weights),
          TEST(nonlinearity_is_odd_and_saturating), TEST(voltage_offset_branches))
