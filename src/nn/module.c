/* Network modules (reference §7.2, §7.4, §1.4): the generic module entry points — argument
 * checks, the kind switch, SEQUENTIAL containers, the activations (ReLU, sigmoid, tanh,
 * flatten), training/evaluation mode, program/drift of every inference tile and the
 * CUDA move — on top of linear.c, conv.c (convolutions) and pool.c (pooling).
 *
 * Invariants: a module's cache belongs to the batch of its last forward (cached_batch) and
 * a backward consumes it; public calls check every argument before any state changes;
 * errors raised inside a container name the child's position and kind ("module 2
 * (LINEAR): ..."), nested containers adding one such prefix per level (program/drift name
 * the whole path, "module 1.0 (LINEAR)"). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aihw/cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/finite.h"
#include "nn/digital_internal.h"

/* ---- Buffers and errors ------------------------------------------------------------- */

aihw_status aihw_nn_buffer_grow(aihw_nn_buffer *buf, size_t n, size_t keep, const char *what) {
  if (n <= buf->capacity)
    return AIHW_OK;
  size_t cap = buf->capacity * 2 > n ? buf->capacity * 2 : n;
  float *p = aihw_alloc_array(cap, sizeof(float), what);
  if (p == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  if (keep > 0)
    memcpy(p, buf->data, keep * sizeof(float));
  aihw_free(buf->data);
  buf->data = p;
  buf->capacity = cap;
  return AIHW_OK;
}

aihw_status aihw_nn_buffer_reserve(aihw_nn_buffer *buf, size_t n, const char *what) {
  return aihw_nn_buffer_grow(buf, n, 0, what);
}

void aihw_nn_buffer_free(aihw_nn_buffer *buf) {
  aihw_free(buf->data);
  buf->data = NULL;
  buf->capacity = 0;
}

aihw_status aihw_nn_wrap_error(aihw_status status, const char *prefix) {
  char message[768];
  snprintf(message, sizeof message, "%s", aihw_last_error());
  return aihw_error(status, "%s: %s", prefix, message);
}

static const char *kind_name(aihw_module_kind kind) {
  switch (kind) {
  case AIHW_MODULE_LINEAR: return "LINEAR";
  case AIHW_MODULE_SEQUENTIAL: return "SEQUENTIAL";
  case AIHW_MODULE_RELU: return "RELU";
  case AIHW_MODULE_SIGMOID: return "SIGMOID";
  case AIHW_MODULE_TANH: return "TANH";
  case AIHW_MODULE_FLATTEN: return "FLATTEN";
  case AIHW_MODULE_CONV1D: return "CONV1D";
  case AIHW_MODULE_CONV2D: return "CONV2D";
  case AIHW_MODULE_MAXPOOL2D: return "MAXPOOL2D";
  case AIHW_MODULE_AVGPOOL2D: return "AVGPOOL2D";
  case AIHW_MODULE_DIGITAL_LINEAR: return "DIGITAL_LINEAR";
  case AIHW_MODULE_BATCHNORM1D: return "BATCHNORM1D";
  case AIHW_MODULE_BATCHNORM2D: return "BATCHNORM2D";
  case AIHW_MODULE_DROPOUT: return "DROPOUT";
  case AIHW_MODULE_SOFTMAX: return "SOFTMAX";
  case AIHW_MODULE_LOGSOFTMAX: return "LOGSOFTMAX";
  }
  return "UNKNOWN";
}

static aihw_status wrap_child(aihw_status st, int index, const aihw_module *child) {
  char prefix[64];
  snprintf(prefix, sizeof prefix, "module %d (%s)", index, kind_name(child->kind));
  return aihw_nn_wrap_error(st, prefix);
}

/* ---- Life cycle ----------------------------------------------------------------------- */

AIHW_API aihw_status aihw_sequential_create(aihw_module **out) {
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_sequential_create: out is NULL");
  aihw_module *m = aihw_calloc_array(1, sizeof *m, "sequential module");
  if (m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  m->kind = AIHW_MODULE_SEQUENTIAL;
  *out = m;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_sequential_append(aihw_module *seq, aihw_module *child) {
  static const char *fn = "aihw_sequential_append";
  if (child == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: child is NULL", fn);
  if (child == seq) /* not destroyed: it is the container itself */
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: a module cannot contain itself", fn);
  aihw_status st = AIHW_OK;
  if (seq == NULL)
    st = aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: container is NULL", fn);
  else if (seq->kind != AIHW_MODULE_SEQUENTIAL)
    st = aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is %s, not SEQUENTIAL", fn,
                    kind_name(seq->kind));
  else if (seq->child_count == seq->child_capacity) {
    int cap = seq->child_capacity > 0 ? 2 * seq->child_capacity : 4;
    aihw_module **p = aihw_alloc_array((size_t)cap, sizeof *p, "sequential children");
    if (p == NULL)
      st = AIHW_ERR_OUT_OF_MEMORY;
    else {
      if (seq->child_count > 0)
        memcpy(p, seq->children, (size_t)seq->child_count * sizeof *p);
      aihw_free(seq->children);
      seq->children = p;
      seq->child_capacity = cap;
    }
  }
  if (st != AIHW_OK) {
    aihw_module_destroy(child);
    return st;
  }
  seq->children[seq->child_count++] = child;
  seq->cached_batch = 0;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_activation_create(aihw_module_kind kind, int64_t features,
                                            aihw_module **out) {
  static const char *fn = "aihw_activation_create";
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
  if (kind != AIHW_MODULE_RELU && kind != AIHW_MODULE_SIGMOID && kind != AIHW_MODULE_TANH &&
      kind != AIHW_MODULE_FLATTEN && kind != AIHW_MODULE_SOFTMAX &&
      kind != AIHW_MODULE_LOGSOFTMAX)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: kind %d is not an activation (RELU, SIGMOID, TANH, FLATTEN, "
                      "SOFTMAX, LOGSOFTMAX)",
                      fn, (int)kind);
  if (features < 1 || features > 0x7fffffff)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: features = %lld: must be in 1 .. 2^31-1",
                      fn, (long long)features);
  aihw_module *m = aihw_calloc_array(1, sizeof *m, "activation module");
  if (m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  m->kind = kind;
  m->in_features = features;
  m->out_features = features;
  *out = m;
  return AIHW_OK;
}

AIHW_API void aihw_module_destroy(aihw_module *module) {
  if (module == NULL)
    return;
  for (int k = 0; k < module->child_count; ++k)
    aihw_module_destroy(module->children[k]);
  aihw_free(module->children);
  aihw_linear_state_free(module->linear);
  aihw_conv_state_free(module->conv);
  aihw_pool_state_free(module->pool);
  aihw_digital_state_free(module->digital);
  aihw_nn_buffer_free(&module->cache);
  aihw_nn_buffer_free(&module->ping);
  aihw_nn_buffer_free(&module->pong);
  aihw_free(module);
}

/* ---- Queries -------------------------------------------------------------------------- */

AIHW_API aihw_module_kind aihw_module_kind_of(const aihw_module *module) {
  return module != NULL ? module->kind : (aihw_module_kind)-1;
}

AIHW_API int64_t aihw_module_in_features(const aihw_module *module) {
  if (module == NULL)
    return -1;
  if (module->kind == AIHW_MODULE_SEQUENTIAL)
    return module->child_count > 0 ? aihw_module_in_features(module->children[0]) : 0;
  return module->in_features;
}

AIHW_API int64_t aihw_module_out_features(const aihw_module *module) {
  if (module == NULL)
    return -1;
  if (module->kind == AIHW_MODULE_SEQUENTIAL)
    return module->child_count > 0
               ? aihw_module_out_features(module->children[module->child_count - 1])
               : 0;
  return module->out_features;
}

AIHW_API int aihw_module_child_count(const aihw_module *module) {
  return module != NULL ? module->child_count : 0;
}

AIHW_API aihw_module *aihw_module_child(const aihw_module *module, int index) {
  if (module == NULL || index < 0 || index >= module->child_count)
    return NULL;
  return module->children[index];
}


/* Checks the chain of a container: every child's outputs feed the next one's inputs. */
static aihw_status check_chain(const aihw_module *m, int64_t *max_features) {
  if (m->child_count == 0)
    return aihw_error(AIHW_ERR_STATE, "the SEQUENTIAL module has no children");
  int64_t mx = 0;
  for (int k = 0; k < m->child_count; ++k) {
    const int64_t out = aihw_module_out_features(m->children[k]);
    const int64_t in = aihw_module_in_features(m->children[k]);
    mx = out > mx ? out : mx;
    mx = in > mx ? in : mx;
    if (k + 1 < m->child_count && out != aihw_module_in_features(m->children[k + 1]))
      return aihw_error(AIHW_ERR_SHAPE,
                        "module %d (%s) produces %lld outputs but module %d (%s) expects "
                        "%lld inputs",
                        k, kind_name(m->children[k]->kind), (long long)out, k + 1,
                        kind_name(m->children[k + 1]->kind),
                        (long long)aihw_module_in_features(m->children[k + 1]));
  }
  *max_features = mx;
  return AIHW_OK;
}

static float sigmoid(float x) {
  /* exp of a non-positive argument only: no overflow for large |x| */
  if (x >= 0.0f)
    return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

static aihw_status forward_impl(aihw_module *m, const float *x, int64_t batch, float *y) {
  const size_t n = (size_t)batch * (size_t)m->in_features;
  m->cached_batch = 0;
  switch (m->kind) {
  case AIHW_MODULE_LINEAR:
    AIHW_TRY(aihw_nn_buffer_reserve(&m->cache, n, "cached layer input"));
    memcpy(m->cache.data, x, n * sizeof(float));
    AIHW_TRY(aihw_linear_forward_impl(m, x, batch, y));
    break;
  case AIHW_MODULE_RELU:
    AIHW_TRY(aihw_nn_buffer_reserve(&m->cache, n, "cached activation input"));
    memcpy(m->cache.data, x, n * sizeof(float));
    for (size_t k = 0; k < n; ++k)
      y[k] = m->cache.data[k] > 0.0f ? m->cache.data[k] : 0.0f;
    break;
  case AIHW_MODULE_SIGMOID:
  case AIHW_MODULE_TANH:
    AIHW_TRY(aihw_nn_buffer_reserve(&m->cache, n, "cached activation output"));
    for (size_t k = 0; k < n; ++k)
      m->cache.data[k] = m->kind == AIHW_MODULE_SIGMOID ? sigmoid(x[k]) : tanhf(x[k]);
    memcpy(y, m->cache.data, n * sizeof(float));
    break;
  case AIHW_MODULE_CONV1D:
  case AIHW_MODULE_CONV2D: AIHW_TRY(aihw_conv_forward_impl(m, x, batch, y)); break;
  case AIHW_MODULE_MAXPOOL2D:
  case AIHW_MODULE_AVGPOOL2D: AIHW_TRY(aihw_pool_forward_impl(m, x, batch, y)); break;
  case AIHW_MODULE_FLATTEN:
    if (y != x)
      memmove(y, x, n * sizeof(float));
    break;
  case AIHW_MODULE_DIGITAL_LINEAR:
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D:
  case AIHW_MODULE_DROPOUT:
  case AIHW_MODULE_SOFTMAX:
  case AIHW_MODULE_LOGSOFTMAX: AIHW_TRY(aihw_digital_forward_impl(m, x, batch, y)); break;
  case AIHW_MODULE_SEQUENTIAL: {
    int64_t mx = 0;
    AIHW_TRY(check_chain(m, &mx));
    const size_t nb = (size_t)batch * (size_t)mx;
    AIHW_TRY(aihw_nn_buffer_reserve(&m->ping, nb, "sequential activations"));
    AIHW_TRY(aihw_nn_buffer_reserve(&m->pong, nb, "sequential activations"));
    const float *cur = x;
    for (int k = 0; k < m->child_count; ++k) {
      float *dst = k + 1 == m->child_count ? y : (k % 2 == 0 ? m->ping.data : m->pong.data);
      aihw_status st = forward_impl(m->children[k], cur, batch, dst);
      if (st != AIHW_OK)
        return wrap_child(st, k, m->children[k]);
      cur = dst;
    }
    break;
  }
  default: return aihw_error(AIHW_ERR_INTERNAL, "unknown module kind %d", (int)m->kind);
  }
  m->cached_batch = batch;
  return AIHW_OK;
}

static aihw_status backward_impl(aihw_module *m, const float *dy, int64_t batch, float *dx) {
  if (m->cached_batch == 0)
    return aihw_error(AIHW_ERR_STATE,
                      "backward without a matching forward (no forward since the last "
                      "backward)");
  if (m->cached_batch != batch)
    return aihw_error(AIHW_ERR_STATE,
                      "backward without a matching forward (last forward had batch %lld, "
                      "backward got %lld)",
                      (long long)m->cached_batch, (long long)batch);
  const size_t n = (size_t)batch * (size_t)m->in_features;
  const float *c = m->cache.data;
  switch (m->kind) {
  case AIHW_MODULE_LINEAR: AIHW_TRY(aihw_linear_backward_impl(m, dy, batch, dx)); break;
  case AIHW_MODULE_RELU:
    if (dx != NULL)
      for (size_t k = 0; k < n; ++k)
        dx[k] = c[k] > 0.0f ? dy[k] : 0.0f; /* gradient 0 at x <= 0, as torch */
    break;
  case AIHW_MODULE_SIGMOID:
    if (dx != NULL)
      for (size_t k = 0; k < n; ++k)
        dx[k] = dy[k] * c[k] * (1.0f - c[k]);
    break;
  case AIHW_MODULE_TANH:
    if (dx != NULL)
      for (size_t k = 0; k < n; ++k)
        dx[k] = dy[k] * (1.0f - c[k] * c[k]);
    break;
  case AIHW_MODULE_CONV1D:
  case AIHW_MODULE_CONV2D: AIHW_TRY(aihw_conv_backward_impl(m, dy, batch, dx)); break;
  case AIHW_MODULE_MAXPOOL2D:
  case AIHW_MODULE_AVGPOOL2D: AIHW_TRY(aihw_pool_backward_impl(m, dy, batch, dx)); break;
  case AIHW_MODULE_FLATTEN:
    if (dx != NULL && dx != dy)
      memmove(dx, dy, n * sizeof(float));
    break;
  case AIHW_MODULE_DIGITAL_LINEAR:
  case AIHW_MODULE_BATCHNORM1D:
  case AIHW_MODULE_BATCHNORM2D:
  case AIHW_MODULE_DROPOUT:
  case AIHW_MODULE_SOFTMAX:
  case AIHW_MODULE_LOGSOFTMAX: AIHW_TRY(aihw_digital_backward_impl(m, dy, batch, dx)); break;
  case AIHW_MODULE_SEQUENTIAL: {
    int64_t mx = 0;
    AIHW_TRY(check_chain(m, &mx));
    const size_t nb = (size_t)batch * (size_t)mx;
    AIHW_TRY(aihw_nn_buffer_reserve(&m->ping, nb, "sequential gradients"));
    AIHW_TRY(aihw_nn_buffer_reserve(&m->pong, nb, "sequential gradients"));
    const float *cur = dy;
    for (int k = m->child_count - 1; k >= 0; --k) {
      const int step = m->child_count - 1 - k;
      float *dst = k == 0 ? dx : (step % 2 == 0 ? m->ping.data : m->pong.data);
      aihw_status st = backward_impl(m->children[k], cur, batch, dst);
      if (st != AIHW_OK)
        return wrap_child(st, k, m->children[k]);
      cur = dst;
    }
    break;
  }
  default: return aihw_error(AIHW_ERR_INTERNAL, "unknown module kind %d", (int)m->kind);
  }
  m->cached_batch = 0;
  return AIHW_OK;
}

static aihw_status check_pass_args(const aihw_module *m, const float *in, int64_t batch,
                                   int64_t n_in, const float *out, int64_t n_out,
                                   int out_optional, const char *fn, const char *in_name,
                                   const char *out_name, int64_t want_in, int64_t want_out) {
  if (m == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (in == NULL || (out == NULL && !out_optional))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      in == NULL ? in_name : out_name);
  if (batch < 1 || batch > 0x7fffffff)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: batch = %lld: must be in 1 .. 2^31-1", fn,
                      (long long)batch);
  if (n_in != want_in)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %s has %lld features, the %s module expects %lld",
                      fn, in_name, (long long)n_in, kind_name(m->kind), (long long)want_in);
  if (n_out != want_out)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %s has %lld features, the %s module produces %lld",
                      fn, out_name, (long long)n_out, kind_name(m->kind), (long long)want_out);
  const int64_t k = aihw_first_non_finite(in, batch * n_in);
  if (k >= 0)
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s[%lld][%lld] = %g: must be finite", fn,
                      in_name, (long long)(k / n_in), (long long)(k % n_in), (double)in[k]);
  return AIHW_OK;
}

/* Visits the tiles of a tree in a fixed order: counters[k] <-> tile k (save = 1: read
 * them, 0: write them back). Returns the number of tiles. */
static size_t tile_counters(aihw_module *m, uint64_t *counters, size_t k, int save) {
  if (m->kind == AIHW_MODULE_LINEAR) {
    int64_t ni = 0, no = 0;
    if (aihw_linear_tile_grid(m, &ni, &no) != AIHW_OK)
      return k;
    for (int64_t i = 0; i < ni; ++i)
      for (int64_t o = 0; o < no; ++o, ++k) {
        aihw_tile *t = aihw_linear_tile(m, i, o);
        if (counters != NULL && t != NULL) {
          if (save)
            aihw_tile_get_counter(t, &counters[k]);
          else
            aihw_tile_set_counter(t, counters[k]);
        }
      }
    return k;
  }
  for (int c = 0; c < m->child_count; ++c)
    k = tile_counters(m->children[c], counters, k, save);
  return k;
}

AIHW_API aihw_status aihw_module_forward(aihw_module *module, const float *x, int64_t batch,
                                         int64_t in_features, float *y, int64_t out_features) {
  static const char *fn = "aihw_module_forward";
  AIHW_TRY(check_pass_args(module, x, batch, in_features, y, out_features, 0, fn, "x", "y",
                           aihw_module_in_features(module), aihw_module_out_features(module)));
  /* A failure in a later layer (out of memory) must not leave the earlier layers' tiles
   * with advanced random streams: their counters are restored, so the failed call changes
   * nothing that a later call could see. */
  const size_t n_tiles = tile_counters(module, NULL, 0, 1);
  uint64_t *counters = aihw_alloc_array(n_tiles, sizeof *counters, "tile counters");
  if (counters == NULL)
    return aihw_nn_wrap_error(AIHW_ERR_OUT_OF_MEMORY, fn);
  tile_counters(module, counters, 0, 1);
  aihw_status st = forward_impl(module, x, batch, y);
  if (st != AIHW_OK)
    tile_counters(module, counters, 0, 0);
  aihw_free(counters);
  return st == AIHW_OK ? st : aihw_nn_wrap_error(st, fn);
}

AIHW_API aihw_status aihw_module_backward(aihw_module *module, const float *dy, int64_t batch,
                                          int64_t out_features, float *dx,
                                          int64_t in_features) {
  static const char *fn = "aihw_module_backward";
  AIHW_TRY(check_pass_args(module, dy, batch, out_features, dx, in_features, 1, fn, "dy", "dx",
                           aihw_module_out_features(module), aihw_module_in_features(module)));
  aihw_status st = backward_impl(module, dy, batch, dx);
  return st == AIHW_OK ? st : aihw_nn_wrap_error(st, fn);
}

/* ---- Step, mode, program / drift ------------------------------------------------------ */

static int has_gradients(const aihw_module *m) {
  if (m->kind == AIHW_MODULE_LINEAR)
    return aihw_linear_has_gradients(m);
  if (m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D)
    return aihw_conv_has_gradients(m);
  if (aihw_digital_kind(m->kind))
    return aihw_digital_has_gradients(m);
  for (int k = 0; k < m->child_count; ++k)
    if (has_gradients(m->children[k]))
      return 1;
  return 0;
}

static aihw_status step_impl(aihw_module *m, const aihw_sgd_params *sgd) {
  if (m->kind == AIHW_MODULE_LINEAR)
    return aihw_linear_step_impl(m, sgd);
  if (m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D)
    return aihw_conv_step_impl(m, sgd);
  if (aihw_digital_kind(m->kind))
    return aihw_digital_step_impl(m, sgd);
  for (int k = 0; k < m->child_count; ++k) {
    aihw_status st = step_impl(m->children[k], sgd);
    if (st != AIHW_OK)
      return wrap_child(st, k, m->children[k]);
  }
  return AIHW_OK;
}

static aihw_status step_checked(aihw_module *module, const aihw_sgd_params *sgd,
                                const char *fn) {
  if (module == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  aihw_status st = aihw_sgd_params_validate(sgd);
  if (st != AIHW_OK)
    return aihw_nn_wrap_error(st, fn);
  if (!has_gradients(module))
    return aihw_error(AIHW_ERR_STATE,
                      "%s: no accumulated gradients: call aihw_module_backward first", fn);
  st = step_impl(module, sgd);
  return st == AIHW_OK ? st : aihw_nn_wrap_error(st, fn);
}

AIHW_API aihw_status aihw_module_step(aihw_module *module, float lr) {
  const aihw_sgd_params sgd = aihw_sgd_params_default(lr);
  return step_checked(module, &sgd, "aihw_module_step");
}

AIHW_API aihw_status aihw_module_step_sgd(aihw_module *module, const aihw_sgd_params *params) {
  return step_checked(module, params, "aihw_module_step_sgd");
}

static aihw_status set_training_impl(aihw_module *m, int training) {
  m->training = training;
  if (m->kind == AIHW_MODULE_LINEAR)
    AIHW_TRY(aihw_linear_set_training_impl(m, training));
  if (m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D)
    AIHW_TRY(aihw_conv_set_training_impl(m, training));
  for (int k = 0; k < m->child_count; ++k)
    AIHW_TRY(set_training_impl(m->children[k], training));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_module_set_training(aihw_module *module, int training) {
  static const char *fn = "aihw_module_set_training";
  if (module == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (training != 0 && training != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: training = %d: must be 0 or 1", fn,
                      training);
  return set_training_impl(module, training);
}

/* Checks (check_only = 1) or runs program/drift over the tree; `path` names the module. */
static aihw_status program_impl(aihw_module *m, const char *path, int check_only, int program,
                                float t_inference_s) {
  char prefix[160];
  snprintf(prefix, sizeof prefix, "module %s%s(%s)", path, path[0] ? " " : "",
           kind_name(m->kind));
  const int conv = m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D;
  if (m->kind == AIHW_MODULE_LINEAR || conv) {
    if (check_only)
      return m->training ? aihw_error(AIHW_ERR_STATE,
                                      "%s: in training mode; call "
                                      "aihw_module_set_training(module, 0) first",
                                      prefix)
                         : AIHW_OK;
    aihw_status st = conv ? aihw_conv_program_impl(m, program, t_inference_s)
                          : aihw_linear_program_impl(m, program, t_inference_s);
    return st == AIHW_OK ? st : aihw_nn_wrap_error(st, prefix);
  }
  for (int k = 0; k < m->child_count; ++k) {
    char child_path[128];
    snprintf(child_path, sizeof child_path, "%s%s%d", path, path[0] ? "." : "", k);
    AIHW_TRY(program_impl(m->children[k], child_path, check_only, program, t_inference_s));
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_module_program_weights(aihw_module *module) {
  static const char *fn = "aihw_module_program_weights";
  if (module == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  aihw_status st = program_impl(module, "", 1, 1, 0.0f);
  if (st == AIHW_OK)
    st = program_impl(module, "", 0, 1, 0.0f);
  return st == AIHW_OK ? st : aihw_nn_wrap_error(st, fn);
}

AIHW_API aihw_status aihw_module_drift_to(aihw_module *module, float t_inference_s) {
  static const char *fn = "aihw_module_drift_to";
  if (module == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (!isfinite(t_inference_s) || t_inference_s < 0.0f)
    return aihw_error(isfinite(t_inference_s) ? AIHW_ERR_INVALID_ARGUMENT : AIHW_ERR_NOT_FINITE,
                      "%s: t_inference_s = %g: must be finite and >= 0", fn,
                      (double)t_inference_s);
  aihw_status st = program_impl(module, "", 1, 0, t_inference_s);
  if (st == AIHW_OK)
    st = program_impl(module, "", 0, 0, t_inference_s);
  return st == AIHW_OK ? st : aihw_nn_wrap_error(st, fn);
}

/* Moves every tile of the tree to CUDA device `device` (-1: the host). */
static aihw_status move_tiles(aihw_module *m, int device) {
  if (m->kind == AIHW_MODULE_LINEAR) {
    int64_t rows = 0, cols = 0;
    AIHW_TRY(aihw_linear_tile_grid(m, &rows, &cols));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        aihw_tile *t = aihw_linear_tile(m, r, c);
        AIHW_TRY(device < 0 ? aihw_tile_to_host(t) : aihw_tile_to_cuda(t, device));
      }
  }
  for (int k = 0; k < m->child_count; ++k)
    AIHW_TRY(move_tiles(m->children[k], device));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_module_to_cuda(aihw_module *module, int device_index) {
  static const char *fn = "aihw_module_to_cuda";
  if (module == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (device_index < 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: device_index = %d: must be >= 0", fn,
                      device_index);
  aihw_status st = move_tiles(module, device_index);
  if (st != AIHW_OK) { /* all or nothing: the tiles moved so far go back */
    char message[768];
    snprintf(message, sizeof message, "%s", aihw_last_error());
    (void)move_tiles(module, -1);
    return aihw_error(st, "%s: %s", fn, message);
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_module_to_host(aihw_module *module) {
  if (module == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_module_to_host: module is NULL");
  aihw_status st = move_tiles(module, -1);
  return st == AIHW_OK ? st : aihw_nn_wrap_error(st, "aihw_module_to_host");
}
