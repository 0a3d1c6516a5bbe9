/* DynamicTransferCompound (AGAD / TTv4; reference §5.10): a ChoppedTransferCompound whose
 * transfer accumulates the read of a column relative to a reference (the running mean of
 * the reads, frozen as the "past mean" when the column's input chopper flips), with
 * regular chopper periods.
 *
 * The fast update, the count learning rate, the automatic transfer period, the buffer
 * granularity and the transfer LR scale are those of the ChoppedTransferCompound
 * (compound_chopped.c). The transfer of column i (N = max(ceil(1 / in_chop_prob), 2),
 * cur = transfer_counter mod N + 1, mu = min(tail_weightening / N, 1)):
 *   switched = chop_switched[i]; chop_switched[i] = 0
 *   lr_scale as Chopped; experimental_correct_accumulation: lr_scale /= min(cur, 1 / g_A)
 *   cap = transfer_update.desired_bl buffer_cap
 *   for every output o:  (c = -1 if in_chop[i] != out_chop[o], else +1)
 *     if switched: past[o,i] = running[o,i]
 *     h = H[o,i] + (a_o - past[o,i]) c lr_scale
 *     n = 0; if |h| >= 1: n = clip(trunc(h), +-BL_t);
 *                         h = forget_buffer ? h momentum : h - (1 - momentum) n, then
 *                         clipped to +-cap when cap > 0 (not forgetting)
 *     H[o,i] = h; v_o = -n; running[o,i] = (1 - mu) running[o,i] + mu a_o
 *   the transfer update (x = e_i, d = v, lr = step g_C) only when some n != 0 and
 *   transfer_counter > N (the first chopper periods only fill the means)
 *   afterwards: flip in_chop[i] (and mark it switched) when cur == N, or, with
 *   in_chop_random, when U < in_chop_prob; output choppers flip as Chopped's at the last
 *   column (out_chop_prob); transfer_counter += 1 after the last column.
 *
 * no_buffer has no effect here: aihwkit 1.1.0's AGAD accumulates in H regardless
 * (tests/data/aihwkit/compound_device.json, case agad_no_buffer, fails when H is dropped).
 *
 * Random numbers: as compound_chopped.c (round 204: the random input-chopper flip, 205:
 * output choppers), from the transfer's op counter.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tile/compound_internal.h"

enum { ROUND_IN_CHOP = 204, ROUND_OUT_CHOP = 205 };

aihw_status aihw_dynamic_init(aihw_tile *tile) {
  aihw_compound *c = tile->compound;
  const size_t size = (size_t)(tile->out_size * tile->cols);
  c->running_mean = aihw_calloc_array(size, sizeof(float), "AGAD running mean");
  c->past_mean = aihw_calloc_array(size, sizeof(float), "AGAD past mean");
  c->chop_switched = aihw_calloc_array((size_t)c->n_slices, 1, "AGAD chopper switches");
  if (c->running_mean == NULL || c->past_mean == NULL || c->chop_switched == NULL)
    return aihw_last_status();
  return AIHW_OK;
}

static int64_t chopper_period(const aihw_compound_params *p) {
  const float n = ceilf(1.0f / p->in_chop_prob);
  return n > 2.0f ? (int64_t)n : 2;
}

int aihw_dynamic_buffer(aihw_tile *tile, const float *a, int64_t col, float lr, float *v) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t cols = tile->cols;
  const int64_t period = chopper_period(p);
  const int64_t cur = c->transfer_counter % period + 1;
  const float mu_raw = p->tail_weightening / (float)period;
  const float mu = mu_raw < 1.0f ? mu_raw : 1.0f;
  const int switched = c->chop_switched[col];
  c->chop_switched[col] = 0;
  float lr_t = c->transfer_lr[0] * (p->scale_transfer_lr ? lr : 1.0f);
  if (c->gamma[0] > 0.0f && c->gamma[1] > 0.0f)
    lr_t *= c->gamma[0] / c->gamma[1];
  const float g_a = c->dev[0]->granularity, g_c = c->dev[1]->granularity;
  float lr_scale = p->correct_gradient_magnitudes
                       ? fabsf(lr_t) / aihw_chopped_count_lr(tile, lr) / (c->bg * g_c / g_a)
                       : fabsf(lr_t) / c->bg;
  if (p->experimental_correct_accumulation) {
    const float m = (float)cur < 1.0f / g_a ? (float)cur : 1.0f / g_a;
    lr_scale /= m;
  }
  const float blt = (float)p->transfer_update.desired_bl;
  const float cap = blt * p->buffer_cap;
  const int c_in = c->in_chop[col];
  float *h = c->buffer[0];
  int any = 0;
  for (int64_t o = 0; o < c->n_out; ++o) {
    const int64_t e = aihw_chopped_index(c, cols, col, o);
    if (switched)
      c->past_mean[e] = c->running_mean[e];
    const float sign = (c_in ^ c->out_chop[o]) ? -1.0f : 1.0f;
    float hv = h[e] + (a[o] - c->past_mean[e]) * sign * lr_scale;
    float n = 0.0f;
    if (fabsf(hv) >= 1.0f) {
      n = truncf(hv);
      n = n > blt ? blt : (n < -blt ? -blt : n);
      if (p->forget_buffer) {
        hv *= p->momentum;
      } else {
        hv -= (1.0f - p->momentum) * n;
        if (cap > 0.0f)
          hv = hv > cap ? cap : (hv < -cap ? -cap : hv);
      }
      any = 1;
    }
    h[e] = hv;
    v[o] = -n;
    c->running_mean[e] = (1.0f - mu) * c->running_mean[e] + mu * a[o];
  }
  return any && c->transfer_counter > period;
}

void aihw_dynamic_after_transfer(aihw_tile *tile, int64_t col, uint64_t op) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t rows = c->n_out, cols = c->n_slices;
  const int64_t period = chopper_period(p);
  int flip = c->transfer_counter % period + 1 == period;
  if (p->in_chop_random) {
    float u;
    aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                              AIHW_RNG_POST_UPDATE, ROUND_IN_CHOP);
    aihw_rng_fill_uniform(&st, 0, 0, &u, 1);
    flip |= u < p->in_chop_prob;
  }
  if (flip) {
    c->in_chop[col] ^= 1u;
    c->chop_switched[col] = 1;
  }
  if (col == cols - 1 && p->out_chop_prob > 0.0f) {
    float *u = aihw_workspace_get(&tile->aux, (size_t)rows * sizeof(float));
    if (u != NULL) { /* reserved by the transfer's read: cannot fail */
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

AIHW_API aihw_status aihw_tile_compound_get_means(const aihw_tile *tile, float *running,
                                                  float *past, int64_t rows, int64_t cols) {
  static const char *fn = "aihw_tile_compound_get_means";
  if (tile == NULL || running == NULL || past == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  if (tile->compound == NULL || !tile->compound->dynamic)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: the tile has no DynamicTransferCompound device", fn);
  if (rows != tile->out_size || cols != tile->cols)
    return aihw_error(AIHW_ERR_SHAPE, "%s: the means are [%lld][%lld]", fn,
                      (long long)tile->out_size, (long long)tile->cols);
  const size_t bytes = (size_t)(rows * cols) * sizeof(float);
  memcpy(running, tile->compound->running_mean, bytes);
  memcpy(past, tile->compound->past_mean, bytes);
  return AIHW_OK;
}
