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
  AIHW_MODULE_FLATTEN = 5 /* identity on row-major data (shape bookkeeping only) */
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
 * force_exact = 1: exact copies; 0: realistic when the layer's tiles are ANALOG or
 * INFERENCE — not supported yet (UNSUPPORTED); FLOATING_POINT tiles are always exact.
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

/* Program / drift every INFERENCE tile of the tree (§6.7); other tiles are left alone.
 * STATE, before any tile changes, when a LINEAR module is in training mode (the message
 * names its path, e.g. "module 1.0 (LINEAR)"). t_inference_s must be finite and >= 0. */
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
 * every tile of every LINEAR layer (weights, every hidden device parameter, pulse
 * counters, digital scales, random-stream counters, running noise-management values,
 * training-drift state, programmed weights, drift exponents and compensation baselines of
 * INFERENCE tiles), the digital biases and the modes, named by their place in the tree
 * ("0.tiles.1.0.weights", "2.bias"), with metadata aihw_format = "aihw-module",
 * format_version = "1", aihw_version and architecture (JSON of the tree with each
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
