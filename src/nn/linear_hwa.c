/* The digital periphery of a LINEAR layer around its tiles (reference §1.4 data flow, §7.3
 * learn_out_scaling, §8.3 input-range learning): learned output scales, per-tile input
 * ranges and the output-bound gradient mask (handle_output_bound of aihwkit's RPUCuda
 * tiles). linear.c runs its plain loops when neither learned scales nor input ranges are
 * on (only the bound hooks then); otherwise forward, backward and step come here.
 *
 * Per tile (r, c), in aihwkit's order (TileWithPeriphery.joint_forward, then the module's
 * out scaling):
 *   forward   x' = clip(x_r, -|rho|, |rho|) / rho      (input range; training: init from data)
 *             y  = tile(x')                             (includes the mapping scales s)
 *             mask = |y / s| >= out_scale out_bound 0.999  (the raw tile output)
 *             p  = y rho                                (y_before_alpha, cached)
 *             out[c block] += p alpha                   (sum over r, then + bias)
 *   backward  dalpha += sum_b dy_c (.) p ;  d = dy_c alpha, zeroed where mask;
 *             z = tile_backward(d) (= dL/dx_r, straight through the clip) ;
 *             drho += the §8.3 gradient from x_r and z ; dx[r block] += z
 *   step      rho by SGD first; then each tile's update with x' = clip(x_r)/rho (new rho)
 *             and d = dy_c alpha (alpha as in backward: it moves only after the tiles);
 *             alpha and the bias by SGD; post-update steps.
 * Sums over the batch are in double, in sample order: bit-identical at any thread count.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "nn/linear_internal.h"

typedef struct aihw_linear_hwa {
  float bound; /* out_scale out_bound 0.999; 0: no mask (FLOATING_POINT, out_bound <= 0) */
  unsigned char *mask; /* [tiles][batch][max_out_block] of the last forward */
  size_t mask_cap;
  int mask_any;
  /* learned output scales */
  int learn, columnwise;
  aihw_nn_param alpha; /* columnwise: [in_splits][out]; else [in_splits][out_splits] */
  double *alpha_grad;  /* [alpha.n] */
  aihw_nn_buffer ypre; /* [in_splits][batch][out]: p of the last forward */
  /* input ranges */
  int ranges;
  aihw_input_range_params ir;
  aihw_nn_param range; /* [tiles] */
  float *range_idx;    /* [tiles]: init-from-data batches so far (aihwkit's float counter) */
  double *range_grad;  /* [tiles] */
  aihw_nn_buffer xw, dw, zw, gw; /* workspaces: x', d, z, float gradients */
} aihw_linear_hwa;

void aihw_linear_hwa_free(aihw_linear_hwa *h) {
  if (h == NULL)
    return;
  aihw_free(h->mask);
  aihw_nn_param_free(&h->alpha);
  aihw_free(h->alpha_grad);
  aihw_nn_buffer_free(&h->ypre);
  aihw_nn_param_free(&h->range);
  aihw_free(h->range_idx);
  aihw_free(h->range_grad);
  aihw_nn_buffer_free(&h->xw);
  aihw_nn_buffer_free(&h->dw);
  aihw_nn_buffer_free(&h->zw);
  aihw_nn_buffer_free(&h->gw);
  aihw_free(h);
}

aihw_status aihw_linear_hwa_init(aihw_module *m, const aihw_tile_config *config) {
  aihw_linear_state *s = m->linear;
  aihw_linear_hwa *h = aihw_calloc_array(1, sizeof *h, "layer periphery");
  if (h == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  s->hwa = h;
  if (s->mapping.handle_output_bound && config->kind != AIHW_TILE_FLOATING_POINT &&
      config->forward.out_bound > 0.0f &&
      isfinite(config->forward.out_bound))
    h->bound = config->forward.out_scale * config->forward.out_bound * 0.999f;
  h->learn = s->mapping.learn_out_scaling;
  h->columnwise = s->mapping.out_scaling_columnwise;
  if (h->learn) {
    const int64_t n = s->in_splits * (h->columnwise ? m->out_features : s->out_splits);
    AIHW_TRY(aihw_nn_param_init(&h->alpha, n, "learned output scales"));
    h->alpha_grad = aihw_calloc_array((size_t)n, sizeof(double), "output scale gradients");
    if (h->alpha_grad == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    aihw_linear_hwa_reset_alpha(s);
  }
  h->ir = s->mapping.input_range;
  h->ranges = h->ir.enable;
  if (h->ranges) {
    const int64_t n = tile_count(s);
    AIHW_TRY(aihw_nn_param_init(&h->range, n, "input ranges"));
    h->range_idx = aihw_calloc_array((size_t)n, sizeof(float), "input range counters");
    h->range_grad = aihw_calloc_array((size_t)n, sizeof(double), "input range gradients");
    if (h->range_idx == NULL || h->range_grad == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    for (int64_t k = 0; k < n; ++k)
      h->range.value[k] = h->ir.init_value;
  }
  return AIHW_OK;
}

int aihw_linear_hwa_active(const aihw_linear_state *s) {
  return s->hwa->learn || s->hwa->ranges;
}

void aihw_linear_hwa_reset_alpha(aihw_linear_state *s) {
  aihw_linear_hwa *h = s->hwa;
  if (h == NULL || !h->learn)
    return;
  for (int64_t k = 0; k < h->alpha.n; ++k)
    h->alpha.value[k] = 1.0f;
}

/* Index into alpha of row i of tile (r, c). */
static int64_t alpha_index(const aihw_linear_state *s, int64_t r, int64_t c, int64_t i) {
  const aihw_linear_hwa *h = s->hwa;
  return h->columnwise ? r * (s->out_starts[s->out_splits - 1] + s->out_sizes[s->out_splits - 1]) +
                             s->out_starts[c] + i
                       : r * s->out_splits + c;
}

float aihw_linear_hwa_alpha(const aihw_linear_state *s, int64_t r, int64_t c, int64_t i) {
  return s->hwa != NULL && s->hwa->learn ? s->hwa->alpha.value[alpha_index(s, r, c, i)] : 1.0f;
}

int aihw_linear_hwa_has_gradients(const aihw_linear_state *s) { return s->acc_rows > 0; }

/* ---- output bound ------------------------------------------------------------------------ */

int aihw_linear_hwa_bound_on(const aihw_linear_state *s) {
  return s->hwa != NULL && s->hwa->bound > 0.0f;
}

void aihw_linear_hwa_forget_bound(aihw_linear_state *s) {
  if (s->hwa != NULL)
    s->hwa->mask_any = 0;
}

aihw_status aihw_linear_hwa_record_bound(aihw_module *m, int64_t r, int64_t c, const float *yc,
                                         int64_t batch) {
  aihw_linear_state *s = m->linear;
  aihw_linear_hwa *h = s->hwa;
  if (h->bound <= 0.0f)
    return AIHW_OK;
  const size_t per_tile = (size_t)batch * (size_t)s->max_out_block;
  if (r == 0 && c == 0) {
    h->mask_any = 0;
    const size_t need = per_tile * (size_t)tile_count(s);
    if (need > h->mask_cap) {
      unsigned char *mask = aihw_alloc_array(need, 1, "output bound mask");
      if (mask == NULL)
        return AIHW_ERR_OUT_OF_MEMORY;
      aihw_free(h->mask);
      h->mask = mask;
      h->mask_cap = need;
    }
  }
  aihw_tile *tile = grid_tile(s, r, c);
  const int64_t n_out = s->out_sizes[c];
  AIHW_TRY(aihw_nn_buffer_reserve(&h->gw, 2 * (size_t)n_out, "tile scales"));
  float *scales = h->gw.data, *drift = h->gw.data + n_out;
  AIHW_TRY(aihw_tile_get_out_scales(tile, scales, n_out));
  AIHW_TRY(aihw_tile_get_drift_alpha(tile, drift, n_out));
  unsigned char *mask = h->mask + (size_t)(r * s->out_splits + c) * per_tile;
  int any = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < n_out; ++i) {
      const float f = scales[i] * drift[i];
      const float raw = f != 0.0f ? yc[b * n_out + i] / f : 0.0f;
      const unsigned char hit = fabsf(raw) >= h->bound;
      mask[b * n_out + i] = hit;
      any |= hit;
    }
  h->mask_any |= any;
  return AIHW_OK;
}

aihw_status aihw_linear_hwa_mask_d(aihw_module *m, int64_t r, int64_t c, const float *dc,
                                   int64_t batch, const float **out) {
  aihw_linear_state *s = m->linear;
  aihw_linear_hwa *h = s->hwa;
  *out = dc;
  if (h->bound <= 0.0f || !h->mask_any)
    return AIHW_OK;
  const int64_t n_out = s->out_sizes[c];
  const size_t n = (size_t)batch * (size_t)n_out;
  const unsigned char *mask =
      h->mask + (size_t)(r * s->out_splits + c) * (size_t)batch * (size_t)s->max_out_block;
  AIHW_TRY(aihw_nn_buffer_reserve(&h->dw, n, "masked gradient"));
  for (size_t k = 0; k < n; ++k)
    h->dw.data[k] = mask[k] ? 0.0f : dc[k];
  *out = h->dw.data;
  return AIHW_OK;
}

/* ---- input range ------------------------------------------------------------------------- */

/* Training forwards: the first init_from_data batches move rho towards init_std_alpha
 * std(x) (unbiased std over the whole block, only when > 0), then rho = |rho|. */
static void init_range_from_data(aihw_linear_hwa *h, int64_t k, const float *x, size_t n) {
  if (h->range_idx[k] >= (float)h->ir.init_from_data)
    return;
  double sum = 0.0, sq = 0.0;
  for (size_t j = 0; j < n; ++j)
    sum += (double)x[j];
  const double mean = n > 0 ? sum / (double)n : 0.0;
  for (size_t j = 0; j < n; ++j)
    sq += ((double)x[j] - mean) * ((double)x[j] - mean);
  const double std = n > 1 ? sqrt(sq / (double)(n - 1)) : NAN;
  float *rho = &h->range.value[k];
  if (std > 0.0) {
    const float idx = h->range_idx[k];
    *rho = (*rho * idx + h->ir.init_std_alpha * (float)std) / (idx + 1.0f);
    h->range_idx[k] = idx + 1.0f;
  }
  *rho = fabsf(*rho);
}

/* x' = clip(x, -|rho|, |rho|) / rho into dst. */
static void clip_normalise(const float *x, size_t n, float rho, float *dst) {
  const float bound = fabsf(rho);
  for (size_t j = 0; j < n; ++j)
    dst[j] = fminf(fmaxf(x[j], -bound), bound) / rho;
}

/* The §8.3 gradient of rho from the raw input x and the input gradient z of one tile. */
static double range_gradient(const aihw_linear_hwa *h, float rho, const float *x, const float *z,
                             size_t n, size_t masked) {
  double g = 0.0;
  size_t inside = 0;
  for (size_t j = 0; j < n; ++j) {
    if (x[j] >= rho)
      g += fmin((double)z[j], 0.0);
    if (x[j] <= -rho)
      g -= fmax((double)z[j], 0.0);
    inside += fabsf(x[j]) < rho;
  }
  if (h->ir.gradient_relative)
    g *= (double)rho * (double)h->ir.gradient_scale;
  if (h->ir.manage_output_clipping && h->bound > 0.0f) {
    /* aihwkit divides the masked output count by the input gradient's size */
    const double pct = 1.0 - (double)masked / (double)n;
    if (pct < (double)h->ir.output_min_percentage)
      g -= (1.0 - pct) * (double)rho;
  }
  if (h->ir.decay > 0.0f && (double)inside / (double)n > (double)h->ir.input_min_percentage)
    g += (double)h->ir.decay * (double)rho;
  return g;
}

/* ---- forward, backward, step ------------------------------------------------------------- */

static void gather(const float *src, int64_t rows, int64_t ld, int64_t start, int64_t n,
                   float *dst) {
  for (int64_t b = 0; b < rows; ++b)
    memcpy(dst + b * n, src + b * ld + start, (size_t)n * sizeof(float));
}

aihw_status aihw_linear_hwa_forward(aihw_module *m, const float *x, int64_t batch, float *y) {
  aihw_linear_state *s = m->linear;
  aihw_linear_hwa *h = s->hwa;
  const int64_t in = m->in_features, out = m->out_features;
  const size_t nb = (size_t)batch;
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_sum, nb * (size_t)out, "layer output"));
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, nb * (size_t)s->max_in_block, "input block"));
  AIHW_TRY(aihw_nn_buffer_reserve(&s->work_b, nb * (size_t)s->max_out_block, "tile output"));
  if (h->ranges)
    AIHW_TRY(aihw_nn_buffer_reserve(&h->xw, nb * (size_t)s->max_in_block, "clipped input"));
  if (h->learn)
    AIHW_TRY(aihw_nn_buffer_reserve(&h->ypre, (size_t)s->in_splits * nb * (size_t)out,
                                    "outputs before the learned scales"));
  float *sum = s->work_sum.data, *yc = s->work_b.data;
  for (int64_t r = 0; r < s->in_splits; ++r) {
    const int64_t n_in = s->in_sizes[r];
    const size_t nx = nb * (size_t)n_in;
    gather(x, batch, in, s->in_starts[r], n_in, s->work_a.data);
    for (int64_t c = 0; c < s->out_splits; ++c) {
      const int64_t k = r * s->out_splits + c, n_out = s->out_sizes[c];
      const float *xin = s->work_a.data;
      float rho = 1.0f;
      if (h->ranges) {
        if (m->training)
          init_range_from_data(h, k, s->work_a.data, nx);
        rho = h->range.value[k];
        clip_normalise(s->work_a.data, nx, rho, h->xw.data);
        xin = h->xw.data;
      }
      AIHW_TRY(aihw_tile_forward(grid_tile(s, r, c), xin, batch, n_in, yc, n_out));
      AIHW_TRY(aihw_linear_hwa_record_bound(m, r, c, yc, batch));
      for (int64_t b = 0; b < batch; ++b)
        for (int64_t i = 0; i < n_out; ++i) {
          const int64_t o = s->out_starts[c] + i;
          float p = yc[b * n_out + i];
          if (h->ranges)
            p *= rho;
          if (h->learn)
            h->ypre.data[((size_t)r * nb + (size_t)b) * (size_t)out + (size_t)o] = p;
          const float v = h->learn ? p * h->alpha.value[alpha_index(s, r, c, i)] : p;
          sum[b * out + o] = r == 0 ? v : sum[b * out + o] + v;
        }
    }
  }
  if (s->bias != NULL)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t i = 0; i < out; ++i)
        sum[b * out + i] += s->bias[i];
  memcpy(y, sum, nb * (size_t)out * sizeof(float));
  return AIHW_OK;
}

aihw_status aihw_linear_hwa_backward(aihw_module *m, const float *dy, int64_t batch,
                                     float *dx) {
  aihw_linear_state *s = m->linear;
  aihw_linear_hwa *h = s->hwa;
  const int64_t in = m->in_features, out = m->out_features;
  const size_t nb = (size_t)batch, rows = (size_t)(s->acc_rows + batch);
  AIHW_TRY(aihw_nn_buffer_grow(&s->acc_x, rows * (size_t)in, (size_t)s->acc_rows * (size_t)in,
                               "accumulated inputs"));
  AIHW_TRY(aihw_nn_buffer_grow(&s->acc_d, rows * (size_t)out, (size_t)s->acc_rows * (size_t)out,
                               "accumulated gradients"));
  const int tiles_needed = dx != NULL || (h->ranges && h->ir.learn_input_range);
  if (tiles_needed) {
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_sum, nb * (size_t)in, "layer input gradient"));
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, nb * (size_t)s->max_in_block, "input block"));
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_b, nb * (size_t)s->max_out_block, "d block"));
    AIHW_TRY(aihw_nn_buffer_reserve(&h->zw, nb * (size_t)s->max_in_block, "tile gradient"));
  }
  /* everything that can fail is reserved: from here on only tiles can fail */
  if (h->learn) /* dL/dalpha from the unmasked dy */
    for (int64_t r = 0; r < s->in_splits; ++r)
      for (int64_t c = 0; c < s->out_splits; ++c)
        for (int64_t i = 0; i < s->out_sizes[c]; ++i) {
          const int64_t o = s->out_starts[c] + i;
          double g = 0.0;
          for (int64_t b = 0; b < batch; ++b)
            g += (double)dy[b * out + o] *
                 (double)h->ypre.data[((size_t)r * nb + (size_t)b) * (size_t)out + (size_t)o];
          h->alpha_grad[alpha_index(s, r, c, i)] += g;
        }
  if (tiles_needed) {
    float *sum = s->work_sum.data;
    for (int64_t c = 0; c < s->out_splits; ++c) {
      const int64_t n_out = s->out_sizes[c];
      for (int64_t r = 0; r < s->in_splits; ++r) {
        const int64_t k = r * s->out_splits + c, n_in = s->in_sizes[r];
        float *d = s->work_b.data;
        gather(dy, batch, out, s->out_starts[c], n_out, d);
        if (h->learn)
          for (int64_t b = 0; b < batch; ++b)
            for (int64_t i = 0; i < n_out; ++i)
              d[b * n_out + i] *= h->alpha.value[alpha_index(s, r, c, i)];
        const float *dm = d;
        AIHW_TRY(aihw_linear_hwa_mask_d(m, r, c, d, batch, &dm));
        AIHW_TRY(aihw_tile_backward(grid_tile(s, r, c), dm, batch, n_out, h->zw.data, n_in));
        if (h->ranges && h->ir.learn_input_range) {
          gather(m->cache.data, batch, in, s->in_starts[r], n_in, s->work_a.data);
          size_t masked = 0;
          if (h->bound > 0.0f && h->mask_any) {
            const unsigned char *mask =
                h->mask + (size_t)k * nb * (size_t)s->max_out_block;
            for (size_t j = 0; j < nb * (size_t)n_out; ++j)
              masked += mask[j];
          }
          h->range_grad[k] += range_gradient(h, h->range.value[k], s->work_a.data, h->zw.data,
                                             nb * (size_t)n_in, masked);
        }
        for (int64_t b = 0; b < batch; ++b) {
          float *dst = sum + b * in + s->in_starts[r];
          const float *src = h->zw.data + b * n_in;
          for (int64_t j = 0; j < n_in; ++j)
            dst[j] = c == 0 ? src[j] : dst[j] + src[j];
        }
      }
    }
    if (dx != NULL)
      memcpy(dx, sum, nb * (size_t)in * sizeof(float));
  }
  memcpy(s->acc_x.data + (size_t)s->acc_rows * (size_t)in, m->cache.data,
         nb * (size_t)in * sizeof(float));
  memcpy(s->acc_d.data + (size_t)s->acc_rows * (size_t)out, dy,
         nb * (size_t)out * sizeof(float));
  s->acc_rows += batch;
  return AIHW_OK;
}

/* SGD on a parameter from a double gradient, which is then cleared. */
static aihw_status param_step(aihw_linear_hwa *h, aihw_nn_param *p, double *grad,
                              const aihw_sgd_params *sgd) {
  AIHW_TRY(aihw_nn_buffer_reserve(&h->gw, (size_t)p->n, "parameter gradient"));
  for (int64_t k = 0; k < p->n; ++k) {
    h->gw.data[k] = (float)grad[k];
    grad[k] = 0.0;
  }
  aihw_nn_param_sgd(p, h->gw.data, sgd);
  return AIHW_OK;
}

aihw_status aihw_linear_hwa_step(aihw_module *m, const aihw_sgd_params *sgd) {
  aihw_linear_state *s = m->linear;
  aihw_linear_hwa *h = s->hwa;
  const int64_t in = m->in_features, out = m->out_features, rows = s->acc_rows;
  if (rows > 0) {
    const size_t nr = (size_t)rows;
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_a, nr * (size_t)s->max_in_block, "x block"));
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_b, nr * (size_t)s->max_out_block, "d block"));
    AIHW_TRY(aihw_nn_buffer_reserve(&s->work_sum, (size_t)out, "tile scales"));
    if (h->ranges)
      AIHW_TRY(aihw_nn_buffer_reserve(&h->xw, nr * (size_t)s->max_in_block, "clipped input"));
    size_t gmax = (size_t)out;
    if (h->learn && (size_t)h->alpha.n > gmax)
      gmax = (size_t)h->alpha.n;
    if (h->ranges && (size_t)h->range.n > gmax)
      gmax = (size_t)h->range.n;
    AIHW_TRY(aihw_nn_buffer_reserve(&h->gw, gmax, "parameter gradient"));
    if (h->ranges && h->ir.learn_input_range) /* digital parameters first, as aihwkit */
      AIHW_TRY(param_step(h, &h->range, h->range_grad, sgd));
    const int lr_compensation =
        s->mapping.weight_scaling_omega > 0.0f && s->mapping.weight_scaling_lr_compensation;
    for (int64_t r = 0; r < s->in_splits; ++r) {
      const int64_t n_in = s->in_sizes[r];
      gather(s->acc_x.data, rows, in, s->in_starts[r], n_in, s->work_a.data);
      for (int64_t c = 0; c < s->out_splits; ++c) {
        const int64_t k = r * s->out_splits + c, n_out = s->out_sizes[c];
        aihw_tile *tile = grid_tile(s, r, c);
        const float *xr = s->work_a.data;
        if (h->ranges) {
          clip_normalise(s->work_a.data, nr * (size_t)n_in, h->range.value[k], h->xw.data);
          xr = h->xw.data;
        }
        float *dc = s->work_b.data;
        gather(s->acc_d.data, rows, out, s->out_starts[c], n_out, dc);
        if (h->learn)
          for (int64_t b = 0; b < rows; ++b)
            for (int64_t i = 0; i < n_out; ++i)
              dc[b * n_out + i] *= h->alpha.value[alpha_index(s, r, c, i)];
        AIHW_TRY(aihw_linear_update_tile(s, tile, xr, rows, n_in, dc, n_out, sgd->lr,
                                         lr_compensation));
      }
    }
    if (h->learn)
      AIHW_TRY(param_step(h, &h->alpha, h->alpha_grad, sgd));
    aihw_linear_step_bias(m, sgd, h->gw.data);
  }
  return aihw_linear_post_update(s);
}

/* ---- accessors ------------------------------------------------------------------------------ */

static aihw_status check_values(const aihw_module *m, const char *fn, int want_alpha, int64_t n,
                                const void *ptr) {
  if (m == NULL || ptr == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  if (m->kind != AIHW_MODULE_LINEAR || m->linear == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is not LINEAR (kind %d)", fn,
                      (int)m->kind);
  const aihw_linear_hwa *h = m->linear->hwa;
  if (want_alpha ? !h->learn : !h->ranges)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: the layer has no %s", fn,
                      want_alpha ? "learned output scales (mapping.learn_out_scaling = 0)"
                                 : "input ranges (mapping.input_range.enable = 0)");
  const int64_t have = want_alpha ? h->alpha.n : h->range.n;
  if (n != have)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: n = %lld: the layer has %lld values", fn,
                      (long long)n, (long long)have);
  return AIHW_OK;
}

static aihw_status count_of(const aihw_module *m, int want_alpha, int64_t *count) {
  if (count != NULL && m != NULL && m->kind == AIHW_MODULE_LINEAR && m->linear != NULL) {
    const aihw_linear_hwa *h = m->linear->hwa;
    *count = want_alpha ? (h->learn ? h->alpha.n : 0) : (h->ranges ? h->range.n : 0);
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_linear_get_out_scaling(const aihw_module *module, float *alpha,
                                                 int64_t n, int64_t *count) {
  count_of(module, 1, count);
  if (alpha == NULL && count != NULL && module != NULL)
    return AIHW_OK; /* a size query */
  AIHW_TRY(check_values(module, "aihw_linear_get_out_scaling", 1, n, alpha));
  memcpy(alpha, module->linear->hwa->alpha.value, (size_t)n * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_linear_set_out_scaling(aihw_module *module, const float *alpha,
                                                 int64_t n) {
  static const char *fn = "aihw_linear_set_out_scaling";
  AIHW_TRY(check_values(module, fn, 1, n, alpha));
  for (int64_t k = 0; k < n; ++k)
    if (!isfinite(alpha[k]))
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: alpha[%lld] = %g: must be finite", fn,
                        (long long)k, (double)alpha[k]);
  memcpy(module->linear->hwa->alpha.value, alpha, (size_t)n * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_linear_get_input_range(const aihw_module *module, float *ranges,
                                                 int64_t n, int64_t *count) {
  count_of(module, 0, count);
  if (ranges == NULL && count != NULL && module != NULL)
    return AIHW_OK;
  AIHW_TRY(check_values(module, "aihw_linear_get_input_range", 0, n, ranges));
  memcpy(ranges, module->linear->hwa->range.value, (size_t)n * sizeof(float));
  return AIHW_OK;
}

AIHW_API aihw_status aihw_linear_set_input_range(aihw_module *module, const float *ranges,
                                                 int64_t n) {
  static const char *fn = "aihw_linear_set_input_range";
  AIHW_TRY(check_values(module, fn, 0, n, ranges));
  for (int64_t k = 0; k < n; ++k)
    if (!isfinite(ranges[k]) || ranges[k] == 0.0f)
      return aihw_error(isfinite(ranges[k]) ? AIHW_ERR_INVALID_ARGUMENT : AIHW_ERR_NOT_FINITE,
                        "%s: ranges[%lld] = %g: must be finite and non-zero", fn, (long long)k,
                        (double)ranges[k]);
  memcpy(module->linear->hwa->range.value, ranges, (size_t)n * sizeof(float));
  return AIHW_OK;
}

/* ---- state ---------------------------------------------------------------------------------- */

static int join(char *buf, size_t size, const char *prefix, const char *name) {
  const int n = snprintf(buf, size, "%s%s", prefix, name);
  return n >= 0 && (size_t)n < size;
}

static aihw_status too_long(const char *prefix) {
  return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "module state: tensor path '%s...' is too long",
                    prefix);
}

aihw_status aihw_linear_hwa_export(const aihw_module *m, aihw_st_dict *dict,
                                   const char *prefix) {
  const aihw_linear_hwa *h = m->linear->hwa;
  char name[600];
  if (h->learn) {
    if (!join(name, sizeof name, prefix, "out_scaling_alpha"))
      return too_long(prefix);
    const size_t shape[1] = {(size_t)h->alpha.n};
    AIHW_TRY(aihw_st_dict_add(dict, name, AIHW_ST_F32, shape, 1, h->alpha.value));
    AIHW_TRY(aihw_nn_param_export(&h->alpha, dict, name));
  }
  if (h->ranges) {
    const size_t shape[1] = {(size_t)h->range.n};
    if (!join(name, sizeof name, prefix, "input_range"))
      return too_long(prefix);
    AIHW_TRY(aihw_st_dict_add(dict, name, AIHW_ST_F32, shape, 1, h->range.value));
    AIHW_TRY(aihw_nn_param_export(&h->range, dict, name));
    if (!join(name, sizeof name, prefix, "input_range_update_idx"))
      return too_long(prefix);
    AIHW_TRY(aihw_st_dict_add(dict, name, AIHW_ST_F32, shape, 1, h->range_idx));
  }
  return AIHW_OK;
}

aihw_status aihw_linear_hwa_prepare(aihw_module *m, aihw_nn_import *im, const char *prefix) {
  aihw_linear_hwa *h = m->linear->hwa;
  char name[600];
  if (h->learn) {
    if (!join(name, sizeof name, prefix, "out_scaling_alpha"))
      return too_long(prefix);
    const size_t shape[1] = {(size_t)h->alpha.n};
    AIHW_TRY(aihw_nn_import_f32(im, name, shape, 1, h->alpha.value));
    AIHW_TRY(aihw_nn_param_prepare_momentum(&h->alpha, im, name));
  }
  if (h->ranges) {
    const size_t shape[1] = {(size_t)h->range.n};
    if (!join(name, sizeof name, prefix, "input_range"))
      return too_long(prefix);
    const float *stored = NULL;
    aihw_st_tensor t;
    if (aihw_st_dict_contains(im->dict, name) &&
        aihw_st_dict_get_f32(im->dict, name, &stored, &t) == AIHW_OK && t.numel == shape[0])
      for (size_t k = 0; k < shape[0]; ++k)
        if (stored[k] == 0.0f) /* x' = clip(x) / r */
          return aihw_error(AIHW_ERR_FORMAT, "tensor '%s': element %zu is 0: an input range "
                                             "must be non-zero", name, k);
    AIHW_TRY(aihw_nn_import_f32(im, name, shape, 1, h->range.value));
    AIHW_TRY(aihw_nn_param_prepare_momentum(&h->range, im, name));
    if (!join(name, sizeof name, prefix, "input_range_update_idx"))
      return too_long(prefix);
    AIHW_TRY(aihw_nn_import_f32(im, name, shape, 1, h->range_idx));
  }
  return AIHW_OK;
}
