/* Conductance converters (reference §6.5): how a weight matrix becomes device
 * conductances ("slices") and back. Pure static inline functions shared by every backend
 * (DESIGN.md §4 rule 1), plus the branch-free float helpers the inference physics uses.
 *
 * A conversion is fixed by the matrix it converts: aihw_conductance_map_make() takes the
 * extreme weights of the matrix (max|W| for the pair converters, min W and max W for the
 * single device) and freezes the scale, exactly as aihwkit recomputes `scale_ratio` from
 * the weights passed to every `convert_to_conductances` call. Per element,
 * aihw_conductance_to_g() gives the slices (g+ and g- of each pair, lowest significance
 * first; one slice for SINGLE_DEVICE) and aihw_conductance_to_w() sums them back.
 *
 * Every formula follows aihwkit's float32 operation order (tests/data/golden/README.md,
 * converter.json), so that the golden conversions are reproduced bit for bit:
 *   SINGLE_PAIR   r = (1/max(max|W|, 1e-7)) (g_max - g_min)   [torch: python/tensor is a
 *                 reciprocal times the scalar]; g+- = clamp(+-W r, 0, g_max) + g_min;
 *                 W = ((g+ - g_min) - (g- - g_min)) / r.
 *   N_PAIR, DUAL_PAIR  r = (1/max(max|W|, 1e-7)) sum_k f_k (g_max - g_min); pair k takes
 *                 clamp((max(+-W r, 0) - L_k)/f_k + g_min, g_min, g_max) with
 *                 L_k = sum_{l<k} f_l (g_max - g_min); W = (sum_k f_k (g+_k - g-_k)) / r.
 *   CUSTOM_PAIR   the user tables g_lst (2 n_f lists of n_g conductances, see below) are
 *                 sampled at n_g weights evenly spread over [-max|W|, max|W|]; conductances
 *                 are linear interpolations (numpy.interp, in double); back as N_PAIR with
 *                 r = max|sum_k f_k (g+_k - g-_k)| / max(max|W|, 1e-7).
 *   SINGLE_DEVICE r = (1/(max W - min W)) (g_max - g_min); g = (W - min W) r + g_min;
 *                 W = min W + (g - g_min)/r. [aihw] max W - min W is clamped at 1e-7 (aihwkit
 *                 divides by zero for a constant matrix and returns NaN).
 * Scalars that aihwkit keeps as Python doubles (g_max - g_min, sum_k f_k (g_max - g_min),
 * L_k) are formed in double and rounded to float once, as torch does when it meets them.
 *
 * Layout of aihw_converter_params.g_lst for CUSTOM_PAIR (as src/inference/inference_params.c
 * validates it): the 2 n_f lists of aihwkit's `g_lst` one after the other (g+ of pair 0,
 * g- of pair 0, g+ of pair 1, ...), n_g entries in all, each list L = n_g / (2 n_f) >= 2
 * entries long: entry i of list l is g_lst[l L + i].
 *
 * Invariant used by the inference kernels (src/inference/program.c): after a pair
 * conversion (SINGLE, N, DUAL) at most one slice of each pair differs from g_min.
 */
#ifndef AIHW_PHYSICS_CONVERTER_MATH_H
#define AIHW_PHYSICS_CONVERTER_MATH_H

#include <math.h>
#include <stdint.h>

#include "aihw/inference.h"
#include "core/hd.h"
#include "core/philox.h"

/* ---- Branch-free float helpers ----------------------------------------------------
 * gcc keeps a `c ? a : b` on floats as a branch when later float operations depend on it
 * (they "could trap" under the default -ftrapping-math), which stops the vectorisation
 * of the element loops. A select through integer masks computes the same value (NaN
 * comparisons included: they are false) and becomes a SIMD blend. */

AIHW_HD static inline float aihw_fselect(int condition, float a, float b) {
  uint32_t mask = 0u - (uint32_t)(condition != 0);
  return aihw_bits_float((aihw_float_bits(a) & mask) | (aihw_float_bits(b) & ~mask));
}

/* x < lo ? lo : x (torch clamp(min=lo)). */
AIHW_HD static inline float aihw_fmax_of(float x, float lo) {
  return aihw_fselect(x < lo, lo, x);
}

/* x > hi ? hi : x (torch clamp(max=hi)). */
AIHW_HD static inline float aihw_fmin_of(float x, float hi) {
  return aihw_fselect(x > hi, hi, x);
}

/* torch clamp(min=lo, max=hi): min(max(x, lo), hi). */
AIHW_HD static inline float aihw_fclamp(float x, float lo, float hi) {
  return aihw_fmin_of(aihw_fmax_of(x, lo), hi);
}

/* ---- Resolved conversion ---------------------------------------------------------- */

typedef struct aihw_conductance_map {
  aihw_converter_type type;
  int n_pairs;  /* pair converters: number of pairs; SINGLE_DEVICE: 0 */
  int n_slices; /* 2 n_pairs, or 1 */
  float g_min, g_max;
  float scale;                           /* scale_ratio r, uS per weight unit */
  float w_min;                           /* SINGLE_DEVICE: min W of the converted matrix */
  float f[AIHW_INFERENCE_MAX_PAIRS];     /* significance factors (SINGLE_PAIR: 1) */
  float lower[AIHW_INFERENCE_MAX_PAIRS]; /* N/DUAL: L_k in uS, rounded to float */
  int n_table;                           /* CUSTOM_PAIR: entries per list */
  double w_table[AIHW_INFERENCE_MAX_TABLE / 2]; /* CUSTOM_PAIR: weight of each entry */
  double g_table[AIHW_INFERENCE_MAX_TABLE];     /* CUSTOM_PAIR: g_lst as doubles */
  double g_slope[AIHW_INFERENCE_MAX_TABLE];     /* CUSTOM_PAIR: per-interval slopes */
} aihw_conductance_map;

/* Number of slices of converter `c` (2 per pair, 1 for SINGLE_DEVICE). */
AIHW_HD static inline int aihw_converter_slice_count(const aihw_converter_params *c) {
  switch (c->type) {
  case AIHW_CONVERTER_SINGLE_PAIR: return 2;
  case AIHW_CONVERTER_N_PAIR:
  case AIHW_CONVERTER_DUAL_PAIR:
  case AIHW_CONVERTER_CUSTOM_PAIR: return 2 * c->n_f;
  case AIHW_CONVERTER_SINGLE_DEVICE: return 1;
  }
  return 0;
}

/* SinglePair scale ratio from max|W| (golden recipe: reciprocal, then multiply). */
AIHW_HD static inline float aihw_single_pair_scale(float max_abs_w, float g_max, float g_min) {
  float range = (float)((double)g_max - (double)g_min);
  return (1.0f / aihw_fmax_of(max_abs_w, 1e-7f)) * range;
}

/* SinglePair slices of weight w under scale r. */
AIHW_HD static inline void aihw_single_pair_to_g(float w, float r, float g_max, float g_min,
                                                 float *g_plus, float *g_minus) {
  float s = w * r;
  *g_plus = aihw_fclamp(s, 0.0f, g_max) + g_min;
  *g_minus = aihw_fclamp(-s, 0.0f, g_max) + g_min;
}

AIHW_HD static inline float aihw_single_pair_to_w(float g_plus, float g_minus, float r,
                                                  float g_min) {
  return ((g_plus - g_min) - (g_minus - g_min)) / r;
}

/* One N-pair slice from the positive part w_us_part = max(+-W r, 0) (in uS). */
AIHW_HD static inline float aihw_n_pair_slice(float w_us_part, float lower, float f,
                                              float g_min, float g_max) {
  return aihw_fclamp((w_us_part - lower) / f + g_min, g_min, g_max);
}

/* numpy.interp(x, xp, fp) on a table of n >= 2 points with xp non-decreasing and
 * slope[j] = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]) (unused where xp repeats): constant
 * beyond the ends; at a table point exactly its value; else slope (x - xp[j]) + fp[j]
 * with j the last index whose xp[j] <= x. */
AIHW_HD static inline double aihw_interp(double x, const double *xp, const double *fp,
                                         const double *slope, int n) {
  if (!(x >= xp[0]))
    return x < xp[0] ? fp[0] : x; /* NaN stays NaN */
  if (x >= xp[n - 1])
    return fp[n - 1];
  int j = 0;
  while (j + 1 < n - 1 && xp[j + 1] <= x)
    ++j;
  if (xp[j] == x)
    return fp[j];
  return slope[j] * (x - xp[j]) + fp[j];
}

/* Slopes of numpy.interp for a table (xp, fp) of n points, into slope[0 .. n-2]. */
AIHW_HD static inline void aihw_interp_slopes(const double *xp, const double *fp, int n,
                                              double *slope) {
  for (int j = 0; j + 1 < n; ++j)
    slope[j] = xp[j + 1] > xp[j] ? (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) : 0.0;
}

/* CUSTOM_PAIR: entries per table list. */
AIHW_HD static inline int aihw_custom_pair_list_length(const aihw_converter_params *c) {
  return c->n_f > 0 ? c->n_g / (2 * c->n_f) : 0;
}

/* CUSTOM_PAIR: max|sum_k f_k (g+_k[i] - g-_k[i])| over the table entries i (float32, as
 * aihwkit accumulates it); the weight range the tables span, in uS. */
AIHW_HD static inline float aihw_custom_pair_max_weight_us(const aihw_converter_params *c) {
  const int len = aihw_custom_pair_list_length(c);
  float best = 0.0f;
  for (int i = 0; i < len; ++i) {
    float acc = 0.0f;
    for (int k = 0; k < c->n_f; ++k)
      acc += c->f_lst[k] * (c->g_lst[(2 * k) * len + i] - c->g_lst[(2 * k + 1) * len + i]);
    best = aihw_fmax_of(best, fabsf(acc));
  }
  return best;
}

/* Freezes the conversion of a matrix whose smallest and largest weights are w_lo, w_hi
 * (finite). `c` must be valid (program.c checks it). */
AIHW_HD static inline aihw_conductance_map
aihw_conductance_map_make(const aihw_converter_params *c, float w_lo, float w_hi) {
  aihw_conductance_map m;
  m.type = c->type;
  m.n_slices = aihw_converter_slice_count(c);
  m.n_pairs = c->type == AIHW_CONVERTER_SINGLE_DEVICE ? 0 : m.n_slices / 2;
  m.g_min = c->g_min;
  m.g_max = c->g_max;
  m.w_min = 0.0f;
  m.n_table = 0;
  float max_abs = aihw_fmax_of(fabsf(w_lo), fabsf(w_hi));
  double range = (double)c->g_max - (double)c->g_min;
  for (int k = 0; k < AIHW_INFERENCE_MAX_PAIRS; ++k) {
    m.f[k] = 1.0f;
    m.lower[k] = 0.0f;
  }
  switch (c->type) {
  case AIHW_CONVERTER_SINGLE_PAIR:
    m.scale = aihw_single_pair_scale(max_abs, c->g_max, c->g_min);
    break;
  case AIHW_CONVERTER_N_PAIR:
  case AIHW_CONVERTER_DUAL_PAIR: {
    double total = 0.0, lower = 0.0;
    for (int k = 0; k < c->n_f; ++k)
      total += (double)c->f_lst[k] * range;
    for (int k = 0; k < c->n_f; ++k) {
      m.f[k] = c->f_lst[k];
      m.lower[k] = (float)lower;
      lower += (double)c->f_lst[k] * range;
    }
    m.scale = (1.0f / aihw_fmax_of(max_abs, 1e-7f)) * (float)total;
    break;
  }
  case AIHW_CONVERTER_CUSTOM_PAIR: {
    float max_us = aihw_custom_pair_max_weight_us(c);
    m.scale = max_us / aihw_fmax_of(max_abs, 1e-7f);
    const int len = aihw_custom_pair_list_length(c);
    m.n_table = len;
    /* torch.linspace(-max_us, max_us, len) in float32 (first half counted up from the
     * start, second half down from the end), each divided by the scale. */
    float step = (max_us - -max_us) / (float)(len - 1);
    for (int i = 0; i < len; ++i) {
      float v = i < len / 2 ? -max_us + step * (float)i : max_us - step * (float)(len - i - 1);
      m.w_table[i] = (double)(v / m.scale);
    }
    for (int k = 0; k < c->n_f; ++k)
      m.f[k] = c->f_lst[k];
    for (int l = 0; l < 2 * c->n_f; ++l) {
      for (int i = 0; i < len; ++i)
        m.g_table[l * len + i] = (double)c->g_lst[l * len + i];
      aihw_interp_slopes(m.w_table, m.g_table + l * len, len, m.g_slope + l * len);
    }
    break;
  }
  case AIHW_CONVERTER_SINGLE_DEVICE:
    m.w_min = w_lo;
    m.scale = (1.0f / aihw_fmax_of(w_hi - w_lo, 1e-7f)) * (float)range;
    break;
  }
  return m;
}

/* Slices of weight w: g[s * stride] for s < m->n_slices. */
AIHW_HD static inline void aihw_conductance_to_g(const aihw_conductance_map *m, float w,
                                                 float *g, int64_t stride) {
  switch (m->type) {
  case AIHW_CONVERTER_SINGLE_PAIR:
    aihw_single_pair_to_g(w, m->scale, m->g_max, m->g_min, &g[0], &g[stride]);
    break;
  case AIHW_CONVERTER_N_PAIR:
  case AIHW_CONVERTER_DUAL_PAIR: {
    float w_us = m->scale * w;
    float plus = aihw_fmax_of(w_us, 0.0f), minus = aihw_fmax_of(-w_us, 0.0f);
    for (int k = 0; k < m->n_pairs; ++k) {
      g[(2 * k) * stride] = aihw_n_pair_slice(plus, m->lower[k], m->f[k], m->g_min, m->g_max);
      g[(2 * k + 1) * stride] =
          aihw_n_pair_slice(minus, m->lower[k], m->f[k], m->g_min, m->g_max);
    }
    break;
  }
  case AIHW_CONVERTER_CUSTOM_PAIR:
    for (int l = 0; l < m->n_slices; ++l)
      g[l * stride] = (float)aihw_interp((double)w, m->w_table, m->g_table + l * m->n_table,
                                         m->g_slope + l * m->n_table, m->n_table);
    break;
  case AIHW_CONVERTER_SINGLE_DEVICE: g[0] = (w - m->w_min) * m->scale + m->g_min; break;
  }
}

/* Weight of slices g[s * stride]. */
AIHW_HD static inline float aihw_conductance_to_w(const aihw_conductance_map *m, const float *g,
                                                  int64_t stride) {
  switch (m->type) {
  case AIHW_CONVERTER_SINGLE_PAIR:
    return aihw_single_pair_to_w(g[0], g[stride], m->scale, m->g_min);
  case AIHW_CONVERTER_N_PAIR:
  case AIHW_CONVERTER_DUAL_PAIR:
  case AIHW_CONVERTER_CUSTOM_PAIR: {
    float acc = 0.0f;
    for (int k = 0; k < m->n_pairs; ++k)
      acc += m->f[k] * (g[(2 * k) * stride] - g[(2 * k + 1) * stride]);
    return acc / m->scale;
  }
  case AIHW_CONVERTER_SINGLE_DEVICE: return m->w_min + (g[0] - m->g_min) / m->scale;
  }
  return 0.0f;
}

#endif
