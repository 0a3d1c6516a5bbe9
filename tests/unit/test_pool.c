/* Pooling (torch MaxPool2d / AvgPool2d, ceil_mode = false): forward exactly equal to
 * direct loops (max is exact; the average sums the window in the same row-major order and
 * divides by kh kw, as the reference does in float), gradient routing to the first maximum
 * with overlapping windows adding up, average-pool gradients against finite differences,
 * and the argument checks. */
#include "aihw/aihw.h"
#include "test_util.h"

static float urand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return (float)(x >> 8) * 0x1p-23f - 1.0f;
}

typedef struct pool_case {
  int64_t c, h, w, kh, kw, sh, sw, ph, pw, batch;
} pool_case;

static const pool_case pool_cases[] = {
    /* c h w kh kw sh sw ph pw batch */
    {2, 4, 4, 2, 2, 2, 2, 0, 0, 3},  /* LeNet's 2x2 */
    {3, 7, 5, 3, 3, 2, 2, 1, 1, 2},  /* overlapping, padded */
    {1, 6, 9, 3, 2, 1, 3, 1, 1, 2},  /* stride 1 rows, stride > kernel columns */
    {2, 5, 5, 5, 5, 1, 1, 2, 0, 1},  /* kernel = padded size */
    {4, 8, 3, 4, 1, 3, 1, 2, 0, 2},
};

static void out_size(const pool_case *p, int64_t *oh, int64_t *ow) {
  *oh = (p->h + 2 * p->ph - p->kh) / p->sh + 1;
  *ow = (p->w + 2 * p->pw - p->kw) / p->sw + 1;
}

static aihw_module *make_pool(aihw_module_kind kind, const pool_case *p) {
  const int64_t k[2] = {p->kh, p->kw}, s[2] = {p->sh, p->sw}, pad[2] = {p->ph, p->pw};
  aihw_module *m = NULL;
  CHECK_OK(aihw_pool2d_create(kind, p->c, p->h, p->w, k, s, pad, &m));
  return m;
}

/* Reference forward of one window: max (value and index) or float average. */
static float ref_window(const pool_case *p, const float *plane, int64_t oh, int64_t ow,
                        int is_max, int64_t *arg) {
  float best = -INFINITY, sum = 0.0f;
  *arg = -1;
  for (int64_t i = 0; i < p->kh; ++i)
    for (int64_t j = 0; j < p->kw; ++j) {
      const int64_t ih = oh * p->sh - p->ph + i, iw = ow * p->sw - p->pw + j;
      if (ih < 0 || ih >= p->h || iw < 0 || iw >= p->w)
        continue; /* -inf for max, 0 for the average (counted in the divisor) */
      const float v = plane[ih * p->w + iw];
      sum += v;
      if (*arg < 0 || v > best) {
        best = v;
        *arg = ih * p->w + iw;
      }
    }
  return is_max ? best : sum / (float)(p->kh * p->kw);
}

static void check_case(const pool_case *p, int is_max, int with_ties) {
  int64_t oh = 0, ow = 0;
  out_size(p, &oh, &ow);
  const int64_t in = p->c * p->h * p->w, out = p->c * oh * ow;
  aihw_module *m = make_pool(is_max ? AIHW_MODULE_MAXPOOL2D : AIHW_MODULE_AVGPOOL2D, p);
  CHECK(aihw_module_in_features(m) == in && aihw_module_out_features(m) == out);
  float x[2048], y[2048], dy[2048], dx[2048];
  double dref[2048];
  uint32_t s = 7;
  for (int64_t k = 0; k < p->batch * in; ++k) /* ties: values on a coarse grid */
    x[k] = with_ties ? (float)((int)(urand(&s) * 2.0f)) : urand(&s);
  for (int64_t k = 0; k < p->batch * out; ++k)
    dy[k] = urand(&s);
  CHECK_OK(aihw_module_forward(m, x, p->batch, in, y, out));
  CHECK_OK(aihw_module_backward(m, dy, p->batch, out, dx, in));
  int bad = 0;
  for (int64_t k = 0; k < p->batch * in; ++k)
    dref[k] = 0.0;
  for (int64_t n = 0; n < p->batch; ++n)
    for (int64_t c = 0; c < p->c; ++c)
      for (int64_t a = 0; a < oh; ++a)
        for (int64_t b = 0; b < ow; ++b) {
          int64_t arg = -1;
          const int64_t base = n * in + c * p->h * p->w, o = n * out + (c * oh + a) * ow + b;
          const float want = ref_window(p, x + base, a, b, is_max, &arg);
          bad += y[o] != want;
          if (is_max) {
            dref[base + arg] += dy[o];
          } else {
            const float g = dy[o] / (float)(p->kh * p->kw);
            for (int64_t i = 0; i < p->kh; ++i)
              for (int64_t j = 0; j < p->kw; ++j) {
                const int64_t ih = a * p->sh - p->ph + i, iw = b * p->sw - p->pw + j;
                if (ih >= 0 && ih < p->h && iw >= 0 && iw < p->w)
                  dref[base + ih * p->w + iw] += g;
              }
          }
        }
  CHECK(bad == 0);
  /* the module adds in output order in float; the reference in double: a few ulps */
  double worst = 0.0;
  for (int64_t k = 0; k < p->batch * in; ++k)
    worst = fmax(worst, fabs(dx[k] - dref[k]));
  CHECK(worst <= 1e-6);
  aihw_module_destroy(m);
}

static void max_pool_matches_direct_loops(void) {
  for (size_t k = 0; k < sizeof pool_cases / sizeof pool_cases[0]; ++k) {
    check_case(&pool_cases[k], 1, 0);
    check_case(&pool_cases[k], 1, 1);
  }
}

static void avg_pool_matches_direct_loops(void) {
  for (size_t k = 0; k < sizeof pool_cases / sizeof pool_cases[0]; ++k)
    check_case(&pool_cases[k], 0, 0);
}

/* Ties go to the first maximum in row-major order; overlapping windows add their
 * gradients on a shared maximum; padding never wins (all inputs negative). */
static void max_gradient_routing(void) {
  const int64_t k[2] = {2, 2}, s1[2] = {1, 1}, pad[2] = {1, 1};
  aihw_module *m = NULL;
  CHECK_OK(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 1, 2, 2, k, NULL, NULL, &m));
  const float x[4] = {3.0f, 3.0f, 3.0f, 3.0f};
  float y[1], dx[4];
  const float dy[1] = {2.0f};
  CHECK_OK(aihw_module_forward(m, x, 1, 4, y, 1));
  CHECK_OK(aihw_module_backward(m, dy, 1, 1, dx, 4));
  CHECK_FEQ(y[0], 3.0f);
  CHECK_FEQ(dx[0], 2.0f);
  CHECK_FEQ(dx[1], 0.0f);
  CHECK_FEQ(dx[2], 0.0f);
  CHECK_FEQ(dx[3], 0.0f);
  aihw_module_destroy(m);
  /* 3x3 input, 2x2 windows of stride 1 with padding 1: 4x4 outputs, centre is the max of
   * four windows... and all values negative so -inf padding must never be chosen */
  CHECK_OK(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 1, 3, 3, k, s1, pad, &m));
  const float x2[9] = {-5, -4, -6, -3, -1, -7, -8, -2, -9};
  float y2[16], dy2[16], dx2[9];
  for (int i = 0; i < 16; ++i)
    dy2[i] = 1.0f;
  CHECK_OK(aihw_module_forward(m, x2, 1, 9, y2, 16));
  CHECK_OK(aihw_module_backward(m, dy2, 1, 16, dx2, 9));
  const float want_y[16] = {-5, -4, -4, -6, -3, -1, -1, -6, -3, -1, -1, -7, -8, -2, -2, -9};
  for (int i = 0; i < 16; ++i)
    CHECK_FEQ(y2[i], want_y[i]);
  const float want_dx[9] = {1, 2, 2, 2, 4, 1, 1, 2, 1};
  for (int i = 0; i < 9; ++i)
    CHECK_FEQ(dx2[i], want_dx[i]);
  aihw_module_destroy(m);
}

/* Average pooling is linear: central differences of L = sum r y equal dx. */
static void avg_gradient_matches_finite_differences(void) {
  const pool_case p = pool_cases[1];
  int64_t oh = 0, ow = 0;
  out_size(&p, &oh, &ow);
  const int64_t in = p.c * p.h * p.w, out = p.c * oh * ow;
  aihw_module *m = make_pool(AIHW_MODULE_AVGPOOL2D, &p);
  float x[2 * 105], y[2 * 48], r[2 * 48], dx[2 * 105];
  CHECK(in == 105 && out == 36);
  uint32_t s = 3;
  for (int64_t k = 0; k < p.batch * in; ++k)
    x[k] = urand(&s);
  for (int64_t k = 0; k < p.batch * out; ++k)
    r[k] = urand(&s);
  CHECK_OK(aihw_module_forward(m, x, p.batch, in, y, out));
  CHECK_OK(aihw_module_backward(m, r, p.batch, out, dx, in));
  const float h = 0.125f; /* a power of two: x +- h exact */
  for (int64_t k = 0; k < p.batch * in; k += 3) {
    double l[2];
    const float keep = x[k];
    for (int side = 0; side < 2; ++side) {
      x[k] = keep + (side ? h : -h);
      CHECK_OK(aihw_module_forward(m, x, p.batch, in, y, out));
      l[side] = 0.0;
      for (int64_t i = 0; i < p.batch * out; ++i)
        l[side] += (double)r[i] * y[i];
    }
    x[k] = keep;
    CHECK_NEAR((l[1] - l[0]) / (2.0 * h), dx[k], 2e-5); /* float window sums ~1e-7 */
  }
  aihw_module_destroy(m);
}

static void bad_arguments_are_named(void) {
  aihw_module *m = NULL;
  int64_t k[2] = {2, 2}, s[2] = {0, 0}, p[2] = {0, 0};
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_RELU, 1, 4, 4, k, s, p, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("not a pooling kind");
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 0, 4, 4, k, s, p, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("channels = 0");
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 1, 4, 0, k, s, p, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("in_w = 0");
  k[1] = 5;
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_AVGPOOL2D, 1, 4, 4, k, s, p, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("kernel[1] = 5 is larger than the padded in_w");
  k[1] = 2;
  p[0] = 2;
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_AVGPOOL2D, 1, 4, 4, k, s, p, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("padding[0] = 2");
  p[0] = 0;
  s[1] = -1;
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 1, 4, 4, k, s, p, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("stride[1] = -1");
  k[0] = 0;
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 1, 4, 4, k, NULL, NULL, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("kernel[0] = 0");
  CHECK_STATUS(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 1, 4, 4, NULL, NULL, NULL, &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK(m == NULL);
  /* stride 0 / NULL = the kernel size */
  k[0] = 3;
  k[1] = 2;
  CHECK_OK(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 2, 7, 5, k, NULL, NULL, &m));
  int64_t st[2] = {0, 0}, ch = 0;
  CHECK_OK(aihw_pool2d_geometry(m, &ch, NULL, NULL, NULL, st, NULL));
  CHECK(ch == 2 && st[0] == 3 && st[1] == 2);
  CHECK(aihw_module_out_features(m) == 2 * 2 * 2);
  float x[140] = {0}, y[16] = {0}; /* room for the batch-2 call below */
  CHECK_STATUS(aihw_module_backward(m, y, 1, 8, x, 70), AIHW_ERR_STATE);
  CHECK_OK(aihw_module_forward(m, x, 1, 70, y, 8));
  CHECK_STATUS(aihw_module_backward(m, y, 2, 8, x, 70), AIHW_ERR_STATE);
  CHECK_STATUS(aihw_module_step(m, 0.1f), AIHW_ERR_STATE); /* nothing to train */
  aihw_module_destroy(m);
}

TEST_MAIN(TEST(max_pool_matches_direct_loops), TEST(avg_pool_matches_direct_loops),
          TEST(max_gradient_routing), TEST(avg_gradient_matches_finite_differences),
          TEST(bad_arguments_are_named))
