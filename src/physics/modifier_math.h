/* Element-wise physics of hardware-aware training (reference §6.2, §6.3): symmetric weight
 * clipping and every weight-modifier type of aihwkit's WeightModifier (C++ CPU
 * `weight_modifier.cpp`; PCM_NOISE from the CUDA kernel `kernelModifyWeightsPCMNoise`, the
 * only implementation aihwkit has of it). Pure static inline functions shared by every
 * backend (DESIGN.md §4 rule 1): no allocation, no I/O, no globals.
 *
 * A driver builds one aihw_modifier_rule per call from the parameters and amax (the weight
 * scale of §6.3: max|W| or assumed_wmax), then maps every element w through
 * aihw_modifier_apply() with that element's random numbers (aihw_modifier_draws), and
 * finally through aihw_modifier_drop() when pdrop > 0. The random numbers come from
 * counter-based sub-streams, one per kind of draw (aihw_modifier_round), so an element's
 * result depends only on its coordinates.
 *
 * Operation order follows aihwkit's float32 CPU code (the parenthesisation written is the
 * one evaluated; build with -ffp-contract=off), so deterministic types (DISCRETIZE, DOREFA,
 * COPY) reproduce aihwkit bit for bit up to libm's tanhf. Rounding is roundf's: half away
 * from zero. */
#ifndef AIHW_PHYSICS_MODIFIER_MATH_H
#define AIHW_PHYSICS_MODIFIER_MATH_H

#include <math.h>
#include <stdint.h>

#include "aihw/inference.h"
#include "core/hd.h"

/* Sub-stream (Philox `round`) of each kind of random number a modifier draws; purpose
 * AIHW_RNG_MODIFIER, row = weight row, element = column. */
typedef enum aihw_modifier_round {
  AIHW_MODIFIER_ROUND_NORMAL = 0,           /* xi of MULT/ADD/DISCRETIZE_ADD_NORMAL/POLY/PROG;
                                               programming xi of PCM_NOISE */
  AIHW_MODIFIER_ROUND_STO_ROUND = 1,        /* uniform of stochastic rounding */
  AIHW_MODIFIER_ROUND_DROP = 2,             /* uniform of drop-connect */
  AIHW_MODIFIER_ROUND_PCM_DRIFT = 3,        /* PCM_NOISE: xi of the drift exponent */
  AIHW_MODIFIER_ROUND_PCM_READ = 4,         /* PCM_NOISE: xi of the 1/f read noise */
  AIHW_MODIFIER_ROUND_PCM_RESET = 5,        /* PCM_NOISE: uniform, device left at reset */
  AIHW_MODIFIER_ROUND_PCM_GMAX = 6,         /* PCM_NOISE: uniform, device stuck near g_max */
  AIHW_MODIFIER_ROUND_PCM_GMAX_DIR = 7,     /* PCM_NOISE: uniform, direction of that shift */
  AIHW_MODIFIER_ROUND_PCM_RANDOM = 8,       /* PCM_NOISE: uniform, device at a random value */
  AIHW_MODIFIER_ROUND_PCM_RANDOM_VALUE = 9, /* PCM_NOISE: uniform, that random value */
  AIHW_MODIFIER_ROUND_COUNT = 10
} aihw_modifier_round;

/* Constants of the PCM_NOISE model (CUDA kernel of aihwkit; the PCMLikeNoiseModel fit of
 * §6.6 at g_max = 25 uS): programming-noise polynomial P0 + P1 r + P2 r^2 (uS) and the
 * read time of the 1/f noise (s). */
#define AIHW_PCM_NOISE_P0 0.26348f
#define AIHW_PCM_NOISE_P1 1.9650f
#define AIHW_PCM_NOISE_P2 (-1.1731f)
#define AIHW_PCM_NOISE_T_READ 250.0e-9

/* What one call of a modifier does, derived once from the parameters and amax. Plain data
 * (coefficients copied), so it can be passed to a GPU kernel by value. */
typedef struct aihw_modifier_rule {
  aihw_weight_modifier_type type;
  int active;         /* 0: the type leaves w unchanged with these parameters (e.g. std 0) */
  float amax;         /* weight scale of §6.3 (> 0) */
  float std;          /* noise std in the unit the type's formula uses (see make) */
  float res;          /* DISCRETIZE*, DOREFA: step (in units of amax for DISCRETIZE*) */
  int sto_round;      /* stochastic rounding */
  float dorefa_scale; /* DOREFA: |dorefa_clip / tanh(amax)| */
  int n_coeffs;
  float coeffs[AIHW_INFERENCE_MAX_COEFFS]; /* POLY, PROG_NOISE */
  /* PCM_NOISE */
  float g_max, zero_thres, t, t0, prob_at_reset, prob_at_gmax, prob_at_random;
  float log_sqrt_factor; /* sqrt(ln((t + t_read) / (2 t_read))) */
} aihw_modifier_rule;

/* The random numbers of one element (only those the rule needs are read). */
typedef struct aihw_modifier_draws {
  float xi;             /* ROUND_NORMAL */
  float u_round;        /* ROUND_STO_ROUND */
  float xi_drift;       /* ROUND_PCM_DRIFT */
  float xi_read;        /* ROUND_PCM_READ */
  float u_reset;        /* ROUND_PCM_RESET */
  float u_gmax;         /* ROUND_PCM_GMAX */
  float u_gmax_dir;     /* ROUND_PCM_GMAX_DIR */
  float u_random;       /* ROUND_PCM_RANDOM */
  float u_random_value; /* ROUND_PCM_RANDOM_VALUE */
} aihw_modifier_draws;

/* W = clip(W, -c, c), written as aihwkit's MIN(MAX(w, -c), c) macros (a NaN becomes -c). */
AIHW_HD static inline float aihw_clip_symmetric(float w, float c) {
  float lower = w > -c ? w : -c;
  return lower < c ? lower : c;
}

/* roundf(x): nearest integer, halfway cases away from zero, sign of zero kept; the same
 * value bit for bit, written with a truncating conversion because gcc calls libm for roundf
 * (a third of the DISCRETIZE loop) unless trapping math is off. */
AIHW_HD static inline float aihw_round_half_away(float x) {
  if (!(fabsf(x) < 8388608.0f)) /* 2^23: already an integer; also inf and NaN */
    return x;
  float t = (float)(int32_t)x; /* exact: |x| < 2^23 */
  const float rest = x - t;    /* exact */
  if (rest >= 0.5f)
    t += 1.0f;
  else if (rest <= -0.5f)
    t -= 1.0f;
  return copysignf(t, x);
}

/* aihwkit's getDiscretizedValueRound: round(value / res [+ u - 1/2]) res, with u uniform in
 * [0, 1) for stochastic rounding; res <= 0 leaves value unchanged. */
AIHW_HD static inline float aihw_modifier_discretize(float value, float res, int sto_round,
                                                     float u) {
  if (res <= 0.0f)
    return value;
  if (sto_round)
    return aihw_round_half_away(value / res + (u - 0.5f)) * res;
  return aihw_round_half_away(value / res) * res;
}

/* Polynomial std factor c0 + c1 a + c2 a^2 + ... of POLY and PROG_NOISE (a = |w|/amax),
 * accumulated as aihwkit does (running power). */
AIHW_HD static inline float aihw_modifier_poly_sigma(const float *coeffs, int n_coeffs,
                                                     float a) {
  float power = 1.0f;
  float sigma = coeffs[0];
  for (int k = 1; k < n_coeffs; ++k) {
    power *= a;
    sigma += coeffs[k] * power;
  }
  return sigma;
}

/* PCM_NOISE (§6.3 pseudo-code; "ZEUS baseline": programming noise, drift *variation* and
 * 1/f read noise, no mean drift). The sign of the result is the sign of the target (after
 * the zero threshold), so noise never flips a weight; an untouched (zero) target stays 0. */
AIHW_HD static inline float aihw_modifier_pcm_noise(const aihw_modifier_rule *r, float w,
                                                    const aihw_modifier_draws *d) {
  const float g_max = r->g_max, amax = r->amax, noise_scale = r->std;
  float clipped = w < amax ? w : amax;
  clipped = clipped > -amax ? clipped : -amax;
  float g = clipped * g_max / amax;
  g = fabsf(g) > r->zero_thres ? g : 0.0f; /* small targets are not programmed */
  const int negative = g < 0.0f;
  if (r->prob_at_reset > 0.0f)
    g = d->u_reset < r->prob_at_reset ? 0.0f : g;
  if (r->prob_at_gmax > 0.0f && d->u_gmax < r->prob_at_gmax)
    g = d->u_gmax_dir > 0.5f ? g - g_max : g + g_max;
  if (r->prob_at_random > 0.0f && d->u_random < r->prob_at_random) {
    const float value = d->u_random_value * g_max;
    g = g > 0.0f ? value : -value;
  }
  g = g > -g_max ? g : -g_max;
  g = g < g_max ? g : g_max;
  if (!(fabsf(g) > 0.0f))
    return 0.0f;

  const float g_rel = fabsf(g / g_max);
  const float sigma_prog =
      AIHW_PCM_NOISE_P0 + g_rel * AIHW_PCM_NOISE_P1 + g_rel * g_rel * AIHW_PCM_NOISE_P2;
  const float g_prog = g + noise_scale * sigma_prog * d->xi;
  const float g_prog_rel = fabsf(g_prog / g_max);
  float g_drift = g_prog;
  if (r->t > r->t0) {
    const float g_rel_drift = g_prog_rel > 1e-6f ? g_prog_rel : 1e-6f;
    float sigma_nu = -0.0125f * logf(g_rel_drift) - 0.0059f;
    sigma_nu = sigma_nu > 0.008f ? sigma_nu : 0.008f;
    sigma_nu = sigma_nu < 0.045f ? sigma_nu : 0.045f;
    const float nu = fabsf(d->xi_drift * sigma_nu);
    g_drift = g_prog * powf(r->t / r->t0, -nu);
  }
  float g_final = g_drift;
  if (r->t > 0.0f) {
    const float power = powf(g_prog_rel, 0.65f);
    float q_s = 0.0088f / (power > 1e-3f ? power : 1e-3f);
    q_s = q_s < 0.2f ? q_s : 0.2f;
    g_final = g_drift + noise_scale * fabsf(g_drift) * (q_s * r->log_sqrt_factor) * d->xi_read;
  }
  const float w_final = g_final / g_max * amax;
  return negative ? -fabsf(w_final) : fabsf(w_final);
}

/* Builds the rule of `p` for weight scale amax > 0. `std` is, per type:
 *   MULT_NORMAL, ADD_NORMAL, DISCRETIZE_ADD_NORMAL: std_dev amax (absolute weight noise)
 *   POLY: std_dev; PROG_NOISE: std_dev / g_max (the polynomial is in uS)
 *   PCM_NOISE: std_dev (scales programming and read noise, "noise_scale") */
AIHW_HD static inline aihw_modifier_rule
aihw_modifier_rule_make(const aihw_weight_modifier_params *p, float amax) {
  aihw_modifier_rule r;
  r.type = p->type;
  r.amax = amax;
  r.std = 0.0f;
  r.res = p->res;
  r.sto_round = p->sto_round;
  r.dorefa_scale = 0.0f;
  r.n_coeffs = p->n_coeffs;
  for (int k = 0; k < AIHW_INFERENCE_MAX_COEFFS; ++k)
    r.coeffs[k] = k < p->n_coeffs ? p->coeffs[k] : 0.0f;
  r.g_max = p->g_max;
  r.zero_thres = 0.0f;
  r.t0 = p->pcm_t0;
  r.t = p->pcm_t_inference + p->pcm_t0;
  r.prob_at_reset = p->pcm_prob_at_reset;
  r.prob_at_gmax = p->pcm_prob_at_gmax;
  r.prob_at_random = p->pcm_prob_at_random;
  r.log_sqrt_factor = 0.0f;
  r.active = 0;
  switch (p->type) {
  case AIHW_MODIFIER_NONE:
  case AIHW_MODIFIER_COPY:
  case AIHW_MODIFIER_DROP_CONNECT: break;
  case AIHW_MODIFIER_DISCRETIZE: r.active = p->res > 0.0f; break;
  case AIHW_MODIFIER_DOREFA:
    r.active = p->res > 0.0f;
    r.dorefa_scale = fabsf(p->dorefa_clip / tanhf(amax));
    break;
  case AIHW_MODIFIER_MULT_NORMAL:
  case AIHW_MODIFIER_ADD_NORMAL:
    r.std = p->std_dev * amax;
    r.active = p->std_dev > 0.0f;
    break;
  case AIHW_MODIFIER_DISCRETIZE_ADD_NORMAL:
    r.std = p->std_dev * amax;
    r.active = p->res > 0.0f || r.std > 0.0f;
    break;
  case AIHW_MODIFIER_POLY:
    r.std = p->std_dev;
    r.active = p->std_dev > 0.0f && p->n_coeffs > 0;
    break;
  case AIHW_MODIFIER_PROG_NOISE:
    r.std = p->std_dev / p->g_max;
    r.active = p->std_dev > 0.0f && p->n_coeffs > 0;
    break;
  case AIHW_MODIFIER_PCM_NOISE:
    r.std = p->std_dev;
    r.zero_thres = p->pcm_zero_thres * p->std_dev * AIHW_PCM_NOISE_P0;
    /* in double, as aihwkit computes it on the host */
    r.log_sqrt_factor =
        (float)sqrt(log(((double)r.t + AIHW_PCM_NOISE_T_READ) / (2.0 * AIHW_PCM_NOISE_T_READ)));
    r.active = 1; /* always: even without noise it clips and maps through g_max */
    break;
  }
  return r;
}

/* Which sub-streams (bit 1 << aihw_modifier_round) the rule reads. Drop-connect is
 * separate (pdrop > 0). */
AIHW_HD static inline unsigned aihw_modifier_rounds_needed(const aihw_modifier_rule *r) {
  if (!r->active)
    return 0u;
  const unsigned normal = 1u << AIHW_MODIFIER_ROUND_NORMAL;
  const unsigned sto = r->sto_round ? 1u << AIHW_MODIFIER_ROUND_STO_ROUND : 0u;
  switch (r->type) {
  case AIHW_MODIFIER_DISCRETIZE:
  case AIHW_MODIFIER_DOREFA: return sto;
  case AIHW_MODIFIER_MULT_NORMAL:
  case AIHW_MODIFIER_ADD_NORMAL:
  case AIHW_MODIFIER_POLY:
  case AIHW_MODIFIER_PROG_NOISE: return normal;
  case AIHW_MODIFIER_DISCRETIZE_ADD_NORMAL:
    return (r->std > 0.0f ? normal : 0u) | (r->res > 0.0f ? sto : 0u);
  case AIHW_MODIFIER_PCM_NOISE: {
    unsigned m = normal;
    if (r->t > r->t0)
      m |= 1u << AIHW_MODIFIER_ROUND_PCM_DRIFT;
    if (r->t > 0.0f)
      m |= 1u << AIHW_MODIFIER_ROUND_PCM_READ;
    if (r->prob_at_reset > 0.0f)
      m |= 1u << AIHW_MODIFIER_ROUND_PCM_RESET;
    if (r->prob_at_gmax > 0.0f)
      m |= (1u << AIHW_MODIFIER_ROUND_PCM_GMAX) | (1u << AIHW_MODIFIER_ROUND_PCM_GMAX_DIR);
    if (r->prob_at_random > 0.0f)
      m |=
          (1u << AIHW_MODIFIER_ROUND_PCM_RANDOM) | (1u << AIHW_MODIFIER_ROUND_PCM_RANDOM_VALUE);
    return m;
  }
  case AIHW_MODIFIER_NONE:
  case AIHW_MODIFIER_COPY:
  case AIHW_MODIFIER_DROP_CONNECT: break;
  }
  return 0u;
}

/* The type-specific steps of §6.3 for one weight (before drop-connect), with the rule's
 * constants; u is the stochastic-rounding uniform (unused without sto_round), xi the
 * normal. Each is valid only for a rule of its type. */

/* DISCRETIZE: amax disc(w / amax, res). */
AIHW_HD static inline float aihw_modifier_discretized(const aihw_modifier_rule *r, float w,
                                                      float u) {
  return r->amax * aihw_modifier_discretize(w / r->amax, r->res, r->sto_round, u);
}

/* MULT_NORMAL: w + w (std_dev amax) xi. */
AIHW_HD static inline float aihw_modifier_mult_normal(const aihw_modifier_rule *r, float w,
                                                      float xi) {
  return w + w * r->std * xi;
}

/* ADD_NORMAL: w + (std_dev amax) xi. */
AIHW_HD static inline float aihw_modifier_add_normal(const aihw_modifier_rule *r, float w,
                                                     float xi) {
  return w + r->std * xi;
}

/* DISCRETIZE_ADD_NORMAL: amax disc(w / amax, res) + (std_dev amax) xi. */
AIHW_HD static inline float aihw_modifier_discretize_add_normal(const aihw_modifier_rule *r,
                                                                float w, float u, float xi) {
  return aihw_modifier_discretized(r, w, u) + r->std * xi;
}

/* DOREFA: disc(tanh(w) |dorefa_clip / tanh(amax)|, res), no rescaling by amax. */
AIHW_HD static inline float aihw_modifier_dorefa(const aihw_modifier_rule *r, float w,
                                                 float u) {
  return aihw_modifier_discretize(tanhf(w) * r->dorefa_scale, r->res, r->sto_round, u);
}

/* POLY: w + amax sigma xi, sigma = std_dev sum_k c_k (|w| / amax)^k. */
AIHW_HD static inline float aihw_modifier_poly(const aihw_modifier_rule *r, float w, float xi) {
  const float sigma =
      aihw_modifier_poly_sigma(r->coeffs, r->n_coeffs, fabsf(w) / r->amax) * r->std;
  return w + r->amax * sigma * xi;
}

/* PROG_NOISE: sign(w) |w + amax sigma xi|, sigma as POLY with std_dev / g_max (w = 0 counts
 * as positive). */
AIHW_HD static inline float aihw_modifier_prog_noise(const aihw_modifier_rule *r, float w,
                                                     float xi) {
  const float sigma =
      aihw_modifier_poly_sigma(r->coeffs, r->n_coeffs, fabsf(w) / r->amax) * r->std;
  const float noisy = fabsf(w + r->amax * sigma * xi);
  return w < 0.0f ? -noisy : noisy;
}

/* The type's step for any type (NONE, COPY, DROP_CONNECT and inactive rules: w). */
AIHW_HD static inline float aihw_modifier_apply(const aihw_modifier_rule *r, float w,
                                                const aihw_modifier_draws *d) {
  if (!r->active)
    return w;
  switch (r->type) {
  case AIHW_MODIFIER_DISCRETIZE: return aihw_modifier_discretized(r, w, d->u_round);
  case AIHW_MODIFIER_MULT_NORMAL: return aihw_modifier_mult_normal(r, w, d->xi);
  case AIHW_MODIFIER_ADD_NORMAL: return aihw_modifier_add_normal(r, w, d->xi);
  case AIHW_MODIFIER_DISCRETIZE_ADD_NORMAL:
    return aihw_modifier_discretize_add_normal(r, w, d->u_round, d->xi);
  case AIHW_MODIFIER_DOREFA: return aihw_modifier_dorefa(r, w, d->u_round);
  case AIHW_MODIFIER_POLY: return aihw_modifier_poly(r, w, d->xi);
  case AIHW_MODIFIER_PROG_NOISE: return aihw_modifier_prog_noise(r, w, d->xi);
  case AIHW_MODIFIER_PCM_NOISE: return aihw_modifier_pcm_noise(r, w, d);
  case AIHW_MODIFIER_NONE:
  case AIHW_MODIFIER_COPY:
  case AIHW_MODIFIER_DROP_CONNECT: break;
  }
  return w;
}

/* Drop-connect: 0 with probability pdrop (u uniform in [0, 1)). */
AIHW_HD static inline float aihw_modifier_drop(float w, float u, float pdrop) {
  return u < pdrop ? 0.0f : w;
}

#endif
