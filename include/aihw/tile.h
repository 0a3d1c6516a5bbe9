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
#include "aihw/device.h"
#include "aihw/inference.h"
#include "aihw/io_params.h"
#include "aihw/update_params.h"

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
  aihw_update_params update; /* pulsed update (ANALOG); pulse_type NONE = exact update */
  aihw_device_params device; /* device model of every cross-point (ANALOG) */
  aihw_inference_params inference; /* noise model, compensation, HWA pieces (INFERENCE) */
} aihw_tile_config;

/* Default configuration of a kind, as aihwkit builds it: ANALOG (SingleRPUConfig) uses
 * IOParameters() both ways, UpdateParameters() and ConstantStepDevice(); INFERENCE
 * (InferenceRPUConfig) uses IOParameters() forward, is_perfect backward, pulse_type NONE
 * and IdealDevice; FLOATING_POINT uses pulse_type NONE and FloatingPointDevice. Seed 0,
 * tile_id 0, no analog bias. An out-of-range kind gives the ANALOG defaults with that
 * kind, which aihw_tile_create() then rejects. */
AIHW_API aihw_tile_config aihw_tile_config_default(aihw_tile_kind kind);

/* A complete configuration by aihwkit name (reference §8.2): the single-device presets
 * "ReRamESPreset", "ReRamSBPreset", "CapacitorPreset", "EcRamPreset", "EcRamMOPreset",
 * "IdealizedPreset", "GokmenVlasovPreset" (ANALOG; the device preset of that name,
 * PresetIOParameters both ways, PresetUpdateParameters); the default configurations
 * "SingleRPUConfig" / "analog" (ANALOG), "InferenceRPUConfig" / "inference" (INFERENCE),
 * "FloatingPointRPUConfig" / "floating-point" (FLOATING_POINT); and every name
 * aihw_device_params_preset() accepts, meaning aihwkit's SingleRPUConfig(device=<name>)
 * (ANALOG defaults with that device). *out unchanged on error; unknown names are
 * INVALID_ARGUMENT listing every valid name. */
AIHW_API aihw_status aihw_tile_config_preset(const char *name, aihw_tile_config *out);

/* A whole tile configuration as one compact JSON object, composed from the parameter
 * areas' own JSON (aihw_io_params_to_json, aihw_update_params_to_json,
 * aihw_device_params_to_json, aihw_inference_params_to_json):
 *
 *   {"kind": "ANALOG", "forward": {..}, "backward": {..}, "update": {..}, "device": {..},
 *    "inference": {..}, "analog_bias": false, "seed": 0, "tile_id": 0}
 *
 * Floats round-trip bit-exactly (the areas' shortest texts, +inf as 1e999). Every area
 * must pass its validation (the area's status is returned, the message prefixed by the
 * key, e.g. "device: ..."); a bad kind or analog_bias is INVALID_ARGUMENT;
 * OUT_OF_MEMORY. *json_out is malloc'ed (free() it); NULL on failure. */
AIHW_API aihw_status aihw_tile_config_to_json(const aihw_tile_config *config,
                                              char **json_out);

/* Parses the JSON of aihw_tile_config_to_json. "kind" is required; every other key may be
 * left out and then takes aihw_tile_config_default(kind)'s value (inside an area, absent
 * fields keep those defaults too, as the area readers do). Unknown or duplicate keys,
 * wrong types and unknown kinds are FORMAT errors naming the key; an area reader's error
 * is returned with its message prefixed by the area's key ("device: ..."). seed and
 * tile_id are integers in 0 .. 2^32-1. *config is unchanged on any error. */
AIHW_API aihw_status aihw_tile_config_from_json(const char *json, aihw_tile_config *config);

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

/* Realistic read and write (reference §7.1, aihwkit's realistic_read_write).
 * get: w[rows][cols] estimated by one forward pass of the one-hot inputs through the full
 * periphery with the forward alpha set to 1 (one read's noise, no averaging); advances the
 * op counter like any forward.
 * set: closed-loop programming by pulsed updates towards w: round(n_loops (w_max - w_min)
 * / (desired_bl dw_min)) iterations of "read with one-hot inputs, D = read - w, pulsed
 * update W -= lr D" (aihwkit's setWeightsReal; n_loops 10 and lr 0.01 were its defaults);
 * the weights start from their current values; *iterations (may be NULL) gets the
 * iterations run. FLOATING_POINT tiles and tiles without a pulsed device are written
 * exactly; INFERENCE tiles exactly and then programmed (aihw_tile_program_weights).
 * Errors: INVALID_ARGUMENT (NULL, n_loops outside 1..100000, lr <= 0), SHAPE (rows =
 * out_size, cols = in_size), NOT_FINITE naming the element, UNSUPPORTED for tiles with an
 * analog bias column, OUT_OF_MEMORY. An error after the loop started leaves the weights
 * programmed as far as it got. */
AIHW_API aihw_status aihw_tile_get_weights_realistic(aihw_tile *tile, float *w, int64_t rows,
                                                     int64_t cols);
AIHW_API aihw_status aihw_tile_set_weights_realistic(aihw_tile *tile, const float *w,
                                                     int64_t rows, int64_t cols, int n_loops,
                                                     float lr, int64_t *iterations);

/* Forward pass y[batch][out_size] = s * alpha_c * periphery(W x) for x[batch][in_size]:
 * W is the weight-modifier copy in training mode (INFERENCE tiles, after the first
 * post-update step), alpha_c the drift-compensation factor (INFERENCE tiles in evaluation
 * mode, after programming) and s the digital output scales (1 unless set). x must be
 * finite. y may not alias x. Errors: INVALID_ARGUMENT, SHAPE, NOT_FINITE, OUT_OF_MEMORY;
 * y is untouched on error. */
AIHW_API aihw_status aihw_tile_forward(aihw_tile *tile, const float *x, int64_t batch,
                                       int64_t in_size, float *y, int64_t out_size);

/* Backward pass z[batch][in_size] = periphery(W^T (s d)) for d[batch][out_size], through
 * the backward IO parameters (no bound management; the bias column's gradient is
 * dropped); W and s as for the forward. */
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

/* ---- Training (reference §4, §5) ------------------------------------------------ */

/* One SGD update of the weights with the batch x[batch][in_size], d[batch][out_size]
 * and learning rate lr >= 0: W <- W - lr * sum_b d_b x_b^T in expectation.
 * - FLOATING_POINT and INFERENCE tiles, pulse_type NONE, IdealDevice: exact update
 *   (divided by the backward alpha, as aihwkit); NONE_WITH_DEVICE then clips to the
 *   device bounds.
 * - ANALOG tiles with a pulsed device: x and d become pulse trains (update management,
 *   §4.2–4.5), samples are applied in order, every coincidence is one device step with
 *   its own cycle-to-cycle noise, clipped to that device's bounds (see docs/physics.md for
 *   when several steps are drawn at once, exactly).
 * Each sample advances the op counter by one. Errors: INVALID_ARGUMENT (lr < 0, NULL),
 * SHAPE, NOT_FINITE (x, d or lr), OUT_OF_MEMORY; the weights are unchanged on error. */
AIHW_API aihw_status aihw_tile_update(aihw_tile *tile, const float *x, int64_t batch,
                                      int64_t in_size, const float *d, int64_t out_size,
                                      float lr);

/* aihwkit's post_update_step: decay (lifetime > 0) then diffusion (diffusion > 0), each
 * clipped to the device bounds, then fresh write noise. No-op when neither is set. */
AIHW_API aihw_status aihw_tile_post_update_step(aihw_tile *tile);

/* Explicit decay and diffusion calls (decay: w = (w - reset_bias) s + reset_bias with
 * s = 1 + alpha (decay_scale - 1); diffusion: w += diffusion_rate xi). */
AIHW_API aihw_status aihw_tile_decay_weights(aihw_tile *tile, float alpha);
AIHW_API aihw_status aihw_tile_diffuse_weights(aihw_tile *tile);

/* Resets the columns start .. start+count-1 (modulo the number of weight columns): each
 * device with probability `probability` gets w = reset_bias + reset_std xi, clipped. */
AIHW_API aihw_status aihw_tile_reset_columns(aihw_tile *tile, int64_t start, int64_t count,
                                             float probability);

/* Power-law drift during training (device drift parameters, reference §5.9): advances the
 * tile's drift clock by dt (in units of drift.t_0) and sets every device that was not
 * changed since the previous call to w0 * max(t - t_start, 1)^(-nu) (+ offsets), where w0
 * and t_start are its weight and the clock when it last changed; devices whose weight
 * moved restart their drift. Then read noise (drift.w_noise_std), bounds, write noise.
 * No-op when the device has no drift (nu = 0). dt must be finite and >= 0. */
AIHW_API aihw_status aihw_tile_drift_weights(aihw_tile *tile, float dt);

/* Clips the weights to the device bounds and, if clip >= 0, to [-clip, clip]. */
AIHW_API aihw_status aihw_tile_clip_weights(aihw_tile *tile, float clip);

/* Hidden (per-device) parameters, aihwkit's names and order (reference §1.5):
 * max_bound, min_bound, dwmin_up, dwmin_down, decay_scales, diffusion_rates, reset_bias,
 * drift_nu, [persistent_weights], model extras. Each is an [out_size][weight_cols] array.
 * Tiles without a pulsed device have none (count 0). */
AIHW_API int aihw_tile_hidden_count(const aihw_tile *tile);
/* Name of hidden parameter `index` (static string), NULL if out of range. */
AIHW_API const char *aihw_tile_hidden_name(const aihw_tile *tile, int index);
/* Index of a hidden parameter by name, or INVALID_ARGUMENT listing the names. */
AIHW_API aihw_status aihw_tile_hidden_index(const aihw_tile *tile, const char *name,
                                            int *index);
AIHW_API aihw_status aihw_tile_get_hidden(const aihw_tile *tile, int index, float *values,
                                          int64_t rows, int64_t cols);
/* Sets a hidden parameter (finite values; bounds must keep min_bound <= max_bound, step
 * sizes >= 0); then clips the weights to the (new) bounds. Unchanged on error. */
AIHW_API aihw_status aihw_tile_set_hidden(aihw_tile *tile, int index, const float *values,
                                          int64_t rows, int64_t cols);

/* Pulse counters (device count_pulses = 1): counts[out][cols][2] = up and down pulses
 * applied so far. INVALID_ARGUMENT if counting is off. */
AIHW_API aihw_status aihw_tile_get_pulse_counts(const aihw_tile *tile, int64_t *counts,
                                                int64_t rows, int64_t cols);

/* ---- Inference (reference §6) --------------------------------------------------- */

/* Training (1) or evaluation (0, the default) mode, like torch's train()/eval(). Training
 * forward and backward of an INFERENCE tile read the weight-modifier copy (after the
 * first post-update step); evaluation forwards apply the drift compensation. */
AIHW_API aihw_status aihw_tile_set_training(aihw_tile *tile, int training);
AIHW_API int aihw_tile_is_training(const aihw_tile *tile);

/* Programs the weights into devices (§6.7): the target is the weights as last set; the
 * noise model draws programming noise and drift exponents once; the tile's weights become
 * the programmed weights; with drift compensation the baseline readout (one-hot inputs
 * through the noisy forward) is taken. INFERENCE tiles only (STATE otherwise); refused in
 * training mode (STATE), as aihwkit's modules do. */
AIHW_API aihw_status aihw_tile_program_weights(aihw_tile *tile);

/* Sets the weights to their state t_inference_s >= 0 seconds after programming (§6.6,
 * §6.9): drift (t/t_0)^-nu and read noise from the programmed weights (never
 * cumulative; fresh read noise every call); programs first if needed; then updates the
 * drift-compensation factor. INFERENCE tiles in evaluation mode only. */
AIHW_API aihw_status aihw_tile_drift_to(aihw_tile *tile, float t_inference_s);

/* Drift-compensation factors alpha[out] currently applied to evaluation outputs (all 1
 * without compensation or before programming). */
AIHW_API aihw_status aihw_tile_get_drift_alpha(const aihw_tile *tile, float *alpha,
                                               int64_t out_size);

/* Digital output scales s[out] (remapping, §6.4; module mapping scales): forward outputs
 * are multiplied by s, backward inputs d by s, and updates divide d by s, so that the
 * logical weights s_i W_ij receive plain SGD. */
AIHW_API aihw_status aihw_tile_set_out_scales(aihw_tile *tile, const float *scales,
                                              int64_t out_size);
AIHW_API aihw_status aihw_tile_get_out_scales(const aihw_tile *tile, float *scales,
                                              int64_t out_size);

#ifdef __cplusplus
}
#endif
#endif
