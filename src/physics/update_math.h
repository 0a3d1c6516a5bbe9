/* Update management of the pulsed update (reference §4.1–4.3): the per-sample pulse
 * probability scales and train length (aihwkit's calculateBlAB + performUpdateManagement)
 * and the effective probability resolution. Pure AIHW_HD functions shared by the CPU
 * update (src/tile/update.c) and the CUDA update kernels (DESIGN.md §4 rule 1). */
#ifndef AIHW_PHYSICS_UPDATE_MATH_H
#define AIHW_PHYSICS_UPDATE_MATH_H

#include <math.h>

#include "aihw/update_params.h"
#include "core/hd.h"

typedef struct aihw_sample_plan {
  float a_scale; /* A: d probability scale */
  float b_scale; /* B: x probability scale */
  int bl;        /* pulse-train length of this sample (0 = no update) */
} aihw_sample_plan;

/* Effective probability step: > 1 means "number of steps" unless the aihwkit quirk is on. */
AIHW_HD static inline float aihw_probability_res(const aihw_update_params *up, float res) {
  if (res > 1.0f && !up->res_steps_quirk)
    return 1.0f / res;
  return res;
}

/* §4.2 calculateBlAB + performUpdateManagement for one sample: learning rate lr, device
 * granularity g, abs maxima of the sample's x (bias input included) and d. */
AIHW_HD static inline aihw_sample_plan aihw_plan_sample(const aihw_update_params *up, float lr,
                                                        float g, float x_amax, float d_amax) {
  aihw_sample_plan pl = {0.0f, 0.0f, 0};
  if (lr == 0.0f)
    return pl;
  const int bld = up->desired_bl;
  const int ublm = up->update_bl_management;
  const int um = up->update_management || ublm; /* UBLM forces UM (§4.1) */
  if (up->fixed_bl || ublm) {
    pl.bl = bld;
    pl.a_scale = pl.b_scale = sqrtf(lr / (g * (float)pl.bl));
  } else if (g * (float)bld < lr) {
    pl.a_scale = pl.b_scale = 1.0f;
    float need = ceilf(lr / g);
    pl.bl = need > 1.0f ? (int)need : 1;
  } else {
    pl.bl = bld;
    pl.a_scale = pl.b_scale = sqrtf(lr / (g * (float)pl.bl));
  }
  if (!um)
    return pl;
  if (d_amax == 0.0f || x_amax == 0.0f) {
    pl.a_scale = pl.b_scale = 1.0f;
    pl.bl = 0;
    return pl;
  }
  const float xv = x_amax;
  float dv = up->um_grad_scale * d_amax;
  const float k = lr * xv * dv / g;
  if (ublm) {
    float need = ceilf(k);
    pl.bl = need < (float)bld ? (int)need : bld;
    if (pl.bl < 1)
      pl.bl = 1;
    pl.a_scale = pl.b_scale = sqrtf(lr / (g * (float)pl.bl));
  }
  if (k > (float)bld)
    dv = dv * ((float)bld / k);
  pl.a_scale = pl.a_scale * sqrtf(xv / dv);
  pl.b_scale = pl.b_scale * sqrtf(dv / xv);
  return pl;
}

/* One sample of a ConstantStep device's mean path over a batch (docs/physics.md,
 * "Aggregated steps"): the signed count c (> 0: c down steps of size sd, < 0: |c| up steps
 * of size su) moves the position *pos, whose running extremes *hi, *lo (both start at 0)
 * the bounds test reads. A count of 0 changes nothing. */
AIHW_HD static inline void aihw_mean_path_step(int count, float su, float sd, float *pos,
                                               float *hi, float *lo) {
  const float c = (float)count;
  const float scale = c > 0.0f ? sd : su;
  const float p = *pos - c * scale;
  *pos = p;
  *hi = p > *hi ? p : *hi;
  *lo = p < *lo ? p : *lo;
}

#endif
