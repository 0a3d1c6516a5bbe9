/* Internal interfaces of the inference tile (reference §6): programming and drift of
 * conductances (program.c), and the hardware-aware-training pieces clip, remap and weight
 * modifier (hwa.c). All act on weight matrices w[rows][cols] (row-major, the tile's
 * layout) and draw their random numbers from Philox streams keyed by (seed, tile_id) at
 * op counter `op`, row = weight row, element = column, so results never depend on the
 * number of threads. */
#ifndef AIHW_INFERENCE_INTERNAL_H
#define AIHW_INFERENCE_INTERNAL_H

#include <stdint.h>

#include "aihw/inference.h"

/* Where a call draws its random numbers. */
typedef struct aihw_stream_key {
  uint32_t seed, tile_id;
  uint64_t op; /* the tile's op counter for this call */
} aihw_stream_key;

/* Number of conductance slices of a converter: 2 per pair (g+, g-) for the pair
 * converters, 1 for SINGLE_DEVICE. */
int aihw_converter_slices(const aihw_converter_params *c);

/* Programming (§6.6, §6.7): converts w_target to conductance slices with converter `cv`
 * (scale from max|w_target|), adds programming noise per slice (clamped at 0), draws one
 * drift exponent per slice and device, converts back. Outputs: w_prog[rows][cols] and
 * nu[n_slices][rows][cols] (n_slices = aihw_converter_slices(cv)). Stream purpose PROGRAM.
 * NONE noise model: w_prog = w_target, nu = 0. */
aihw_status aihw_inference_program(const aihw_noise_model_params *nm,
                                   const aihw_converter_params *cv, const float *w_target,
                                   int64_t rows, int64_t cols, aihw_stream_key key,
                                   float *w_prog, float *nu);

/* Drift to t_inference seconds after programming (§6.6, §6.9): re-converts w_prog to
 * slices (scale from max|w_prog|), applies (t/t_0)^-nu per slice and read noise
 * sqrt(ln((t + t_read)/(2 t_read))) Q_s, clamps at 0, converts back to w_out. Never
 * cumulative: always from w_prog. Stream purpose DRIFT_READ. t_inference >= 0. */
aihw_status aihw_inference_drift(const aihw_noise_model_params *nm,
                                 const aihw_converter_params *cv, const float *w_prog,
                                 const float *nu, int64_t rows, int64_t cols,
                                 float t_inference, aihw_stream_key key, float *w_out);

/* As aihw_inference_drift, with the target weights w_target[rows][cols] of the
 * programming: with noise_model.read_noise_at_target the read-noise factor Q_s is evaluated
 * at each device's target conductance (aihwkit's documented form) instead of its programmed
 * one. w_target may be NULL when the switch is off. */
aihw_status aihw_inference_drift_with_target(const aihw_noise_model_params *nm,
                                             const aihw_converter_params *cv,
                                             const float *w_prog, const float *nu,
                                             const float *w_target, int64_t rows,
                                             int64_t cols, float t_inference,
                                             aihw_stream_key key, float *w_out);

/* Weight clipping (§6.2), in place. */
aihw_status aihw_hwa_clip(const aihw_weight_clip_params *p, float *w, int64_t rows,
                          int64_t cols);

/* Weight remapping (§6.4), in place; scales[rows] are the digital output scales, updated
 * so that scales_i * w_i. stays the same logical weight. */
aihw_status aihw_hwa_remap(const aihw_weight_remap_params *p, float *w, int64_t rows,
                           int64_t cols, float *scales);

/* Weight modifier (§6.3): w_fb = modified copy of w (type NONE: plain copy). Stream
 * purpose MODIFIER. */
aihw_status aihw_hwa_modify(const aihw_weight_modifier_params *p, const float *w,
                            int64_t rows, int64_t cols, aihw_stream_key key, float *w_fb);

#endif
