/* INFERENCE tiles on a GPU: aihw_tile_program_weights and aihw_tile_drift_to run on the
 * device (backend/cuda/cuda_inference.cu), with the drift compensation's readout through
 * the GPU forward (inference_tile.c states the host version; this file follows it step by
 * step, so the tile's state after a call is the same as on the host, bit for bit).
 *
 * Copies. The device keeps the reference (programming target), the programmed weights and
 * the drift exponents beside the weights; backend flags (AIHW_CUDA_*) say which are
 * current:
 * - the device reference is uploaded from the host reference (always current on the host:
 *   every weight change goes through the host, aihw_tile_weights_changed) when a call needs
 *   it and it is not marked valid; aihw_tile_cuda_reference_changed clears the mark;
 * - programming on the device leaves the host programmed weights and nu stale
 *   (AIHW_CUDA_PROG_HOST_STALE); aihw_tile_cuda_sync_host downloads them for every host
 *   reader (state export, to_host), as it does the weights;
 * - a tile programmed on the host and moved to the GPU uploads its programmed weights and
 *   nu on the first drift.
 * The small per-output arrays (drift baseline and alpha) live on the host, as the forward
 * kernels read them from there.
 */
#include <math.h>
#include <string.h>

#include "backend/cuda_api.h"
#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "inference/inference_internal.h"
#include "tile/tile_internal.h"

void aihw_tile_cuda_reference_changed(aihw_tile *tile) {
  if (tile == NULL || tile->cuda == NULL)
    return;
  int flags = aihw_cuda_tile_inference_flags(tile->cuda);
  flags &= ~(AIHW_CUDA_REF_VALID | AIHW_CUDA_PROG_VALID | AIHW_CUDA_PROG_HOST_STALE);
  aihw_cuda_tile_set_inference_flags(tile->cuda, flags);
}

aihw_status aihw_tile_cuda_sync_programmed(const aihw_tile *tile) {
  if (tile == NULL || tile->cuda == NULL)
    return AIHW_OK;
  const int flags = aihw_cuda_tile_inference_flags(tile->cuda);
  if (!(flags & AIHW_CUDA_PROG_HOST_STALE))
    return AIHW_OK;
  const int slices = aihw_converter_slices(&tile->config.inference.converter);
  AIHW_TRY(aihw_cuda_tile_download_programmed(tile->cuda, tile->programmed, tile->nu, slices));
  aihw_cuda_tile_set_inference_flags(tile->cuda, flags & ~AIHW_CUDA_PROG_HOST_STALE);
  return AIHW_OK;
}

static aihw_status need_reference(aihw_tile *tile) {
  const int flags = aihw_cuda_tile_inference_flags(tile->cuda);
  if (flags & AIHW_CUDA_REF_VALID)
    return AIHW_OK;
  AIHW_TRY(aihw_cuda_tile_upload_reference(tile->cuda, tile->reference));
  aihw_cuda_tile_set_inference_flags(tile->cuda, flags | AIHW_CUDA_REF_VALID);
  return AIHW_OK;
}

/* inference_tile.c compensation_readout on the device (the exact variant reads only the
 * host reference and is computed here as there). */
static aihw_status readout(aihw_tile *tile, int exact, float *out) {
  const int64_t m = tile->out_size, n = tile->cols;
  const int per_column =
      tile->config.inference.drift_compensation == AIHW_DRIFT_COMPENSATION_PER_COLUMN;
  double total = 0.0;
  if (exact) {
    const float *w = tile->reference; /* valid: programming needs it */
    for (int64_t i = 0; i < m; ++i) {
      double s = 0.0;
      for (int64_t j = 0; j < n; ++j)
        s += fabs((double)w[i * n + j]);
      out[i] = (float)(s / (double)n);
      total += s;
    }
  } else {
    double *sums = aihw_alloc_array((size_t)m, sizeof(double), "readout sums");
    if (sums == NULL)
      return aihw_last_status();
    aihw_mv_call call = {.w = NULL, .w_abs = NULL, .rows = m, .cols = n,
                         .alpha = tile->forward_alpha, .seed = tile->config.seed,
                         .tile_id = tile->config.tile_id, .op_counter = tile->op_counter++,
                         .rounds = NULL};
    aihw_status s = aihw_cuda_tile_readout(tile->cuda, tile->forward.perfect ? NULL : &tile->forward,
                                           &call, sums);
    if (s != AIHW_OK) {
      aihw_free(sums);
      return s;
    }
    for (int64_t i = 0; i < m; ++i) {
      out[i] = (float)(sums[i] / (double)n);
      total += sums[i];
    }
    aihw_free(sums);
  }
  if (!per_column) {
    const float global = (float)(total / (double)(n * m));
    for (int64_t i = 0; i < m; ++i)
      out[i] = global;
  }
  for (int64_t i = 0; i < m; ++i)
    out[i] = out[i] > 1e-4f ? out[i] : 1e-4f;
  return AIHW_OK;
}

aihw_status aihw_tile_cuda_program_weights(aihw_tile *tile) {
  const aihw_inference_params *ip = &tile->config.inference;
  /* Host arrays: the targets of aihw_tile_cuda_sync_programmed. */
  AIHW_TRY(aihw_tile_prepare_programming(tile));
  AIHW_TRY(need_reference(tile));
  AIHW_TRY(aihw_cuda_tile_program(tile->cuda, &ip->noise_model, &ip->converter,
                                  tile->config.seed, tile->config.tile_id, tile->op_counter));
  tile->op_counter++;
  aihw_cuda_tile_set_host_stale(tile->cuda, 1); /* device weights = programmed weights */
  aihw_cuda_tile_set_inference_flags(tile->cuda, aihw_cuda_tile_inference_flags(tile->cuda) |
                                                     AIHW_CUDA_PROG_VALID |
                                                     AIHW_CUDA_PROG_HOST_STALE);
  tile->fb_valid = 0;
  tile->programmed_valid = 1;
  tile->compensation_valid = 0;
  if (ip->drift_compensation != AIHW_DRIFT_COMPENSATION_NONE) {
    const int exact = ip->drift_compensation == AIHW_DRIFT_COMPENSATION_GLOBAL_EXACT_REFERENCE;
    AIHW_TRY(readout(tile, exact, tile->drift_baseline));
    for (int64_t i = 0; i < tile->out_size; ++i)
      tile->drift_alpha[i] = 1.0f;
    tile->compensation_valid = 1;
  }
  return AIHW_OK;
}

aihw_status aihw_tile_cuda_drift_to(aihw_tile *tile, float t_inference_s) {
  if (!tile->programmed_valid)
    AIHW_TRY(aihw_tile_cuda_program_weights(tile));
  const aihw_inference_params *ip = &tile->config.inference;
  const aihw_noise_model_params *nm = &ip->noise_model;
  const int slices = aihw_converter_slices(&ip->converter);
  int flags = aihw_cuda_tile_inference_flags(tile->cuda);
  if (!(flags & AIHW_CUDA_PROG_VALID)) { /* programmed on the host (then moved here) */
    AIHW_TRY(aihw_cuda_tile_upload_programmed(tile->cuda, tile->programmed, tile->nu, slices));
    flags = (flags | AIHW_CUDA_PROG_VALID) & ~AIHW_CUDA_PROG_HOST_STALE;
    aihw_cuda_tile_set_inference_flags(tile->cuda, flags);
  }
  const int at_target = nm->type != AIHW_NOISE_NONE &&
                        nm->type != AIHW_NOISE_STATE_INDEPENDENT && nm->read_noise_at_target;
  if (at_target)
    AIHW_TRY(need_reference(tile));
  AIHW_TRY(aihw_cuda_tile_drift(tile->cuda, nm, &ip->converter, t_inference_s, at_target,
                                tile->config.seed, tile->config.tile_id, tile->op_counter));
  tile->op_counter++;
  aihw_cuda_tile_set_host_stale(tile->cuda, 1);
  tile->fb_valid = 0;
  if (ip->drift_compensation != AIHW_DRIFT_COMPENSATION_NONE) {
    AIHW_TRY(readout(tile, 0, tile->drift_alpha));
    for (int64_t i = 0; i < tile->out_size; ++i)
      tile->drift_alpha[i] = tile->drift_baseline[i] / tile->drift_alpha[i];
    tile->compensation_valid = 1;
  }
  return AIHW_OK;
}
