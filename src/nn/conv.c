/* CONV1D / CONV2D modules: analog convolutions as im2col + tile MVM (reference §7.4,
 * aihwkit AnalogConv1d/2d on the unfold path).
 *
 * Each group g is an internal LINEAR module of patch = in_channels/groups kh kw inputs
 * and out_channels/groups outputs (linear.c: tile grid, mapping, bias, weight scaling, init
 * U(-1/sqrt(patch), 1/sqrt(patch)) = torch's conv init). Conv1d is Conv2d with height 1.
 *
 * Forward: the input of group g is unfolded into the LINEAR's cache as rows
 * U[n L + l][c kh kw + i kw + j] = x[n][(g cin + c) H W + ih W + iw] (zero outside the
 * image), l = oh out_w + ow, ih = oh sh - ph + i dh, iw = ow sw - pw + j dw: torch's unfold
 * order, so the tile holds weight.view(out, -1) and each output position is one
 * independent MVM sample (own noise management), as aihwkit's unfold path. The tile
 * output Y[n L + l][o] goes to y[n][(g cout + o) L + l] (NCHW).
 * Backward: dy is gathered into D[n L + l][o], the LINEAR's backward gives dU, which is
 * folded back (col2im: += into the input positions, in row then column order, per sample)
 * and the LINEAR records (U, D) for the step, so the step updates each tile once with all
 * N L rows of all accumulated samples (aihwkit's m_batch = N L for the update). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/module_internal.h"

struct aihw_conv_state {
  aihw_conv_params params;        /* as given to the constructor */
  int64_t kh, kw, sh, sw, ph, pw, dh, dw; /* 2-D view (Conv1d: height 1) */
  int64_t in_h, in_w, out_h, out_w;
  int64_t groups, cin_g, cout_g, patch;
  aihw_module **group;       /* LINEAR per group */
  aihw_nn_buffer rows, grad; /* tile output / gathered d; tile input gradient */
};

void aihw_conv_state_free(aihw_conv_state *s) {
  if (s == NULL)
    return;
  if (s->group != NULL)
    for (int64_t g = 0; g < s->groups; ++g)
      aihw_module_destroy(s->group[g]);
  aihw_free(s->group);
  aihw_nn_buffer_free(&s->rows);
  aihw_nn_buffer_free(&s->grad);
  aihw_free(s);
}

static int is_conv(const aihw_module *m) {
  return m != NULL && (m->kind == AIHW_MODULE_CONV1D || m->kind == AIHW_MODULE_CONV2D) &&
         m->conv != NULL;
}

static aihw_status check_conv(const aihw_module *m, const char *fn) {
  if (m == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: module is NULL", fn);
  if (!is_conv(m))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: module is not a convolution (CONV1D or CONV2D; kind %d)", fn,
                      (int)m->kind);
  return AIHW_OK;
}

int64_t aihw_conv_group_count(const aihw_module *m) { return m->conv->groups; }

AIHW_API aihw_module *aihw_conv_group(const aihw_module *module, int64_t group) {
  if (!is_conv(module) || group < 0 || group >= module->conv->groups)
    return NULL;
  return module->conv->group[group];
}

/* ---- Parameters --------------------------------------------------------------------- */

AIHW_API aihw_conv_params aihw_conv_params_default(int64_t in_channels, int64_t out_channels,
                                                   int64_t kernel_size) {
  aihw_conv_params p;
  memset(&p, 0, sizeof p);
  p.in_channels = in_channels;
  p.out_channels = out_channels;
  p.kernel[0] = p.kernel[1] = kernel_size;
  p.stride[0] = p.stride[1] = 1;
  p.dilation[0] = p.dilation[1] = 1;
  p.groups = 1;
  p.bias = 1;
  return p;
}

AIHW_API int64_t aihw_conv_output_size(int64_t in, int64_t kernel, int64_t stride,
                                       int64_t padding, int64_t dilation) {
  const int64_t lim = 0x7fffffff;
  if (in < 1 || in > lim || kernel < 1 || kernel > lim || stride < 1 || stride > lim ||
      padding < 0 || padding > lim || dilation < 1 || dilation > lim)
    return -1;
  const int64_t span = dilation * (kernel - 1) + 1, padded = in + 2 * padding;
  if (span > padded)
    return -1;
  return (padded - span) / stride + 1;
}

/* Checks the axes [0, dims) of p against the input sizes in[]; names the fields. */
static aihw_status validate(const aihw_conv_params *p, int dims, const int64_t *in,
                            const char *const *in_names, const char *fn) {
  const int64_t lim = 0x7fffffff;
  if (p->in_channels < 1 || p->in_channels > lim || p->out_channels < 1 ||
      p->out_channels > lim)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: in_channels = %lld, out_channels = %lld: must be in 1 .. 2^31-1", fn,
                      (long long)p->in_channels, (long long)p->out_channels);
  if (p->groups < 1 || p->groups > lim)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: groups = %lld: must be >= 1", fn,
                      (long long)p->groups);
  if (p->in_channels % p->groups != 0 || p->out_channels % p->groups != 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: %s = %lld is not divisible by groups = %lld", fn,
                      p->in_channels % p->groups != 0 ? "in_channels" : "out_channels",
                      (long long)(p->in_channels % p->groups != 0 ? p->in_channels
                                                                  : p->out_channels),
                      (long long)p->groups);
  if (p->bias != 0 && p->bias != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: bias = %d: must be 0 or 1", fn, p->bias);
  for (int a = 0; a < dims; ++a) {
    if (in[a] < 1 || in[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s = %lld: must be in 1 .. 2^31-1", fn,
                        in_names[a], (long long)in[a]);
    if (p->kernel[a] < 1 || p->kernel[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: kernel[%d] = %lld: must be >= 1", fn,
                        a, (long long)p->kernel[a]);
    if (p->stride[a] < 1 || p->stride[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: stride[%d] = %lld: must be >= 1", fn,
                        a, (long long)p->stride[a]);
    if (p->padding[a] < 0 || p->padding[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: padding[%d] = %lld: must be >= 0", fn,
                        a, (long long)p->padding[a]);
    if (p->dilation[a] < 1 || p->dilation[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: dilation[%d] = %lld: must be >= 1",
                        fn, a, (long long)p->dilation[a]);
    if (aihw_conv_output_size(in[a], p->kernel[a], p->stride[a], p->padding[a],
                              p->dilation[a]) < 1)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s: kernel[%d] = %lld with dilation[%d] = %lld spans %lld inputs, more "
                        "than the padded %s (%lld + 2 x padding[%d] %lld)",
                        fn, a, (long long)p->kernel[a], a, (long long)p->dilation[a],
                        (long long)(p->dilation[a] * (p->kernel[a] - 1) + 1), in_names[a],
                        (long long)in[a], a, (long long)p->padding[a]);
  }
  return AIHW_OK;
}

/* ---- Construction ------------------------------------------------------------------- */

static aihw_status create(aihw_module_kind kind, const aihw_tile_config *config,
                          const aihw_mapping_params *mapping, const aihw_conv_params *p,
                          const int64_t k2[8], int64_t in_h, int64_t in_w, const char *fn,
                          aihw_module **out) {
  const int64_t lim = 0x7fffffff;
  const int64_t out_h = aihw_conv_output_size(in_h, k2[0], k2[2], k2[4], k2[6]);
  const int64_t out_w = aihw_conv_output_size(in_w, k2[1], k2[3], k2[5], k2[7]);
  const int64_t cin_g = p->in_channels / p->groups, cout_g = p->out_channels / p->groups;
  /* products in double first: all factors are < 2^31 */
  const double patch = (double)cin_g * (double)k2[0] * (double)k2[1];
  const double in_f = (double)p->in_channels * (double)in_h * (double)in_w;
  const double out_f = (double)p->out_channels * (double)out_h * (double)out_w;
  if (patch > (double)lim || in_f > (double)lim || out_f > (double)lim)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: too large: in_channels/groups x kernel = %.0f, input features = "
                      "%.0f, output features = %.0f: each must be <= 2^31-1",
                      fn, patch, in_f, out_f);
  aihw_module *m = aihw_calloc_array(1, sizeof *m, "convolution module");
  if (m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  m->kind = kind;
  m->in_features = (int64_t)in_f;
  m->out_features = (int64_t)out_f;
  aihw_status st = AIHW_ERR_OUT_OF_MEMORY;
  aihw_conv_state *s = aihw_calloc_array(1, sizeof *s, "convolution layer");
  if (s == NULL)
    goto fail;
  m->conv = s;
  s->params = *p;
  s->kh = k2[0], s->kw = k2[1], s->sh = k2[2], s->sw = k2[3];
  s->ph = k2[4], s->pw = k2[5], s->dh = k2[6], s->dw = k2[7];
  s->in_h = in_h, s->in_w = in_w, s->out_h = out_h, s->out_w = out_w;
  s->groups = p->groups, s->cin_g = cin_g, s->cout_g = cout_g, s->patch = (int64_t)patch;
  s->group = aihw_calloc_array((size_t)s->groups, sizeof *s->group, "convolution groups");
  if (s->group == NULL)
    goto fail;
  aihw_tile_config tc = *config;
  for (int64_t g = 0; g < s->groups; ++g) {
    st = aihw_linear_create(&tc, mapping, s->patch, cout_g, p->bias, &s->group[g]);
    if (st != AIHW_OK) {
      char prefix[96];
      snprintf(prefix, sizeof prefix, "%s: group %lld", fn, (long long)g);
      st = aihw_nn_wrap_error(st, prefix);
      goto fail;
    }
    int64_t r = 0, c = 0;
    (void)aihw_linear_tile_grid(s->group[g], &r, &c);
    tc.tile_id += (uint32_t)(r * c);
  }
  *out = m;
  return AIHW_OK;
fail:
  aihw_module_destroy(m);
  return st;
}

AIHW_API aihw_status aihw_conv2d_create(const aihw_tile_config *config,
                                        const aihw_mapping_params *mapping,
                                        const aihw_conv_params *params, int64_t in_h,
                                        int64_t in_w, aihw_module **out) {
  static const char *fn = "aihw_conv2d_create";
  static const char *const names[2] = {"in_h", "in_w"};
  if (config == NULL || params == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  const int64_t in[2] = {in_h, in_w};
  AIHW_TRY(validate(params, 2, in, names, fn));
  const int64_t k2[8] = {params->kernel[0],  params->kernel[1],   params->stride[0],
                         params->stride[1],  params->padding[0],  params->padding[1],
                         params->dilation[0], params->dilation[1]};
  return create(AIHW_MODULE_CONV2D, config, mapping, params, k2, in_h, in_w, fn, out);
}

AIHW_API aihw_status aihw_conv1d_create(const aihw_tile_config *config,
                                        const aihw_mapping_params *mapping,
                                        const aihw_conv_params *params, int64_t in_len,
                                        aihw_module **out) {
  static const char *fn = "aihw_conv1d_create";
  static const char *const names[1] = {"in_len"};
  if (config == NULL || params == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  AIHW_TRY(validate(params, 1, &in_len, names, fn));
  const int64_t k2[8] = {1, params->kernel[0], 1, params->stride[0],
                         0, params->padding[0], 1, params->dilation[0]};
  return create(AIHW_MODULE_CONV1D, config, mapping, params, k2, 1, in_len, fn, out);
}

AIHW_API aihw_status aihw_conv_geometry(const aihw_module *module, aihw_conv_params *params,
                                        int64_t *in_h, int64_t *in_w, int64_t *out_h,
                                        int64_t *out_w) {
  AIHW_TRY(check_conv(module, "aihw_conv_geometry"));
  const aihw_conv_state *s = module->conv;
  if (params != NULL)
    *params = s->params;
  if (in_h != NULL)
    *in_h = s->in_h;
  if (in_w != NULL)
    *in_w = s->in_w;
  if (out_h != NULL)
    *out_h = s->out_h;
  if (out_w != NULL)
    *out_w = s->out_w;
  return AIHW_OK;
}

/* ---- Weights ------------------------------------------------------------------------ */

/* Names element k of the torch weight tensor into buf. */
static void weight_index(const aihw_conv_state *s, int conv1d, int64_t k, char *buf,
                         size_t size) {
  const int64_t kk = s->kh * s->kw, j = k % s->kw, i = (k / s->kw) % s->kh;
  const int64_t c = (k / kk) % s->cin_g, o = k / s->patch;
  if (conv1d)
    snprintf(buf, size, "w[%lld][%lld][%lld]", (long long)o, (long long)c, (long long)j);
  else
    snprintf(buf, size, "w[%lld][%lld][%lld][%lld]", (long long)o, (long long)c, (long long)i,
             (long long)j);
}

AIHW_API aihw_status aihw_conv_set_weights(aihw_module *module, const float *w,
                                           const float *b, int force_exact) {
  static const char *fn = "aihw_conv_set_weights";
  AIHW_TRY(check_conv(module, fn));
  aihw_conv_state *s = module->conv;
  if (w == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: weights are NULL", fn);
  if (b != NULL && !s->params.bias)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: the layer has no bias: pass NULL for the bias", fn);
  if (force_exact != 0 && force_exact != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: force_exact = %d: must be 0 or 1", fn,
                      force_exact);
  const int64_t out = s->params.out_channels, n = out * s->patch;
  for (int64_t k = 0; k < n; ++k)
    if (!isfinite(w[k])) {
      char name[96];
      weight_index(s, module->kind == AIHW_MODULE_CONV1D, k, name, sizeof name);
      return aihw_error(AIHW_ERR_NOT_FINITE, "%s: %s = %g: must be finite", fn, name,
                        (double)w[k]);
    }
  if (b != NULL)
    for (int64_t i = 0; i < out; ++i)
      if (!isfinite(b[i]))
        return aihw_error(AIHW_ERR_NOT_FINITE, "%s: b[%lld] = %g: must be finite", fn,
                          (long long)i, (double)b[i]);
  /* the groups share one tile kind: the first refusal (realistic weights) comes before any
   * write */
  for (int64_t g = 0; g < s->groups; ++g) {
    aihw_status st = aihw_linear_set_weights(s->group[g], w + g * s->cout_g * s->patch,
                                             b != NULL ? b + g * s->cout_g : NULL, force_exact);
    if (st != AIHW_OK) {
      char prefix[64];
      snprintf(prefix, sizeof prefix, "%s: group %lld", fn, (long long)g);
      return aihw_nn_wrap_error(st, prefix);
    }
  }
  return AIHW_OK;
}

AIHW_API aihw_status aihw_conv_get_weights(const aihw_module *module, float *w, float *b,
                                           int force_exact) {
  static const char *fn = "aihw_conv_get_weights";
  AIHW_TRY(check_conv(module, fn));
  const aihw_conv_state *s = module->conv;
  if (b != NULL && !s->params.bias)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: the layer has no bias: pass NULL for the bias", fn);
  for (int64_t g = 0; g < s->groups; ++g) {
    aihw_status st =
        aihw_linear_get_weights(s->group[g], w != NULL ? w + g * s->cout_g * s->patch : NULL,
                                b != NULL ? b + g * s->cout_g : NULL, force_exact);
    if (st != AIHW_OK) {
      char prefix[64];
      snprintf(prefix, sizeof prefix, "%s: group %lld", fn, (long long)g);
      return aihw_nn_wrap_error(st, prefix);
    }
  }
  return AIHW_OK;
}

/* ---- im2col / col2im ---------------------------------------------------------------- */

/* u[l][patch] of sample x (channels of group g) for every output position l. */
static void unfold_sample(const aihw_conv_state *s, const float *x, int64_t g, float *u) {
  const int64_t hw = s->in_h * s->in_w;
  for (int64_t oh = 0; oh < s->out_h; ++oh)
    for (int64_t ow = 0; ow < s->out_w; ++ow) {
      float *row = u + (oh * s->out_w + ow) * s->patch;
      for (int64_t c = 0; c < s->cin_g; ++c) {
        const float *xc = x + (g * s->cin_g + c) * hw;
        for (int64_t i = 0; i < s->kh; ++i) {
          const int64_t ih = oh * s->sh - s->ph + i * s->dh;
          float *r = row + (c * s->kh + i) * s->kw;
          if (ih < 0 || ih >= s->in_h) {
            memset(r, 0, (size_t)s->kw * sizeof(float));
            continue;
          }
          const float *xr = xc + ih * s->in_w;
          for (int64_t j = 0; j < s->kw; ++j) {
            const int64_t iw = ow * s->sw - s->pw + j * s->dw;
            r[j] = iw >= 0 && iw < s->in_w ? xr[iw] : 0.0f;
          }
        }
      }
    }
}

/* dx (channels of group g of one sample) += fold(du[l][patch]), in l then column order. */
static void fold_sample(const aihw_conv_state *s, const float *du, int64_t g, float *dx) {
  const int64_t hw = s->in_h * s->in_w;
  for (int64_t oh = 0; oh < s->out_h; ++oh)
    for (int64_t ow = 0; ow < s->out_w; ++ow) {
      const float *row = du + (oh * s->out_w + ow) * s->patch;
      for (int64_t c = 0; c < s->cin_g; ++c) {
        float *xc = dx + (g * s->cin_g + c) * hw;
        for (int64_t i = 0; i < s->kh; ++i) {
          const int64_t ih = oh * s->sh - s->ph + i * s->dh;
          if (ih < 0 || ih >= s->in_h)
            continue;
          const float *r = row + (c * s->kh + i) * s->kw;
          float *xr = xc + ih * s->in_w;
          for (int64_t j = 0; j < s->kw; ++j) {
            const int64_t iw = ow * s->sw - s->pw + j * s->dw;
            if (iw >= 0 && iw < s->in_w)
              xr[iw] += r[j];
          }
        }
      }
    }
}

static aihw_status check_rows(const aihw_conv_state *s, int64_t batch, int64_t *rows) {
  const int64_t positions = s->out_h * s->out_w;
  if ((double)batch * (double)positions > 2147483647.0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "batch = %lld x %lld output positions = %.0f tile rows: must be <= "
                      "2^31-1; split the batch",
                      (long long)batch, (long long)positions,
                      (double)batch * (double)positions);
  *rows = batch * positions;
  return AIHW_OK;
}

/* ---- Forward, backward, step -------------------------------------------------------- */

aihw_status aihw_conv_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y) {
  aihw_conv_state *s = m->conv;
  int64_t rows = 0;
  AIHW_TRY(check_rows(s, batch, &rows));
  const int64_t L = s->out_h * s->out_w, cout = s->params.out_channels;
  const size_t nr = (size_t)rows;
  AIHW_TRY(aihw_nn_buffer_reserve(&s->rows, nr * (size_t)s->cout_g, "convolution output"));
  for (int64_t g = 0; g < s->groups; ++g) {
    aihw_module *lin = s->group[g];
    lin->cached_batch = 0;
    AIHW_TRY(aihw_nn_buffer_reserve(&lin->cache, nr * (size_t)s->patch, "unfolded input"));
    float *u = lin->cache.data;
#pragma omp parallel for schedule(static) if (batch > 1 && rows * s->patch > 65536)
    for (int64_t n = 0; n < batch; ++n)
      unfold_sample(s, x + n * m->in_features, g, u + n * L * s->patch);
    aihw_status st = aihw_linear_forward_impl(lin, u, rows, s->rows.data);
    if (st != AIHW_OK) {
      char prefix[48];
      snprintf(prefix, sizeof prefix, "group %lld", (long long)g);
      return aihw_nn_wrap_error(st, prefix);
    }
    lin->cached_batch = rows;
    const float *yt = s->rows.data;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t l = 0; l < L; ++l) {
        const float *src = yt + (n * L + l) * s->cout_g;
        float *dst = y + n * cout * L + g * s->cout_g * L + l;
        for (int64_t o = 0; o < s->cout_g; ++o)
          dst[o * L] = src[o];
      }
  }
  return AIHW_OK;
}

aihw_status aihw_conv_backward_impl(aihw_module *m, const float *dy, int64_t batch,
                                    float *dx) {
  aihw_conv_state *s = m->conv;
  int64_t rows = 0;
  AIHW_TRY(check_rows(s, batch, &rows));
  const int64_t L = s->out_h * s->out_w, cout = s->params.out_channels;
  const size_t nr = (size_t)rows;
  for (int64_t g = 0; g < s->groups; ++g)
    if (s->group[g]->cached_batch != rows)
      return aihw_error(AIHW_ERR_STATE, "group %lld has no unfolded input of this batch",
                        (long long)g);
  AIHW_TRY(aihw_nn_buffer_reserve(&s->rows, nr * (size_t)s->cout_g, "convolution gradient"));
  if (dx != NULL) {
    AIHW_TRY(aihw_nn_buffer_reserve(&s->grad, nr * (size_t)s->patch, "unfolded gradient"));
    memset(dx, 0, (size_t)batch * (size_t)m->in_features * sizeof(float));
  }
  for (int64_t g = 0; g < s->groups; ++g) {
    aihw_module *lin = s->group[g];
    float *d = s->rows.data;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t l = 0; l < L; ++l) {
        const float *src = dy + n * cout * L + g * s->cout_g * L + l;
        float *dst = d + (n * L + l) * s->cout_g;
        for (int64_t o = 0; o < s->cout_g; ++o)
          dst[o] = src[o * L];
      }
    aihw_status st =
        aihw_linear_backward_impl(lin, d, rows, dx != NULL ? s->grad.data : NULL);
    if (st != AIHW_OK) {
      char prefix[48];
      snprintf(prefix, sizeof prefix, "group %lld", (long long)g);
      return aihw_nn_wrap_error(st, prefix);
    }
    lin->cached_batch = 0;
    if (dx != NULL) {
      const float *du = s->grad.data;
#pragma omp parallel for schedule(static) if (batch > 1 && rows * s->patch > 65536)
      for (int64_t n = 0; n < batch; ++n)
        fold_sample(s, du + n * L * s->patch, g, dx + n * m->in_features);
    }
  }
  return AIHW_OK;
}

int aihw_conv_has_gradients(const aihw_module *m) {
  for (int64_t g = 0; g < m->conv->groups; ++g)
    if (aihw_linear_has_gradients(m->conv->group[g]))
      return 1;
  return 0;
}

static aihw_status wrap_group(aihw_status st, int64_t g) {
  if (st == AIHW_OK)
    return st;
  char prefix[48];
  snprintf(prefix, sizeof prefix, "group %lld", (long long)g);
  return aihw_nn_wrap_error(st, prefix);
}

aihw_status aihw_conv_step_impl(aihw_module *m, const aihw_sgd_params *sgd) {
  for (int64_t g = 0; g < m->conv->groups; ++g)
    AIHW_TRY(wrap_group(aihw_linear_step_impl(m->conv->group[g], sgd), g));
  return AIHW_OK;
}

aihw_status aihw_conv_set_training_impl(aihw_module *m, int training) {
  for (int64_t g = 0; g < m->conv->groups; ++g) {
    m->conv->group[g]->training = training;
    AIHW_TRY(wrap_group(aihw_linear_set_training_impl(m->conv->group[g], training), g));
  }
  return AIHW_OK;
}

aihw_status aihw_conv_program_impl(aihw_module *m, int program, float t_inference_s) {
  for (int64_t g = 0; g < m->conv->groups; ++g)
    AIHW_TRY(
        wrap_group(aihw_linear_program_impl(m->conv->group[g], program, t_inference_s), g));
  return AIHW_OK;
}
