/* ExpStepDevice (reference §5.6): the step size follows an exponential of the weight,
 * y = max(1 - A exp(+-gamma z), 0) with z = 2 a w / (bmax - bmin) + b, times the device's
 * scale_up / scale_down. No model-specific hidden parameters (A, gamma, a, b are tile-wide).
 * Step rule: aihw_exp_step (physics/device_math.h).
 *
 * Granularity [aihw]: the mean of the up and down steps of the mean device at w = 0,
 *   g = (dw_up(0) + dw_down(0)) / 2, where
 *   dw_up(0)   = (1 + up_bias) dw_min max(1 - A_up exp(gamma_up b), 0),
 *   dw_down(0) = (1 + down_bias) dw_min max(1 - A_down exp(-gamma_down b), 0),
 * and dw_min if g is not positive. aihwkit computes dw_up but averages dw_down with
 * itself, i.e. uses g = dw_down(0) (Appendix A item 3); the two agree at the default
 * parameters (both 0.98342 dw_min). Decision recorded in the reference's preamble.
 */
#include <math.h>

#include "devices/device_models.h"

static float exp_step_granularity(const aihw_device_params *p) {
  const float up_bias = p->up_down > 0.0f ? 0.0f : p->up_down;
  const float down_bias = p->up_down > 0.0f ? -p->up_down : 0.0f;
  const float scale_up = (up_bias + 1.0f) * p->dw_min;
  const float scale_down = (down_bias + 1.0f) * p->dw_min;
  const float z = p->b; /* z at w = 0 */
  const float y_up = 1.0f - p->A_up * expf(p->gamma_up * z);
  const float y_down = 1.0f - p->A_down * expf(p->gamma_down * -z);
  const float dw_up = scale_up * (y_up > 0.0f ? y_up : 0.0f);
  const float dw_down = scale_down * (y_down > 0.0f ? y_down : 0.0f);
  const float g = (dw_up + dw_down) / 2.0f;
  return g > 0.0f ? g : p->dw_min;
}

const aihw_device_model aihw_exp_step_model = {
    .type = AIHW_DEVICE_EXP_STEP,
    .name = "ExpStepDevice",
    .n_extra = 0,
    .extra_names = {NULL, NULL, NULL},
    .has_write_noise = 1,
    .populate_extra = NULL,
    .granularity = exp_step_granularity,
};
