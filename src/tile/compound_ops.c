/* Post-update operations of compound tiles that act on each sub-device as on a
 * single-device tile (reference §5.10: "decay/diffuse/drift/clip/reset are applied to
 * each sub-device then reduced"): column resets and drift during training.
 *
 * Each sub-device k is presented to the single-device implementation (tile_devices.c,
 * tile_drift.c) as a shallow single-device view of the tile (its device state, its
 * weights, its own drift state); the results are then reduced to the visible weights.
 * Which sub-devices: resets go to device 0 (the fast device A) of the transfer compounds
 * and to every device otherwise (Vector/Reference/OneSided; the device of a
 * MixedPrecision); drift goes to every device.
 *
 * Random numbers: the operation takes one tile op counter value per sub-device it
 * touches (sub-device k at op + k), so sub-devices draw independent numbers.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tile/compound_internal.h"

/* Single-device view of sub-device k at op counter op. */
static aihw_tile view_of(aihw_tile *tile, int k, uint64_t op) {
  aihw_compound *c = tile->compound;
  aihw_tile v = *tile;
  v.compound = NULL;
  v.devices = c->dev[k];
  v.weights = c->w[k];
  v.weights_abs = NULL;
  v.pulse_counts = NULL;
  v.config.device = c->dev[k]->params;
  v.config.compound = aihw_compound_params_default(AIHW_COMPOUND_NONE, NULL, 0);
  v.op_counter = op;
  v.rng_noise_round = 16u * (uint32_t)k;
  v.drift_w0 = c->drift_w0[k];
  v.drift_prev = c->drift_prev[k];
  v.drift_t = c->drift_t[k];
  v.drift_now = c->drift_now[k];
  return v;
}

/* Takes back what the view may have grown or allocated. */
static void take_back(aihw_tile *tile, int k, const aihw_tile *v) {
  aihw_compound *c = tile->compound;
  tile->workspace = v->workspace;
  tile->aux = v->aux;
  c->drift_w0[k] = v->drift_w0;
  c->drift_prev[k] = v->drift_prev;
  c->drift_t[k] = v->drift_t;
  c->drift_now[k] = v->drift_now;
}

static aihw_status finish(aihw_tile *tile) {
  aihw_compound_reduce(tile);
  if (tile->weights_abs != NULL)
    for (int64_t e = 0; e < tile->out_size * tile->cols; ++e)
      tile->weights_abs[e] = fabsf(tile->weights[e]);
  return aihw_tile_weights_changed(tile);
}

aihw_status aihw_compound_reset_columns(aihw_tile *tile, int64_t start, int64_t count,
                                        float probability) {
  aihw_compound *c = tile->compound;
  const int n = c->transfer ? 1 : c->n;
  if (tile->op_counter + (uint64_t)n >= AIHW_COMPOUND_TRANSFER_OPS)
    return aihw_error(AIHW_ERR_STATE, "aihw_tile_reset_columns: the tile's random stream is "
                                      "exhausted (compound tiles: 2^47 operations)");
  const uint64_t op = tile->op_counter;
  for (int k = 0; k < n; ++k) {
    aihw_tile v = view_of(tile, k, op + (uint64_t)k);
    const aihw_status s = aihw_tile_reset_columns(&v, start, count, probability);
    take_back(tile, k, &v);
    if (s != AIHW_OK)
      return s; /* argument errors come from k = 0, before any change */
  }
  tile->op_counter = op + (uint64_t)n;
  return finish(tile);
}

aihw_status aihw_compound_drift(aihw_tile *tile, float dt) {
  aihw_compound *c = tile->compound;
  if (tile->op_counter + (uint64_t)c->n >= AIHW_COMPOUND_TRANSFER_OPS)
    return aihw_error(AIHW_ERR_STATE, "aihw_tile_drift_weights: the tile's random stream is "
                                      "exhausted (compound tiles: 2^47 operations)");
  const uint64_t op = tile->op_counter;
  for (int k = 0; k < c->n; ++k) {
    aihw_tile v = view_of(tile, k, op + (uint64_t)k);
    const aihw_status s = aihw_tile_drift_weights(&v, dt);
    take_back(tile, k, &v);
    if (s != AIHW_OK)
      return s; /* dt errors come from k = 0, before any change */
  }
  tile->op_counter = op + (uint64_t)c->n;
  return finish(tile);
}
