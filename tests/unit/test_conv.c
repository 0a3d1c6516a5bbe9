/* Convolutions (reference §7.4): CONV1D / CONV2D on FLOATING_POINT tiles against a direct
 * double-precision loop implementation (forward, input gradient, the SGD step = weight
 * and bias gradients) for many shapes, strides, paddings, dilations and groups; finite
 * differences; mapped (split) tile grids against one tile; weights in torch's layout; init
 * bounds; and the argument checks.
 *
 * Tolerances: the module computes in float with a different summation order than the
 * double reference. For a sum of n products the float error is at most n eps sum|terms|
 * (eps = 2^-24 rounding unit, Higham's gamma_n); tol() uses that bound plus one rounding of
 * the result. An indexing error changes a value by a whole term (~ sum|terms| / n), far
 * above the bound. */
#include <float.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "test_util.h"

static float urand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return (float)(x >> 8) * 0x1p-23f - 1.0f;
}

static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t s = seed;
  for (int64_t k = 0; k < n; ++k)
    v[k] = scale * urand(&s);
}

static double tol(double abs_sum, int64_t n, double value) {
  return (double)n * 0x1p-24 * abs_sum + 0x1p-24 * fabs(value) + 1e-30;
}

/* A convolution case as 2-D (Conv1d: H = 1 and the [1] axis). */
typedef struct conv_case {
  int conv1d;
  int64_t cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  int bias;
  int64_t h, w, batch;
  int analog_bias;
} conv_case;

typedef struct ref_geom {
  int64_t oh, ow, cin_g, cout_g, patch, in_f, out_f;
} ref_geom;

static ref_geom geometry(const conv_case *c) {
  ref_geom g;
  g.oh = (c->h + 2 * c->ph - c->dh * (c->kh - 1) - 1) / c->sh + 1;
  g.ow = (c->w + 2 * c->pw - c->dw * (c->kw - 1) - 1) / c->sw + 1;
  g.cin_g = c->cin / c->groups;
  g.cout_g = c->cout / c->groups;
  g.patch = g.cin_g * c->kh * c->kw;
  g.in_f = c->cin * c->h * c->w;
  g.out_f = c->cout * g.oh * g.ow;
  return g;
}

static aihw_module *make_conv(const conv_case *c, aihw_tile_kind kind,
                              const aihw_mapping_params *mapping) {
  aihw_tile_config config = aihw_tile_config_default(kind);
  config.seed = 5;
  aihw_conv_params p = aihw_conv_params_default(c->cin, c->cout, 1);
  p.groups = c->groups;
  p.bias = c->bias;
  aihw_module *m = NULL;
  aihw_mapping_params mp = mapping != NULL ? *mapping : aihw_mapping_params_default();
  if (c->analog_bias)
    mp.digital_bias = 0;
  if (c->conv1d) {
    p.kernel[0] = c->kw, p.stride[0] = c->sw, p.padding[0] = c->pw, p.dilation[0] = c->dw;
    p.kernel[1] = 99; /* ignored by Conv1d */
    CHECK_OK(aihw_conv1d_create(&config, &mp, &p, c->w, &m));
  } else {
    p.kernel[0] = c->kh, p.kernel[1] = c->kw, p.stride[0] = c->sh, p.stride[1] = c->sw;
    p.padding[0] = c->ph, p.padding[1] = c->pw, p.dilation[0] = c->dh, p.dilation[1] = c->dw;
    CHECK_OK(aihw_conv2d_create(&config, &mp, &p, c->h, c->w, &m));
  }
  return m;
}

/* Input position of (output oh/ow, kernel i/j), -1 when in the padding. */
static int64_t in_pos(const conv_case *c, int64_t oh, int64_t ow, int64_t i, int64_t j) {
  const int64_t ih = oh * c->sh - c->ph + i * c->dh, iw = ow * c->sw - c->pw + j * c->dw;
  if (ih < 0 || ih >= c->h || iw < 0 || iw >= c->w)
    return -1;
  return ih * c->w + iw;
}

/* Direct loops in double: y (and the sum of |terms| per output), dx, dW, db. */
static void reference(const conv_case *c, const float *w, const float *b, const float *x,
                      const float *dy, double *y, double *yabs, double *dx, double *dxabs,
                      double *dw, double *dwabs, double *db) {
  const ref_geom g = geometry(c);
  const int64_t hw = c->h * c->w, L = g.oh * g.ow;
  memset(dx, 0, sizeof(double) * (size_t)(c->batch * g.in_f));
  memset(dxabs, 0, sizeof(double) * (size_t)(c->batch * g.in_f));
  memset(dw, 0, sizeof(double) * (size_t)(c->cout * g.patch));
  memset(dwabs, 0, sizeof(double) * (size_t)(c->cout * g.patch));
  memset(db, 0, sizeof(double) * (size_t)c->cout);
  for (int64_t n = 0; n < c->batch; ++n)
    for (int64_t o = 0; o < c->cout; ++o) {
      const int64_t grp = o / g.cout_g;
      for (int64_t l = 0; l < L; ++l) {
        const int64_t oh = l / g.ow, ow = l % g.ow, yi = n * g.out_f + o * L + l;
        double s = c->bias ? b[o] : 0.0, sa = c->bias ? fabs(b[o]) : 0.0;
        const double d = dy[yi];
        db[o] += d;
        for (int64_t ci = 0; ci < g.cin_g; ++ci)
          for (int64_t i = 0; i < c->kh; ++i)
            for (int64_t j = 0; j < c->kw; ++j) {
              const int64_t pos = in_pos(c, oh, ow, i, j);
              if (pos < 0)
                continue;
              const int64_t wi = o * g.patch + (ci * c->kh + i) * c->kw + j;
              const int64_t xi = n * g.in_f + (grp * g.cin_g + ci) * hw + pos;
              s += (double)w[wi] * x[xi];
              sa += fabs((double)w[wi] * x[xi]);
              dx[xi] += (double)w[wi] * d;
              dxabs[xi] += fabs((double)w[wi] * d);
              dw[wi] += d * x[xi];
              dwabs[wi] += fabs(d * x[xi]);
            }
        y[yi] = s;
        yabs[yi] = sa;
      }
    }
}

/* Forward, backward and one FP step of the module against the reference. */
static void check_case(const conv_case *c, const aihw_mapping_params *mapping) {
  const ref_geom g = geometry(c);
  const int64_t nx = c->batch * g.in_f, ny = c->batch * g.out_f, nw = c->cout * g.patch;
  aihw_module *m = make_conv(c, AIHW_TILE_FLOATING_POINT, mapping);
  if (m == NULL)
    return;
  CHECK(aihw_module_in_features(m) == g.in_f);
  CHECK(aihw_module_out_features(m) == g.out_f);
  float *w = aihw_alloc_array((size_t)(2 * nw + 2 * c->cout), sizeof(float), "t");
  float *x = aihw_alloc_array((size_t)(2 * nx + 2 * ny), sizeof(float), "t");
  double *r = aihw_alloc_array((size_t)(2 * ny + 2 * nx + 2 * nw + c->cout), sizeof(double), "t");
  float *b = w + nw, *w2 = b + c->cout, *b2 = w2 + nw;
  float *dx = x + nx, *y = dx + nx, *dy = y + ny;
  double *yr = r, *ya = yr + ny, *dxr = ya + ny, *dxa = dxr + nx, *dwr = dxa + nx,
         *dwa = dwr + nw, *dbr = dwa + nw;
  fill(w, nw, 11, 0.5f);
  fill(b, c->cout, 12, 0.5f);
  fill(x, nx, 13, 1.0f);
  fill(dy, ny, 14, 1.0f);
  CHECK_OK(aihw_conv_set_weights(m, w, c->bias ? b : NULL, 1));
  CHECK_OK(aihw_conv_get_weights(m, w2, c->bias ? b2 : NULL, 1));
  CHECK(memcmp(w, w2, (size_t)nw * sizeof(float)) == 0);
  CHECK(!c->bias || memcmp(b, b2, (size_t)c->cout * sizeof(float)) == 0);
  reference(c, w, b, x, dy, yr, ya, dxr, dxa, dwr, dwa, dbr);

  CHECK_OK(aihw_module_forward(m, x, c->batch, g.in_f, y, g.out_f));
  int bad = 0;
  for (int64_t k = 0; k < ny; ++k)
    bad += !(fabs(y[k] - yr[k]) <= tol(ya[k], g.patch + 1, yr[k]));
  CHECK(bad == 0);
  CHECK_OK(aihw_module_backward(m, dy, c->batch, g.out_f, dx, g.in_f));
  bad = 0;
  for (int64_t k = 0; k < nx; ++k)
    bad += !(fabs(dx[k] - dxr[k]) <= tol(dxa[k], c->cout * g.oh * g.ow, dxr[k]));
  CHECK(bad == 0);
  const float lr = 0.25f;
  CHECK_OK(aihw_module_step(m, lr));
  CHECK_OK(aihw_conv_get_weights(m, w2, c->bias ? b2 : NULL, 1));
  bad = 0;
  const int64_t rows = c->batch * g.oh * g.ow;
  for (int64_t k = 0; k < nw; ++k) {
    const double want = w[k] - lr * dwr[k];
    bad += !(fabs(w2[k] - want) <= tol(lr * dwa[k] + fabs(w[k]), rows + 1, want));
  }
  for (int64_t o = 0; c->bias && o < c->cout; ++o) {
    const double want = b[o] - lr * dbr[o];
    bad += !(fabs(b2[o] - want) <= 1e-5 * (1.0 + (double)rows * 0.25));
  }
  CHECK(bad == 0);
  if (bad)
    fprintf(stderr, "  case cin %lld cout %lld k %lldx%lld groups %lld: %d bad\n",
            (long long)c->cin, (long long)c->cout, (long long)c->kh, (long long)c->kw,
            (long long)c->groups, bad);
  aihw_free(w);
  aihw_free(x);
  aihw_free(r);
  aihw_module_destroy(m);
}

static const conv_case cases2d[] = {
    /* 1d cin cout kh kw sh sw ph pw dh dw groups bias h w batch analog_bias */
    {0, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 3, 4, 2, 0},
    {0, 3, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1, 7, 6, 2, 0},
    {0, 3, 6, 3, 2, 2, 1, 1, 0, 1, 1, 3, 1, 8, 5, 3, 0},  /* groups, multiplier 2 */
    {0, 4, 4, 3, 3, 2, 2, 1, 1, 2, 2, 4, 0, 9, 9, 2, 0},  /* depthwise, dilation */
    {0, 6, 4, 2, 3, 1, 3, 0, 2, 1, 2, 2, 1, 5, 11, 2, 0}, /* mixed per axis */
    {0, 2, 3, 5, 5, 3, 3, 2, 2, 1, 1, 1, 1, 5, 5, 1, 0},  /* kernel = padded input */
    {0, 2, 2, 2, 2, 3, 3, 0, 0, 1, 1, 1, 1, 10, 10, 2, 0}, /* stride > kernel */
    {0, 3, 5, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 6, 7, 2, 1},  /* analog bias column */
    {0, 4, 6, 3, 1, 1, 1, 2, 0, 3, 1, 2, 1, 6, 4, 2, 1},  /* analog bias per group */
};

static const conv_case cases1d[] = {
    {1, 3, 5, 1, 3, 1, 1, 0, 1, 1, 1, 1, 1, 1, 10, 2, 0},
    {1, 4, 2, 1, 2, 1, 2, 0, 0, 1, 3, 2, 0, 1, 13, 3, 0},
    {1, 3, 3, 1, 5, 1, 1, 0, 2, 1, 1, 3, 1, 1, 8, 1, 0}, /* depthwise */
    {1, 2, 4, 1, 3, 1, 2, 0, 1, 1, 2, 1, 1, 1, 9, 2, 1}, /* analog bias */
};

static void conv2d_matches_direct_loops(void) {
  for (size_t k = 0; k < sizeof cases2d / sizeof cases2d[0]; ++k)
    check_case(&cases2d[k], NULL);
}

static void conv1d_matches_direct_loops(void) {
  for (size_t k = 0; k < sizeof cases1d / sizeof cases1d[0]; ++k)
    check_case(&cases1d[k], NULL);
}

/* Several forward/backward pairs before one step: the update is their sum. */
static void accumulated_batches_are_one_update(void) {
  conv_case c = cases2d[2];
  c.batch = 1;
  aihw_module *a = make_conv(&c, AIHW_TILE_FLOATING_POINT, NULL);
  c.batch = 2;
  aihw_module *bm = make_conv(&c, AIHW_TILE_FLOATING_POINT, NULL);
  const ref_geom g = geometry(&c);
  float x[2 * 3 * 8 * 5], dy[2 * 6 * 4 * 5], y[2 * 6 * 4 * 5];
  CHECK(g.out_f == 6 * 4 * 4 && g.in_f == 3 * 8 * 5);
  fill(x, 2 * g.in_f, 3, 1.0f);
  fill(dy, 2 * g.out_f, 4, 1.0f);
  for (int n = 0; n < 2; ++n) {
    CHECK_OK(aihw_module_forward(a, x + n * g.in_f, 1, g.in_f, y, g.out_f));
    CHECK_OK(aihw_module_backward(a, dy + n * g.out_f, 1, g.out_f, NULL, g.in_f));
  }
  CHECK_OK(aihw_module_forward(bm, x, 2, g.in_f, y, g.out_f));
  CHECK_OK(aihw_module_backward(bm, dy, 2, g.out_f, NULL, g.in_f));
  CHECK_OK(aihw_module_step(a, 0.1f));
  CHECK_OK(aihw_module_step(bm, 0.1f));
  float wa[6 * 3 * 2], wb[6 * 3 * 2], ba[6], bb[6];
  CHECK_OK(aihw_conv_get_weights(a, wa, ba, 1));
  CHECK_OK(aihw_conv_get_weights(bm, wb, bb, 1));
  /* the same rows in the same order: identical products */
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  CHECK(memcmp(ba, bb, sizeof ba) == 0);
  aihw_module_destroy(a);
  aihw_module_destroy(bm);
}

/* dL/dx of L = sum r y by central differences, on the module (float) and on the
 * reference (double, which checks the reference's analytic dx). */
static void input_gradient_matches_finite_differences(void) {
  const conv_case c = cases2d[4];
  const ref_geom g = geometry(&c);
  aihw_module *m = make_conv(&c, AIHW_TILE_FLOATING_POINT, NULL);
  const int64_t nx = c.batch * g.in_f, ny = c.batch * g.out_f, nw = c.cout * g.patch;
  float *buf = aihw_alloc_array((size_t)(2 * nx + 2 * ny + nw + c.cout), sizeof(float), "t");
  float *x = buf, *dx = x + nx, *y = dx + nx, *r = y + ny, *w = r + ny, *b = w + nw;
  double *ref = aihw_alloc_array((size_t)(3 * ny + 3 * nx + 2 * nw + c.cout), sizeof(double),
                                 "t");
  double *yr = ref, *ya = yr + ny, *dxr = ya + ny, *dxa = dxr + nx, *dwr = dxa + nx,
         *dwa = dwr + nw, *dbr = dwa + nw, *y2 = dbr + c.cout, *dx2 = y2 + ny;
  fill(x, nx, 21, 1.0f);
  fill(r, ny, 22, 1.0f);
  CHECK_OK(aihw_conv_get_weights(m, w, b, 1));
  CHECK_OK(aihw_module_forward(m, x, c.batch, g.in_f, y, g.out_f));
  CHECK_OK(aihw_module_backward(m, r, c.batch, g.out_f, dx, g.in_f));
  reference(&c, w, b, x, r, yr, ya, dxr, dxa, dwr, dwa, dbr);
  const float h = 0.05f;
  for (int64_t k = 0; k < nx; k += 7) {
    double loss[2], loss_ref[2];
    const float keep = x[k];
    for (int side = 0; side < 2; ++side) {
      x[k] = keep + (side ? h : -h);
      CHECK_OK(aihw_module_forward(m, x, c.batch, g.in_f, y, g.out_f));
      reference(&c, w, b, x, r, y2, ya, dx2, dxa, dwr, dwa, dbr);
      loss[side] = loss_ref[side] = 0.0;
      for (int64_t i = 0; i < ny; ++i) {
        loss[side] += (double)r[i] * y[i];
        loss_ref[side] += (double)r[i] * y2[i];
      }
    }
    x[k] = keep;
    const double hd = (double)(keep + h) - (double)(keep - h);
    /* linear in x: the difference quotient is exact up to rounding; float outputs carry
     * ~1e-7 relative error over ny terms */
    CHECK_NEAR((loss[1] - loss[0]) / hd, dx[k], 1e-3);
    CHECK_NEAR((loss_ref[1] - loss_ref[0]) / hd, dxr[k], 1e-9);
  }
  aihw_free(buf);
  aihw_free(ref);
  aihw_module_destroy(m);
}

/* A convolution whose tile is split (patch 24 x 25 = 600 > 512 inputs, 40 outputs over
 * max_output_size 16) equals the unmapped convolution with the same weights. */
static void mapped_conv_equals_single_tile(void) {
  const conv_case c = {0, 24, 40, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 7, 6, 2, 0};
  check_case(&c, NULL); /* the default mapping splits 600 inputs over 2 tiles */
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_output_size = 16;
  check_case(&c, &mp);
  aihw_module *split = make_conv(&c, AIHW_TILE_FLOATING_POINT, &mp);
  mp.max_input_size = 0;
  mp.max_output_size = 0;
  aihw_module *one = make_conv(&c, AIHW_TILE_FLOATING_POINT, &mp);
  int64_t r = 0, k = 0;
  CHECK_OK(aihw_linear_tile_grid(aihw_conv_group(split, 0), &r, &k));
  CHECK(r == 2 && k == 3);
  CHECK_OK(aihw_linear_tile_grid(aihw_conv_group(one, 0), &r, &k));
  CHECK(r == 1 && k == 1);
  const ref_geom g = geometry(&c);
  const int64_t nw = c.cout * g.patch, nx = c.batch * g.in_f, ny = c.batch * g.out_f;
  float *buf = aihw_alloc_array((size_t)(2 * nw + 80 + 3 * nx + 3 * ny), sizeof(float), "t");
  float *w = buf, *b = w + nw, *w2 = b + 40, *b2 = w2 + nw, *x = b2 + 40, *dx1 = x + nx,
        *dx2 = dx1 + nx, *y1 = dx2 + nx, *y2 = y1 + ny, *dy = y2 + ny;
  fill(w, nw, 31, 0.2f);
  fill(b, 40, 32, 0.2f);
  fill(x, nx, 33, 1.0f);
  fill(dy, ny, 34, 1.0f);
  CHECK_OK(aihw_conv_set_weights(split, w, b, 1));
  CHECK_OK(aihw_conv_set_weights(one, w, b, 1));
  CHECK_OK(aihw_module_forward(split, x, c.batch, g.in_f, y1, g.out_f));
  CHECK_OK(aihw_module_forward(one, x, c.batch, g.in_f, y2, g.out_f));
  double worst = 0.0;
  for (int64_t i = 0; i < ny; ++i)
    worst = fmax(worst, fabs(y1[i] - y2[i]));
  CHECK(worst <= 1e-5); /* |y| ~ 0.2 sqrt(600 / 3) ~ 3: 600 eps |terms| ~ 2e-5 bound */
  CHECK_OK(aihw_module_backward(split, dy, c.batch, g.out_f, dx1, g.in_f));
  CHECK_OK(aihw_module_backward(one, dy, c.batch, g.out_f, dx2, g.in_f));
  worst = 0.0;
  for (int64_t i = 0; i < nx; ++i)
    worst = fmax(worst, fabs(dx1[i] - dx2[i]));
  CHECK(worst <= 1e-5);
  CHECK_OK(aihw_module_step(split, 0.01f));
  CHECK_OK(aihw_module_step(one, 0.01f));
  CHECK_OK(aihw_conv_get_weights(split, w, b, 1));
  CHECK_OK(aihw_conv_get_weights(one, w2, b2, 1));
  worst = 0.0;
  for (int64_t i = 0; i < nw; ++i)
    worst = fmax(worst, fabs(w[i] - w2[i]));
  CHECK(worst <= 1e-6); /* each tile's rows are the same products: split changes nothing */
  for (int64_t i = 0; i < 40; ++i)
    CHECK_FEQ(b[i], b2[i]);
  aihw_free(buf);
  aihw_module_destroy(split);
  aihw_module_destroy(one);
}

/* Groups take consecutive tile ids; init is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and the
 * groups draw different values. */
static void groups_tiles_and_init(void) {
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  config.tile_id = 10;
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_output_size = 2;
  aihw_conv_params p = aihw_conv_params_default(6, 9, 3);
  p.groups = 3;
  aihw_module *m = NULL;
  CHECK_OK(aihw_conv2d_create(&config, &mp, &p, 5, 5, &m));
  CHECK(aihw_module_kind_of(m) == AIHW_MODULE_CONV2D);
  CHECK(aihw_conv_group(m, 3) == NULL && aihw_conv_group(m, -1) == NULL);
  uint32_t expect = 10;
  for (int64_t g = 0; g < 3; ++g) {
    int64_t r = 0, c = 0;
    CHECK_OK(aihw_linear_tile_grid(aihw_conv_group(m, g), &r, &c));
    CHECK(r == 1 && c == 2); /* 3 outputs per group over max 2 */
    for (int64_t k = 0; k < c; ++k) {
      aihw_tile_config tc;
      CHECK_OK(aihw_tile_get_config(aihw_linear_tile(aihw_conv_group(m, g), 0, k), &tc));
      CHECK(tc.tile_id == expect++);
    }
  }
  float w[9 * 2 * 9], b[9];
  CHECK_OK(aihw_conv_get_weights(m, w, b, 1));
  const float bound = 1.0f / sqrtf(2.0f * 9.0f);
  float mx = 0.0f;
  for (int k = 0; k < 9 * 18; ++k)
    mx = fmaxf(mx, fabsf(w[k]));
  for (int k = 0; k < 9; ++k)
    mx = fmaxf(mx, fabsf(b[k]));
  CHECK(mx <= bound && mx > 0.5f * bound);
  CHECK(w[0] != w[3 * 18] && w[3 * 18] != w[6 * 18]);
  aihw_conv_params q;
  int64_t ih = 0, iw = 0, oh = 0, ow = 0;
  CHECK_OK(aihw_conv_geometry(m, &q, &ih, &iw, &oh, &ow));
  CHECK(q.groups == 3 && ih == 5 && iw == 5 && oh == 3 && ow == 3);
  aihw_module_destroy(m);
}

static void output_size_helper(void) {
  CHECK(aihw_conv_output_size(28, 5, 1, 0, 1) == 24);
  CHECK(aihw_conv_output_size(7, 3, 2, 1, 1) == 4);
  CHECK(aihw_conv_output_size(9, 3, 2, 1, 2) == 4);
  CHECK(aihw_conv_output_size(3, 5, 1, 1, 1) == 1);
  CHECK(aihw_conv_output_size(3, 5, 1, 0, 1) == -1);
  CHECK(aihw_conv_output_size(3, 3, 0, 0, 1) == -1);
}

static void bad_arguments_are_named(void) {
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  aihw_module *m = NULL;
  aihw_conv_params p = aihw_conv_params_default(6, 4, 3);
  p.groups = 4;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("in_channels = 6 is not divisible by groups = 4");
  p = aihw_conv_params_default(4, 6, 3);
  p.groups = 4;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("out_channels = 6 is not divisible by groups = 4");
  p = aihw_conv_params_default(1, 1, 3);
  p.kernel[1] = 6;
  p.padding[1] = 1;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 3, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("kernel[1] = 6");
  CHECK_ERROR_MENTIONS("in_w");
  p = aihw_conv_params_default(1, 1, 3);
  p.stride[0] = 0;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("stride[0] = 0");
  p = aihw_conv_params_default(1, 1, 3);
  p.padding[1] = -1;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("padding[1] = -1");
  p = aihw_conv_params_default(1, 1, 3);
  p.dilation[0] = 0;
  CHECK_STATUS(aihw_conv1d_create(&config, NULL, &p, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dilation[0] = 0");
  p = aihw_conv_params_default(1, 1, 3);
  p.kernel[0] = 0;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("kernel[0] = 0");
  p = aihw_conv_params_default(0, 1, 3);
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("in_channels = 0");
  p = aihw_conv_params_default(1, 1, 3);
  p.groups = 0;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("groups = 0");
  p = aihw_conv_params_default(1, 1, 3);
  p.bias = 2;
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("bias = 2");
  p = aihw_conv_params_default(1, 1, 3);
  CHECK_STATUS(aihw_conv2d_create(&config, NULL, &p, 0, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("in_h = 0");
  CHECK_STATUS(aihw_conv1d_create(&config, NULL, &p, 2, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("in_len");
  CHECK_STATUS(aihw_conv2d_create(NULL, NULL, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_input_size = -1;
  CHECK_STATUS(aihw_conv2d_create(&config, &mp, &p, 8, 8, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("max_input_size");
  CHECK(m == NULL);

  /* weights: non-finite named in torch's layout, nothing changed */
  p = aihw_conv_params_default(2, 2, 2);
  CHECK_OK(aihw_conv2d_create(&config, NULL, &p, 3, 3, &m));
  float w[16], before[16], b[2];
  CHECK_OK(aihw_conv_get_weights(m, before, b, 1));
  memcpy(w, before, sizeof w);
  for (int k = 0; k < 16; ++k)
    w[k] = 0.1f;
  w[1 * 8 + 0 * 4 + 1 * 2 + 0] = NAN;
  CHECK_STATUS(aihw_conv_set_weights(m, w, NULL, 1), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("w[1][0][1][0]");
  CHECK_OK(aihw_conv_get_weights(m, w, NULL, 1));
  CHECK(memcmp(w, before, sizeof w) == 0);
  CHECK_STATUS(aihw_conv_set_weights(m, w, b, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("force_exact");
  aihw_module *lin = NULL;
  CHECK_OK(aihw_linear_create(&config, NULL, 2, 2, 1, &lin));
  CHECK_STATUS(aihw_conv_set_weights(lin, w, b, 1), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not a convolution");
  aihw_module_destroy(lin);
  /* shapes at forward; backward without forward */
  float x[18], y[8];
  fill(x, 18, 1, 1.0f);
  CHECK_STATUS(aihw_module_forward(m, x, 1, 17, y, 8), AIHW_ERR_SHAPE);
  CHECK_STATUS(aihw_module_backward(m, y, 1, 8, x, 18), AIHW_ERR_STATE);
  aihw_module_destroy(m);
  p = aihw_conv_params_default(2, 2, 2);
  p.bias = 0;
  CHECK_OK(aihw_conv1d_create(&config, NULL, &p, 3, &m));
  CHECK_STATUS(aihw_conv_set_weights(m, w, b, 1), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("no bias");
  aihw_module_destroy(m);
}

/* Inference tiles: program/drift reach the tiles of every group, refused in training
 * mode; set_training reaches them too. */
static void program_and_drift_reach_conv_tiles(void) {
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  aihw_conv_params p = aihw_conv_params_default(2, 4, 3);
  p.groups = 2;
  aihw_module *seq = NULL, *m = NULL;
  CHECK_OK(aihw_sequential_create(&seq));
  CHECK_OK(aihw_conv2d_create(&config, NULL, &p, 5, 5, &m));
  CHECK_OK(aihw_sequential_append(seq, m));
  CHECK_OK(aihw_module_set_training(seq, 1));
  for (int64_t g = 0; g < 2; ++g)
    CHECK(aihw_tile_is_training(aihw_linear_tile(aihw_conv_group(m, g), 0, 0)) == 1);
  CHECK_STATUS(aihw_module_program_weights(seq), AIHW_ERR_STATE);
  CHECK_ERROR_MENTIONS("module 0 (CONV2D)");
  CHECK_OK(aihw_module_set_training(seq, 0));
  float before[2][2 * 9], after[2 * 9];
  for (int64_t g = 0; g < 2; ++g) {
    CHECK(aihw_tile_is_training(aihw_linear_tile(aihw_conv_group(m, g), 0, 0)) == 0);
    CHECK_OK(aihw_tile_get_weights(aihw_linear_tile(aihw_conv_group(m, g), 0, 0), before[g],
                                   2, 9));
  }
  CHECK_OK(aihw_module_program_weights(seq));
  CHECK_OK(aihw_module_drift_to(seq, 86400.0f));
  for (int64_t g = 0; g < 2; ++g) { /* programming noise and drift moved every group */
    CHECK_OK(aihw_tile_get_weights(aihw_linear_tile(aihw_conv_group(m, g), 0, 0), after, 2, 9));
    int differ = 0;
    for (int k = 0; k < 18; ++k)
      differ += after[k] != before[g][k];
    CHECK(differ > 9);
  }
  aihw_module_destroy(seq);
}

TEST_MAIN(TEST(conv2d_matches_direct_loops), TEST(conv1d_matches_direct_loops),
          TEST(accumulated_batches_are_one_update),
          TEST(input_gradient_matches_finite_differences), TEST(mapped_conv_equals_single_tile),
          TEST(groups_tiles_and_init), TEST(output_size_helper), TEST(bad_arguments_are_named),
          TEST(program_and_drift_reach_conv_tiles))
