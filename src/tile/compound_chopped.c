/* ChoppedTransferCompound (c-TTv2; reference §5.10): choppers on the fast update, the
 * auto-scaled count learning rate, the thresholded transfer buffer and the chopper flips.
 * With in_chop_prob = 0 this is TTv2 as aihwkit's TTv2 presets configure it.
 *
 * Random numbers: chopper flips use uniforms of (op of the transfer, POST_UPDATE, round
 * 204: the input chopper of the column, element 0; round 205: the output choppers,
 * element = row).
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tile/compound_internal.h"

enum { ROUND_IN_CHOP = 204, ROUND_OUT_CHOP = 205 };

aihw_status aihw_chopped_init(aihw_tile *tile) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int by_cols = p->transfer_columns;
  const int64_t cols = by_cols ? tile->cols : tile->out_size; /* slices ("in_size") */
  c->n_slices = cols;
  c->n_out = by_cols ? tile->out_size : tile->cols;
  c->in_chop = aihw_calloc_array((size_t)c->n_slices, 1, "input choppers");
  c->out_chop = aihw_calloc_array((size_t)c->n_out, 1, "output choppers");
  if (c->in_chop == NULL || c->out_chop == NULL)
    return aihw_last_status();
  const float g_a = c->dev[0]->granularity;
  float g = 0.0f, n_states = 0.0f;
  AIHW_TRY(aihw_device_params_granularity(&p->devices[0], &g, &n_states));
  if (p->transfer_every < 0.0f) { /* automatic: round(n_states_A / in_size |te|) >= 1 */
    const float every = roundf(n_states / (float)cols * fabsf(p->transfer_every));
    c->auto_every = every >= 1.0f ? (int64_t)every : 1;
  }
  c->bg = (p->buffer_granularity > 0.0f ? p->buffer_granularity : 1.0f) * g_a;
  if (p->auto_granularity > 0.0f)
    c->bg = p->buffer_granularity * g_a * p->auto_granularity /
            ((float)cols * fabsf(p->transfer_every));
  return AIHW_OK;
}

/* Count (fast) learning rate: auto-scaled from the running maxima, or as TransferCompound. */
float aihw_chopped_count_lr(const aihw_tile *tile, float lr) {
  const aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  if (p->auto_scale && p->fast_lr > 0.0f) {
    float v = p->fast_lr * (float)tile->config.update.desired_bl * c->dev[0]->granularity;
    if (c->m_x > 0.0f && c->m_d > 0.0f)
      v /= c->m_x * c->m_d;
    return p->scale_fast_lr ? v * lr : v;
  }
  if (p->fast_lr > 0.0f)
    return p->scale_fast_lr ? p->fast_lr * lr : p->fast_lr;
  return lr;
}

static float abs_max(const float *v, int64_t n) {
  float m = 0.0f;
  for (int64_t k = 0; k < n; ++k)
    m = fabsf(v[k]) > m ? fabsf(v[k]) : m;
  return m;
}

/* m <- m if new <= 0; new if m <= 0; else (1 - tau) m + tau new, tau = (1 - mom) / batch */
static float running(float m, float v, float momentum, int64_t batch) {
  if (v <= 0.0f)
    return m;
  if (m <= 0.0f)
    return v;
  const float tau = (1.0f - momentum) / (float)batch;
  return (1.0f - tau) * m + tau * v;
}

aihw_status aihw_chopped_fast_update(aihw_tile *tile, const float *x, const float *d,
                                     int64_t b0, int64_t b1, int64_t batch, float lr,
                                     uint64_t op0) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t in = tile->in_size, cols = tile->cols, rows = tile->out_size;
  const int64_t run = b1 - b0;
  float *xs = aihw_alloc_array((size_t)(run * (cols + rows)), sizeof(float), "chopped inputs");
  if (xs == NULL)
    return aihw_last_status();
  float *ds = xs + run * cols;
  for (int64_t b = 0; b < run; ++b) {
    const float *xb = x + (b0 + b) * in, *db = d + (b0 + b) * rows;
    /* x carries the slice choppers for column transfers, the read-side ones for rows */
    const unsigned char *xc = p->transfer_columns ? c->in_chop : c->out_chop;
    const unsigned char *dc = p->transfer_columns ? c->out_chop : c->in_chop;
    for (int64_t j = 0; j < cols; ++j) {
      const float v = j < in ? xb[j] : 1.0f; /* analog-bias input */
      xs[b * cols + j] = xc[j] ? -v : v;
    }
    for (int64_t i = 0; i < rows; ++i)
      ds[b * rows + i] = dc[i] ? -db[i] : db[i];
  }
  if (p->auto_scale) { /* runs are single samples then (compound.c) */
    c->m_x = running(c->m_x, abs_max(x + b0 * in, in), p->auto_momentum, batch);
    c->m_d = running(c->m_d, abs_max(d + b0 * rows, rows), p->auto_momentum, batch);
  }
  const aihw_device_view view = {c->dev[0], c->w[0], &tile->config.update, cols,
                                 op0 + (uint64_t)b0, 0, c->granularity, 0, 0};
  const aihw_status s =
      aihw_tile_update_view(tile, &view, xs, run, ds, aihw_chopped_count_lr(tile, lr));
  aihw_free(xs);
  return s;
}

int aihw_chopped_buffer(aihw_tile *tile, const float *a, int64_t col, float lr, float *v) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t cols = tile->cols;
  float lr_t = c->transfer_lr[0] * (p->scale_transfer_lr ? lr : 1.0f);
  if (c->gamma[0] > 0.0f && c->gamma[1] > 0.0f)
    lr_t *= c->gamma[0] / c->gamma[1];
  const float g_a = c->dev[0]->granularity, g_c = c->dev[1]->granularity;
  const float lr_scale = p->correct_gradient_magnitudes
                             ? fabsf(lr_t) / aihw_chopped_count_lr(tile, lr) / (c->bg * g_c / g_a)
                             : fabsf(lr_t) / c->bg;
  const float blt = (float)p->transfer_update.desired_bl;
  const int c_in = c->in_chop[col];
  float *h = c->buffer[0];
  int any = 0;
  for (int64_t o = 0; o < c->n_out; ++o) {
    const int64_t e = aihw_chopped_index(c, cols, col, o);
    const float sign = (c_in ^ c->out_chop[o]) ? -1.0f : 1.0f;
    float hv = (p->no_buffer ? 0.0f : h[e]) + lr_scale * a[o] * sign;
    float n = 0.0f;
    if (fabsf(hv) >= 1.0f) {
      n = truncf(hv);
      n = n > blt ? blt : (n < -blt ? -blt : n);
      hv = p->forget_buffer ? hv * p->momentum : hv - (1.0f - p->momentum) * n;
      any = 1;
    }
    h[e] = hv;
    v[o] = -n;
  }
  return any;
}

void aihw_chopped_after_transfer(aihw_tile *tile, int64_t col, uint64_t op) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t rows = c->n_out, cols = c->n_slices;
  if (p->in_chop_prob > 0.0f) {
    if (p->in_chop_random) {
      float u;
      aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                                AIHW_RNG_POST_UPDATE, ROUND_IN_CHOP);
      aihw_rng_fill_uniform(&st, 0, 0, &u, 1);
      if (u < p->in_chop_prob)
        c->in_chop[col] ^= 1u;
    } else {
      float period = ceilf(1.0f / p->in_chop_prob);
      const int64_t per = period > 2.0f ? (int64_t)period : 2;
      if ((c->transfer_counter % per) + 1 == per)
        c->in_chop[col] ^= 1u;
    }
  }
  if (col == cols - 1 && p->out_chop_prob > 0.0f) {
    float *u = aihw_workspace_get(&tile->aux, (size_t)rows * sizeof(float));
    if (u != NULL) { /* the caller reserved it: cannot fail */
      aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                                AIHW_RNG_POST_UPDATE, ROUND_OUT_CHOP);
      aihw_rng_fill_uniform(&st, 0, 0, u, (size_t)rows);
      for (int64_t o = 0; o < rows; ++o)
        if (u[o] < p->out_chop_prob)
          c->out_chop[o] ^= 1u;
    }
  }
  if (col == cols - 1)
    c->transfer_counter += 1;
}

AIHW_API aihw_status aihw_tile_compound_get_choppers(const aihw_tile *tile, float *in,
                                                     int64_t cols, float *out, int64_t rows) {
  static const char *fn = "aihw_tile_compound_get_choppers";
  if (tile == NULL || in == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  if (tile->compound == NULL || !tile->compound->chopped)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: the tile has no ChoppedTransferCompound device", fn);
  if (cols != tile->compound->n_slices || rows != tile->compound->n_out)
    return aihw_error(AIHW_ERR_SHAPE, "%s: choppers are [%lld] and [%lld]", fn,
                      (long long)tile->compound->n_slices, (long long)tile->compound->n_out);
  for (int64_t j = 0; j < cols; ++j)
    in[j] = tile->compound->in_chop[j] ? -1.0f : 1.0f;
  for (int64_t i = 0; i < rows; ++i)
    out[i] = tile->compound->out_chop[i] ? -1.0f : 1.0f;
  return AIHW_OK;
}
