/* ConstantStepDevice (reference §5.4): every pulse moves the weight by the device's fixed
 * step scale_up / scale_down (drawn in §5.2), with multiplicative cycle-to-cycle noise,
 * clipped to the device's bounds. No model-specific hidden parameters, no write noise.
 * Granularity g = dw_min. Step rule: aihw_constant_step (physics/device_math.h).
 */
#include "devices/device_models.h"

const aihw_device_model aihw_constant_step_model = {
    .type = AIHW_DEVICE_CONSTANT_STEP,
    .name = "ConstantStepDevice",
    .n_extra = 0,
    .extra_names = {NULL, NULL, NULL},
    .has_write_noise = 0,
    .populate_extra = NULL,
    .granularity = aihw_granularity_dw_min,
};
