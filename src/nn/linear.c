/* LINEAR modules: y = W x + b on a grid of tiles (reference §7.3 TileModuleArray, §7.4
 * AnalogLinear, §1.4 training data flow, §4.7 learning rates).
 *
 * Grid: the input features are split into in_splits blocks and the outputs into
 * out_splits blocks (aihw_mapping_split); tile (r, c) holds W[out block c][in block r] and
 * is stored at tiles[r * out_splits + c] (aihwkit's array[in_index][out_index]) with tile
 * id config->tile_id + r * out_splits + c. aihwkit builds a single tile when both max
 * sizes are 0 or the layer fits both; otherwise a TileModuleArray, whose bias is always
 * digital (§7.3 consequences (a)–(c), reproduced here). A single tile with
 * digital_bias = 0 gets the analog bias column instead.
 *
 * Forward: per input block r, every tile of that block; partial outputs are summed over r
 * in float (first assigned, the others added, in r order, as aihwkit) and the output
 * blocks concatenated; the digital bias is added once. Backward mirrors it over output
 * blocks. Each backward appends its (x, d) rows; step() gives every tile one update with
 * all of them concatenated, then every tile's post-update step (§1.4 step 3).
 *
 * Weight scaling (omega > 0, §7.2 set_weights): alpha = max|W_tile| / omega per tile (or
 * per row when columnwise; alpha 0 -> 1), the tile stores W / alpha and alpha becomes its
 * digital output scales, so the logical weights alpha W are unchanged; the tile divides
 * d by alpha in its update so the logical weights get plain SGD. With lr compensation
 * the tile's lr is lr / mean(alpha) and d is scaled back by mean(alpha) (§4.7): the same
 * expected update, different pulse statistics. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/digital_internal.h"
#include "nn/linear_internal.h"


void aihw_linear_state_free(aihw_linear_state *s) {
  if (s == NULL)
    return;
  if (s->tiles != NULL)
    for (int64_t k = 0; k < tile_count(s); ++k)
      aihw_tile_destroy(s->tiles[k]);
  aihw_free(s->tiles);
  aihw_free(s->in_sizes);
  aihw_nn_param_free(&s->bias_param);
  aihw_nn_buffer_free(&s->acc_x);
  aihw_nn_buffer_free(&s->acc_d);
  aihw_nn_buffer_free(&s->work_a);
  aihw_nn_buffer_free(&s->work_b);
  aihw_nn_buffer_free(&s->work_sum);
  aihw_linear_hwa_free(s->hwa);
  aihw_free(s);
}

/* Copies columns [start, start + n) of src[rows][ld] to dst[rows][n]. */
static void gather_cols(const float *src, int64_t rows, int64_t ld, int64_t start, int64_t n,
                        float *dst) {
  for (int64_t b = 0; b < rows; ++b)
    memcpy(dst + b * n, src + b * ld + start, (size_t)n * sizeof(float));
}

/* dst[rows][ld] columns [start, start + n) = (add ? += : =) src[rows][n]. */
static void scatter_cols(const float *src, int64_t rows, int64_t n, float *dst, int64_t ld,
                         int64_t start, int add) {
  for (int64_t b = 0; b < rows; ++b) {
    const float *in = src + b * n;
    float *out = dst + b * ld + start;
    if (add)
      for (int64_t j = 0; j < n; ++j)
        out[j] += in[j];
    else
      memcpy(out, in, (size_t)n * sizeof(float));
  }
}

static aihw_status check_linear(const aihw_module *m, const char *fn) {
  if (m == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (m->kind != AIHW_MODULE_LINEAR || m->linear == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is not LINEAR (kind %d)", fn,
                      (int)m->kind);
  return AIHW_OK;
}

/* ---- Weights ------------------------------------------------------------------------ */

/* Writes the logical w[out][in] (and b, or the current analog bias when b is NULL) into
 * every tile, applying the mapping's weight scaling; realistic: each tile by closed-loop
 * pulsed programming (aihw_tile_set_weights_realistic, aihwkit's n_loops 10, lr 0.01).
 * Inputs already checked. */
#define LINEAR_REALISTIC_N_LOOPS 10
#define LINEAR_REALISTIC_LR 0.01f
static aihw_status set_weights_impl(aihw_module *m, const float *w, const float *b,
                                    int realistic) {
  aihw_linear_state *s = m->linear;
  const int64_t in = m->in_features, cols_extra = s->analog_bias ? 1 : 0;
  const float omega = s->mapping.weight_scaling_omega;
  const size_t cap = (size_t)(s->max_in_block + 1) * (size_t)s->max_out_block;
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, cap, "tile weights"));
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_b, (size_t)s->max_out_block, "tile scales"));
  float *tw = s->work_a.data, *scales = s->work_b.data;
  for (int64_t r = 0; r < s->in_splits; ++r)
    for (int64_t c = 0; c < s->out_splits; ++c) {
      aihw_tile *tile = grid_tile(s, r, c);
      const int64_t rows = s->out_sizes[c], n_in = s->in_sizes[r], cols = n_in + cols_extra;
      if (s->analog_bias && b == NULL) /* keep the current bias column */
        AIHW_TRY(aihw_tile_get_weights(tile, tw, rows, cols));
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t o = s->out_starts[c] + i;
        memcpy(tw + i * cols, w + o * in + s->in_starts[r], (size_t)n_in * sizeof(float));
        if (s->analog_bias && b != NULL)
          tw[i * cols + n_in] = b[o];
      }
      if (s->analog_bias && b == NULL) { /* the stored column is W/alpha: back to logical */
        AIHW_TRY(aihw_tile_get_out_scales(tile, scales, rows));
        for (int64_t i = 0; i < rows; ++i)
          tw[i * cols + n_in] *= scales[i];
      }
      int rescale = omega > 0.0f;
      if (omega > 0.0f) {
        float tile_max = 0.0f;
        for (int64_t i = 0; i < rows; ++i) {
          float row_max = 0.0f;
          for (int64_t j = 0; j < cols; ++j)
            row_max = fmaxf(row_max, fabsf(tw[i * cols + j]));
          scales[i] = row_max;
          tile_max = fmaxf(tile_max, row_max);
        }
        for (int64_t i = 0; i < rows; ++i) {
          float alpha = (s->mapping.weight_scaling_columnwise ? scales[i] : tile_max) / omega;
          scales[i] = alpha > 0.0f ? alpha : 1.0f;
          for (int64_t j = 0; j < cols; ++j)
            tw[i * cols + j] /= scales[i];
        }
      } else { /* no scaling: reset scales left over from an earlier remap */
        AIHW_TRY(aihw_tile_get_out_scales(tile, scales, rows));
        for (int64_t i = 0; i < rows; ++i)
          if (scales[i] != 1.0f)
            rescale = 1;
        if (rescale)
          for (int64_t i = 0; i < rows; ++i)
            scales[i] = 1.0f;
      }
      if (realistic)
        AIHW_TRY(aihw_tile_set_weights_realistic(tile, tw, rows, cols, LINEAR_REALISTIC_N_LOOPS,
                                                 LINEAR_REALISTIC_LR, NULL));
      else
        AIHW_TRY(aihw_tile_set_weights(tile, tw, rows, cols));
      if (rescale)
        AIHW_TRY(aihw_tile_set_out_scales(tile, scales, rows));
    }
  if (s->bias != NULL && b != NULL)
    memcpy(s->bias, b, (size_t)m->out_features * sizeof(float));
  aihw_linear_hwa_reset_alpha(s); /* aihwkit's set_scales: learned scales back to 1 */
  return AIHW_OK;
}

static aihw_status check_exactness(const aihw_module *m, int force_exact, const char *fn) {
  if (force_exact != 0 && force_exact != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: force_exact = %d: must be 0 or 1", fn,
                      force_exact);
  if (!force_exact && m->linear->analog_bias)
    return aihw_error(AIHW_ERR_UNSUPPORTED,
                      "%s: realistic weights (force_exact = 0) need a digital bias: every "
                      "read of a tile with an analog bias column adds the bias",
                      fn);
  return AIHW_OK;
}

static aihw_status check_bias_pointer(const aihw_module *m, const float *b, const char *fn) {
  if (b != NULL && !m->linear->has_bias)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: the layer has no bias: pass NULL for the bias", fn);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_linear_set_weights(aihw_module *module, const float *w,
                                             const float *b, int force_exact) {
  static const char *fn = "aihw_linear_set_weights";
  AIHW_TRY(check_linear(module, fn));
  if (w == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: weights are NULL", fn);
  AIHW_TRY(check_bias_pointer(module, b, fn));
  AIHW_TRY(check_exactness(module, force_exact, fn));
  const int64_t in = module->in_features, out = module->out_features;
  for (int64_t k = 0; k < in * out; ++k)
    if (!isfinite(w[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: w[%lld][%lld] = %g: must be finite", fn,
                        (long long)(k / in), (long long)(k % in), (double)w[k]);
  if (b != NULL)
    for (int64_t i = 0; i < out; ++i)
      if (!isfinite(b[i]))
        return aihw_error(AIHW_ERR_NOT_FINITE, "%s: b[%lld] = %g: must be finite", fn,
                          (long long)i, (double)b[i]);
  return set_weights_impl(module, w, b, !force_exact);
}

AIHW_API aihw_status aihw_linear_get_weights(const aihw_module *module, float *w, float *b,
                                             int force_exact) {
  static const char *fn = "aihw_linear_get_weights";
  AIHW_TRY(check_linear(module, fn));
  AIHW_TRY(check_bias_pointer(module, b, fn));
  AIHW_TRY(check_exactness(module, force_exact, fn));
  aihw_linear_state *s = module->linear;
  const int64_t in = module->in_features, cols_extra = s->analog_bias ? 1 : 0;
  const size_t cap = (size_t)(s->max_in_block + 1) * (size_t)s->max_out_block;
  /* the workspaces are scratch, not state: const-ness of the module is logical */
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, cap, "tile weights"));
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_b, (size_t)s->max_out_block, "tile scales"));
  float *tw = s->work_a.data, *scales = s->work_b.data;
  for (int64_t r = 0; r < s->in_splits; ++r)
    for (int64_t c = 0; c < s->out_splits; ++c) {
      aihw_tile *tile = grid_tile(s, r, c);
      const int64_t rows = s->out_sizes[c], n_in = s->in_sizes[r], cols = n_in + cols_extra;
      if (force_exact)
        AIHW_TRY(aihw_tile_get_weights(tile, tw, rows, cols));
      else /* a noisy read: advances the tile's random streams (logically const) */
        AIHW_TRY(aihw_tile_get_weights_realistic(tile, tw, rows, cols));
      AIHW_TRY(aihw_tile_get_out_scales(tile, scales, rows));
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t o = s->out_starts[c] + i;
        const float scale = scales[i] * aihw_linear_hwa_alpha(s, r, c, i); /* x learned */
        if (w != NULL)
          for (int64_t j = 0; j < n_in; ++j)
            w[o * in + s->in_starts[r] + j] = tw[i * cols + j] * scale;
        if (s->analog_bias && b != NULL)
          b[o] = tw[i * cols + n_in] * scale;
      }
    }
  if (s->bias != NULL && b != NULL)
    memcpy(b, s->bias, (size_t)module->out_features * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_linear_tile_grid(const aihw_module *module, int64_t *in_splits,
                                           int64_t *out_splits) {
  static const char *fn = "aihw_linear_tile_grid";
  AIHW_TRY(check_linear(module, fn));
  if (in_splits == NULL || out_splits == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL output pointer", fn);
  *in_splits = module->linear->in_splits;
  *out_splits = module->linear->out_splits;
  return AIHW_OK;
}

AIHW_API aihw_tile *aihw_linear_tile(const aihw_module *module, int64_t in_index,
                                     int64_t out_index) {
  if (module == NULL || module->kind != AIHW_MODULE_LINEAR || module->linear == NULL)
    return NULL;
  const aihw_linear_state *s = module->linear;
  if (in_index < 0 || in_index >= s->in_splits || out_index < 0 || out_index >= s->out_splits)
    return NULL;
  return grid_tile(s, in_index, out_index);
}

/* ---- Construction ------------------------------------------------------------------- */

static aihw_status make_splits(aihw_linear_state *s, int64_t in, int64_t out) {
  int64_t n_in = 0, n_out = 0;
  const aihw_mapping_params *mp = &s->mapping;
  const int single = (mp->max_input_size == 0 && mp->max_output_size == 0) ||
                     (in <= mp->max_input_size && out <= mp->max_output_size);
  const int64_t max_in = single ? 0 : mp->max_input_size;
  const int64_t max_out = single ? 0 : mp->max_output_size;
  AIHW_TRY(aihw_mapping_split(in, max_in, NULL, 0, &n_in));
  AIHW_TRY(aihw_mapping_split(out, max_out, NULL, 0, &n_out));
  s->in_sizes = aihw_alloc_array((size_t)(2 * (n_in + n_out)), sizeof(int64_t), "splits");
  if (s->in_sizes == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  s->in_starts = s->in_sizes + n_in;
  s->out_sizes = s->in_starts + n_in;
  s->out_starts = s->out_sizes + n_out;
  AIHW_TRY(aihw_mapping_split(in, max_in, s->in_sizes, n_in, &n_in));
  AIHW_TRY(aihw_mapping_split(out, max_out, s->out_sizes, n_out, &n_out));
  s->in_splits = n_in;
  s->out_splits = n_out;
  s->max_in_block = s->in_sizes[0]; /* larger pieces come first */
  s->max_out_block = s->out_sizes[0];
  for (int64_t r = 0, start = 0; r < n_in; start += s->in_sizes[r++])
    s->in_starts[r] = start;
  for (int64_t c = 0, start = 0; c < n_out; start += s->out_sizes[c++])
    s->out_starts[c] = start;
  /* aihwkit's TileModuleArray keeps its bias digital (§7.3 (b)) */
  s->analog_bias = s->has_bias && single && !mp->digital_bias;
  return AIHW_OK;
}

/* torch.nn.Linear's reset_parameters: W, b ~ U(-1/sqrt(in), 1/sqrt(in)), from Philox
 * (seed, tile_id), purpose INIT, row = output row (out_features for the bias). */
static aihw_status init_weights(aihw_module *m, const aihw_tile_config *config) {
  const int64_t in = m->in_features, out = m->out_features;
  float *w = aihw_alloc_array((size_t)(in * out + out), sizeof(float), "initial weights");
  if (w == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  float *b = w + in * out;
  const aihw_rng_stream stream =
      aihw_rng_stream_make(config->seed, config->tile_id, 0, AIHW_RNG_INIT, 0);
  const float bound = (float)(1.0 / sqrt((double)in));
  for (int64_t o = 0; o < out; ++o)
    aihw_rng_fill_uniform(&stream, (uint32_t)o, 0, w + o * in, (size_t)in);
  aihw_rng_fill_uniform(&stream, (uint32_t)out, 0, b, (size_t)out);
  for (int64_t k = 0; k < in * out + out; ++k)
    w[k] = bound * (2.0f * w[k] - 1.0f);
  aihw_status st = set_weights_impl(m, w, m->linear->has_bias ? b : NULL, 0);
  aihw_free(w);
  return st;
}

AIHW_API aihw_status aihw_linear_create(const aihw_tile_config *config,
                                        const aihw_mapping_params *mapping, int64_t in_features,
                                        int64_t out_features, int bias, aihw_module **out) {
  static const char *fn = "aihw_linear_create";
  if (config == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  if (in_features < 1 || out_features < 1 || in_features > 0x7fffffff ||
      out_features > 0x7fffffff)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: in_features = %lld, out_features = %lld: must be in 1 .. 2^31-1", fn,
                      (long long)in_features, (long long)out_features);
  if (bias != 0 && bias != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: bias = %d: must be 0 or 1", fn, bias);
  const aihw_mapping_params mp = mapping != NULL ? *mapping : aihw_mapping_params_default();
  AIHW_TRY(aihw_mapping_params_validate(&mp, "aihw_linear_create: mapping"));

  aihw_module *m = aihw_calloc_array(1, sizeof *m, "linear module");
  if (m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  m->kind = AIHW_MODULE_LINEAR;
  m->in_features = in_features;
  m->out_features = out_features;
  aihw_status st = AIHW_ERR_OUT_OF_MEMORY;
  aihw_linear_state *s = aihw_calloc_array(1, sizeof *s, "linear layer");
  if (s == NULL)
    goto fail;
  m->linear = s;
  s->tile_kind = config->kind;
  s->mapping = mp;
  s->has_bias = bias;
  if ((st = make_splits(s, in_features, out_features)) != AIHW_OK)
    goto fail;
  st = AIHW_ERR_OUT_OF_MEMORY;
  s->tiles = aihw_calloc_array((size_t)tile_count(s), sizeof *s->tiles, "tile grid");
  if (s->tiles == NULL)
    goto fail;
  if (bias && !s->analog_bias) {
    if ((st = aihw_nn_param_init(&s->bias_param, out_features, "digital bias")) != AIHW_OK)
      goto fail;
    s->bias = s->bias_param.value;
    st = AIHW_ERR_OUT_OF_MEMORY;
  }
  for (int64_t r = 0; r < s->in_splits; ++r)
    for (int64_t c = 0; c < s->out_splits; ++c) {
      aihw_tile_config tc = *config;
      tc.analog_bias = s->analog_bias;
      tc.tile_id = config->tile_id + (uint32_t)(r * s->out_splits + c);
      st = aihw_tile_create(&tc, s->out_sizes[c], s->in_sizes[r],
                            &s->tiles[r * s->out_splits + c]);
      if (st != AIHW_OK) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "%s: tile (%lld, %lld)", fn, (long long)r,
                 (long long)c);
        st = aihw_nn_wrap_error(st, prefix);
        goto fail;
      }
    }
  if ((st = aihw_linear_hwa_init(m, config)) != AIHW_OK)
    goto fail;
  if ((st = init_weights(m, config)) != AIHW_OK)
    goto fail;
  *out = m;
  return AIHW_OK;
fail:
  aihw_module_destroy(m);
  return st;
}

/* ---- Forward, backward, step -------------------------------------------------------- */

aihw_status aihw_linear_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y) {
  aihw_linear_state *s = m->linear;
  if (aihw_linear_hwa_active(s)) /* learned scales / input ranges: linear_hwa.c */
    return aihw_linear_hwa_forward(m, x, batch, y);
  const int64_t in = m->in_features, out = m->out_features;
  /* A grid of tiles all on one GPU runs as one backend call (src/backend/tile_cuda_grid.c),
   * except where training needs the tiles' own outputs for the output-bound mask. */
  if (!(m->training && aihw_linear_hwa_bound_on(s))) {
    aihw_status gs = aihw_tile_cuda_grid_forward(s->tiles, s->in_splits, s->out_splits,
                                                 s->in_starts, s->in_sizes, s->out_starts,
                                                 s->out_sizes, x, batch, in, y, out, s->bias);
    if (gs != AIHW_ERR_UNSUPPORTED) {
      aihw_linear_hwa_forget_bound(s);
      return gs;
    }
  }
  const size_t nb = (size_t)batch;
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_sum, nb * (size_t)out, "layer output"));
  if (s->in_splits > 1)
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, nb * (size_t)s->max_in_block, "input block"));
  if (s->out_splits > 1 || s->in_splits > 1)
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_b, nb * (size_t)s->max_out_block, "tile output"));
  float *sum = s->work_sum.data;
  for (int64_t r = 0; r < s->in_splits; ++r) {
    const int64_t n_in = s->in_sizes[r];
    const float *xr = x;
    if (s->in_splits > 1) {
      gather_cols(x, batch, in, s->in_starts[r], n_in, s->work_a.data);
      xr = s->work_a.data;
    }
    for (int64_t c = 0; c < s->out_splits; ++c) {
      const int64_t n_out = s->out_sizes[c];
      float *yc = s->out_splits == 1 && r == 0 ? sum : s->work_b.data;
      AIHW_TRY(aihw_tile_forward(grid_tile(s, r, c), xr, batch, n_in, yc, n_out));
      AIHW_TRY(aihw_linear_hwa_record_bound(m, r, c, yc, batch)); /* handle_output_bound */
      if (yc != sum)
        scatter_cols(yc, batch, n_out, sum, out, s->out_starts[c], r > 0);
    }
  }
  if (s->bias != NULL)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < out; ++i)
        sum[b * out + i] += s->bias[i];
  memcpy(y, sum, nb * (size_t)out * sizeof(float));
  return AIHW_OK;
}

aihw_status aihw_linear_backward_impl(aihw_module *m, const float *dy, int64_t batch,
                                      float *dx) {
  aihw_linear_state *s = m->linear;
  if (aihw_linear_hwa_active(s))
    return aihw_linear_hwa_backward(m, dy, batch, dx);
  const int64_t in = m->in_features, out = m->out_features;
  const size_t nb = (size_t)batch, rows = (size_t)(s->acc_rows + batch);
  /* room for the gradient rows first, so that a failure leaves no partial record */
  AIHW_TRY(aihw_nn_buffer_grow(&s->acc_x, rows * (size_t)in, (size_t)s->acc_rows * (size_t)in,
                               "accumulated inputs"));
  AIHW_TRY(aihw_nn_buffer_grow(&s->acc_d, rows * (size_t)out, (size_t)s->acc_rows * (size_t)out,
                               "accumulated gradients"));
  if (dx != NULL) {
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_sum, nb * (size_t)in, "layer input gradient"));
    if (s->out_splits > 1)
      AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, nb * (size_t)s->max_out_block, "d block"));
    if (s->in_splits > 1 || s->out_splits > 1)
      AIHW_TRY(
          aihw_nn_buffer_reserve(&s->work_b, nb * (size_t)s->max_in_block, "tile gradient"));
    float *sum = s->work_sum.data;
    for (int64_t c = 0; c < s->out_splits; ++c) {
      const int64_t n_out = s->out_sizes[c];
      const float *dc = dy;
      if (s->out_splits > 1) {
        gather_cols(dy, batch, out, s->out_starts[c], n_out, s->work_a.data);
        dc = s->work_a.data;
      }
      for (int64_t r = 0; r < s->in_splits; ++r) {
        const int64_t n_in = s->in_sizes[r];
        float *zr = s->in_splits == 1 && c == 0 ? sum : s->work_b.data;
        const float *dm = dc; /* zeroed where the forward hit the output bound */
        AIHW_TRY(aihw_linear_hwa_mask_d(m, r, c, dc, batch, &dm));
        AIHW_TRY(aihw_tile_backward(grid_tile(s, r, c), dm, batch, n_out, zr, n_in));
        if (zr != sum)
          scatter_cols(zr, batch, n_in, sum, in, s->in_starts[r], c > 0);
      }
    }
    memcpy(dx, sum, nb * (size_t)in * sizeof(float));
  }
  memcpy(s->acc_x.data + (size_t)s->acc_rows * (size_t)in, m->cache.data,
         nb * (size_t)in * sizeof(float));
  memcpy(s->acc_d.data + (size_t)s->acc_rows * (size_t)out, dy,
         nb * (size_t)out * sizeof(float));
  s->acc_rows += batch;
  return AIHW_OK;
}

int aihw_linear_has_gradients(const aihw_module *m) { return m->linear->acc_rows > 0; }

aihw_status aihw_linear_update_tile(aihw_linear_state *s, aihw_tile *tile, const float *x,
                                    int64_t rows, int64_t n_in, float *d, int64_t n_out,
                                    float lr, int lr_compensation) {
  float tile_lr = lr;
  if (lr_compensation) { /* §4.7: lr / mean(alpha), d x mean(alpha) */
    AIHW_TRY(aihw_tile_get_out_scales(tile, s->work_sum.data, n_out));
    double mean = 0.0;
    for (int64_t i = 0; i < n_out; ++i)
      mean += s->work_sum.data[i];
    const float scale_mean = (float)(mean / (double)n_out);
    tile_lr = lr / scale_mean;
    for (int64_t k = 0; k < rows * n_out; ++k)
      d[k] *= scale_mean;
  }
  return aihw_tile_update(tile, x, rows, n_in, d, n_out, tile_lr);
}

void aihw_linear_step_bias(aihw_module *m, const aihw_sgd_params *sgd, float *g) {
  aihw_linear_state *s = m->linear;
  const int64_t out = m->out_features, rows = s->acc_rows;
  if (s->bias != NULL) { /* digital bias: torch SGD on the gradient summed in double */
    for (int64_t i = 0; i < out; ++i) {
      double sum = 0.0;
      for (int64_t b = 0; b < rows; ++b)
        sum += (double)s->acc_d.data[b * out + i];
      g[i] = (float)sum;
    }
    aihw_nn_param_sgd(&s->bias_param, g, sgd);
  }
  s->acc_rows = 0;
}

aihw_status aihw_linear_post_update(aihw_linear_state *s) {
  for (int64_t k = 0; k < tile_count(s); ++k)
    AIHW_TRY(aihw_tile_post_update_step(s->tiles[k]));
  return AIHW_OK;
}

aihw_status aihw_linear_step_impl(aihw_module *m, const aihw_sgd_params *sgd) {
  aihw_linear_state *s = m->linear;
  if (aihw_linear_hwa_active(s))
    return aihw_linear_hwa_step(m, sgd);
  const float lr = sgd->lr;
  const int64_t in = m->in_features, out = m->out_features, rows = s->acc_rows;
  if (rows > 0) {
    const size_t nr = (size_t)rows;
    if (s->in_splits > 1)
      AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, nr * (size_t)s->max_in_block, "x block"));
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_b, nr * (size_t)s->max_out_block, "d block"));
    /* tile scales, then the bias gradient: out >= max_out_block floats, reserved before
     * any tile changes */
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_sum, (size_t)out, "tile scales"));
    const int lr_compensation =
        s->mapping.weight_scaling_omega > 0.0f && s->mapping.weight_scaling_lr_compensation;
    for (int64_t r = 0; r < s->in_splits; ++r) {
      const int64_t n_in = s->in_sizes[r];
      /* a single block is the accumulated matrix itself: no copy */
      const float *xr = s->acc_x.data;
      if (s->in_splits > 1) {
        gather_cols(s->acc_x.data, rows, in, s->in_starts[r], n_in, s->work_a.data);
        xr = s->work_a.data;
      }
      for (int64_t c = 0; c < s->out_splits; ++c) {
        aihw_tile *tile = grid_tile(s, r, c);
        const int64_t n_out = s->out_sizes[c];
        float *dc = s->acc_d.data;
        if (s->out_splits > 1 || lr_compensation) { /* compensation scales d in place */
          gather_cols(s->acc_d.data, rows, out, s->out_starts[c], n_out, s->work_b.data);
          dc = s->work_b.data;
        }
        AIHW_TRY(aihw_linear_update_tile(s, tile, xr, rows, n_in, dc, n_out, lr,
                                         lr_compensation));
      }
    }
    aihw_linear_step_bias(m, sgd, s->work_sum.data);
  }
  return aihw_linear_post_update(s);
}

aihw_status aihw_linear_set_training_impl(aihw_module *m, int training) {
  aihw_linear_state *s = m->linear;
  for (int64_t k = 0; k < tile_count(s); ++k)
    AIHW_TRY(aihw_tile_set_training(s->tiles[k], training));
  return AIHW_OK;
}

aihw_status aihw_linear_program_impl(aihw_module *m, int program, float t_inference_s) {
  aihw_linear_state *s = m->linear;
  for (int64_t r = 0; r < s->in_splits; ++r)
    for (int64_t c = 0; c < s->out_splits; ++c) {
      aihw_tile *tile = grid_tile(s, r, c);
      if (aihw_tile_kind_of(tile) != AIHW_TILE_INFERENCE)
        continue;
      aihw_status st =
          program ? aihw_tile_program_weights(tile) : aihw_tile_drift_to(tile, t_inference_s);
      if (st != AIHW_OK) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "tile (%lld, %lld)", (long long)r, (long long)c);
        return aihw_nn_wrap_error(st, prefix);
      }
    }
  return AIHW_OK;
}

void aihw_linear_view_of(const aihw_module *m, aihw_linear_view *view) {
  const aihw_linear_state *s = m->linear;
  view->mapping = s->mapping;
  view->has_bias = s->has_bias;
  view->analog_bias = s->analog_bias;
  view->bias = s->bias;
  view->bias_param = s->bias != NULL ? &m->linear->bias_param : NULL;
  view->pending_rows = s->acc_rows;
}
