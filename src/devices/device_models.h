/* Registry entries of the single-device models, one per model file (constant_step.c,
 * linear_step.c, exp_step.c, pow_step.c, piecewise_step.c, soft_bounds_reference.c), and
 * helpers they share. Private to src/devices; device_models.c collects the entries into
 * aihw_device_model_of(). Step rules live in physics/device_math.h.
 */
#ifndef AIHW_DEVICES_DEVICE_MODELS_H
#define AIHW_DEVICES_DEVICE_MODELS_H

#include "devices/device_state.h"

extern const aihw_device_model aihw_constant_step_model;
extern const aihw_device_model aihw_linear_step_model;
extern const aihw_device_model aihw_soft_bounds_model;
extern const aihw_device_model aihw_soft_bounds_pmax_model;
extern const aihw_device_model aihw_exp_step_model;
extern const aihw_device_model aihw_pow_step_model;
extern const aihw_device_model aihw_pow_step_reference_model;
extern const aihw_device_model aihw_piecewise_step_model;
extern const aihw_device_model aihw_soft_bounds_reference_model;

/* g = dw_min: ConstantStep, LinearStep, SoftBounds(+Pmax), SoftBoundsReference. */
float aihw_granularity_dw_min(const aihw_device_params *p);

/* `p` with SoftBoundsPmaxDevice's derived fields filled in (§5.5): w_min = range_min,
 * w_max = range_min + b, dw_min = b alpha, up_down = 1 + 2 range_min / b with
 * b = (range_max - range_min) / (1 - exp(-p_max alpha)), evaluated in double precision
 * from the shortest decimals of the float32 fields, as aihwkit's Python does with the
 * numbers the user typed, then rounded to float (the defaults give aihwkit's values bit
 * for bit). Other types: `p` unchanged. */
aihw_device_params aihw_device_params_resolved(const aihw_device_params *p);

#endif
