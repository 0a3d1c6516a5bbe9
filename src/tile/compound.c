/* Compound devices of a tile (reference §5.10): VectorUnitCell, ReferenceUnitCell,
 * TransferCompound (Tiki-Taka v1) and BufferedTransferCompound (TTv2), and the common
 * frame of the others (ChoppedTransfer: compound_chopped.c, DynamicTransfer:
 * compound_dynamic.c, OneSided: compound_onesided.c, MixedPrecision: compound_mixed.c).
 *
 * A compound tile holds n sub-devices, each a full single-device state (device_state.h)
 * with its own weight array, and keeps the tile's visible weights at the gamma-weighted
 * sum W = sum_k gamma_k W_k (or, for a "fully hidden" transfer compound, the last
 * device's weights). Every update of a sub-device goes through the tile's own pulsed
 * update (update.c) on a single-device view (aihw_tile_update_view), so sub-devices have
 * exactly the physics of single-device tiles.
 *
 * Schedule of one update call of batch B (samples in order, as aihwkit's CPU does per
 * vector): the samples are cut into runs that end where a transfer is due (transfer
 * compounds) or where the receiving sub-device changes (SINGLE_SEQUENTIAL / _RANDOM);
 * each run is one pulsed update of the receiving sub-device(s) at the op counters of its
 * samples; then the due transfers run; at the end the visible weights are recomputed.
 *
 * Random numbers:
 * - the update of sub-device k under policy ALL uses the samples' op counters, the same
 *   pulse trains for every k (aihwkit: "every sub-device receives the same
 *   coincidences") and step/write noise rounds offset by 16 k; a single receiving device
 *   uses round offset 0;
 * - SINGLE_RANDOM draws U from (op of the sample, POST_UPDATE, round ROUND_POLICY);
 * - transfers run in their own op-counter space: op = AIHW_COMPOUND_TRANSFER_OPS +
 *   transfer_ops, where transfer_ops counts the one-hot reads of all transfers so far;
 *   the read (periphery purposes), the column choice and resets (POST_UPDATE) and the
 *   transfer update (pulse purposes) of one transfer use ops op .. op + n_reads - 1.
 *   Tile op counters of compound tiles therefore stay below 2^47.
 * - sub-device k's device-to-device draws use dtod rounds offset by 32 k.
 */
#include <math.h>
#include <string.h>

#include "aihw/compound.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "tile/compound_internal.h"


enum { ROUND_POLICY = 200, ROUND_SELECT = 201, ROUND_RESET_CHOICE = 202, ROUND_RESET = 203 };
/* Systematic draws of the transfer read periphery (forward 0, backward 16 in tile.c). */
enum { SYSTEMATIC_TRANSFER = 32 };



static int is_transfer_type(aihw_compound_type t) {
  return t == AIHW_COMPOUND_TRANSFER || t == AIHW_COMPOUND_BUFFERED_TRANSFER ||
         t == AIHW_COMPOUND_CHOPPED_TRANSFER || t == AIHW_COMPOUND_DYNAMIC_TRANSFER;
}

void aihw_compound_destroy(aihw_compound *c) {
  if (c == NULL)
    return;
  for (int k = 0; k < AIHW_COMPOUND_MAX_DEVICES; ++k) {
    aihw_device_state_destroy(c->dev[k]);
    aihw_free(c->w[k]);
    aihw_free(c->buffer[k]);
    aihw_free(c->drift_w0[k]);
    aihw_free(c->drift_prev[k]);
    aihw_free(c->drift_t[k]);
  }
  aihw_periphery_free(&c->read);
  aihw_periphery_free(&c->refresh);
  aihw_free(c->in_chop);
  aihw_free(c->out_chop);
  aihw_free(c->running_mean);
  aihw_free(c->past_mean);
  aihw_free(c->chop_switched);
  aihw_free(c->chi);
  aihw_free(c);
}

/* Effective gammas (§5.10): Vector 1/n (default), Reference [1, -1], Transfer
 * gamma^(n-1-k) (0^0 = 1); an explicit gamma_vec wins. */
static void init_gammas(aihw_compound *c) {
  const aihw_compound_params *p = &c->params;
  const int n = c->n;
  for (int k = 0; k < n; ++k) {
    if (p->n_gamma > 0)
      c->gamma[k] = p->gamma_vec[k];
    else if (c->transfer)
      c->gamma[k] = (n - 1 - k) == 0 ? 1.0f : powf(p->gamma, (float)(n - 1 - k));
    else
      c->gamma[k] = 1.0f / (float)n;
  }
  if (c->transfer) {
    float others = 0.0f;
    for (int k = 0; k < n - 1; ++k)
      others += c->gamma[k];
    c->fully_hidden = (p->n_gamma > 0 ? others : p->gamma) == 0.0f && c->gamma[n - 1] == 1.0f;
  }
}

/* transfer_every_vec (§5.10): te_0 = transfer_every, te_{k+1} = te_k out_size / n_reads,
 * last 0 with no_self_transfer; transfer_lr_vec: all transfer_lr. */
static void init_schedule(aihw_compound *c, int64_t rows, int64_t cols) {
  const aihw_compound_params *p = &c->params;
  if (!p->transfer_columns) { /* row transfers: in_size and out_size swap roles */
    const int64_t t = rows;
    rows = cols;
    cols = t;
  }
  c->n_reads = p->n_reads_per_transfer < cols ? p->n_reads_per_transfer : cols;
  for (int k = 0; k < c->n; ++k) {
    if (p->n_transfer_every > 0)
      c->transfer_every[k] = p->transfer_every_vec[k];
    else
      c->transfer_every[k] = k == 0 ? p->transfer_every
                                    : c->transfer_every[k - 1] * (float)rows /
                                          (float)c->n_reads;
    c->transfer_lr[k] = p->n_transfer_lr > 0 ? p->transfer_lr_vec[k] : p->transfer_lr;
  }
  if (p->n_transfer_every == 0 && p->no_self_transfer)
    c->transfer_every[c->n - 1] = 0.0f;
}

aihw_status aihw_compound_create(aihw_tile *tile) {
  const aihw_compound_params *p = &tile->config.compound;
  AIHW_TRY(aihw_compound_params_validate(p, "compound"));
  if (tile->config.kind != AIHW_TILE_ANALOG)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "compound.type = %s: compound devices need an ANALOG tile, not %s",
                      aihw_compound_type_name(p->type), aihw_tile_kind_name(tile->config.kind));
  aihw_compound *c = aihw_calloc_array(1, sizeof *c, "compound device");
  if (c == NULL)
    return aihw_last_status();
  c->params = *p;
  c->n = p->n_devices;
  tile->compound = c; /* the init helpers below reach the compound through the tile */
  c->transfer = is_transfer_type(p->type);
  const int64_t rows = tile->out_size, cols = tile->cols, size = rows * cols;
  aihw_status s = AIHW_OK;
  float gsum = 0.0f;
  for (int k = 0; k < c->n && s == AIHW_OK; ++k) {
    s = aihw_device_state_create_sub(&p->devices[k], rows, cols, tile->config.tile_id, k,
                                     &c->dev[k]);
    if (s == AIHW_OK && (c->w[k] = aihw_calloc_array((size_t)size, sizeof(float),
                                                     "sub-device weights")) == NULL)
      s = aihw_last_status();
    if (s == AIHW_OK)
      gsum += c->dev[k]->granularity;
  }
  c->granularity = gsum / (float)c->n;
  c->current_device = p->first_update_idx;
  init_gammas(c);
  if (c->transfer) {
    init_schedule(c, rows, cols);
    aihw_io_params io = p->transfer_forward;
    io.bound_management = AIHW_BM_NONE; /* aihwkit forces both off for transfer reads */
    io.noise_management = AIHW_NM_NONE;
    if (s == AIHW_OK)
      s = aihw_periphery_init(&c->read, &io, !p->transfer_columns, rows, cols,
                              tile->config.seed,
                              tile->config.tile_id, SYSTEMATIC_TRANSFER,
                              "compound.transfer_forward");
    c->dynamic = p->type == AIHW_COMPOUND_DYNAMIC_TRANSFER;
    c->chopped = p->type == AIHW_COMPOUND_CHOPPED_TRANSFER || c->dynamic;
    if (c->chopped && s == AIHW_OK)
      s = aihw_chopped_init(tile);
    if (c->dynamic && s == AIHW_OK)
      s = aihw_dynamic_init(tile);
    if (p->type == AIHW_COMPOUND_BUFFERED_TRANSFER || c->chopped)
      for (int k = 0; k < c->n - 1 && s == AIHW_OK; ++k)
        if ((c->buffer[k] = aihw_calloc_array((size_t)size, sizeof(float),
                                              "transfer buffer")) == NULL)
          s = aihw_last_status();
  }
  if (p->type == AIHW_COMPOUND_ONE_SIDED && s == AIHW_OK)
    s = aihw_onesided_init(tile);
  if (p->type == AIHW_COMPOUND_MIXED_PRECISION && s == AIHW_OK)
    s = aihw_mixed_init(tile);
  if (s != AIHW_OK) {
    aihw_compound_destroy(c);
    tile->compound = NULL;
    return s;
  }
  return AIHW_OK;
}

/* Visible weights from the sub-devices: W = sum_k gamma_k W_k (k ascending). */
void aihw_compound_reduce(aihw_tile *tile) {
  const aihw_compound *c = tile->compound;
  const int64_t size = tile->out_size * tile->cols;
  float *w = tile->weights;
  if (c->fully_hidden) {
    memcpy(w, c->w[c->n - 1], (size_t)size * sizeof(float));
    return;
  }
  for (int64_t e = 0; e < size; ++e) {
    float v = c->gamma[0] * c->w[0][e];
    for (int k = 1; k < c->n; ++k)
      v += c->gamma[k] * c->w[k][e];
    w[e] = v;
  }
}

/* The array sub-device k's physics acts on (persistent weights under write noise). */
static float *device_weights(const aihw_compound *c, int k) {
  return c->dev[k]->persistent != NULL ? c->dev[k]->persistent : c->w[k];
}

float *aihw_compound_device_weights(aihw_compound *c, int k) { return device_weights(c, k); }

/* Clips sub-device k to its bounds and redraws its visible weights (write noise) from
 * (op, WRITE_NOISE, round 16 k). */
static aihw_status settle_device(aihw_tile *tile, int k, uint64_t op, int write_noise) {
  aihw_compound *c = tile->compound;
  const aihw_device_state *s = c->dev[k];
  const int64_t size = s->size, cols = s->cols;
  float *w = device_weights(c, k);
  for (int64_t e = 0; e < size; ++e) {
    float v = w[e] > s->max_bound[e] ? s->max_bound[e] : w[e];
    w[e] = v > s->min_bound[e] ? v : s->min_bound[e];
  }
  if (s->persistent == NULL)
    return AIHW_OK;
  memcpy(c->w[k], s->persistent, (size_t)size * sizeof(float));
  if (!write_noise)
    return AIHW_OK;
  float *xi = aihw_workspace_get(&tile->aux, (size_t)cols * sizeof(float));
  if (xi == NULL)
    return aihw_last_status();
  const float sigma = s->params.write_noise_std * s->params.dw_min;
  aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                            AIHW_RNG_WRITE_NOISE, 16u * (uint32_t)k);
  for (int64_t i = 0; i < s->rows; ++i) {
    aihw_rng_fill_normal(&st, (uint32_t)i, 0, xi, (size_t)cols);
    for (int64_t j = 0; j < cols; ++j)
      c->w[k][i * cols + j] = s->persistent[i * cols + j] + sigma * xi[j];
  }
  return AIHW_OK;
}

aihw_status aihw_compound_settle(aihw_tile *tile, int k, uint64_t op, int write_noise) {
  return settle_device(tile, k, op, write_noise);
}

/* onSetWeights (§5.10): Vector sets every sub-device to W (SINGLE_FIXED, Reference: only
 * the fixed one); Transfer zeroes all and sets the last to W / gamma_last (fully hidden:
 * W). Then each sub-device's own onSetWeights (clip, write noise) and the reduction.
 * The caller has checked w (shape, finite). Uses one op counter value when a sub-device
 * has write noise on set. */
aihw_status aihw_compound_set_weights(aihw_tile *tile, const float *w) {
  aihw_compound *c = tile->compound;
  const int64_t size = tile->out_size * tile->cols;
  if (aihw_workspace_get(&tile->aux, (size_t)tile->cols * sizeof(float)) == NULL)
    return aihw_last_status(); /* the only allocation below: nothing changed yet */
  int noise = 0;
  for (int k = 0; k < c->n; ++k)
    noise |= c->dev[k]->persistent != NULL && c->dev[k]->params.apply_write_noise_on_set;
  const uint64_t op = noise ? tile->op_counter++ : 0;
  if (c->one_sided)
    aihw_onesided_set_weights(tile, w); /* g+ = max(W, 0), g- = max(-W, 0) */
  if (c->mixed) { /* chi and the counters restart */
    memset(c->chi, 0, (size_t)size * sizeof(float));
    c->update_count = 0;
    c->current_row = 0;
  }
  for (int k = 0; k < c->n; ++k) {
    float *target = device_weights(c, k);
    if (c->one_sided) {
      /* set above */
    } else if (c->transfer) {
      if (k < c->n - 1) {
        memset(target, 0, (size_t)size * sizeof(float));
      } else {
        const float g = c->fully_hidden ? 1.0f : c->gamma[k];
        for (int64_t e = 0; e < size; ++e)
          target[e] = c->fully_hidden ? w[e] : w[e] / g;
      }
    } else if (c->params.update_policy != AIHW_VECTOR_SINGLE_FIXED ||
               k == c->params.first_update_idx) {
      memcpy(target, w, (size_t)size * sizeof(float));
    }
    (void)settle_device(tile, k, op, c->dev[k]->params.apply_write_noise_on_set);
  }
  aihw_compound_reduce(tile);
  return AIHW_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Transfers (TransferCompound, BufferedTransferCompound) */

/* Vectors between transfers from device j in the current batch (0 = never). */
static int64_t transfer_period(const aihw_compound *c, int j, int64_t batch) {
  if (c->chopped && c->params.transfer_every < 0.0f) /* automatic period (Chopped) */
    return j == 0 ? c->auto_every : 0;
  const float te = c->transfer_every[j];
  float every = c->params.units_in_mbatch ? ceilf(te * (float)batch) : roundf(te);
  return every > 0.0f ? (int64_t)every : 0;
}

static int transfer_due(const aihw_compound *c, int64_t count, int64_t batch) {
  for (int j = 0; j < c->n; ++j) {
    const int64_t every = transfer_period(c, j, batch);
    if (every > 0 && count % every == 0)
      return 1;
  }
  return 0;
}

/* Resets column i of from-device `from` with probability with_reset_prob for each read r
 * (uniform r of (op, POST_UPDATE, ROUND_RESET_CHOICE)): w = reset_bias + reset_std xi,
 * clipped (xi from (op, POST_UPDATE, ROUND_RESET), row i of the tile, element = row). */
static aihw_status reset_read_columns(aihw_tile *tile, int from, uint64_t op,
                                      const int64_t *columns, int64_t n_reads) {
  aihw_compound *c = tile->compound;
  const aihw_device_state *s = c->dev[from];
  const int64_t rows = s->rows, cols = s->cols;
  float *scratch = aihw_workspace_get(&tile->aux, (size_t)(rows + n_reads) * sizeof(float));
  if (scratch == NULL)
    return aihw_last_status();
  float *u = scratch, *xi = scratch + n_reads;
  aihw_rng_stream su = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                            AIHW_RNG_POST_UPDATE, ROUND_RESET_CHOICE);
  aihw_rng_fill_uniform(&su, 0, 0, u, (size_t)n_reads);
  aihw_rng_stream sx = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                            AIHW_RNG_POST_UPDATE, ROUND_RESET);
  float *w = device_weights(c, from);
  int any = 0;
  for (int64_t r = 0; r < n_reads; ++r) {
    if (!(c->params.with_reset_prob > u[r]))
      continue;
    any = 1;
    const int64_t j = columns[r];
    aihw_rng_fill_normal(&sx, (uint32_t)r, 0, xi, (size_t)rows);
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t e = i * cols + j;
      float v = s->reset_bias[e] + s->params.reset_std * xi[i];
      v = v > s->max_bound[e] ? s->max_bound[e] : v;
      w[e] = v > s->min_bound[e] ? v : s->min_bound[e];
      c->w[from][e] = w[e];
    }
  }
  (void)any;
  return AIHW_OK;
}

aihw_status aihw_compound_next_ops(aihw_compound *c, int64_t n, uint64_t *op) {
  if (c->transfer_ops + (uint64_t)n >= AIHW_COMPOUND_TRANSFER_OPS)
    return aihw_error(AIHW_ERR_STATE, "compound transfer: the transfer stream is exhausted");
  *op = AIHW_COMPOUND_TRANSFER_OPS + c->transfer_ops;
  return AIHW_OK;
}

aihw_status aihw_compound_read(aihw_tile *tile, aihw_periphery *pe, const float *w,
                               const float *x, int64_t n, float *a, uint64_t op) {
  const int64_t rows = tile->out_size, cols = tile->cols;
  const aihw_io_params *io = &pe->io;
  const int need_abs = !pe->perfect &&
                       (io->ir_drop > 0.0f ||
                        (io->w_noise > 0.0f && io->w_noise_type == AIHW_W_NOISE_PCM_READ));
  float *w_abs = NULL;
  if (need_abs) {
    w_abs = aihw_alloc_array((size_t)(rows * cols), sizeof(float), "|W| of a read");
    if (w_abs == NULL)
      return aihw_last_status();
    for (int64_t e = 0; e < rows * cols; ++e)
      w_abs[e] = fabsf(w[e]);
  }
  aihw_mv_call call = {.w = w, .w_abs = w_abs, .rows = rows, .cols = cols, .x = x,
                       .x_cols = cols, .y = a, .y_cols = rows, .batch = n, .alpha = 1.0f,
                       .seed = tile->config.seed, .tile_id = tile->config.tile_id,
                       .op_counter = op, .rounds = NULL};
  aihw_status s;
  if (pe->perfect) {
    call.alpha = io->out_scale;
    s = aihw_exact_mv(&call, 0, &tile->aux);
  } else {
    s = aihw_periphery_mv(pe, &call, &tile->aux);
  }
  aihw_free(w_abs);
  return s;
}

/* One transfer from device `from` to device `to` (§5.10 TransferCompound /
 * BufferedTransferCompound pseudo-code); lr is the SGD learning rate of the call. */
static aihw_status transfer(aihw_tile *tile, int to, int from, float lr) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const int64_t rows = tile->out_size, cols = tile->cols, n_reads = c->n_reads;
  if (c->transfer_ops + (uint64_t)n_reads >= AIHW_COMPOUND_TRANSFER_OPS)
    return aihw_error(AIHW_ERR_STATE, "compound transfer: the transfer stream is exhausted");
  const uint64_t op = AIHW_COMPOUND_TRANSFER_OPS + c->transfer_ops;
  /* Row transfers (transfer_columns = 0) read rows e_i^T W through the transposed
   * periphery and write them with x = the row, d = e_i: the slices are the rows, the read
   * vectors have cols entries; below, "cols" counts slices and "rows" read entries. */
  const int by_cols = p->transfer_columns;
  const int64_t n_slices = by_cols ? cols : rows, n_out = by_cols ? rows : cols;
  /* scratch: the slice indices first (8-byte aligned: the allocation is 64-byte
   * aligned), then one-hot x [n][slices], reads [n][n_out], d [n][n_out], |W| */
  const size_t floats = (size_t)(n_reads * n_slices + 2 * n_reads * n_out + rows * cols);
  char *mem = aihw_alloc_array(floats * sizeof(float) + (size_t)n_reads * sizeof(int64_t),
                               1, "transfer scratch");
  if (mem == NULL)
    return aihw_last_status();
  int64_t *columns = (int64_t *)(void *)mem;
  float *x = (float *)(void *)(columns + n_reads), *a = x + n_reads * n_slices;
  float *v = a + n_reads * n_out;
  float *w_abs = v + n_reads * n_out;
  int64_t i0 = c->current_slice[from];
  if (p->random_selection) {
    float u;
    aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                              AIHW_RNG_POST_UPDATE, ROUND_SELECT);
    aihw_rng_fill_uniform(&st, 0, 0, &u, 1);
    i0 = (int64_t)floorf(u * (float)n_slices);
    i0 = i0 >= n_slices ? n_slices - 1 : i0;
  }
  memset(x, 0, (size_t)(n_reads * n_slices) * sizeof(float));
  for (int64_t r = 0; r < n_reads; ++r) {
    columns[r] = (i0 + r) % n_slices;
    x[r * n_slices + columns[r]] = 1.0f;
  }
  /* read a = W_from e_i through the transfer periphery */
  const aihw_io_params *io = &c->read.io;
  const int need_abs = !c->read.perfect &&
                       (io->ir_drop > 0.0f ||
                        (io->w_noise > 0.0f && io->w_noise_type == AIHW_W_NOISE_PCM_READ));
  if (need_abs)
    for (int64_t e = 0; e < rows * cols; ++e)
      w_abs[e] = fabsf(c->w[from][e]);
  aihw_mv_call call = {.w = c->w[from], .w_abs = need_abs ? w_abs : NULL, .rows = rows,
                       .cols = cols, .x = x, .x_cols = n_slices, .y = a, .y_cols = n_out,
                       .batch = n_reads, .alpha = 1.0f, .seed = tile->config.seed,
                       .tile_id = tile->config.tile_id, .op_counter = op, .rounds = NULL};
  aihw_status s;
  if (c->read.perfect) {
    call.alpha = io->out_scale;
    s = aihw_exact_mv(&call, !by_cols, &tile->aux);
  } else {
    s = aihw_periphery_mv(&c->read, &call, &tile->aux);
  }
  float lr_t = c->transfer_lr[from] * (p->scale_transfer_lr ? lr : 1.0f);
  float update_lr = lr_t;
  int any = 1;
  if (s == AIHW_OK && c->dynamic) {
    any = aihw_dynamic_buffer(tile, a, columns[0], lr, v);
    update_lr = p->step * c->dev[to]->granularity;
  } else if (s == AIHW_OK && c->chopped) {
    any = aihw_chopped_buffer(tile, a, columns[0], lr, v);
    update_lr = p->step * c->dev[to]->granularity;
  } else if (s == AIHW_OK && p->type == AIHW_COMPOUND_TRANSFER) {
    for (int64_t e = 0; e < n_reads * n_out; ++e)
      v[e] = -a[e]; /* read with alpha = -1: the update W_to -= lr v x^T adds lr a x^T */
  } else if (s == AIHW_OK) { /* BufferedTransfer: accumulate, pass on whole steps */
    if (c->gamma[from] > 0.0f && c->gamma[to] > 0.0f)
      lr_t *= c->gamma[from] / c->gamma[to];
    const float g_to = c->dev[to]->granularity, bg = p->thres_scale * g_to;
    const float blt = (float)p->transfer_update.desired_bl;
    float *h = c->buffer[from];
    any = 0;
    for (int64_t r = 0; r < n_reads; ++r) {
      const int64_t j = columns[r];
      for (int64_t o = 0; o < n_out; ++o) {
        const int64_t e = by_cols ? o * cols + j : j * cols + o;
        const float hv = h[e] + a[r * n_out + o] * fabsf(lr_t);
        float n = truncf(hv / bg);
        n = n > blt ? blt : (n < -blt ? -blt : n);
        if (n != 0.0f) {
          h[e] = p->forget_buffer ? hv * p->momentum : hv - (1.0f - p->momentum) * n * bg;
          any = 1;
        } else {
          h[e] = hv;
        }
        v[r * n_out + o] = -n;
      }
    }
    update_lr = p->step * g_to;
  }
  if (s == AIHW_OK && p->with_reset_prob > 0.0f && by_cols) /* aihwkit: columns only */
    s = reset_read_columns(tile, from, op, columns, n_reads);
  if (s == AIHW_OK && any && update_lr > 0.0f) {
    const aihw_device_view view = {c->dev[to], c->w[to],     &p->transfer_update, cols, op,
                                   0,          c->dev[to]->granularity, 1, 0};
    s = by_cols ? aihw_tile_update_view(tile, &view, x, n_reads, v, update_lr)
                : aihw_tile_update_view(tile, &view, v, n_reads, x, update_lr);
  }
  const int64_t first_column = columns[0]; /* columns lives in mem */
  aihw_free(mem);
  if (s != AIHW_OK)
    return s;
  if (c->dynamic)
    aihw_dynamic_after_transfer(tile, first_column, op);
  else if (c->chopped)
    aihw_chopped_after_transfer(tile, first_column, op);
  c->current_slice[from] = (i0 + n_reads) % n_slices;
  c->transfers[from] += 1;
  c->transfer_ops += (uint64_t)n_reads;
  return AIHW_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Update */

/* Device that sample b goes to under a SINGLE_* policy (advances the cycle). */
static int next_device(aihw_tile *tile, uint64_t op) {
  aihw_compound *c = tile->compound;
  const int k = c->current_device;
  if (c->params.update_policy == AIHW_VECTOR_SINGLE_SEQUENTIAL) {
    c->current_device = (k + 1) % c->n;
  } else if (c->params.update_policy == AIHW_VECTOR_SINGLE_RANDOM) {
    float u;
    aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                              AIHW_RNG_POST_UPDATE, ROUND_POLICY);
    aihw_rng_fill_uniform(&st, 0, 0, &u, 1);
    int r = (int)floorf(u * (float)c->n);
    return r >= c->n ? c->n - 1 : r;
  }
  return k;
}

/* Updates samples [b0, b1) into sub-device k (k < 0: all, policy ALL). */
static aihw_status update_run(aihw_tile *tile, int k, const float *x, const float *d,
                              int64_t b0, int64_t b1, float lr, uint64_t op0) {
  aihw_compound *c = tile->compound;
  const int64_t in = tile->in_size, rows = tile->out_size;
  for (int j = k < 0 ? 0 : k; j < (k < 0 ? c->n : k + 1); ++j) {
    const aihw_device_view view = {c->dev[j],
                                   c->w[j],
                                   &tile->config.update,
                                   in,
                                   op0 + (uint64_t)b0,
                                   k < 0 ? 16u * (uint32_t)j : 0u,
                                   c->granularity,
                                   0,
                                   0};
    AIHW_TRY(aihw_tile_update_view(tile, &view, x + b0 * in, b1 - b0, d + b0 * rows, lr));
  }
  return AIHW_OK;
}

/* The compound's update of one call (file comment). On error the sub-devices may have
 * received part of the batch (only allocation failures can cause one after the caller's
 * checks). */
aihw_status aihw_compound_update(aihw_tile *tile, const float *x, int64_t batch,
                                 const float *d, float lr) {
  aihw_compound *c = tile->compound;
  const aihw_compound_params *p = &c->params;
  const uint64_t op0 = tile->op_counter;
  if (op0 + (uint64_t)batch >= AIHW_COMPOUND_TRANSFER_OPS)
    return aihw_error(AIHW_ERR_STATE, "aihw_tile_update: the tile's random stream is "
                                      "exhausted (compound tiles: 2^47 operations)");
  aihw_status s = AIHW_OK;
  if (c->one_sided) {
    s = aihw_onesided_update(tile, x, batch, d, lr);
  } else if (c->mixed) {
    s = aihw_mixed_update(tile, x, batch, d, lr);
  } else if (!c->transfer) {
    int64_t b = 0;
    while (b < batch && s == AIHW_OK) {
      if (p->update_policy == AIHW_VECTOR_ALL) {
        s = update_run(tile, -1, x, d, 0, batch, lr, op0);
        b = batch;
        break;
      }
      if (p->update_policy == AIHW_VECTOR_SINGLE_FIXED) {
        s = update_run(tile, p->first_update_idx, x, d, 0, batch, lr, op0);
        b = batch;
        break;
      }
      const int k = next_device(tile, op0 + (uint64_t)b);
      int64_t e = b + 1;
      if (p->update_policy == AIHW_VECTOR_SINGLE_SEQUENTIAL && c->n == 1)
        e = batch;
      s = update_run(tile, k, x, d, b, e, lr, op0);
      b = e;
    }
    c->update_count += batch;
  } else {
    const float fast_lr = p->fast_lr > 0.0f ? (p->scale_fast_lr ? p->fast_lr * lr : p->fast_lr)
                                            : lr;
    int64_t b = 0;
    while (b < batch && s == AIHW_OK) {
      int64_t e = b; /* the run: samples b .. e-1, ending where a transfer is due */
      int fire = 0;
      while (e < batch) {
        const int due = transfer_due(c, c->update_count + (e - b) + 1, batch);
        ++e;
        if (due) {
          fire = 1;
          break;
        }
        if (c->chopped && p->auto_scale)
          break; /* auto_scale: the count learning rate changes with every sample */
      }
      if (c->chopped)
        s = aihw_chopped_fast_update(tile, x, d, b, e, batch, lr, op0);
      else
        s = update_run(tile, 0, x, d, b, e, fast_lr, op0);
      c->update_count += e - b;
      b = e;
      if (!fire || s != AIHW_OK)
        continue;
      for (int j = 0; j < c->n && s == AIHW_OK; ++j) {
        const int64_t every = transfer_period(c, j, batch);
        const int to = j + 1 < c->n ? j + 1 : c->n - 1;
        if (every > 0 && c->update_count % every == 0 && to != j)
          s = transfer(tile, to, j, lr);
      }
    }
  }
  aihw_compound_reduce(tile);
  return s;
}

/* ---------------------------------------------------------------------------------- */
/* Public access */

AIHW_API int aihw_tile_compound_devices(const aihw_tile *tile) {
  if (tile == NULL)
    return -1;
  return tile->compound != NULL ? tile->compound->n : 0;
}

static aihw_status sub_args(const aihw_tile *tile, int k, const void *w, int64_t rows,
                            int64_t cols, const char *fn) {
  if (tile == NULL || w == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      tile == NULL ? "tile" : "array");
  if (tile->compound == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: the tile has no compound device", fn);
  if (k < 0 || k >= tile->compound->n)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: k = %d: must be in [0, %d]", fn, k,
                      tile->compound->n - 1);
  if (rows != tile->out_size || cols != tile->cols)
    return aihw_error(AIHW_ERR_SHAPE, "%s: the array is [%lld][%lld], not [%lld][%lld]", fn,
                      (long long)rows, (long long)cols, (long long)tile->out_size,
                      (long long)tile->cols);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_compound_get_weights(const aihw_tile *tile, int k, float *w,
                                                    int64_t rows, int64_t cols) {
  AIHW_TRY(sub_args(tile, k, w, rows, cols, "aihw_tile_compound_get_weights"));
  memcpy(w, tile->compound->w[k], (size_t)(rows * cols) * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_compound_set_weights(aihw_tile *tile, int k, const float *w,
                                                    int64_t rows, int64_t cols) {
  static const char *fn = "aihw_tile_compound_set_weights";
  AIHW_TRY(sub_args(tile, k, w, rows, cols, fn));
  for (int64_t e = 0; e < rows * cols; ++e)
    if (!isfinite(w[e]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: w[%lld][%lld] is %g", fn,
                        (long long)(e / cols), (long long)(e % cols), (double)w[e]);
  if (aihw_workspace_get(&tile->aux, (size_t)cols * sizeof(float)) == NULL)
    return aihw_last_status();
  aihw_compound *c = tile->compound;
  memcpy(device_weights(c, k), w, (size_t)(rows * cols) * sizeof(float));
  (void)settle_device(tile, k, 0, 0); /* no write noise: the values are set exactly */
  aihw_compound_reduce(tile);
  if (tile->weights_abs != NULL)
    for (int64_t e = 0; e < rows * cols; ++e)
      tile->weights_abs[e] = fabsf(tile->weights[e]);
  return aihw_tile_weights_changed(tile);
}

AIHW_API aihw_status aihw_tile_compound_get_buffer(const aihw_tile *tile, int k, float *h,
                                                   int64_t rows, int64_t cols) {
  static const char *fn = "aihw_tile_compound_get_buffer";
  AIHW_TRY(sub_args(tile, k, h, rows, cols, fn));
  const float *src = tile->compound->mixed ? tile->compound->chi : tile->compound->buffer[k];
  if (src == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: k = %d: only the from-devices (k < n - 1) of a Buffered-, Chopped- "
                      "or DynamicTransferCompound and the device of a MixedPrecisionCompound "
                      "have buffers",
                      fn, k);
  memcpy(h, src, (size_t)(rows * cols) * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_compound_get_counters(const aihw_tile *tile,
                                                     aihw_compound_counters *counters) {
  if (tile == NULL || counters == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_compound_get_counters: NULL");
  if (tile->compound == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_tile_compound_get_counters: the tile has no compound device");
  const aihw_compound *c = tile->compound;
  memset(counters, 0, sizeof *counters);
  counters->update_count = c->update_count;
  for (int k = 0; k < c->n; ++k) {
    counters->transfers[k] = c->transfers[k];
    counters->current_slice[k] = c->current_slice[k];
  }
  counters->current_device = c->current_device;
  counters->transfer_counter = c->transfer_counter;
  counters->m_x = c->m_x;
  counters->m_d = c->m_d;
  counters->refresh_count = c->refresh_count;
  counters->current_row = c->current_row;
  return AIHW_OK;
}

/* ---------------------------------------------------------------------------------- */
/* Decay, diffusion, clipping (§5.10: applied to every sub-device, then the reduction) */

/* Redraws visible weights of every write-noise sub-device and reduces. */
static aihw_status settle_all(aihw_tile *tile, uint64_t op) {
  aihw_compound *c = tile->compound;
  for (int k = 0; k < c->n; ++k)
    AIHW_TRY(settle_device(tile, k, op, 1));
  aihw_compound_reduce(tile);
  if (tile->weights_abs != NULL)
    for (int64_t e = 0; e < tile->out_size * tile->cols; ++e)
      tile->weights_abs[e] = fabsf(tile->weights[e]);
  return aihw_tile_weights_changed(tile);
}

aihw_status aihw_compound_decay(aihw_tile *tile, float alpha) {
  aihw_compound *c = tile->compound;
  if (aihw_workspace_get(&tile->aux, (size_t)tile->cols * sizeof(float)) == NULL)
    return aihw_last_status();
  for (int k = 0; k < c->n; ++k) {
    const aihw_device_state *s = c->dev[k];
    float *w = device_weights(c, k);
    for (int64_t e = 0; e < s->size; ++e) {
      const float scale = 1.0f + alpha * (s->decay_scale[e] - 1.0f);
      w[e] = (w[e] - s->reset_bias[e]) * scale + s->reset_bias[e];
    }
  }
  return settle_all(tile, tile->op_counter++); /* settle clips to the bounds */
}

/* Diffusion of sub-device k: normals of (op, POST_UPDATE, round 32 + k), row i. */
aihw_status aihw_compound_diffuse(aihw_tile *tile) {
  aihw_compound *c = tile->compound;
  const int64_t rows = tile->out_size, cols = tile->cols;
  float *xi = aihw_workspace_get(&tile->aux, (size_t)cols * sizeof(float));
  if (xi == NULL)
    return aihw_last_status();
  const uint64_t op = tile->op_counter++;
  for (int k = 0; k < c->n; ++k) {
    const aihw_device_state *s = c->dev[k];
    float *w = device_weights(c, k);
    aihw_rng_stream st = aihw_rng_stream_make(tile->config.seed, tile->config.tile_id, op,
                                              AIHW_RNG_POST_UPDATE, 32u + (uint32_t)k);
    for (int64_t i = 0; i < rows; ++i) {
      aihw_rng_fill_normal(&st, (uint32_t)i, 0, xi, (size_t)cols);
      for (int64_t j = 0; j < cols; ++j)
        w[i * cols + j] += s->diffusion_rate[i * cols + j] * xi[j];
    }
  }
  return settle_all(tile, op);
}

aihw_status aihw_compound_clip(aihw_tile *tile, float clip) {
  aihw_compound *c = tile->compound;
  if (aihw_workspace_get(&tile->aux, (size_t)tile->cols * sizeof(float)) == NULL)
    return aihw_last_status();
  if (clip >= 0.0f)
    for (int k = 0; k < c->n; ++k) {
      float *w = device_weights(c, k);
      for (int64_t e = 0; e < c->dev[k]->size; ++e)
        w[e] = w[e] > clip ? clip : (w[e] < -clip ? -clip : w[e]);
    }
  return settle_all(tile, tile->op_counter++);
}

int aihw_compound_has_decay_or_diffusion(const aihw_tile *tile, int *decay, int *diffusion) {
  const aihw_compound *c = tile->compound;
  *decay = *diffusion = 0;
  for (int k = 0; k < c->n; ++k) {
    *decay |= c->dev[k]->params.lifetime > 0.0f;
    *diffusion |= c->dev[k]->params.diffusion > 0.0f;
  }
  return *decay || *diffusion;
}
