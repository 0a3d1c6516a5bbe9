/* Hardware-aware-training pieces applied after each optimizer step (reference §6.1): weight
 * clipping (§6.2), weight remapping (§6.4) and the weight modifier (§6.3), on row-major
 * weights w[rows][cols] (row = output, the tile's layout).
 *
 * Clip and remap follow aihwkit's C++ WeightClipper / WeightRemapper; the statistics they
 * need (mean, sample std, average channel maximum) are summed in double, row by row and
 * then over rows in order, so they never depend on the thread count (aihwkit sums in
 * float; the clip value differs from aihwkit's by float rounding only).
 *
 * The modifier follows aihwkit's C++ WeightModifier: amax = max|W| (without the last column
 * when copy_last_column; 1 if that is 0) if rel_to_actual_wmax, else assumed_wmax; the
 * type's element formula (physics/modifier_math.h); drop-connect with probability pdrop;
 * the last column restored when copy_last_column. Type NONE is a plain copy (aihwkit does
 * not call its modifier then, so pdrop is ignored). PCM_NOISE, which aihwkit has only on
 * CUDA, is implemented here on the CPU from the same kernel. Every random number comes from
 * the Philox stream (key.seed, key.tile_id, key.op, AIHW_RNG_MODIFIER, round k) at row =
 * weight row and element = column, with one round per kind of draw (aihw_modifier_round),
 * so the result is a pure function of the inputs and the key, whatever the number of
 * threads or the backend. Rows are split over OpenMP threads from 32768 weights on; w_fb
 * may be w itself (in place) but must not otherwise overlap it.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "inference/inference_internal.h"
#include "physics/modifier_math.h"

/* Below this many weights a loop runs on one thread (thread start-up would dominate). */
#define HWA_PARALLEL_MIN_WEIGHTS 32768

static aihw_status check_matrix(const char *fn, const void *w, int64_t rows, int64_t cols) {
  if (w == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: weights are NULL", fn);
  if (rows < 1 || cols < 1)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %lld x %lld weights: both sizes must be >= 1", fn,
                      (long long)rows, (long long)cols);
  /* Philox counters hold the row in 32 bits; the product must fit size_t. */
  if ((uint64_t)rows > UINT32_MAX || (uint64_t)cols > ((uint64_t)UINT32_MAX << 2) ||
      (uint64_t)rows > (uint64_t)SIZE_MAX / sizeof(float) / (uint64_t)cols)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %lld x %lld weights: too large", fn, (long long)rows,
                      (long long)cols);
  return AIHW_OK;
}

static int threaded_for(int64_t rows, int64_t cols) {
  return rows > 1 && rows * cols >= HWA_PARALLEL_MIN_WEIGHTS;
}

/* max_j |w_ij| of every row into row_max[rows], skipping the last `skip_last` columns.
 * A NaN never wins (a > m is false), so the maxima do not depend on the order. */
static void row_abs_max(const float *w, int64_t rows, int64_t cols, int64_t skip_last,
                        float *row_max) {
  const int64_t used = cols - skip_last;
#pragma omp parallel for schedule(static) if (threaded_for(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    const float *row = w + (size_t)i * (size_t)cols;
    float m = 0.0f;
    for (int64_t j = 0; j < used; ++j) {
      float a = fabsf(row[j]);
      m = a > m ? a : m;
    }
    row_max[i] = m;
  }
}

/* W = clip(W, -c, c) for c > 0. */
static void clip_all(float *w, int64_t rows, int64_t cols, float c) {
#pragma omp parallel for schedule(static) if (threaded_for(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    float *row = w + (size_t)i * (size_t)cols;
    for (int64_t j = 0; j < cols; ++j)
      row[j] = aihw_clip_symmetric(row[j], c);
  }
}

/* Sample standard deviation (divisor N - 1) of all weights, two passes in double. */
static float layer_std(const float *w, int64_t rows, int64_t cols, double *row_sum) {
#pragma omp parallel for schedule(static) if (threaded_for(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    const float *row = w + (size_t)i * (size_t)cols;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j)
      s += row[j];
    row_sum[i] = s;
  }
  const double n = (double)rows * (double)cols;
  double total = 0.0;
  for (int64_t i = 0; i < rows; ++i)
    total += row_sum[i];
  const double mean = total / n;
#pragma omp parallel for schedule(static) if (threaded_for(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    const float *row = w + (size_t)i * (size_t)cols;
    double s = 0.0;
    for (int64_t j = 0; j < cols; ++j) {
      double d = row[j] - mean;
      s += d * d;
    }
    row_sum[i] = s;
  }
  total = 0.0;
  for (int64_t i = 0; i < rows; ++i)
    total += row_sum[i];
  return (float)sqrt(total / (n - 1.0));
}

aihw_status aihw_hwa_clip(const aihw_weight_clip_params *p, float *w, int64_t rows,
                          int64_t cols) {
  static const char *fn = "aihw_hwa_clip";
  if (p == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: params are NULL", fn);
  AIHW_TRY(check_matrix(fn, w, rows, cols));
  float c = -1.0f;
  switch (p->type) {
  case AIHW_CLIP_NONE: return AIHW_OK;
  case AIHW_CLIP_FIXED_VALUE: c = p->fixed_value; break;
  case AIHW_CLIP_LAYER_GAUSSIAN: {
    /* One weight has no sample std (aihwkit computes NaN and does not clip). */
    if (rows * cols < 2)
      return AIHW_OK;
    double *row_sum = aihw_alloc_array((size_t)rows, sizeof(double), "clip row sums");
    if (row_sum == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    c = layer_std(w, rows, cols, row_sum) * p->sigma;
    aihw_free(row_sum);
    if (p->fixed_value > 0.0f)
      c = c < p->fixed_value ? c : p->fixed_value;
    break;
  }
  case AIHW_CLIP_AVERAGE_CHANNEL_MAX: {
    float *row_max = aihw_alloc_array((size_t)rows, sizeof(float), "clip row maxima");
    if (row_max == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    row_abs_max(w, rows, cols, 0, row_max);
    double sum = 0.0;
    for (int64_t i = 0; i < rows; ++i)
      sum += row_max[i];
    aihw_free(row_max);
    c = (float)(sum / (double)rows);
    if (p->fixed_value > 0.0f)
      c = c < p->fixed_value ? c : p->fixed_value;
    break;
  }
  default:
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: clip type %d: must be 0..3", fn,
                      (int)p->type);
  }
  if (c > 0.0f)
    clip_all(w, rows, cols, c);
  return AIHW_OK;
}

/* ---- remap -------------------------------------------------------------------------- */

/* Row i of w scaled by factor[i] (multiplied if `multiply`, else divided). */
static void scale_rows(float *w, int64_t rows, int64_t cols, const float *factor,
                       int multiply) {
#pragma omp parallel for schedule(static) if (threaded_for(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    float *row = w + (size_t)i * (size_t)cols;
    const float f = factor[i];
    if (multiply)
      for (int64_t j = 0; j < cols; ++j)
        row[j] *= f;
    else
      for (int64_t j = 0; j < cols; ++j)
        row[j] /= f;
  }
}

/* CHANNELWISE_SYMMETRIC with max_scale_range > 0 (§6.4): new scales m_i s_i capped at
 * min(s) * max_scale_range, W_ij *= s_i / new_s_i (aihwkit's order: w * old / new). */
static void remap_bounded(const aihw_weight_remap_params *p, float *w, int64_t rows,
                          int64_t cols, float *scales, const float *row_max, float *old) {
  float min_scale = FLT_MAX;
  for (int64_t i = 0; i < rows; ++i) {
    old[i] = scales[i];
    min_scale = min_scale > scales[i] ? scales[i] : min_scale;
  }
  min_scale = min_scale > 0.0f ? min_scale : 0.0f;
  if (min_scale > 0.0f && p->max_scale_ref != 0.0f)
    min_scale = min_scale > p->max_scale_ref ? min_scale : p->max_scale_ref;
  for (int64_t i = 0; i < rows; ++i) {
    float s = row_max[i] > 0.0f ? row_max[i] * old[i] : old[i];
    if (min_scale > 0.0f && s / min_scale > p->max_scale_range)
      s = min_scale * p->max_scale_range;
    scales[i] = s;
  }
#pragma omp parallel for schedule(static) if (threaded_for(rows, cols))
  for (int64_t i = 0; i < rows; ++i) {
    float *row = w + (size_t)i * (size_t)cols;
    for (int64_t j = 0; j < cols; ++j)
      row[j] = row[j] * old[i] / scales[i];
  }
}

aihw_status aihw_hwa_remap(const aihw_weight_remap_params *p, float *w, int64_t rows,
                           int64_t cols, float *scales) {
  static const char *fn = "aihw_hwa_remap";
  if (p == NULL || scales == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      p == NULL ? "params" : "scales");
  AIHW_TRY(check_matrix(fn, w, rows, cols));
  if (p->type == AIHW_REMAP_NONE)
    return AIHW_OK;
  if (p->type != AIHW_REMAP_LAYERWISE_SYMMETRIC && p->type != AIHW_REMAP_CHANNELWISE_SYMMETRIC)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: remap type %d: must be 0..2", fn,
                      (int)p->type);
  if (!(p->remapped_wmax > 0.0f) || !isfinite(p->remapped_wmax))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: remapped_wmax = %g: must be > 0", fn,
                      (double)p->remapped_wmax);
  const int bounded = p->type == AIHW_REMAP_CHANNELWISE_SYMMETRIC && p->max_scale_range > 0.0f;
  if (bounded && p->remapped_wmax != 1.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: remapped_wmax = %g: must be 1 when max_scale_range > 0", fn,
                      (double)p->remapped_wmax);
  for (int64_t i = 0; i < rows; ++i)
    if (!isfinite(scales[i]) || scales[i] == 0.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s: scales[%lld] = %g: must be finite and non-zero", fn, (long long)i,
                        (double)scales[i]);

  float *buffer = aihw_alloc_array((size_t)rows, 2 * sizeof(float), "remap row maxima");
  if (buffer == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  float *row_max = buffer, *factor = buffer + rows;
  row_abs_max(w, rows, cols, 0, row_max);
  if (p->type == AIHW_REMAP_LAYERWISE_SYMMETRIC) {
    /* m = max|W| / remapped_wmax; s *= m, W /= m (if m > 0). */
    float m = 0.0f;
    for (int64_t i = 0; i < rows; ++i)
      m = row_max[i] > m ? row_max[i] : m;
    m /= p->remapped_wmax;
    if (m > 0.0f) {
      for (int64_t i = 0; i < rows; ++i) {
        scales[i] *= m;
        factor[i] = m;
      }
      scale_rows(w, rows, cols, factor, 0);
    }
  } else if (!bounded) {
    /* m_i = max_j |W_ij| / remapped_wmax; s_i *= m_i, W_i. /= m_i (m_i = 1 if 0). */
    for (int64_t i = 0; i < rows; ++i) {
      float m = row_max[i];
      if (p->remapped_wmax != 1.0f)
        m /= p->remapped_wmax;
      factor[i] = m > 0.0f ? m : 1.0f;
      scales[i] *= factor[i];
    }
    scale_rows(w, rows, cols, factor, 0);
  } else {
    remap_bounded(p, w, rows, cols, scales, row_max, factor);
  }
  aihw_free(buffer);
  return AIHW_OK;
}

/* ---- modifier ----------------------------------------------------------------------- */

/* Per-thread scratch: one row of random numbers per sub-stream the call reads. */
typedef struct draw_rows {
  float *row[AIHW_MODIFIER_ROUND_COUNT]; /* NULL where not needed */
} draw_rows;

static int round_is_normal(int k) {
  return k == AIHW_MODIFIER_ROUND_NORMAL || k == AIHW_MODIFIER_ROUND_PCM_DRIFT ||
         k == AIHW_MODIFIER_ROUND_PCM_READ;
}

/* The type's step over one row: out[j] for j < used from in[j]. The common types have their
 * own loop around the physics function (a per-element switch and draw gathering cost more
 * than the arithmetic); every other case goes through aihw_modifier_apply. */
static void modify_elements(const aihw_modifier_rule *r, const float *in, float *out,
                            int64_t used, const draw_rows *d) {
  const float *xi = d->row[AIHW_MODIFIER_ROUND_NORMAL];
  const float *u = d->row[AIHW_MODIFIER_ROUND_STO_ROUND];
  if (!r->active) {
    if (out != in)
      memcpy(out, in, (size_t)used * sizeof(float));
    return;
  }
  switch (r->type) {
  case AIHW_MODIFIER_ADD_NORMAL:
    for (int64_t j = 0; j < used; ++j)
      out[j] = aihw_modifier_add_normal(r, in[j], xi[j]);
    return;
  case AIHW_MODIFIER_MULT_NORMAL:
    for (int64_t j = 0; j < used; ++j)
      out[j] = aihw_modifier_mult_normal(r, in[j], xi[j]);
    return;
  case AIHW_MODIFIER_POLY:
    for (int64_t j = 0; j < used; ++j)
      out[j] = aihw_modifier_poly(r, in[j], xi[j]);
    return;
  case AIHW_MODIFIER_PROG_NOISE:
    for (int64_t j = 0; j < used; ++j)
      out[j] = aihw_modifier_prog_noise(r, in[j], xi[j]);
    return;
  case AIHW_MODIFIER_DISCRETIZE:
    if (u == NULL)
      for (int64_t j = 0; j < used; ++j)
        out[j] = aihw_modifier_discretized(r, in[j], 0.0f);
    else
      for (int64_t j = 0; j < used; ++j)
        out[j] = aihw_modifier_discretized(r, in[j], u[j]);
    return;
  default: break;
  }
  aihw_modifier_draws draws;
  memset(&draws, 0, sizeof draws);
#define DRAW(k) (d->row[k] != NULL ? d->row[k][j] : 0.0f)
  for (int64_t j = 0; j < used; ++j) {
    draws.xi = DRAW(AIHW_MODIFIER_ROUND_NORMAL);
    draws.u_round = DRAW(AIHW_MODIFIER_ROUND_STO_ROUND);
    draws.xi_drift = DRAW(AIHW_MODIFIER_ROUND_PCM_DRIFT);
    draws.xi_read = DRAW(AIHW_MODIFIER_ROUND_PCM_READ);
    draws.u_reset = DRAW(AIHW_MODIFIER_ROUND_PCM_RESET);
    draws.u_gmax = DRAW(AIHW_MODIFIER_ROUND_PCM_GMAX);
    draws.u_gmax_dir = DRAW(AIHW_MODIFIER_ROUND_PCM_GMAX_DIR);
    draws.u_random = DRAW(AIHW_MODIFIER_ROUND_PCM_RANDOM);
    draws.u_random_value = DRAW(AIHW_MODIFIER_ROUND_PCM_RANDOM_VALUE);
    out[j] = aihw_modifier_apply(r, in[j], &draws);
  }
#undef DRAW
}

/* Modifies one row: out[j] for j < used from in[j], then drop-connect; columns >= used
 * copied unchanged. */
static void modify_row(const aihw_modifier_rule *rule, float pdrop, const aihw_stream_key *key,
                       unsigned needed, uint32_t row_index, const float *in, float *out,
                       int64_t cols, int64_t used, const draw_rows *d) {
  for (int k = 0; k < AIHW_MODIFIER_ROUND_COUNT; ++k) {
    if (!(needed & (1u << k)))
      continue;
    aihw_rng_stream s =
        aihw_rng_stream_make(key->seed, key->tile_id, key->op, AIHW_RNG_MODIFIER, (uint32_t)k);
    if (round_is_normal(k))
      aihw_rng_fill_normal(&s, row_index, 0, d->row[k], (size_t)used);
    else
      aihw_rng_fill_uniform(&s, row_index, 0, d->row[k], (size_t)used);
  }
  modify_elements(rule, in, out, used, d);
  if (pdrop > 0.0f) {
    const float *u = d->row[AIHW_MODIFIER_ROUND_DROP];
    for (int64_t j = 0; j < used; ++j)
      out[j] = aihw_modifier_drop(out[j], u[j], pdrop);
  }
  if (out != in)
    for (int64_t j = used; j < cols; ++j)
      out[j] = in[j];
}

/* Checks the fields the modifier reads (the tile validated them; direct callers may not). */
static aihw_status check_modifier(const char *fn, const aihw_weight_modifier_params *p) {
  if ((int)p->type < 0 || (int)p->type > (int)AIHW_MODIFIER_DROP_CONNECT)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: modifier type %d: must be 0..%d", fn,
                      (int)p->type, (int)AIHW_MODIFIER_DROP_CONNECT);
  if (p->per_batch_sample)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s: per_batch_sample = 1 is not supported (aihwkit rejects it too)", fn);
  if (!(p->pdrop >= 0.0f && p->pdrop <= 1.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: pdrop = %g: must be in [0, 1]", fn,
                      (double)p->pdrop);
  if (!p->rel_to_actual_wmax && !(p->assumed_wmax > 0.0f && isfinite(p->assumed_wmax)))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: assumed_wmax = %g: must be > 0", fn,
                      (double)p->assumed_wmax);
  if (p->n_coeffs < 0 || p->n_coeffs > AIHW_INFERENCE_MAX_COEFFS)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: n_coeffs = %d: must be 0..%d", fn,
                      p->n_coeffs, AIHW_INFERENCE_MAX_COEFFS);
  if ((p->type == AIHW_MODIFIER_PROG_NOISE || p->type == AIHW_MODIFIER_PCM_NOISE) &&
      !(p->g_max > 0.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: g_max = %g: must be > 0", fn,
                      (double)p->g_max);
  if (p->type == AIHW_MODIFIER_PCM_NOISE && !(p->pcm_t0 > 0.0f && p->pcm_t_inference >= 0.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: pcm_t0 = %g, pcm_t_inference = %g: must be > 0 and >= 0", fn,
                      (double)p->pcm_t0, (double)p->pcm_t_inference);
  return AIHW_OK;
}

aihw_status aihw_hwa_modify(const aihw_weight_modifier_params *p, const float *w, int64_t rows,
                            int64_t cols, aihw_stream_key key, float *w_fb) {
  static const char *fn = "aihw_hwa_modify";
  if (p == NULL || w_fb == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      p == NULL ? "params" : "w_fb");
  AIHW_TRY(check_matrix(fn, w, rows, cols));
  AIHW_TRY(check_modifier(fn, p));
  const size_t n = (size_t)rows * (size_t)cols;
  if (p->type == AIHW_MODIFIER_NONE) {
    if (w_fb != w)
      memmove(w_fb, w, n * sizeof(float));
    return AIHW_OK;
  }

  /* The bias column is left alone (and out of amax) with copy_last_column. */
  const int64_t used = p->copy_last_column ? cols - 1 : cols;
  float amax = p->assumed_wmax;
  if (p->rel_to_actual_wmax && p->type != AIHW_MODIFIER_COPY) {
    float *row_max = aihw_alloc_array((size_t)rows, sizeof(float), "modifier row maxima");
    if (row_max == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    row_abs_max(w, rows, cols, cols - used, row_max);
    amax = 0.0f;
    for (int64_t i = 0; i < rows; ++i)
      amax = row_max[i] > amax ? row_max[i] : amax;
    aihw_free(row_max);
    amax = amax > 0.0f ? amax : 1.0f;
  }
  const aihw_modifier_rule rule = aihw_modifier_rule_make(p, amax);
  const float pdrop = p->pdrop;
  unsigned needed = aihw_modifier_rounds_needed(&rule);
  if (pdrop > 0.0f)
    needed |= 1u << AIHW_MODIFIER_ROUND_DROP;
  if ((needed == 0u && !rule.active) || used == 0) {
    if (w_fb != w)
      memmove(w_fb, w, n * sizeof(float));
    return AIHW_OK;
  }

  int n_rounds = 0;
  for (int k = 0; k < AIHW_MODIFIER_ROUND_COUNT; ++k)
    n_rounds += (needed & (1u << k)) != 0u;
  const int threaded = threaded_for(rows, cols);
#ifdef _OPENMP
  const int n_threads = threaded ? omp_get_max_threads() : 1;
#else
  const int n_threads = 1;
#endif
  /* Rows of random numbers, padded to a multiple of 16 floats (64 bytes) per row. */
  const size_t stride = ((size_t)used + 15u) & ~(size_t)15u;
  float *scratch = NULL;
  if (n_rounds > 0) {
    scratch = aihw_alloc_array((size_t)n_threads * (size_t)n_rounds, stride * sizeof(float),
                               "modifier random numbers");
    if (scratch == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
  }

#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t i = 0; i < rows; ++i) {
#ifdef _OPENMP
    const int thread = omp_get_thread_num();
#else
    const int thread = 0;
#endif
    draw_rows d;
    float *next = scratch != NULL ? scratch + (size_t)thread * (size_t)n_rounds * stride : NULL;
    for (int k = 0; k < AIHW_MODIFIER_ROUND_COUNT; ++k) {
      d.row[k] = NULL;
      if (needed & (1u << k)) {
        d.row[k] = next;
        next += stride;
      }
    }
    const size_t offset = (size_t)i * (size_t)cols;
    modify_row(&rule, pdrop, &key, needed, (uint32_t)i, w + offset, w_fb + offset, cols, used,
               &d);
  }
  aihw_free(scratch);
  return AIHW_OK;
}
