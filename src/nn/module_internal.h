/* Private layout of aihw_module (include/aihw/nn.h, reference §7.2–7.4): one struct with a
 * kind switch. Every module caches what its backward needs during forward (`cache`: the
 * input of LINEAR and RELU, the output of SIGMOID and TANH) together with the batch it
 * belongs to; a successful backward consumes the cache (cached_batch = 0), so a backward
 * always pairs with exactly one forward, as torch's autograd does.
 *
 * LINEAR layers keep a tile grid (aihwkit TileModuleArray, §7.3) and the (x, d) rows of
 * every backward since the last step (aihwkit AnalogContext, §1.4 step 2); step() feeds
 * them to each tile as one concatenated update. SEQUENTIAL owns its children and two
 * ping-pong buffers for the activations between them. CONV1D/CONV2D own one internal
 * LINEAR per group (conv.c; not children: the tree sees one layer), MAXPOOL2D/AVGPOOL2D
 * their geometry and argmax cache (pool.c). */
#ifndef AIHW_NN_MODULE_INTERNAL_H
#define AIHW_NN_MODULE_INTERNAL_H

#include <stddef.h>

#include "aihw/nn.h"

/* A float buffer grown on demand (never shrunk); aihw_alloc'ed. */
typedef struct aihw_nn_buffer {
  float *data;
  size_t capacity; /* floats */
} aihw_nn_buffer;

/* Makes room for n floats (contents not kept). OUT_OF_MEMORY naming `what`. */
aihw_status aihw_nn_buffer_reserve(aihw_nn_buffer *buf, size_t n, const char *what);
/* Same, keeping the first `keep` floats. */
aihw_status aihw_nn_buffer_grow(aihw_nn_buffer *buf, size_t n, size_t keep, const char *what);
void aihw_nn_buffer_free(aihw_nn_buffer *buf);

typedef struct aihw_linear_state aihw_linear_state; /* linear.c */
typedef struct aihw_conv_state aihw_conv_state;     /* conv.c */
typedef struct aihw_pool_state aihw_pool_state;     /* pool.c */
typedef struct aihw_digital_state aihw_digital_state; /* nn/digital_internal.h */
struct aihw_nn_param;

struct aihw_module {
  aihw_module_kind kind;
  int64_t in_features, out_features; /* containers: derived from the children */
  int training;
  int64_t cached_batch; /* batch of the forward whose cache is valid; 0: none */
  aihw_nn_buffer cache;
  aihw_linear_state *linear; /* LINEAR */
  aihw_conv_state *conv;     /* CONV1D, CONV2D */
  aihw_pool_state *pool;     /* MAXPOOL2D, AVGPOOL2D */
  aihw_digital_state *digital; /* DIGITAL_LINEAR, BATCHNORM1D/2D, DROPOUT */
  aihw_module **children;    /* SEQUENTIAL */
  int child_count, child_capacity;
  aihw_nn_buffer ping, pong; /* SEQUENTIAL: activations between children */
};

/* LINEAR implementation (linear.c). Arguments are checked by module.c (NULLs, shapes,
 * finiteness); these only compute. */
aihw_status aihw_linear_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y);
aihw_status aihw_linear_backward_impl(aihw_module *m, const float *dy, int64_t batch,
                                      float *dx);
int aihw_linear_has_gradients(const aihw_module *m);
aihw_status aihw_linear_step_impl(aihw_module *m, const aihw_sgd_params *sgd);
aihw_status aihw_linear_set_training_impl(aihw_module *m, int training);
/* Programs (program = 1) or drifts every INFERENCE tile; other tiles are skipped. */
aihw_status aihw_linear_program_impl(aihw_module *m, int program, float t_inference_s);
void aihw_linear_state_free(aihw_linear_state *state);

/* Convolutions (conv.c): each group is an internal LINEAR module (aihw_conv_group) fed
 * with the unfolded input; its cache holds the unfolded rows of the last forward. */
aihw_status aihw_conv_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y);
aihw_status aihw_conv_backward_impl(aihw_module *m, const float *dy, int64_t batch, float *dx);
int aihw_conv_has_gradients(const aihw_module *m);
aihw_status aihw_conv_step_impl(aihw_module *m, const aihw_sgd_params *sgd);
aihw_status aihw_conv_set_training_impl(aihw_module *m, int training);
aihw_status aihw_conv_program_impl(aihw_module *m, int program, float t_inference_s);
int64_t aihw_conv_group_count(const aihw_module *m);
void aihw_conv_state_free(aihw_conv_state *state);

/* Pooling (pool.c). */
aihw_status aihw_pool_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y);
aihw_status aihw_pool_backward_impl(aihw_module *m, const float *dy, int64_t batch, float *dx);
void aihw_pool_state_free(aihw_pool_state *state);

/* Input-range parameters (input_range.c): validation naming "<what>: input_range.<field>",
 * and the JSON object of the RPU config's "pre_post.input_range" (NULL when out of memory;
 * reading: FORMAT naming the key, then validation; *out unchanged on error). */
struct cJSON;
aihw_status aihw_input_range_params_validate(const aihw_input_range_params *p,
                                             const char *what);
struct cJSON *aihw_input_range_to_cjson(const aihw_input_range_params *p);
aihw_status aihw_input_range_from_cjson(const struct cJSON *o, const char *group,
                                        aihw_input_range_params *out);

/* Re-raises the calling thread's last error with "<prefix>: " in front (keeps its
 * status); returns that status. */
aihw_status aihw_nn_wrap_error(aihw_status status, const char *prefix);

/* ---- State files (state.c) ----------------------------------------------------------- */

struct aihw_st_dict;

/* What the state files need of a LINEAR module besides its tiles (linear.c). `bias` is
 * the digital bias [out_features] (NULL when the layer has none or it is an analog
 * column; bias_param likewise); pending_rows counts accumulated gradient rows not yet
 * applied by a step. */
typedef struct aihw_linear_view {
  aihw_mapping_params mapping;
  int has_bias, analog_bias;
  float *bias;
  struct aihw_nn_param *bias_param; /* the digital bias with its momentum buffer */
  int64_t pending_rows;
} aihw_linear_view;
void aihw_linear_view_of(const aihw_module *m, aihw_linear_view *view);

/* In-memory state of a whole module tree (state.c): the tensors of aihw_module_save,
 * without the file. Export adds to `dict`; STATE when gradients are pending. Import
 * validates everything (architecture is the caller's business) before it changes
 * anything; strict as for aihw_module_load. */
aihw_status aihw_module_state_export(const aihw_module *m, struct aihw_st_dict *dict);
aihw_status aihw_module_state_import(aihw_module *m, const struct aihw_st_dict *dict,
                                     int strict);
/* The loader behind aihw_module_load_state_dict and aihw_module_load (policy an
 * aihw_config_policy, `source` names the dict in errors); and the builder behind
 * aihw_module_from_state_dict and aihw_module_load_new. Arguments checked by the caller. */
aihw_status aihw_module_state_load(aihw_module *m, const struct aihw_st_dict *dict, int strict,
                                   int policy, const char *source);
aihw_status aihw_module_state_build(const struct aihw_st_dict *dict, const char *source,
                                    aihw_module **out);

/* The architecture JSON of aihw_module_save's metadata (state.c): kinds, features, bias,
 * mapping and full tile configuration of every layer, modes. NULL with the error set
 * (OUT_OF_MEMORY). The caller owns the tree (cJSON_Delete). */
struct cJSON;
struct cJSON *aihw_module_architecture_json(const aihw_module *m);
/* Builds a new module tree from such a JSON tree; `source` names it in errors. */
aihw_status aihw_module_from_architecture(const struct cJSON *arch, const char *source,
                                          aihw_module **out);
/* Architecture pieces shared with layers_state.c (state.c): adds "mapping" and
 * "tile_config" (tile (0, 0)) of a LINEAR module to o (0 on failure, error set), and reads
 * them back from an architecture entry (FORMAT naming `what`). */
int aihw_nn_arch_add_layer_config(struct cJSON *o, const aihw_module *linear);
aihw_status aihw_nn_arch_layer_config(const struct cJSON *a, const char *source,
                                      const char *what, aihw_mapping_params *mapping,
                                      aihw_tile_config *config);
/* Architecture entries of CONV1D, CONV2D, MAXPOOL2D, AVGPOOL2D (layers_state.c): adds the
 * module's fields to o (0 on failure, error set); builds a module from an entry. */
int aihw_layers_architecture(const aihw_module *m, struct cJSON *o);
aihw_status aihw_layers_build(aihw_module_kind kind, const struct cJSON *a, const char *source,
                              aihw_module **out);

#endif
