/* The CUDA backend's entry points (src/backend/cuda/ (.cu files), compiled by nvcc), as the C
 * side of the library sees them. This header is plain C and C++: the kernels' file
 * includes it too, so both compilers agree on every declaration.
 *
 * Contract (DESIGN.md §1, §4): the backend keeps a device copy of a tile's weights and
 * of the periphery's systematic per-output values; it runs the same steps as the CPU
 * path (src/tile/periphery.c) with the same Philox coordinates and the same shared
 * physics functions (src/physics/), so outputs agree with the CPU up to GEMM rounding.
 * Every call is synchronous: results are complete when it returns. Inputs and outputs may
 * be host or device memory (found out per pointer). Built without CUDA, every function
 * reports AIHW_ERR_UNSUPPORTED and aihw_cuda_backend_device_count() returns 0.
 */
#ifndef AIHW_BACKEND_CUDA_API_H
#define AIHW_BACKEND_CUDA_API_H

#include <stdint.h>

#include "aihw/common.h"
#include "aihw/inference.h"
#include "aihw/update_params.h"
#include "physics/device_math.h"
#include "tile/periphery.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device state of one tile (opaque to C). */
typedef struct aihw_cuda_tile aihw_cuda_tile;

/* 1 when the library was built with the CUDA backend, else 0. */
int aihw_cuda_backend_available(void);

/* Number of usable CUDA devices; 0 without a driver, a device or CUDA support. */
int aihw_cuda_backend_device_count(void);

/* 1 if p points to CUDA device (or managed) memory, 0 for host memory or without CUDA. */
int aihw_cuda_backend_is_device_pointer(const void *p);

/* Which periphery features the CUDA kernels implement: AIHW_OK, or UNSUPPORTED naming the
 * first field (prefixed by `what`) that they do not. */
aihw_status aihw_cuda_backend_check_periphery(const aihw_periphery *p, const char *what);

/* Creates the device state on device `device`: weights w[rows][cols] (host) and the
 * systematic values of both peripheries (either may be NULL for exact products). */
aihw_status aihw_cuda_tile_create(int device, const float *w, int64_t rows, int64_t cols,
                                  const aihw_periphery *forward,
                                  const aihw_periphery *backward, aihw_cuda_tile **out);
void aihw_cuda_tile_destroy(aihw_cuda_tile *ct);
int aihw_cuda_tile_device(const aihw_cuda_tile *ct);

/* Whether the device weights are newer than the host copy (set after a GPU update; the
 * C side keeps the flag, the backend only stores it). */
int aihw_cuda_tile_host_stale(const aihw_cuda_tile *ct);
void aihw_cuda_tile_set_host_stale(aihw_cuda_tile *ct, int stale);

/* Copies host weights w[rows][cols] to the device copy, or the device copy to w. */
aihw_status aihw_cuda_tile_upload_weights(aihw_cuda_tile *ct, const float *w);
aihw_status aihw_cuda_tile_download_weights(const aihw_cuda_tile *ct, float *w);

/* Digital stages around the periphery (NULL: off): in_scales[x_cols] multiply the input
 * first (backward out_scales), out_alpha[y_cols] then out_scales[y_cols] multiply the
 * finished outputs in that order (forward drift compensation and output scales). */
typedef struct aihw_cuda_digital {
  const float *in_scales, *out_alpha, *out_scales; /* host memory */
} aihw_cuda_digital;

/* The batched product of aihw_periphery_mv (p != NULL, not perfect) or aihw_exact_mv
 * (p == NULL or perfect; call->alpha is the whole output factor) on the device weights;
 * call->w and call->w_abs are ignored. call->x and call->y may be host or device memory.
 * NOT_FINITE (naming the first non-finite input) before anything is written.
 * Updates p->nm_running (AVERAGE_ABS_MAX). */
aihw_status aihw_cuda_tile_mv(aihw_cuda_tile *ct, aihw_periphery *p, int transposed,
                              const aihw_mv_call *call, const aihw_cuda_digital *digital);

/* ConstantStep device state for the GPU update: copies of the bounds and step sizes
 * [rows][cols] (they do not change while the tile is on the device). */
aihw_status aihw_cuda_tile_set_devices(aihw_cuda_tile *ct, const float *max_bound,
                                       const float *min_bound, const float *scale_up,
                                       const float *scale_down);

/* One pulsed ConstantStep update call (src/tile/update.c, "Pulsed update of one call"):
 * update management per sample, bit-packed stochastic trains from the same Philox
 * coordinates, the batch aggregated per device where the bounds are out of reach and
 * single steps (sequential per row, as the CPU) elsewhere. x[batch][x_cols] (analog bias
 * input appended when cols > x_cols) and d[batch][rows] may be host or device memory.
 * Checks x and d for finiteness first (NOT_FINITE naming the element; nothing changed).
 * Needs aihw_cuda_tile_set_devices() first. The device weights change; the host copy
 * does not (aihw_cuda_tile_download_weights). */
typedef struct aihw_cuda_update_call {
  const float *x, *d;
  int64_t batch, x_cols;
  float lr, granularity;
  int bl_max; /* longest train of the call */
  aihw_update_params up;
  aihw_step_rule rule;
  uint32_t seed, tile_id;
  uint64_t op_counter; /* op of sample 0 */
} aihw_cuda_update_call;
aihw_status aihw_cuda_tile_update(aihw_cuda_tile *ct, const aihw_cuda_update_call *call);

/* ---- Inference tiles: programming, drift, drift-compensation readout (cuda_inference.cu)
 *
 * The device keeps, beside the weights, the programming target (reference), the
 * programmed weights and the drift exponents nu[slices][rows][cols]. Which of them are
 * current is the C side's business (backend/tile_cuda_inference.c); the backend stores
 * the flags below. Kernels follow src/inference/program.c element by element (same
 * physics functions, same Philox coordinates), so results are bit-identical to the CPU. */
enum {
  AIHW_CUDA_REF_VALID = 1,        /* device reference == the tile's host reference */
  AIHW_CUDA_PROG_VALID = 2,       /* device programmed weights and nu are current */
  AIHW_CUDA_PROG_HOST_STALE = 4   /* host programmed weights and nu are older */
};
int aihw_cuda_tile_inference_flags(const aihw_cuda_tile *ct);
void aihw_cuda_tile_set_inference_flags(aihw_cuda_tile *ct, int flags);

/* Copies host arrays to the device copies: the reference [rows][cols], or the programmed
 * weights [rows][cols] and nu [slices][rows][cols] (allocating them on first use). */
aihw_status aihw_cuda_tile_upload_reference(aihw_cuda_tile *ct, const float *reference);
aihw_status aihw_cuda_tile_upload_programmed(aihw_cuda_tile *ct, const float *programmed,
                                             const float *nu, int slices);
/* Copies the device programmed weights and nu to the host arrays. */
aihw_status aihw_cuda_tile_download_programmed(const aihw_cuda_tile *ct, float *programmed,
                                               float *nu, int slices);

/* aihw_inference_program on the device: reference -> programmed weights, nu, and the
 * device weights (= the programmed weights). Needs the device reference. NOT_FINITE
 * naming w_target[i][j] before anything is written. */
aihw_status aihw_cuda_tile_program(aihw_cuda_tile *ct, const aihw_noise_model_params *nm,
                                   const aihw_converter_params *cv, uint32_t seed,
                                   uint32_t tile_id, uint64_t op);

/* aihw_inference_drift_with_target on the device: programmed weights and nu -> device
 * weights (the reference is read when at_target). t_inference >= 0 and finite (checked by
 * the caller). Needs the device programmed weights and nu (and reference when at_target).*/
aihw_status aihw_cuda_tile_drift(aihw_cuda_tile *ct, const aihw_noise_model_params *nm,
                                 const aihw_converter_params *cv, float t_inference,
                                 int at_target, uint32_t seed, uint32_t tile_id, uint64_t op);

/* The drift-compensation readout of inference_tile.c: one-hot inputs over all cols
 * through the forward product (p as aihw_cuda_tile_mv; call->x, ->y, ->batch, ->x_cols,
 * ->y_cols are set here), then sums[i] = sum_j |y[j][i]| in double, in j order, into
 * host sums[rows]. */
aihw_status aihw_cuda_tile_readout(aihw_cuda_tile *ct, aihw_periphery *p,
                                   const aihw_mv_call *call, double *sums);

/* ---- A layer's tile grid in one call (cuda_grid.cu) -------------------------------- */

/* Tile (r, c) of a grid call: its device state, forward periphery (not perfect, not
 * AVERAGE_ABS_MAX), its block of the layer (x columns in_start .. + n_in, outputs
 * out_start .. + n_out), and what aihw_cuda_tile_mv's call and digital stage would hold. */
typedef struct aihw_cuda_grid_tile {
  aihw_cuda_tile *ct;
  aihw_periphery *p;
  int64_t in_start, n_in, out_start, n_out;
  float alpha; /* forward_alpha */
  uint32_t seed, tile_id;
  uint64_t op;
  const float *out_alpha, *out_scales; /* host [n_out] or NULL */
  int *rounds;                         /* host [batch] or NULL */
} aihw_cuda_grid_tile;

/* y[batch][out] = sum over r of tile (r, c)'s forward of its x block, in r order, plus
 * bias[out] (host, may be NULL), for tiles[r * out_splits + c], all on one device. Every
 * tile's result and random draws are those of aihw_cuda_tile_mv (same kernels); one host
 * synchronisation per bound-management round for the whole grid. x, y host or device
 * memory. NOT_FINITE naming x[b][j] before anything is written. */
aihw_status aihw_cuda_grid_forward(const aihw_cuda_grid_tile *tiles, int64_t in_splits,
                                   int64_t out_splits, const float *x, int64_t batch,
                                   int64_t in, float *y, int64_t out, const float *bias);

/* Floors for the benchmarks, measured on device `device` as the tile calls are (host
 * clock around the call and a device synchronisation): median seconds of a bare
 * cublasSgemm C[batch][n_out] = X[batch][n_in] W[n_out][n_in]^T (float32, default math
 * mode), and of a device-to-device copy of `bytes` bytes, over `repeats` timed runs after
 * two warm-up runs. */
aihw_status aihw_cuda_bench_sgemm(int device, int64_t batch, int64_t n_out, int64_t n_in,
                                  int repeats, double *median_s);
aihw_status aihw_cuda_bench_copy(int device, int64_t bytes, int repeats, double *median_s);

/* Floor of random-number generation, timed the same way: `uniform_blocks` Philox blocks
 * turned into 4 uniforms and `normal_blocks` into 4 normals (Box-Muller), each once. */
aihw_status aihw_cuda_bench_philox(int device, int64_t uniform_blocks, int64_t normal_blocks,
                                   int repeats, double *median_s);

/* Device memory for benchmarks and tests (cudaMalloc / cudaFree / cudaMemcpy). */
aihw_status aihw_cuda_malloc(int device, size_t bytes, void **out);
void aihw_cuda_free(void *ptr);
aihw_status aihw_cuda_memcpy_h2d(void *dst, const void *src, size_t bytes);
aihw_status aihw_cuda_memcpy_d2h(void *dst, const void *src, size_t bytes);

/* Name of device `device` (e.g. "NVIDIA H100 80GB HBM3") into buf, or "" */
void aihw_cuda_device_name(int device, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
