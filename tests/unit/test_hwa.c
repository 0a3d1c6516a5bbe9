/* Hardware-aware-training pieces (reference §6.2–6.4): weight clipping and remapping exact
 * on crafted matrices, the deterministic weight modifiers (DISCRETIZE with the §6.3
 * example, DOREFA, COPY, NONE, PCM_NOISE without noise), copy_last_column, argument
 * errors, and results that do not depend on the thread count or on working in place. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "aihw/common.h"
#include "aihw/inference.h"
#include "core/alloc.h"
#include "inference/inference_internal.h"
#include "physics/modifier_math.h"
#include "test_util.h"

static aihw_weight_modifier_params modifier(aihw_weight_modifier_type type) {
  aihw_weight_modifier_params p = aihw_inference_params_default().modifier;
  p.type = type;
  return p;
}

static const aihw_stream_key key = {1234u, 7u, 42u};

/* ---- clip --------------------------------------------------------------------------- */

static void clip_fixed_value_clips_symmetrically(void) {
  aihw_weight_clip_params p = {AIHW_CLIP_FIXED_VALUE, 0.5f, 2.5f};
  float w[6] = {0.25f, -0.75f, 0.5f, 1.5f, -0.5f, -0.4999f};
  const float expected[6] = {0.25f, -0.5f, 0.5f, 0.5f, -0.5f, -0.4999f};
  CHECK_OK(aihw_hwa_clip(&p, w, 2, 3));
  for (int k = 0; k < 6; ++k)
    CHECK_FEQ(w[k], expected[k]);
}

static void clip_with_non_positive_value_or_none_changes_nothing(void) {
  float w[4] = {3.0f, -4.0f, 0.5f, 100.0f}, copy[4];
  memcpy(copy, w, sizeof w);
  aihw_weight_clip_params fixed_off = {AIHW_CLIP_FIXED_VALUE, -1.0f, 2.5f};
  CHECK_OK(aihw_hwa_clip(&fixed_off, w, 2, 2));
  aihw_weight_clip_params none = {AIHW_CLIP_NONE, 0.1f, 2.5f};
  CHECK_OK(aihw_hwa_clip(&none, w, 2, 2));
  CHECK(memcmp(w, copy, sizeof w) == 0);
}

/* W = [[1, -1], [3, -3]]: mean 0, sample variance (1 + 1 + 9 + 9) / 3 = 20/3. */
static void clip_layer_gaussian_uses_the_sample_std(void) {
  const float c = (float)sqrt(20.0 / 3.0) * 1.0f;
  aihw_weight_clip_params p = {AIHW_CLIP_LAYER_GAUSSIAN, -1.0f, 1.0f};
  float w[4] = {1.0f, -1.0f, 3.0f, -3.0f};
  CHECK_OK(aihw_hwa_clip(&p, w, 2, 2));
  CHECK_FEQ(w[0], 1.0f);
  CHECK_FEQ(w[1], -1.0f);
  CHECK_FEQ(w[2], c);
  CHECK_FEQ(w[3], -c);
  /* sigma scales the clip value; a positive fixed_value caps it. */
  float v[4] = {1.0f, -1.0f, 3.0f, -3.0f};
  p.sigma = 0.5f;
  CHECK_OK(aihw_hwa_clip(&p, v, 2, 2));
  CHECK_FEQ(v[0], 1.0f);
  CHECK_FEQ(v[2], (float)sqrt(20.0 / 3.0) * 0.5f);
  float u[4] = {1.0f, -1.0f, 3.0f, -3.0f};
  p.sigma = 1.0f;
  p.fixed_value = 2.0f;
  CHECK_OK(aihw_hwa_clip(&p, u, 4, 1));
  CHECK_FEQ(u[2], 2.0f);
  CHECK_FEQ(u[3], -2.0f);
  /* A single weight has no sample std: left alone. */
  float one = 5.0f;
  CHECK_OK(aihw_hwa_clip(&p, &one, 1, 1));
  CHECK_FEQ(one, 5.0f);
}

/* Row maxima |W| 2, 1, 3: c = 2. */
static void clip_average_channel_max_uses_the_mean_row_maximum(void) {
  aihw_weight_clip_params p = {AIHW_CLIP_AVERAGE_CHANNEL_MAX, -1.0f, 2.5f};
  float w[6] = {0.5f, -2.0f, 1.0f, 0.25f, -3.0f, 0.0f};
  const float expected[6] = {0.5f, -2.0f, 1.0f, 0.25f, -2.0f, 0.0f};
  CHECK_OK(aihw_hwa_clip(&p, w, 3, 2));
  for (int k = 0; k < 6; ++k)
    CHECK_FEQ(w[k], expected[k]);
  float v[6] = {0.5f, -2.0f, 1.0f, 0.25f, -3.0f, 0.0f};
  p.fixed_value = 0.75f;
  CHECK_OK(aihw_hwa_clip(&p, v, 3, 2));
  CHECK_FEQ(v[1], -0.75f);
  CHECK_FEQ(v[2], 0.75f);
  CHECK_FEQ(v[3], 0.25f);
}

static void clip_rejects_bad_arguments(void) {
  aihw_weight_clip_params p = {AIHW_CLIP_FIXED_VALUE, 1.0f, 2.5f};
  float w[2] = {0, 0};
  CHECK_STATUS(aihw_hwa_clip(NULL, w, 1, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_hwa_clip(&p, NULL, 1, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_hwa_clip(&p, w, 0, 2), AIHW_ERR_SHAPE);
  p.type = (aihw_weight_clip_type)9;
  CHECK_STATUS(aihw_hwa_clip(&p, w, 1, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("clip type 9");
}

/* ---- remap -------------------------------------------------------------------------- */

static void remap_layerwise_divides_by_max_and_moves_it_into_the_scales(void) {
  aihw_weight_remap_params p = {AIHW_REMAP_LAYERWISE_SYMMETRIC, 1.0f, 0.0f, 0.0f};
  float w[4] = {1.0f, -2.0f, 0.5f, 0.0f}, s[2] = {1.0f, 3.0f};
  CHECK_OK(aihw_hwa_remap(&p, w, 2, 2, s));
  CHECK_FEQ(w[0], 0.5f);
  CHECK_FEQ(w[1], -1.0f);
  CHECK_FEQ(w[2], 0.25f);
  CHECK_FEQ(s[0], 2.0f);
  CHECK_FEQ(s[1], 6.0f);
  /* remapped_wmax 0.5: m = max|W| / 0.5. */
  float v[2] = {1.0f, -0.5f}, t[1] = {1.0f};
  p.remapped_wmax = 0.5f;
  CHECK_OK(aihw_hwa_remap(&p, v, 1, 2, t));
  CHECK_FEQ(v[0], 0.5f);
  CHECK_FEQ(v[1], -0.25f);
  CHECK_FEQ(t[0], 2.0f);
  /* All zero: nothing changes. */
  float z[2] = {0.0f, -0.0f}, u[1] = {1.5f};
  CHECK_OK(aihw_hwa_remap(&p, z, 1, 2, u));
  CHECK_FEQ(u[0], 1.5f);
}

/* Row maxima 2, 0.5, 0: scales *= 2, 0.5, 1 and rows divided by the same. */
static void remap_channelwise_normalises_each_row(void) {
  aihw_weight_remap_params p = {AIHW_REMAP_CHANNELWISE_SYMMETRIC, 1.0f, 0.0f, 0.0f};
  float w[6] = {2.0f, -1.0f, 0.25f, -0.5f, 0.0f, 0.0f}, s[3] = {1.0f, 2.0f, 3.0f};
  CHECK_OK(aihw_hwa_remap(&p, w, 3, 2, s));
  const float expected_w[6] = {1.0f, -0.5f, 0.5f, -1.0f, 0.0f, 0.0f};
  const float expected_s[3] = {2.0f, 1.0f, 3.0f};
  for (int k = 0; k < 6; ++k)
    CHECK_FEQ(w[k], expected_w[k]);
  for (int k = 0; k < 3; ++k)
    CHECK_FEQ(s[k], expected_s[k]);
  /* remapped_wmax 2: each row's maximum becomes 2. */
  float v[2] = {1.0f, -0.5f}, t[1] = {1.0f};
  p.remapped_wmax = 2.0f;
  CHECK_OK(aihw_hwa_remap(&p, v, 1, 2, t));
  CHECK_FEQ(v[0], 2.0f);
  CHECK_FEQ(t[0], 0.5f);
}

/* Scales 1, 1, 2 and row maxima 4, 1, 0.5 with max_scale_range 2: min scale 1, new scales
 * 4, 1, 1 capped at 2 -> 2, 1, 1; rows multiplied by old/new = 1/2, 1, 2. */
static void remap_channelwise_bounded_caps_the_scale_range(void) {
  aihw_weight_remap_params p = {AIHW_REMAP_CHANNELWISE_SYMMETRIC, 1.0f, 2.0f, 0.0f};
  float w[6] = {4.0f, -2.0f, 1.0f, 0.5f, -0.5f, 0.25f}, s[3] = {1.0f, 1.0f, 2.0f};
  CHECK_OK(aihw_hwa_remap(&p, w, 3, 2, s));
  const float expected_w[6] = {2.0f, -1.0f, 1.0f, 0.5f, -1.0f, 0.5f};
  const float expected_s[3] = {2.0f, 1.0f, 1.0f};
  for (int k = 0; k < 6; ++k)
    CHECK_FEQ(w[k], expected_w[k]);
  for (int k = 0; k < 3; ++k)
    CHECK_FEQ(s[k], expected_s[k]);
  /* max_scale_ref 1.5 raises the minimum scale: cap 3 -> scales 3, 1, 1. */
  float v[6] = {4.0f, -2.0f, 1.0f, 0.5f, -0.5f, 0.25f}, t[3] = {1.0f, 1.0f, 2.0f};
  p.max_scale_ref = 1.5f;
  CHECK_OK(aihw_hwa_remap(&p, v, 3, 2, t));
  CHECK_FEQ(t[0], 3.0f);
  CHECK_FEQ(t[1], 1.0f);
  CHECK_FEQ(v[0], 4.0f * 1.0f / 3.0f);
  /* remapped_wmax must be 1 here (aihwkit aborts otherwise). */
  p.remapped_wmax = 2.0f;
  CHECK_STATUS(aihw_hwa_remap(&p, v, 3, 2, t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("remapped_wmax");
}

static void remap_rejects_bad_arguments(void) {
  aihw_weight_remap_params p = {AIHW_REMAP_LAYERWISE_SYMMETRIC, 1.0f, 0.0f, 0.0f};
  float w[2] = {1, 2}, s[1] = {0.0f};
  CHECK_STATUS(aihw_hwa_remap(&p, w, 1, 2, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_hwa_remap(&p, w, 1, 2, s), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("scales[0]");
  CHECK(w[0] == 1.0f); /* nothing changed */
  s[0] = 1.0f;
  CHECK_STATUS(aihw_hwa_remap(&p, w, 1, -2, s), AIHW_ERR_SHAPE);
}

/* ---- modifier ----------------------------------------------------------------------- */

/* §6.3: w = [.25, .75, -.25], amax 1, res .5 -> [.5, 1, -.5] (ties away from zero). */
static void discretize_rounds_half_away_from_zero_with_step_res_amax(void) {
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_DISCRETIZE);
  p.res = 0.5f;
  p.rel_to_actual_wmax = 0;
  p.assumed_wmax = 1.0f;
  const float w[3] = {0.25f, 0.75f, -0.25f};
  float out[3];
  CHECK_OK(aihw_hwa_modify(&p, w, 1, 3, key, out));
  CHECK_FEQ(out[0], 0.5f);
  CHECK_FEQ(out[1], 1.0f);
  CHECK_FEQ(out[2], -0.5f);
  /* rel_to_actual_wmax: amax = 0.9, step 0.25 amax. */
  p.rel_to_actual_wmax = 1;
  p.res = 0.25f;
  const float v[3] = {0.3f, -0.6f, 0.9f};
  CHECK_OK(aihw_hwa_modify(&p, v, 3, 1, key, out));
  const float amax = 0.9f;
  for (int k = 0; k < 3; ++k)
    CHECK_FEQ(out[k], amax * (roundf(v[k] / amax / 0.25f) * 0.25f));
  CHECK_NEAR(out[0], 0.225f, 1e-6);
  CHECK_NEAR(out[1], -0.675f, 1e-6);
  /* res 0: no change at all. */
  p.res = 0.0f;
  CHECK_OK(aihw_hwa_modify(&p, v, 3, 1, key, out));
  CHECK(memcmp(out, v, sizeof v) == 0);
}

static void dorefa_is_discretised_tanh_without_rescaling(void) {
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_DOREFA);
  p.res = 0.1f;
  p.dorefa_clip = 0.6f;
  const float w[4] = {0.5f, -1.0f, 2.0f, 0.05f};
  float out[4];
  CHECK_OK(aihw_hwa_modify(&p, w, 2, 2, key, out));
  const float scale = fabsf(0.6f / tanhf(2.0f)); /* amax = max|W| = 2 */
  for (int k = 0; k < 4; ++k)
    CHECK_FEQ(out[k], roundf(tanhf(w[k]) * scale / 0.1f) * 0.1f);
  CHECK_NEAR(out[2], 0.6f, 1e-6); /* the largest weight lands on dorefa_clip */
}

static void copy_none_and_noiseless_types_copy_exactly(void) {
  const float w[6] = {0.1f, -0.2f, 0.3f, -0.4f, 0.5f, -0.6f};
  const aihw_weight_modifier_type types[] = {
      AIHW_MODIFIER_NONE,         AIHW_MODIFIER_COPY,
      AIHW_MODIFIER_DROP_CONNECT, AIHW_MODIFIER_ADD_NORMAL,
      AIHW_MODIFIER_MULT_NORMAL,  AIHW_MODIFIER_POLY,
      AIHW_MODIFIER_PROG_NOISE,   AIHW_MODIFIER_DISCRETIZE_ADD_NORMAL};
  for (size_t k = 0; k < sizeof types / sizeof types[0]; ++k) {
    aihw_weight_modifier_params p = modifier(types[k]); /* std_dev 0, res 0, pdrop 0 */
    float out[6];
    CHECK_OK(aihw_hwa_modify(&p, w, 2, 3, key, out));
    CHECK(memcmp(out, w, sizeof w) == 0);
  }
  /* NONE ignores pdrop (aihwkit does not call its modifier for NONE). */
  aihw_weight_modifier_params none = modifier(AIHW_MODIFIER_NONE);
  none.pdrop = 1.0f;
  float out[6];
  CHECK_OK(aihw_hwa_modify(&none, w, 2, 3, key, out));
  CHECK(memcmp(out, w, sizeof w) == 0);
  /* COPY with pdrop 1 drops every weight. */
  aihw_weight_modifier_params copy = modifier(AIHW_MODIFIER_COPY);
  copy.pdrop = 1.0f;
  CHECK_OK(aihw_hwa_modify(&copy, w, 2, 3, key, out));
  for (int j = 0; j < 6; ++j)
    CHECK_FEQ(out[j], 0.0f);
}

/* Bias column kept and left out of amax: amax = 0.75, not 100. */
static void copy_last_column_keeps_the_bias_and_excludes_it_from_amax(void) {
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_DISCRETIZE);
  p.res = 0.5f;
  p.copy_last_column = 1;
  p.pdrop = 1.0f; /* drops everything but the bias */
  const float w[4] = {0.25f, 100.0f, 0.75f, -50.0f};
  float out[4];
  CHECK_OK(aihw_hwa_modify(&p, w, 2, 2, key, out));
  CHECK_FEQ(out[0], 0.0f);
  CHECK_FEQ(out[1], 100.0f);
  CHECK_FEQ(out[2], 0.0f);
  CHECK_FEQ(out[3], -50.0f);
  p.pdrop = 0.0f;
  CHECK_OK(aihw_hwa_modify(&p, w, 2, 2, key, out));
  CHECK_FEQ(out[0], 0.75f * (roundf(0.25f / 0.75f / 0.5f) * 0.5f)); /* 0.375 */
  CHECK_FEQ(out[2], 0.75f);
  CHECK_FEQ(out[1], 100.0f);
  /* A single (bias) column: nothing is modified. */
  p.type = AIHW_MODIFIER_ADD_NORMAL;
  p.std_dev = 1.0f;
  const float b[2] = {3.0f, -4.0f};
  CHECK_OK(aihw_hwa_modify(&p, b, 2, 1, key, out));
  CHECK(memcmp(out, b, sizeof b) == 0);
}

/* Zero weights map to exactly 0 (the zero target is never programmed); without noise
 * (std_dev 0) and drift (t_inference 0) a weight maps through g = w g_max / amax back to
 * itself up to float rounding; weights beyond amax are clipped. */
static void pcm_noise_without_noise_maps_weights_back(void) {
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_PCM_NOISE);
  p.rel_to_actual_wmax = 0;
  p.assumed_wmax = 0.5f;
  const float w[5] = {0.0f, 0.25f, -0.1f, 0.5f, -0.75f};
  float out[5];
  CHECK_OK(aihw_hwa_modify(&p, w, 1, 5, key, out));
  CHECK_FEQ(out[0], 0.0f);
  CHECK_NEAR(out[1], 0.25f, 1e-7);
  CHECK_NEAR(out[2], -0.1f, 1e-7);
  CHECK_NEAR(out[3], 0.5f, 1e-7);
  CHECK_NEAR(out[4], -0.5f, 1e-7);
  /* pcm_zero_thres (in units of std_dev P0 = 0.26 uS) leaves small targets at exactly 0:
   * g = 1 uS <= 10 P0, while g = 12.5 uS is programmed (with noise, keeping its sign). */
  p.std_dev = 1.0f;
  p.pcm_zero_thres = 10.0f;
  const float v[2] = {0.02f, 0.25f};
  CHECK_OK(aihw_hwa_modify(&p, v, 1, 2, key, out));
  CHECK_FEQ(out[0], 0.0f);
  CHECK(out[1] > 0.0f && out[1] != 0.25f);
}

/* aihw_round_half_away is roundf bit for bit: every 251st float bit pattern (17 million
 * values over all exponents and both signs) plus the halfway cases near 0 and 2^23. */
static void round_half_away_is_roundf_bit_for_bit(void) {
  size_t differ = 0;
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 251u) {
    float x;
    uint32_t b = (uint32_t)bits;
    memcpy(&x, &b, sizeof x);
    if (isnan(x))
      continue;
    float a = aihw_round_half_away(x), r = roundf(x);
    differ += memcmp(&a, &r, sizeof a) != 0;
  }
  const float special[] = {0.5f,   -0.5f,      1.5f,        -2.5f,      0.49999997f,
                           -0.0f,  8388607.5f, -8388607.5f, 8388608.0f, 4194303.5f,
                           1e-45f, -1e30f,     INFINITY,    -INFINITY};
  for (size_t k = 0; k < sizeof special / sizeof special[0]; ++k) {
    float a = aihw_round_half_away(special[k]), r = roundf(special[k]);
    differ += memcmp(&a, &r, sizeof a) != 0;
  }
  CHECK(differ == 0);
  CHECK(isnan(aihw_round_half_away(NAN)));
}

/* The element formulas of physics/modifier_math.h with crafted random numbers. */
static void element_formulas_follow_the_reference(void) {
  /* Stochastic rounding: round(x + u - 1/2). */
  CHECK_FEQ(aihw_modifier_discretize(0.3f, 0.5f, 1, 0.0f), 0.0f);
  CHECK_FEQ(aihw_modifier_discretize(0.3f, 0.5f, 1, 0.9f), 0.5f);
  CHECK_FEQ(aihw_modifier_discretize(0.3f, 0.0f, 1, 0.9f), 0.3f);
  CHECK_FEQ(aihw_modifier_discretize(-0.25f, 0.5f, 0, 0.0f), -0.5f);
  /* PROG_NOISE keeps the sign even when the noise would flip it. */
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_PROG_NOISE);
  p.std_dev = 25.0f; /* std = std_dev / g_max = 1 */
  aihw_modifier_rule r = aihw_modifier_rule_make(&p, 1.0f);
  aihw_modifier_draws d;
  memset(&d, 0, sizeof d);
  d.xi = 1000.0f;
  CHECK(aihw_modifier_apply(&r, -0.1f, &d) < 0.0f);
  d.xi = -1000.0f;
  CHECK(aihw_modifier_apply(&r, 0.1f, &d) > 0.0f);
  /* POLY: sigma = std_dev (c0 + c1 a + c2 a^2), a = |w| / amax. */
  p.type = AIHW_MODIFIER_POLY;
  p.std_dev = 0.5f;
  p.n_coeffs = 3;
  p.coeffs[0] = 1.0f;
  p.coeffs[1] = 2.0f;
  p.coeffs[2] = 4.0f;
  r = aihw_modifier_rule_make(&p, 2.0f);
  d.xi = 1.0f;
  /* a = 0.5: sigma = 0.5 (1 + 1 + 1) = 1.5; w + amax sigma xi = 1 + 3 */
  CHECK_FEQ(aihw_modifier_apply(&r, 1.0f, &d), 4.0f);
  /* MULT_NORMAL: w + w std_dev amax xi; ADD_NORMAL: w + std_dev amax xi. */
  p.type = AIHW_MODIFIER_MULT_NORMAL;
  r = aihw_modifier_rule_make(&p, 2.0f);
  CHECK_FEQ(aihw_modifier_apply(&r, 0.5f, &d), 1.0f);
  p.type = AIHW_MODIFIER_ADD_NORMAL;
  r = aihw_modifier_rule_make(&p, 2.0f);
  CHECK_FEQ(aihw_modifier_apply(&r, 0.5f, &d), 1.5f);
  CHECK_FEQ(aihw_modifier_drop(0.7f, 0.19f, 0.2f), 0.0f);
  CHECK_FEQ(aihw_modifier_drop(0.7f, 0.2f, 0.2f), 0.7f);
  CHECK_FEQ(aihw_clip_symmetric(NAN, 1.0f), -1.0f); /* aihwkit's MIN(MAX()) order */
}

static float *pattern(int64_t n, float scale) {
  float *w = malloc((size_t)n * sizeof(float));
  for (int64_t k = 0; k < n; ++k)
    w[k] = scale * sinf(0.37f * (float)k + 0.1f);
  return w;
}

static void run_modify(const aihw_weight_modifier_params *p, const float *w, int64_t rows,
                       int64_t cols, float *out, int threads) {
#ifdef _OPENMP
  int before = omp_get_max_threads();
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
  CHECK_OK(aihw_hwa_modify(p, w, rows, cols, key, out));
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
}

/* 300 x 257 (> the threading threshold, odd width): 1 and 4 threads give the same bits,
 * and so does modifying in place. */
static void modifier_results_do_not_depend_on_threads_or_aliasing(void) {
  const int64_t rows = 300, cols = 257, n = rows * cols;
  float *w = pattern(n, 0.8f), *a = malloc((size_t)n * sizeof(float));
  float *b = malloc((size_t)n * sizeof(float)), *c = malloc((size_t)n * sizeof(float));
  aihw_weight_modifier_params cases[4];
  cases[0] = modifier(AIHW_MODIFIER_ADD_NORMAL);
  cases[0].std_dev = 0.05f;
  cases[0].pdrop = 0.1f;
  cases[1] = modifier(AIHW_MODIFIER_PCM_NOISE);
  cases[1].std_dev = 1.0f;
  cases[1].pcm_t_inference = 3600.0f;
  cases[1].pcm_prob_at_reset = 0.05f;
  cases[1].pcm_prob_at_gmax = 0.05f;
  cases[1].pcm_prob_at_random = 0.05f;
  cases[2] = modifier(AIHW_MODIFIER_DISCRETIZE_ADD_NORMAL);
  cases[2].res = 0.1f;
  cases[2].sto_round = 1;
  cases[2].std_dev = 0.02f;
  cases[2].copy_last_column = 1;
  cases[3] = modifier(AIHW_MODIFIER_PROG_NOISE);
  cases[3].std_dev = 1.0f;
  for (int k = 0; k < 4; ++k) {
    run_modify(&cases[k], w, rows, cols, a, 1);
    run_modify(&cases[k], w, rows, cols, b, 4);
    CHECK(memcmp(a, b, (size_t)n * sizeof(float)) == 0);
    CHECK(memcmp(a, w, (size_t)n * sizeof(float)) != 0);
    memcpy(c, w, (size_t)n * sizeof(float));
    run_modify(&cases[k], c, rows, cols, c, 3);
    CHECK(memcmp(a, c, (size_t)n * sizeof(float)) == 0);
  }
  /* Another op counter draws other numbers. */
  aihw_stream_key other = key;
  other.op += 1;
  CHECK_OK(aihw_hwa_modify(&cases[0], w, rows, cols, other, b));
  run_modify(&cases[0], w, rows, cols, a, 1);
  CHECK(memcmp(a, b, (size_t)n * sizeof(float)) != 0);
  free(w);
  free(a);
  free(b);
  free(c);
}

static void modifier_rejects_bad_arguments(void) {
  aihw_weight_modifier_params p = modifier(AIHW_MODIFIER_ADD_NORMAL);
  float w[2] = {0.1f, 0.2f}, out[2];
  CHECK_STATUS(aihw_hwa_modify(NULL, w, 1, 2, key, out), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_hwa_modify(&p, NULL, 1, 2, key, out), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_hwa_modify(&p, w, 1, 2, key, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_hwa_modify(&p, w, 0, 2, key, out), AIHW_ERR_SHAPE);
  CHECK_STATUS(aihw_hwa_modify(&p, w, (int64_t)1 << 33, 2, key, out), AIHW_ERR_SHAPE);
  p.per_batch_sample = 1;
  CHECK_STATUS(aihw_hwa_modify(&p, w, 1, 2, key, out), AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("per_batch_sample");
  p.per_batch_sample = 0;
  p.pdrop = 2.0f;
  CHECK_STATUS(aihw_hwa_modify(&p, w, 1, 2, key, out), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("pdrop");
  p.pdrop = 0.0f;
  p.type = (aihw_weight_modifier_type)11;
  CHECK_STATUS(aihw_hwa_modify(&p, w, 1, 2, key, out), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("modifier type 11");
}

/* Every allocation of clip, remap and modify fails in turn: AIHW_ERR_OUT_OF_MEMORY and
 * nothing written, until the call succeeds. */
static void allocation_failures_change_nothing(void) {
  const int64_t rows = 200, cols = 300, n = rows * cols; /* threaded path */
  float *w = pattern(n, 0.5f), *copy = malloc((size_t)n * sizeof(float));
  float *out = malloc((size_t)n * sizeof(float)), scales[200];
  aihw_weight_modifier_params m = modifier(AIHW_MODIFIER_ADD_NORMAL);
  m.std_dev = 0.1f;
  m.pdrop = 0.1f;
  for (int which = 0; which < 4; ++which) {
    int succeeded = 0;
    for (long fail = 1; fail < 10 && !succeeded; ++fail) {
      memcpy(copy, w, (size_t)n * sizeof(float));
      memset(out, 0, (size_t)n * sizeof(float));
      for (int i = 0; i < rows; ++i)
        scales[i] = 1.0f;
      aihw_weight_clip_params gauss = {AIHW_CLIP_LAYER_GAUSSIAN, -1.0f, 0.5f};
      aihw_weight_clip_params channel = {AIHW_CLIP_AVERAGE_CHANNEL_MAX, -1.0f, 2.5f};
      aihw_weight_remap_params remap = {AIHW_REMAP_CHANNELWISE_SYMMETRIC, 1.0f, 0.0f, 0.0f};
      aihw_alloc_fail_after(fail);
      aihw_status s = which == 0   ? aihw_hwa_clip(&gauss, copy, rows, cols)
                      : which == 1 ? aihw_hwa_clip(&channel, copy, rows, cols)
                      : which == 2 ? aihw_hwa_remap(&remap, copy, rows, cols, scales)
                                   : aihw_hwa_modify(&m, copy, rows, cols, key, out);
      aihw_alloc_fail_after(0);
      if (s == AIHW_OK) {
        succeeded = 1;
        CHECK(which == 3 || memcmp(copy, w, (size_t)n * sizeof(float)) != 0);
        break;
      }
      CHECK_STATUS(s, AIHW_ERR_OUT_OF_MEMORY);
      CHECK(memcmp(copy, w, (size_t)n * sizeof(float)) == 0);
      CHECK(scales[0] == 1.0f);
      CHECK(out[0] == 0.0f && out[n - 1] == 0.0f);
    }
    CHECK(succeeded);
  }
  free(w);
  free(copy);
  free(out);
}

TEST_MAIN(TEST(clip_fixed_value_clips_symmetrically),
          TEST(clip_with_non_positive_value_or_none_changes_nothing),
          TEST(clip_layer_gaussian_uses_the_sample_std),
          TEST(clip_average_channel_max_uses_the_mean_row_maximum),
          TEST(clip_rejects_bad_arguments),
          TEST(remap_layerwise_divides_by_max_and_moves_it_into_the_scales),
          TEST(remap_channelwise_normalises_each_row),
          TEST(remap_channelwise_bounded_caps_the_scale_range),
          TEST(remap_rejects_bad_arguments),
          TEST(discretize_rounds_half_away_from_zero_with_step_res_amax),
          TEST(dorefa_is_discretised_tanh_without_rescaling),
          TEST(copy_none_and_noiseless_types_copy_exactly),
          TEST(copy_last_column_keeps_the_bias_and_excludes_it_from_amax),
          TEST(pcm_noise_without_noise_maps_weights_back),
          TEST(round_half_away_is_roundf_bit_for_bit),
          TEST(element_formulas_follow_the_reference),
          TEST(modifier_results_do_not_depend_on_threads_or_aliasing),
          TEST(modifier_rejects_bad_arguments), TEST(allocation_failures_change_nothing))
