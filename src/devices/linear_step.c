/* LinearStepDevice, SoftBoundsDevice and SoftBoundsPmaxDevice (reference §5.5): the step
 * shrinks linearly with the weight, dw_up = scale_up (1 - gamma_up w / ref_up),
 * dw_down = scale_down (1 - gamma_down w / ref_down), stored per device as the slopes
 *   slope_up = -gamma_up scale_up / ref_up,  slope_down = -gamma_down scale_down / ref_down
 * (hidden parameters "slope_up", "slope_down" = extra[0], extra[1], §1.5), so that the step
 * rule (aihw_linear_step, physics/device_math.h) is one multiply-add in aihwkit's float32
 * order.
 *
 * LinearStep: gamma = gamma_up/down + gamma_*_dtod xi (|.| unless allow_increasing); the
 * reference bound is the mean w_max / w_min (mean_bound_reference) or the device's own
 * bound; reverse_up/down move it beyond the opposite bound by reverse_offset.
 * SoftBounds: gamma = 1 and the device's own bounds, i.e. slope_up = -scale_up/max_bound,
 * slope_down = -scale_down/min_bound: the step vanishes at the bound. SoftBoundsPmax is
 * SoftBounds after pulsed_device.c resolved its w_min/w_max/dw_min/up_down.
 * dtod streams: AIHW_DTOD_MODEL + 0 (gamma_up), + 1 (gamma_down). Granularity g = dw_min.
 */
#include <math.h>

#include "core/alloc.h"
#include "core/error.h"
#include "devices/device_models.h"

/* Fills extra[0] (slope_up) and extra[1] (slope_down). soft_bounds: gamma 1, per-device
 * reference bounds, no draws. */
static aihw_status populate_slopes(aihw_device_state *s, int soft_bounds) {
  const aihw_device_params *p = &s->params;
  const int64_t cols = s->cols;
  float *xi = NULL;
  if (!soft_bounds) {
    xi = aihw_alloc_array((size_t)cols * 2, sizeof(float), "LinearStep dtod scratch");
    if (xi == NULL)
      return aihw_last_status();
  }
  const int mean_reference = soft_bounds ? 0 : p->mean_bound_reference;
  for (int64_t i = 0; i < s->rows; ++i) {
    if (!soft_bounds) {
      aihw_dtod_normals(s, AIHW_DTOD_MODEL + 0, i, xi);
      aihw_dtod_normals(s, AIHW_DTOD_MODEL + 1, i, xi + cols);
    }
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t k = i * cols + j;
      float gamma_up = 1.0f, gamma_down = 1.0f;
      if (!soft_bounds) {
        gamma_up = p->gamma_up + p->gamma_up_dtod * xi[j];
        gamma_down = p->gamma_down + p->gamma_down_dtod * xi[cols + j];
        if (!p->allow_increasing) {
          gamma_up = fabsf(gamma_up);
          gamma_down = fabsf(gamma_down);
        }
      }
      const float bound_max = mean_reference ? p->w_max : s->max_bound[k];
      const float bound_min = mean_reference ? p->w_min : s->min_bound[k];
      const float ref_up = p->reverse_up ? bound_min - p->reverse_offset : bound_max;
      const float ref_down = p->reverse_down ? bound_max + p->reverse_offset : bound_min;
      s->extra[0][k] = ref_up != 0.0f ? -gamma_up * s->scale_up[k] / ref_up : 0.0f;
      s->extra[1][k] = ref_down != 0.0f ? -gamma_down * s->scale_down[k] / ref_down : 0.0f;
    }
  }
  aihw_free(xi);
  return AIHW_OK;
}

static aihw_status populate_linear_step(aihw_device_state *s) { return populate_slopes(s, 0); }
static aihw_status populate_soft_bounds(aihw_device_state *s) { return populate_slopes(s, 1); }

const aihw_device_model aihw_linear_step_model = {
    .type = AIHW_DEVICE_LINEAR_STEP,
    .name = "LinearStepDevice",
    .n_extra = 2,
    .extra_names = {"slope_up", "slope_down", NULL},
    .has_write_noise = 1,
    .populate_extra = populate_linear_step,
    .granularity = aihw_granularity_dw_min,
};

const aihw_device_model aihw_soft_bounds_model = {
    .type = AIHW_DEVICE_SOFT_BOUNDS,
    .name = "SoftBoundsDevice",
    .n_extra = 2,
    .extra_names = {"slope_up", "slope_down", NULL},
    .has_write_noise = 1,
    .populate_extra = populate_soft_bounds,
    .granularity = aihw_granularity_dw_min,
};

const aihw_device_model aihw_soft_bounds_pmax_model = {
    .type = AIHW_DEVICE_SOFT_BOUNDS_PMAX,
    .name = "SoftBoundsPmaxDevice",
    .n_extra = 2,
    .extra_names = {"slope_up", "slope_down", NULL},
    .has_write_noise = 1,
    .populate_extra = populate_soft_bounds,
    .granularity = aihw_granularity_dw_min,
};
