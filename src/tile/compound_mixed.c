/* MixedPrecisionCompound (reference §5.10, aihwkit's "direct update" of
 * DigitalRankUpdateRPUConfig): the gradient is accumulated in a digital matrix chi and
 * transferred row-wise, in whole device steps, to one analog device.
 *
 * Per input vector b (x with the analog-bias 1 appended, as the tile's update sees it):
 *   quantisation (n_x_bins > 0): h = max(floor(n_x_bins / 2), 1), s = max|x| / h (1 if
 *   max|x| = 0), xq_j = clip(rint(x_j / s + r_j), -h, h) s with r_j = U - 0.5 when
 *   stoc_round_x, else 0; the same for d with n_d_bins / stoc_round_d;
 *   chi += lr dq xq^T;
 *   if transfer_every B > 0, update_count > 0 and update_count % (transfer_every B) == 0
 *   (B = the batch size of the current call): transfer;
 *   update_count += 1.
 * The check uses the count *before* the vector, as aihwkit 1.1.0 does (value by value
 * against it: tests/data/aihwkit/compound_device.json): with transfer_every 1 and equal
 * batches, the transfer follows the first vector of every mini-batch after the first, so
 * the chi of the previous mini-batch plus that vector is transferred. (Reference §5.10
 * writes the increment first; aihwkit's behaviour is the yardstick.)
 * Transfer: n_rows = n_rows_per_transfer (-1: all) rows starting at current_row (random
 * start when random_row), wrapping; for each row r: n_j = trunc(chi_rj / g),
 * chi_rj -= n_j g, and the device gets the pulsed update x = n, d = e_r, lr = g
 * transfer_lr with the tile's update parameters, update management and update BL
 * management forced on (so W_rj moves by about -n_j g transfer_lr); current_row advances
 * by n_rows. g = granularity, or the device's granularity when 0.
 * The visible weights are the device's; set_weights sets the device and clears chi and
 * the counters. aihwkit's index quirk when only one of the bin counts is > 0 (§5.10) is
 * not reproduced: the intended formula is used.
 *
 * chi is accumulated per element in sample order (rows in parallel), so it does not
 * depend on the thread count. Random numbers: stochastic rounding uniforms of sample b
 * from (op of b, POST_UPDATE, round 207 for x, 208 for d); a transfer takes one transfer
 * op counter (its pulse trains; random_row: uniform of (op, POST_UPDATE, round 209)).
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tile/compound_internal.h"

enum { ROUND_ROUND_X = 207, ROUND_ROUND_D = 208, ROUND_ROW = 209 };

aihw_status aihw_mixed_init(aihw_tile *tile) {
  aihw_compound *c = tile->compound;
  c->mixed = 1;
  c->gamma[0] = 1.0f;
  c->mp_granularity =
      c->params.granularity > 0.0f ? c->params.granularity : c->dev[0]->granularity;
  c->chi = aihw_calloc_array((size_t)(tile->out_size * tile->cols), sizeof(float),
                             "mixed-precision chi");
  return c->chi != NULL ? AIHW_OK : aihw_last_status();
}

/* Quantises v[n] in place (file comment); u[n] are the uniforms (NULL: no rounding). */
static void quantise(float *v, int64_t n, int bins, const float *u) {
  float amax = 0.0f;
  for (int64_t k = 0; k < n; ++k)
    amax = fabsf(v[k]) > amax ? fabsf(v[k]) : amax;
  const float half = bins / 2 >= 1 ? (float)(bins / 2) : 1.0f;
  const float s = amax > 0.0f ? amax / half : 1.0f;
  for (int64_t k = 0; k < n; ++k) {
    float q = rintf(v[k] / s + (u != NULL ? u[k] - 0.5f : 0.0f));
    q = q > half ? half : (q < -half ? -half : q);
    v[k] = q * s;
  }
}

static aihw_status transfer(aihw_tile *tile, float *scratch) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t rows = tile->out_size, cols = tile->cols;
  const int64_t n_rows = p->n_rows_per_transfer < 0 || p->n_rows_per_transfer > rows
                             ? rows
                             : p->n_rows_per_transfer;
  uint64_t op = 0;
  AIHW_TRY(aihw_compound_next_ops(c, 1, &op));
  int64_t start = c->current_row;
  if (p->random_row) {
    float u;
    aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                              AIHW_RNG_POST_UPDATE, ROUND_ROW);
    aihw_rng_fill_uniform(&st, 0, 0, &u, 1);
    start = (int64_t)floorf(u * (float)rows);
    start = start >= rows ? rows - 1 : start;
  }
  const float g = c->mp_granularity;
  float *xs = scratch, *ds = scratch + n_rows * cols; /* [n_rows][cols], [n_rows][rows] */
  memset(ds, 0, (size_t)(n_rows * rows) * sizeof(float));
  int any = 0;
  for (int64_t rr = 0; rr < n_rows; ++rr) {
    const int64_t r = (start + rr) % rows;
    ds[rr * rows + r] = 1.0f;
    float *chi = c->chi + r * cols;
    for (int64_t j = 0; j < cols; ++j) {
      const float n = truncf(chi[j] / g);
      chi[j] -= n * g;
      xs[rr * cols + j] = n;
      any |= n != 0.0f;
    }
  }
  if (any && p->transfer_lr != 0.0f) {
    aihw_update_params up = tile->config.update;
    up.update_management = 1;
    up.update_bl_management = 1;
    const aihw_device_view view = {c->dev[0], c->w[0], &up, cols, op, 0u,
                                   c->dev[0]->granularity, 1, 0};
    AIHW_TRY(aihw_tile_update_view(tile, &view, xs, n_rows, ds, g * p->transfer_lr));
  }
  c->current_row = (start + n_rows) % rows;
  c->transfers[0] += 1;
  c->transfer_ops += 1;
  return AIHW_OK;
}

aihw_status aihw_mixed_update(aihw_tile *tile, const float *x, int64_t batch, const float *d,
                              float lr) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t in = tile->in_size, rows = tile->out_size, cols = tile->cols;
  const int64_t n_rows = p->n_rows_per_transfer < 0 || p->n_rows_per_transfer > rows
                             ? rows
                             : p->n_rows_per_transfer;
  const int64_t big = rows > cols ? rows : cols;
  /* xq [batch][cols], dq [batch][rows], uniforms [big], transfer [n_rows][cols + rows] */
  const size_t floats = (size_t)(batch * (cols + rows) + big + n_rows * (cols + rows));
  float *xq = aihw_alloc_array(floats, sizeof(float), "mixed-precision scratch");
  if (xq == NULL)
    return aihw_last_status();
  float *dq = xq + batch * cols, *u = dq + batch * rows, *scratch = u + big;
  const uint64_t op0 = tile->op_counter;
  for (int64_t b = 0; b < batch; ++b) {
    float *xb = xq + b * cols, *db = dq + b * rows;
    for (int64_t j = 0; j < cols; ++j)
      xb[j] = j < in ? x[b * in + j] : 1.0f;
    memcpy(db, d + b * rows, (size_t)rows * sizeof(float));
    const uint64_t op = op0 + (uint64_t)b;
    if (p->n_x_bins > 0) {
      if (p->stoc_round_x) {
        aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                                  AIHW_RNG_POST_UPDATE, ROUND_ROUND_X);
        aihw_rng_fill_uniform(&st, 0, 0, u, (size_t)cols);
      }
      quantise(xb, cols, p->n_x_bins, p->stoc_round_x ? u : NULL);
    }
    if (p->n_d_bins > 0) {
      if (p->stoc_round_d) {
        aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                                  AIHW_RNG_POST_UPDATE, ROUND_ROUND_D);
        aihw_rng_fill_uniform(&st, 0, 0, u, (size_t)rows);
      }
      quantise(db, rows, p->n_d_bins, p->stoc_round_d ? u : NULL);
    }
  }
  const int64_t period = (int64_t)p->transfer_every * batch;
  aihw_status s = AIHW_OK;
  int64_t b = 0;
  while (b < batch && s == AIHW_OK) {
    int64_t e = b; /* samples b .. e-1, ending with the vector a transfer follows */
    int fire = 0;
    while (e < batch) {
      const int64_t before = c->update_count + (e - b);
      ++e;
      if (period > 0 && before > 0 && before % period == 0) {
        fire = 1;
        break;
      }
    }
#pragma omp parallel for schedule(static) if (rows * cols * (e - b) >= 65536)
    for (int64_t i = 0; i < rows; ++i) {
      float *chi = c->chi + i * cols;
      for (int64_t t = b; t < e; ++t) {
        const float a = lr * dq[t * rows + i];
        if (a == 0.0f)
          continue;
        const float *xb = xq + t * cols;
        for (int64_t j = 0; j < cols; ++j)
          chi[j] += a * xb[j];
      }
    }
    c->update_count += e - b;
    b = e;
    if (fire)
      s = transfer(tile, scratch);
  }
  aihw_free(xq);
  return s;
}
