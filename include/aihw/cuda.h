/* The CUDA backend, seen from a tile (DESIGN.md §1, §4).
 *
 * A tile lives on the host until aihw_tile_to_cuda() moves it to a GPU: the weights and
 * the periphery's systematic per-output values are copied to that device, and from then
 * on aihw_tile_forward() and aihw_tile_backward() run there (cuBLAS SGEMM + one fused
 * epilogue kernel per bound-management round), with the same random draws as the CPU
 * path (Philox addressed by coordinates): outputs agree with the CPU up to the rounding
 * of the matrix product. Their x/y (d/z) buffers may be host memory or CUDA device
 * memory of any device-accessible kind; each pointer is looked up per call.
 *
 * While a tile is on a GPU (this version):
 * - forward, backward, set/get weights, alpha, counter, training mode, output scales
 *   and state export work as on the host (set_weights copies the new weights over);
 * - aihw_tile_update() of a ConstantStep tile (pulse trains, no write noise) runs on the
 *   GPU, bit-identical to the host update; other updates run on the host and copy the
 *   new weights over;
 * - a LINEAR module whose tiles are all on one GPU runs its forward tile grid in one
 *   call (same results as tile by tile);
 * - aihw_tile_program_weights() and aihw_tile_drift_to() of an INFERENCE tile run on the
 *   GPU (programming noise, drift, read noise and the drift-compensation readout), with
 *   the CPU's random draws and physics functions: the weights, programmed weights, drift
 *   exponents and op counter come out bit-identical to the host calls; the programmed
 *   weights and exponents stay on the device until a host reader (state export,
 *   aihw_tile_to_host) needs them;
 * - the other calls that change weights or device state (decay, diffusion, reset, clip,
 *   aihw_tile_drift_weights, hidden parameters, state import) return
 *   AIHW_ERR_UNSUPPORTED naming the call: move the tile back first;
 * - periphery features the kernels lack (POS_NEG_SEPARATE* mv types, IR drop, PCM_READ
 *   weight noise, read asymmetry) and training-mode weight modifiers make
 *   aihw_tile_to_cuda() return AIHW_ERR_UNSUPPORTED naming the field.
 * The host copy of the weights stays current throughout, so aihw_tile_to_host() only
 * releases the device memory.
 */
#ifndef AIHW_CUDA_H
#define AIHW_CUDA_H

#include "aihw/common.h"
#include "aihw/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of CUDA devices aihw can use: 0 when built without CUDA (AIHW_CUDA=OFF), without
 * a driver or without a GPU. Never fails. */
AIHW_API int aihw_cuda_device_count(void);

/* Moves the tile to CUDA device `device` (0 .. aihw_cuda_device_count() - 1); a tile
 * already on that device is left as it is, one on another device is moved. Errors:
 * INVALID_ARGUMENT (NULL tile, device out of range), UNSUPPORTED (no CUDA in this build or
 * no device; a periphery feature or mode the kernels lack, naming it), OUT_OF_MEMORY
 * (device memory), INTERNAL (a CUDA error, with its text). On error the tile stays where
 * it was. */
AIHW_API aihw_status aihw_tile_to_cuda(aihw_tile *tile, int device);

/* Moves the tile back to the host (a no-op for a host tile) and frees its device memory.
 * Errors: INVALID_ARGUMENT (NULL). */
AIHW_API aihw_status aihw_tile_to_host(aihw_tile *tile);

/* The CUDA device the tile lives on, or -1 for the host (and for NULL). */
AIHW_API int aihw_tile_device(const aihw_tile *tile);

#ifdef __cplusplus
}
#endif
#endif
