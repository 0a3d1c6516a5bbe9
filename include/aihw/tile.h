/* One analog tile: a crossbar of out_size x in_size weights that computes y = W x
 * (forward) and z = W^T d (backward) through its periphery (reference §2, §3).
 *
 * Layout: weights are row-major [out_size][in_cols] where in_cols = in_size, plus one
 * trailing column holding the analog bias when the tile has one. Inputs are row-major
 * [batch][in_size], outputs [batch][out_size]; all buffers are caller-owned float32 host
 * memory and are only read (or written) during the call.
 *
 * Randomness: every random number a tile draws is a pure function of (seed, tile_id,
 * operation counter, element coordinates) through Philox4x32-10, so results are
 * bit-identical for any number of threads. Each forward/backward call advances the
 * tile's operation counter by one.
 *
 * Thread safety: distinct tiles may be used from different threads at once; calls on one
 * tile must not overlap. Calls parallelise internally with OpenMP.
 */
#ifndef AIHW_TILE_H
#define AIHW_TILE_H

#include "aihw/common.h"
#include "aihw/io_params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tile kinds (aihwkit TILE_CLASS_*). Append-only. */
typedef enum aihw_tile_kind {
  AIHW_TILE_FLOATING_POINT = 0, /* exact GEMM forward/backward */
  AIHW_TILE_ANALOG = 1,         /* IO-managed periphery both ways (pulsed training later) */
  AIHW_TILE_INFERENCE = 2       /* IO-managed forward, perfect backward by default */
} aihw_tile_kind;

/* Construction parameters of a tile. Plain data; start from aihw_tile_config_default(). */
typedef struct aihw_tile_config {
  aihw_tile_kind kind;
  aihw_io_params forward;  /* periphery of forward(); ignored for FLOATING_POINT */
  aihw_io_params backward; /* periphery of backward(); BM is always NONE backward */
  int analog_bias;         /* 1: weights get a trailing bias column driven by input 1.0 */
  uint32_t seed;           /* Philox key word 0 */
  uint32_t tile_id;        /* Philox key word 1: tiles of one network draw distinct streams */
} aihw_tile_config;

/* Default configuration of a kind, as aihwkit builds it: ANALOG uses IOParameters() both
 * ways; INFERENCE uses IOParameters() forward and is_perfect backward; seed 0, tile_id 0,
 * no analog bias. An out-of-range kind gives the ANALOG defaults with that kind, which
 * aihw_tile_create() then rejects. */
AIHW_API aihw_tile_config aihw_tile_config_default(aihw_tile_kind kind);

/* Name of a kind ("FLOATING_POINT", "ANALOG", "INFERENCE"), NULL if out of range. */
AIHW_API const char *aihw_tile_kind_name(aihw_tile_kind kind);

typedef struct aihw_tile aihw_tile;

/* Creates a tile with all weights 0 and digital scales (alpha) 1. The configuration is
 * validated and copied. Systematic per-output periphery parameters (out_noise_std,
 * v_offset_std, out_nonlinearity, w_read_asymmetry_dtod) are drawn here from the tile's
 * stream. *out receives the new tile, owned by the caller (aihw_tile_destroy()).
 * Errors: INVALID_ARGUMENT (NULL, sizes < 1 or too large, bad config), OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_tile_create(const aihw_tile_config *config, int64_t out_size,
                                      int64_t in_size, aihw_tile **out);

/* Frees the tile. NULL is accepted. */
AIHW_API void aihw_tile_destroy(aihw_tile *tile);

AIHW_API int64_t aihw_tile_out_size(const aihw_tile *tile); /* rows; -1 for NULL */
AIHW_API int64_t aihw_tile_in_size(const aihw_tile *tile);  /* inputs w/o bias; -1 for NULL */
/* Columns of the weight matrix: in_size + 1 with an analog bias, else in_size. */
AIHW_API int64_t aihw_tile_weight_cols(const aihw_tile *tile);
AIHW_API aihw_tile_kind aihw_tile_kind_of(const aihw_tile *tile);

/* Copies the tile's configuration (as validated at creation) to *config. */
AIHW_API aihw_status aihw_tile_get_config(const aihw_tile *tile, aihw_tile_config *config);

/* Sets the weights exactly from w[rows][cols]. rows/cols must equal out_size and
 * aihw_tile_weight_cols(). Every value must be finite (AIHW_ERR_NOT_FINITE otherwise,
 * naming the first offending element); on any error the weights are unchanged. */
AIHW_API aihw_status aihw_tile_set_weights(aihw_tile *tile, const float *w, int64_t rows,
                                           int64_t cols);

/* Copies the weights exactly to w[rows][cols] (shape checked as for set_weights). */
AIHW_API aihw_status aihw_tile_get_weights(const aihw_tile *tile, float *w, int64_t rows,
                                           int64_t cols);

/* Forward pass y[batch][out_size] = periphery(W x) for x[batch][in_size]. x must be
 * finite. y may not alias x. Errors: INVALID_ARGUMENT, SHAPE, NOT_FINITE, OUT_OF_MEMORY;
 * y is untouched on error. */
AIHW_API aihw_status aihw_tile_forward(aihw_tile *tile, const float *x, int64_t batch,
                                       int64_t in_size, float *y, int64_t out_size);

/* Backward pass z[batch][in_size] = periphery(W^T d) for d[batch][out_size], through the
 * backward IO parameters (no bound management; the bias column's gradient is dropped). */
AIHW_API aihw_status aihw_tile_backward(aihw_tile *tile, const float *d, int64_t batch,
                                        int64_t out_size, float *z, int64_t in_size);

/* Digital output scales applied after the periphery (aihwkit fwd_alpha / bwd_alpha). */
AIHW_API aihw_status aihw_tile_set_alpha(aihw_tile *tile, float forward_alpha,
                                         float backward_alpha);
AIHW_API aihw_status aihw_tile_get_alpha(const aihw_tile *tile, float *forward_alpha,
                                         float *backward_alpha);

/* The tile's random-stream position: the operation counter (number of calls that drew
 * random numbers so far). Saving it with the weights and restoring it continues the
 * exact same streams. */
AIHW_API aihw_status aihw_tile_get_counter(const aihw_tile *tile, uint64_t *counter);
AIHW_API aihw_status aihw_tile_set_counter(aihw_tile *tile, uint64_t counter);

#ifdef __cplusplus
}
#endif
#endif
