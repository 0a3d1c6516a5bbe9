/* State-file tensors of a compound device (tile_state.c calls these): every sub-device's
 * weights and hidden parameters, the TTv2 buffers and the schedule counters, so that a
 * compound tile rebuilt from a state file continues bit-identically.
 *
 *   compound.<k>.weights        F32 [out][cols]  visible weights of sub-device k
 *   compound.<k>.hidden.<name>  F32 [out][cols]  its hidden parameters (max_bound,
 *                               min_bound, dwmin_up, dwmin_down, decay_scales,
 *                               diffusion_rates, reset_bias, drift_nu,
 *                               [persistent_weights], model extras)
 *   compound.<k>.buffer         F32 [out][cols]  BufferedTransfer buffer of from-device k
 *   compound.counters           I64 [3 + 2 MAX]  update_count, current_device,
 *                               transfer_ops, current_slice[MAX], transfers[MAX]
 *   ChoppedTransfer only:
 *   compound.chop_in / chop_out U8 [cols] / [out]  chopper flips (1 = sign flipped)
 *   compound.chop_m             F32 [2]          m_x, m_d (auto_scale)
 *   compound.chop_counter       I64 []           transfer_counter
 *   DynamicTransfer also:
 *   compound.running_mean / past_mean  F32 [out][cols]  AGAD means of the reads
 *   compound.chop_switched      U8 [cols]        1 = the column's chopper just flipped
 *   OneSided / MixedPrecision only:
 *   compound.extra_counters     I64 [2]          refresh_count, current_row
 *   MixedPrecision only:
 *   compound.chi                F32 [out][cols]  the digital accumulator
 *   Sub-devices whose drift during training has started (compound_ops.c):
 *   compound.<k>.drift_w0 / drift_prev F32 [out][cols], compound.<k>.drift_t F64
 *   [out][cols], compound.<k>.drift_now F64 [] (absent: not started; import clears)
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "tile/compound_internal.h"

enum { MAX_SUB_HIDDEN = 12, N_COUNTERS = 3 + 2 * AIHW_COMPOUND_MAX_DEVICES };

struct aihw_compound_plan {
  const uint8_t *chop_in, *chop_out;
  const float *chop_m;
  const int64_t *chop_counter;
  const float *running_mean, *past_mean, *chi;
  const uint8_t *chop_switched;
  const int64_t *extra;
  /* drift state per sub-device: new copies (owned until commit) */
  float *drift_w0[AIHW_COMPOUND_MAX_DEVICES], *drift_prev[AIHW_COMPOUND_MAX_DEVICES];
  double *drift_t[AIHW_COMPOUND_MAX_DEVICES];
  double drift_now[AIHW_COMPOUND_MAX_DEVICES];
  const float *weights[AIHW_COMPOUND_MAX_DEVICES];
  const float *hidden[AIHW_COMPOUND_MAX_DEVICES][MAX_SUB_HIDDEN];
  const float *buffer[AIHW_COMPOUND_MAX_DEVICES];
  const int64_t *counters;
};

/* Hidden arrays of one sub-device, aihwkit's names and order; returns their number. */
static int sub_hidden(const aihw_device_state *s, const char **names, float **arrays) {
  static const char *const base[8] = {"max_bound",    "min_bound",       "dwmin_up",
                                      "dwmin_down",   "decay_scales",    "diffusion_rates",
                                      "reset_bias",   "drift_nu"};
  float *const a[8] = {s->max_bound,   s->min_bound,      s->scale_up,   s->scale_down,
                       s->decay_scale, s->diffusion_rate, s->reset_bias, s->drift_nu};
  int n = 0;
  for (; n < 8; ++n) {
    names[n] = base[n];
    arrays[n] = a[n];
  }
  if (s->persistent != NULL) {
    names[n] = "persistent_weights";
    arrays[n++] = s->persistent;
  }
  const aihw_device_model *m = aihw_device_model_of(s->params.type);
  for (int e = 0; m != NULL && e < m->n_extra; ++e) {
    names[n] = m->extra_names[e];
    arrays[n++] = s->extra[e];
  }
  return n;
}

static aihw_status put(aihw_st_dict *dict, const char *prefix, const char *key,
                       aihw_st_dtype dtype, const size_t *shape, size_t ndim,
                       const void *data) {
  char name[512];
  const int n = snprintf(name, sizeof name, "%s%s", prefix, key);
  if (n < 0 || (size_t)n >= sizeof name)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "tile state: tensor name '%s%s' is too long",
                      prefix, key);
  return aihw_st_dict_add(dict, name, dtype, shape, ndim, data);
}

aihw_status aihw_compound_state_export(const aihw_tile *t, aihw_st_dict *dict,
                                       const char *prefix) {
  const aihw_compound *c = t->compound;
  const size_t wshape[2] = {(size_t)t->out_size, (size_t)t->cols}, cshape[1] = {N_COUNTERS};
  char key[128];
  for (int k = 0; k < c->n; ++k) {
    snprintf(key, sizeof key, "compound.%d.weights", k);
    AIHW_TRY(put(dict, prefix, key, AIHW_ST_F32, wshape, 2, c->w[k]));
    const char *names[MAX_SUB_HIDDEN];
    float *arrays[MAX_SUB_HIDDEN];
    const int n = sub_hidden(c->dev[k], names, arrays);
    for (int h = 0; h < n; ++h) {
      snprintf(key, sizeof key, "compound.%d.hidden.%s", k, names[h]);
      AIHW_TRY(put(dict, prefix, key, AIHW_ST_F32, wshape, 2, arrays[h]));
    }
    if (c->buffer[k] != NULL) {
      snprintf(key, sizeof key, "compound.%d.buffer", k);
      AIHW_TRY(put(dict, prefix, key, AIHW_ST_F32, wshape, 2, c->buffer[k]));
    }
    if (c->drift_w0[k] != NULL) {
      snprintf(key, sizeof key, "compound.%d.drift_w0", k);
      AIHW_TRY(put(dict, prefix, key, AIHW_ST_F32, wshape, 2, c->drift_w0[k]));
      snprintf(key, sizeof key, "compound.%d.drift_prev", k);
      AIHW_TRY(put(dict, prefix, key, AIHW_ST_F32, wshape, 2, c->drift_prev[k]));
      snprintf(key, sizeof key, "compound.%d.drift_t", k);
      AIHW_TRY(put(dict, prefix, key, AIHW_ST_F64, wshape, 2, c->drift_t[k]));
      snprintf(key, sizeof key, "compound.%d.drift_now", k);
      AIHW_TRY(put(dict, prefix, key, AIHW_ST_F64, NULL, 0, &c->drift_now[k]));
    }
  }
  int64_t counters[N_COUNTERS] = {c->update_count, c->current_device,
                                  (int64_t)c->transfer_ops};
  for (int k = 0; k < AIHW_COMPOUND_MAX_DEVICES; ++k) {
    counters[3 + k] = c->current_slice[k];
    counters[3 + AIHW_COMPOUND_MAX_DEVICES + k] = c->transfers[k];
  }
  AIHW_TRY(put(dict, prefix, "compound.counters", AIHW_ST_I64, cshape, 1, counters));
  if (c->one_sided || c->mixed) {
    const size_t two[1] = {2};
    const int64_t extra[2] = {c->refresh_count, c->current_row};
    AIHW_TRY(put(dict, prefix, "compound.extra_counters", AIHW_ST_I64, two, 1, extra));
  }
  if (c->mixed)
    AIHW_TRY(put(dict, prefix, "compound.chi", AIHW_ST_F32, wshape, 2, c->chi));
  if (c->dynamic) {
    const size_t ishape[1] = {(size_t)c->n_slices};
    AIHW_TRY(put(dict, prefix, "compound.running_mean", AIHW_ST_F32, wshape, 2,
                 c->running_mean));
    AIHW_TRY(put(dict, prefix, "compound.past_mean", AIHW_ST_F32, wshape, 2, c->past_mean));
    AIHW_TRY(put(dict, prefix, "compound.chop_switched", AIHW_ST_U8, ishape, 1,
                 c->chop_switched));
  }
  if (!c->chopped)
    return AIHW_OK;
  const size_t ishape[1] = {(size_t)c->n_slices}, oshape[1] = {(size_t)c->n_out}, two[1] = {2};
  const float m[2] = {c->m_x, c->m_d};
  AIHW_TRY(put(dict, prefix, "compound.chop_in", AIHW_ST_U8, ishape, 1, c->in_chop));
  AIHW_TRY(put(dict, prefix, "compound.chop_out", AIHW_ST_U8, oshape, 1, c->out_chop));
  AIHW_TRY(put(dict, prefix, "compound.chop_m", AIHW_ST_F32, two, 1, m));
  return put(dict, prefix, "compound.chop_counter", AIHW_ST_I64, NULL, 0, &c->transfer_counter);
}

/* ---- import --------------------------------------------------------------------------- */

typedef struct reader {
  const aihw_st_dict *dict;
  const char *prefix;
  unsigned char *used;
  aihw_state_names *missing;
  char name[512];
} reader;

/* Tensor <prefix><key> (dtype, shape checked) into *data; NULL and listed as missing when
 * absent; marked used when present. */
static aihw_status fetch(reader *r, const char *key, aihw_st_dtype dtype, const size_t *shape,
                         size_t ndim, const void **data) {
  *data = NULL;
  snprintf(r->name, sizeof r->name, "%s%s", r->prefix, key);
  if (!aihw_st_dict_contains(r->dict, r->name)) {
    if (r->missing != NULL)
      aihw_state_names_add(r->missing, r->name);
    return AIHW_OK;
  }
  aihw_st_tensor t;
  AIHW_TRY(aihw_st_dict_get(r->dict, r->name, &t));
  if (t.dtype != dtype)
    return aihw_error(AIHW_ERR_FORMAT, "tensor '%s': dtype %s where %s was expected", r->name,
                      aihw_st_dtype_name(t.dtype), aihw_st_dtype_name(dtype));
  AIHW_TRY(aihw_st_tensor_expect_shape(&t, shape, ndim));
  if (r->used != NULL) {
    const size_t n = aihw_st_dict_count(r->dict);
    for (size_t e = 0; e < n; ++e) {
      aihw_st_tensor u;
      if (aihw_st_dict_at(r->dict, e, &u) == AIHW_OK && strcmp(u.name, r->name) == 0)
        r->used[e] = 1;
    }
  }
  *data = t.data;
  return AIHW_OK;
}

static aihw_status fetch_finite(reader *r, const char *key, const size_t *shape,
                                const float **data) {
  const void *p = NULL;
  AIHW_TRY(fetch(r, key, AIHW_ST_F32, shape, 2, &p));
  *data = p;
  const size_t n = shape[0] * shape[1];
  for (size_t e = 0; p != NULL && e < n; ++e)
    if (!isfinite((*data)[e]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "tensor '%s': element %zu is %g; must be finite",
                        r->name, e, (double)(*data)[e]);
  return AIHW_OK;
}

static aihw_status check_counters(const aihw_compound *c, int64_t cols, const int64_t *v,
                                  const char *name) {
  int bad = v[0] < 0 || v[1] < 0 || v[1] >= c->n || v[2] < 0 ||
            v[2] >= (int64_t)AIHW_COMPOUND_TRANSFER_OPS;
  for (int k = 0; k < AIHW_COMPOUND_MAX_DEVICES; ++k)
    bad |= v[3 + k] < 0 || v[3 + k] >= cols || v[3 + AIHW_COMPOUND_MAX_DEVICES + k] < 0;
  if (bad)
    return aihw_error(AIHW_ERR_FORMAT,
                      "tensor '%s': counters out of range (update_count >= 0, current_device "
                      "in [0, %d), transfer_ops in [0, 2^47), current_slice in [0, %lld), "
                      "transfers >= 0)",
                      name, c->n, (long long)cols);
  return AIHW_OK;
}

/* Drift state of sub-device k (present: all four tensors required) into new arrays. */
static aihw_status prepare_drift(reader *r, int k, const size_t *wshape,
                                 struct aihw_compound_plan *p) {
  const size_t n = wshape[0] * wshape[1];
  char key[128];
  const float *w0 = NULL, *prev = NULL;
  const void *t = NULL, *now = NULL;
  snprintf(key, sizeof key, "compound.%d.drift_w0", k);
  AIHW_TRY(fetch_finite(r, key, wshape, &w0));
  snprintf(key, sizeof key, "compound.%d.drift_prev", k);
  AIHW_TRY(fetch_finite(r, key, wshape, &prev));
  snprintf(key, sizeof key, "compound.%d.drift_t", k);
  AIHW_TRY(fetch(r, key, AIHW_ST_F64, wshape, 2, &t));
  snprintf(key, sizeof key, "compound.%d.drift_now", k);
  AIHW_TRY(fetch(r, key, AIHW_ST_F64, NULL, 0, &now));
  if (w0 == NULL || prev == NULL || t == NULL || now == NULL)
    return aihw_error(AIHW_ERR_FORMAT,
                      "compound.%d.drift_*: drift_w0, drift_prev, drift_t and drift_now come "
                      "together",
                      k);
  for (size_t e = 0; e < n; ++e)
    if (!isfinite(((const double *)t)[e]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "compound.%d.drift_t: element %zu not finite",
                        k, e);
  if (!isfinite(*(const double *)now))
    return aihw_error(AIHW_ERR_NOT_FINITE, "compound.%d.drift_now is not finite", k);
  p->drift_w0[k] = aihw_alloc_array(n, sizeof(float), "drift start weights");
  p->drift_prev[k] = aihw_alloc_array(n, sizeof(float), "drift previous weights");
  p->drift_t[k] = aihw_alloc_array(n, sizeof(double), "drift start times");
  if (p->drift_w0[k] == NULL || p->drift_prev[k] == NULL || p->drift_t[k] == NULL)
    return aihw_last_status();
  memcpy(p->drift_w0[k], w0, n * sizeof(float));
  memcpy(p->drift_prev[k], prev, n * sizeof(float));
  memcpy(p->drift_t[k], t, n * sizeof(double));
  p->drift_now[k] = *(const double *)now;
  return AIHW_OK;
}

aihw_status aihw_compound_state_prepare(const aihw_tile *t, const aihw_st_dict *dict,
                                        const char *prefix, unsigned char *used,
                                        aihw_state_names *missing,
                                        struct aihw_compound_plan **out) {
  *out = NULL;
  const aihw_compound *c = t->compound;
  struct aihw_compound_plan *p = aihw_calloc_array(1, sizeof *p, "compound state plan");
  if (p == NULL)
    return aihw_last_status();
  reader r = {dict, prefix, used, missing, ""};
  const size_t wshape[2] = {(size_t)t->out_size, (size_t)t->cols}, cshape[1] = {N_COUNTERS};
  const size_t size = wshape[0] * wshape[1];
  char key[128];
  aihw_status s = AIHW_OK;
  for (int k = 0; k < c->n && s == AIHW_OK; ++k) {
    snprintf(key, sizeof key, "compound.%d.weights", k);
    s = fetch_finite(&r, key, wshape, &p->weights[k]);
    const char *names[MAX_SUB_HIDDEN];
    float *arrays[MAX_SUB_HIDDEN];
    const int n = sub_hidden(c->dev[k], names, arrays);
    for (int h = 0; h < n && s == AIHW_OK; ++h) {
      snprintf(key, sizeof key, "compound.%d.hidden.%s", k, names[h]);
      s = fetch_finite(&r, key, wshape, &p->hidden[k][h]);
      for (size_t e = 0; s == AIHW_OK && p->hidden[k][h] != NULL && (h == 2 || h == 3) &&
                         e < size;
           ++e)
        if (p->hidden[k][h][e] < 0.0f)
          s = aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                         "tensor '%s': element %zu = %g: step sizes must be >= 0", r.name, e,
                         (double)p->hidden[k][h][e]);
    }
    if (s == AIHW_OK && (p->hidden[k][0] != NULL || p->hidden[k][1] != NULL)) {
      const float *hi = p->hidden[k][0] != NULL ? p->hidden[k][0] : c->dev[k]->max_bound;
      const float *lo = p->hidden[k][1] != NULL ? p->hidden[k][1] : c->dev[k]->min_bound;
      for (size_t e = 0; s == AIHW_OK && e < size; ++e)
        if (lo[e] > hi[e])
          s = aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                         "tensors '%scompound.%d.hidden.min_bound' / 'max_bound': element "
                         "%zu: min %g > max %g",
                         prefix, k, e, (double)lo[e], (double)hi[e]);
    }
    if (s == AIHW_OK && c->buffer[k] != NULL) {
      snprintf(key, sizeof key, "compound.%d.buffer", k);
      s = fetch_finite(&r, key, wshape, &p->buffer[k]);
    }
    char name[512];
    snprintf(name, sizeof name, "%scompound.%d.drift_w0", prefix, k);
    if (s == AIHW_OK && aihw_st_dict_contains(dict, name))
      s = prepare_drift(&r, k, wshape, p);
  }
  if (s == AIHW_OK) {
    const void *v = NULL;
    s = fetch(&r, "compound.counters", AIHW_ST_I64, cshape, 1, &v);
    p->counters = v;
    if (s == AIHW_OK && v != NULL)
      s = check_counters(c, c->params.transfer_columns || !c->transfer ? t->cols : t->out_size,
                         p->counters, r.name);
  }
  if (s == AIHW_OK && c->chopped) {
    const size_t ishape[1] = {(size_t)c->n_slices}, oshape[1] = {(size_t)c->n_out};
    const size_t two[1] = {2};
    const void *v = NULL;
    s = fetch(&r, "compound.chop_in", AIHW_ST_U8, ishape, 1, &v);
    p->chop_in = v;
    for (size_t e = 0; s == AIHW_OK && v != NULL && e < ishape[0]; ++e)
      if (p->chop_in[e] > 1)
        s = aihw_error(AIHW_ERR_FORMAT, "tensor '%s': choppers must be 0 or 1", r.name);
    if (s == AIHW_OK)
      s = fetch(&r, "compound.chop_out", AIHW_ST_U8, oshape, 1, &v);
    p->chop_out = s == AIHW_OK ? v : NULL;
    for (size_t e = 0; s == AIHW_OK && v != NULL && e < oshape[0]; ++e)
      if (p->chop_out[e] > 1)
        s = aihw_error(AIHW_ERR_FORMAT, "tensor '%s': choppers must be 0 or 1", r.name);
    if (s == AIHW_OK)
      s = fetch(&r, "compound.chop_m", AIHW_ST_F32, two, 1, &v);
    p->chop_m = s == AIHW_OK ? v : NULL;
    if (s == AIHW_OK && v != NULL && !(isfinite(p->chop_m[0]) && isfinite(p->chop_m[1])))
      s = aihw_error(AIHW_ERR_NOT_FINITE, "tensor '%s': must be finite", r.name);
    if (s == AIHW_OK)
      s = fetch(&r, "compound.chop_counter", AIHW_ST_I64, NULL, 0, &v);
    p->chop_counter = s == AIHW_OK ? v : NULL;
    if (s == AIHW_OK && v != NULL && *p->chop_counter < 0)
      s = aihw_error(AIHW_ERR_FORMAT, "tensor '%s': must be >= 0", r.name);
  }
  if (s == AIHW_OK && (c->one_sided || c->mixed)) {
    const size_t two[1] = {2};
    const void *v = NULL;
    s = fetch(&r, "compound.extra_counters", AIHW_ST_I64, two, 1, &v);
    p->extra = v;
    if (s == AIHW_OK && v != NULL &&
        (p->extra[0] < 0 || p->extra[1] < 0 || p->extra[1] >= t->out_size))
      s = aihw_error(AIHW_ERR_FORMAT,
                     "tensor '%s': refresh_count must be >= 0 and current_row in [0, %lld)",
                     r.name, (long long)t->out_size);
  }
  if (s == AIHW_OK && c->mixed)
    s = fetch_finite(&r, "compound.chi", wshape, &p->chi);
  if (s == AIHW_OK && c->dynamic) {
    s = fetch_finite(&r, "compound.running_mean", wshape, &p->running_mean);
    if (s == AIHW_OK)
      s = fetch_finite(&r, "compound.past_mean", wshape, &p->past_mean);
    const size_t ishape[1] = {(size_t)c->n_slices};
    const void *v = NULL;
    if (s == AIHW_OK)
      s = fetch(&r, "compound.chop_switched", AIHW_ST_U8, ishape, 1, &v);
    p->chop_switched = s == AIHW_OK ? v : NULL;
    for (size_t e = 0; s == AIHW_OK && v != NULL && e < ishape[0]; ++e)
      if (p->chop_switched[e] > 1)
        s = aihw_error(AIHW_ERR_FORMAT, "tensor '%s': must be 0 or 1", r.name);
  }
  if (s != AIHW_OK) {
    aihw_compound_plan_free(p);
    return s;
  }
  *out = p;
  return AIHW_OK;
}

void aihw_compound_state_commit(aihw_tile *t, struct aihw_compound_plan *p) {
  aihw_compound *c = t->compound;
  const size_t bytes = (size_t)(t->out_size * t->cols) * sizeof(float);
  for (int k = 0; k < c->n; ++k) {
    if (p->weights[k] != NULL)
      memcpy(c->w[k], p->weights[k], bytes);
    const char *names[MAX_SUB_HIDDEN];
    float *arrays[MAX_SUB_HIDDEN];
    const int n = sub_hidden(c->dev[k], names, arrays);
    for (int h = 0; h < n; ++h)
      if (p->hidden[k][h] != NULL)
        memcpy(arrays[h], p->hidden[k][h], bytes);
    if (p->buffer[k] != NULL)
      memcpy(c->buffer[k], p->buffer[k], bytes);
  }
  if (p->counters != NULL) {
    c->update_count = p->counters[0];
    c->current_device = (int)p->counters[1];
    c->transfer_ops = (uint64_t)p->counters[2];
    for (int k = 0; k < AIHW_COMPOUND_MAX_DEVICES; ++k) {
      c->current_slice[k] = p->counters[3 + k];
      c->transfers[k] = p->counters[3 + AIHW_COMPOUND_MAX_DEVICES + k];
    }
  }
  if (p->chop_in != NULL)
    memcpy(c->in_chop, p->chop_in, (size_t)c->n_slices);
  if (p->chop_out != NULL)
    memcpy(c->out_chop, p->chop_out, (size_t)c->n_out);
  if (p->chop_m != NULL) {
    c->m_x = p->chop_m[0];
    c->m_d = p->chop_m[1];
  }
  if (p->chop_counter != NULL)
    c->transfer_counter = *p->chop_counter;
  if (p->extra != NULL) {
    c->refresh_count = p->extra[0];
    c->current_row = p->extra[1];
  }
  if (p->chi != NULL)
    memcpy(c->chi, p->chi, bytes);
  if (p->running_mean != NULL)
    memcpy(c->running_mean, p->running_mean, bytes);
  if (p->past_mean != NULL)
    memcpy(c->past_mean, p->past_mean, bytes);
  if (p->chop_switched != NULL)
    memcpy(c->chop_switched, p->chop_switched, (size_t)c->n_slices);
  for (int k = 0; k < c->n; ++k) { /* drift state: loaded, or cleared when absent */
    aihw_free(c->drift_w0[k]);
    aihw_free(c->drift_prev[k]);
    aihw_free(c->drift_t[k]);
    c->drift_w0[k] = p->drift_w0[k];
    c->drift_prev[k] = p->drift_prev[k];
    c->drift_t[k] = p->drift_t[k];
    c->drift_now[k] = p->drift_w0[k] != NULL ? p->drift_now[k] : 0.0;
    p->drift_w0[k] = p->drift_prev[k] = NULL;
    p->drift_t[k] = NULL;
  }
  aihw_compound_reduce(t);
}

void aihw_compound_plan_free(struct aihw_compound_plan *p) {
  if (p == NULL)
    return;
  for (int k = 0; k < AIHW_COMPOUND_MAX_DEVICES; ++k) {
    aihw_free(p->drift_w0[k]);
    aihw_free(p->drift_prev[k]);
    aihw_free(p->drift_t[k]);
  }
  aihw_free(p);
}
