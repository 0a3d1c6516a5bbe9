/* Tiles on the CUDA backend: moving a tile to a GPU and back, and the forward / backward
 * / update dispatch of a tile that lives there (include/aihw/cuda.h states the contract).
 *
 * Invariant: the host copy of the weights is always current. The only call that changes
 * weights while the tile is on a GPU is set_weights / update (host first, then copied
 * over); every other weight-changing call refuses (aihw_tile_require_host). So moving
 * back to the host never copies anything. */
#include "backend/tile_cuda.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda_api.h"
#include "core/alloc.h"
#include "core/error.h"
#include "tile/tile_internal.h"

/* Prefixes the backend's message with the public function's name. */
static aihw_status wrap_error(aihw_status status, const char *fn) {
  char message[768];
  snprintf(message, sizeof message, "%s", aihw_last_error());
  return aihw_error(status, "%s: %s", fn, message);
}

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
  AIHW_TRY(check_plain_weights(tile, fn));
  const int exact = tile->config.kind == AIHW_TILE_FLOATING_POINT;
  aihw_cuda_tile *ct = NULL;
  AIHW_TRY(aihw_cuda_tile_create(device, tile->weights, tile->out_size, tile->cols,
                                 exact ? NULL : &tile->forward, exact ? NULL : &tile->backward,
                                 &ct));
  aihw_cuda_tile_destroy(tile->cuda);
  tile->cuda = ct;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_to_host(aihw_tile *tile) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_to_host: tile is NULL");
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
  return aihw_cuda_tile_upload_weights(tile->cuda, tile->weights);
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

aihw_status aihw_tile_cuda_update(aihw_tile *tile, const float *x, int64_t batch,
                                  int64_t in_size, const float *d, int64_t out_size,
                                  float lr) {
  const float *xh = x, *dh = d;
  float *x_copy = NULL, *d_copy = NULL;
  aihw_status s = AIHW_OK;
  if (x != NULL && d != NULL && batch > 0 && in_size > 0 && out_size > 0) {
    s = host_view(x, batch * in_size, &xh, &x_copy);
    if (s == AIHW_OK)
      s = host_view(d, batch * out_size, &dh, &d_copy);
  }
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
