/* Private parts of the digital layers (include/aihw/nn.h "Digital layers", "Optimizer"):
 * the digital parameter with its torch SGD state (optim.c), the per-kind layer states of
 * DIGITAL_LINEAR (digital_linear.c), BATCHNORM1D/2D (batchnorm.c) and DROPOUT (digital.c,
 * with the parameter-free SOFTMAX/LOGSOFTMAX and the dispatch), and the state-file hooks
 * (digital_state.c).
 *
 * module.c checks every argument (NULLs, shapes, finiteness, the forward/backward pairing)
 * and dispatches here through aihw_digital_*_impl; these only compute. */
#ifndef AIHW_NN_DIGITAL_INTERNAL_H
#define AIHW_NN_DIGITAL_INTERNAL_H

#include <stddef.h>

#include "nn/module_internal.h"

struct cJSON;
struct aihw_st_dict;
struct aihw_state_names;

/* ---- Digital parameters and torch SGD (optim.c) ---------------------------------------- */

/* One digital parameter tensor with torch's SGD state: `momentum` holds momentum_buffer
 * (valid once a step with momentum > 0 has run: torch creates the buffer lazily, and the
 * first momentum step copies the gradient instead of blending it). Storage of value and
 * momentum is one allocation owned by the parameter, unless `value` was borrowed. */
typedef struct aihw_nn_param {
  float *value;    /* [n] */
  float *momentum; /* [n] */
  int64_t n;
  int momentum_valid;
} aihw_nn_param;

/* Allocates value (zeros) and momentum of n floats. OUT_OF_MEMORY naming `what`. */
aihw_status aihw_nn_param_init(aihw_nn_param *p, int64_t n, const char *what);
void aihw_nn_param_free(aihw_nn_param *p);

/* torch SGD on one parameter with gradient g [n] (g is used as scratch). Parameters
 * validated by the caller. */
void aihw_nn_param_sgd(aihw_nn_param *p, float *g, const aihw_sgd_params *sgd);

/* True when sgd is plain SGD (no momentum, no weight decay): then p -= lr g is all. */
int aihw_sgd_is_plain(const aihw_sgd_params *sgd);

/* ---- Layer states ------------------------------------------------------------------------ */

typedef struct aihw_dlinear {
  aihw_nn_param weight; /* [out][in] */
  aihw_nn_param bias;   /* [out], n = 0 without bias */
  uint32_t seed, module_id;
  aihw_nn_buffer acc_x, acc_d; /* rows of every backward since the last step */
  int64_t acc_rows;
  aihw_nn_buffer work; /* gradient scratch */
} aihw_dlinear;

typedef struct aihw_batchnorm {
  aihw_batchnorm_params params;
  int64_t channels, spatial;         /* spatial: length (1d) or height x width (2d) */
  int64_t height, width;             /* 2d: the plane; 1d: length, 1 */
  aihw_nn_param gamma, beta;         /* [channels] when affine */
  float *running_mean, *running_var; /* [channels] when tracking (one allocation) */
  int64_t num_batches_tracked;
  double *grad;    /* [2 channels]: d gamma, d beta accumulated */
  float *grad_f32; /* [2 channels]: the step's rounded gradients */
  int has_grad;
  double *cache_invstd;  /* [channels] of the last forward */
  int cache_batch_stats; /* the last forward normalised with batch statistics */
} aihw_batchnorm;

typedef struct aihw_dropout {
  float p;
  uint32_t seed, module_id;
  uint64_t step_counter; /* training forwards so far (48 bits of Philox op counter) */
  int cache_masked;      /* the cached forward applied a mask (training) */
} aihw_dropout;

struct aihw_digital_state {
  aihw_dlinear linear;  /* DIGITAL_LINEAR */
  aihw_batchnorm norm;  /* BATCHNORM1D / 2D */
  aihw_dropout dropout; /* DROPOUT */
};

/* True for the kinds handled here (DIGITAL_LINEAR .. LOGSOFTMAX). */
int aihw_digital_kind(aihw_module_kind kind);
void aihw_digital_state_free(aihw_digital_state *state);

/* Kind switch over the digital kinds (the module's cache holds what backward needs). */
aihw_status aihw_digital_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y);
aihw_status aihw_digital_backward_impl(aihw_module *m, const float *dy, int64_t batch,
                                       float *dx);
int aihw_digital_has_gradients(const aihw_module *m);
aihw_status aihw_digital_step_impl(aihw_module *m, const aihw_sgd_params *sgd);

/* Per-kind implementations. */
aihw_status aihw_dlinear_forward(aihw_module *m, const float *x, int64_t batch, float *y);
aihw_status aihw_dlinear_backward(aihw_module *m, const float *dy, int64_t batch, float *dx);
void aihw_dlinear_step(aihw_module *m, const aihw_sgd_params *sgd);
aihw_status aihw_batchnorm_forward(aihw_module *m, const float *x, int64_t batch, float *y);
aihw_status aihw_batchnorm_backward(aihw_module *m, const float *dy, int64_t batch, float *dx);
void aihw_batchnorm_step(aihw_module *m, const aihw_sgd_params *sgd);

/* ---- State files (digital_state.c) ---------------------------------------------------- */

/* Copies decided during an import's validation and made only when everything is valid:
 * bytes from the file into the module, then *flag = flag_value where flag is set (e.g. a
 * momentum buffer present in the file becomes valid, absent becomes invalid). */
typedef struct aihw_nn_copy {
  void *dst;
  const void *src;
  size_t bytes;
  int *flag;
  int flag_value;
} aihw_nn_copy;

typedef struct aihw_nn_import {
  const struct aihw_st_dict *dict;
  unsigned char *used;              /* per tensor of dict: consumed by the module */
  struct aihw_state_names *missing; /* names the module expects and the file lacks */
  aihw_nn_copy *copies;
  size_t n_copies, cap_copies;
} aihw_nn_import;

void aihw_nn_import_commit(aihw_nn_import *im);
void aihw_nn_import_free(aihw_nn_import *im);

/* Adds the architecture fields of a digital module to `o` (0 on allocation failure). */
int aihw_digital_architecture(const aihw_module *m, struct cJSON *o);
/* Builds a digital module of kind `kind` from its architecture entry. */
aihw_status aihw_digital_build(int kind, const struct cJSON *a, const char *source,
                               aihw_module **out);
/* Tensors of a digital module at path `prefix` ("" or "1.0."): export adds them; prepare
 * validates them and plans the copies. STATE on export when gradients are pending. */
aihw_status aihw_digital_export(const aihw_module *m, struct aihw_st_dict *dict,
                                const char *prefix);
aihw_status aihw_digital_prepare(aihw_module *m, aihw_nn_import *im, const char *prefix);

/* The momentum buffer of a digital parameter as tensor "<name>.momentum" (present only
 * when valid), shared by LINEAR's digital bias (state.c). */
aihw_status aihw_nn_param_export(const aihw_nn_param *p, struct aihw_st_dict *dict,
                                 const char *name);
/* Plans the load of "<name>.momentum" if the file has it (else the buffer becomes
 * invalid); optional even in strict loads, as torch's optimizer state. */
aihw_status aihw_nn_param_prepare_momentum(aihw_nn_param *p, aihw_nn_import *im,
                                           const char *name);
/* Plans the load of an f32 tensor of n finite values into dst (missing: recorded). */
aihw_status aihw_nn_import_f32(aihw_nn_import *im, const char *name, const size_t *shape,
                               size_t ndim, float *dst);

#endif
