/* Analog network modules (reference §7): layers backed by analog tiles, containers,
 * activations and losses, with the module contract of aihwkit's AnalogModuleBase —
 * forward/backward through the whole network, an SGD step that updates every analog tile
 * through its own update path, weights get/set, program/drift of every inference tile,
 * training/evaluation mode.
 *
 * Shapes are row-major [batch][features]. A module caches what its backward needs during
 * aihw_module_forward (inputs, activations); aihw_module_backward consumes that cache
 * and stores the gradients aihw_module_step applies. Forward -> backward -> step is one
 * training iteration; several forward/backward pairs before one step are accumulated
 * (their samples are concatenated into one tile update, as aihwkit's optimizer does).
 *
 * Ownership: a container owns the modules appended to it; destroy the root only.
 * Thread safety: as for tiles (one call per module tree at a time).
 */
#ifndef AIHW_NN_H
#define AIHW_NN_H

#include <stddef.h>

#include "aihw/common.h"
#include "aihw/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Mapping of a layer onto tiles (aihwkit MappingParameter, §7.3) ---------------- */

/* Input-range learning of each tile (aihwkit InputRangeParameter, RPUConfig.pre_post.
 * input_range, reference §8.3), with aihwkit's defaults. When enabled, tile t of a layer
 * has a range r_t (init_value): its forward sees x' = clip(x, -|r_t|, |r_t|) / r_t and its
 * output is multiplied by r_t; in training mode the first init_from_data forwards set
 * r_t <- (r_t k + init_std_alpha std(x)) / (k + 1) (k = that tile's counter, only when
 * std(x) > 0, unbiased std over the tile's whole input block), r_t = |r_t|. The gradient
 * of r_t (when learn_input_range) is, from x and the tile's input gradient dx:
 *   g = sum_{x >= r} min(dx, 0) - sum_{x <= -r} max(dx, 0);
 *   gradient_relative: g *= r gradient_scale;
 *   manage_output_clipping: p = 1 - (#outputs at the output bound) / (batch in_size),
 *                           g -= (1 - p) r when p < output_min_percentage;
 *   decay > 0: q = fraction of |x| < r, g += decay r when q > input_min_percentage;
 * and r_t is a digital parameter of the SGD step (updated before the tiles, whose update
 * inputs are clipped and normalised with the new r_t, as aihwkit's optimizer does). */
typedef struct aihw_input_range_params {
  int enable;                  /* 0 */
  int learn_input_range;       /* 1 (0: r is fixed after init_from_data) */
  float init_value;            /* 3.0; > 0 */
  int64_t init_from_data;      /* 100; >= 0 training batches */
  float init_std_alpha;        /* 3.0; >= 0 */
  float decay;                 /* 0.001; >= 0 */
  float input_min_percentage;  /* 0.95; in [0, 1] */
  int manage_output_clipping;  /* 0 */
  float output_min_percentage; /* 0.95; in [0, 1] */
  float gradient_scale;        /* 1.0; finite */
  int gradient_relative;       /* 1 */
} aihw_input_range_params;

/* InputRangeParameter()'s defaults (disabled). */
AIHW_API aihw_input_range_params aihw_input_range_params_default(void);

typedef struct aihw_mapping_params {
  int digital_bias;              /* 1: bias added digitally after the tiles; 0: analog column */
  float weight_scaling_omega;    /* > 0: scale weights so max|W| = omega (digital scales) */
  int weight_scaling_columnwise; /* per output row instead of per tile */
  int weight_scaling_lr_compensation; /* lr x 1/mean(scales) */
  /* Learned output scales (aihwkit's Parameter out_scaling_alpha, §7.3): each tile's
   * output (after the mapping scales and the input range) is multiplied by alpha, one per
   * output row (out_scaling_columnwise) or one per tile, initialised to 1; a digital
   * parameter of the SGD step with gradient sum_batch dL/dy (.) y_before_alpha. */
  int learn_out_scaling;
  int out_scaling_columnwise; /* per output or scalar learned scale */
  int64_t max_input_size;     /* max tile columns, 512 (0 = unlimited) */
  int64_t max_output_size;    /* max tile rows, 512 (0 = unlimited) */
  /* [aihw] 1 (default, as aihwkit's RPUCuda tiles): a tile's backward gets no gradient
   * where its forward output hit the output bound (aihw_linear_create); 0: never masked
   * (aihwkit's torch-based tiles). Not an aihwkit MappingParameter field: JSON key
   * "handle_output_bound" in "mapping", written only when 0. */
  int handle_output_bound;
  /* aihwkit's RPUConfig.pre_post.input_range: carried with the mapping because both are the
   * layer's digital periphery around its tiles. Not part of the mapping JSON (aihwkit's
   * MappingParameter has no such field): RPU-config JSON reads it from "pre_post". */
  aihw_input_range_params input_range;
} aihw_mapping_params;

/* aihwkit's MappingParameter() defaults: digital bias, no weight scaling, 512 x 512; input
 * range disabled. */
AIHW_API aihw_mapping_params aihw_mapping_params_default(void);
/* Checks every field (input_range too: "<what>: input_range.decay = ..."). */
AIHW_API aihw_status aihw_mapping_params_validate(const aihw_mapping_params *params,
                                                  const char *what);

/* The input range as JSON with aihwkit's InputRangeParameter field names ({"enable": true,
 * "learn_input_range": true, "init_value": 3.0, ...}); from_json: absent keys keep
 * aihw_input_range_params_default()'s values, unknown keys and bad values are errors
 * naming the key; *params unchanged on error. to_json: *json_out malloc'ed (free()). */
AIHW_API aihw_status aihw_input_range_params_to_json(const aihw_input_range_params *params,
                                                     char **json_out);
AIHW_API aihw_status aihw_input_range_params_from_json(const char *json,
                                                       aihw_input_range_params *params);

/* Mapping parameters as JSON with aihwkit's field names:
 *   {"digital_bias": true, "weight_scaling_omega": 0, "weight_scaling_columnwise": false,
 *    "weight_scaling_lr_compensation": false, "learn_out_scaling": false,
 *    "out_scaling_columnwise": false, "max_input_size": 512, "max_output_size": 512}
 * to_json validates first; *json_out is malloc'ed (free()). from_json: absent keys keep
 * aihw_mapping_params_default()'s values; unknown or duplicate keys, wrong types and
 * values failing aihw_mapping_params_validate are errors naming the key (FORMAT,
 * INVALID_ARGUMENT, NOT_FINITE or UNSUPPORTED); *params unchanged on error. */
AIHW_API aihw_status aihw_mapping_params_to_json(const aihw_mapping_params *params,
                                                 char **json_out);
AIHW_API aihw_status aihw_mapping_params_from_json(const char *json,
                                                   aihw_mapping_params *params);

/* A whole RPU configuration (aihwkit's RPUConfig) as one JSON object: the object of
 * aihw_tile_config_to_json plus an optional "mapping" member (the object above) and an
 * optional "pre_post": {"input_range": {..}} (aihw_input_range_params_from_json). These
 * are read here, everything else by aihw_tile_config_from_json with its rules.
 * *config and *mapping are both written on success and both unchanged on error. */
AIHW_API aihw_status aihw_rpu_config_from_json(const char *json, aihw_tile_config *config,
                                               aihw_mapping_params *mapping);

/* A whole RPU configuration by aihwkit name (§8.2): "StandardHWATrainingPreset",
 * "WebComposerInferenceRPUConfig", "OldWebComposerInferenceRPUConfig" (tile configuration,
 * mapping and input range as src/nn/rpu_presets.c lists them), and every name of
 * aihw_tile_config_preset with aihw_mapping_params_default(). *config and *mapping are
 * both written on success, unchanged on error (INVALID_ARGUMENT listing the names). */
AIHW_API aihw_status aihw_rpu_config_preset(const char *name, aihw_tile_config *config,
                                            aihw_mapping_params *mapping);

/* Split sizes of one dimension (§7.3): n = ceil(size / max) pieces (1 if max == 0), sizes
 * base + 1 for the first `size % n` pieces. Writes up to `capacity` sizes; *count gets n. */
AIHW_API aihw_status aihw_mapping_split(int64_t size, int64_t max, int64_t *sizes,
                                        int64_t capacity, int64_t *count);

/* ---- Modules ------------------------------------------------------------------------ */

typedef struct aihw_module aihw_module;

/* Module kinds. Append-only. */
typedef enum aihw_module_kind {
  AIHW_MODULE_LINEAR = 0,     /* analog (or floating-point) linear layer on a tile grid */
  AIHW_MODULE_SEQUENTIAL = 1, /* container: children in order */
  AIHW_MODULE_RELU = 2,
  AIHW_MODULE_SIGMOID = 3,
  AIHW_MODULE_TANH = 4,
  AIHW_MODULE_FLATTEN = 5, /* identity on row-major data (shape bookkeeping only) */
  AIHW_MODULE_CONV1D = 6,    /* analog 1-D convolution, one tile grid per group */
  AIHW_MODULE_CONV2D = 7,    /* analog 2-D convolution, one tile grid per group */
  AIHW_MODULE_MAXPOOL2D = 8, /* digital 2-D max pooling */
  AIHW_MODULE_AVGPOOL2D = 9, /* digital 2-D average pooling (padding counted) */
  AIHW_MODULE_DIGITAL_LINEAR = 10, /* floating-point linear layer in host memory */
  AIHW_MODULE_BATCHNORM1D = 11,    /* torch.nn.BatchNorm1d over [batch][C] or [batch][C][L] */
  AIHW_MODULE_BATCHNORM2D = 12,    /* torch.nn.BatchNorm2d over [batch][C][H][W] */
  AIHW_MODULE_DROPOUT = 13,        /* torch.nn.Dropout (inverted scaling) */
  AIHW_MODULE_SOFTMAX = 14,        /* softmax over the features of each sample */
  AIHW_MODULE_LOGSOFTMAX = 15      /* log-softmax over the features of each sample */
} aihw_module_kind;

/* A linear layer y = W x + b of in_features -> out_features on tiles of kind
 * config->kind (FLOATING_POINT, ANALOG or INFERENCE: aihwkit's TILE_CLASS_*), split over a
 * grid of tiles per `mapping` (NULL: defaults). The tiles get consecutive tile ids from
 * config->tile_id in storage order (in_index * out_splits + out_index). Weights start at
 * U(-1/sqrt(in), 1/sqrt(in)) (torch's default init, drawn from Philox with (config->seed,
 * config->tile_id), purpose INIT, row = output row), bias likewise (row out_features).
 * The bias is an analog column (config->analog_bias is overridden) only for a single tile
 * with mapping->digital_bias = 0; a grid of several tiles (aihwkit's TileModuleArray)
 * always keeps it digital. Errors: INVALID_ARGUMENT (NULL, sizes < 1, bias not 0/1, bad
 * config or mapping naming the field), OUT_OF_MEMORY.
 *
 * The digital periphery around each tile follows aihwkit's order (§1.4): input range
 * (clip, normalise), tile forward (including its mapping scales s), x r, x learned
 * alpha, sum over input blocks, + digital bias. Backward: dL/dalpha and the digital bias
 * gradient from the unmasked dy; each tile's backward gets d = dy alpha, zeroed where the
 * tile's forward output before the digital scales had |y| >= out_scale out_bound 0.999
 * (handle_output_bound of aihwkit's RPUCuda tiles: ANALOG and INFERENCE tiles whose
 * forward out_bound > 0, unless mapping->handle_output_bound = 0; the pulsed update still
 * gets the unmasked dy alpha, as in aihwkit); then the input-range gradient. */
AIHW_API aihw_status aihw_linear_create(const aihw_tile_config *config,
                                        const aihw_mapping_params *mapping, int64_t in_features,
                                        int64_t out_features, int bias, aihw_module **out);

AIHW_API aihw_status aihw_sequential_create(aihw_module **out);
/* Appends `child` (ownership passes to `seq`, also on error the child is destroyed, except
 * when child == seq). The child's input size must match the previous child's output size
 * (checked at forward, SHAPE naming both children). A module may be appended only once. */
AIHW_API aihw_status aihw_sequential_append(aihw_module *seq, aihw_module *child);

/* Parameter-free modules (RELU, SIGMOID, TANH, FLATTEN, SOFTMAX, LOGSOFTMAX) of
 * `features` inputs/outputs. SOFTMAX and LOGSOFTMAX act on the features of each sample
 * (torch's dim=1 of a [batch][features] tensor) with the row maximum subtracted, so large
 * logits neither overflow nor lose precision. */
AIHW_API aihw_status aihw_activation_create(aihw_module_kind kind, int64_t features,
                                            aihw_module **out);

/* Destroys a module and its children. NULL is accepted. */
AIHW_API void aihw_module_destroy(aihw_module *module);

/* Kind of a module; (aihw_module_kind)-1 for NULL. */
AIHW_API aihw_module_kind aihw_module_kind_of(const aihw_module *module);
/* Feature counts; -1 for NULL, 0 for an empty container. */
AIHW_API int64_t aihw_module_in_features(const aihw_module *module);
AIHW_API int64_t aihw_module_out_features(const aihw_module *module);
/* Children of a container (0 for others) and child k (borrowed pointer). */
AIHW_API int aihw_module_child_count(const aihw_module *module);
AIHW_API aihw_module *aihw_module_child(const aihw_module *module, int index);

/* y[batch][out] = module(x[batch][in]); caches for backward. x must be finite.
 * Errors: INVALID_ARGUMENT (NULL, batch < 1), SHAPE (in/out features, or children that do
 * not chain), NOT_FINITE, STATE (empty container), OUT_OF_MEMORY; errors inside a container
 * name the child ("module 2 (LINEAR): ..."). */
AIHW_API aihw_status aihw_module_forward(aihw_module *module, const float *x, int64_t batch,
                                         int64_t in_features, float *y, int64_t out_features);

/* dx[batch][in] from dy[batch][out] for the batch of the last forward (dx may be NULL when
 * not needed: the first layer then skips its tiles' backward); accumulates the gradients
 * of every layer for the next step. A backward consumes the forward's cache: STATE
 * ("backward without a matching forward") without a forward since the last backward or
 * with a different batch. */
AIHW_API aihw_status aihw_module_backward(aihw_module *module, const float *dy, int64_t batch,
                                          int64_t out_features, float *dx, int64_t in_features);

/* One SGD step with learning rate lr >= 0 over every layer (aihwkit AnalogSGD): each tile
 * gets one aihw_tile_update with all accumulated samples concatenated, digital parameters
 * plain SGD p -= lr g; then every tile's post-update step. Clears the accumulated
 * gradients. Equals aihw_module_step_sgd with aihw_sgd_params_default(lr).
 * Errors: STATE when no layer has accumulated gradients; INVALID_ARGUMENT / NOT_FINITE for
 * lr; a tile's error (naming the module) — tiles updated before it keep their update. */
AIHW_API aihw_status aihw_module_step(aihw_module *module, float lr);

/* Recursive mode switch (modules and tiles; training is 0 or 1). Evaluation is the
 * default; modules appended to a container keep their own mode until the next switch. */
AIHW_API aihw_status aihw_module_set_training(aihw_module *module, int training);

/* Weights of a LINEAR module as one logical matrix w[out][in] and bias b[out] (NULL if the
 * layer has none or it is not wanted; set: NULL keeps the bias; a non-NULL b for a layer
 * without bias is INVALID_ARGUMENT). Logical weights include the mapping's output scales
 * (weight_scaling_omega > 0: set stores W / alpha per tile or row with max = omega).
 * force_exact = 1: exact copies; 0: realistic (aihwkit's realistic_read_write, §7.1):
 * each tile is written by closed-loop pulsed programming with n_loops 10 and lr 0.01 and
 * read by one noisy forward of one-hot inputs (aihw_tile_set_weights_realistic /
 * _get_weights_realistic: exact for FLOATING_POINT tiles, program for INFERENCE tiles);
 * the digital bias is always exact; layers with an analog bias column: UNSUPPORTED.
 * Non-finite values: NOT_FINITE naming the element, weights unchanged. */
AIHW_API aihw_status aihw_linear_set_weights(aihw_module *module, const float *w,
                                             const float *b, int force_exact);
AIHW_API aihw_status aihw_linear_get_weights(const aihw_module *module, float *w, float *b,
                                             int force_exact);
/* Tile grid of a LINEAR module: rows x cols tiles (input splits x output splits, aihwkit's
 * storage order array[in_index][out_index]) and tile (r, c) (borrowed). */
AIHW_API aihw_status aihw_linear_tile_grid(const aihw_module *module, int64_t *in_splits,
                                           int64_t *out_splits);
AIHW_API aihw_tile *aihw_linear_tile(const aihw_module *module, int64_t in_index,
                                     int64_t out_index);

/* Learned output scales of a LINEAR module with learn_out_scaling (§7.3): n values,
 * n = in_splits x out_features (columnwise: tile (r, c) uses entries r out_features +
 * out_start(c) ..) or in_splits x out_splits (one per tile, index r out_splits + c); for a
 * single tile [out_features] or [1], aihwkit's shapes. *count (may be NULL) gets n.
 * INVALID_ARGUMENT when the layer has none or n differs (naming n); set: NOT_FINITE naming
 * the element, unchanged on error. The logical weights (aihw_linear_get_weights) include
 * them; aihw_linear_set_weights resets them to 1 (aihwkit's set_scales, §7.2). */
AIHW_API aihw_status aihw_linear_get_out_scaling(const aihw_module *module, float *alpha,
                                                 int64_t n, int64_t *count);
AIHW_API aihw_status aihw_linear_set_out_scaling(aihw_module *module, const float *alpha,
                                                 int64_t n);
/* Input ranges of a LINEAR module with input_range.enable: one per tile (index r
 * out_splits + c), n = in_splits x out_splits; *count (may be NULL) gets n. Errors as
 * above; set: each value must be finite and non-zero. */
AIHW_API aihw_status aihw_linear_get_input_range(const aihw_module *module, float *ranges,
                                                 int64_t n, int64_t *count);
AIHW_API aihw_status aihw_linear_set_input_range(aihw_module *module, const float *ranges,
                                                 int64_t n);

/* ---- Convolutions (aihwkit AnalogConv1d/2d, reference §7.4) ------------------------ */

/* Shape of a convolution. Index [0] is the height axis and [1] the width axis of Conv2d;
 * Conv1d uses index [0] only (its length axis) and ignores [1]. Zero padding only. */
typedef struct aihw_conv_params {
  int64_t in_channels, out_channels; /* both >= 1 and divisible by groups */
  int64_t kernel[2];                 /* >= 1 */
  int64_t stride[2];                 /* >= 1 */
  int64_t padding[2];                /* >= 0, zeros on both sides */
  int64_t dilation[2];               /* >= 1 */
  int64_t groups;                    /* >= 1; groups = in_channels is depthwise */
  int bias;                          /* 0 or 1 */
} aihw_conv_params;

/* torch's defaults for Conv(in_channels, out_channels, kernel_size): square kernel, stride
 * 1, padding 0, dilation 1, groups 1, bias. */
AIHW_API aihw_conv_params aihw_conv_params_default(int64_t in_channels, int64_t out_channels,
                                                   int64_t kernel_size);

/* Output length of one axis, torch's floor((in + 2 padding - dilation (kernel - 1) - 1) /
 * stride) + 1; -1 when the arguments are out of range or the padded input is shorter than
 * the dilated kernel. */
AIHW_API int64_t aihw_conv_output_size(int64_t in, int64_t kernel, int64_t stride,
                                       int64_t padding, int64_t dilation);

/* A 2-D convolution of images [in_channels][in_h][in_w] (each sample row-major NCHW
 * flattened: in_features = in_channels in_h in_w, out_features = out_channels out_h out_w,
 * torch's memory layout, so a FLATTEN + LINEAR after it matches PyTorch). Each group g
 * (channels g in_channels/groups .., outputs g out_channels/groups ..) is a LINEAR layer
 * of in_channels/groups kh kw -> out_channels/groups (its own tile grid per `mapping`,
 * tile kind config->kind, the same bias rules as aihw_linear_create) fed with the
 * unfolded input (im2col, column order channel, kernel row, kernel column = torch's
 * unfold, so the tile holds weight.view(out, -1)): every output position of every sample
 * is one row of the tile batch (sample-major, then position row-major), the backward folds
 * (col2im) the tiles' backward, and the step gives each tile one update with all
 * positions of all accumulated samples (aihwkit's m_batch = N L). Groups take
 * consecutive tile ids from config->tile_id (group g after all tiles of groups < g).
 * Weights start as torch's conv init U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
 * in_channels/groups kh kw, drawn per group as aihw_linear_create does.
 * Errors: INVALID_ARGUMENT (NULL, a field out of range or channels not divisible by groups
 * naming the field, kernel larger than the padded input naming the axis, more than
 * 2^31-1 unfolded rows per sample), plus those of aihw_linear_create. */
AIHW_API aihw_status aihw_conv2d_create(const aihw_tile_config *config,
                                        const aihw_mapping_params *mapping,
                                        const aihw_conv_params *params, int64_t in_h,
                                        int64_t in_w, aihw_module **out);
/* A 1-D convolution of sequences [in_channels][in_len] (features in_channels in_len), as
 * Conv2d with height 1 and the [0] entries of `params` on the length axis. */
AIHW_API aihw_status aihw_conv1d_create(const aihw_tile_config *config,
                                        const aihw_mapping_params *mapping,
                                        const aihw_conv_params *params, int64_t in_len,
                                        aihw_module **out);

/* Geometry of a CONV1D/CONV2D module: params and the input/output spatial sizes (Conv1d:
 * height 1, the length in *_w; its params as given to the constructor). Any output pointer
 * may be NULL. INVALID_ARGUMENT for a module of another kind. */
AIHW_API aihw_status aihw_conv_geometry(const aihw_module *module, aihw_conv_params *params,
                                        int64_t *in_h, int64_t *in_w, int64_t *out_h,
                                        int64_t *out_w);

/* Weights in torch's layout w[out_channels][in_channels/groups][kh][kw] (Conv1d:
 * [out][in/groups][k]) and b[out_channels]; semantics of NULL, force_exact, weight scaling
 * and errors as aihw_linear_set_weights / _get_weights, per group. */
AIHW_API aihw_status aihw_conv_set_weights(aihw_module *module, const float *w,
                                           const float *b, int force_exact);
AIHW_API aihw_status aihw_conv_get_weights(const aihw_module *module, float *w, float *b,
                                           int force_exact);

/* The LINEAR layer of group g (borrowed; NULL when out of range or not a convolution):
 * its tile grid, tiles and mapping as aihw_linear_tile_grid / aihw_linear_tile describe.
 * Use it for inspection; forward/backward/step go through the convolution. */
AIHW_API aihw_module *aihw_conv_group(const aihw_module *module, int64_t group);

/* ---- Pooling (digital, torch MaxPool2d / AvgPool2d with ceil_mode = false) ---------- */

/* kind MAXPOOL2D or AVGPOOL2D over [channels][in_h][in_w]; stride[k] = 0 means the kernel
 * size (torch's default); padding[k] <= kernel[k] / 2 (torch's rule). Max pooling pads
 * with -inf and sends the gradient to the first maximum of a window (row-major order, as
 * torch); average pooling counts the zero padding (count_include_pad = true), dividing by
 * kh kw. Output [channels][out_h][out_w], out = floor((in + 2 padding - kernel) / stride)
 * + 1. Errors: INVALID_ARGUMENT naming the field (kind, sizes < 1, kernel > padded input,
 * padding > kernel / 2), OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_pool2d_create(aihw_module_kind kind, int64_t channels, int64_t in_h,
                                        int64_t in_w, const int64_t kernel[2],
                                        const int64_t stride[2], const int64_t padding[2],
                                        aihw_module **out);
/* Geometry of a pooling module (any pointer may be NULL; stride as resolved). */
AIHW_API aihw_status aihw_pool2d_geometry(const aihw_module *module, int64_t *channels,
                                          int64_t *in_h, int64_t *in_w, int64_t kernel[2],
                                          int64_t stride[2], int64_t padding[2]);

/* Program / drift every INFERENCE tile of the tree (§6.7); other tiles are left alone.
 * STATE, before any tile changes, when a LINEAR or convolution module is in training mode
 * (the message names its path, e.g. "module 1.0 (LINEAR)"). t_inference_s must be finite and >= 0. */
AIHW_API aihw_status aihw_module_program_weights(aihw_module *module);
AIHW_API aihw_status aihw_module_drift_to(aihw_module *module, float t_inference_s);

/* aihwkit's cuda(): moves every tile of the tree to CUDA device device_index
 * (aihw_tile_to_cuda, include/aihw/cuda.h says what runs there); module buffers stay on
 * the host, so forward/backward/update take host memory and each tile call copies its
 * part over. All or nothing: on error every tile is back on the host. Errors:
 * INVALID_ARGUMENT (NULL, device_index < 0 or too large), UNSUPPORTED (no CUDA build or
 * device; a tile feature the GPU lacks, named with the layer path), OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_module_to_cuda(aihw_module *module, int device_index);
/* Moves every tile back to the host (a no-op for host modules). */
AIHW_API aihw_status aihw_module_to_host(aihw_module *module);

/* ---- Digital layers (torch layers computed in float on the host) --------------------- */

/* A digital linear layer y = W x + b (torch.nn.Linear) of in_features -> out_features with
 * float weights in host memory. Weights start at U(-1/sqrt(in), 1/sqrt(in)) drawn from
 * Philox (seed, module_id), purpose INIT, row = output row (out_features for the bias):
 * the same draws as aihw_linear_create with config->seed = seed and config->tile_id =
 * module_id, so both layer kinds start from the same weights. Products go through the
 * blocked CPU gemm (bit-identical at any thread count) in the order of a FLOATING_POINT
 * tile: a network of DIGITAL_LINEAR layers gives the same bits as the same network of
 * LINEAR layers on single FLOATING_POINT tiles, forward, backward and under plain SGD.
 * Backward keeps the (x, dy) rows; the step applies torch SGD to W (gradient dy^T x over
 * all rows) and b (sum of dy). Errors: INVALID_ARGUMENT (NULL, sizes outside 1 .. 2^31-1,
 * bias not 0/1), OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_digital_linear_create(int64_t in_features, int64_t out_features,
                                                int bias, uint32_t seed, uint32_t module_id,
                                                aihw_module **out);
/* Weights w[out][in] and bias b[out] of a DIGITAL_LINEAR module (exact copies). b may be
 * NULL (get: not wanted; set: keep the bias); a non-NULL b for a layer without bias is
 * INVALID_ARGUMENT. Set: NOT_FINITE naming the element, weights unchanged; the momentum
 * buffers are kept (as torch's optimizer state is when weights are copied in). */
AIHW_API aihw_status aihw_digital_linear_set_weights(aihw_module *module, const float *w,
                                                     const float *b);
AIHW_API aihw_status aihw_digital_linear_get_weights(const aihw_module *module, float *w,
                                                     float *b);

/* Batch normalisation (torch.nn.BatchNorm1d / BatchNorm2d). eps is added to the variance,
 * momentum weights the new batch in the running statistics (running = (1 - momentum)
 * running + momentum batch); affine adds the learnable gamma (init 1) and beta (init 0);
 * track_running_stats keeps running_mean (init 0), running_var (init 1) and
 * num_batches_tracked. */
typedef struct aihw_batchnorm_params {
  float eps;               /* > 0, default 1e-5 */
  float momentum;          /* in [0, 1], default 0.1 */
  int affine;              /* 0 or 1, default 1 */
  int track_running_stats; /* 0 or 1, default 1 */
} aihw_batchnorm_params;

AIHW_API aihw_batchnorm_params aihw_batchnorm_params_default(void);
/* INVALID_ARGUMENT / NOT_FINITE naming the field and its range ("<what>: eps = ..."). */
AIHW_API aihw_status aihw_batchnorm_params_validate(const aihw_batchnorm_params *params,
                                                    const char *what);

/* BatchNorm1d over `channels` features, each sample laid out [channels][length] (length 1:
 * torch's [batch][C] input; length L: torch's [batch][C][L]); statistics per channel over
 * the batch and the length. Features of the module: channels * length. params NULL:
 * defaults. Errors: INVALID_ARGUMENT (NULL out, sizes < 1 or a product over 2^31-1, bad
 * params naming the field), OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_batchnorm1d_create(int64_t channels, int64_t length,
                                             const aihw_batchnorm_params *params,
                                             aihw_module **out);
/* BatchNorm2d over `channels` planes of height x width, each sample laid out [C][H][W]
 * (NCHW); statistics per channel over the batch and the plane. Errors as for 1d. */
AIHW_API aihw_status aihw_batchnorm2d_create(int64_t channels, int64_t height, int64_t width,
                                             const aihw_batchnorm_params *params,
                                             aihw_module **out);
/* Training mode: the batch mean and the biased batch variance normalise the batch; with
 * track_running_stats the running mean and running variance move towards the batch mean
 * and the unbiased batch variance (M / (M - 1) times the biased one, M = batch x spatial
 * elements per channel) and num_batches_tracked counts the batch, as torch. M = 1 with
 * batch statistics is INVALID_ARGUMENT at forward ("more than 1 value per channel"), as
 * torch.
 * Evaluation uses the running statistics (batch statistics without track_running_stats).
 * Backward gives dx and accumulates the gradients of gamma and beta for the step.
 *
 * Statistics of a BATCHNORM module: mean and var [channels] (running statistics; NULL when
 * not wanted) and *num_batches_tracked (may be NULL). STATE without track_running_stats.
 * gamma / beta [channels]: get / set of the affine parameters (INVALID_ARGUMENT when not
 * affine; set: NOT_FINITE naming the element, nothing changed). */
AIHW_API aihw_status aihw_batchnorm_get_running_stats(const aihw_module *module, float *mean,
                                                      float *var, int64_t *num_batches_tracked);
AIHW_API aihw_status aihw_batchnorm_get_affine(const aihw_module *module, float *gamma,
                                               float *beta);
AIHW_API aihw_status aihw_batchnorm_set_affine(aihw_module *module, const float *gamma,
                                               const float *beta);

/* Dropout (torch.nn.Dropout) of `features` with drop probability p in [0, 1). In training
 * each element is kept with probability 1 - p and scaled by 1/(1 - p) (inverted
 * dropout); in evaluation it is the identity. The keep decision of element e of sample b
 * in the k-th training forward (k = the module's step counter, from 0) is u >= p for the
 * uniform u of Philox key (seed, module_id), op counter k, purpose DROPOUT, row b,
 * element e: reproducible and independent of thread count; the counter is part of the
 * saved state. Errors: INVALID_ARGUMENT (NULL, features outside 1 .. 2^31-1), p outside
 * [0, 1) or NaN naming p. */
AIHW_API aihw_status aihw_dropout_create(int64_t features, float p, uint32_t seed,
                                         uint32_t module_id, aihw_module **out);

/* ---- Optimizer (aihwkit AnalogSGD = torch.optim.SGD + tile updates) ---------------- */

/* torch.optim.SGD's hyper-parameters. Every digital parameter (DIGITAL_LINEAR weights and
 * bias, the digital bias of LINEAR layers, BatchNorm gamma and beta) gets torch's rule,
 * with g its gradient accumulated since the last step:
 *   g += weight_decay p;
 *   momentum > 0: buf = g on the parameter's first momentum step, then
 *                 buf = momentum buf + (1 - dampening) g;
 *                 g = nesterov ? g + momentum buf : buf;
 *   p -= lr g.
 * Analog tiles (LINEAR layers of any tile kind) are updated through their own update
 * path with lr only, as aihwkit 0.3's AnalogSGD (docs/physics.md "Optimizer"). */
typedef struct aihw_sgd_params {
  float lr;           /* >= 0 */
  float momentum;     /* >= 0 (0: no momentum buffers) */
  float dampening;    /* in [0, 1] */
  float weight_decay; /* >= 0 */
  int nesterov;       /* 0 or 1; 1 needs momentum > 0 and dampening = 0 (as torch) */
} aihw_sgd_params;

/* Plain SGD with learning rate lr: momentum, dampening and weight decay 0, no Nesterov. */
AIHW_API aihw_sgd_params aihw_sgd_params_default(float lr);
/* INVALID_ARGUMENT / NOT_FINITE naming the field and its range. */
AIHW_API aihw_status aihw_sgd_params_validate(const aihw_sgd_params *params);

/* One optimizer step over the whole tree with `params` (see aihw_sgd_params): each tile
 * gets one aihw_tile_update with all samples accumulated since the last step, then its
 * post-update step; each digital parameter torch's SGD rule. Momentum buffers belong to
 * the module (saved by aihw_module_save). Clears the accumulated gradients. Errors:
 * INVALID_ARGUMENT / NOT_FINITE for params (nothing changed); STATE when no layer has
 * accumulated gradients; a tile's error (naming the module) — layers updated before it
 * keep their update. */
AIHW_API aihw_status aihw_module_step_sgd(aihw_module *module, const aihw_sgd_params *params);

/* Learning-rate schedules as closed forms of the epoch (torch.optim.lr_scheduler):
 *   CONSTANT: base_lr
 *   STEP (StepLR): base_lr gamma^floor(epoch / step_size)
 *   COSINE (CosineAnnealingLR's closed form): eta_min + (base_lr - eta_min)
 *           (1 + cos(pi epoch / t_max)) / 2 */
typedef enum aihw_lr_schedule_kind {
  AIHW_LR_CONSTANT = 0,
  AIHW_LR_STEP = 1,
  AIHW_LR_COSINE = 2
} aihw_lr_schedule_kind;

typedef struct aihw_lr_schedule {
  aihw_lr_schedule_kind kind;
  int64_t step_size; /* STEP: epochs per decay, >= 1 */
  float gamma;       /* STEP: decay factor, finite and >= 0 */
  int64_t t_max;     /* COSINE: half period in epochs, >= 1 */
  float eta_min;     /* COSINE: minimum learning rate, finite and >= 0 */
} aihw_lr_schedule;

/* CONSTANT, with torch's defaults for the other kinds' fields (step_size 1, gamma 0.1,
 * t_max 1, eta_min 0). */
AIHW_API aihw_lr_schedule aihw_lr_schedule_default(void);
/* INVALID_ARGUMENT / NOT_FINITE naming the field and its range. */
AIHW_API aihw_status aihw_lr_schedule_validate(const aihw_lr_schedule *schedule);
/* *lr = the learning rate of `epoch` (>= 0) from base_lr (finite, >= 0), computed in
 * double and rounded once. Errors: INVALID_ARGUMENT / NOT_FINITE naming the argument or
 * the schedule's field; *lr unchanged. */
AIHW_API aihw_status aihw_lr_at(const aihw_lr_schedule *schedule, float base_lr, int64_t epoch,
                                float *lr);

/* ---- State files (DESIGN.md §3 "Module state") ------------------------------------- */

/* Saves the whole state of a module tree to one safetensors file at `path`: the tensors of
 * every tile of every LINEAR and convolution layer (weights, every hidden device
 * parameter, pulse counters, digital scales, random-stream counters, running
 * noise-management values, training-drift state, programmed weights, drift exponents and
 * compensation baselines of INFERENCE tiles), the digital biases, the learned output
 * scales ("0.out_scaling_alpha") and input ranges ("0.input_range",
 * "0.input_range_update_idx") of layers that have them, the digital layers'
 * tensors (torch's names: "1.weight", "1.running_mean", "1.num_batches_tracked";
 * dropout's "3.step_counter"), the momentum buffers that exist ("1.weight.momentum":
 * optional also in strict loads, absent = no buffer yet) and the modes, named by their
 * place in the tree ("0.tiles.1.0.weights", "2.bias"; convolution group g under
 * "<path>groups.<g>.", e.g. "0.groups.1.tiles.0.0.weights"; pooling has no tensors), with
 * metadata aihw_format = "aihw-module", format_version = "1", aihw_version and architecture (JSON of the tree with each
 * layer's mapping and full tile configuration), so that aihw_module_load_new rebuilds the
 * model from the file alone. Loading the file and continuing gives bit-identical results
 * to continuing the saved module. The file is written to a temporary name, synced and
 * renamed over `path`: an existing file is replaced only by a complete one.
 * State is saved between training steps: gradients accumulated by backward and not yet
 * applied by aihw_module_step are refused (STATE naming the layer). Forward caches are
 * not saved. Errors: INVALID_ARGUMENT (NULL), STATE, OUT_OF_MEMORY, IO naming the file. */
AIHW_API aihw_status aihw_module_save(const aihw_module *module, const char *path);

/* Loads a file written by aihw_module_save into an existing module. The module keeps its
 * configuration: the file's architecture (kinds, features, bias, mapping, every tile
 * configuration field, seeds and tile ids) must equal the module's, else FORMAT naming
 * the first difference ("... at 'children[0].tile_config.device.dw_min' (file: 0.002,
 * module: 0.001)"); to use the file's configuration, rebuild with aihw_module_load_new.
 * strict = 1: every tensor the module expects must be present and every tensor in the
 * file must be used, else FORMAT listing all missing and unexpected names; strict = 0:
 * present tensors are loaded and the others ignored (the architecture must still match).
 * Tensors with the wrong dtype or shape, non-finite values or values out of range (e.g.
 * min_bound > max_bound) are errors in both modes. Everything is validated before
 * anything is written: on any error the module is unchanged. On success the modes
 * (training/evaluation) are the file's and the forward caches are cleared.
 * Errors: INVALID_ARGUMENT; IO (cannot read); FORMAT for truncated or corrupted files,
 * files without aihw metadata ("not an aihw module file"), bad architecture or tensors;
 * UNSUPPORTED for another format_version; OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_module_load(aihw_module *module, const char *path, int strict);

/* Builds a new module tree from a file of aihw_module_save alone (its architecture and
 * configurations) and loads its state strictly. *out receives the module, owned by the
 * caller (aihw_module_destroy); unchanged on error. Errors as aihw_module_load, plus those
 * of the constructors for an invalid architecture. */
AIHW_API aihw_status aihw_module_load_new(const char *path, aihw_module **out);

/* ---- In-memory state dicts (aihwkit's state_dict / load_state_dict, §7.2) ----------- */

/* A named collection of tensors plus string metadata, in insertion order: exactly what
 * aihw_module_save writes to a file (the file is this dict serialised as safetensors).
 * Opaque; every pointer an accessor returns is owned by the dict and stays valid until
 * aihw_state_dict_destroy (adding entries never moves earlier ones). */
typedef struct aihw_st_dict aihw_state_dict;

/* Element types of dict tensors (the safetensors dtypes). Append-only. */
typedef enum aihw_state_dtype {
  AIHW_STATE_BOOL = 0,
  AIHW_STATE_U8 = 1,
  AIHW_STATE_I8 = 2,
  AIHW_STATE_U16 = 3,
  AIHW_STATE_I16 = 4,
  AIHW_STATE_F16 = 5,
  AIHW_STATE_BF16 = 6,
  AIHW_STATE_U32 = 7,
  AIHW_STATE_I32 = 8,
  AIHW_STATE_F32 = 9,
  AIHW_STATE_U64 = 10,
  AIHW_STATE_I64 = 11,
  AIHW_STATE_F64 = 12
} aihw_state_dtype;

/* A view of one tensor: name, dtype, ndim extents (shape NULL for a scalar), numel,
 * nbytes and the row-major data in host byte order (64-byte aligned, never NULL). */
typedef struct aihw_state_tensor {
  const char *name;
  aihw_state_dtype dtype;
  size_t ndim;
  const size_t *shape;
  size_t numel;
  size_t nbytes;
  const void *data;
} aihw_state_tensor;

/* How aihw_module_load_state_dict treats a dict whose stored RPU configuration (each
 * layer's "mapping", "tile_config" and "pre_post" in the architecture metadata) differs
 * from the module's (aihwkit issues 275, 409: the stored configuration must never win
 * silently). The rest of the architecture (kinds, features, bias, children, digital
 * layers' fields) must match under every policy. */
typedef enum aihw_config_policy {
  /* The configurations must be equal: FORMAT naming the first differing field, e.g.
   * "... at 'children[0].tile_config.device.dw_min' (state: 0.002, module: 0.001)". */
  AIHW_CONFIG_MUST_MATCH = 0,
  /* The module keeps its configuration; the tensors are loaded into it (their names,
   * dtypes and shapes must still fit the module's tiles: a configuration with another
   * tile grid or other hidden parameters gives missing/unexpected names in strict mode). */
  AIHW_CONFIG_KEEP_MODULE = 1,
  /* The module is rebuilt with the dict's configuration, then loaded. The root struct
   * stays at the same address (a child pointer given to load stays valid as well), but
   * every pointer obtained from it before (aihw_module_child, aihw_linear_tile) is
   * invalidated. */
  AIHW_CONFIG_FROM_STATE = 2
} aihw_config_policy;

/* The whole state of a module tree as a new dict *out (the caller owns it;
 * aihw_state_dict_destroy): the tensors and metadata aihw_module_save describes
 * (aihw_format, format_version, aihw_version, architecture = JSON of the tree with every
 * layer's configuration). Errors: INVALID_ARGUMENT (NULL), STATE (gradients not yet
 * applied, naming the layer), OUT_OF_MEMORY; *out unchanged on error. */
AIHW_API aihw_status aihw_module_state_dict(const aihw_module *module, aihw_state_dict **out);

/* Loads a dict of aihw_module_state_dict (or aihw_state_dict_load) into `module`.
 * strict = 1: every tensor the module expects must be present and every tensor of the
 * dict must be used, else FORMAT listing EVERY missing and unexpected name in one
 * message; strict = 0: present tensors are loaded, the rest ignored (momentum buffers
 * are optional in both modes). `policy` decides about differing configurations (above).
 * Tensors of the wrong dtype or shape, non-finite or out-of-range values are errors in
 * both modes. Everything is validated before anything changes: on any error the module is
 * unchanged. On success the modes are the dict's and the forward caches are cleared.
 * Errors: INVALID_ARGUMENT (NULL, strict not 0/1, unknown policy); FORMAT (not an aihw
 * module state, architecture or configuration mismatch, bad tensors); UNSUPPORTED
 * (another format_version); OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_module_load_state_dict(aihw_module *module,
                                                 const aihw_state_dict *dict, int strict,
                                                 aihw_config_policy policy);

/* A new module tree built from the dict's architecture and configurations alone, loaded
 * strictly (aihw_module_load_new without the file). *out unchanged on error. */
AIHW_API aihw_status aihw_module_from_state_dict(const aihw_state_dict *dict,
                                                 aihw_module **out);

/* Building dicts by hand (e.g. to rename or drop entries): an empty dict; a copy of a
 * tensor (name unique, not "__metadata__"; data NULL = zeros); a metadata entry (an
 * existing key is replaced). INVALID_ARGUMENT naming what is wrong, OUT_OF_MEMORY; the
 * dict is unchanged on error. */
AIHW_API aihw_status aihw_state_dict_create(aihw_state_dict **out);
AIHW_API aihw_status aihw_state_dict_add(aihw_state_dict *dict, const char *name,
                                         aihw_state_dtype dtype, const size_t *shape,
                                         size_t ndim, const void *data);
AIHW_API aihw_status aihw_state_dict_set_metadata(aihw_state_dict *dict, const char *key,
                                                  const char *value);
/* Frees the dict; NULL is accepted. */
AIHW_API void aihw_state_dict_destroy(aihw_state_dict *dict);

/* Iteration and lookup. count: tensors (0 for NULL). at: the index-th tensor in insertion
 * order (INVALID_ARGUMENT for NULL or index >= count). find: tensor `name` (FORMAT "no
 * tensor '<name>'" when absent). contains: 1 or 0. metadata: the value of `key` or NULL;
 * metadata_at: the index-th entry (INVALID_ARGUMENT out of range). dtype_name: "F32",
 * "I64", ... ("?" out of range). */
AIHW_API size_t aihw_state_dict_count(const aihw_state_dict *dict);
AIHW_API aihw_status aihw_state_dict_at(const aihw_state_dict *dict, size_t index,
                                        aihw_state_tensor *out);
AIHW_API aihw_status aihw_state_dict_find(const aihw_state_dict *dict, const char *name,
                                          aihw_state_tensor *out);
AIHW_API int aihw_state_dict_contains(const aihw_state_dict *dict, const char *name);
AIHW_API const char *aihw_state_dict_metadata(const aihw_state_dict *dict, const char *key);
AIHW_API size_t aihw_state_dict_metadata_count(const aihw_state_dict *dict);
AIHW_API aihw_status aihw_state_dict_metadata_at(const aihw_state_dict *dict, size_t index,
                                                 const char **key, const char **value);
AIHW_API const char *aihw_state_dtype_name(aihw_state_dtype dtype);

/* The file layer: aihw_state_dict_save writes the dict as a safetensors file (atomically:
 * temporary file, sync, rename; IO naming the file); aihw_state_dict_load reads one into a
 * new dict (IO, FORMAT for truncated or corrupted files). aihw_module_save / _load /
 * _load_new are these composed with the functions above. */
AIHW_API aihw_status aihw_state_dict_save(const aihw_state_dict *dict, const char *path);
AIHW_API aihw_status aihw_state_dict_load(const char *path, aihw_state_dict **out);

/* ---- PyTorch parameters and conversion (§7.5) -------------------------------------- */

/* Learnable parameters under the names torch's state_dict() gives the same nn.Sequential:
 * "<index>.weight" [out][in] and "<index>.bias" [out] of every LINEAR and DIGITAL_LINEAR
 * layer; "weight", "bias" (affine), "running_mean", "running_var" and the I64 scalar
 * "num_batches_tracked" (track_running_stats) of every BATCHNORM layer; nested
 * containers adding one index per level ("1.0.weight"). Parameter-free modules take their
 * index as in torch (Linear, Sigmoid, Linear: "0.weight", "2.weight"). The file is a
 * safetensors file with F32 tensors (I64 for the counters) and metadata {"format": "pt"},
 * written atomically
 * (temporary file, sync, rename): Python's safetensors.torch.load_file reads it. Values
 * are the logical weights (aihw_linear_get_weights with force_exact = 1).
 * Errors: INVALID_ARGUMENT (NULL), OUT_OF_MEMORY, IO naming the file. */
AIHW_API aihw_status aihw_module_save_torch(const aihw_module *module, const char *path);

/* Loads such parameters (e.g. saved by PyTorch's safetensors.torch.save_file(
 * model.state_dict(), path)) into the module: F32, F64, F16 and BF16 tensors are converted
 * to float; every weight is written exactly (force_exact = 1; inference tiles lose their
 * programmed state, as with any set_weights). strict = 1: every parameter the module has
 * must be in the file and every tensor of the file must be a parameter, else FORMAT
 * listing the missing and unexpected names; strict = 0: absent parameters keep their
 * values and extra tensors are ignored. A tensor of another shape is SHAPE, of another
 * dtype FORMAT (counters must be I64), with a non-finite value NOT_FINITE (naming the
 * tensor and element), a negative running variance or counter INVALID_ARGUMENT, in both
 * modes. Everything is validated before any module changes.
 * Errors: INVALID_ARGUMENT; IO; FORMAT for truncated, corrupted or foreign files. */
AIHW_API aihw_status aihw_module_load_torch(aihw_module *module, const char *path, int strict);

/* aihwkit's convert_to_analog for an aihw network: a new tree of the same architecture
 * whose analog layers all use `config` and, when mapping is not NULL, that mapping; tile
 * ids are config->tile_id, +1, ... in tree order over every tile of every layer, so no
 * two tiles share a random stream; weights and
 * biases are copied exactly and the mode is the source's. E.g. a network trained with
 * FLOATING_POINT tiles becomes an INFERENCE network to program and drift.
 * *out is owned by the caller; unchanged on error. Errors: INVALID_ARGUMENT (NULL, an
 * invalid config or mapping naming the field), OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_module_convert(const aihw_module *src,
                                         const aihw_tile_config *config,
                                         const aihw_mapping_params *mapping,
                                         aihw_module **out);

/* ---- Losses ------------------------------------------------------------------------- */

/* Mean cross-entropy of logits[batch][classes] against labels[batch] (0..classes-1),
 * softmax included; *loss receives the mean, dlogits (may be NULL) the gradient of the
 * mean loss. Labels out of range: INVALID_ARGUMENT naming the sample. */
AIHW_API aihw_status aihw_loss_cross_entropy(const float *logits, const int32_t *labels,
                                             int64_t batch, int64_t classes, float *loss,
                                             float *dlogits);

/* Mean negative log-likelihood (torch.nn.NLLLoss, mean reduction) of log-probabilities
 * logp[batch][classes] (e.g. a LOGSOFTMAX output) against labels[batch]:
 * *loss = -1/batch sum_b logp[b][labels[b]], accumulated in double; dlogp (may be NULL)
 * gets -1/batch at each label and 0 elsewhere. LOGSOFTMAX followed by this loss equals
 * aihw_loss_cross_entropy up to float rounding. Errors as aihw_loss_cross_entropy. */
AIHW_API aihw_status aihw_loss_nll(const float *logp, const int32_t *labels, int64_t batch,
                                   int64_t classes, float *loss, float *dlogp);

/* Mean squared error 1/(batch n) sum (y - t)^2 and its gradient (may be NULL). */
AIHW_API aihw_status aihw_loss_mse(const float *y, const float *target, int64_t batch,
                                   int64_t n, float *loss, float *dy);

#ifdef __cplusplus
}
#endif
#endif
