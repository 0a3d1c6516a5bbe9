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
  /* Compound devices (src/tile/compound.c): the compound's state, or NULL. */
  struct aihw_compound *compound;
  /* Set only on the single-device views of a compound's update (update.c,
   * aihw_tile_update_view): added to the step- and write-noise rounds so that sub-devices
   * draw distinct noise; granularity update management assumes (0: the device's). */
  uint32_t rng_noise_round;
  float update_granularity;
  /* OneSidedUnitCell views (compound_onesided.c): 0 = every coincidence; +1 = only the
   * up-step ones (count < 0); -1 = only the down-step ones (count > 0), applied as up
   * steps. */
  int update_sign_filter;
  struct aihw_cuda_tile *cuda; /* device copy on a GPU (src/backend/tile_cuda.c), or NULL */
};

/* Argument checks of forward/backward: NULL pointers, batch range, shapes, aliasing,
 * counter range and (check_finite) a finite input in host memory. */
aihw_status aihw_tile_check_mv_args(const aihw_tile *tile, const float *in, int64_t batch,
                                    int64_t in_cols, const float *out, int64_t out_cols,
                                    int64_t expect_in, int64_t expect_out, const char *fn,
                                    const char *in_name, const char *out_name,
                                    int check_finite);

/* ---- Compound devices (compound.c) --------------------------------------------------- */

/* One sub-device update through the pulsed (or exact) update path of `tile`: a view of the
 * tile whose device state, weights, update parameters, input length, op counter and noise
 * round are these. transfer = 1: no output scales and no backward alpha (internal
 * transfer updates). The tile's own weights, device and counter are untouched. */
typedef struct aihw_device_view {
  aihw_device_state *devices;
  float *weights;
  const aihw_update_params *update;
  int64_t in_size;      /* length of the x rows: in_size, or cols for one-hot columns */
  uint64_t op;          /* op counter of the first sample */
  uint32_t noise_round; /* added to the step/write-noise rounds */
  float granularity;    /* update management's g (> 0) */
  int transfer;
  int sign_filter;      /* aihw_tile.update_sign_filter of the view (0: none) */
} aihw_device_view;

aihw_status aihw_tile_update_view(aihw_tile *tile, const aihw_device_view *view,
                                  const float *x, int64_t batch, const float *d, float lr);

/* Compound life cycle and operations; compound.c documents them. */
aihw_status aihw_compound_create(aihw_tile *tile);
void aihw_compound_destroy(struct aihw_compound *c);
aihw_status aihw_compound_set_weights(aihw_tile *tile, const float *w);
aihw_status aihw_compound_update(aihw_tile *tile, const float *x, int64_t batch,
                                 const float *d, float lr);
/* Decay (alpha as aihw_tile_decay_weights), diffusion and clipping (clip < 0: bounds
 * only) of every sub-device, then the reduction; each uses one op counter value. */
aihw_status aihw_compound_decay(aihw_tile *tile, float alpha);
aihw_status aihw_compound_diffuse(aihw_tile *tile);
aihw_status aihw_compound_clip(aihw_tile *tile, float clip);
/* Column resets (transfer compounds: device 0 only) and drift of every sub-device, then
 * the reduction (compound_ops.c); arguments as aihw_tile_reset_columns /
 * aihw_tile_drift_weights. */
aihw_status aihw_compound_reset_columns(aihw_tile *tile, int64_t start, int64_t count,
                                        float probability);
aihw_status aihw_compound_drift(aihw_tile *tile, float dt);
/* Whether any sub-device decays (lifetime > 0) / diffuses (diffusion > 0). */
int aihw_compound_has_decay_or_diffusion(const aihw_tile *tile, int *decay, int *diffusion);

/* Weights the forward/backward of the current mode read (modified copy in training). */
const float *aihw_tile_read_weights(const aihw_tile *tile, const float **abs_out);

/* Digital output stage of the forward (eval-mode drift compensation, output scales) on
 * y[batch][out]. */
void aihw_tile_forward_digital(const aihw_tile *tile, float *y, int64_t batch);

/* Called by set_weights on every tile: remembers the programming target and invalidates
 * the programmed state, drift compensation and the modified copy. */
aihw_status aihw_tile_weights_changed(aihw_tile *tile);

/* Before programming (CPU or CUDA): the host arrays of the programmed state exist, and
 * the tile has weights to program (STATE otherwise). */
aihw_status aihw_tile_prepare_programming(aihw_tile *tile);

/* INFERENCE post-update step: clip -> remap -> modifier (§6.1). */
aihw_status aihw_tile_inference_post_update(aihw_tile *tile);

void aihw_tile_inference_free(aihw_tile *tile);

/* Runtime switch to the reference path of the pulsed update (DESIGN.md §4 rule 6): when
 * non-zero, every coincidence is applied as a single step (no ConstantStep aggregation).
 * Set by tests and benchmarks only; not thread-safe. */
extern int aihw_update_reference_path;

/* Runtime switch of the pulsed update's loops, for tests: 0 chooses per row and sample
 * between visiting every column (dense) and only the columns whose x fires (sparse),
 * between drawing a row's ConstantStep normals in one fill or block by block, and between
 * filling a train's uniforms for every element or only for those that can fire; 1 forces
 * dense and whole fills, 2 sparse and element by element. Every choice gives the same
 * bits. */
extern int aihw_update_sparse_mode;

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

/* ---- State files (tile_state.c, tile_config_json.c) ---------------------------------- */

struct aihw_st_dict;
struct cJSON;

/* Most hidden parameters a tile has: 8 common arrays, persistent weights, 3 model extras. */
#define AIHW_TILE_MAX_HIDDEN 12

/* A list of tensor names for error messages ("'a', 'b', ... and 3 more"): names are
 * appended while they fit, the rest only counted. */
typedef struct aihw_state_names {
  char text[1536];
  size_t count; /* names added */
  size_t shown; /* names in text */
} aihw_state_names;

void aihw_state_names_add(aihw_state_names *list, const char *name);
/* "'a', 'b' and 3 more" (static storage of the list; "" when empty). */
const char *aihw_state_names_text(aihw_state_names *list);

/* Adds the tile's whole state to `dict` as tensors named <prefix><key> (tile_state.c lists
 * the keys): weights, hidden.<name> for every hidden parameter, pulse_counts, alpha,
 * op_counter, nm_running, out_scales, training, the training-drift state and, for
 * INFERENCE tiles, the reference / programmed / compensation / modified-copy state with
 * their valid flags. Together with the tile's configuration these make a tile whose future
 * outputs are bit-identical to this one's. Errors: INVALID_ARGUMENT (a name too long or
 * already present), OUT_OF_MEMORY; tensors added before the error stay in the dict. */
aihw_status aihw_tile_state_export(const aihw_tile *tile, struct aihw_st_dict *dict,
                                   const char *prefix);

/* Tri-state of an optional part of the state during an import. */
typedef enum { AIHW_STATE_KEEP = 0, AIHW_STATE_LOAD = 1, AIHW_STATE_CLEAR = 2 } aihw_state_action;

/* A validated import of one tile's state, ready to commit: pointers into the source dict
 * (which must outlive the plan) and every buffer the commit needs, allocated up front so
 * that committing cannot fail. NULL source pointers mean "keep the tile's value". */
typedef struct aihw_tile_state_plan {
  aihw_tile *tile;
  const float *weights, *alpha, *nm_running, *out_scales;
  const float *hidden[AIHW_TILE_MAX_HIDDEN];
  const int64_t *pulse_counts;
  int has_counter;
  uint64_t op_counter;
  int training; /* -1: keep */
  aihw_state_action drift, reference, programmed, compensation, fb;
  const float *drift_w0, *drift_prev, *reference_w, *programmed_w, *nu, *baseline,
      *drift_alpha, *weights_fb;
  const double *drift_t;
  double drift_now;
  /* buffers the tile lacks (owned by the plan until committed) */
  float *new_out_scales, *new_w0, *new_prev, *new_programmed, *new_nu, *new_baseline,
      *new_drift_alpha, *new_fb, *new_fb_abs;
  double *new_t;
  struct aihw_compound_plan *compound; /* compound devices (compound_state.c), or NULL */
} aihw_tile_state_plan;

/* Compound devices' part of the state (compound_state.c; the tensor list is there). */
struct aihw_compound_plan;
aihw_status aihw_compound_state_export(const aihw_tile *tile, struct aihw_st_dict *dict,
                                       const char *prefix);
aihw_status aihw_compound_state_prepare(const aihw_tile *tile, const struct aihw_st_dict *dict,
                                        const char *prefix, unsigned char *used,
                                        aihw_state_names *missing,
                                        struct aihw_compound_plan **out);
/* Copies a prepared plan into the tile (cannot fail) and recomputes the visible weights. */
void aihw_compound_state_commit(aihw_tile *tile, struct aihw_compound_plan *plan);
void aihw_compound_plan_free(struct aihw_compound_plan *plan);

/* Compound RPU-config presets (compound_presets.c): 1 and *status (and *out on success)
 * when `name` is one of them, else 0. aihw_compound_preset_names() describes them in one
 * short line (for error messages). */
int aihw_compound_preset(const char *name, aihw_tile_config *out, aihw_status *status);
const char *aihw_compound_preset_names(void);

/* Validates the tensors <prefix><key> of `dict` against the tile (dtype, shape, finite and
 * in-range values) and allocates what a commit needs; changes nothing in the tile. Tensors
 * it reads are marked in used[dict index] (when used is not NULL). A required tensor that
 * is absent is appended to `missing` (not an error here: the caller decides by
 * strictness); absent parts are then kept as they are. Errors: FORMAT / NOT_FINITE /
 * INVALID_ARGUMENT naming the tensor, OUT_OF_MEMORY; on error the plan holds nothing. */
aihw_status aihw_tile_state_prepare(aihw_tile *tile, const struct aihw_st_dict *dict,
                                    const char *prefix, unsigned char *used,
                                    aihw_state_names *missing, aihw_tile_state_plan *plan);
/* Writes a prepared plan into its tile (cannot fail) and releases the plan. */
void aihw_tile_state_commit(aihw_tile_state_plan *plan);
/* Releases a plan that will not be committed. Accepts a zeroed plan. */
void aihw_tile_state_plan_free(aihw_tile_state_plan *plan);

/* prepare + commit for one tile. strict = 1: every missing tensor and every tensor under
 * `prefix` the tile does not read is a FORMAT error listing them all by name; strict = 0:
 * present tensors are loaded, the rest ignored. The tile is unchanged on any error. */
aihw_status aihw_tile_state_import(aihw_tile *tile, const struct aihw_st_dict *dict,
                                   const char *prefix, int strict);

/* First difference between two JSON values, as a path ("device.dw_min", "children[2]")
 * into `path` (size bytes); object keys equal to `ignore_key` (may be NULL) are skipped.
 * Returns 1 if they differ (path "" when the roots themselves differ), else 0; then
 * *at_a / *at_b (when not NULL) receive the differing nodes, NULL for a side where the
 * key or element is absent. Numbers compare by value, objects by key set in any order. */
int aihw_json_first_difference(const struct cJSON *a, const struct cJSON *b,
                               const char *ignore_key, char *path, size_t size,
                               const struct cJSON **at_a, const struct cJSON **at_b);

/* Prints item compactly (malloc'ed; free() it) with infinite numbers as 1e999 / -1e999
 * (cJSON alone would print null), so that the parameter readers read back exactly the
 * floats the tree was parsed from. Turns item's infinite numbers into raw items. NULL when
 * out of memory (sets no error). */
char *aihw_json_print_exact(struct cJSON *item);

#endif
