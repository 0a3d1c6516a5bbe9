/* PowStepDevice and PowStepReferenceDevice (reference §5.7): the step is a power of the
 * relative distance to the bound it moves towards, dw_up = scale_up ((bmax - w)/range)^gu,
 * dw_down = scale_down ((w - bmin)/range)^gd. Step rules: aihw_pow_step,
 * aihw_pow_step_reference (physics/device_math.h).
 *
 * Hidden parameters (§1.5): PowStep gamma_up, gamma_down (extra[0], extra[1]);
 * PowStepReference additionally reference (extra[2]). Per device, with up/down bias from
 * pow_up_down as the step bias of §5.2:
 *   gain = 1 + pow_gamma_dtod xi_0,  r = pow_up_down_dtod xi_1,
 *   gamma_up = (up_bias + gain + r) pow_gamma,  gamma_down = (down_bias + gain - r) pow_gamma
 *   (|.| under enforce_consistency),  reference = reference_mean + reference_std xi_2.
 * dtod streams AIHW_DTOD_MODEL + 0, 1, 2 (aihwkit draws in i-outer, j-inner order from one
 * generator; counter-based streams make the order irrelevant here).
 *
 * subtract_symmetry_point (PowStepReference, devices with bmax > 0 > bmin): the symmetry
 * point sp, where up and down steps are equal, is found by applying an up and a down step
 * n times from 0, n = n_estimation_steps, or if that is <= 0,
 * min(round(10 range / min(|scale_down|, |scale_up|)), 10000); then reference += sp and
 * reset_bias += sp. [aihw] The bases of the powers are clamped at 0 during the estimation,
 * so that an overshooting iterate cannot turn into NaN (never the case for the
 * small steps of a converging estimate, where aihwkit's result is reproduced).
 *
 * Granularity g = dw_min 0.5^pow_gamma (the step at the centre of the range) for both.
 */
#include <math.h>

#include "core/alloc.h"
#include "core/error.h"
#include "devices/device_models.h"

/* Symmetry point of one device by fixed-point iteration from 0, in aihwkit's float32
 * order. */
static float pow_symmetry_point(float scale_up, float scale_down, float gamma_up,
                                float gamma_down, float bound_max, float bound_min,
                                int n_estimation_steps) {
  const float range = bound_max - bound_min;
  int n = n_estimation_steps;
  if (n <= 0) {
    const float up = fabsf(scale_up), down = fabsf(scale_down);
    const float q = 10.0f * (range / (down < up ? down : up));
    n = q < 10000.0f ? (int)roundf(q) : 10000; /* also for q = inf or NaN */
  }
  float sp = 0.0f;
  for (int it = 0; it < n; ++it) {
    float base_down = (sp - bound_min) / range, base_up = (bound_max - sp) / range;
    base_down = base_down > 0.0f ? base_down : 0.0f;
    base_up = base_up > 0.0f ? base_up : 0.0f;
    sp += -scale_down * powf(base_down, gamma_down) + scale_up * powf(base_up, gamma_up);
  }
  return sp;
}

static aihw_status populate_gammas(aihw_device_state *s, int with_reference) {
  const aihw_device_params *p = &s->params;
  const int64_t cols = s->cols;
  float *xi = aihw_alloc_array((size_t)cols * 3, sizeof(float), "PowStep dtod scratch");
  if (xi == NULL)
    return aihw_last_status();
  float *xi_gain = xi, *xi_up_down = xi + cols, *xi_ref = xi + 2 * cols;
  const float up_bias = p->pow_up_down > 0.0f ? 0.0f : p->pow_up_down;
  const float down_bias = p->pow_up_down > 0.0f ? -p->pow_up_down : 0.0f;
  for (int64_t i = 0; i < s->rows; ++i) {
    aihw_dtod_normals(s, AIHW_DTOD_MODEL + 0, i, xi_gain);
    aihw_dtod_normals(s, AIHW_DTOD_MODEL + 1, i, xi_up_down);
    if (with_reference)
      aihw_dtod_normals(s, AIHW_DTOD_MODEL + 2, i, xi_ref);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t k = i * cols + j;
      const float gain = 1.0f + p->pow_gamma_dtod * xi_gain[j];
      const float r = p->pow_up_down_dtod * xi_up_down[j];
      float gamma_up = (up_bias + gain + r) * p->pow_gamma;
      float gamma_down = (down_bias + gain - r) * p->pow_gamma;
      if (p->enforce_consistency) {
        gamma_up = fabsf(gamma_up);
        gamma_down = fabsf(gamma_down);
      }
      s->extra[0][k] = gamma_up;
      s->extra[1][k] = gamma_down;
      if (with_reference)
        s->extra[2][k] = p->reference_mean + p->reference_std * xi_ref[j];
    }
  }
  aihw_free(xi);
  if (with_reference && p->subtract_symmetry_point) {
    /* Up to 10^4 iterations per device: spread over threads; each device is independent,
     * so the result does not depend on the thread count. */
    const int64_t n = s->size;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 64)
#endif
    for (int64_t k = 0; k < n; ++k) {
      if (!(s->max_bound[k] > 0.0f && s->min_bound[k] < 0.0f))
        continue;
      const float sp =
          pow_symmetry_point(s->scale_up[k], s->scale_down[k], s->extra[0][k], s->extra[1][k],
                             s->max_bound[k], s->min_bound[k], p->n_estimation_steps);
      s->extra[2][k] += sp;
      s->reset_bias[k] += sp;
    }
  }
  return AIHW_OK;
}

static aihw_status populate_pow_step(aihw_device_state *s) { return populate_gammas(s, 0); }
static aihw_status populate_pow_step_reference(aihw_device_state *s) {
  return populate_gammas(s, 1);
}

static float pow_step_granularity(const aihw_device_params *p) {
  return p->dw_min * powf(0.5f, p->pow_gamma);
}

const aihw_device_model aihw_pow_step_model = {
    .type = AIHW_DEVICE_POW_STEP,
    .name = "PowStepDevice",
    .n_extra = 2,
    .extra_names = {"gamma_up", "gamma_down", NULL},
    .has_write_noise = 1,
    .populate_extra = populate_pow_step,
    .granularity = pow_step_granularity,
};

const aihw_device_model aihw_pow_step_reference_model = {
    .type = AIHW_DEVICE_POW_STEP_REFERENCE,
    .name = "PowStepReferenceDevice",
    .n_extra = 3,
    .extra_names = {"gamma_up", "gamma_down", "reference"},
    .has_write_noise = 0,
    .populate_extra = populate_pow_step_reference,
    .granularity = pow_step_granularity,
};
