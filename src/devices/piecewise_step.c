/* PiecewiseStepDevice (reference §5.8): the relative step size is given at piecewise_n
 * equidistant nodes over [bmin, bmax] (piecewise_up, piecewise_down) and interpolated
 * linearly in between. No model-specific hidden parameters. Step rule:
 * aihw_piecewise_step (physics/device_math.h). Granularity g = dw_min piecewise_up[n/2]
 * (integer division, the middle node), as aihwkit.
 */
#include "devices/device_models.h"

static float piecewise_step_granularity(const aihw_device_params *p) {
  if (p->piecewise_n <= 0 || p->piecewise_n > AIHW_PIECEWISE_MAX)
    return p->dw_min;
  return p->dw_min * p->piecewise_up[p->piecewise_n / 2];
}

const aihw_device_model aihw_piecewise_step_model = {
    .type = AIHW_DEVICE_PIECEWISE_STEP,
    .name = "PiecewiseStepDevice",
    .n_extra = 0,
    .extra_names = {NULL, NULL, NULL},
    .has_write_noise = 1,
    .populate_extra = NULL,
    .granularity = piecewise_step_granularity,
};
