/* Tiles on the CUDA backend: moving a tile to a GPU and back, and the forward / backward
 * / update dispatch of a tile that lives there (include/aihw/cuda.h states the contract).
 *
 * Weights: the device copy is always current. The host copy is current too, except after
 * a GPU update (ConstantStep), which marks it stale; every host reader of a GPU tile's
 * weights (get_weights, state export, the host update, to_host) calls
 * aihw_tile_cuda_sync_host first. set_weights writes the host copy and uploads it. Every
 * other weight-changing call refuses (aihw_tile_require_host). */
#include "backend/tile_cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda_api.h"
#include "core/alloc.h"
#include "core/error.h"
#include "physics/device_math.h"
#include "tile/tile_internal.h"

/* Prefixes the backend's message with the public function's name. */
static aihw_status wrap_error(aihw_status status, const char *fn) {
  char message[768];
  snprintf(message, sizeof message, "%s", aihw_last_error());
  return aihw_error(status, "%s: %s", fn, message);
}

long aihw_cuda_gpu_update_count = 0;

AIHW_API int aihw_cuda_device_count(void) { return aihw_cuda_backend_device_count(); }

AIHW_API int aihw_tile_device(const aihw_tile *tile) {
  return tile != NULL && tile->cuda != NULL ? aihw_cuda_tile_device(tile->cuda) : -1;
}

/* The kernels read tile->weights: the training-mode modifier copy has no device copy. */
static aihw_status check_plain_weights(const aihw_tile *tile, const char *fn) {
  const float *abs_w;
  if (aihw_tile_read_weights(tile, &abs_w) != tile->weights)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s: the weight-modifier copy (INFERENCE tile in training mode or "
                      "modifier.enable_during_test) is not on CUDA yet",
                      fn);
  return AIHW_OK;
}

/* Tiles whose pulsed update has a GPU version (cuda_update.cu, "Limits"): ConstantStep
 * through pulse trains, without write noise, pulse counters or output scales. */
static int gpu_update_kind(const aihw_tile *tile) {
  const aihw_update_params *up = &tile->config.update;
  return aihw_tile_is_pulsed(tile) && tile->devices->params.type == AIHW_DEVICE_CONSTANT_STEP &&
         tile->devices->persistent == NULL && tile->pulse_counts == NULL &&
         up->pulse_type != AIHW_PULSE_MEAN_COUNT &&
         up->pulse_type != AIHW_PULSE_DETERMINISTIC_IMPLICIT;
}

aihw_status aihw_tile_cuda_sync_host(const aihw_tile *tile) {
  if (tile == NULL || tile->cuda == NULL)
    return AIHW_OK;
  AIHW_TRY(aihw_tile_cuda_sync_programmed(tile)); /* after GPU programming */
  if (!aihw_cuda_tile_host_stale(tile->cuda))
    return AIHW_OK;
  AIHW_TRY(aihw_cuda_tile_download_weights(tile->cuda, tile->weights));
  aihw_cuda_tile_set_host_stale(tile->cuda, 0);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_to_cuda(aihw_tile *tile, int device) {
  static const char *fn = "aihw_tile_to_cuda";
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tile is NULL", fn);
  const int count = aihw_cuda_backend_device_count();
  if (count == 0)
    return aihw_error(AIHW_ERR_UNSUPPORTED, "%s: %s", fn,
                      aihw_cuda_backend_available()
                          ? "no CUDA device is available"
                          : "aihw was built without CUDA (AIHW_CUDA=OFF or no nvcc)");
  if (device < 0 || device >= count)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: device = %d: must be in [0, %d]", fn,
                      device, count - 1);
  if (tile->cuda != NULL && aihw_cuda_tile_device(tile->cuda) == device)
    return AIHW_OK;
  if (tile->compound != NULL) /* sub-device states live on the host only (this slice) */
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s: compound devices (%s) have no GPU version yet; keep the tile on "
                      "the host",
                      fn, "unit cells, Tiki-Taka");
  AIHW_TRY(check_plain_weights(tile, fn));
  const int exact = tile->config.kind == AIHW_TILE_FLOATING_POINT;
  AIHW_TRY(aihw_tile_cuda_sync_host(tile)); /* moving between devices */
  aihw_cuda_tile *ct = NULL;
  AIHW_TRY(aihw_cuda_tile_create(device, tile->weights, tile->out_size, tile->cols,
                                 exact ? NULL : &tile->forward, exact ? NULL : &tile->backward,
                                 &ct));
  if (gpu_update_kind(tile)) {
    const aihw_device_state *d = tile->devices;
    aihw_status s =
        aihw_cuda_tile_set_devices(ct, d->max_bound, d->min_bound, d->scale_up, d->scale_down);
    if (s != AIHW_OK) {
      aihw_cuda_tile_destroy(ct);
      return s;
    }
  }
  aihw_cuda_tile_destroy(tile->cuda);
  tile->cuda = ct;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_to_host(aihw_tile *tile) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_to_host: tile is NULL");
  AIHW_TRY(aihw_tile_cuda_sync_host(tile));
  aihw_cuda_tile_destroy(tile->cuda);
  tile->cuda = NULL;
  return AIHW_OK;
}

aihw_status aihw_tile_require_host(const aihw_tile *tile, const char *fn) {
  if (tile == NULL || tile->cuda == NULL)
    return AIHW_OK;
  return aihw_error(AIHW_ERR_UNSUPPORTED,
                    "%s: not available for a tile on CUDA device %d yet; call "
                    "aihw_tile_to_host() first",
                    fn, aihw_cuda_tile_device(tile->cuda));
}

aihw_status aihw_tile_cuda_upload_weights(aihw_tile *tile) {
  AIHW_TRY(aihw_cuda_tile_upload_weights(tile->cuda, tile->weights));
  aihw_cuda_tile_set_host_stale(tile->cuda, 0);
  return AIHW_OK;
}

aihw_status aihw_tile_cuda_forward(aihw_tile *tile, const float *x, int64_t batch,
                                   int64_t in_size, float *y, int64_t out_size) {
  static const char *fn = "aihw_tile_forward";
  AIHW_TRY(aihw_tile_check_mv_args(tile, x, batch, in_size, y, out_size, tile->in_size,
                                   tile->out_size, fn, "x", "y", 0));
  AIHW_TRY(check_plain_weights(tile, fn));
  if (tile->last_rounds_capacity < batch) {
    int *r = aihw_alloc_array((size_t)batch, sizeof(int), "forward round counts");
    if (r == NULL)
      return aihw_last_status();
    aihw_free(tile->last_rounds);
    tile->last_rounds = r;
    tile->last_rounds_capacity = batch;
  }
  aihw_mv_call call = {
      .w = NULL, .w_abs = NULL, .rows = tile->out_size, .cols = tile->cols, .x = x,
      .x_cols = in_size, .y = y, .y_cols = out_size, .batch = batch,
      .alpha = tile->forward_alpha, .seed = tile->config.seed,
      .tile_id = tile->config.tile_id, .op_counter = tile->op_counter,
      .rounds = tile->last_rounds};
  /* The digital stage of aihw_tile_forward_digital, fused into the output kernel. */
  aihw_cuda_digital digital = {
      .in_scales = NULL,
      .out_alpha = !tile->training && tile->compensation_valid ? tile->drift_alpha : NULL,
      .out_scales = tile->out_scales};
  const int exact = tile->config.kind == AIHW_TILE_FLOATING_POINT || tile->forward.perfect;
  if (exact && tile->config.kind != AIHW_TILE_FLOATING_POINT)
    call.alpha = tile->forward.io.out_scale * tile->forward_alpha;
  aihw_status s =
      aihw_cuda_tile_mv(tile->cuda, exact ? NULL : &tile->forward, 0, &call, &digital);
  if (s != AIHW_OK)
    return wrap_error(s, fn);
  tile->op_counter++;
  return AIHW_OK;
}

aihw_status aihw_tile_cuda_backward(aihw_tile *tile, const float *d, int64_t batch,
                                    int64_t out_size, float *z, int64_t in_size) {
  static const char *fn = "aihw_tile_backward";
  AIHW_TRY(aihw_tile_check_mv_args(tile, d, batch, out_size, z, in_size, tile->out_size,
                                   tile->in_size, fn, "d", "z", 0));
  AIHW_TRY(check_plain_weights(tile, fn));
  aihw_mv_call call = {
      .w = NULL, .w_abs = NULL, .rows = tile->out_size, .cols = tile->cols, .x = d,
      .x_cols = out_size, .y = z, .y_cols = in_size, .batch = batch,
      .alpha = tile->backward_alpha, .seed = tile->config.seed,
      .tile_id = tile->config.tile_id, .op_counter = tile->op_counter, .rounds = NULL};
  /* Output scales act on d before the array (aihw_tile_backward). */
  aihw_cuda_digital digital = {.in_scales = tile->out_scales, .out_alpha = NULL,
                               .out_scales = NULL};
  const int exact = tile->config.kind == AIHW_TILE_FLOATING_POINT || tile->backward.perfect;
  if (exact && tile->config.kind != AIHW_TILE_FLOATING_POINT)
    call.alpha = tile->backward.io.out_scale * tile->backward_alpha;
  aihw_status s =
      aihw_cuda_tile_mv(tile->cuda, exact ? NULL : &tile->backward, 1, &call, &digital);
  if (s != AIHW_OK)
    return wrap_error(s, fn);
  tile->op_counter++;
  return AIHW_OK;
}

/* A host copy of a buffer that may live on a device (*copy = NULL when it is host). */
static aihw_status host_view(const float *p, int64_t count, const float **view, float **copy) {
  *copy = NULL;
  *view = p;
  if (!aihw_cuda_backend_is_device_pointer(p))
    return AIHW_OK;
  *copy = aihw_alloc_array((size_t)count, sizeof(float), "host copy of a device buffer");
  if (*copy == NULL)
    return aihw_last_status();
  aihw_status s = aihw_cuda_memcpy_d2h(*copy, p, (size_t)count * sizeof(float));
  if (s != AIHW_OK) {
    aihw_free(*copy);
    *copy = NULL;
    return s;
  }
  *view = *copy;
  return AIHW_OK;
}

/* The GPU update, for gpu_update_kind tiles whose trains fit the kernels; returns
 * UNSUPPORTED (no message) when the call must go to the host instead. */
static aihw_status gpu_update(aihw_tile *tile, const float *x, int64_t batch, int64_t in_size,
                              const float *d, float lr) {
  if (!gpu_update_kind(tile) || tile->out_scales != NULL || aihw_update_reference_path)
    return AIHW_ERR_UNSUPPORTED;
  const aihw_update_params *up = &tile->config.update;
  const aihw_device_state *s = tile->devices;
  const float g = s->granularity;
  int bl_max = up->desired_bl; /* as update.c pulsed_update */
  if (!up->fixed_bl && !up->update_bl_management && g * (float)up->desired_bl < lr) {
    float need = ceilf(lr / g);
    if (need > 128.0f)
      return AIHW_ERR_UNSUPPORTED;
    bl_max = need > (float)bl_max ? (int)need : bl_max;
  }
  if (bl_max > 128)
    return AIHW_ERR_UNSUPPORTED;
  if (tile->op_counter + (uint64_t)batch > AIHW_TILE_MAX_OP_COUNTER)
    return aihw_error(AIHW_ERR_STATE, "aihw_tile_update: the tile's random stream is exhausted");
  aihw_cuda_update_call call = {.x = x, .d = d, .batch = batch, .x_cols = in_size, .lr = lr,
                                .granularity = g, .bl_max = bl_max, .up = *up,
                                .rule = aihw_step_rule_make(&s->params),
                                .seed = tile->config.seed, .tile_id = tile->config.tile_id,
                                .op_counter = tile->op_counter};
  aihw_status st = aihw_cuda_tile_update(tile->cuda, &call);
  if (st != AIHW_OK)
    return wrap_error(st, "aihw_tile_update");
  aihw_cuda_tile_set_host_stale(tile->cuda, 1);
  (void)aihw_tile_weights_changed(tile); /* cannot fail for ANALOG tiles */
  tile->op_counter += (uint64_t)batch;
  ++aihw_cuda_gpu_update_count;
  return AIHW_OK;
}

aihw_status aihw_tile_cuda_update(aihw_tile *tile, const float *x, int64_t batch,
                                  int64_t in_size, const float *d, int64_t out_size,
                                  float lr) {
  aihw_status s = gpu_update(tile, x, batch, in_size, d, lr);
  if (s != AIHW_ERR_UNSUPPORTED)
    return s;
  const float *xh = x, *dh = d;
  float *x_copy = NULL, *d_copy = NULL;
  s = aihw_tile_cuda_sync_host(tile);
  if (s == AIHW_OK)
    s = host_view(x, batch * in_size, &xh, &x_copy);
  if (s == AIHW_OK)
    s = host_view(d, batch * out_size, &dh, &d_copy);
  if (s == AIHW_OK) {
    /* The host update, with the tile seen as a host tile for the duration of the call. */
    aihw_cuda_tile *ct = tile->cuda;
    tile->cuda = NULL;
    s = aihw_tile_update(tile, xh, batch, in_size, dh, out_size, lr);
    tile->cuda = ct;
    if (s == AIHW_OK)
      s = aihw_tile_cuda_upload_weights(tile);
  }
  aihw_free(x_copy);
  aihw_free(d_copy);
  return s;
}
