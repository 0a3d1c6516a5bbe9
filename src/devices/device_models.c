/* Registry of the device models (reference §5.4–5.8b) and the public granularity query.
 *
 * aihw_device_model_of() maps a type to its entry (defined in the model's own file);
 * IDEAL and FLOATING_POINT have none because they are not pulsed. The granularity g of a
 * model is the step size update management assumes (§4.2); it is evaluated on the mean
 * device, and n_states = (w_max - w_min) / g.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "devices/device_models.h"

const aihw_device_model *aihw_device_model_of(aihw_device_type type) {
  switch (type) {
  case AIHW_DEVICE_CONSTANT_STEP: return &aihw_constant_step_model;
  case AIHW_DEVICE_LINEAR_STEP: return &aihw_linear_step_model;
  case AIHW_DEVICE_SOFT_BOUNDS: return &aihw_soft_bounds_model;
  case AIHW_DEVICE_SOFT_BOUNDS_PMAX: return &aihw_soft_bounds_pmax_model;
  case AIHW_DEVICE_SOFT_BOUNDS_REFERENCE: return &aihw_soft_bounds_reference_model;
  case AIHW_DEVICE_EXP_STEP: return &aihw_exp_step_model;
  case AIHW_DEVICE_POW_STEP: return &aihw_pow_step_model;
  case AIHW_DEVICE_POW_STEP_REFERENCE: return &aihw_pow_step_reference_model;
  case AIHW_DEVICE_PIECEWISE_STEP: return &aihw_piecewise_step_model;
  case AIHW_DEVICE_IDEAL:
  case AIHW_DEVICE_FLOATING_POINT:
  default: return NULL;
  }
}

float aihw_granularity_dw_min(const aihw_device_params *p) { return p->dw_min; }

/* The double a user most likely typed for a float32 parameter: the shortest decimal that
 * rounds to it (0.0005f -> 0.0005, not 0.000500000024). aihwkit's Python computes with
 * those doubles, so this reproduces its derived values bit for bit. */
static double as_typed(float v) {
  char text[32];
  for (int digits = 1; digits < 9; ++digits) {
    snprintf(text, sizeof text, "%.*g", digits, (double)v);
    const double d = strtod(text, NULL);
    if ((float)d == v)
      return d;
  }
  return (double)v;
}

aihw_device_params aihw_device_params_resolved(const aihw_device_params *p) {
  aihw_device_params out = *p;
  if (p->type == AIHW_DEVICE_SOFT_BOUNDS_PMAX) {
    /* aihwkit derives these in Python (double) and hands float32 to its C++ core. */
    const double range_min = as_typed(p->range_min), alpha = as_typed(p->alpha);
    const double b =
        (as_typed(p->range_max) - range_min) / (1.0 - exp(-as_typed(p->p_max) * alpha));
    out.w_min = p->range_min;
    out.w_max = (float)(range_min + b);
    out.dw_min = (float)(b * alpha);
    out.up_down = (float)(1.0 + 2.0 * range_min / b);
  }
  return out;
}

aihw_status aihw_device_params_granularity(const aihw_device_params *params, float *granularity,
                                           float *n_states) {
  if (params == NULL || granularity == NULL || n_states == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_device_params_granularity: params, granularity and n_states "
                      "must not be NULL");
  const aihw_device_model *model = aihw_device_model_of(params->type);
  if (model == NULL) {
    const char *name = aihw_device_type_name(params->type);
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "device type %s has no granularity (it is not a pulsed device)",
                      name != NULL ? name : "(out of range)");
  }
  const aihw_device_params p = aihw_device_params_resolved(params);
  const float g = model->granularity(&p);
  if (!(g > 0.0f) || !isfinite(g))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: granularity %g is not a positive finite number (dw_min = %g)",
                      model->name, (double)g, (double)p.dw_min);
  *granularity = g;
  *n_states = (p.w_max - p.w_min) / g;
  return AIHW_OK;
}
