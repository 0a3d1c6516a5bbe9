/* Step rules of the single-device models (reference §5.3–5.8b): what one pulse does to one
 * cross-point. Pure static inline functions shared by every backend (DESIGN.md §4 rule 1).
 *
 * A step takes the current weight w of one device, its per-device values (aihw_step_device,
 * drawn at construction) and the model constants (aihw_step_rule, from the parameters),
 * the direction (up = 1: weight increases; 0: decreases) and one standard normal xi for
 * the cycle-to-cycle noise, and returns the new weight, already clipped to the device's
 * bounds. Reference devices step w' = w + reference and return w' - reference. With write
 * noise the caller passes and receives the persistent (true) weight.
 *
 * Every rule follows aihwkit's float32 operation order (the parenthesisation written in
 * each function is the one evaluated; the build uses -ffp-contract=off) so that the
 * noise-free single steps of tests/data/golden/device_steps.json are reproduced bit for
 * bit, ExpStep and PowStep included with glibc's expf/powf (the CUDA expf/powf may differ
 * by an ulp).
 *
 * Per-device extra values (aihw_step_device.extra, the hidden parameters after the common
 * ones, in aihwkit's order of §1.5):
 *   LinearStep, SoftBounds, SoftBoundsPmax: [0] slope_up, [1] slope_down (precomputed
 *                        -gamma*scale/reference bound, so SoftBounds is LinearStep with
 *                        slopes -scale_up/max_bound and -scale_down/min_bound)
 *   PowStep:             [0] gamma_up, [1] gamma_down
 *   SoftBoundsReference: [0] reference
 *   PowStepReference:    [0] gamma_up, [1] gamma_down, [2] reference
 *   ConstantStep, ExpStep, PiecewiseStep: none
 */
#ifndef AIHW_PHYSICS_DEVICE_MATH_H
#define AIHW_PHYSICS_DEVICE_MATH_H

#include <math.h>

#include "aihw/device.h"
#include "core/hd.h"

/* Model constants of a step, taken from aihw_device_params once per tile. Plain data
 * (the piecewise nodes are copied, not referenced), so it can be passed to a GPU kernel
 * by value. */
typedef struct aihw_step_rule {
  aihw_device_type type;
  float dw_min_std; /* relative ctoc noise */
  int mult_noise;   /* LinearStep/SoftBounds/SoftBoundsReference noise kind */
  float A_up, A_down, gamma_up, gamma_down, a, b; /* ExpStep */
  float dw_min_std_add, dw_min_std_slope;         /* ExpStep "complex noise" */
  int piecewise_n;                                /* PiecewiseStep nodes */
  float piecewise_up[AIHW_PIECEWISE_MAX], piecewise_down[AIHW_PIECEWISE_MAX];
  int nan_quirk; /* PowStepReference: aihwkit's NaN jump (§5.7) */
} aihw_step_rule;

/* Per-device values of one cross-point (the hidden parameters). extra[] as in the file
 * comment. */
typedef struct aihw_step_device {
  float max_bound, min_bound, scale_up, scale_down;
  float extra[3];
} aihw_step_device;

/* Builds the rule constants of `p` (SoftBoundsPmax: p already resolved). */
AIHW_HD static inline aihw_step_rule aihw_step_rule_make(const aihw_device_params *p) {
  aihw_step_rule r;
  r.type = p->type;
  r.dw_min_std = p->dw_min_std;
  r.mult_noise = p->mult_noise;
  r.A_up = p->A_up;
  r.A_down = p->A_down;
  r.gamma_up = p->gamma_up;
  r.gamma_down = p->gamma_down;
  r.a = p->a;
  r.b = p->b;
  r.dw_min_std_add = p->dw_min_std_add;
  r.dw_min_std_slope = p->dw_min_std_slope;
  r.piecewise_n = p->piecewise_n;
  for (int k = 0; k < AIHW_PIECEWISE_MAX; ++k) {
    r.piecewise_up[k] = p->piecewise_up[k];
    r.piecewise_down[k] = p->piecewise_down[k];
  }
  r.nan_quirk = p->pow_step_reference_nan_quirk;
  return r;
}

AIHW_HD static inline float aihw_clip_to_bounds(float w, const aihw_step_device *d) {
  /* written as aihwkit's min/max pair: a NaN passes the upper clip and becomes min_bound
   * (the PowStepReference quirk of §5.7 depends on it) */
  w = w > d->max_bound ? d->max_bound : w;
  return w > d->min_bound ? w : d->min_bound;
}

/* ConstantStepDevice (§5.4): w +- scale * (1 + dw_min_std xi). */
AIHW_HD static inline float aihw_constant_step(const aihw_step_rule *r,
                                               const aihw_step_device *d, float w, int up,
                                               float xi) {
  const float noise = 1.0f + r->dw_min_std * xi;
  w = up ? w + d->scale_up * noise : w - d->scale_down * noise;
  return aihw_clip_to_bounds(w, d);
}

/* LinearStepDevice, SoftBoundsDevice(+Pmax) (§5.5), slopes precomputed per device:
 *   mult_noise: w +- (slope w + scale) (1 + sigma xi)
 *   additive:   w +- (slope w + scale (1 + sigma xi))
 * i.e. dw_up = scale_up (1 - gamma_up w / ref_up); slope_down < 0 for ref_down < 0. */
AIHW_HD static inline float aihw_linear_step(const aihw_step_rule *r, const aihw_step_device *d,
                                             float w, int up, float xi) {
  const float noise = 1.0f + r->dw_min_std * xi;
  const float slope = up ? d->extra[0] : d->extra[1];
  const float scale = up ? d->scale_up : d->scale_down;
  const float dw = r->mult_noise ? (slope * w + scale) * noise : slope * w + scale * noise;
  w = up ? w + dw : w - dw;
  return aihw_clip_to_bounds(w, d);
}

/* ExpStepDevice (§5.6): z = 2 w / (bmax - bmin) a + b,
 *   up:   y = max(1 - A_up exp(gamma_up z), 0),     dw = +y scale_up
 *   down: y = max(1 - A_down exp(-gamma_down z), 0), dw = -y scale_down
 * noise multiplicative, or with dw_min_std_add/slope the "complex" additive form
 * dw + sigma (|dw| + add + slope |w|) xi. No step when bmax <= bmin. */
AIHW_HD static inline float aihw_exp_step(const aihw_step_rule *r, const aihw_step_device *d,
                                          float w, int up, float xi) {
  const float range = d->max_bound - d->min_bound;
  if (!(range > 0.0f))
    return w;
  const float z = 2.0f * w / range * r->a + r->b;
  const float e = up ? r->A_up * expf(r->gamma_up * z) : r->A_down * expf(r->gamma_down * -z);
  const float y = 1.0f - e > 0.0f ? 1.0f - e : 0.0f;
  if (r->dw_min_std > 0.0f && (r->dw_min_std_add != 0.0f || r->dw_min_std_slope != 0.0f)) {
    const float dw = up ? y * d->scale_up : -y * d->scale_down;
    const float dw_std =
        r->dw_min_std * (fabsf(dw) + r->dw_min_std_add + r->dw_min_std_slope * fabsf(w));
    w += dw + dw_std * xi;
  } else {
    const float noise = 1.0f + r->dw_min_std * xi;
    w = up ? w + y * noise * d->scale_up : w - y * noise * d->scale_down;
  }
  return aihw_clip_to_bounds(w, d);
}

/* Step of the power-law rule on w (no clipping), shared by PowStep and PowStepReference.
 *   up:   scale_up   ((bmax - w) / range)^gamma_up
 *   down: scale_down ((w - bmin) / range)^gamma_down
 * clamp_base: a base below 0 (w beyond the bound it steps towards) gives a zero step
 * instead of powf's NaN (or, for integer gamma, a step backwards). */
AIHW_HD static inline float aihw_pow_rule(const aihw_step_device *d, float range, float w,
                                          int up, float noise, int clamp_base) {
  float base = up ? (d->max_bound - w) / range : (w - d->min_bound) / range;
  if (clamp_base)
    base = base > 0.0f ? base : 0.0f;
  if (up)
    return w + d->scale_up * powf(base, d->extra[0]) * noise;
  return w - d->scale_down * powf(base, d->extra[1]) * noise;
}

/* PowStepDevice (§5.7), gamma_up/gamma_down per device in extra[0]/extra[1], noise
 * multiplicative. No step when bmax == bmin. w lies within its bounds, so the base is
 * never negative and the clamp only guards weights set from outside. */
AIHW_HD static inline float aihw_pow_step(const aihw_step_rule *r, const aihw_step_device *d,
                                          float w, int up, float xi) {
  const float range = d->max_bound - d->min_bound;
  if (range == 0.0f)
    return w;
  w = aihw_pow_rule(d, range, w, up, 1.0f + r->dw_min_std * xi, 1);
  return aihw_clip_to_bounds(w, d);
}

/* PowStepReferenceDevice (§5.7): the PowStep rule on w' = w + reference (extra[2]), w'
 * clipped to the bounds, w = w' - reference. Weights set within [bmin, bmax] can give w'
 * beyond a bound. nan_quirk = 0: a pulse towards that bound does not move w' (zero step),
 * then the clip pulls w' to the bound. nan_quirk = 1 (aihwkit): the negative base gives
 * NaN, the clip turns it into min_bound, so w jumps to min_bound - reference. */
AIHW_HD static inline float aihw_pow_step_reference(const aihw_step_rule *r,
                                                    const aihw_step_device *d, float w, int up,
                                                    float xi) {
  const float range = d->max_bound - d->min_bound;
  if (range == 0.0f)
    return w;
  const float ref = d->extra[2];
  float wr = w + ref;
  wr = aihw_pow_rule(d, range, wr, up, 1.0f + r->dw_min_std * xi, !r->nan_quirk);
  return aihw_clip_to_bounds(wr, d) - ref;
}

/* PiecewiseStepDevice (§5.8): the relative step size is interpolated linearly between
 * piecewise_n nodes spread evenly over [bmin, bmax]; one node or bmax <= bmin: node 0. */
AIHW_HD static inline float aihw_piecewise_step(const aihw_step_rule *r,
                                                const aihw_step_device *d, float w, int up,
                                                float xi) {
  const float *nodes = up ? r->piecewise_up : r->piecewise_down;
  const float scale = up ? d->scale_up : d->scale_down;
  const int n_nodes = r->piecewise_n < AIHW_PIECEWISE_MAX ? r->piecewise_n : AIHW_PIECEWISE_MAX;
  const int n_sections = n_nodes - 1;
  float step;
  if (n_sections <= 0 || d->max_bound <= d->min_bound) {
    step = nodes[0] * scale;
  } else {
    float ws = (w - d->min_bound) / (d->max_bound - d->min_bound) * (float)n_sections;
    ws = ws > 0.0f ? ws : 0.0f; /* also maps NaN to 0, as aihwkit's MAX */
    /* min(floor(ws), n_sections - 1), without converting a huge ws to int */
    const int k = ws < (float)(n_sections - 1) ? (int)floorf(ws) : n_sections - 1;
    float t = ws - (float)k;
    t = t < 1.0f ? t : 1.0f;
    step = scale * ((1.0f - t) * nodes[k] + t * nodes[k + 1]);
  }
  const float noise = 1.0f + r->dw_min_std * xi;
  w = up ? w + step * noise : w - step * noise;
  return aihw_clip_to_bounds(w, d);
}

/* SoftBoundsReferenceDevice (§5.8b) on w' = w + reference (extra[0]):
 *   up:   a = bmax > 0 ? w'/bmax : 0;  w' += scale_up (1 - a) (1 + sigma xi)   [mult]
 *                                      w' += scale_up (1 - a + sigma xi)       [additive]
 *   down: a = bmin < 0 ? w'/bmin : 0;  w' -= scale_down (1 - a) ...
 * then w' is clipped to the bounds and w = w' - reference. */
AIHW_HD static inline float aihw_soft_bounds_reference_step(const aihw_step_rule *r,
                                                            const aihw_step_device *d, float w,
                                                            int up, float xi) {
  const float ref = d->extra[0];
  float wr = w + ref;
  float a, scale;
  if (up) {
    a = d->max_bound > 0.0f ? wr / d->max_bound : 0.0f;
    scale = d->scale_up;
  } else {
    a = d->min_bound < 0.0f ? wr / d->min_bound : 0.0f;
    scale = d->scale_down;
  }
  const float dw = r->mult_noise ? scale * (1.0f - a) * (1.0f + r->dw_min_std * xi)
                                 : scale * (1.0f - a + r->dw_min_std * xi);
  wr = up ? wr + dw : wr - dw;
  return aihw_clip_to_bounds(wr, d) - ref;
}

/* One step of any model (dispatch on r->type; constant per call site, so compilers
 * specialise the loops that call this with a known type). IDEAL and FLOATING_POINT are
 * not pulsed: w is returned unchanged. */
AIHW_HD static inline float aihw_device_step(const aihw_step_rule *r, const aihw_step_device *d,
                                             float w, int up, float xi) {
  switch (r->type) {
  case AIHW_DEVICE_CONSTANT_STEP: return aihw_constant_step(r, d, w, up, xi);
  case AIHW_DEVICE_LINEAR_STEP:
  case AIHW_DEVICE_SOFT_BOUNDS:
  case AIHW_DEVICE_SOFT_BOUNDS_PMAX: return aihw_linear_step(r, d, w, up, xi);
  case AIHW_DEVICE_SOFT_BOUNDS_REFERENCE:
    return aihw_soft_bounds_reference_step(r, d, w, up, xi);
  case AIHW_DEVICE_EXP_STEP: return aihw_exp_step(r, d, w, up, xi);
  case AIHW_DEVICE_POW_STEP: return aihw_pow_step(r, d, w, up, xi);
  case AIHW_DEVICE_POW_STEP_REFERENCE: return aihw_pow_step_reference(r, d, w, up, xi);
  case AIHW_DEVICE_PIECEWISE_STEP: return aihw_piecewise_step(r, d, w, up, xi);
  case AIHW_DEVICE_IDEAL:
  case AIHW_DEVICE_FLOATING_POINT:
  default: return w;
  }
}

#endif
