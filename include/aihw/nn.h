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

#include "aihw/common.h"
#include "aihw/tile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Mapping of a layer onto tiles (aihwkit MappingParameter, §7.3) ---------------- */

typedef struct aihw_mapping_params {
  int digital_bias;              /* 1: bias added digitally after the tiles; 0: analog column */
  float weight_scaling_omega;    /* > 0: scale weights so max|W| = omega (digital scales) */
  int weight_scaling_columnwise; /* per output row instead of per tile */
  int weight_scaling_lr_compensation; /* lr x 1/mean(scales) */
  int learn_out_scaling;      /* learnable output scales (not supported yet: must be 0) */
  int out_scaling_columnwise; /* per output or scalar learned scale */
  int64_t max_input_size;     /* max tile columns, 512 (0 = unlimited) */
  int64_t max_output_size;    /* max tile rows, 512 (0 = unlimited) */
} aihw_mapping_params;

/* aihwkit's MappingParameter() defaults: digital bias, no weight scaling, 512 x 512. */
AIHW_API aihw_mapping_params aihw_mapping_params_default(void);
AIHW_API aihw_status aihw_mapping_params_validate(const aihw_mapping_params *params,
                                                  const char *what);

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
 * aihw_tile_config_to_json plus an optional "mapping" member (the object above). The
 * mapping is read here, everything else by aihw_tile_config_from_json with its rules.
 * *config and *mapping are both written on success and both unchanged on error. */
AIHW_API aihw_status aihw_rpu_config_from_json(const char *json, aihw_tile_config *config,
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
  AIHW_MODULE_AVGPOOL2D = 9  /* digital 2-D average pooling (padding counted) */
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
 * config or mapping naming the field), UNSUPPORTED (learn_out_scaling), OUT_OF_MEMORY. */
AIHW_API aihw_status aihw_linear_create(const aihw_tile_config *config,
                                        const aihw_mapping_params *mapping, int64_t in_features,
                                        int64_t out_features, int bias, aihw_module **out);

AIHW_API aihw_status aihw_sequential_create(aihw_module **out);
/* Appends `child` (ownership passes to `seq`, also on error the child is destroyed, except
 * when child == seq). The child's input size must match the previous child's output size
 * (checked at forward, SHAPE naming both children). A module may be appended only once. */
AIHW_API aihw_status aihw_sequential_append(aihw_module *seq, aihw_module *child);

/* Parameter-free modules (RELU, SIGMOID, TANH, FLATTEN) of `features` inputs/outputs. */
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
 * gets one aihw_tile_update with all accumulated samples concatenated, digital biases plain
 * SGD b -= lr sum d; then every tile's post-update step. Clears the accumulated gradients.
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

/* ---- State files (DESIGN.md §3 "Module state") ------------------------------------- */

/* Saves the whole state of a module tree to one safetensors file at `path`: the tensors of
 * every tile of every LINEAR and convolution layer (weights, every hidden device
 * parameter, pulse counters, digital scales, random-stream counters, running
 * noise-management values, training-drift state, programmed weights, drift exponents and
 * compensation baselines of INFERENCE tiles), the digital biases and the modes, named by
 * their place in the tree ("0.tiles.1.0.weights", "2.bias"; convolution group g under
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

/* ---- PyTorch parameters and conversion (§7.5) -------------------------------------- */

/* Learnable parameters under the names torch's state_dict() gives the same nn.Sequential:
 * "<index>.weight" [out][in] and "<index>.bias" [out] of every LINEAR layer, nested
 * containers adding one index per level ("1.0.weight"). Parameter-free modules take their
 * index as in torch (Linear, Sigmoid, Linear: "0.weight", "2.weight"). The file is a
 * safetensors file with F32 tensors and metadata {"format": "pt"}, written atomically
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
 * dtype FORMAT, with a non-finite value NOT_FINITE (naming the tensor and element), in
 * both modes. Everything is validated before any module changes.
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

/* Mean squared error 1/(batch n) sum (y - t)^2 and its gradient (may be NULL). */
AIHW_API aihw_status aihw_loss_mse(const float *y, const float *target, int64_t batch,
                                   int64_t n, float *loss, float *dy);

#ifdef __cplusplus
}
#endif
#endif
