/* The INFERENCE tile (reference §6.1, §6.7, §6.8): training/evaluation mode, programming
 * and drift-to-time through the noise model, global and per-column drift compensation,
 * digital output scales, and the hardware-aware-training post-update step
 * (clip -> remap -> weight modifier).
 *
 * State, all owned by the tile (tile_internal.h): the reference weights (the weights as
 * last set, the programming target), the programmed weights and drift exponents, the
 * compensation baseline and factor, the modified copy of the weights for training.
 *
 * Deviation from aihwkit (docs/physics.md): setting weights invalidates the modified copy
 * (aihwkit keeps using the stale copy until the next post-update step, Appendix A.20), so
 * training passes read the new weights until the next post-update step draws a new copy.
 */
#include <math.h>
#include <string.h>

#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "inference/inference_internal.h"
#include "tile/tile_internal.h"

const float *aihw_tile_read_weights(const aihw_tile *tile, const float **abs_out) {
  const int use_fb = tile->training || tile->config.inference.modifier.enable_during_test;
  if (use_fb && tile->fb_valid && tile->weights_fb != NULL) {
    *abs_out = tile->weights_fb_abs;
    return tile->weights_fb;
  }
  *abs_out = tile->weights_abs;
  return tile->weights;
}

void aihw_tile_forward_digital(const aihw_tile *tile, float *y, int64_t batch) {
  const int64_t m = tile->out_size;
  const float *alpha = !tile->training && tile->compensation_valid ? tile->drift_alpha : NULL;
  const float *s = tile->out_scales;
  if (alpha == NULL && s == NULL)
    return;
  for (int64_t b = 0; b < batch; ++b) {
    float *row = y + b * m;
    if (alpha != NULL)
      for (int64_t i = 0; i < m; ++i)
        row[i] = row[i] * alpha[i];
    if (s != NULL)
      for (int64_t i = 0; i < m; ++i)
        row[i] = row[i] * s[i];
  }
}

void aihw_tile_inference_free(aihw_tile *tile) {
  aihw_free(tile->weights_fb);
  aihw_free(tile->weights_fb_abs);
  aihw_free(tile->reference);
  aihw_free(tile->programmed);
  aihw_free(tile->nu);
  aihw_free(tile->out_scales);
  aihw_free(tile->drift_baseline);
  aihw_free(tile->drift_alpha);
  aihw_workspace_free(&tile->aux);
}

static size_t weight_count(const aihw_tile *tile) {
  return (size_t)(tile->out_size * tile->cols);
}

aihw_status aihw_tile_weights_changed(aihw_tile *tile) {
  aihw_tile_cuda_reference_changed(tile); /* device reference and programming out of date */
  tile->fb_valid = 0;
  tile->programmed_valid = 0;
  tile->compensation_valid = 0;
  if (tile->config.kind != AIHW_TILE_INFERENCE || tile->reference == NULL)
    return AIHW_OK; /* reference is allocated at creation for INFERENCE tiles */
  memcpy(tile->reference, tile->weights, weight_count(tile) * sizeof(float));
  tile->reference_valid = 1;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_set_training(aihw_tile *tile, int training) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_set_training: tile is NULL");
  if (training != 0 && training != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_tile_set_training: training = %d: must be 0 or 1", training);
  tile->training = training;
  return AIHW_OK;
}

AIHW_API int aihw_tile_is_training(const aihw_tile *tile) {
  return tile != NULL ? tile->training : 0;
}

static aihw_status need_inference(const aihw_tile *tile, const char *fn, int eval_only) {
  if (tile == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: tile is NULL", fn);
  if (tile->config.kind != AIHW_TILE_INFERENCE)
    return aihw_error(AIHW_ERR_STATE, "%s: only INFERENCE tiles are programmed (this is %s)",
                      fn, aihw_tile_kind_name(tile->config.kind));
  if (eval_only && tile->training)
    return aihw_error(AIHW_ERR_STATE,
                      "%s: the tile is in training mode; call aihw_tile_set_training(tile, 0) "
                      "first (aihwkit refuses this too)",
                      fn);
  return AIHW_OK;
}

/* Copies the weights into the periphery's |W| cache if it keeps one. */
static void refresh_abs(aihw_tile *tile) {
  if (tile->weights_abs != NULL)
    for (size_t k = 0; k < weight_count(tile); ++k)
      tile->weights_abs[k] = fabsf(tile->weights[k]);
}

/* Readout of §6.8: one-hot inputs over every weight column (bias column included)
 * through the evaluation forward, without the digital output stage; out[m] receives
 * max(mean |Y|, 1e-4) per output (per column) or its global value in every entry. With
 * `exact`, the ideal product of the reference weights instead. */
static aihw_status compensation_readout(aihw_tile *tile, int exact, float *out) {
  const int64_t m = tile->out_size, n = tile->cols;
  const int per_column =
      tile->config.inference.drift_compensation == AIHW_DRIFT_COMPENSATION_PER_COLUMN;
  double total = 0.0;
  if (exact) {
    const float *w = tile->reference_valid ? tile->reference : tile->weights;
    for (int64_t i = 0; i < m; ++i) {
      double s = 0.0;
      for (int64_t j = 0; j < n; ++j)
        s += fabs((double)w[i * n + j]);
      out[i] = (float)(s / (double)n);
      total += s;
    }
  } else {
    float *buf = aihw_workspace_get(&tile->aux, (size_t)(n * n + n * m) * sizeof(float));
    if (buf == NULL)
      return aihw_last_status();
    float *eye = buf, *y = buf + n * n;
    memset(eye, 0, (size_t)(n * n) * sizeof(float));
    for (int64_t j = 0; j < n; ++j)
      eye[j * n + j] = 1.0f;
    aihw_mv_call call = {
        .w = tile->weights, .w_abs = tile->weights_abs, .rows = m, .cols = n, .x = eye,
        .x_cols = n, .y = y, .y_cols = m, .batch = n, .alpha = tile->forward_alpha,
        .seed = tile->config.seed, .tile_id = tile->config.tile_id,
        .op_counter = tile->op_counter++, .rounds = NULL};
    aihw_status s = tile->forward.perfect ? aihw_exact_mv(&call, 0, &tile->workspace)
                                          : aihw_periphery_mv(&tile->forward, &call,
                                                              &tile->workspace);
    if (s != AIHW_OK)
      return s;
    for (int64_t i = 0; i < m; ++i) {
      double c = 0.0;
      for (int64_t j = 0; j < n; ++j)
        c += fabs((double)y[j * m + i]);
      out[i] = (float)(c / (double)n);
      total += c;
    }
  }
  if (!per_column) {
    const float global = (float)(total / (double)(n * m));
    for (int64_t i = 0; i < m; ++i)
      out[i] = global;
  }
  for (int64_t i = 0; i < m; ++i)
    out[i] = out[i] > 1e-4f ? out[i] : 1e-4f;
  return AIHW_OK;
}

static aihw_status ensure_floats(float **p, size_t n, const char *what) {
  if (*p != NULL)
    return AIHW_OK;
  *p = aihw_alloc_array(n, sizeof(float), what);
  return *p != NULL ? AIHW_OK : aihw_last_status();
}

aihw_status aihw_tile_prepare_programming(aihw_tile *tile) {
  const aihw_inference_params *ip = &tile->config.inference;
  const size_t n = weight_count(tile);
  const int slices = aihw_converter_slices(&ip->converter);
  AIHW_TRY(ensure_floats(&tile->programmed, n, "programmed weights"));
  AIHW_TRY(ensure_floats(&tile->nu, n * (size_t)slices, "drift exponents"));
  AIHW_TRY(ensure_floats(&tile->drift_baseline, (size_t)tile->out_size, "drift baseline"));
  AIHW_TRY(ensure_floats(&tile->drift_alpha, (size_t)tile->out_size, "drift alpha"));
  if (!tile->reference_valid)
    return aihw_error(AIHW_ERR_STATE,
                      "no weights to program: set them first (aihw_tile_set_weights) or train "
                      "the tile");
  return AIHW_OK;
}

static aihw_status program(aihw_tile *tile) {
  const aihw_inference_params *ip = &tile->config.inference;
  AIHW_TRY(aihw_tile_prepare_programming(tile));
  aihw_stream_key key = {tile->config.seed, tile->config.tile_id, tile->op_counter};
  AIHW_TRY(aihw_inference_program(&ip->noise_model, &ip->converter, tile->reference,
                                  tile->out_size, tile->cols, key, tile->programmed,
                                  tile->nu));
  tile->op_counter++;
  memcpy(tile->weights, tile->programmed, weight_count(tile) * sizeof(float));
  refresh_abs(tile);
  tile->fb_valid = 0;
  tile->programmed_valid = 1;
  tile->compensation_valid = 0;
  if (ip->drift_compensation != AIHW_DRIFT_COMPENSATION_NONE) {
    const int exact =
        ip->drift_compensation == AIHW_DRIFT_COMPENSATION_GLOBAL_EXACT_REFERENCE;
    AIHW_TRY(compensation_readout(tile, exact, tile->drift_baseline));
    for (int64_t i = 0; i < tile->out_size; ++i)
      tile->drift_alpha[i] = 1.0f;
    tile->compensation_valid = 1;
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_program_weights(aihw_tile *tile) {
  AIHW_TRY(need_inference(tile, "aihw_tile_program_weights", 1));
  if (tile->cuda != NULL)
    return aihw_tile_cuda_program_weights(tile); /* backend/tile_cuda_inference.c */
  return program(tile);
}

AIHW_API aihw_status aihw_tile_drift_to(aihw_tile *tile, float t_inference_s) {
  static const char *fn = "aihw_tile_drift_to";
  AIHW_TRY(need_inference(tile, fn, 1));
  if (!isfinite(t_inference_s))
    return aihw_error(AIHW_ERR_NOT_FINITE, "%s: t_inference = %g: must be finite", fn,
                      (double)t_inference_s);
  if (t_inference_s < 0.0f)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: t_inference = %g s: must be >= 0 (seconds after programming)", fn,
                      (double)t_inference_s);
  if (tile->cuda != NULL)
    return aihw_tile_cuda_drift_to(tile, t_inference_s); /* backend/tile_cuda_inference.c */
  if (!tile->programmed_valid)
    AIHW_TRY(program(tile));
  const aihw_inference_params *ip = &tile->config.inference;
  aihw_stream_key key = {tile->config.seed, tile->config.tile_id, tile->op_counter};
  AIHW_TRY(aihw_inference_drift_with_target(&ip->noise_model, &ip->converter,
                                            tile->programmed, tile->nu, tile->reference,
                                            tile->out_size, tile->cols, t_inference_s, key,
                                            tile->weights));
  tile->op_counter++;
  refresh_abs(tile);
  tile->fb_valid = 0;
  if (ip->drift_compensation != AIHW_DRIFT_COMPENSATION_NONE) {
    AIHW_TRY(compensation_readout(tile, 0, tile->drift_alpha));
    for (int64_t i = 0; i < tile->out_size; ++i)
      tile->drift_alpha[i] = tile->drift_baseline[i] / tile->drift_alpha[i];
    tile->compensation_valid = 1;
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_get_drift_alpha(const aihw_tile *tile, float *alpha,
                                               int64_t out_size) {
  if (tile == NULL || alpha == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_get_drift_alpha: NULL argument");
  if (out_size != tile->out_size)
    return aihw_error(AIHW_ERR_SHAPE, "aihw_tile_get_drift_alpha: the tile has %lld outputs",
                      (long long)tile->out_size);
  for (int64_t i = 0; i < out_size; ++i)
    alpha[i] = tile->compensation_valid ? tile->drift_alpha[i] : 1.0f;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_set_out_scales(aihw_tile *tile, const float *scales,
                                              int64_t out_size) {
  static const char *fn = "aihw_tile_set_out_scales";
  if (tile == NULL || scales == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  if (out_size != tile->out_size)
    return aihw_error(AIHW_ERR_SHAPE, "%s: %lld scales for %lld outputs", fn,
                      (long long)out_size, (long long)tile->out_size);
  for (int64_t i = 0; i < out_size; ++i)
    if (!isfinite(scales[i]) || scales[i] == 0.0f)
      return aihw_error(isfinite(scales[i]) ? AIHW_ERR_INVALID_ARGUMENT : AIHW_ERR_NOT_FINITE,
                        "%s: scales[%lld] = %g: must be finite and non-zero", fn,
                        (long long)i, (double)scales[i]);
  AIHW_TRY(ensure_floats(&tile->out_scales, (size_t)out_size, "output scales"));
  memcpy(tile->out_scales, scales, (size_t)out_size * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_get_out_scales(const aihw_tile *tile, float *scales,
                                              int64_t out_size) {
  if (tile == NULL || scales == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_get_out_scales: NULL argument");
  if (out_size != tile->out_size)
    return aihw_error(AIHW_ERR_SHAPE, "aihw_tile_get_out_scales: the tile has %lld outputs",
                      (long long)tile->out_size);
  for (int64_t i = 0; i < out_size; ++i)
    scales[i] = tile->out_scales != NULL ? tile->out_scales[i] : 1.0f;
  return AIHW_OK;
}

aihw_status aihw_tile_inference_post_update(aihw_tile *tile) {
  const aihw_inference_params *ip = &tile->config.inference;
  const int64_t rows = tile->out_size, cols = tile->cols;
  const size_t n = weight_count(tile);
  int changed = 0;
  if (ip->clip.type != AIHW_CLIP_NONE) {
    AIHW_TRY(aihw_hwa_clip(&ip->clip, tile->weights, rows, cols));
    changed = 1;
  }
  if (ip->remap.type != AIHW_REMAP_NONE) {
    if (tile->out_scales == NULL) {
      AIHW_TRY(ensure_floats(&tile->out_scales, (size_t)rows, "output scales"));
      for (int64_t i = 0; i < rows; ++i)
        tile->out_scales[i] = 1.0f;
    }
    AIHW_TRY(aihw_hwa_remap(&ip->remap, tile->weights, rows, cols, tile->out_scales));
    changed = 1;
  }
  if (changed) {
    refresh_abs(tile);
    AIHW_TRY(aihw_tile_weights_changed(tile));
  }
  const aihw_weight_modifier_params *mp = &ip->modifier;
  if (mp->type == AIHW_MODIFIER_NONE || (mp->type == AIHW_MODIFIER_COPY && mp->pdrop <= 0.0f))
    return AIHW_OK;
  AIHW_TRY(ensure_floats(&tile->weights_fb, n, "modified weights"));
  if (tile->weights_abs != NULL)
    AIHW_TRY(ensure_floats(&tile->weights_fb_abs, n, "|modified weights|"));
  aihw_stream_key key = {tile->config.seed, tile->config.tile_id, tile->op_counter};
  AIHW_TRY(aihw_hwa_modify(mp, tile->weights, rows, cols, key, tile->weights_fb));
  tile->op_counter++;
  if (tile->weights_fb_abs != NULL)
    for (size_t k = 0; k < n; ++k)
      tile->weights_fb_abs[k] = fabsf(tile->weights_fb[k]);
  tile->fb_valid = 1;
  return AIHW_OK;
}
