/* Weight update of a tile (reference §4): the exact (floating-point) update and the
 * pulsed stochastic update through a device model.
 *
 * Pulsed update of one call (batch B):
 * 1. Per sample b (threads over samples): update management (§4.2) gives the pulse
 *    probability scales A (d) and B (x) and the train length BL_b; the probabilities
 *    are quantised (res, §4.3) and turned into bit-packed pulse trains, one bit per time
 *    slot, from uniforms of stream (op = counter + b, PULSE_X / PULSE_D, row = slot).
 *    MEAN_COUNT and DETERMINISTIC_IMPLICIT (§4.5) give signed integer counts instead.
 * 2. Per weight row i (threads over rows), samples in order: the coincidences of the
 *    row, n_ij = popcount(x_bits_j & d_bits_i), each applied as n_ij single device steps
 *    with their own cycle-to-cycle noise and clipping (physics/device_math.h). Normals
 *    come from stream (op = counter + b, STEP_NOISE, round 0, row i), element = the
 *    step's position among the row's steps of that sample (columns in order), so they
 *    are generated in bulk and never depend on the thread count.
 * 3. ConstantStep (the only model whose step does not depend on w) is aggregated over
 *    the batch where the bounds are out of reach (row_constant_step: except on an event
 *    of probability < 5e-19 per device and call no step could be clipped, and then the U
 *    up and D down steps sum to U su + su sigma sqrt(U) xi1 - D sd - sd sigma sqrt(D) xi2,
 *    the law of the sum of the single steps). Other devices of the row go through step 2.
 *    (docs/physics.md, "Aggregated steps".)
 * 4. Write noise: devices that received a step get fresh visible weights.
 * Each sample consumes one op-counter value.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend/cpu/gemm.h"
#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/finite.h"
#include "core/rng.h"
#include "physics/device_math.h"
#include "physics/periphery_math.h"
#include "physics/update_math.h"
#include "tile/tile_internal.h"

int aihw_update_reference_path = 0;
int aihw_update_sparse_mode = 0;

int aihw_tile_is_pulsed(const aihw_tile *tile) {
  return tile->devices != NULL && tile->config.update.pulse_type != AIHW_PULSE_NONE &&
         tile->config.update.pulse_type != AIHW_PULSE_NONE_WITH_DEVICE;
}

/* ---------------------------------------------------------------------------------- */

void aihw_tile_apply_write_noise(aihw_tile *tile, uint64_t op, const unsigned char *mask,
                                 float *scratch) {
  aihw_device_state *s = tile->devices;
  if (s == NULL || s->persistent == NULL)
    return;
  const float sigma = s->params.write_noise_std * s->params.dw_min;
  const int64_t cols = s->cols;
  aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                            AIHW_RNG_WRITE_NOISE, tile->rng_noise_round);
  for (int64_t i = 0; i < s->rows; ++i) {
    const unsigned char *m = mask ? mask + i * cols : NULL;
    aihw_rng_fill_normal(&st, (uint32_t)i, 0, scratch, (size_t)cols);
    float *w = tile->weights + i * cols;
    const float *wp = s->persistent + i * cols;
    for (int64_t j = 0; j < cols; ++j)
      if (m == NULL || m[j])
        w[j] = wp[j] + sigma * scratch[j];
  }
}

static void clip_row_to_bounds(const aihw_device_state *s, float *w, int64_t i) {
  const int64_t cols = s->cols;
  const float *hi = s->max_bound + i * cols, *lo = s->min_bound + i * cols;
  for (int64_t j = 0; j < cols; ++j) {
    float v = w[j] > hi[j] ? hi[j] : w[j];
    w[j] = v > lo[j] ? v : lo[j];
  }
}

/* The array the device physics acts on: the persistent weights under write noise. */
static float *device_weights(aihw_tile *tile) {
  return tile->devices->persistent != NULL ? tile->devices->persistent : tile->weights;
}

void aihw_tile_clip_to_device_bounds(aihw_tile *tile) {
  aihw_device_state *s = tile->devices;
  if (s == NULL)
    return;
  float *w = device_weights(tile);
  for (int64_t i = 0; i < s->rows; ++i)
    clip_row_to_bounds(s, w + i * s->cols, i);
}

/* ---------------------------------------------------------------------------------- */
/* Exact update (§4.6): W -= (lr / bwd_alpha) d^T x */

/* The exact update has no device bounds to stop it (IdealDevice, floating-point tiles):
 * finite but huge inputs (|lr d x| near FLT_MAX) would make weights infinite, and NaN
 * after the next update. Refused (weights unchanged) when the bound max|w| + lr batch
 * max|d| max|x| on every updated weight reaches half of FLT_MAX (half: room for the
 * rounding of the sums), computed in double, where it cannot overflow. */
static aihw_status check_exact_range(const aihw_tile *tile, const float *x, int64_t batch,
                                     const float *d, float lr, const char *fn) {
  const float max_x = aihw_max_abs(x, batch * tile->in_size);
  const float max_d = aihw_max_abs(d, batch * tile->out_size);
  const float max_w = aihw_max_abs(tile->weights, tile->out_size * tile->cols);
  const double step = (double)lr * (double)batch * (double)max_d * (double)max_x;
  if ((double)max_w + step < 0.5 * (double)FLT_MAX)
    return AIHW_OK;
  return aihw_error(AIHW_ERR_NOT_FINITE,
                    "%s: the update would overflow float: lr x batch x max|d| x max|x| = %g "
                    "on weights up to %g (the exact update has no device bounds)",
                    fn, step, (double)max_w);
}

static aihw_status exact_update(aihw_tile *tile, const float *x, int64_t batch,
                                const float *d, float lr) {
  const int64_t rows = tile->out_size, cols = tile->cols, in = tile->in_size;
  const float *u = x;
  if (cols != in) { /* append the analog-bias input 1.0 */
    float *ux = aihw_workspace_get(&tile->workspace, (size_t)(batch * cols) * sizeof(float));
    if (ux == NULL)
      return aihw_last_status();
    for (int64_t b = 0; b < batch; ++b) {
      memcpy(ux + b * cols, x + b * in, (size_t)in * sizeof(float));
      ux[b * cols + in] = 1.0f;
    }
    u = ux;
  }
  if (tile->out_scales != NULL) { /* logical weights s_i W_ij get plain SGD: d / s */
    float *ds = aihw_workspace_get(&tile->aux, (size_t)(batch * rows) * sizeof(float));
    if (ds == NULL)
      return aihw_last_status();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < rows; ++i)
        ds[b * rows + i] = d[b * rows + i] / tile->out_scales[i];
    d = ds;
  }
  const float scale = -lr / tile->backward_alpha;
  /* W += scale d^T u (one product over the batch; blocked for thread independence) */
  aihw_sgemm(1, 0, rows, cols, batch, scale, d, rows, u, cols, 1.0f, tile->weights, cols);
  if (tile->devices != NULL &&
      tile->config.update.pulse_type == AIHW_PULSE_NONE_WITH_DEVICE) {
    if (tile->devices->persistent != NULL) /* bounds act on the true weights */
      memcpy(tile->devices->persistent, tile->weights,
             (size_t)(rows * cols) * sizeof(float));
    aihw_tile_clip_to_device_bounds(tile);
    if (tile->devices->persistent != NULL)
      memcpy(tile->weights, tile->devices->persistent,
             (size_t)(rows * cols) * sizeof(float));
  }
  return AIHW_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Update management and pulse trains (§4.2–4.5) */

/* Update management (plan per sample, probability resolution): physics/update_math.h. */
typedef aihw_sample_plan sample_plan;
#define plan_sample aihw_plan_sample
#define probability_res aihw_probability_res

/* Everything the row loop needs about the trains of one call. */
typedef struct update_plan {
  int64_t batch, rows, cols;
  int words;           /* 32-bit words per pulse train */
  int dense;           /* MEAN_COUNT / DETERMINISTIC_IMPLICIT: counts, not trains */
  sample_plan *samples;
  uint32_t *x_bits;    /* [batch][cols][words] */
  uint32_t *d_bits;    /* [batch][rows][words] */
  signed char *x_sign; /* [batch][cols]: sign of x_j if it fires at all, else 0 */
  /* The firing x columns of every sample, packed (CSR): sample b's are entries
   * x_start[b] .. x_start[b] + x_nfire[b] - 1, ascending, each with its train and sign. */
  int32_t *x_list;     /* [<= batch cols] column numbers */
  int32_t *x_nfire;    /* [batch] */
  int32_t *x_start;    /* [batch] */
  uint32_t *x_cbits;   /* [entries][words] (bit trains only) */
  signed char *x_csign; /* [entries] */
  int32_t *row_start;  /* [rows + 1]: row i's firing samples are */
  int32_t *row_samples; /* row_samples[row_start[i] .. row_start[i + 1] - 1), ascending:
                          the samples b with a train (BL > 0) whose d_i fires; the last
                          slot of each row is spare (the branch-free fill writes there) */
  uint32_t *d_rbits;   /* [entries][words]: d_i's train of each such entry (bit trains) */
  signed char *d_rsign; /* [entries]: its sign */
  signed char *d_sign; /* [batch][rows] */
  float *x_count;      /* dense: [batch][cols] signed (MEAN_COUNT: counts; IMPLICIT: p) */
  float *d_count;      /* dense: [batch][rows] */
  aihw_pulse_type type;
  uint32_t swar[4];    /* popcount masks 0x55.., 0x33.., 0x0f.., 0x01010101 */
  int sign_filter;     /* OneSided views: aihw_tile.update_sign_filter */
} update_plan;

/* OneSided sign filter (aihw_tile.update_sign_filter) of one signed count: +1 keeps the
 * up-step counts (< 0), -1 keeps the down-step ones (> 0) as up steps. */
static inline int filter_count(int filter, int c) {
  return filter > 0 ? (c < 0 ? c : 0) : (c > 0 ? -c : 0);
}

/* Pulse trains of one vector v (length n) with probability scale `scale`: bits[n][words],
 * sign[n]. Uniforms: stream (op, purpose, round 0), row = time slot, element = index. */
static void make_trains(const aihw_tile *tile, const aihw_update_params *up, uint64_t op,
                        uint32_t purpose, const float *v, int64_t n, int64_t n_real,
                        float scale, int bl, int words, uint32_t *bits, signed char *sign,
                        float *prob, float *uni) {
  const float res = probability_res(up, up->res);
  if (up->sto_round && res > 0.0f) {
    aihw_rng_stream s = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                             AIHW_RNG_PROBABILITY_ROUND, purpose);
    aihw_rng_fill_uniform(&s, 0, 0, uni, (size_t)n);
    for (int64_t j = 0; j < n; ++j) {
      const float value = j < n_real ? v[j] : 1.0f; /* analog-bias input */
      prob[j] = aihw_discretize(fabsf(value) * scale, res, 1, uni[j]);
    }
  } else {
    for (int64_t j = 0; j < n_real; ++j)
      prob[j] = aihw_discretize(fabsf(v[j]) * scale, res, 0, 0.5f);
    for (int64_t j = n_real; j < n; ++j) /* analog-bias input 1 */
      prob[j] = aihw_discretize(scale, res, 0, 0.5f);
  }
  aihw_rng_stream s =
      aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op, purpose, 0);
  /* Few elements can fire (one-hot inputs of realistic writes and reads, sparse images):
   * their uniforms block by block; an element of probability 0 never fires whatever its
   * uniform, so the bits are those of the full fill. */
  int64_t n_live = 0;
  for (int64_t j = 0; j < n; ++j)
    n_live += prob[j] > 0.0f;
  const int by_element = aihw_update_sparse_mode != 0 ? aihw_update_sparse_mode == 2
                                                     : n_live * 16 < n;
  if (by_element) {
    memset(bits, 0, (size_t)(n * words) * sizeof(uint32_t));
    for (int64_t j = 0; j < n; ++j) {
      if (!(prob[j] > 0.0f))
        continue;
      float u[4];
      for (int t = 0; t < bl; ++t) {
        aihw_rng_uniform4(&s, (uint32_t)t, (uint32_t)(j >> 2), u);
        if (prob[j] > u[j & 3])
          bits[j * words + (t >> 5)] |= 1u << (t & 31);
      }
    }
  } else if (words == 1) { /* branch-free, vectorised: bit t of bits[j] */
    memset(bits, 0, (size_t)n * sizeof(uint32_t));
    for (int t = 0; t < bl; ++t) {
      aihw_rng_fill_uniform(&s, (uint32_t)t, 0, uni, (size_t)n);
      for (int64_t j = 0; j < n; ++j)
        bits[j] |= (uint32_t)(prob[j] > uni[j]) << t;
    }
  } else {
    memset(bits, 0, (size_t)(n * words) * sizeof(uint32_t));
    for (int t = 0; t < bl; ++t) {
      aihw_rng_fill_uniform(&s, (uint32_t)t, 0, uni, (size_t)n);
      const uint32_t bit = 1u << (t & 31);
      uint32_t *word = bits + (t >> 5);
      for (int64_t j = 0; j < n; ++j)
        if (prob[j] > uni[j])
          word[j * words] |= bit;
    }
  }
  /* The sign of a firing element; 0 for one that never fired, so that it takes part in
   * no coincidence and the row loops skip it (with small gradients most d rows fire
   * nothing). A probability of 0 never fires (no uniform is below 0). */
  if (words == 1) { /* branch-free, vectorised */
    for (int64_t j = 0; j < n_real; ++j)
      sign[j] = (signed char)((int)(bits[j] != 0) * (2 * (int)(v[j] > 0.0f) - 1));
  } else {
    for (int64_t j = 0; j < n_real; ++j) {
      uint32_t any = 0;
      for (int w = 0; w < words; ++w)
        any |= bits[j * words + w];
      sign[j] = any == 0 ? 0 : (v[j] > 0.0f ? 1 : -1);
    }
  }
  for (int64_t j = n_real; j < n; ++j) { /* analog-bias input 1 */
    uint32_t any = 0;
    for (int w = 0; w < words; ++w)
      any |= bits[j * words + w];
    sign[j] = any != 0;
  }
}

/* Dense counts (§4.5) of a vector: MEAN_COUNT gives clip(rint(BL pp), 0, BL); IMPLICIT
 * gives clip(discretize(pp, res_implicit), 0, 1); both signed by the value. */
static void make_dense(const aihw_update_params *up, const float *v, int64_t n,
                       int64_t n_real, float scale, int bl, float res_implicit,
                       float *count, signed char *sign) {
  const float res = probability_res(up, up->res);
  for (int64_t j = 0; j < n; ++j) {
    const float value = j < n_real ? v[j] : 1.0f;
    float c;
    if (up->pulse_type == AIHW_PULSE_MEAN_COUNT) {
      float pp = aihw_discretize(fabsf(value) * scale, res, 0, 0.5f);
      c = rintf((float)bl * pp);
      c = c < 0.0f ? 0.0f : (c > (float)bl ? (float)bl : c);
    } else {
      float pp = aihw_discretize(fabsf(value) * scale, probability_res(up, res_implicit), 0,
                                 0.5f);
      c = pp < 0.0f ? 0.0f : (pp > 1.0f ? 1.0f : pp);
    }
    count[j] = value < 0.0f ? -c : c;
    sign[j] = c > 0.0f ? (value > 0.0f ? 1 : -1) : 0;
  }
}

/* max |v_j| of one sample (finite inputs), at least 1 with an analog-bias input. */
static float row_abs_max_f(const float *v, int64_t n, int with_bias) {
  const float a = aihw_max_abs(v, n);
  return with_bias && a < 1.0f ? 1.0f : a;
}

/* Signed coincidence counts of sample b on row i for every column (> 0: down steps), for
 * the columns with active[j] != 0 (active NULL: all; inactive columns get 0). Branch-free
 * so that the loop runs at one popcount per device. */
static void row_counts(const update_plan *pl, int64_t b, int64_t i, const unsigned char *active,
                       int *count) {
  const int64_t cols = pl->cols;
  const int ds = pl->d_sign[b * pl->rows + i];
  const signed char *xs = pl->x_sign + b * cols;
  if (!pl->dense) {
    const int words = pl->words;
    const uint32_t *db = pl->d_bits + (b * pl->rows + i) * words;
    const uint32_t *xb = pl->x_bits + b * cols * words;
    if (words == 1) {
      /* SWAR popcount: plain integer operations that gcc vectorises (x86 has no SIMD
       * popcount before AVX-512), several times faster than one popcnt per device. */
      /* The masks come from the plan, not literals: gcc would recognise the literal
       * pattern and turn it back into one scalar popcnt per device. */
      const uint32_t d0 = db[0], m1 = pl->swar[0], m2 = pl->swar[1], m4 = pl->swar[2];
      const uint32_t h = pl->swar[3];
      for (int64_t j = 0; j < cols; ++j) {
        uint32_t v = xb[j] & d0;
        v = v - ((v >> 1) & m1);
        v = (v & m2) + ((v >> 2) & m2);
        v = (v + (v >> 4)) & m4;
        const int n = (int)((v * h) >> 24);
        count[j] = n * (int)xs[j] * ds;
      }
    } else {
      for (int64_t j = 0; j < cols; ++j) {
        int n = 0;
        for (int w = 0; w < words; ++w)
          n += __builtin_popcount(xb[j * words + w] & db[w]);
        count[j] = n * (int)xs[j] * ds;
      }
    }
  } else {
    const float dc = pl->d_count[b * pl->rows + i];
    const float *xc = pl->x_count + b * cols;
    const float bl = (float)pl->samples[b].bl;
    if (pl->type == AIHW_PULSE_MEAN_COUNT)
      for (int64_t j = 0; j < cols; ++j)
        count[j] = (int)rintf((dc / bl) * xc[j]);
    else
      for (int64_t j = 0; j < cols; ++j)
        count[j] = (int)rintf(bl * dc * xc[j]);
  }
  if (active != NULL)
    for (int64_t j = 0; j < cols; ++j)
      count[j] = active[j] ? count[j] : 0;
  if (pl->sign_filter != 0)
    for (int64_t j = 0; j < cols; ++j)
      count[j] = filter_count(pl->sign_filter, count[j]);
}

/* ---------------------------------------------------------------------------------- */
/* Applying coincidences (§4.4) */

typedef struct row_context {
  const update_plan *pl;
  const aihw_tile *tile;
  aihw_step_rule rule;
  float *w;               /* device weights (persistent under write noise) */
  uint64_t op;            /* op counter of sample 0 of this call */
  int *count;             /* scratch [cols] */
  int32_t *list;          /* scratch [cols]: active columns */
  int32_t *sample_list;   /* scratch [cols]: active columns of one sample */
  float *xi;              /* scratch normals */
  size_t xi_capacity;
  unsigned char *touched; /* [rows][cols] for write noise, or NULL */
  int64_t *pulse_counts;  /* [rows][cols][2] or NULL */
} row_context;

static inline aihw_step_device device_at(const aihw_device_state *s, int64_t k) {
  aihw_step_device d;
  d.max_bound = s->max_bound[k];
  d.min_bound = s->min_bound[k];
  d.scale_up = s->scale_up[k];
  d.scale_down = s->scale_down[k];
  d.extra[0] = s->extra[0] ? s->extra[0][k] : 0.0f;
  d.extra[1] = s->extra[1] ? s->extra[1][k] : 0.0f;
  d.extra[2] = s->extra[2] ? s->extra[2][k] : 0.0f;
  return d;
}

/* One step of a model known at compile time at the call site (the switch folds away). */
static inline __attribute__((always_inline)) float step_as(aihw_device_type type,
                                                           const aihw_step_rule *r,
                                                           const aihw_step_device *d, float w,
                                                           int up, float xi) {
  switch (type) {
  case AIHW_DEVICE_CONSTANT_STEP: return aihw_constant_step(r, d, w, up, xi);
  case AIHW_DEVICE_LINEAR_STEP:
  case AIHW_DEVICE_SOFT_BOUNDS:
  case AIHW_DEVICE_SOFT_BOUNDS_PMAX: return aihw_linear_step(r, d, w, up, xi);
  case AIHW_DEVICE_EXP_STEP: return aihw_exp_step(r, d, w, up, xi);
  case AIHW_DEVICE_POW_STEP: return aihw_pow_step(r, d, w, up, xi);
  case AIHW_DEVICE_POW_STEP_REFERENCE: return aihw_pow_step_reference(r, d, w, up, xi);
  case AIHW_DEVICE_PIECEWISE_STEP: return aihw_piecewise_step(r, d, w, up, xi);
  case AIHW_DEVICE_SOFT_BOUNDS_REFERENCE:
    return aihw_soft_bounds_reference_step(r, d, w, up, xi);
  default: return aihw_device_step(r, d, w, up, xi);
  }
}

/* Applies counts[0..n) of one (sample, row) to the columns list[k] (list NULL: column k):
 * |count| single steps per device, consuming the row's normals in column order (xi NULL:
 * noise-free). */
static inline __attribute__((always_inline)) void apply_counts(aihw_device_type type,
                                                               row_context *rc, int64_t i,
                                                               const int32_t *list,
                                                               int64_t n_list,
                                                               const int *count,
                                                               const float *xi) {
  const aihw_device_state *s = rc->tile->devices;
  const int64_t cols = rc->pl->cols;
  for (int64_t e = 0; e < n_list; ++e) {
    const int c = count[e];
    if (c == 0)
      continue;
    const int64_t j = list != NULL ? list[e] : e;
    const int up = c < 0; /* positive d x: down steps */
    const int n = c < 0 ? -c : c;
    const int64_t k = i * cols + j;
    const aihw_step_device dev = device_at(s, k);
    float w = rc->w[k];
    if (xi != NULL) {
      for (int t = 0; t < n; ++t)
        w = step_as(type, &rc->rule, &dev, w, up, xi[t]);
      xi += n;
    } else {
      for (int t = 0; t < n; ++t)
        w = step_as(type, &rc->rule, &dev, w, up, 0.0f);
    }
    rc->w[k] = w;
    if (rc->touched)
      rc->touched[k] = 1;
    if (rc->pulse_counts)
      rc->pulse_counts[2 * k + (up ? 0 : 1)] += n;
  }
}

static void apply_counts_dispatch(row_context *rc, int64_t i, const int32_t *list,
                                  int64_t n_list, const int *count, const float *xi) {
#define AIHW_APPLY(T) apply_counts(T, rc, i, list, n_list, count, xi)
  switch (rc->rule.type) {
  case AIHW_DEVICE_CONSTANT_STEP: AIHW_APPLY(AIHW_DEVICE_CONSTANT_STEP); break;
  case AIHW_DEVICE_LINEAR_STEP:
  case AIHW_DEVICE_SOFT_BOUNDS:
  case AIHW_DEVICE_SOFT_BOUNDS_PMAX: AIHW_APPLY(AIHW_DEVICE_LINEAR_STEP); break;
  case AIHW_DEVICE_EXP_STEP: AIHW_APPLY(AIHW_DEVICE_EXP_STEP); break;
  case AIHW_DEVICE_POW_STEP: AIHW_APPLY(AIHW_DEVICE_POW_STEP); break;
  case AIHW_DEVICE_POW_STEP_REFERENCE: AIHW_APPLY(AIHW_DEVICE_POW_STEP_REFERENCE); break;
  case AIHW_DEVICE_PIECEWISE_STEP: AIHW_APPLY(AIHW_DEVICE_PIECEWISE_STEP); break;
  case AIHW_DEVICE_SOFT_BOUNDS_REFERENCE: AIHW_APPLY(AIHW_DEVICE_SOFT_BOUNDS_REFERENCE); break;
  default: AIHW_APPLY(AIHW_DEVICE_IDEAL); break;
  }
#undef AIHW_APPLY
}

/* Signed count of (b, i, j), for a sparse column list. */
static inline int count_at_raw(const update_plan *pl, int64_t b, int64_t i, int64_t j) {
  if (!pl->dense) {
    const int words = pl->words;
    const uint32_t *db = pl->d_bits + (b * pl->rows + i) * words;
    const uint32_t *xb = pl->x_bits + (b * pl->cols + j) * words;
    int n = 0;
    for (int w = 0; w < words; ++w)
      n += __builtin_popcount(xb[w] & db[w]);
    return n * (int)pl->x_sign[b * pl->cols + j] * (int)pl->d_sign[b * pl->rows + i];
  }
  const float dc = pl->d_count[b * pl->rows + i], xc = pl->x_count[b * pl->cols + j];
  const float bl = (float)pl->samples[b].bl;
  return pl->type == AIHW_PULSE_MEAN_COUNT ? (int)rintf((dc / bl) * xc)
                                           : (int)rintf(bl * dc * xc);
}

static inline int count_at(const update_plan *pl, int64_t b, int64_t i, int64_t j) {
  const int c = count_at_raw(pl, b, i, j);
  return pl->sign_filter != 0 ? filter_count(pl->sign_filter, c) : c;
}

/* Signed count of x entry ex (packed list) and row entry ed (row_samples), for sample b,
 * row i, column j: the packed copies keep a row's work in a few cache lines. */
static inline int count_packed(const update_plan *pl, int64_t ex, int64_t ed, int64_t b,
                               int64_t i, int64_t j) {
  if (pl->dense)
    return count_at(pl, b, i, j);
  const int words = pl->words;
  const uint32_t *xb = pl->x_cbits + ex * words, *db = pl->d_rbits + ed * words;
  int n = 0;
  for (int w = 0; w < words; ++w)
    n += __builtin_popcount(xb[w] & db[w]);
  const int c = n * (int)pl->x_csign[ex] * (int)pl->d_rsign[ed];
  return pl->sign_filter != 0 ? filter_count(pl->sign_filter, c) : c;
}

/* Whether sample b's coincidences are counted over its firing columns only (x_list)
 * rather than over every column: the same counts either way; the list is cheaper when
 * few columns fire (small gradients, short trains under update management). */
static inline int use_sparse_sample(const update_plan *pl, int64_t b) {
  if (aihw_update_sparse_mode != 0)
    return aihw_update_sparse_mode == 2;
  return (int64_t)pl->x_nfire[b] * 4 < pl->cols;
}

/* Applies the samples of row i in order, single steps, for the columns j with
 * active[j] != 0 (active NULL: all). The normals of sample b are elements 0 .. T-1 of
 * stream (op + b, STEP_NOISE, round 0, row i), T = the row's number of steps over those
 * columns in column order. With a mask the work is proportional to the active columns. */
static void row_single_steps(row_context *rc, int64_t i, const unsigned char *active) {
  const update_plan *pl = rc->pl;
  const int64_t cols = pl->cols;
  const int noisy = rc->rule.dw_min_std > 0.0f;
  int32_t *list = NULL;
  int64_t n_list = cols;
  if (active != NULL) {
    list = rc->list;
    n_list = 0;
    for (int64_t j = 0; j < cols; ++j)
      if (active[j])
        list[n_list++] = (int32_t)j;
    if (n_list == 0)
      return;
  }
  int *count = rc->count;
  for (int32_t e_b = pl->row_start[i]; e_b < pl->row_start[i + 1] - 1; ++e_b) {
    const int64_t b = pl->row_samples[e_b];
    /* The columns of this sample: the mask's list, the sample's firing columns (the
     * others have count 0, so the steps and their normals' element numbers are those of
     * the whole row), or every column. */
    const int32_t *slist = list;
    int64_t sn = n_list;
    const int64_t x0 = pl->x_start[b];
    if (list == NULL && use_sparse_sample(pl, b)) {
      slist = pl->x_list + x0;
      sn = pl->x_nfire[b];
      for (int64_t e = 0; e < sn; ++e)
        count[e] = count_packed(pl, x0 + e, e_b, b, i, slist[e]);
    } else if (list != NULL && pl->x_nfire[b] <= n_list) {
      /* the active columns among the sample's firing ones, still ascending */
      const int32_t *xl = pl->x_list + x0;
      int32_t *own = rc->sample_list;
      sn = 0;
      for (int64_t e = 0; e < pl->x_nfire[b]; ++e)
        if (active[xl[e]]) {
          count[sn] = count_packed(pl, x0 + e, e_b, b, i, xl[e]);
          own[sn++] = xl[e];
        }
      slist = own;
    } else if (slist != NULL) {
      for (int64_t e = 0; e < sn; ++e)
        count[e] = count_at(pl, b, i, slist[e]);
    } else {
      row_counts(pl, b, i, NULL, count);
    }
    size_t total = 0;
    for (int64_t e = 0; e < sn; ++e)
      total += (size_t)(count[e] < 0 ? -count[e] : count[e]);
    if (total == 0)
      continue;
    if (!noisy) {
      apply_counts_dispatch(rc, i, slist, sn, count, NULL);
      continue;
    }
    aihw_rng_stream st =
        aihw_rng_stream_make(rc->tile->config.seed, rc->tile->config.tile_id,
                             rc->op + (uint64_t)b, AIHW_RNG_STEP_NOISE,
                             rc->tile->rng_noise_round);
    if (total <= rc->xi_capacity) {
      aihw_rng_fill_normal(&st, (uint32_t)i, 0, rc->xi, total);
      apply_counts_dispatch(rc, i, slist, sn, count, rc->xi);
      continue;
    }
    /* More steps than the scratch holds: apply the list in pieces whose steps fit, keeping
     * each piece's normals at their element numbers of the whole row. */
    if (slist == NULL) { /* pieces need explicit columns */
      int32_t *all = rc->list;
      for (int64_t j = 0; j < cols; ++j)
        all[j] = (int32_t)j;
      slist = all;
    }
    size_t first = 0;
    int64_t e0 = 0;
    while (e0 < sn) {
      size_t len = 0;
      int64_t e1 = e0;
      while (e1 < sn) {
        size_t n = (size_t)(count[e1] < 0 ? -count[e1] : count[e1]);
        if (len + n + 4 > rc->xi_capacity && e1 > e0)
          break;
        len += n;
        ++e1;
      }
      /* normals first .. first+len-1, drawn from the aligned start below first */
      const size_t aligned = first / 4 * 4, lead = first - aligned;
      aihw_rng_fill_normal(&st, (uint32_t)i, aligned, rc->xi, lead + len);
      apply_counts_dispatch(rc, i, slist + e0, e1 - e0, count + e0, rc->xi + lead);
      first += len;
      e0 = e1;
    }
  }
}

/* ConstantStep: aggregate the whole batch per device where the bounds are out of reach
 * (file comment, item 3); the others go through row_single_steps.
 *
 * The path of a device over the batch is its mean path M (each sample moves it by
 * c_b scale, monotone within a sample) plus the noise path N, a sum of independent
 * symmetric increments scale sigma xi with total variance v. By Levy's inequality
 * P(max_m |N_m| >= a) <= 2 P(|N| >= a) = 4 Phi(-a/sqrt(v)); with a = 9 sqrt(v) that is
 * < 5e-19. So if w + max M + a < max_bound and w + min M - a > min_bound, no step can be
 * clipped except on an event of probability < 5e-19, and the sum of the steps has
 * exactly the law of U su + su sigma sqrt(U) xi1 - D sd - sd sigma sqrt(D) xi2. */

#define AIHW_AGGREGATE_SIGMAS 9.0f

/* w_j += the aggregated step of every device with flag[j] == 2 (vectorised: restrict). */
static void aggregate_row(int64_t cols, float sigma, const int *restrict net,
                          const int *restrict total, const unsigned char *restrict flag,
                          const float *restrict su, const float *restrict sd,
                          const float *restrict xi, float *restrict w) {
  if (sigma > 0.0f) {
    for (int64_t j = 0; j < cols; ++j) {
      const int downs = (total[j] + net[j]) / 2, ups = (total[j] - net[j]) / 2;
      float dw = (float)ups * su[j] - (float)downs * sd[j];
      dw += su[j] * sigma * sqrtf((float)ups) * xi[2 * j] -
            sd[j] * sigma * sqrtf((float)downs) * xi[2 * j + 1];
      w[j] = flag[j] == 2 ? w[j] + dw : w[j];
    }
  } else {
    for (int64_t j = 0; j < cols; ++j) {
      const int downs = (total[j] + net[j]) / 2, ups = (total[j] - net[j]) / 2;
      const float dw = (float)ups * su[j] - (float)downs * sd[j];
      w[j] = flag[j] == 2 ? w[j] + dw : w[j];
    }
  }
}

/* The end of row_constant_step when most columns moved: the same decisions and sums as
 * its list form, in branch-free loops over the whole row (single[j]: 2 = aggregated, then
 * 1 = single steps), the normals from one fill. Leaves the scratch zero. */
static void finish_row_whole(row_context *rc, int64_t i, int *net, int *total,
                             unsigned char *single, float *path) {
  const update_plan *pl = rc->pl;
  const aihw_device_state *s = rc->tile->devices;
  const int64_t cols = pl->cols;
  const float *hi = path + cols, *lo = path + 2 * cols;
  const float *su = s->scale_up + i * cols, *sd = s->scale_down + i * cols;
  const float *max_b = s->max_bound + i * cols, *min_b = s->min_bound + i * cols;
  float *w = rc->w + i * cols;
  const float sigma = rc->rule.dw_min_std;
  int any_single = 0, any_aggregate = 0;
  for (int64_t j = 0; j < cols; ++j) {
    const int downs = (total[j] + net[j]) / 2, ups = (total[j] - net[j]) / 2;
    const float var = sigma * sigma * ((float)ups * su[j] * su[j] + (float)downs * sd[j] * sd[j]);
    const float reach = AIHW_AGGREGATE_SIGMAS * sqrtf(var);
    const float margin = 1e-6f * (fabsf(w[j]) + fabsf(hi[j]) + fabsf(lo[j]) + reach);
    const int ok = (w[j] + hi[j] + reach + margin < max_b[j]) &
                   (w[j] + lo[j] - reach - margin > min_b[j]);
    const int moved = total[j] != 0;
    single[j] = (unsigned char)(moved ? 1 + ok : 0);
    any_single |= moved & (ok ^ 1);
    any_aggregate |= moved & ok;
  }
  if (any_aggregate) {
    float *xi = rc->xi;
    if (sigma > 0.0f) {
      aihw_rng_stream st = aihw_rng_stream_make(rc->tile->config.seed, rc->tile->config.tile_id,
                                                rc->op, AIHW_RNG_STEP_NOISE,
                                                rc->tile->rng_noise_round + 1);
      aihw_rng_fill_normal(&st, (uint32_t)i, 0, xi, (size_t)(2 * cols));
    }
    aggregate_row(cols, sigma, net, total, single, su, sd, xi, w);
    if (rc->pulse_counts) {
      int64_t *pc = rc->pulse_counts + 2 * i * cols;
      for (int64_t j = 0; j < cols; ++j)
        if (single[j] == 2) {
          pc[2 * j] += (total[j] - net[j]) / 2;
          pc[2 * j + 1] += (total[j] + net[j]) / 2;
        }
    }
  }
  if (any_single) {
    for (int64_t j = 0; j < cols; ++j)
      single[j] = single[j] == 1;
    row_single_steps(rc, i, single);
  }
  memset(net, 0, (size_t)cols * sizeof(int));
  memset(total, 0, (size_t)cols * sizeof(int));
  memset(path, 0, (size_t)(3 * cols) * sizeof(float));
  memset(single, 0, (size_t)cols);
}

static void row_constant_step(row_context *rc, int64_t i, int *net, int *total,
                              unsigned char *single, float *path, int32_t *touched) {
  const update_plan *pl = rc->pl;
  const aihw_device_state *s = rc->tile->devices;
  const int64_t cols = pl->cols;
  float *pos = path, *hi = path + cols, *lo = path + 2 * cols;
  const float *su = s->scale_up + i * cols, *sd = s->scale_down + i * cols;
  /* net, total, path and single are zero on entry and left zero (per-thread scratch). */
  const int32_t *fire = pl->row_samples + pl->row_start[i];
  const int64_t n_fire = pl->row_start[i + 1] - 1 - pl->row_start[i];
  if (n_fire == 0)
    return;
  int64_t work = 0;
  for (int64_t e_b = 0; e_b < n_fire; ++e_b)
    work += pl->x_nfire[fire[e_b]];
  /* Gather: per column the net and total counts and the mean path's extremes, over the
   * samples in order. A sample with count 0 leaves pos, hi and lo unchanged, so visiting
   * only the coincidences (sparse) gives the same floats as visiting every column. */
  const int sparse = aihw_update_sparse_mode != 0 ? aihw_update_sparse_mode == 2
                                                  : work * 4 < n_fire * cols;
  int64_t n_touched = 0;
  int *count = rc->count;
  if (!sparse) {
    for (int64_t e_b = 0; e_b < n_fire; ++e_b) {
      row_counts(pl, fire[e_b], i, NULL, count);
      for (int64_t j = 0; j < cols; ++j) {
        const int c = count[j];
        net[j] += c;
        total[j] += c < 0 ? -c : c;
      }
      /* mean path (separate loop so that both vectorise) */
      for (int64_t j = 0; j < cols; ++j)
        aihw_mean_path_step(count[j], su[j], sd[j], &pos[j], &hi[j], &lo[j]);
    }
    for (int64_t j = 0; j < cols; ++j)
      if (total[j] != 0)
        touched[n_touched++] = (int32_t)j;
  } else {
    for (int64_t e_b = 0; e_b < n_fire; ++e_b) {
      const int64_t b = fire[e_b];
      const int64_t x0 = pl->x_start[b];
      const int32_t *xl = pl->x_list + x0;
      const int64_t nx = pl->x_nfire[b];
      for (int64_t e = 0; e < nx; ++e) {
        const int64_t j = xl[e];
        const int ci = count_packed(pl, x0 + e, pl->row_start[i] + e_b, b, i, j);
        if (ci == 0)
          continue;
        if (total[j] == 0)
          touched[n_touched++] = (int32_t)j;
        net[j] += ci;
        total[j] += ci < 0 ? -ci : ci;
        aihw_mean_path_step(ci, su[j], sd[j], &pos[j], &hi[j], &lo[j]);
      }
    }
  }
  const int whole_row = aihw_update_sparse_mode != 0 ? aihw_update_sparse_mode == 1
                                                     : n_touched * 4 >= cols;
  if (whole_row) {
    finish_row_whole(rc, i, net, total, single, path);
    return;
  }
  const float sigma = rc->rule.dw_min_std;
  int any_single = 0;
  int64_t n_aggregate = 0;
  for (int64_t t = 0; t < n_touched; ++t) {
    const int64_t j = touched[t];
    const int64_t k = i * cols + j;
    const int downs = (total[j] + net[j]) / 2, ups = (total[j] - net[j]) / 2;
    const float var = sigma * sigma * ((float)ups * su[j] * su[j] + (float)downs * sd[j] * sd[j]);
    const float reach = AIHW_AGGREGATE_SIGMAS * sqrtf(var);
    const float w = rc->w[k];
    /* 1e-6 relative margin for the float rounding of the sums */
    const float margin = 1e-6f * (fabsf(w) + fabsf(hi[j]) + fabsf(lo[j]) + reach);
    if (w + hi[j] + reach + margin < s->max_bound[k] &&
        w + lo[j] - reach - margin > s->min_bound[k]) {
      ++n_aggregate;
    } else {
      single[j] = 1;
      any_single = 1;
    }
  }
  if (n_aggregate > 0) {
    /* Normals 2j and 2j+1 of stream (op, STEP_NOISE, round + 1, row i): filled for the
     * whole row when many columns need them, else block by block (the same values). */
    aihw_rng_stream st = aihw_rng_stream_make(rc->tile->config.seed, rc->tile->config.tile_id,
                                              rc->op, AIHW_RNG_STEP_NOISE,
                                              rc->tile->rng_noise_round + 1);
    const int bulk = sigma > 0.0f && (aihw_update_sparse_mode != 0
                                          ? aihw_update_sparse_mode == 1
                                          : n_aggregate * 8 >= cols);
    uint32_t *blocks = (uint32_t *)(void *)rc->list; /* free until row_single_steps */
    if (bulk) {
      aihw_rng_fill_normal(&st, (uint32_t)i, 0, rc->xi, (size_t)(2 * cols));
    } else if (sigma > 0.0f) {
      int64_t n_blocks = 0;
      for (int64_t t = 0; t < n_touched; ++t)
        if (!single[touched[t]])
          blocks[n_blocks++] = (uint32_t)(touched[t] >> 1);
      aihw_rng_normal_blocks(&st, (uint32_t)i, blocks, (size_t)n_blocks, rc->xi);
    }
    int64_t q = 0; /* aggregated devices so far: their block's normals at xi[4 q] */
    for (int64_t t = 0; t < n_touched; ++t) {
      const int64_t j = touched[t];
      if (single[j])
        continue;
      const int64_t k = i * cols + j;
      const int downs = (total[j] + net[j]) / 2, ups = (total[j] - net[j]) / 2;
      float dw = (float)ups * su[j] - (float)downs * sd[j];
      if (sigma > 0.0f) {
        const float *xi = bulk ? rc->xi + 2 * j : rc->xi + 4 * q + 2 * (j & 1);
        dw += su[j] * sigma * sqrtf((float)ups) * xi[0] -
              sd[j] * sigma * sqrtf((float)downs) * xi[1];
      }
      ++q;
      rc->w[k] += dw;
      if (rc->pulse_counts) {
        rc->pulse_counts[2 * k] += ups;
        rc->pulse_counts[2 * k + 1] += downs;
      }
    }
  }
  if (any_single)
    row_single_steps(rc, i, single);
  /* Leave the scratch zero for the next row. */
  for (int64_t t = 0; t < n_touched; ++t) {
    const int64_t j = touched[t];
    net[j] = total[j] = 0;
    pos[j] = hi[j] = lo[j] = 0.0f;
    single[j] = 0;
  }
}

/* ---------------------------------------------------------------------------------- */

static aihw_status pulsed_update(aihw_tile *tile, const float *x, int64_t batch,
                                 const float *d, float lr) {
  const aihw_update_params *up = &tile->config.update;
  aihw_device_state *s = tile->devices;
  const int64_t rows = tile->out_size, cols = tile->cols, in = tile->in_size;
  const int with_bias = cols != in;
  const float g = tile->update_granularity > 0.0f ? tile->update_granularity : s->granularity;
  const int dense = up->pulse_type == AIHW_PULSE_MEAN_COUNT ||
                    up->pulse_type == AIHW_PULSE_DETERMINISTIC_IMPLICIT;
  /* Longest train of the call: BL is desired_bl unless fixed_bl is off without UBLM. */
  int bl_max = up->desired_bl;
  if (!up->fixed_bl && !up->update_bl_management && g * (float)up->desired_bl < lr) {
    float need = ceilf(lr / g);
    if (need > 65536.0f)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "aihw_tile_update: lr = %g needs %g pulses per sample with "
                        "fixed_bl off (granularity %g); at most 65536 are supported",
                        (double)lr, (double)need, (double)g);
    bl_max = need > (float)bl_max ? (int)need : bl_max;
  }
  const int words = (bl_max + 31) / 32;
  const int64_t big = rows > cols ? rows : cols;
#ifdef _OPENMP
  const int n_threads = omp_get_max_threads();
#else
  const int n_threads = 1;
#endif

  /* Workspace: plans, trains, signs, per-thread scratch. */
  size_t bytes = 0;
  const size_t sz_plan = (size_t)batch * sizeof(sample_plan);
  const size_t sz_xbits = dense ? 0 : (size_t)(batch * cols * words) * sizeof(uint32_t);
  const size_t sz_dbits = dense ? 0 : (size_t)(batch * rows * words) * sizeof(uint32_t);
  const size_t sz_xcnt = dense ? (size_t)(batch * cols) * sizeof(float) : 0;
  const size_t sz_dcnt = dense ? (size_t)(batch * rows) * sizeof(float) : 0;
  const size_t sz_sign = (size_t)(batch * (rows + cols));
  const size_t sz_xlist = (size_t)(batch * cols) * sizeof(int32_t);
  const size_t sz_xnfire = (size_t)batch * sizeof(int32_t);
  const size_t sz_rstart = (size_t)(rows + 1) * sizeof(int32_t);
  const size_t n_rentries = (size_t)(batch * rows + rows); /* with the spare slots */
  const size_t sz_rsamples = n_rentries * sizeof(int32_t);
  const size_t sz_xstart = (size_t)batch * sizeof(int32_t);
  const size_t sz_xcbits = sz_xbits, sz_xcsign = (size_t)(batch * cols);
  const size_t sz_drbits = n_rentries * (size_t)words * sizeof(uint32_t);
  const size_t sz_drsign = n_rentries;
  const size_t xi_capacity = (size_t)(8 * big + bl_max + 64); /* >= one device's steps */
  const size_t sz_thread = (size_t)(2 * big) * sizeof(float) /* prob + uniforms */ +
                           xi_capacity * sizeof(float) + (size_t)(6 * big) * sizeof(int) +
                           (size_t)(3 * big) * sizeof(float) /* mean paths */ +
                           (size_t)big + 256;
  const size_t sz_touched = s->persistent != NULL ? (size_t)(rows * cols) : 0;
  /* every carve below rounds up to 64 bytes (8 carves), and so does each thread's slice
   * (the stride): budget both, whatever the number of threads (17 carves) */
  const size_t thread_stride = (sz_thread + 63) / 64 * 64;
  bytes = sz_plan + sz_xbits + sz_dbits + sz_xcnt + sz_dcnt + sz_sign + sz_xlist +
          sz_xnfire + sz_rstart + sz_rsamples + sz_xstart + sz_xcbits + sz_xcsign +
          sz_drbits + sz_drsign + sz_touched + (size_t)n_threads * thread_stride + 17 * 64;
  char *base = aihw_workspace_get(&tile->workspace, bytes);
  if (base == NULL)
    return aihw_last_status();
#define AIHW_CARVE(ptr, type, size)                                                       \
  do {                                                                                    \
    ptr = (type)(void *)base;                                                             \
    base += ((size) + 63) / 64 * 64;                                                      \
  } while (0)
  update_plan pl;
  memset(&pl, 0, sizeof pl);
  pl.batch = batch;
  pl.rows = rows;
  pl.cols = cols;
  pl.words = words;
  pl.dense = dense;
  pl.type = up->pulse_type;
  pl.sign_filter = tile->update_sign_filter;
  {
    static volatile uint32_t swar_masks[4] = {0x55555555u, 0x33333333u, 0x0f0f0f0fu,
                                              0x01010101u};
    for (int k = 0; k < 4; ++k)
      pl.swar[k] = swar_masks[k];
  }
  AIHW_CARVE(pl.samples, sample_plan *, sz_plan);
  AIHW_CARVE(pl.x_bits, uint32_t *, sz_xbits);
  AIHW_CARVE(pl.d_bits, uint32_t *, sz_dbits);
  AIHW_CARVE(pl.x_count, float *, sz_xcnt);
  AIHW_CARVE(pl.d_count, float *, sz_dcnt);
  AIHW_CARVE(pl.x_sign, signed char *, (size_t)(batch * cols));
  AIHW_CARVE(pl.d_sign, signed char *, (size_t)(batch * rows));
  AIHW_CARVE(pl.x_list, int32_t *, sz_xlist);
  AIHW_CARVE(pl.x_nfire, int32_t *, sz_xnfire);
  AIHW_CARVE(pl.row_start, int32_t *, sz_rstart);
  AIHW_CARVE(pl.row_samples, int32_t *, sz_rsamples);
  AIHW_CARVE(pl.x_start, int32_t *, sz_xstart);
  AIHW_CARVE(pl.x_cbits, uint32_t *, sz_xcbits);
  AIHW_CARVE(pl.x_csign, signed char *, sz_xcsign);
  AIHW_CARVE(pl.d_rbits, uint32_t *, sz_drbits);
  AIHW_CARVE(pl.d_rsign, signed char *, sz_drsign);
  unsigned char *touched = NULL;
  if (sz_touched) {
    AIHW_CARVE(touched, unsigned char *, sz_touched);
    memset(touched, 0, sz_touched);
  }
  char *thread_base = base;
#undef AIHW_CARVE
  const uint64_t op0 = tile->op_counter;
  const int threaded = batch * (rows + cols) * (int64_t)up->desired_bl >= 16384;

  /* 1. Trains (or dense counts) of every sample. */
#pragma omp parallel for schedule(static) if (threaded)
  for (int64_t b = 0; b < batch; ++b) {
#ifdef _OPENMP
    char *tb = thread_base + (size_t)omp_get_thread_num() * thread_stride;
#else
    char *tb = thread_base;
#endif
    float *prob = (float *)(void *)tb, *uni = prob + big;
    const float *xb = x + b * in, *db = d + b * rows;
    const float x_amax = row_abs_max_f(xb, in, with_bias);
    const float d_amax = row_abs_max_f(db, rows, 0);
    sample_plan sp = plan_sample(up, lr, g, x_amax, d_amax);
    pl.samples[b] = sp;
    if (sp.bl == 0) {
      memset(pl.x_sign + b * cols, 0, (size_t)cols);
      memset(pl.d_sign + b * rows, 0, (size_t)rows);
      pl.x_nfire[b] = 0;
      continue;
    }
    const uint64_t op = op0 + (uint64_t)b;
    if (!dense) {
      make_trains(tile, up, op, AIHW_RNG_PULSE_X, xb, cols, in, sp.b_scale, sp.bl, words,
                  pl.x_bits + b * cols * words, pl.x_sign + b * cols, prob, uni);
      make_trains(tile, up, op, AIHW_RNG_PULSE_D, db, rows, rows, sp.a_scale, sp.bl, words,
                  pl.d_bits + b * rows * words, pl.d_sign + b * rows, prob, uni);
    } else {
      make_dense(up, xb, cols, in, sp.b_scale, sp.bl, up->x_res_implicit,
                 pl.x_count + b * cols, pl.x_sign + b * cols);
      make_dense(up, db, rows, rows, sp.a_scale, sp.bl, up->d_res_implicit,
                 pl.d_count + b * rows, pl.d_sign + b * rows);
    }
    const signed char *xs = pl.x_sign + b * cols;
    int32_t *xl = pl.x_list + b * cols;
    int32_t n_fire = 0;
    for (int64_t j = 0; j < cols; ++j) {
      xl[n_fire] = (int32_t)j;
      n_fire += xs[j] != 0;
    }
    pl.x_nfire[b] = n_fire;
  }

  /* Pack the samples' firing columns (in place: entry pos never passes b cols + e), with
   * copies of their trains and signs. */
  {
    int32_t pos = 0;
    for (int64_t b = 0; b < batch; ++b) {
      const int32_t *from = pl.x_list + b * cols;
      pl.x_start[b] = pos;
      for (int32_t e = 0; e < pl.x_nfire[b]; ++e, ++pos) {
        const int64_t j = from[e];
        pl.x_list[pos] = (int32_t)j;
        pl.x_csign[pos] = pl.x_sign[b * cols + j];
        if (!dense)
          for (int w = 0; w < words; ++w)
            pl.x_cbits[(int64_t)pos * words + w] = pl.x_bits[(b * cols + j) * words + w];
      }
    }
  }

  /* Per row, its firing samples in order (CSR), with copies of their d trains and signs. */
  memset(pl.row_start, 0, sz_rstart);
  for (int64_t b = 0; b < batch; ++b) {
    if (pl.samples[b].bl == 0)
      continue;
    const signed char *ds = pl.d_sign + b * rows;
    for (int64_t i = 0; i < rows; ++i)
      pl.row_start[i + 1] += ds[i] != 0;
  }
  for (int64_t i = 0; i < rows; ++i)
    pl.row_start[i + 1] += pl.row_start[i] + 1; /* + the spare slot */
  {
    /* A blocked transpose: chunks of 64 rows (threads over chunks), samples in blocks of
     * 16, so that both the 16 d_sign / d_bits lines read and the rows' output lines stay
     * in cache. Branch-free: every sample writes at its row's cursor, which advances only
     * when d_i fires (a full row writes into its spare slot). */
    /* (local copies of the plan's pointers: stores through them could alias the struct) */
    const sample_plan *restrict samples = pl.samples;
    const signed char *restrict d_sign = pl.d_sign;
    const uint32_t *restrict d_bits = pl.d_bits;
    const int32_t *restrict row_start = pl.row_start;
    int32_t *restrict row_samples = pl.row_samples;
    signed char *restrict d_rsign = pl.d_rsign;
    uint32_t *restrict d_rbits = pl.d_rbits;
#pragma omp parallel for schedule(static) if (threaded)
    for (int64_t c0 = 0; c0 < rows; c0 += 64) {
      const int64_t c1 = c0 + 64 < rows ? c0 + 64 : rows;
      int32_t cursor[64];
      for (int64_t i = c0; i < c1; ++i)
        cursor[i - c0] = row_start[i];
      for (int64_t b0 = 0; b0 < batch; b0 += 16) {
        const int64_t b1 = b0 + 16 < batch ? b0 + 16 : batch;
        for (int64_t i = c0; i < c1; ++i) {
          int32_t e = cursor[i - c0];
          if (!dense && words == 1) {
            for (int64_t b = b0; b < b1; ++b) {
              const signed char ds = samples[b].bl != 0 ? d_sign[b * rows + i] : 0;
              row_samples[e] = (int32_t)b;
              d_rsign[e] = ds;
              d_rbits[e] = d_bits[b * rows + i];
              e += ds != 0;
            }
          } else {
            for (int64_t b = b0; b < b1; ++b) {
              const signed char ds = samples[b].bl != 0 ? d_sign[b * rows + i] : 0;
              row_samples[e] = (int32_t)b;
              d_rsign[e] = ds;
              if (!dense)
                for (int w = 0; w < words; ++w)
                  d_rbits[(int64_t)e * words + w] = d_bits[(b * rows + i) * words + w];
              e += ds != 0;
            }
          }
          cursor[i - c0] = e;
        }
      }
    }
  }

  /* 2./3. Device steps, rows in parallel. The ConstantStep row sums (net, total counts,
   * mean paths, flags) start zero and every row leaves them zero. */
  for (int t = 0; t < n_threads; ++t) {
    char *tb = thread_base + (size_t)t * thread_stride;
    float *xi = (float *)(void *)(tb + (size_t)(2 * big) * sizeof(float));
    int *ints = (int *)(void *)(xi + xi_capacity);
    memset(ints + 2 * big, 0, (size_t)(2 * big) * sizeof(int));
    memset(ints + 6 * big, 0, (size_t)(3 * big) * sizeof(float) + (size_t)big);
  }
  aihw_step_rule rule = aihw_step_rule_make(&s->params);
  float *w = device_weights(tile);
  const int constant_step =
      s->params.type == AIHW_DEVICE_CONSTANT_STEP && !aihw_update_reference_path;
#pragma omp parallel for schedule(dynamic, 4) if (threaded)
  for (int64_t i = 0; i < rows; ++i) {
#ifdef _OPENMP
    char *tb = thread_base + (size_t)omp_get_thread_num() * thread_stride;
#else
    char *tb = thread_base;
#endif
    float *xi = (float *)(void *)(tb + (size_t)(2 * big) * sizeof(float));
    int *ints = (int *)(void *)(xi + xi_capacity);
    int32_t *list = (int32_t *)(ints + 4 * big);
    int32_t *touched_cols = (int32_t *)(ints + 5 * big);
    float *path = (float *)(void *)(ints + 6 * big);
    unsigned char *flags = (unsigned char *)(path + 3 * big);
    row_context rc = {&pl, tile, rule, w, op0, ints, list, ints + big, xi, xi_capacity,
                      touched, tile->pulse_counts};
    if (constant_step)
      row_constant_step(&rc, i, ints + 2 * big, ints + 3 * big, flags, path, touched_cols);
    else
      row_single_steps(&rc, i, NULL);
  }

  /* 4. Fresh visible weights where the true weights moved. */
  if (s->persistent != NULL) {
    float *scratch = (float *)(void *)thread_base;
    aihw_tile_apply_write_noise(tile, op0, touched, scratch);
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_update(aihw_tile *tile, const float *x, int64_t batch,
                                      int64_t in_size, const float *d, int64_t out_size,
                                      float lr) {
  static const char *fn = "aihw_tile_update";
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tile is NULL", fn);
  if (x == NULL || d == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s pointer is NULL", fn,
                      x == NULL ? "x" : "d");
  if (batch < 1 || batch > 0x7fffffff)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: batch = %lld: must be in [1, %d]", fn,
                      (long long)batch, 0x7fffffff);
  if (in_size != tile->in_size)
    return aihw_error(AIHW_ERR_SHAPE, "%s: x has %lld columns but the tile expects %lld", fn,
                      (long long)in_size, (long long)tile->in_size);
  if (out_size != tile->out_size)
    return aihw_error(AIHW_ERR_SHAPE, "%s: d has %lld columns but the tile has %lld outputs",
                      fn, (long long)out_size, (long long)tile->out_size);
  if (!isfinite(lr))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: lr = %g: must be finite", fn, (double)lr);
  if (lr < 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: lr = %g: must be >= 0 (the update is W -= lr d x^T)", fn,
                      (double)lr);
  if (tile->cuda != NULL) /* backend dispatch (src/backend/tile_cuda.c); x, d may be device */
    return aihw_tile_cuda_update(tile, x, batch, in_size, d, out_size, lr);
  int64_t k = aihw_first_non_finite(x, batch * in_size);
  if (k >= 0)
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: x[%lld][%lld] is %g; inputs must be finite",
                      fn, (long long)(k / in_size), (long long)(k % in_size), (double)x[k]);
  k = aihw_first_non_finite(d, batch * out_size);
  if (k >= 0)
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: d[%lld][%lld] is %g; gradients must be finite",
                      fn, (long long)(k / out_size), (long long)(k % out_size), (double)d[k]);
  if (tile->op_counter + (uint64_t)batch > AIHW_TILE_MAX_OP_COUNTER)
    return aihw_error(AIHW_ERR_STATE, "%s: the tile's random stream is exhausted", fn);
  aihw_status status;
  if (tile->compound != NULL)
    status = aihw_compound_update(tile, x, batch, d, lr);
  else if (aihw_tile_is_pulsed(tile))
    status = pulsed_update(tile, x, batch, d, lr);
  else if ((status = check_exact_range(tile, x, batch, d, lr, fn)) == AIHW_OK)
    status = exact_update(tile, x, batch, d, lr);
  if (status == AIHW_OK) {
    (void)aihw_tile_weights_changed(tile); /* cannot fail: buffers exist */
    tile->op_counter += (uint64_t)batch;
    if (tile->weights_abs != NULL)
      for (int64_t e = 0; e < tile->out_size * tile->cols; ++e)
        tile->weights_abs[e] = fabsf(tile->weights[e]);
  }
  return status;
}

aihw_status aihw_tile_update_view(aihw_tile *tile, const aihw_device_view *v, const float *x,
                                  int64_t batch, const float *d, float lr) {
  aihw_tile view = *tile; /* shallow: shares the periphery and scratch */
  view.devices = v->devices;
  view.weights = v->weights;
  view.weights_abs = NULL;
  view.pulse_counts = NULL;
  view.config.update = *v->update;
  view.in_size = v->in_size;
  view.op_counter = v->op;
  view.rng_noise_round = v->noise_round;
  view.update_granularity = v->granularity;
  view.compound = NULL;
  view.update_sign_filter = v->sign_filter;
  if (v->transfer) {
    view.out_scales = NULL;
    view.backward_alpha = 1.0f;
  }
  const aihw_status status = aihw_tile_is_pulsed(&view)
                                 ? pulsed_update(&view, x, batch, d, lr)
                                 : exact_update(&view, x, batch, d, lr);
  tile->workspace = view.workspace; /* the view may have grown the scratch */
  tile->aux = view.aux;
  return status;
}
