/* MAXPOOL2D / AVGPOOL2D modules: digital pooling over [channels][H][W] samples, as torch's
 * MaxPool2d / AvgPool2d with ceil_mode = false.
 *
 * Window (oh, ow) covers rows oh sh - ph .. + kh - 1 and columns ow sw - pw .. + kw - 1.
 * Max: the padding is -inf, so (padding <= kernel / 2 keeps a real element in every
 * window) the maximum is over the window's real elements; the first maximum in row-major
 * order wins (torch's `val > max` scan) and gets the whole gradient; its input index is
 * cached by forward. Average: count_include_pad = true, and without ceil_mode no window
 * reaches past the padded input, so every window divides by kh kw (torch's divisor). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/module_internal.h"

struct aihw_pool_state {
  int64_t channels, in_h, in_w, out_h, out_w;
  int64_t kh, kw, sh, sw, ph, pw;
  int32_t *argmax; /* MAXPOOL2D: input index (within the sample) per output, last forward */
  size_t argmax_capacity;
};

void aihw_pool_state_free(aihw_pool_state *s) {
  if (s == NULL)
    return;
  aihw_free(s->argmax);
  aihw_free(s);
}

AIHW_API aihw_status aihw_pool2d_create(aihw_module_kind kind, int64_t channels, int64_t in_h,
                                        int64_t in_w, const int64_t kernel[2],
                                        const int64_t stride[2], const int64_t padding[2],
                                        aihw_module **out) {
  static const char *fn = "aihw_pool2d_create";
  static const char *const in_names[2] = {"in_h", "in_w"};
  const int64_t lim = 0x7fffffff;
  if (out == NULL || kernel == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      out == NULL ? "out" : "kernel");
  if (kind != AIHW_MODULE_MAXPOOL2D && kind != AIHW_MODULE_AVGPOOL2D)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: kind %d is not a pooling kind (MAXPOOL2D, AVGPOOL2D)", fn, (int)kind);
  if (channels < 1 || channels > lim)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: channels = %lld: must be in 1 .. 2^31-1",
                      fn, (long long)channels);
  const int64_t in[2] = {in_h, in_w};
  int64_t k[2], s[2], p[2], o[2];
  for (int a = 0; a < 2; ++a) {
    k[a] = kernel[a];
    s[a] = stride != NULL && stride[a] != 0 ? stride[a] : kernel[a];
    p[a] = padding != NULL ? padding[a] : 0;
    if (in[a] < 1 || in[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s = %lld: must be in 1 .. 2^31-1", fn,
                        in_names[a], (long long)in[a]);
    if (k[a] < 1 || k[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: kernel[%d] = %lld: must be >= 1", fn, a,
                        (long long)k[a]);
    if (s[a] < 1 || s[a] > lim)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s: stride[%d] = %lld: must be >= 1 (0: the kernel size)", fn, a,
                        (long long)s[a]);
    if (p[a] < 0 || p[a] > k[a] / 2)
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s: padding[%d] = %lld: must be in 0 .. kernel[%d] / 2 = %lld", fn, a,
                        (long long)p[a], a, (long long)(k[a] / 2));
    if (k[a] > in[a] + 2 * p[a])
      return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                        "%s: kernel[%d] = %lld is larger than the padded %s (%lld + 2 x "
                        "padding[%d] %lld)",
                        fn, a, (long long)k[a], in_names[a], (long long)in[a], a,
                        (long long)p[a]);
    o[a] = (in[a] + 2 * p[a] - k[a]) / s[a] + 1;
  }
  const double in_f = (double)channels * (double)in_h * (double)in_w;
  if (in_f > (double)lim)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: channels x in_h x in_w = %.0f: must be <= 2^31-1", fn, in_f);
  aihw_module *m = aihw_calloc_array(1, sizeof *m, "pooling module");
  if (m == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  aihw_pool_state *ps = aihw_calloc_array(1, sizeof *ps, "pooling layer");
  if (ps == NULL) {
    aihw_free(m);
    return AIHW_ERR_OUT_OF_MEMORY;
  }
  m->kind = kind;
  m->pool = ps;
  m->in_features = (int64_t)in_f;
  m->out_features = channels * o[0] * o[1];
  ps->channels = channels, ps->in_h = in_h, ps->in_w = in_w, ps->out_h = o[0];
  ps->out_w = o[1], ps->kh = k[0], ps->kw = k[1], ps->sh = s[0], ps->sw = s[1];
  ps->ph = p[0], ps->pw = p[1];
  *out = m;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_pool2d_geometry(const aihw_module *module, int64_t *channels,
                                          int64_t *in_h, int64_t *in_w, int64_t kernel[2],
                                          int64_t stride[2], int64_t padding[2]) {
  if (module == NULL || module->pool == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_pool2d_geometry: module is NULL or not a pooling module");
  const aihw_pool_state *s = module->pool;
  if (channels != NULL)
    *channels = s->channels;
  if (in_h != NULL)
    *in_h = s->in_h;
  if (in_w != NULL)
    *in_w = s->in_w;
  if (kernel != NULL)
    kernel[0] = s->kh, kernel[1] = s->kw;
  if (stride != NULL)
    stride[0] = s->sh, stride[1] = s->sw;
  if (padding != NULL)
    padding[0] = s->ph, padding[1] = s->pw;
  return AIHW_OK;
}

/* One channel plane without padding (every window inside the image): the same scan
 * order and arithmetic as pool_plane, without the bounds checks. */
static void pool_plane_inside(const aihw_pool_state *s, const float *x, int32_t plane_offset,
                              float *y, int32_t *argmax) {
  const float divisor = (float)(s->kh * s->kw);
  for (int64_t oh = 0; oh < s->out_h; ++oh)
    for (int64_t ow = 0; ow < s->out_w; ++ow) {
      const int64_t h0 = oh * s->sh, w0 = ow * s->sw, o = oh * s->out_w + ow;
      const float *win = x + h0 * s->in_w + w0;
      if (argmax != NULL) {
        float best = win[0];
        int64_t best_at = 0;
        for (int64_t i = 0; i < s->kh; ++i)
          for (int64_t j = 0; j < s->kw; ++j)
            if (win[i * s->in_w + j] > best) {
              best = win[i * s->in_w + j];
              best_at = i * s->in_w + j;
            }
        y[o] = best;
        argmax[o] = plane_offset + (int32_t)(h0 * s->in_w + w0 + best_at);
      } else {
        float sum = 0.0f;
        for (int64_t i = 0; i < s->kh; ++i)
          for (int64_t j = 0; j < s->kw; ++j)
            sum += win[i * s->in_w + j];
        y[o] = sum / divisor;
      }
    }
}

/* One channel plane: max (argmax != NULL) or average pooling into y. */
static void pool_plane(const aihw_pool_state *s, const float *x, int32_t plane_offset,
                       float *y, int32_t *argmax) {
  const float divisor = (float)(s->kh * s->kw);
  for (int64_t oh = 0; oh < s->out_h; ++oh)
    for (int64_t ow = 0; ow < s->out_w; ++ow) {
      const int64_t h0 = oh * s->sh - s->ph, w0 = ow * s->sw - s->pw;
      float best = -INFINITY, sum = 0.0f;
      int64_t best_at = -1;
      for (int64_t i = 0; i < s->kh; ++i) {
        const int64_t ih = h0 + i;
        if (ih < 0 || ih >= s->in_h)
          continue;
        for (int64_t j = 0; j < s->kw; ++j) {
          const int64_t iw = w0 + j;
          if (iw < 0 || iw >= s->in_w)
            continue;
          const float v = x[ih * s->in_w + iw];
          if (argmax != NULL) {
            if (v > best || best_at < 0) {
              best = v;
              best_at = ih * s->in_w + iw;
            }
          } else {
            sum += v;
          }
        }
      }
      const int64_t o = oh * s->out_w + ow;
      if (argmax != NULL) {
        y[o] = best;
        argmax[o] = plane_offset + (int32_t)best_at;
      } else {
        y[o] = sum / divisor;
      }
    }
}

aihw_status aihw_pool_forward_impl(aihw_module *m, const float *x, int64_t batch, float *y) {
  aihw_pool_state *s = m->pool;
  const int is_max = m->kind == AIHW_MODULE_MAXPOOL2D;
  const size_t n_out = (size_t)batch * (size_t)m->out_features;
  if (is_max && n_out > s->argmax_capacity) {
    int32_t *p = aihw_alloc_array(n_out, sizeof *p, "max pooling indices");
    if (p == NULL)
      return AIHW_ERR_OUT_OF_MEMORY;
    aihw_free(s->argmax);
    s->argmax = p;
    s->argmax_capacity = n_out;
  }
  const int64_t hw = s->in_h * s->in_w, ohw = s->out_h * s->out_w, planes = batch * s->channels;
#pragma omp parallel for schedule(static) if (planes * ohw > 65536)
  for (int64_t q = 0; q < planes; ++q) {
    const int64_t n = q / s->channels, c = q % s->channels;
    (s->ph == 0 && s->pw == 0 ? pool_plane_inside : pool_plane)(
        s, x + n * m->in_features + c * hw, (int32_t)(c * hw),
        y + n * m->out_features + c * ohw,
        is_max ? s->argmax + n * m->out_features + c * ohw : NULL);
  }
  return AIHW_OK;
}

aihw_status aihw_pool_backward_impl(aihw_module *m, const float *dy, int64_t batch,
                                    float *dx) {
  if (dx == NULL)
    return AIHW_OK;
  const aihw_pool_state *s = m->pool;
  const int64_t in = m->in_features, out = m->out_features;
  memset(dx, 0, (size_t)batch * (size_t)in * sizeof(float));
  if (m->kind == AIHW_MODULE_MAXPOOL2D) {
#pragma omp parallel for schedule(static) if (batch * out > 65536)
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t o = 0; o < out; ++o) /* in output order: overlapping windows add up */
        dx[n * in + s->argmax[n * out + o]] += dy[n * out + o];
    return AIHW_OK;
  }
  const float divisor = (float)(s->kh * s->kw);
  const int64_t hw = s->in_h * s->in_w, ohw = s->out_h * s->out_w, planes = batch * s->channels;
#pragma omp parallel for schedule(static) if (planes * ohw > 65536)
  for (int64_t q = 0; q < planes; ++q) {
    const int64_t n = q / s->channels, c = q % s->channels;
    const float *g = dy + n * out + c * ohw;
    float *d = dx + n * in + c * hw;
    for (int64_t oh = 0; oh < s->out_h; ++oh)
      for (int64_t ow = 0; ow < s->out_w; ++ow) {
        const float v = g[oh * s->out_w + ow] / divisor; /* torch's order */
        for (int64_t i = 0; i < s->kh; ++i) {
          const int64_t ih = oh * s->sh - s->ph + i;
          if (ih < 0 || ih >= s->in_h)
            continue;
          for (int64_t j = 0; j < s->kw; ++j) {
            const int64_t iw = ow * s->sw - s->pw + j;
            if (iw >= 0 && iw < s->in_w)
              d[ih * s->in_w + iw] += v;
          }
        }
      }
  }
  return AIHW_OK;
}
