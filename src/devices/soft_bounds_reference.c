/* SoftBoundsReferenceDevice (reference §5.8b): soft bounds on w' = w + reference,
 * dw_up = scale_up (1 - w'/bmax), dw_down = scale_down (1 - w'/bmin); the weight read out
 * is w' - reference (a differential read against a fixed reference device). Step rule:
 * aihw_soft_bounds_reference_step (physics/device_math.h). Hidden parameter (§1.5):
 * reference = extra[0].
 *
 * Construction, per device after §5.2, for bmax > 0 > bmin: the slopes get their own dtod,
 *   slope_down = (-scale_down/bmin) |1 + slope_down_dtod xi_0|,
 *   slope_up = (scale_up/bmax) |1 + slope_up_dtod xi_1|,
 * and the bounds are rescaled to keep the soft-bounds form: bmax = scale_up/slope_up,
 * bmin = -scale_down/slope_down (done even when the dtods are 0, as aihwkit, which moves a
 * bound by at most an ulp). [aihw] A zero slope (a zero step size) leaves its bound
 * unchanged instead of dividing 0 by 0. reference = reference_mean + reference_std xi_2;
 * subtract_symmetry_point adds sp = (su - sd)/(su/bmax - sd/bmin), where the up and down
 * steps are equal, to reference and reset_bias (skipped if the denominator is not > 0).
 * dtod streams AIHW_DTOD_MODEL + 0, 1, 2. Granularity g = dw_min.
 */
#include <math.h>

#include "core/alloc.h"
#include "core/error.h"
#include "devices/device_models.h"

static aihw_status populate_soft_bounds_reference(aihw_device_state *s) {
  const aihw_device_params *p = &s->params;
  const int64_t cols = s->cols;
  float *xi =
      aihw_alloc_array((size_t)cols * 3, sizeof(float), "SoftBoundsReference dtod scratch");
  if (xi == NULL)
    return aihw_last_status();
  float *xi_down = xi, *xi_up = xi + cols, *xi_ref = xi + 2 * cols;
  for (int64_t i = 0; i < s->rows; ++i) {
    aihw_dtod_normals(s, AIHW_DTOD_MODEL + 0, i, xi_down);
    aihw_dtod_normals(s, AIHW_DTOD_MODEL + 1, i, xi_up);
    aihw_dtod_normals(s, AIHW_DTOD_MODEL + 2, i, xi_ref);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t k = i * cols + j;
      float bound_max = s->max_bound[k], bound_min = s->min_bound[k];
      const float scale_up = s->scale_up[k], scale_down = s->scale_down[k];
      const int consistent = bound_max > 0.0f && bound_min < 0.0f;
      if (consistent) {
        float slope_down = -scale_down / bound_min;
        slope_down *= fabsf(1.0f + p->slope_down_dtod * xi_down[j]);
        float slope_up = scale_up / bound_max;
        slope_up *= fabsf(1.0f + p->slope_up_dtod * xi_up[j]);
        if (slope_up != 0.0f)
          bound_max = scale_up / slope_up;
        if (slope_down != 0.0f)
          bound_min = -scale_down / slope_down;
        s->max_bound[k] = bound_max;
        s->min_bound[k] = bound_min;
      }
      float reference = p->reference_mean + p->reference_std * xi_ref[j];
      if (p->subtract_symmetry_point && consistent) {
        const float denominator = scale_up / bound_max - scale_down / bound_min;
        if (denominator > 0.0f) {
          const float sp = (scale_up - scale_down) / denominator;
          reference += sp;
          s->reset_bias[k] += sp;
        }
      }
      s->extra[0][k] = reference;
    }
  }
  aihw_free(xi);
  return AIHW_OK;
}

const aihw_device_model aihw_soft_bounds_reference_model = {
    .type = AIHW_DEVICE_SOFT_BOUNDS_REFERENCE,
    .name = "SoftBoundsReferenceDevice",
    .n_extra = 1,
    .extra_names = {"reference", NULL, NULL},
    .has_write_noise = 1,
    .populate_extra = populate_soft_bounds_reference,
    .granularity = aihw_granularity_dw_min,
};
