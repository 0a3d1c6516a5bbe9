/* OneSidedUnitCell (reference §5.10): W = W_g+ - W_g-, devices[1] = g+ and devices[0] =
 * g-, each moved only by potentiation (up) steps, and the refresh that resets a pair near
 * saturation and writes its difference back.
 *
 * Update: the coincidences of a sample are those of a single-device tile; a coincidence
 * that lowers W (count > 0) becomes one up step of g-, one that raises W (count < 0) one
 * up step of g+. Both sub-devices are updated from the same pulse trains (the samples'
 * op counters, as VectorUnitCell ALL) through the update view's sign filter (update.c);
 * their step noise uses round offsets 0 (g-) and 16 (g+).
 *
 * Refresh (refresh_every > 0): after the vector whose update_count is a multiple of
 * refresh_every (x the batch size when units_in_mbatch), every column j is read from both
 * devices through the refresh_forward periphery (wp = F(W_g+ e_j), wm = F(W_g- e_j));
 * element i is refreshed if wp > wm ? (wp/|w_max+| > upper and wm/|w_max-| > lower)
 * : (wp/|w_max+| > lower and wm/|w_max-| > upper); refreshed elements of both devices are
 * reset (reset_bias + reset_std xi, clipped) and |wp - wm| is written to g+ (wp > wm) or
 * g- with a pulsed update of the refresh_update parameters (x = e_j, W += |wp - wm| e_i
 * e_j^T in expectation). Columns are independent (one-hot inputs), so all columns are
 * read first and written in one update per device.
 *
 * Random numbers: a refresh takes 2 cols values of the compound's transfer op counters
 * (op .. op + cols - 1: reads of g+, then of g-; the g+ write uses the pulse purposes at
 * op, the g- write at op + cols); reset normals of device k come from (op, POST_UPDATE,
 * round 206 + k), row i, element j.
 *
 * copy_inverted: device 1 gets device 0's device-to-device values mirrored (bounds
 * negated and swapped, up and down step sizes swapped, reset bias negated). The mirror is
 * unambiguous only for ConstantStep (no model-specific per-device values), so other models
 * are refused (UNSUPPORTED) with copy_inverted.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tile/compound_internal.h"

enum { ROUND_REFRESH_RESET = 206 };

aihw_status aihw_onesided_init(aihw_tile *tile) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  c->one_sided = 1;
  c->gamma[0] = -1.0f; /* g- */
  c->gamma[1] = 1.0f;  /* g+ */
  if (p->copy_inverted) {
    if (p->devices[0].type != AIHW_DEVICE_CONSTANT_STEP)
      return aihw_error(AIHW_ERR_UNSUPPORTED,
                        "compound.copy_inverted = 1: mirrored devices are implemented for "
                        "ConstantStepDevice only (got %s)",
                        aihw_device_type_name(p->devices[0].type));
    aihw_device_state *a = c->dev[0], *b = c->dev[1];
    for (int64_t e = 0; e < a->size; ++e) {
      b->max_bound[e] = -a->min_bound[e];
      b->min_bound[e] = -a->max_bound[e];
      b->scale_up[e] = a->scale_down[e];
      b->scale_down[e] = a->scale_up[e];
      b->decay_scale[e] = a->decay_scale[e];
      b->diffusion_rate[e] = a->diffusion_rate[e];
      b->reset_bias[e] = -a->reset_bias[e];
      b->drift_nu[e] = a->drift_nu[e];
    }
  }
  if (p->refresh_every > 0)
    AIHW_TRY(aihw_periphery_init(&c->refresh, &p->refresh_forward, 0, tile->out_size,
                                 tile->cols, tile->config.seed, tile->config.tile_id,
                                 AIHW_COMPOUND_SYSTEMATIC_REFRESH, "compound.refresh_forward"));
  return AIHW_OK;
}

void aihw_onesided_set_weights(aihw_tile *tile, const float *w) {
  aihw_compound *c = tile->compound;
  const int64_t size = tile->out_size * tile->cols;
  float *gm = aihw_compound_device_weights(c, 0), *gp = aihw_compound_device_weights(c, 1);
  for (int64_t e = 0; e < size; ++e) {
    gp[e] = w[e] > 0.0f ? w[e] : 0.0f;
    gm[e] = w[e] < 0.0f ? -w[e] : 0.0f;
  }
  c->update_count = 0; /* aihwkit's onSetWeights resets the counters */
  c->refresh_count = 0;
}

/* Resets the marked elements of sub-device k (file comment). */
static void reset_marked(aihw_tile *tile, int k, const unsigned char *mark, uint64_t op,
                         float *xi) {
  aihw_compound *c = tile->compound;
  const aihw_device_state *s = c->dev[k];
  const int64_t rows = s->rows, cols = s->cols;
  float *w = aihw_compound_device_weights(c, k);
  aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                            AIHW_RNG_POST_UPDATE,
                                            ROUND_REFRESH_RESET + (uint32_t)k);
  for (int64_t i = 0; i < rows; ++i) {
    int any = 0;
    for (int64_t j = 0; j < cols; ++j)
      any |= mark[i * cols + j];
    if (!any)
      continue;
    aihw_rng_fill_normal(&st, (uint32_t)i, 0, xi, (size_t)cols);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t e = i * cols + j;
      if (!mark[e])
        continue;
      float v = s->reset_bias[e] + s->params.reset_std * xi[j];
      v = v > s->max_bound[e] ? s->max_bound[e] : v;
      w[e] = v > s->min_bound[e] ? v : s->min_bound[e];
    }
  }
}

static aihw_status refresh(aihw_tile *tile) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t rows = tile->out_size, cols = tile->cols, size = rows * cols;
  uint64_t op = 0;
  AIHW_TRY(aihw_compound_next_ops(c, 2 * cols, &op));
  /* x [cols][cols] one-hot, reads ap/am [cols][rows], writes dp/dm [cols][rows],
   * marks [rows][cols], normals [cols] */
  const size_t floats = (size_t)(cols * cols + 4 * cols * rows + cols);
  float *x = aihw_calloc_array(floats * sizeof(float) + (size_t)size, 1, "refresh scratch");
  if (x == NULL)
    return aihw_last_status();
  float *ap = x + cols * cols, *am = ap + cols * rows, *dp = am + cols * rows;
  float *dm = dp + cols * rows, *xi = dm + cols * rows;
  unsigned char *mark = (unsigned char *)(xi + cols);
  for (int64_t j = 0; j < cols; ++j)
    x[j * cols + j] = 1.0f;
  aihw_status s = aihw_compound_read(tile, &c->refresh, c->w[1], x, cols, ap, op);
  if (s == AIHW_OK)
    s = aihw_compound_read(tile, &c->refresh, c->w[0], x, cols, am, op + (uint64_t)cols);
  const float w_max = fabsf(c->dev[1]->params.w_max), w_min = fabsf(c->dev[0]->params.w_max);
  const float up = p->refresh_upper_thres, lo = p->refresh_lower_thres;
  int64_t n_p = 0, n_m = 0;
  for (int64_t j = 0; j < cols && s == AIHW_OK; ++j)
    for (int64_t i = 0; i < rows; ++i) {
      const float wp = ap[j * rows + i], wm = am[j * rows + i];
      const int crit = wp > wm ? (wp / w_max > up && wm / w_min > lo)
                               : (wp / w_max > lo && wm / w_min > up);
      if (!crit)
        continue;
      mark[i * cols + j] = 1;
      if (wp > wm) { /* W += (wp - wm) e_i e_j^T on g+: d = -(wp - wm), lr 1 */
        dp[j * rows + i] = -(wp - wm);
        ++n_p;
      } else {
        dm[j * rows + i] = -(wm - wp);
        ++n_m;
      }
    }
  if (s == AIHW_OK && n_p + n_m > 0) {
    reset_marked(tile, 1, mark, op, xi);
    reset_marked(tile, 0, mark, op, xi);
    for (int k = 0; k < 2; ++k) /* reset values are exact (no write noise) */
      if (c->dev[k]->persistent != NULL)
        memcpy(c->w[k], c->dev[k]->persistent, (size_t)size * sizeof(float));
    if (n_p > 0) {
      const aihw_device_view view = {c->dev[1], c->w[1], &p->refresh_update, cols, op,
                                     16u,       c->dev[1]->granularity, 1, 0};
      s = aihw_tile_update_view(tile, &view, x, cols, dp, 1.0f);
    }
    if (s == AIHW_OK && n_m > 0) {
      const aihw_device_view view = {c->dev[0], c->w[0], &p->refresh_update,
                                     cols,      op + (uint64_t)cols, 0u,
                                     c->dev[0]->granularity, 1, 0};
      s = aihw_tile_update_view(tile, &view, x, cols, dm, 1.0f);
    }
  }
  aihw_free(x);
  if (s != AIHW_OK)
    return s;
  c->refresh_count += n_p + n_m;
  c->transfer_ops += (uint64_t)(2 * cols);
  return AIHW_OK;
}

aihw_status aihw_onesided_update(aihw_tile *tile, const float *x, int64_t batch,
                                 const float *d, float lr) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t in = tile->in_size, rows = tile->out_size;
  const uint64_t op0 = tile->op_counter;
  const int64_t period =
      p->refresh_every > 0 ? (int64_t)p->refresh_every * (p->units_in_mbatch ? batch : 1) : 0;
  int64_t b = 0;
  while (b < batch) {
    int64_t e = b;
    int fire = 0;
    while (e < batch) {
      ++e;
      if (period > 0 && (c->update_count + (e - b)) % period == 0) {
        fire = 1;
        break;
      }
    }
    for (int k = 1; k >= 0; --k) { /* g+ (up-step coincidences), then g- (down-step ones) */
      const aihw_device_view view = {c->dev[k],
                                     c->w[k],
                                     &tile->config.update,
                                     in,
                                     op0 + (uint64_t)b,
                                     16u * (uint32_t)k,
                                     c->granularity,
                                     0,
                                     k == 1 ? 1 : -1};
      AIHW_TRY(aihw_tile_update_view(tile, &view, x + b * in, e - b, d + b * rows, lr));
    }
    c->update_count += e - b;
    b = e;
    if (fire)
      AIHW_TRY(refresh(tile));
  }
  return AIHW_OK;
}
