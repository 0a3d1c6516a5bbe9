/* The tile object (opaque in the public API) and internal hooks for tests. */
#ifndef AIHW_TILE_INTERNAL_H
#define AIHW_TILE_INTERNAL_H

#include "aihw/tile.h"
#include "devices/device_state.h"
#include "tile/periphery.h"

struct aihw_tile {
  aihw_tile_config config; /* validated copy */
  int64_t out_size, in_size, cols; /* cols = in_size (+1 with analog bias) */
  float *weights;          /* [out_size][cols] */
  float *weights_abs;      /* |weights|, kept current when a periphery needs it, or NULL */
  float forward_alpha, backward_alpha;
  uint64_t op_counter;     /* next operation's position in the random streams */
  aihw_periphery forward, backward;
  aihw_workspace workspace;
  int *last_rounds;        /* analog passes per sample of the last forward (diagnostics) */
  int64_t last_rounds_capacity;
  aihw_device_state *devices; /* pulsed device state (ANALOG with a pulsed model), or NULL */
  int64_t *pulse_counts;   /* [out][cols][2] up/down pulses so far (count_pulses), or NULL */
  /* Drift during training (§5.9), allocated by the first aihw_tile_drift_weights call. */
  float *drift_w0;         /* [out][cols] weight at the start of each device's drift */
  float *drift_prev;       /* [out][cols] weight after the previous drift call */
  double *drift_t;         /* [out][cols] time each device's drift started */
  double drift_now;        /* drift clock in units of t_0 */
  /* INFERENCE tiles (reference §6; src/tile/inference_tile.c) */
  int training;            /* 1: training mode (modified weights, no drift compensation) */
  float *weights_fb;       /* weight-modifier copy used by training forward/backward */
  float *weights_fb_abs;   /* |weights_fb| when the periphery needs it */
  int fb_valid;            /* weights_fb holds a copy of the current weights */
  float *reference;        /* weights as last set: the programming target */
  int reference_valid;
  float *programmed;       /* programmed weights (after programming noise) */
  float *nu;               /* [slices][out][cols] drift exponents */
  int programmed_valid;
  float *out_scales;       /* [out] digital output scales (remap), NULL = all 1 */
  float *drift_baseline;   /* [out] compensation readout right after programming */
  float *drift_alpha;      /* [out] compensation factor applied in evaluation */
  int compensation_valid;
  aihw_workspace aux;      /* scratch that must not alias the periphery's workspace */
};

/* Weights the forward/backward of the current mode read (modified copy in training). */
const float *aihw_tile_read_weights(const aihw_tile *tile, const float **abs_out);

/* Digital output stage of the forward (eval-mode drift compensation, output scales) on
 * y[batch][out]. */
void aihw_tile_forward_digital(const aihw_tile *tile, float *y, int64_t batch);

/* Called by set_weights on every tile: remembers the programming target and invalidates
 * the programmed state, drift compensation and the modified copy. */
aihw_status aihw_tile_weights_changed(aihw_tile *tile);

/* INFERENCE post-update step: clip -> remap -> modifier (§6.1). */
aihw_status aihw_tile_inference_post_update(aihw_tile *tile);

void aihw_tile_inference_free(aihw_tile *tile);

/* Runtime switch to the reference path of the pulsed update (DESIGN.md §4 rule 6): when
 * non-zero, every coincidence is applied as a single step (no ConstantStep aggregation).
 * Set by tests and benchmarks only; not thread-safe. */
extern int aihw_update_reference_path;

/* 1 if the tile updates through a pulsed device model (not an exact update). */
int aihw_tile_is_pulsed(const aihw_tile *tile);

/* Redraws the visible weights of write-noise devices from the persistent ones:
 * w = w_p + write_noise_std * dw_min * xi, for rows [row0, row1) and the columns whose
 * mask entry is non-zero (mask NULL: all). Stream: op counter `op`, purpose WRITE_NOISE. */
void aihw_tile_apply_write_noise(aihw_tile *tile, uint64_t op, const unsigned char *mask,
                                 float *scratch);

/* Clips the weights (persistent ones under write noise) to the device bounds and
 * refreshes the visible weights. */
void aihw_tile_clip_to_device_bounds(aihw_tile *tile);

/* Number of analog passes each sample of the last forward() needed (bound management),
 * 0 for samples answered with zeros; NULL before the first forward. Length = that
 * forward's batch. For tests and diagnostics. */
const int *aihw_tile_last_forward_rounds(const aihw_tile *tile);

/* Largest op counter a tile accepts (48 bits, see core/philox.h). */
#define AIHW_TILE_MAX_OP_COUNTER ((UINT64_C(1) << 48) - 1)

#endif
