/* Programming and drift of an inference tile's weights (reference §6.5-§6.7, §6.9): the
 * array-level drivers of physics/converter_math.h and physics/pcm_math.h behind
 * aihw_inference_program and aihw_inference_drift (inference_internal.h).
 *
 * Programming converts the target weights to conductance slices (scale from max|W|, or
 * min/max W for the single device), gives every slice, the "off" device at g_min included,
 * programming noise g_prog = max(g_T + prog_noise_scale sigma(g_T) xi, 0) and one drift
 * exponent nu = |mu(g_T) + sigma_nu(g_T) xi| drift_scale, and converts back. Drift
 * re-converts the programmed weights (scale from max|W_prog|, as aihwkit's
 * apply_drift_noise does), lets each slice drift with its own nu, adds read noise, clamps
 * at 0 and converts back; it always starts from the programmed weights, so repeated calls
 * are independent draws (never cumulative). t = t_inference + t_0 > 0 always (t_0 > 0 is
 * validated), so read noise applies at t_inference = 0 too, as in aihwkit. With SINGLE_PAIR
 * only one slice per element is non-zero after the re-conversion, and it drifts with the nu
 * drawn for that slice, so W(t) = max(W_prog, 0) (t/t_0)^-nu+ - max(-W_prog, 0) (t/t_0)^-nu-
 * plus read noise.
 *
 * Random numbers: Philox streams (key.seed, key.tile_id, key.op), row = weight row,
 * element = column. Programming: purpose PROGRAM, round 2 s for the programming noise and
 * 2 s + 1 for the drift exponent of slice s. Drift: purpose DRIFT_READ; for the pair
 * converters SINGLE, N and DUAL (at most one device of a pair away from g_min) round 2 k
 * is the read noise of pair k's "on" device (g- if g+ is at g_min and g- is not, else g+)
 * and round 2 k + 1 that of its other device; for CUSTOM_PAIR and SINGLE_DEVICE round s is
 * slice s. Every value is therefore a pure function of the inputs and the key, whatever
 * the number of threads: tests/unit/test_pcm_golden.c recomputes both calls element by
 * element from the scalar physics and the scalar Philox definition and compares bit for
 * bit.
 *
 * Speed: element loops run over chunks of a row, vectorised (the logarithms and powers of
 * pcm_math.h are libm-free for this reason). For the pair converters the log-law moments
 * of nu are evaluated once per pair, at the device that is not at g_min (the other's are
 * per-call constants), and with g_min = 0 the drift step computes only that device: the
 * other one is exactly 0 before and after drift and read noise, so the skipped work cannot
 * change a bit, and its read-noise normal (round 2 k + 1) is never drawn. Measured on
 * 512 x 512 SinglePair weights with 16 threads of a 16-core Xeon: programming 3.3 ns and
 * drift 2.2 ns per weight, twice the time of drawing their five Philox normals alone,
 * 3.9x and 2.6x a memcpy of the same bytes (16 per weight each).
 *
 * read_noise_at_target (aihw_inference_drift_with_target): Q_s is evaluated at the target
 * conductance of the same device (the target weights converted with their own scale),
 * aihwkit's documented form. Earlier decision, kept for the plain call (an aihw switch,
 * default 0 = aihwkit's code: Q_s at the
 * programmed conductance). Q_s at the *target* conductance g_T needs the target weights,
 * which aihw_inference_drift does not receive; the two stand-ins available (the programmed
 * conductance, i.e. the default, or the noise-free drifted conductance, which is further
 * from g_T: Q_s would grow by (t/t_0)^(0.65 nu), +42 % at 1e6 s) would each mislabel
 * something else as the documented model. So drift refuses it with AIHW_ERR_UNSUPPORTED
 * and a message saying why; passing the target weights to the drift call would make it
 * exact (g_T = the target's slices under the target's own scale).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "inference/inference_internal.h"
#include "physics/converter_math.h"
#include "physics/noise_consts.h"
#include "physics/pcm_math.h"

/* Columns per step of the pair kernels: four Philox fill chunks of 96 normals. */
#define PAIR_CHUNK 384
/* The generic kernels keep every slice of a chunk: a smaller chunk bounds their stack. */
#define GENERIC_CHUNK 96
#define MAX_SLICES (2 * AIHW_INFERENCE_MAX_PAIRS)
/* Below this many weights a call runs on one thread (thread start-up would dominate). */
#define PROGRAM_PARALLEL_MIN_WEIGHTS 16384

/* Programming rounds: 2 slice + kind. */
enum { ROUND_PROG_NOISE = 0, ROUND_NU = 1 };

int aihw_converter_slices(const aihw_converter_params *c) {
  return c != NULL ? aihw_converter_slice_count(c) : 0;
}

/* ---- Per-call constants ----------------------------------------------------------- */

typedef aihw_noise_consts noise_consts; /* physics/noise_consts.h */

/* ---- Argument checks ------------------------------------------------------------- */

static aihw_status check_call(const char *fn, const aihw_noise_model_params *nm,
                              const aihw_converter_params *cv, const float *w_in,
                              const char *w_in_name, const float *w_out, const char *w_out_name,
                              const float *nu, int64_t rows, int64_t cols) {
  if (nm == NULL || cv == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      nm == NULL ? "noise model parameters" : "converter parameters");
  if (w_in == NULL || w_out == NULL || nu == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      w_in == NULL    ? w_in_name
                      : w_out == NULL ? w_out_name
                                      : "nu");
  if (rows < 1 || cols < 1)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %lld x %lld weights: both sizes must be >= 1", fn,
                      (long long)rows, (long long)cols);
  /* Philox counters hold the row in 32 bits and the column block in 32 bits. */
  if ((uint64_t)rows > UINT32_MAX || (uint64_t)cols > ((uint64_t)UINT32_MAX << 2) ||
      (uint64_t)rows > (uint64_t)SIZE_MAX / sizeof(float) / MAX_SLICES / (uint64_t)cols)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %lld x %lld weights: too large", fn, (long long)rows,
                      (long long)cols);
  aihw_inference_params p = aihw_inference_params_default();
  p.noise_model = *nm;
  p.converter = *cv;
  AIHW_TRY(aihw_inference_params_validate(&p, NULL));
  if (cv->type == AIHW_CONVERTER_CUSTOM_PAIR && !(aihw_custom_pair_max_weight_us(cv) > 0.0f))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: noise_model.g_converter.g_lst: sum_k f_k (g+_k - g-_k) is 0 at "
                      "every entry: the tables represent no weight",
                      fn);
  return AIHW_OK;
}

/* Smallest and largest weight (-0 below +0) and whether all are finite, from integer
 * keys that order as the floats do, so that the reductions vectorise. */
typedef struct weight_range {
  float lo, hi;
  int finite;
} weight_range;

static int32_t order_key(float x) {
  uint32_t b = aihw_float_bits(x);
  uint32_t flip = (uint32_t)((int32_t)b >> 31) & 0x7fffffffu;
  return (int32_t)(b ^ flip);
}

static float key_float(int32_t k) {
  uint32_t b = (uint32_t)k;
  uint32_t flip = (uint32_t)(k >> 31) & 0x7fffffffu;
  return aihw_bits_float(b ^ flip);
}

static weight_range scan_weights(const float *w, int64_t rows, int64_t cols) {
  int32_t kmin = INT32_MAX, kmax = INT32_MIN;
  uint32_t abs_max = 0;
  const int threaded = rows * cols >= PROGRAM_PARALLEL_MIN_WEIGHTS;
  /* clang-format off */
#pragma omp parallel for schedule(static) reduction(min : kmin) \
    reduction(max : kmax, abs_max) if (threaded)
  /* clang-format on */
  for (int64_t i = 0; i < rows; ++i) {
    const float *row = w + i * cols;
    for (int64_t j = 0; j < cols; ++j) {
      int32_t k = order_key(row[j]);
      uint32_t a = aihw_float_bits(row[j]) & 0x7fffffffu;
      kmin = k < kmin ? k : kmin;
      kmax = k > kmax ? k : kmax;
      abs_max = a > abs_max ? a : abs_max;
    }
  }
  weight_range r = {key_float(kmin), key_float(kmax), abs_max < 0x7f800000u};
  return r;
}

static aihw_status not_finite_error(const char *fn, const char *name, const float *w,
                                    int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      if (!isfinite(w[i * cols + j]))
        return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s[%lld][%lld] = %g: must be finite", fn,
                          name, (long long)i, (long long)j, (double)w[i * cols + j]);
  return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s has a non-finite value", fn, name);
}

static int is_pair_converter(aihw_converter_type t) {
  return t == AIHW_CONVERTER_SINGLE_PAIR || t == AIHW_CONVERTER_N_PAIR ||
         t == AIHW_CONVERTER_DUAL_PAIR;
}

/* ---- Element loops over a chunk of one row ---------------------------------------- */

typedef struct call_ctx {
  const noise_consts *nc;
  const aihw_conductance_map *map;
  const float *w_in;
  float *w_out;
  const float *nu_in;        /* drift */
  const float *w_target;     /* drift with read_noise_at_target: the target weights */
  const aihw_conductance_map *map_target; /* their conversion (scale from the targets) */
  float *nu_out;             /* programming */
  int64_t rows, cols, plane; /* plane = rows * cols, the stride between nu slices */
  aihw_rng_stream streams[2 * MAX_SLICES];
} call_ctx;

static void fill_normals(const call_ctx *c, int round, int64_t row, int64_t c0, int64_t n,
                         float *out) {
  aihw_rng_fill_normal(&c->streams[round], (uint32_t)row, (size_t)c0, out, (size_t)n);
}

/* Moments of nu at conductances g[0..n). */
static void nu_moments_chunk(const noise_consts *nc, const float *restrict g, int64_t n,
                             float *restrict mu, float *restrict sd) {
  switch (nc->type) {
  case AIHW_NOISE_PCM_LIKE:
    for (int64_t j = 0; j < n; ++j)
      aihw_pcm_nu_moments(g[j], nc->g_max, &mu[j], &sd[j]);
    break;
  case AIHW_NOISE_STATE_INDEPENDENT:
    for (int64_t j = 0; j < n; ++j) {
      mu[j] = nc->nu_mean;
      sd[j] = nc->nu_std;
    }
    break;
  case AIHW_NOISE_CUSTOM_DRIFT_PCM:
    for (int64_t j = 0; j < n; ++j)
      aihw_pcm_nu_moments_table(g[j], nc->custom_g, nc->custom_mean, nc->custom_mean_slope,
                                nc->custom_std, nc->custom_std_slope, nc->n_custom, &mu[j],
                                &sd[j]);
    break;
  case AIHW_NOISE_NONE:
    for (int64_t j = 0; j < n; ++j)
      mu[j] = sd[j] = 0.0f;
    break;
  }
}

static void nu_moments_one(const noise_consts *nc, float g, float *mu, float *sd) {
  nu_moments_chunk(nc, &g, 1, mu, sd);
}

/* Programming noise and drift exponent of one slice: g_prog[j], nu[j]. */
static void program_slice_chunk(const noise_consts *nc, const float *restrict g,
                                const float *restrict mu, const float *restrict sd,
                                const float *restrict xi_prog, const float *restrict xi_nu,
                                int64_t n, float *restrict g_prog, float *restrict nu) {
  const float pns = nc->prog_noise_scale, ds = nc->drift_scale, g_max = nc->g_max;
  const float factor = nc->prog_factor;
  if (nc->n_coeff == 3) { /* the usual polynomial, unrolled so that the loop vectorises */
    const float c3[3] = {nc->coeff[0], nc->coeff[1], nc->coeff[2]};
    for (int64_t j = 0; j < n; ++j) {
      float sigma = aihw_pcm_prog_sigma(c3, 3, g[j], g_max, factor);
      g_prog[j] = aihw_pcm_program(g[j], sigma, pns, xi_prog[j]);
    }
  } else {
    for (int64_t j = 0; j < n; ++j) {
      float sigma = aihw_pcm_prog_sigma(nc->coeff, nc->n_coeff, g[j], g_max, factor);
      g_prog[j] = aihw_pcm_program(g[j], sigma, pns, xi_prog[j]);
    }
  }
  for (int64_t j = 0; j < n; ++j)
    nu[j] = aihw_pcm_nu(mu[j], sd[j], xi_nu[j], ds);
}

/* Drift and read noise of one slice: out[j] = g(t) from g[j], nu[j], xi[j]. */
/* q_g: conductances at which Q_s is evaluated (the targets, read_noise_at_target), or
 * NULL for the programmed ones g (aihwkit's code). */
static void drift_slice_chunk(const noise_consts *nc, const float *restrict g,
                              const float *restrict nu, const float *restrict xi, int64_t n,
                              const float *restrict q_g, float *restrict out) {
  float df[PAIR_CHUNK];
  const float g_max = nc->g_max, rf = nc->read_factor, rns = nc->read_noise_scale;
  if (nc->drifting) {
    const double ln_base = nc->ln_base;
    for (int64_t j = 0; j < n; ++j)
      df[j] = aihw_pcm_drift_factor_ln(ln_base, nu[j]);
  } else {
    for (int64_t j = 0; j < n; ++j)
      df[j] = 1.0f;
  }
  if (nc->type == AIHW_NOISE_STATE_INDEPENDENT) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = aihw_state_independent_read(g[j], df[j], g_max, rf, rns, xi[j]);
  } else {
    const float *qg = q_g != NULL ? q_g : g;
    for (int64_t j = 0; j < n; ++j)
      out[j] = aihw_pcm_read(g[j], df[j], aihw_pcm_read_qs(qg[j], g_max) * rf, rns, xi[j]);
  }
}

/* Slices g+, g- of pair k from the chunk's weights w (SINGLE_PAIR) or from the positive
 * parts of W r (plus, minus: N and DUAL pairs). */
static void pair_slices(const aihw_conductance_map *m, int k, const float *restrict w,
                        const float *restrict plus, const float *restrict minus, int64_t n,
                        float *restrict gp, float *restrict gm) {
  if (m->type == AIHW_CONVERTER_SINGLE_PAIR) {
    for (int64_t j = 0; j < n; ++j)
      aihw_single_pair_to_g(w[j], m->scale, m->g_max, m->g_min, &gp[j], &gm[j]);
  } else {
    for (int64_t j = 0; j < n; ++j) {
      gp[j] = aihw_n_pair_slice(plus[j], m->lower[k], m->f[k], m->g_min, m->g_max);
      gm[j] = aihw_n_pair_slice(minus[j], m->lower[k], m->f[k], m->g_min, m->g_max);
    }
  }
}

static void pair_parts(const aihw_conductance_map *m, const float *restrict w, int64_t n,
                       float *restrict plus, float *restrict minus) {
  for (int64_t j = 0; j < n; ++j) {
    float w_us = m->scale * w[j];
    plus[j] = aihw_fmax_of(w_us, 0.0f);
    minus[j] = aihw_fmax_of(-w_us, 0.0f);
  }
}

/* Adds pair k's weight to out (first pair: sets it); the last pair divides by r. */
static void pair_accumulate(const aihw_conductance_map *m, int k, const float *restrict gp,
                            const float *restrict gm, int64_t n, float *restrict out) {
  if (m->type == AIHW_CONVERTER_SINGLE_PAIR) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = aihw_single_pair_to_w(gp[j], gm[j], m->scale, m->g_min);
    return;
  }
  const float f = m->f[k];
  if (k == 0)
    for (int64_t j = 0; j < n; ++j)
      out[j] = 0.0f + f * (gp[j] - gm[j]);
  else
    for (int64_t j = 0; j < n; ++j)
      out[j] += f * (gp[j] - gm[j]);
  if (k == m->n_pairs - 1)
    for (int64_t j = 0; j < n; ++j)
      out[j] /= m->scale;
}

/* Programming, pair converters: chunk [c0, c0 + n) of row i into out. */
static void program_pairs_chunk(const call_ctx *c, int64_t i, int64_t c0, int64_t n,
                                const float *w, float *out) {
  const aihw_conductance_map *m = c->map;
  const noise_consts *nc = c->nc;
  float plus[PAIR_CHUNK], minus[PAIR_CHUNK], gs[2][PAIR_CHUNK], on[PAIR_CHUNK];
  float mu_on[PAIR_CHUNK], sd_on[PAIR_CHUNK], mu[PAIR_CHUNK], sd[PAIR_CHUNK];
  float xi_prog[PAIR_CHUNK], xi_nu[PAIR_CHUNK], g_prog[2][PAIR_CHUNK];
  float mu_min = 0.0f, sd_min = 0.0f;
  nu_moments_one(nc, m->g_min, &mu_min, &sd_min);
  if (m->type != AIHW_CONVERTER_SINGLE_PAIR)
    pair_parts(m, w, n, plus, minus);
  for (int k = 0; k < m->n_pairs; ++k) {
    pair_slices(m, k, w, plus, minus, n, gs[0], gs[1]);
    const float g_min = m->g_min;
    for (int64_t j = 0; j < n; ++j)
      on[j] = aihw_fselect(gs[0][j] != g_min, gs[0][j], gs[1][j]);
    nu_moments_chunk(nc, on, n, mu_on, sd_on);
    for (int s = 0; s < 2; ++s) {
      const int slice = 2 * k + s;
      const float *g = gs[s];
      fill_normals(c, 2 * slice + ROUND_PROG_NOISE, i, c0, n, xi_prog);
      fill_normals(c, 2 * slice + ROUND_NU, i, c0, n, xi_nu);
      for (int64_t j = 0; j < n; ++j) {
        int off = g[j] == g_min;
        mu[j] = aihw_fselect(off, mu_min, mu_on[j]);
        sd[j] = aihw_fselect(off, sd_min, sd_on[j]);
      }
      program_slice_chunk(nc, g, mu, sd, xi_prog, xi_nu, n, g_prog[s],
                          c->nu_out + slice * c->plane + i * c->cols + c0);
    }
    pair_accumulate(m, k, g_prog[0], g_prog[1], n, out);
  }
}

/* Programming, any converter, slice by slice. */
static void program_generic_chunk(const call_ctx *c, int64_t i, int64_t c0, int64_t n,
                                  const float *w, float *out) {
  const aihw_conductance_map *m = c->map;
  float g[MAX_SLICES][GENERIC_CHUNK], g_prog[MAX_SLICES][GENERIC_CHUNK];
  float mu[GENERIC_CHUNK], sd[GENERIC_CHUNK], xi_prog[GENERIC_CHUNK], xi_nu[GENERIC_CHUNK];
  for (int64_t j = 0; j < n; ++j)
    aihw_conductance_to_g(m, w[j], &g[0][j], GENERIC_CHUNK);
  for (int s = 0; s < m->n_slices; ++s) {
    nu_moments_chunk(c->nc, g[s], n, mu, sd);
    fill_normals(c, 2 * s + ROUND_PROG_NOISE, i, c0, n, xi_prog);
    fill_normals(c, 2 * s + ROUND_NU, i, c0, n, xi_nu);
    program_slice_chunk(c->nc, g[s], mu, sd, xi_prog, xi_nu, n, g_prog[s],
                        c->nu_out + s * c->plane + i * c->cols + c0);
  }
  for (int64_t j = 0; j < n; ++j)
    out[j] = aihw_conductance_to_w(m, &g_prog[0][j], GENERIC_CHUNK);
}

/* Drift, pair converters with g_min = 0: only the "on" device of each pair. */
static void drift_pairs_chunk(const call_ctx *c, int64_t i, int64_t c0, int64_t n,
                              const float *w, float *out) {
  const aihw_conductance_map *m = c->map;
  float plus[PAIR_CHUNK], minus[PAIR_CHUNK], gs[2][PAIR_CHUNK], on[PAIR_CHUNK];
  float nu_on[PAIR_CHUNK], xi[PAIR_CHUNK], g_t[PAIR_CHUNK], gf[2][PAIR_CHUNK];
  float t_plus[PAIR_CHUNK], t_minus[PAIR_CHUNK], ts[2][PAIR_CHUNK], q_on[PAIR_CHUNK];
  const float *wt = c->w_target != NULL ? c->w_target + (w - c->w_in) : NULL;
  if (m->type != AIHW_CONVERTER_SINGLE_PAIR)
    pair_parts(m, w, n, plus, minus);
  if (wt != NULL && c->map_target->type != AIHW_CONVERTER_SINGLE_PAIR)
    pair_parts(c->map_target, wt, n, t_plus, t_minus);
  for (int k = 0; k < m->n_pairs; ++k) {
    pair_slices(m, k, w, plus, minus, n, gs[0], gs[1]);
    if (wt != NULL)
      pair_slices(c->map_target, k, wt, t_plus, t_minus, n, ts[0], ts[1]);
    const float *nu_p = c->nu_in + (2 * k) * c->plane + i * c->cols + c0;
    const float *nu_m = nu_p + c->plane;
    for (int64_t j = 0; j < n; ++j) {
      int minus_on = (gs[0][j] == 0.0f) & (gs[1][j] != 0.0f);
      on[j] = aihw_fselect(minus_on, gs[1][j], gs[0][j]);
      nu_on[j] = aihw_fselect(minus_on, nu_m[j], nu_p[j]);
      if (wt != NULL)
        q_on[j] = aihw_fselect(minus_on, ts[1][j], ts[0][j]);
    }
    fill_normals(c, 2 * k, i, c0, n, xi);
    drift_slice_chunk(c->nc, on, nu_on, xi, n, wt != NULL ? q_on : NULL, g_t);
    for (int64_t j = 0; j < n; ++j) {
      int minus_on = (gs[0][j] == 0.0f) & (gs[1][j] != 0.0f);
      gf[0][j] = aihw_fselect(minus_on, 0.0f, g_t[j]);
      gf[1][j] = aihw_fselect(minus_on, g_t[j], 0.0f);
    }
    pair_accumulate(m, k, gf[0], gf[1], n, out);
  }
}

/* Drift, any converter, slice by slice. */
static void drift_generic_chunk(const call_ctx *c, int64_t i, int64_t c0, int64_t n,
                                const float *w, float *out) {
  const aihw_conductance_map *m = c->map;
  float g[MAX_SLICES][GENERIC_CHUNK], gf[MAX_SLICES][GENERIC_CHUNK];
  float xi[MAX_SLICES][GENERIC_CHUNK], gt[MAX_SLICES][GENERIC_CHUNK];
  const float *wt = c->w_target != NULL ? c->w_target + (w - c->w_in) : NULL;
  for (int64_t j = 0; j < n; ++j)
    aihw_conductance_to_g(m, w[j], &g[0][j], GENERIC_CHUNK);
  if (wt != NULL)
    for (int64_t j = 0; j < n; ++j)
      aihw_conductance_to_g(c->map_target, wt[j], &gt[0][j], GENERIC_CHUNK);
  if (is_pair_converter(m->type)) {
    for (int k = 0; k < m->n_pairs; ++k) {
      float z_on[GENERIC_CHUNK], z_off[GENERIC_CHUNK];
      fill_normals(c, 2 * k, i, c0, n, z_on);
      fill_normals(c, 2 * k + 1, i, c0, n, z_off);
      for (int64_t j = 0; j < n; ++j) {
        int minus_on = (g[2 * k][j] == m->g_min) & (g[2 * k + 1][j] != m->g_min);
        xi[2 * k][j] = aihw_fselect(minus_on, z_off[j], z_on[j]);
        xi[2 * k + 1][j] = aihw_fselect(minus_on, z_on[j], z_off[j]);
      }
    }
  } else {
    for (int s = 0; s < m->n_slices; ++s)
      fill_normals(c, s, i, c0, n, xi[s]);
  }
  for (int s = 0; s < m->n_slices; ++s)
    drift_slice_chunk(c->nc, g[s], c->nu_in + s * c->plane + i * c->cols + c0, xi[s], n,
                      wt != NULL ? gt[s] : NULL, gf[s]);
  for (int64_t j = 0; j < n; ++j)
    out[j] = aihw_conductance_to_w(m, &gf[0][j], GENERIC_CHUNK);
}

typedef void (*chunk_fn)(const call_ctx *, int64_t, int64_t, int64_t, const float *, float *);

/* Runs `fn` over every row in chunks of `chunk` columns. Each kernel reads all of its
 * chunk's weights before it writes the chunk's results, so w_out may equal w_in. */
static void run_rows(const call_ctx *c, chunk_fn fn, int64_t chunk) {
  const int64_t rows = c->rows, cols = c->cols;
#pragma omp parallel for schedule(static) if (rows * cols >= PROGRAM_PARALLEL_MIN_WEIGHTS)
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c0 = 0; c0 < cols; c0 += chunk) {
      const int64_t n = cols - c0 < chunk ? cols - c0 : chunk;
      fn(c, i, c0, n, c->w_in + i * cols + c0, c->w_out + i * cols + c0);
    }
}

static void streams_make(call_ctx *c, aihw_stream_key key, uint32_t purpose, int count) {
  for (int r = 0; r < count; ++r)
    c->streams[r] = aihw_rng_stream_make(key.seed, key.tile_id, key.op, purpose, (uint32_t)r);
}

/* ---- Entry points ------------------------------------------------------------------ */

aihw_status aihw_inference_program(const aihw_noise_model_params *nm,
                                   const aihw_converter_params *cv, const float *w_target,
                                   int64_t rows, int64_t cols, aihw_stream_key key,
                                   float *w_prog, float *nu) {
  static const char *fn = "aihw_inference_program";
  AIHW_TRY(check_call(fn, nm, cv, w_target, "w_target", w_prog, "w_prog", nu, rows, cols));
  const int slices = aihw_converter_slice_count(cv);
  const int64_t plane = rows * cols;
  weight_range range = scan_weights(w_target, rows, cols);
  if (!range.finite)
    return not_finite_error(fn, "w_target", w_target, rows, cols);
  if (nm->type == AIHW_NOISE_NONE) {
    if (w_prog != w_target)
      memmove(w_prog, w_target, (size_t)plane * sizeof(float));
    memset(nu, 0, (size_t)slices * (size_t)plane * sizeof(float));
    return AIHW_OK;
  }
  noise_consts nc = aihw_noise_consts_make(nm);
  aihw_conductance_map map = aihw_conductance_map_make(cv, range.lo, range.hi);
  call_ctx c;
  c.nc = &nc;
  c.map = &map;
  c.w_in = w_target;
  c.w_out = w_prog;
  c.nu_in = NULL;
  c.nu_out = nu;
  c.w_target = NULL;
  c.map_target = NULL;
  c.rows = rows;
  c.cols = cols;
  c.plane = plane;
  streams_make(&c, key, AIHW_RNG_PROGRAM, 2 * slices);
  if (is_pair_converter(cv->type))
    run_rows(&c, program_pairs_chunk, PAIR_CHUNK);
  else
    run_rows(&c, program_generic_chunk, GENERIC_CHUNK);
  return AIHW_OK;
}

aihw_status aihw_inference_drift(const aihw_noise_model_params *nm,
                                 const aihw_converter_params *cv, const float *w_prog,
                                 const float *nu, int64_t rows, int64_t cols, float t_inference,
                                 aihw_stream_key key, float *w_out) {
  return aihw_inference_drift_with_target(nm, cv, w_prog, nu, NULL, rows, cols, t_inference,
                                          key, w_out);
}

aihw_status aihw_inference_drift_with_target(const aihw_noise_model_params *nm,
                                             const aihw_converter_params *cv,
                                             const float *w_prog, const float *nu,
                                             const float *w_target, int64_t rows,
                                             int64_t cols, float t_inference,
                                             aihw_stream_key key, float *w_out) {
  static const char *fn = "aihw_inference_drift";
  AIHW_TRY(check_call(fn, nm, cv, w_prog, "w_prog", w_out, "w_out", nu, rows, cols));
  if (!isfinite(t_inference))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: t_inference = %g s: must be finite", fn,
                      (double)t_inference);
  if (t_inference < 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: t_inference = %g s: must be >= 0", fn,
                      (double)t_inference);
  const int at_target = nm->type != AIHW_NOISE_NONE &&
                        nm->type != AIHW_NOISE_STATE_INDEPENDENT && nm->read_noise_at_target;
  if (at_target && w_target == NULL)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s: noise_model.read_noise_at_target = 1 needs the target weights "
                      "(aihw_inference_drift_with_target)",
                      fn);
  const int64_t plane = rows * cols;
  weight_range range = scan_weights(w_prog, rows, cols);
  if (!range.finite)
    return not_finite_error(fn, "w_prog", w_prog, rows, cols);
  if (nm->type == AIHW_NOISE_NONE) {
    if (w_out != w_prog)
      memmove(w_out, w_prog, (size_t)plane * sizeof(float));
    return AIHW_OK;
  }
  noise_consts nc = aihw_noise_consts_make(nm);
  aihw_noise_consts_set_time(&nc, nm, t_inference);
  aihw_conductance_map map = aihw_conductance_map_make(cv, range.lo, range.hi);
  aihw_conductance_map map_target = map;
  if (at_target) {
    weight_range target_range = scan_weights(w_target, rows, cols);
    if (!target_range.finite)
      return not_finite_error(fn, "w_target", w_target, rows, cols);
    map_target = aihw_conductance_map_make(cv, target_range.lo, target_range.hi);
  }
  call_ctx c;
  c.nc = &nc;
  c.map = &map;
  c.w_in = w_prog;
  c.w_out = w_out;
  c.nu_in = nu;
  c.w_target = at_target ? w_target : NULL;
  c.map_target = &map_target;
  c.nu_out = NULL;
  c.rows = rows;
  c.cols = cols;
  c.plane = plane;
  streams_make(&c, key, AIHW_RNG_DRIFT_READ, map.n_slices);
  if (is_pair_converter(cv->type) && map.g_min == 0.0f)
    run_rows(&c, drift_pairs_chunk, PAIR_CHUNK);
  else
    run_rows(&c, drift_generic_chunk, GENERIC_CHUNK);
  return AIHW_OK;
}
