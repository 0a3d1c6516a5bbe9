/* aihw_tile: life cycle, exact weight access and the forward/backward entry points
 * (reference §2, §3). Argument checking lives here; the computation lives in
 * periphery.c (analog) and aihw_exact_mv (floating point / perfect). */
#include "tile/tile_internal.h"

#include <math.h>
#include <string.h>

#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/finite.h"

/* CBLAS takes int dimensions and the random streams address rows with 32 bits. */
#define AIHW_MAX_DIM ((int64_t)0x7fffffff)

/* Systematic draw sub-streams of the two directions (see periphery.c). */
enum { SYSTEMATIC_FORWARD = 0, SYSTEMATIC_BACKWARD = 16 };

AIHW_API aihw_tile_config aihw_tile_config_default(aihw_tile_kind kind) {
  aihw_tile_config c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  c.forward = aihw_io_params_default();
  c.backward = aihw_io_params_default();
  c.update = aihw_update_params_default();
  c.inference = aihw_inference_params_default();
  c.device = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  c.compound = aihw_compound_params_default(AIHW_COMPOUND_NONE, NULL, 0);
  if (kind == AIHW_TILE_INFERENCE) {
    c.backward.is_perfect = 1; /* aihwkit InferenceRPUConfig: backward IOParameters(is_perfect=True) */
    c.update.pulse_type = AIHW_PULSE_NONE;
    c.device = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  } else if (kind == AIHW_TILE_FLOATING_POINT) {
    c.update.pulse_type = AIHW_PULSE_NONE;
    c.device = aihw_device_params_default(AIHW_DEVICE_FLOATING_POINT);
  }
  return c;
}

AIHW_API const char *aihw_tile_kind_name(aihw_tile_kind kind) {
  switch (kind) {
  case AIHW_TILE_FLOATING_POINT: return "FLOATING_POINT";
  case AIHW_TILE_ANALOG: return "ANALOG";
  case AIHW_TILE_INFERENCE: return "INFERENCE";
  }
  return NULL;
}

static int uses_abs_weights(const aihw_periphery *p) {
  const aihw_io_params *io = &p->io;
  return !p->perfect &&
         (io->ir_drop > 0.0f ||
          (io->w_noise > 0.0f && io->w_noise_type == AIHW_W_NOISE_PCM_READ));
}

AIHW_API aihw_status aihw_tile_create(const aihw_tile_config *config, int64_t out_size,
                                      int64_t in_size, aihw_tile **out) {
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_create: out is NULL");
  if (config == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_create: config is NULL");
  if (aihw_tile_kind_name(config->kind) == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "tile kind = %d: must be FLOATING_POINT (0), ANALOG (1) or INFERENCE (2)",
                      (int)config->kind);
  if (config->analog_bias != 0 && config->analog_bias != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "analog_bias = %d: must be 0 or 1",
                      config->analog_bias);
  const int64_t cols = in_size + (config->analog_bias ? 1 : 0);
  if (out_size < 1 || out_size > AIHW_MAX_DIM)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "out_size = %lld: must be in [1, %lld]",
                      (long long)out_size, (long long)AIHW_MAX_DIM);
  if (in_size < 1 || cols > AIHW_MAX_DIM)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "in_size = %lld: must be in [1, %lld]",
                      (long long)in_size, (long long)AIHW_MAX_DIM - config->analog_bias);

  aihw_tile *t = aihw_calloc_array(1, sizeof *t, "tile");
  if (t == NULL)
    return aihw_last_status();
  t->config = *config;
  t->out_size = out_size;
  t->in_size = in_size;
  t->cols = cols;
  t->forward_alpha = 1.0f;
  t->backward_alpha = 1.0f;
  t->op_counter = 1; /* counter 0 is used by the systematic draws at construction */
  aihw_status s = AIHW_OK;
  if (config->kind != AIHW_TILE_FLOATING_POINT) {
    s = aihw_periphery_init(&t->forward, &config->forward, 0, out_size, cols, config->seed,
                            config->tile_id, SYSTEMATIC_FORWARD, "forward");
    if (s == AIHW_OK)
      s = aihw_periphery_init(&t->backward, &config->backward, 1, out_size, cols,
                              config->seed, config->tile_id, SYSTEMATIC_BACKWARD, "backward");
  }
  if (s == AIHW_OK)
    s = aihw_update_params_validate(&config->update, "update");
  if (s == AIHW_OK)
    s = aihw_device_params_validate(&config->device, "device");
  if (s == AIHW_OK && config->kind == AIHW_TILE_INFERENCE) {
    s = aihw_inference_params_validate(&config->inference, "inference");
    if (s == AIHW_OK) {
      t->reference = aihw_calloc_array((size_t)(out_size * cols), sizeof(float),
                                       "reference weights");
      if (t->reference == NULL)
        s = aihw_last_status();
    }
  }
  if (s == AIHW_OK && config->kind == AIHW_TILE_ANALOG &&
      config->compound.type == AIHW_COMPOUND_NONE &&
      aihw_device_model_of(config->device.type) != NULL) {
    s = aihw_device_state_create(&config->device, out_size, cols, config->tile_id,
                                 &t->devices);
    if (s == AIHW_OK && config->device.count_pulses) {
      t->pulse_counts =
          aihw_calloc_array((size_t)(out_size * cols * 2), sizeof(int64_t), "pulse counters");
      if (t->pulse_counts == NULL)
        s = aihw_last_status();
    }
  }
  if (s == AIHW_OK) {
    t->weights = aihw_calloc_array((size_t)(out_size * cols), sizeof(float), "tile weights");
    if (t->weights == NULL)
      s = aihw_last_status();
  }
  if (s == AIHW_OK && config->compound.type != AIHW_COMPOUND_NONE)
    s = aihw_compound_create(t); /* sub-devices replace the single device */
  if (s == AIHW_OK && (uses_abs_weights(&t->forward) || uses_abs_weights(&t->backward))) {
    t->weights_abs = aihw_calloc_array((size_t)(out_size * cols), sizeof(float), "|weights|");
    if (t->weights_abs == NULL)
      s = aihw_last_status();
  }
  if (s != AIHW_OK) {
    aihw_tile_destroy(t);
    return s;
  }
  *out = t;
  return AIHW_OK;
}

AIHW_API void aihw_tile_destroy(aihw_tile *tile) {
  if (tile == NULL)
    return;
  aihw_tile_to_host(tile);
  aihw_periphery_free(&tile->forward);
  aihw_periphery_free(&tile->backward);
  aihw_workspace_free(&tile->workspace);
  aihw_free(tile->weights);
  aihw_free(tile->weights_abs);
  aihw_free(tile->last_rounds);
  aihw_device_state_destroy(tile->devices);
  aihw_free(tile->pulse_counts);
  aihw_free(tile->drift_w0);
  aihw_free(tile->drift_prev);
  aihw_free(tile->drift_t);
  aihw_tile_inference_free(tile);
  aihw_compound_destroy(tile->compound);
  aihw_free(tile);
}

AIHW_API int64_t aihw_tile_out_size(const aihw_tile *tile) {
  return tile ? tile->out_size : -1;
}

AIHW_API int64_t aihw_tile_in_size(const aihw_tile *tile) { return tile ? tile->in_size : -1; }

AIHW_API int64_t aihw_tile_weight_cols(const aihw_tile *tile) {
  return tile ? tile->cols : -1;
}

AIHW_API aihw_tile_kind aihw_tile_kind_of(const aihw_tile *tile) {
  return tile ? tile->config.kind : AIHW_TILE_FLOATING_POINT;
}

AIHW_API aihw_status aihw_tile_get_config(const aihw_tile *tile, aihw_tile_config *config) {
  if (tile == NULL || config == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_get_config: %s is NULL",
                      tile == NULL ? "tile" : "config");
  *config = tile->config;
  return AIHW_OK;
}

static aihw_status check_weight_shape(const aihw_tile *tile, const void *w, int64_t rows,
                                      int64_t cols, const char *fn) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tile is NULL", fn);
  if (w == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: weights pointer is NULL", fn);
  if (rows != tile->out_size || cols != tile->cols)
    return aihw_error(AIHW_ERR_SHAPE,
                      "%s: weights are [%lld][%lld] but the tile holds [%lld][%lld]%s", fn,
                      (long long)rows, (long long)cols, (long long)tile->out_size,
                      (long long)tile->cols,
                      tile->config.analog_bias ? " (in_size + 1 analog-bias column)" : "");
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_set_weights(aihw_tile *tile, const float *w, int64_t rows,
                                           int64_t cols) {
  AIHW_TRY(check_weight_shape(tile, w, rows, cols, "aihw_tile_set_weights"));
  const int64_t count = rows * cols;
  const int64_t bad = aihw_first_non_finite(w, count);
  if (bad >= 0)
    return aihw_error(AIHW_ERR_NOT_FINITE,
                      "aihw_tile_set_weights: weight [%lld][%lld] is %g; weights must be finite",
                      (long long)(bad / cols), (long long)(bad % cols), (double)w[bad]);
  if (tile->compound != NULL) {
    AIHW_TRY(aihw_compound_set_weights(tile, w)); /* sub-devices, then the reduction */
  } else if (tile->devices != NULL) {
    /* aihwkit onSetWeights (§5.3): clip to the device bounds; under write noise the true
     * weights are set and the visible ones drawn around them. */
    aihw_device_state *dev = tile->devices;
    float *scratch = NULL;
    if (dev->persistent != NULL) {
      scratch = aihw_workspace_get(&tile->workspace, (size_t)cols * sizeof(float));
      if (scratch == NULL)
        return aihw_last_status();
    }
    float *target = dev->persistent != NULL ? dev->persistent : tile->weights;
    memcpy(target, w, (size_t)count * sizeof(float));
    aihw_tile_clip_to_device_bounds(tile);
    if (dev->persistent != NULL) {
      memcpy(tile->weights, dev->persistent, (size_t)count * sizeof(float));
      if (dev->params.apply_write_noise_on_set)
        aihw_tile_apply_write_noise(tile, tile->op_counter++, NULL, scratch);
    }
  } else {
    memcpy(tile->weights, w, (size_t)count * sizeof(float));
  }
  if (tile->weights_abs != NULL)
    for (int64_t k = 0; k < count; ++k)
      tile->weights_abs[k] = fabsf(tile->weights[k]);
  if (tile->cuda != NULL)
    AIHW_TRY(aihw_tile_cuda_upload_weights(tile));
  return aihw_tile_weights_changed(tile);
}

AIHW_API aihw_status aihw_tile_get_weights(const aihw_tile *tile, float *w, int64_t rows,
                                           int64_t cols) {
  AIHW_TRY(check_weight_shape(tile, w, rows, cols, "aihw_tile_get_weights"));
  AIHW_TRY(aihw_tile_cuda_sync_host(tile)); /* after GPU updates */
  memcpy(w, tile->weights, (size_t)(rows * cols) * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_set_alpha(aihw_tile *tile, float forward_alpha,
                                         float backward_alpha) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_set_alpha: tile is NULL");
  if (!isfinite(forward_alpha) || !isfinite(backward_alpha))
    return aihw_error(AIHW_ERR_NOT_FINITE,
                      "aihw_tile_set_alpha: forward_alpha = %g, backward_alpha = %g: must be "
                      "finite",
                      (double)forward_alpha, (double)backward_alpha);
  tile->forward_alpha = forward_alpha;
  tile->backward_alpha = backward_alpha;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_get_alpha(const aihw_tile *tile, float *forward_alpha,
                                         float *backward_alpha) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_get_alpha: tile is NULL");
  if (forward_alpha != NULL)
    *forward_alpha = tile->forward_alpha;
  if (backward_alpha != NULL)
    *backward_alpha = tile->backward_alpha;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_get_counter(const aihw_tile *tile, uint64_t *counter) {
  if (tile == NULL || counter == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_get_counter: %s is NULL",
                      tile == NULL ? "tile" : "counter");
  *counter = tile->op_counter;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_set_counter(aihw_tile *tile, uint64_t counter) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_set_counter: tile is NULL");
  if (counter < 1 || counter > AIHW_TILE_MAX_OP_COUNTER)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_tile_set_counter: counter = %llu: must be in [1, 2^48 - 1]",
                      (unsigned long long)counter);
  tile->op_counter = counter;
  return AIHW_OK;
}

const int *aihw_tile_last_forward_rounds(const aihw_tile *tile) {
  return tile ? tile->last_rounds : NULL;
}

aihw_status aihw_tile_check_mv_args(const aihw_tile *tile, const float *in, int64_t batch,
                                    int64_t in_cols, const float *out, int64_t out_cols,
                                    int64_t expect_in, int64_t expect_out, const char *fn,
                                    const char *in_name, const char *out_name,
                                    int check_finite) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tile is NULL", fn);
  if (in == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s pointer is NULL", fn,
                      in == NULL ? in_name : out_name);
  if (batch < 1 || batch > AIHW_MAX_DIM)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: batch = %lld: must be in [1, %lld]", fn,
                      (long long)batch, (long long)AIHW_MAX_DIM);
  if (in_cols != expect_in)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %s has %lld columns but the tile expects %lld", fn,
                      in_name, (long long)in_cols, (long long)expect_in);
  if (out_cols != expect_out)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %s has %lld columns but the tile produces %lld", fn,
                      out_name, (long long)out_cols, (long long)expect_out);
  if ((const void *)in == (const void *)out)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s and %s must not alias", fn, in_name,
                      out_name);
  const int64_t k = check_finite ? aihw_first_non_finite(in, batch * in_cols) : -1;
  if (k >= 0)
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s[%lld][%lld] is %g; inputs must be finite",
                      fn, in_name, (long long)(k / in_cols), (long long)(k % in_cols),
                      (double)in[k]);
  if (tile->op_counter > AIHW_TILE_MAX_OP_COUNTER)
    return aihw_error(AIHW_ERR_STATE, "%s: the tile's random stream is exhausted (2^48 calls)",
                      fn);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_forward(aihw_tile *tile, const float *x, int64_t batch,
                                       int64_t in_size, float *y, int64_t out_size) {
  if (tile != NULL && tile->cuda != NULL) /* backend dispatch (src/backend/tile_cuda.c) */
    return aihw_tile_cuda_forward(tile, x, batch, in_size, y, out_size);
  AIHW_TRY(aihw_tile_check_mv_args(tile, x, batch, in_size, y, out_size,
                                   tile ? tile->in_size : 0, tile ? tile->out_size : 0,
                                   "aihw_tile_forward", "x", "y", 1));
  if (tile->last_rounds_capacity < batch) {
    int *r = aihw_alloc_array((size_t)batch, sizeof(int), "forward round counts");
    if (r == NULL)
      return aihw_last_status();
    aihw_free(tile->last_rounds);
    tile->last_rounds = r;
    tile->last_rounds_capacity = batch;
  }
  const float *w_abs;
  const float *w = aihw_tile_read_weights(tile, &w_abs);
  aihw_mv_call call = {
      .w = w, .w_abs = w_abs, .rows = tile->out_size,
      .cols = tile->cols, .x = x, .x_cols = in_size, .y = y, .y_cols = out_size,
      .batch = batch, .alpha = tile->forward_alpha, .seed = tile->config.seed,
      .tile_id = tile->config.tile_id, .op_counter = tile->op_counter,
      .rounds = tile->last_rounds};
  aihw_status s;
  if (tile->config.kind == AIHW_TILE_FLOATING_POINT || tile->forward.perfect) {
    if (tile->config.kind != AIHW_TILE_FLOATING_POINT)
      call.alpha = tile->forward.io.out_scale * tile->forward_alpha;
    s = aihw_exact_mv(&call, 0, &tile->workspace);
  } else {
    s = aihw_periphery_mv(&tile->forward, &call, &tile->workspace);
  }
  if (s == AIHW_OK) {
    tile->op_counter++;
    aihw_tile_forward_digital(tile, y, batch);
  }
  return s;
}

AIHW_API aihw_status aihw_tile_backward(aihw_tile *tile, const float *d, int64_t batch,
                                        int64_t out_size, float *z, int64_t in_size) {
  if (tile != NULL && tile->cuda != NULL) /* backend dispatch (src/backend/tile_cuda.c) */
    return aihw_tile_cuda_backward(tile, d, batch, out_size, z, in_size);
  AIHW_TRY(aihw_tile_check_mv_args(tile, d, batch, out_size, z, in_size,
                                   tile ? tile->out_size : 0, tile ? tile->in_size : 0,
                                   "aihw_tile_backward", "d", "z", 1));
  const float *w_abs;
  const float *w = aihw_tile_read_weights(tile, &w_abs);
  if (tile->out_scales != NULL) { /* digital output scales act on d before the array */
    float *ds = aihw_workspace_get(&tile->aux, (size_t)(batch * out_size) * sizeof(float));
    if (ds == NULL)
      return aihw_last_status();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < out_size; ++i)
        ds[b * out_size + i] = d[b * out_size + i] * tile->out_scales[i];
    d = ds;
  }
  aihw_mv_call call = {
      .w = w, .w_abs = w_abs, .rows = tile->out_size,
      .cols = tile->cols, .x = d, .x_cols = out_size, .y = z, .y_cols = in_size,
      .batch = batch, .alpha = tile->backward_alpha, .seed = tile->config.seed,
      .tile_id = tile->config.tile_id, .op_counter = tile->op_counter, .rounds = NULL};
  aihw_status s;
  if (tile->config.kind == AIHW_TILE_FLOATING_POINT || tile->backward.perfect) {
    if (tile->config.kind != AIHW_TILE_FLOATING_POINT)
      call.alpha = tile->backward.io.out_scale * tile->backward_alpha;
    s = aihw_exact_mv(&call, 1, &tile->workspace);
  } else {
    s = aihw_periphery_mv(&tile->backward, &call, &tile->workspace);
  }
  if (s == AIHW_OK)
    tile->op_counter++;
  return s;
}
