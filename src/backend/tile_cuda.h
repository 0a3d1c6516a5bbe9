/* The tile's dispatch points into the CUDA backend (tile_cuda.c): tile.c, update.c and
 * the other tile files call these when tile->cuda is set. The public side is
 * include/aihw/cuda.h; the kernels are behind backend/cuda_api.h. */
#ifndef AIHW_BACKEND_TILE_CUDA_H
#define AIHW_BACKEND_TILE_CUDA_H

#include "aihw/cuda.h"
#include "aihw/tile.h"

/* aihw_tile_forward / aihw_tile_backward of a tile on a GPU (same contract; x/y may be
 * host or device memory). */
aihw_status aihw_tile_cuda_forward(aihw_tile *tile, const float *x, int64_t batch,
                                   int64_t in_size, float *y, int64_t out_size);
aihw_status aihw_tile_cuda_backward(aihw_tile *tile, const float *d, int64_t batch,
                                    int64_t out_size, float *z, int64_t in_size);

/* aihw_tile_update of a tile on a GPU: the host update, then the new weights copied
 * over (x and d may be host or device memory). */
aihw_status aihw_tile_cuda_update(aihw_tile *tile, const float *x, int64_t batch,
                                  int64_t in_size, const float *d, int64_t out_size,
                                  float lr);

/* Makes the host copy of the weights current (after GPU updates): a no-op for host tiles
 * and when nothing changed on the device. Logically const: the tile's value is the same. */
aihw_status aihw_tile_cuda_sync_host(const aihw_tile *tile);

/* Number of updates that ran on a GPU (not the host fallback) since the program started;
 * for tests and diagnostics. Not thread-safe. */
extern long aihw_cuda_gpu_update_count;

/* aihw_tile_program_weights / aihw_tile_drift_to of an INFERENCE tile on a GPU, after
 * the public function's checks (evaluation mode, t finite and >= 0): the same state
 * afterwards as the host calls (tile_cuda_inference.c). */
aihw_status aihw_tile_cuda_program_weights(aihw_tile *tile);
aihw_status aihw_tile_cuda_drift_to(aihw_tile *tile, float t_inference_s);

/* The host reference weights changed (aihw_tile_weights_changed): the device copies of the
 * reference and of the programmed weights are out of date. No-op for host tiles. */
void aihw_tile_cuda_reference_changed(aihw_tile *tile);

/* Makes the host programmed weights and drift exponents current after a GPU programming
 * (part of aihw_tile_cuda_sync_host). */
aihw_status aihw_tile_cuda_sync_programmed(const aihw_tile *tile);

/* The forward pass of a LINEAR layer's tile grid (tiles[r * out_splits + c], tile (r, c)
 * covering x columns in_starts[r] .. + in_sizes[r] and outputs out_starts[c] ..
 * + out_sizes[c]) in one GPU call (backend/cuda/cuda_grid.cu): y[batch][out] = sum over r
 * in order of the tiles' outputs, plus bias[out] (may be NULL). Returns
 * AIHW_ERR_UNSUPPORTED *without* setting an error message when the call does not apply
 * (fewer than 2 tiles, a tile on the host or another device, a perfect or
 * AVERAGE_ABS_MAX forward, a weight-modifier copy, aihw_cuda_grid_disabled): the caller
 * then runs the tiles one by one. Each tile's op counter advances by one. x, y host or
 * device memory. */
aihw_status aihw_tile_cuda_grid_forward(aihw_tile *const *tiles, int64_t in_splits,
                                        int64_t out_splits, const int64_t *in_starts,
                                        const int64_t *in_sizes, const int64_t *out_starts,
                                        const int64_t *out_sizes, const float *x,
                                        int64_t batch, int64_t in, float *y, int64_t out,
                                        const float *bias);
/* Tests and benchmarks: nonzero sends grids through the tile-by-tile path; the number
 * of grid calls made. Not thread-safe. */
extern int aihw_cuda_grid_disabled;
extern long aihw_cuda_grid_forward_count;

/* Copies the host weights to the device copy (after set_weights). */
aihw_status aihw_tile_cuda_upload_weights(aihw_tile *tile);

/* AIHW_OK for a host tile; UNSUPPORTED naming `fn` for a tile on a GPU (the calls that
 * change weights or device state and have no GPU version yet). */
aihw_status aihw_tile_require_host(const aihw_tile *tile, const char *fn);

#endif
