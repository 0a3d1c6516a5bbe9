/* Export and import of a tile's complete state as named tensors (DESIGN.md §3 "Module
 * state"): everything that, together with the tile's configuration, decides its future
 * outputs, so that a tile rebuilt from a state file continues bit-identically.
 *
 * Tensors, each named <prefix><key>:
 *
 *   weights            F32 [out][cols]   visible weights
 *   hidden.<name>      F32 [out][cols]   every hidden device parameter (aihw_tile_hidden_name
 *                                        order; persistent_weights under write noise)
 *   pulse_counts       I64 [out][cols][2] when the device counts pulses
 *   alpha              F32 [2]           digital scales (forward, backward)
 *   op_counter         I64 []            position in the random streams
 *   nm_running         F32 [2]           AVERAGE_ABS_MAX running values (forward, backward)
 *   out_scales         F32 [out]         digital output scales (1 when the tile has none)
 *   training           U8  []            training (1) / evaluation (0) mode
 *   drift_started      U8  []            the training drift (§5.9) has started; then also
 *   drift_w0, drift_prev F32 [out][cols], drift_t F64 [out][cols], drift_now F64 []
 *   INFERENCE tiles only:
 *   reference_valid    U8 [] ; reference     F32 [out][cols]       programming target
 *   programmed_valid   U8 [] ; programmed    F32 [out][cols], nu F32 [slices][out][cols]
 *   compensation_valid U8 [] ; drift_baseline, drift_alpha  F32 [out]
 *   weights_fb_valid   U8 [] ; weights_fb    F32 [out][cols]       weight-modifier copy
 *
 * A part whose valid flag is 0 has no tensors and is invalidated on import. Derived data
 * is not stored: |W| caches are recomputed, and the periphery's systematic values and
 * the devices' construction parameters are pure functions of the configuration.
 *
 * Import is two-phase (DESIGN.md §4 rule 4): prepare validates every tensor (dtype,
 * shape, finite values, ranges such as min_bound <= max_bound) and allocates every buffer
 * the tile lacks; commit only copies and cannot fail. So a failed import changes nothing,
 * and a module can prepare all its tiles before committing any.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backend/tile_cuda.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "inference/inference_internal.h"
#include "tile/tile_internal.h"

/* ---- name lists ---------------------------------------------------------------------- */

void aihw_state_names_add(aihw_state_names *list, const char *name) {
  const size_t len = strlen(list->text), need = strlen(name) + 5;
  if (list->shown == list->count && len + need + 32 < sizeof list->text) {
    snprintf(list->text + len, sizeof list->text - len, "%s'%s'", len > 0 ? ", " : "", name);
    ++list->shown;
  }
  ++list->count;
}

const char *aihw_state_names_text(aihw_state_names *list) {
  if (list->count > list->shown) {
    const size_t len = strlen(list->text);
    snprintf(list->text + len, sizeof list->text - len, " and %zu more",
             list->count - list->shown);
    list->shown = list->count; /* appended once */
  }
  return list->text;
}

/* ---- hidden parameters --------------------------------------------------------------- */

/* Array of hidden parameter `index`, in aihw_tile_hidden_name's order (tile_devices.c):
 * the eight common arrays, persistent weights under write noise, the model's extras. */
static float *hidden_array(const aihw_tile *tile, int index) {
  aihw_device_state *s = tile->devices;
  if (s == NULL || index < 0)
    return NULL;
  float *const base[8] = {s->max_bound,   s->min_bound,      s->scale_up,   s->scale_down,
                          s->decay_scale, s->diffusion_rate, s->reset_bias, s->drift_nu};
  if (index < 8)
    return base[index];
  index -= 8;
  if (s->persistent != NULL) {
    if (index == 0)
      return s->persistent;
    --index;
  }
  return index < AIHW_DEVICE_MAX_EXTRA ? s->extra[index] : NULL;
}

/* ---- export -------------------------------------------------------------------------- */

typedef struct writer {
  aihw_st_dict *dict;
  const char *prefix;
  char name[512];
} writer;

static aihw_status put(writer *w, const char *key, aihw_st_dtype dtype, const size_t *shape,
                       size_t ndim, const void *data) {
  const int n = snprintf(w->name, sizeof w->name, "%s%s", w->prefix, key);
  if (n < 0 || (size_t)n >= sizeof w->name)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "tile state: tensor name '%s%s' is too long",
                      w->prefix, key);
  return aihw_st_dict_add(w->dict, w->name, dtype, shape, ndim, data);
}

static aihw_status put_flag(writer *w, const char *key, int value) {
  const uint8_t v = (uint8_t)(value != 0);
  return put(w, key, AIHW_ST_U8, NULL, 0, &v);
}

aihw_status aihw_tile_state_export(const aihw_tile *t, aihw_st_dict *dict, const char *prefix) {
  if (t == NULL || dict == NULL || prefix == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_state_export: NULL argument");
  AIHW_TRY(aihw_tile_cuda_sync_host(t)); /* weights updated on a GPU */
  writer w = {dict, prefix, ""};
  const size_t out = (size_t)t->out_size, cols = (size_t)t->cols;
  const size_t wshape[3] = {out, cols, 2}, vshape[1] = {out}, two[1] = {2};
  AIHW_TRY(put(&w, "weights", AIHW_ST_F32, wshape, 2, t->weights));
  if (t->compound != NULL) /* sub-devices, buffers, schedule counters */
    AIHW_TRY(aihw_compound_state_export(t, dict, prefix));
  const int hidden = aihw_tile_hidden_count(t);
  for (int k = 0; k < hidden; ++k) {
    char key[128];
    snprintf(key, sizeof key, "hidden.%s", aihw_tile_hidden_name(t, k));
    AIHW_TRY(put(&w, key, AIHW_ST_F32, wshape, 2, hidden_array(t, k)));
  }
  if (t->pulse_counts != NULL)
    AIHW_TRY(put(&w, "pulse_counts", AIHW_ST_I64, wshape, 3, t->pulse_counts));
  const float alpha[2] = {t->forward_alpha, t->backward_alpha};
  AIHW_TRY(put(&w, "alpha", AIHW_ST_F32, two, 1, alpha));
  const int64_t counter = (int64_t)t->op_counter;
  AIHW_TRY(put(&w, "op_counter", AIHW_ST_I64, NULL, 0, &counter));
  const float nm[2] = {t->forward.nm_running, t->backward.nm_running};
  AIHW_TRY(put(&w, "nm_running", AIHW_ST_F32, two, 1, nm));
  float *scales = aihw_alloc_array(out, sizeof(float), "output scales");
  if (scales == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  for (size_t i = 0; i < out; ++i)
    scales[i] = t->out_scales != NULL ? t->out_scales[i] : 1.0f;
  const aihw_status s = put(&w, "out_scales", AIHW_ST_F32, vshape, 1, scales);
  aihw_free(scales);
  AIHW_TRY(s);
  AIHW_TRY(put_flag(&w, "training", t->training));
  AIHW_TRY(put_flag(&w, "drift_started", t->drift_w0 != NULL));
  if (t->drift_w0 != NULL) {
    AIHW_TRY(put(&w, "drift_w0", AIHW_ST_F32, wshape, 2, t->drift_w0));
    AIHW_TRY(put(&w, "drift_prev", AIHW_ST_F32, wshape, 2, t->drift_prev));
    AIHW_TRY(put(&w, "drift_t", AIHW_ST_F64, wshape, 2, t->drift_t));
    AIHW_TRY(put(&w, "drift_now", AIHW_ST_F64, NULL, 0, &t->drift_now));
  }
  if (t->config.kind != AIHW_TILE_INFERENCE)
    return AIHW_OK;
  const int ref = t->reference_valid && t->reference != NULL;
  AIHW_TRY(put_flag(&w, "reference_valid", ref));
  if (ref)
    AIHW_TRY(put(&w, "reference", AIHW_ST_F32, wshape, 2, t->reference));
  AIHW_TRY(put_flag(&w, "programmed_valid", t->programmed_valid));
  if (t->programmed_valid) {
    const size_t slices = (size_t)aihw_converter_slices(&t->config.inference.converter);
    const size_t nshape[3] = {slices, out, cols};
    AIHW_TRY(put(&w, "programmed", AIHW_ST_F32, wshape, 2, t->programmed));
    AIHW_TRY(put(&w, "nu", AIHW_ST_F32, nshape, 3, t->nu));
  }
  AIHW_TRY(put_flag(&w, "compensation_valid", t->compensation_valid));
  if (t->compensation_valid) {
    AIHW_TRY(put(&w, "drift_baseline", AIHW_ST_F32, vshape, 1, t->drift_baseline));
    AIHW_TRY(put(&w, "drift_alpha", AIHW_ST_F32, vshape, 1, t->drift_alpha));
  }
  const int fb = t->fb_valid && t->weights_fb != NULL;
  AIHW_TRY(put_flag(&w, "weights_fb_valid", fb));
  if (fb)
    AIHW_TRY(put(&w, "weights_fb", AIHW_ST_F32, wshape, 2, t->weights_fb));
  return AIHW_OK;
}

/* ---- import: reading and validating -------------------------------------------------- */

typedef struct reader {
  const aihw_st_dict *dict;
  const char *prefix;
  unsigned char *used;
  aihw_state_names *missing;
  char name[512];
} reader;

static void mark_used(reader *r) {
  if (r->used == NULL)
    return;
  const size_t n = aihw_st_dict_count(r->dict);
  for (size_t k = 0; k < n; ++k) {
    aihw_st_tensor t;
    if (aihw_st_dict_at(r->dict, k, &t) == AIHW_OK && strcmp(t.name, r->name) == 0) {
      r->used[k] = 1;
      return;
    }
  }
}

/* Tensor <prefix><key> of `dtype` and the given shape into *data, or *data = NULL when
 * absent (then, if `required`, its name goes to the missing list). */
static aihw_status fetch(reader *r, const char *key, aihw_st_dtype dtype, const size_t *shape,
                         size_t ndim, int required, const void **data) {
  *data = NULL;
  const int n = snprintf(r->name, sizeof r->name, "%s%s", r->prefix, key);
  if (n < 0 || (size_t)n >= sizeof r->name)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "tile state: tensor name '%s%s' is too long",
                      r->prefix, key);
  if (!aihw_st_dict_contains(r->dict, r->name)) {
    if (required && r->missing != NULL)
      aihw_state_names_add(r->missing, r->name);
    return AIHW_OK;
  }
  aihw_st_tensor t;
  AIHW_TRY(aihw_st_dict_get(r->dict, r->name, &t));
  if (t.dtype != dtype)
    return aihw_error(AIHW_ERR_FORMAT, "tensor '%s': dtype %s where %s was expected", r->name,
                      aihw_st_dtype_name(t.dtype), aihw_st_dtype_name(dtype));
  AIHW_TRY(aihw_st_tensor_expect_shape(&t, shape, ndim));
  mark_used(r);
  *data = t.data;
  return AIHW_OK;
}

static aihw_status fetch_finite(reader *r, const char *key, const size_t *shape, size_t ndim,
                                int required, const float **data) {
  const void *p = NULL;
  AIHW_TRY(fetch(r, key, AIHW_ST_F32, shape, ndim, required, &p));
  *data = p;
  if (p == NULL)
    return AIHW_OK;
  size_t n = 1;
  for (size_t d = 0; d < ndim; ++d)
    n *= shape[d];
  for (size_t k = 0; k < n; ++k)
    if (!isfinite((*data)[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "tensor '%s': element %zu is %g; must be finite",
                        r->name, k, (double)(*data)[k]);
  return AIHW_OK;
}

/* A U8 scalar flag: -1 when absent, else 0 or 1 (other values are FORMAT errors). */
static aihw_status fetch_flag(reader *r, const char *key, int *flag) {
  const void *p = NULL;
  *flag = -1;
  AIHW_TRY(fetch(r, key, AIHW_ST_U8, NULL, 0, 1, &p));
  if (p == NULL)
    return AIHW_OK;
  const uint8_t v = *(const uint8_t *)p;
  if (v > 1)
    return aihw_error(AIHW_ERR_FORMAT, "tensor '%s' = %u: a flag must be 0 or 1", r->name,
                      (unsigned)v);
  *flag = v;
  return AIHW_OK;
}

static aihw_status ensure(float **buf, size_t n, const char *what) {
  if (*buf != NULL)
    return AIHW_OK;
  *buf = aihw_alloc_array(n, sizeof(float), what);
  return *buf != NULL ? AIHW_OK : AIHW_ERR_OUT_OF_MEMORY;
}

/* Hidden parameters: finite, steps >= 0, min_bound <= max_bound (each new bound checked
 * against the other bound as it will be after the import). */
static aihw_status prepare_hidden(reader *r, aihw_tile *t, const size_t *wshape,
                                  aihw_tile_state_plan *p) {
  const int hidden = aihw_tile_hidden_count(t);
  for (int k = 0; k < hidden && k < AIHW_TILE_MAX_HIDDEN; ++k) {
    char key[128];
    snprintf(key, sizeof key, "hidden.%s", aihw_tile_hidden_name(t, k));
    AIHW_TRY(fetch_finite(r, key, wshape, 2, 1, &p->hidden[k]));
    if (p->hidden[k] != NULL && (k == 2 || k == 3)) /* dwmin_up, dwmin_down */
      for (size_t e = 0; e < wshape[0] * wshape[1]; ++e)
        if (p->hidden[k][e] < 0.0f)
          return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                            "tensor '%s%s': element %zu = %g: step sizes must be >= 0",
                            r->prefix, key, e, (double)p->hidden[k][e]);
  }
  if (hidden > 0 && (p->hidden[0] != NULL || p->hidden[1] != NULL)) {
    const float *hi = p->hidden[0] != NULL ? p->hidden[0] : t->devices->max_bound;
    const float *lo = p->hidden[1] != NULL ? p->hidden[1] : t->devices->min_bound;
    for (size_t e = 0; e < wshape[0] * wshape[1]; ++e)
      if (lo[e] > hi[e])
        return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                          "tensors '%shidden.min_bound' / 'max_bound': element %zu: min %g > "
                          "max %g",
                          r->prefix, e, (double)lo[e], (double)hi[e]);
  }
  return AIHW_OK;
}

/* The scalar parts: alpha, op counter, NM running values, output scales, mode. */
static aihw_status prepare_scalars(reader *r, aihw_tile *t, aihw_tile_state_plan *p) {
  const size_t two[1] = {2}, vshape[1] = {(size_t)t->out_size};
  AIHW_TRY(fetch_finite(r, "alpha", two, 1, 1, &p->alpha));
  const void *c = NULL;
  AIHW_TRY(fetch(r, "op_counter", AIHW_ST_I64, NULL, 0, 1, &c));
  if (c != NULL) {
    const int64_t v = *(const int64_t *)c;
    if (v < 1 || (uint64_t)v > AIHW_TILE_MAX_OP_COUNTER + 1)
      return aihw_error(AIHW_ERR_FORMAT, "tensor '%s' = %lld: must be in [1, 2^48]", r->name,
                        (long long)v);
    p->has_counter = 1;
    p->op_counter = (uint64_t)v;
  }
  AIHW_TRY(fetch_finite(r, "nm_running", two, 1, 1, &p->nm_running));
  AIHW_TRY(fetch_finite(r, "out_scales", vshape, 1, 1, &p->out_scales));
  if (p->out_scales != NULL) {
    int all_one = 1;
    for (int64_t i = 0; i < t->out_size; ++i) {
      if (p->out_scales[i] == 0.0f)
        return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                          "tensor '%sout_scales': element %lld is 0; scales must be non-zero",
                          r->prefix, (long long)i);
      all_one = all_one && p->out_scales[i] == 1.0f;
    }
    /* a tile without scales multiplies by nothing, which equals multiplying by 1 */
    if (t->out_scales == NULL && !all_one)
      AIHW_TRY(ensure(&p->new_out_scales, (size_t)t->out_size, "output scales"));
  }
  AIHW_TRY(fetch_flag(r, "training", &p->training));
  return AIHW_OK;
}

static aihw_status prepare_drift(reader *r, aihw_tile *t, const size_t *wshape,
                                 aihw_tile_state_plan *p) {
  int started = -1;
  AIHW_TRY(fetch_flag(r, "drift_started", &started));
  if (started == 0)
    p->drift = AIHW_STATE_CLEAR;
  if (started != 1)
    return AIHW_OK;
  const void *dt = NULL, *now = NULL;
  AIHW_TRY(fetch_finite(r, "drift_w0", wshape, 2, 1, &p->drift_w0));
  AIHW_TRY(fetch_finite(r, "drift_prev", wshape, 2, 1, &p->drift_prev));
  AIHW_TRY(fetch(r, "drift_t", AIHW_ST_F64, wshape, 2, 1, &dt));
  AIHW_TRY(fetch(r, "drift_now", AIHW_ST_F64, NULL, 0, 1, &now));
  if (p->drift_w0 == NULL || p->drift_prev == NULL || dt == NULL || now == NULL)
    return AIHW_OK; /* incomplete: reported missing, kept as it is */
  p->drift_t = dt;
  p->drift_now = *(const double *)now;
  for (size_t e = 0; e < wshape[0] * wshape[1]; ++e)
    if (!isfinite(p->drift_t[e]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "tensor '%sdrift_t': element %zu is not finite",
                        r->prefix, e);
  if (!isfinite(p->drift_now))
    return aihw_error(AIHW_ERR_NOT_FINITE, "tensor '%sdrift_now' is not finite", r->prefix);
  p->drift = AIHW_STATE_LOAD;
  if (t->drift_w0 == NULL) {
    const size_t n = wshape[0] * wshape[1];
    AIHW_TRY(ensure(&p->new_w0, n, "drift start weights"));
    AIHW_TRY(ensure(&p->new_prev, n, "drift previous weights"));
    p->new_t = aihw_alloc_array(n, sizeof(double), "drift start times");
    if (p->new_t == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
  }
  return AIHW_OK;
}

/* One INFERENCE part: its flag, then (flag 1) its tensors. Sets *action. */
static aihw_status prepare_part(reader *r, const char *flag_key, aihw_state_action *action,
                                int *load) {
  int flag = -1;
  *load = 0;
  AIHW_TRY(fetch_flag(r, flag_key, &flag));
  *action = flag == 0 ? AIHW_STATE_CLEAR : AIHW_STATE_KEEP;
  *load = flag == 1;
  return AIHW_OK;
}

static aihw_status prepare_inference(reader *r, aihw_tile *t, const size_t *wshape,
                                     aihw_tile_state_plan *p) {
  const size_t n = wshape[0] * wshape[1], out = wshape[0], vshape[1] = {out};
  int load = 0;
  AIHW_TRY(prepare_part(r, "reference_valid", &p->reference, &load));
  if (load) {
    AIHW_TRY(fetch_finite(r, "reference", wshape, 2, 1, &p->reference_w));
    if (p->reference_w != NULL)
      p->reference = AIHW_STATE_LOAD;
  }
  AIHW_TRY(prepare_part(r, "programmed_valid", &p->programmed, &load));
  if (load) {
    const size_t slices = (size_t)aihw_converter_slices(&t->config.inference.converter);
    const size_t nshape[3] = {slices, wshape[0], wshape[1]};
    AIHW_TRY(fetch_finite(r, "programmed", wshape, 2, 1, &p->programmed_w));
    AIHW_TRY(fetch_finite(r, "nu", nshape, 3, 1, &p->nu));
    if (p->programmed_w != NULL && p->nu != NULL) {
      p->programmed = AIHW_STATE_LOAD;
      if (t->programmed == NULL)
        AIHW_TRY(ensure(&p->new_programmed, n, "programmed weights"));
      if (t->nu == NULL)
        AIHW_TRY(ensure(&p->new_nu, n * slices, "drift exponents"));
    }
  }
  AIHW_TRY(prepare_part(r, "compensation_valid", &p->compensation, &load));
  if (load) {
    AIHW_TRY(fetch_finite(r, "drift_baseline", vshape, 1, 1, &p->baseline));
    AIHW_TRY(fetch_finite(r, "drift_alpha", vshape, 1, 1, &p->drift_alpha));
    if (p->baseline != NULL && p->drift_alpha != NULL) {
      p->compensation = AIHW_STATE_LOAD;
      if (t->drift_baseline == NULL)
        AIHW_TRY(ensure(&p->new_baseline, out, "drift baseline"));
      if (t->drift_alpha == NULL)
        AIHW_TRY(ensure(&p->new_drift_alpha, out, "drift alpha"));
    }
  }
  AIHW_TRY(prepare_part(r, "weights_fb_valid", &p->fb, &load));
  if (load) {
    AIHW_TRY(fetch_finite(r, "weights_fb", wshape, 2, 1, &p->weights_fb));
    if (p->weights_fb != NULL) {
      p->fb = AIHW_STATE_LOAD;
      if (t->weights_fb == NULL)
        AIHW_TRY(ensure(&p->new_fb, n, "modified weights"));
      if (t->weights_abs != NULL && t->weights_fb_abs == NULL)
        AIHW_TRY(ensure(&p->new_fb_abs, n, "|modified weights|"));
    }
  }
  return AIHW_OK;
}

void aihw_tile_state_plan_free(aihw_tile_state_plan *p) {
  if (p == NULL)
    return;
  aihw_free(p->new_out_scales);
  aihw_free(p->new_w0);
  aihw_free(p->new_prev);
  aihw_free(p->new_t);
  aihw_free(p->new_programmed);
  aihw_free(p->new_nu);
  aihw_free(p->new_baseline);
  aihw_free(p->new_drift_alpha);
  aihw_free(p->new_fb);
  aihw_free(p->new_fb_abs);
  aihw_compound_plan_free(p->compound);
  memset(p, 0, sizeof *p);
}

aihw_status aihw_tile_state_prepare(aihw_tile *t, const aihw_st_dict *dict, const char *prefix,
                                    unsigned char *used, aihw_state_names *missing,
                                    aihw_tile_state_plan *p) {
  if (p == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_state_prepare: plan is NULL");
  memset(p, 0, sizeof *p);
  if (t == NULL || dict == NULL || prefix == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_tile_state_prepare: NULL argument");
  AIHW_TRY(aihw_tile_require_host(t, "loading a tile state")); /* no GPU version yet */
  p->tile = t;
  p->training = -1;
  reader r = {dict, prefix, used, missing, ""};
  const size_t wshape[3] = {(size_t)t->out_size, (size_t)t->cols, 2};
  aihw_status s = fetch_finite(&r, "weights", wshape, 2, 1, &p->weights);
  if (s == AIHW_OK)
    s = prepare_hidden(&r, t, wshape, p);
  if (s == AIHW_OK && t->pulse_counts != NULL) {
    const void *pc = NULL;
    s = fetch(&r, "pulse_counts", AIHW_ST_I64, wshape, 3, 1, &pc);
    p->pulse_counts = pc;
    for (size_t e = 0; s == AIHW_OK && pc != NULL && e < wshape[0] * wshape[1] * 2; ++e)
      if (p->pulse_counts[e] < 0)
        s = aihw_error(AIHW_ERR_FORMAT, "tensor '%spulse_counts': element %zu = %lld < 0",
                       prefix, e, (long long)p->pulse_counts[e]);
  }
  if (s == AIHW_OK)
    s = prepare_scalars(&r, t, p);
  if (s == AIHW_OK)
    s = prepare_drift(&r, t, wshape, p);
  if (s == AIHW_OK && t->config.kind == AIHW_TILE_INFERENCE)
    s = prepare_inference(&r, t, wshape, p);
  if (s == AIHW_OK && t->compound != NULL)
    s = aihw_compound_state_prepare(t, dict, prefix, used, missing, &p->compound);
  if (s != AIHW_OK)
    aihw_tile_state_plan_free(p);
  return s;
}

/* ---- import: commit ------------------------------------------------------------------ */

/* Moves a plan-owned buffer into the tile's slot if the slot is empty. */
static void adopt(float **slot, float **owned) {
  if (*slot == NULL) {
    *slot = *owned;
    *owned = NULL;
  }
}

static void commit_inference(aihw_tile *t, aihw_tile_state_plan *p, size_t n) {
  if (p->reference == AIHW_STATE_LOAD) {
    memcpy(t->reference, p->reference_w, n * sizeof(float));
    t->reference_valid = 1;
  } else if (p->reference == AIHW_STATE_CLEAR) {
    t->reference_valid = 0;
  }
  if (p->programmed == AIHW_STATE_LOAD) {
    const size_t slices = (size_t)aihw_converter_slices(&t->config.inference.converter);
    adopt(&t->programmed, &p->new_programmed);
    adopt(&t->nu, &p->new_nu);
    memcpy(t->programmed, p->programmed_w, n * sizeof(float));
    memcpy(t->nu, p->nu, n * slices * sizeof(float));
    t->programmed_valid = 1;
  } else if (p->programmed == AIHW_STATE_CLEAR) {
    t->programmed_valid = 0;
  }
  const size_t out = (size_t)t->out_size;
  if (p->compensation == AIHW_STATE_LOAD) {
    adopt(&t->drift_baseline, &p->new_baseline);
    adopt(&t->drift_alpha, &p->new_drift_alpha);
    memcpy(t->drift_baseline, p->baseline, out * sizeof(float));
    memcpy(t->drift_alpha, p->drift_alpha, out * sizeof(float));
    t->compensation_valid = 1;
  } else if (p->compensation == AIHW_STATE_CLEAR) {
    t->compensation_valid = 0;
  }
  if (p->fb == AIHW_STATE_LOAD) {
    adopt(&t->weights_fb, &p->new_fb);
    if (t->weights_abs != NULL)
      adopt(&t->weights_fb_abs, &p->new_fb_abs);
    memcpy(t->weights_fb, p->weights_fb, n * sizeof(float));
    if (t->weights_fb_abs != NULL)
      for (size_t k = 0; k < n; ++k)
        t->weights_fb_abs[k] = fabsf(t->weights_fb[k]);
    t->fb_valid = 1;
  } else if (p->fb == AIHW_STATE_CLEAR) {
    t->fb_valid = 0;
  }
}

void aihw_tile_state_commit(aihw_tile_state_plan *p) {
  aihw_tile *t = p->tile;
  if (t == NULL)
    return;
  const size_t n = (size_t)(t->out_size * t->cols);
  if (p->weights != NULL)
    memcpy(t->weights, p->weights, n * sizeof(float));
  if (p->compound != NULL) /* sub-devices, then the visible weights from them */
    aihw_compound_state_commit(t, p->compound);
  for (int k = 0; k < AIHW_TILE_MAX_HIDDEN; ++k)
    if (p->hidden[k] != NULL)
      memcpy(hidden_array(t, k), p->hidden[k], n * sizeof(float));
  if (p->pulse_counts != NULL)
    memcpy(t->pulse_counts, p->pulse_counts, 2 * n * sizeof(int64_t));
  if (p->alpha != NULL) {
    t->forward_alpha = p->alpha[0];
    t->backward_alpha = p->alpha[1];
  }
  if (p->has_counter)
    t->op_counter = p->op_counter;
  if (p->nm_running != NULL) {
    t->forward.nm_running = p->nm_running[0];
    t->backward.nm_running = p->nm_running[1];
  }
  if (p->out_scales != NULL) {
    adopt(&t->out_scales, &p->new_out_scales);
    if (t->out_scales != NULL)
      memcpy(t->out_scales, p->out_scales, (size_t)t->out_size * sizeof(float));
  }
  if (p->training >= 0)
    t->training = p->training;
  if (p->drift == AIHW_STATE_LOAD) {
    adopt(&t->drift_w0, &p->new_w0);
    adopt(&t->drift_prev, &p->new_prev);
    if (t->drift_t == NULL) {
      t->drift_t = p->new_t;
      p->new_t = NULL;
    }
    memcpy(t->drift_w0, p->drift_w0, n * sizeof(float));
    memcpy(t->drift_prev, p->drift_prev, n * sizeof(float));
    memcpy(t->drift_t, p->drift_t, n * sizeof(double));
    t->drift_now = p->drift_now;
  } else if (p->drift == AIHW_STATE_CLEAR) { /* the next drift call starts afresh */
    aihw_free(t->drift_w0);
    aihw_free(t->drift_prev);
    aihw_free(t->drift_t);
    t->drift_w0 = t->drift_prev = NULL;
    t->drift_t = NULL;
    t->drift_now = 0.0;
  }
  if (t->config.kind == AIHW_TILE_INFERENCE)
    commit_inference(t, p, n);
  if (t->weights_abs != NULL)
    for (size_t k = 0; k < n; ++k)
      t->weights_abs[k] = fabsf(t->weights[k]);
  aihw_tile_state_plan_free(p);
}

/* ---- single-tile import -------------------------------------------------------------- */

aihw_status aihw_tile_state_import(aihw_tile *t, const aihw_st_dict *dict, const char *prefix,
                                   int strict) {
  static const char *fn = "aihw_tile_state_import";
  if (t == NULL || dict == NULL || prefix == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  if (strict != 0 && strict != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: strict = %d: must be 0 or 1", fn, strict);
  const size_t count = aihw_st_dict_count(dict);
  unsigned char *used = aihw_calloc_array(count > 0 ? count : 1, 1, "tensor marks");
  aihw_state_names *miss = aihw_calloc_array(1, sizeof *miss, "name list");
  if (used == NULL || miss == NULL) {
    aihw_free(used);
    aihw_free(miss);
    return AIHW_ERR_OUT_OF_MEMORY;
  }
  aihw_tile_state_plan plan;
  aihw_status s = aihw_tile_state_prepare(t, dict, prefix, used, miss, &plan);
  if (s == AIHW_OK && strict) {
    aihw_state_names *unexpected = aihw_calloc_array(1, sizeof *unexpected, "name list");
    if (unexpected == NULL) {
      s = AIHW_ERR_OUT_OF_MEMORY;
    } else {
      const size_t plen = strlen(prefix);
      for (size_t k = 0; k < count; ++k) {
        aihw_st_tensor ten;
        if (!used[k] && aihw_st_dict_at(dict, k, &ten) == AIHW_OK &&
            strncmp(ten.name, prefix, plen) == 0)
          aihw_state_names_add(unexpected, ten.name);
      }
      if (miss->count > 0 || unexpected->count > 0) {
        char m[1700];
        snprintf(m, sizeof m, "%s", aihw_state_names_text(miss));
        s = aihw_error(AIHW_ERR_FORMAT,
                       "%s (strict): %zu missing tensor(s)%s%s; %zu unexpected tensor(s)%s%s",
                       fn, miss->count, miss->count ? ": " : "", m, unexpected->count,
                       unexpected->count ? ": " : "", aihw_state_names_text(unexpected));
      }
      aihw_free(unexpected);
    }
    if (s != AIHW_OK)
      aihw_tile_state_plan_free(&plan);
  }
  if (s == AIHW_OK)
    aihw_tile_state_commit(&plan);
  aihw_free(used);
  aihw_free(miss);
  return s;
}
