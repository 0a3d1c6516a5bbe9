/* Digital layers (nn.h "Digital layers"): DIGITAL_LINEAR against FLOATING_POINT tiles (bit
 * for bit), BatchNorm1d/2d against hand-computed values and a float64 reference, dropout
 * statistics and reproducibility, softmax / log-softmax stability, NLL = cross-entropy,
 * backward of every layer against central finite differences of float64 references, and
 * the errors of bad arguments. */
#ifdef _OPENMP
#include <omp.h>
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "aihw/nn.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"
#include "test_util.h"

static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t s = seed * 2654435761u + 12345u;
  for (int64_t k = 0; k < n; ++k) {
    s = s * 1664525u + 1013904223u;
    v[k] = scale * ((float)(s >> 8) * 0x1p-24f * 2.0f - 1.0f);
  }
}

/* ---- DIGITAL_LINEAR vs FP tiles ---------------------------------------------------------- */

enum { IN = 7, HID = 5, OUT = 3 };

static aihw_module *fp_net(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  c.seed = 99;
  aihw_module *net = NULL, *l1 = NULL, *act = NULL, *l2 = NULL;
  CHECK_OK(aihw_sequential_create(&net));
  c.tile_id = 4;
  CHECK_OK(aihw_linear_create(&c, NULL, IN, HID, 1, &l1));
  c.tile_id = 5;
  CHECK_OK(aihw_linear_create(&c, NULL, HID, OUT, 1, &l2));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_TANH, HID, &act));
  CHECK_OK(aihw_sequential_append(net, l1));
  CHECK_OK(aihw_sequential_append(net, act));
  CHECK_OK(aihw_sequential_append(net, l2));
  return net;
}

static aihw_module *digital_net(void) {
  aihw_module *net = NULL, *l1 = NULL, *act = NULL, *l2 = NULL;
  CHECK_OK(aihw_sequential_create(&net));
  CHECK_OK(aihw_digital_linear_create(IN, HID, 1, 99, 4, &l1));
  CHECK_OK(aihw_digital_linear_create(HID, OUT, 1, 99, 5, &l2));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_TANH, HID, &act));
  CHECK_OK(aihw_sequential_append(net, l1));
  CHECK_OK(aihw_sequential_append(net, act));
  CHECK_OK(aihw_sequential_append(net, l2));
  return net;
}

static int same_layer_weights(aihw_module *fp, aihw_module *dig, int64_t in, int64_t out) {
  float wf[IN * HID], bf[HID], wd[IN * HID], bd[HID];
  CHECK_OK(aihw_linear_get_weights(fp, wf, bf, 1));
  CHECK_OK(aihw_digital_linear_get_weights(dig, wd, bd));
  return memcmp(wf, wd, (size_t)(in * out) * sizeof(float)) == 0 &&
         memcmp(bf, bd, (size_t)out * sizeof(float)) == 0;
}

/* Same seed and id give the same initial weights; forward (batch 1 and 6), backward and
 * three plain SGD steps (two backwards accumulated before the last) give the same bits. */
static void digital_linear_equals_fp_tile_network(void) {
  aihw_module *fp = fp_net(), *dig = digital_net();
  CHECK_OK(aihw_module_set_training(fp, 1));
  CHECK_OK(aihw_module_set_training(dig, 1));
  CHECK(same_layer_weights(aihw_module_child(fp, 0), aihw_module_child(dig, 0), IN, HID));
  CHECK(same_layer_weights(aihw_module_child(fp, 2), aihw_module_child(dig, 2), HID, OUT));
  for (int step = 0; step < 3; ++step) {
    const int passes = step == 2 ? 2 : 1;
    for (int pass = 0; pass < passes; ++pass) {
      const int64_t batch = pass == 0 ? 6 : 1;
      float x[6 * IN], dy[6 * OUT], yf[6 * OUT], yd[6 * OUT], dxf[6 * IN], dxd[6 * IN];
      fill(x, batch * IN, 10u + (uint32_t)(step * 2 + pass), 1.0f);
      fill(dy, batch * OUT, 20u + (uint32_t)(step * 2 + pass), 0.5f);
      CHECK_OK(aihw_module_forward(fp, x, batch, IN, yf, OUT));
      CHECK_OK(aihw_module_forward(dig, x, batch, IN, yd, OUT));
      CHECK(memcmp(yf, yd, (size_t)(batch * OUT) * sizeof(float)) == 0);
      CHECK_OK(aihw_module_backward(fp, dy, batch, OUT, dxf, IN));
      CHECK_OK(aihw_module_backward(dig, dy, batch, OUT, dxd, IN));
      CHECK(memcmp(dxf, dxd, (size_t)(batch * IN) * sizeof(float)) == 0);
    }
    CHECK_OK(aihw_module_step(fp, 0.05f));
    CHECK_OK(aihw_module_step(dig, 0.05f));
    CHECK(same_layer_weights(aihw_module_child(fp, 0), aihw_module_child(dig, 0), IN, HID));
    CHECK(same_layer_weights(aihw_module_child(fp, 2), aihw_module_child(dig, 2), HID, OUT));
  }
  aihw_module_destroy(fp);
  aihw_module_destroy(dig);
}

/* dx = dy W and, with lr 1, W' = W - dy^T x, b' = b - sum dy, against float64 sums. */
static void digital_linear_gradients_match_float64(void) {
  enum { B = 4, I = 6, O = 5 };
  aihw_module *l = NULL;
  CHECK_OK(aihw_digital_linear_create(I, O, 1, 3, 0, &l));
  float w[O * I], b[O], x[B * I], dy[B * O], y[B * O], dx[B * I], w2[O * I], b2[O];
  CHECK_OK(aihw_digital_linear_get_weights(l, w, b));
  fill(x, B * I, 1, 1.0f);
  fill(dy, B * O, 2, 1.0f);
  CHECK_OK(aihw_module_set_training(l, 1));
  CHECK_OK(aihw_module_forward(l, x, B, I, y, O));
  CHECK_OK(aihw_module_backward(l, dy, B, O, dx, I));
  for (int s = 0; s < B; ++s) {
    for (int o = 0; o < O; ++o) {
      double r = b[o];
      for (int i = 0; i < I; ++i)
        r += (double)w[o * I + i] * x[s * I + i];
      CHECK_NEAR(y[s * O + o], r, 1e-6);
    }
    for (int i = 0; i < I; ++i) {
      double r = 0.0;
      for (int o = 0; o < O; ++o)
        r += (double)dy[s * O + o] * w[o * I + i];
      CHECK_NEAR(dx[s * I + i], r, 1e-6);
    }
  }
  CHECK_OK(aihw_module_step(l, 1.0f));
  CHECK_OK(aihw_digital_linear_get_weights(l, w2, b2));
  for (int o = 0; o < O; ++o) {
    double gb = 0.0;
    for (int s = 0; s < B; ++s)
      gb += dy[s * O + o];
    CHECK_NEAR(b2[o], b[o] - gb, 1e-6);
    for (int i = 0; i < I; ++i) {
      double g = 0.0;
      for (int s = 0; s < B; ++s)
        g += (double)dy[s * O + o] * x[s * I + i];
      CHECK_NEAR(w2[o * I + i], w[o * I + i] - g, 1e-6);
    }
  }
  /* set/get round trip, a bias-less layer refuses a bias */
  float wn[O * I], bn[O];
  fill(wn, O * I, 3, 1.0f);
  fill(bn, O, 4, 1.0f);
  CHECK_OK(aihw_digital_linear_set_weights(l, wn, bn));
  CHECK_OK(aihw_digital_linear_get_weights(l, w2, b2));
  CHECK(memcmp(w2, wn, sizeof w2) == 0 && memcmp(b2, bn, sizeof b2) == 0);
  aihw_module *nb = NULL;
  CHECK_OK(aihw_digital_linear_create(2, 2, 0, 3, 0, &nb));
  CHECK_STATUS(aihw_digital_linear_get_weights(nb, w2, b2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("no bias");
  aihw_module_destroy(nb);
  aihw_module_destroy(l);
}

/* A 700 -> 300 layer (several 128 x 128 gemm blocks) on a batch of 64: forward, backward
 * and two momentum steps give the same bits with 1 and with 4 threads. */
static void digital_linear_is_thread_count_independent(void) {
  enum { TI = 700, TO = 300, TB = 64 };
  static float x[TB * TI], dy[TB * TO], y[2][TB * TO], dx[2][TB * TI], w[2][TI * TO];
  fill(x, TB * TI, 41, 1.0f);
  fill(dy, TB * TO, 42, 0.1f);
#ifdef _OPENMP
  const int before = omp_get_max_threads();
#endif
  for (int run = 0; run < 2; ++run) {
#ifdef _OPENMP
    omp_set_num_threads(run == 0 ? 1 : 4);
#endif
    aihw_module *l = NULL;
    CHECK_OK(aihw_digital_linear_create(TI, TO, 1, 8, 1, &l));
    CHECK_OK(aihw_module_set_training(l, 1));
    aihw_sgd_params sgd = aihw_sgd_params_default(0.01f);
    sgd.momentum = 0.9f;
    for (int step = 0; step < 2; ++step) {
      CHECK_OK(aihw_module_forward(l, x, TB, TI, y[run], TO));
      CHECK_OK(aihw_module_backward(l, dy, TB, TO, dx[run], TI));
      CHECK_OK(aihw_module_step_sgd(l, &sgd));
    }
    CHECK_OK(aihw_digital_linear_get_weights(l, w[run], NULL));
    aihw_module_destroy(l);
  }
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
  CHECK(memcmp(y[0], y[1], sizeof y[0]) == 0);
  CHECK(memcmp(dx[0], dx[1], sizeof dx[0]) == 0);
  CHECK(memcmp(w[0], w[1], sizeof w[0]) == 0);
}

/* ---- float64 references and finite differences ----------------------------------------- */

/* BatchNorm in training on x[batch][C][S] with gamma, beta (batch statistics). */
static void bn_reference(const double *x, int64_t batch, int64_t C, int64_t S,
                         const double *gamma, const double *beta, double *y) {
  const double M = (double)(batch * S);
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0.0, var = 0.0;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < S; ++s)
        mean += x[(b * C + c) * S + s];
    mean /= M;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const double e = x[(b * C + c) * S + s] - mean;
        var += e * e;
      }
    var /= M;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t k = (b * C + c) * S + s;
        y[k] = gamma[c] * (x[k] - mean) / sqrt(var + 1e-5) + beta[c];
      }
  }
}

static void softmax_reference(const double *x, int64_t batch, int64_t n, int log_form,
                              double *y) {
  for (int64_t b = 0; b < batch; ++b) {
    double mx = x[b * n], sum = 0.0;
    for (int64_t j = 1; j < n; ++j)
      mx = fmax(mx, x[b * n + j]);
    for (int64_t j = 0; j < n; ++j)
      sum += exp(x[b * n + j] - mx);
    for (int64_t j = 0; j < n; ++j)
      y[b * n + j] = log_form ? x[b * n + j] - mx - log(sum) : exp(x[b * n + j] - mx) / sum;
  }
}

typedef struct fd_case {
  int kind; /* 0 batchnorm, 1 softmax, 2 log-softmax */
  int64_t batch, C, S;
  const double *gamma, *beta;
} fd_case;

static void reference_forward(const fd_case *c, const double *x, double *y) {
  if (c->kind == 0)
    bn_reference(x, c->batch, c->C, c->S, c->gamma, c->beta, y);
  else
    softmax_reference(x, c->batch, c->C * c->S, c->kind == 2, y);
}

/* Checks dx of the module (one forward + backward with dy) against the central difference
 * of L(x) = sum dy . f(x) of the float64 reference, h = 1e-6 (truncation ~h^2, rounding
 * ~1e-16/h: both far below the float32 rounding of the module's dx, tolerance 2e-5 x the
 * largest |dx|). Also checks the forward against the reference (1e-5 absolute). */
static void check_backward_fd(aihw_module *m, const fd_case *c, uint32_t seed, float x_scale) {
  const int64_t n = c->batch * c->C * c->S;
  float x[256], y[256], dy[256], dx[256];
  double xd[256] = {0}, yd[256];
  CHECK(n <= 256);
  fill(x, n, seed, x_scale);
  fill(dy, n, seed + 1, 1.0f);
  CHECK_OK(aihw_module_forward(m, x, c->batch, c->C * c->S, y, c->C * c->S));
  CHECK_OK(aihw_module_backward(m, dy, c->batch, c->C * c->S, dx, c->C * c->S));
  for (int64_t k = 0; k < n; ++k)
    xd[k] = x[k];
  reference_forward(c, xd, yd);
  double amax = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    CHECK_NEAR(y[k], yd[k], 1e-5);
    amax = fmax(amax, fabs(dx[k]));
  }
  for (int64_t k = 0; k < n; ++k) {
    double lp = 0.0, lm = 0.0;
    const double h = 1e-6, keep = xd[k];
    xd[k] = keep + h;
    reference_forward(c, xd, yd);
    for (int64_t j = 0; j < n; ++j)
      lp += dy[j] * yd[j];
    xd[k] = keep - h;
    reference_forward(c, xd, yd);
    for (int64_t j = 0; j < n; ++j)
      lm += dy[j] * yd[j];
    xd[k] = keep;
    CHECK_NEAR(dx[k], (lp - lm) / (2.0 * h), 2e-5 * amax + 1e-7);
  }
}

static void backward_of_every_layer_matches_finite_differences(void) {
  /* BatchNorm1d [4][3] and [3][2][4] (length 4), BatchNorm2d [2][2][2][3], with gamma/beta */
  const int64_t shapes[3][4] = {{4, 3, 1, 1}, {3, 2, 4, 1}, {2, 2, 2, 3}};
  for (int t = 0; t < 3; ++t) {
    const int64_t batch = shapes[t][0], C = shapes[t][1];
    aihw_module *bn = NULL;
    if (t < 2)
      CHECK_OK(aihw_batchnorm1d_create(C, shapes[t][2], NULL, &bn));
    else
      CHECK_OK(aihw_batchnorm2d_create(C, shapes[t][2], shapes[t][3], NULL, &bn));
    float g[3], b[3];
    double gd[3], bd[3];
    fill(g, C, 70u + (uint32_t)t, 1.5f);
    fill(b, C, 80u + (uint32_t)t, 0.5f);
    for (int64_t c = 0; c < C; ++c) {
      gd[c] = g[c];
      bd[c] = b[c];
    }
    CHECK_OK(aihw_batchnorm_set_affine(bn, g, b));
    CHECK_OK(aihw_module_set_training(bn, 1));
    const fd_case fc = {0, batch, C, shapes[t][2] * shapes[t][3], gd, bd};
    check_backward_fd(bn, &fc, 50u + (uint32_t)t, 2.0f);
    aihw_module_destroy(bn);
  }
  for (int kind = 1; kind <= 2; ++kind) {
    aihw_module *sm = NULL;
    CHECK_OK(aihw_activation_create(kind == 1 ? AIHW_MODULE_SOFTMAX : AIHW_MODULE_LOGSOFTMAX, 6,
                                    &sm));
    const fd_case fc = {kind, 3, 6, 1, NULL, NULL};
    check_backward_fd(sm, &fc, 60u + (uint32_t)kind, 3.0f);
    aihw_module_destroy(sm);
  }
}

/* ---- BatchNorm values -------------------------------------------------------------------- */

/* One channel with x = 1, 2, 3, 4 over the batch: mean 2.5, biased variance 1.25 (used to
 * normalise), unbiased 5/3 (running variance). After one training batch running_mean =
 * 0.1 x 2.5 = 0.25 and running_var = 0.9 + 0.1 x 5/3; a second channel with x = 2, 2, 2, 2
 * has variance 0 (y = beta). Three batches: the running statistics follow
 * r = 0.9 r + 0.1 batch_stat; evaluation then normalises with them. */
static void batchnorm_matches_hand_computed_values(void) {
  aihw_module *bn = NULL;
  CHECK_OK(aihw_batchnorm1d_create(2, 1, NULL, &bn));
  CHECK_OK(aihw_module_set_training(bn, 1));
  const float x[8] = {1, 2, 2, 2, 3, 2, 4, 2};
  float y[8], mean[2], var[2];
  int64_t tracked = -1;
  CHECK_OK(aihw_module_forward(bn, x, 4, 2, y, 2));
  const double inv = 1.0 / sqrt(1.25 + 1e-5);
  const double expect[4] = {-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv};
  for (int b = 0; b < 4; ++b) {
    CHECK_NEAR(y[b * 2], expect[b], 1e-6);
    CHECK_FEQ(y[b * 2 + 1], 0.0f);
  }
  CHECK_OK(aihw_batchnorm_get_running_stats(bn, mean, var, &tracked));
  CHECK_NEAR(mean[0], 0.25, 1e-7);
  CHECK_NEAR(var[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-7);
  CHECK_NEAR(mean[1], 0.2, 1e-7);
  CHECK_NEAR(var[1], 0.9, 1e-7);
  CHECK(tracked == 1);
  /* two more batches (x + 1, then 2 x): the running statistics per torch's update rule */
  double rm = 0.25, rv = 0.9 + 0.1 * 5.0 / 3.0;
  const float x2[8] = {2, 2, 3, 2, 4, 2, 5, 2}, x3[8] = {2, 2, 4, 2, 6, 2, 8, 2};
  CHECK_OK(aihw_module_forward(bn, x2, 4, 2, y, 2));
  rm = 0.9 * rm + 0.1 * 3.5;
  rv = 0.9 * rv + 0.1 * 5.0 / 3.0;
  CHECK_OK(aihw_module_forward(bn, x3, 4, 2, y, 2));
  rm = 0.9 * rm + 0.1 * 5.0;
  rv = 0.9 * rv + 0.1 * 20.0 / 3.0;
  CHECK_OK(aihw_batchnorm_get_running_stats(bn, mean, var, &tracked));
  CHECK_NEAR(mean[0], rm, 1e-6);
  CHECK_NEAR(var[0], rv, 1e-6);
  CHECK(tracked == 3);
  /* evaluation: running statistics, no update; a batch of one is fine */
  CHECK_OK(aihw_module_set_training(bn, 0));
  const float xe[2] = {3.0f, 1.0f};
  float ye[2];
  CHECK_OK(aihw_module_forward(bn, xe, 1, 2, ye, 2));
  CHECK_NEAR(ye[0], (3.0 - rm) / sqrt(rv + 1e-5), 1e-6);
  CHECK_NEAR(ye[1], (1.0 - mean[1]) / sqrt((double)var[1] + 1e-5), 1e-6);
  float dye[2] = {1.0f, 2.0f}, dxe[2];
  CHECK_OK(aihw_module_backward(bn, dye, 1, 2, dxe, 2));
  CHECK_NEAR(dxe[0], 1.0 / sqrt(rv + 1e-5), 1e-6);
  CHECK_OK(aihw_batchnorm_get_running_stats(bn, mean, var, &tracked));
  CHECK(tracked == 3);
  aihw_module_destroy(bn);
}

/* BatchNorm2d: statistics per channel over batch x plane (not per pixel); gamma/beta
 * gradients: with lr 1 one plain step gives gamma - sum dy xhat, beta - sum dy. */
static void batchnorm2d_statistics_and_affine_gradients(void) {
  enum { B = 2, C = 2, H = 2, W = 3, N = B * C * H * W };
  aihw_module *bn = NULL;
  CHECK_OK(aihw_batchnorm2d_create(C, H, W, NULL, &bn));
  CHECK(aihw_module_in_features(bn) == C * H * W);
  CHECK_OK(aihw_module_set_training(bn, 1));
  float x[N], y[N], dy[N], mean[C];
  fill(x, N, 5, 3.0f);
  fill(dy, N, 6, 1.0f);
  CHECK_OK(aihw_module_forward(bn, x, B, C * H * W, y, C * H * W));
  CHECK_OK(aihw_batchnorm_get_running_stats(bn, mean, NULL, NULL));
  for (int c = 0; c < C; ++c) {
    double m = 0.0, sy = 0.0, syy = 0.0;
    for (int b = 0; b < B; ++b)
      for (int s = 0; s < H * W; ++s)
        m += x[(b * C + c) * H * W + s];
    m /= B * H * W;
    CHECK_NEAR(mean[c], 0.1 * m, 1e-7);
    for (int b = 0; b < B; ++b)
      for (int s = 0; s < H * W; ++s) {
        const int k = (b * C + c) * H * W + s;
        sy += y[k];
        syy += (double)y[k] * y[k];
      }
    CHECK_NEAR(sy / (B * H * W), 0.0, 1e-6);
    CHECK_NEAR(syy / (B * H * W), 1.0, 1e-4); /* var / (var + eps) */
  }
  CHECK_OK(aihw_module_backward(bn, dy, B, C * H * W, NULL, C * H * W));
  CHECK_OK(aihw_module_step(bn, 1.0f));
  float gamma[C], beta[C];
  CHECK_OK(aihw_batchnorm_get_affine(bn, gamma, beta));
  for (int c = 0; c < C; ++c) {
    double g_gamma = 0.0, g_beta = 0.0;
    for (int b = 0; b < B; ++b)
      for (int s = 0; s < H * W; ++s) {
        const int k = (b * C + c) * H * W + s;
        g_gamma += (double)dy[k] * y[k]; /* y = xhat with gamma 1, beta 0 */
        g_beta += dy[k];
      }
    CHECK_NEAR(gamma[c], 1.0 - g_gamma, 1e-5);
    CHECK_NEAR(beta[c], -g_beta, 1e-6);
  }
  aihw_module_destroy(bn);
}

/* Without running statistics evaluation normalises with the batch; without affine there
 * is nothing to train. */
static void batchnorm_options(void) {
  aihw_batchnorm_params p = aihw_batchnorm_params_default();
  p.track_running_stats = 0;
  p.affine = 0;
  aihw_module *bn = NULL;
  CHECK_OK(aihw_batchnorm1d_create(1, 1, &p, &bn));
  const float x[4] = {1, 2, 3, 4};
  float y[4];
  CHECK_OK(aihw_module_forward(bn, x, 4, 1, y, 1)); /* evaluation mode (default) */
  CHECK_NEAR(y[0], -1.5 / sqrt(1.25 + 1e-5), 1e-6);
  CHECK_STATUS(aihw_batchnorm_get_running_stats(bn, NULL, NULL, NULL), AIHW_ERR_STATE);
  CHECK_STATUS(aihw_batchnorm_get_affine(bn, y, y), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("affine");
  float dy[4] = {1, 0, 0, 0}, dx[4];
  CHECK_OK(aihw_module_backward(bn, dy, 4, 1, dx, 1));
  CHECK_STATUS(aihw_module_step(bn, 0.1f), AIHW_ERR_STATE); /* no parameters */
  CHECK_STATUS(aihw_module_forward(bn, x, 1, 1, y, 1), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("more than 1 value per channel");
  aihw_module_destroy(bn);
}

/* ---- Dropout ----------------------------------------------------------------------------- */

enum { DF = 1000, DB = 100 };

/* p = 0.3 over 10^5 elements: the kept fraction is within 5 standard errors
 * (sqrt(0.21 / 10^5) = 0.00145 -> 0.0072) of 0.7; kept elements are x / 0.7 in float,
 * dropped ones 0; backward applies the same mask; evaluation is the identity. */
static void dropout_keeps_1_minus_p_with_inverted_scaling(void) {
  static float x[DB * DF], y[DB * DF], dx[DB * DF];
  aihw_module *d = NULL;
  CHECK_OK(aihw_dropout_create(DF, 0.3f, 11, 2, &d));
  fill(x, DB * DF, 9, 1.0f);
  for (int k = 0; k < DB * DF; ++k)
    x[k] = x[k] == 0.0f ? 0.5f : x[k];
  CHECK_OK(aihw_module_set_training(d, 1));
  CHECK_OK(aihw_module_forward(d, x, DB, DF, y, DF));
  const float scale = 1.0f / (1.0f - 0.3f);
  int kept = 0, exact = 1;
  for (int k = 0; k < DB * DF; ++k) {
    if (y[k] != 0.0f) {
      ++kept;
      exact &= y[k] == x[k] * scale;
    }
  }
  CHECK(exact);
  CHECK_NEAR((double)kept / (DB * DF), 0.7, 0.0072);
  CHECK_OK(aihw_module_backward(d, x, DB, DF, dx, DF));
  CHECK(memcmp(dx, y, sizeof y) == 0); /* dy = x: the same mask and scale */
  CHECK_OK(aihw_module_set_training(d, 0));
  CHECK_OK(aihw_module_forward(d, x, DB, DF, y, DF));
  CHECK(memcmp(x, y, sizeof y) == 0);
  aihw_module_destroy(d);
}

/* Masks are a function of (seed, module id, step, sample, element): the same module
 * twice gives the same sequence, successive steps differ, another id differs, and the
 * thread count does not matter. */
static void dropout_masks_are_reproducible(void) {
  static float x[DB * DF], a[3][DB * DF], b[DB * DF];
  for (int k = 0; k < DB * DF; ++k)
    x[k] = 1.0f;
  aihw_module *d1 = NULL, *d2 = NULL, *d3 = NULL;
  CHECK_OK(aihw_dropout_create(DF, 0.5f, 11, 2, &d1));
  CHECK_OK(aihw_dropout_create(DF, 0.5f, 11, 2, &d2));
  CHECK_OK(aihw_dropout_create(DF, 0.5f, 11, 3, &d3));
  CHECK_OK(aihw_module_set_training(d1, 1));
  CHECK_OK(aihw_module_set_training(d2, 1));
  CHECK_OK(aihw_module_set_training(d3, 1));
  for (int s = 0; s < 3; ++s)
    CHECK_OK(aihw_module_forward(d1, x, DB, DF, a[s], DF));
  CHECK(memcmp(a[0], a[1], sizeof b) != 0);
#ifdef _OPENMP
  const int before = omp_get_max_threads();
  omp_set_num_threads(before > 1 ? 1 : 2);
#endif
  for (int s = 0; s < 3; ++s) {
    CHECK_OK(aihw_module_forward(d2, x, DB, DF, b, DF));
    CHECK(memcmp(a[s], b, sizeof b) == 0);
  }
#ifdef _OPENMP
  omp_set_num_threads(before);
#endif
  CHECK_OK(aihw_module_forward(d3, x, DB, DF, b, DF));
  CHECK(memcmp(a[0], b, sizeof b) != 0);
  aihw_module_destroy(d1);
  aihw_module_destroy(d2);
  aihw_module_destroy(d3);
}

/* ---- Softmax, log-softmax, NLL ------------------------------------------------------------
 */

static void softmax_is_stable_at_large_logits(void) {
  const float x[6] = {1000.0f, 0.0f, -1000.0f, 88.0f, 89.0f, 90.0f};
  float y[6], ly[6];
  aihw_module *sm = NULL, *lsm = NULL;
  CHECK_OK(aihw_activation_create(AIHW_MODULE_SOFTMAX, 3, &sm));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_LOGSOFTMAX, 3, &lsm));
  CHECK_OK(aihw_module_forward(sm, x, 2, 3, y, 3));
  CHECK_OK(aihw_module_forward(lsm, x, 2, 3, ly, 3));
  CHECK_FEQ(y[0], 1.0f);
  CHECK_FEQ(y[1], 0.0f);
  CHECK_FEQ(y[2], 0.0f);
  CHECK_FEQ(ly[0], 0.0f);
  CHECK_FEQ(ly[1], -1000.0f);
  CHECK_FEQ(ly[2], -2000.0f);
  /* exp(88..90) overflows float: the shifted form does not */
  const double lse = 90.0 + log(exp(-2.0) + exp(-1.0) + 1.0);
  for (int j = 0; j < 3; ++j) {
    CHECK(isfinite(y[3 + j]));
    CHECK_NEAR(ly[3 + j], 88.0 + j - lse, 1e-5);
    CHECK_NEAR(y[3 + j], exp(88.0 + j - lse), 1e-7);
  }
  aihw_module_destroy(sm);
  aihw_module_destroy(lsm);
}

/* LOGSOFTMAX + NLL equals cross-entropy (loss and logit gradient) up to float rounding:
 * the paths round log-probabilities and gradients differently (1e-6 relative). */
static void logsoftmax_plus_nll_equals_cross_entropy(void) {
  enum { B = 5, K = 7 };
  float logits[B * K], logp[B * K], dlogp[B * K], dx[B * K], dce[B * K], ce = 0, nll = 0;
  const int32_t labels[B] = {0, 6, 3, 3, 1};
  fill(logits, B * K, 21, 8.0f);
  aihw_module *lsm = NULL;
  CHECK_OK(aihw_activation_create(AIHW_MODULE_LOGSOFTMAX, K, &lsm));
  CHECK_OK(aihw_module_forward(lsm, logits, B, K, logp, K));
  CHECK_OK(aihw_loss_nll(logp, labels, B, K, &nll, dlogp));
  CHECK_OK(aihw_module_backward(lsm, dlogp, B, K, dx, K));
  CHECK_OK(aihw_loss_cross_entropy(logits, labels, B, K, &ce, dce));
  CHECK_NEAR(nll, ce, 1e-6 * fabs(ce));
  for (int k = 0; k < B * K; ++k)
    CHECK_NEAR(dx[k], dce[k], 1e-7);
  /* NLL by hand: -mean of the picked entries, gradient -1/B there */
  double want = 0.0;
  for (int b = 0; b < B; ++b)
    want -= logp[b * K + labels[b]];
  CHECK_NEAR(nll, want / B, 1e-6);
  CHECK_FEQ(dlogp[1 * K + 6], -0.2f);
  CHECK_FEQ(dlogp[1 * K + 5], 0.0f);
  const int32_t bad[B] = {0, 7, 0, 0, 0};
  CHECK_STATUS(aihw_loss_nll(logp, bad, B, K, &nll, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("labels[1]");
  logp[3] = NAN;
  CHECK_STATUS(aihw_loss_nll(logp, labels, B, K, &nll, NULL), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("logp[0][3]");
  aihw_module_destroy(lsm);
}

/* ---- Errors -------------------------------------------------------------------------------
 */

static void bad_arguments_are_named_errors(void) {
  aihw_module *m = NULL;
  CHECK_STATUS(aihw_dropout_create(4, 1.0f, 0, 0, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("p = 1");
  CHECK_STATUS(aihw_dropout_create(4, -0.1f, 0, 0, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_dropout_create(4, NAN, 0, 0, &m), AIHW_ERR_NOT_FINITE);
  CHECK_STATUS(aihw_dropout_create(0, 0.1f, 0, 0, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("features");
  CHECK(m == NULL);
  aihw_batchnorm_params p = aihw_batchnorm_params_default();
  p.eps = 0.0f;
  CHECK_STATUS(aihw_batchnorm1d_create(3, 1, &p, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("eps");
  p = aihw_batchnorm_params_default();
  p.momentum = 1.5f;
  CHECK_STATUS(aihw_batchnorm2d_create(3, 2, 2, &p, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("momentum");
  p.momentum = INFINITY;
  CHECK_STATUS(aihw_batchnorm_params_validate(&p, "bn"), AIHW_ERR_NOT_FINITE);
  CHECK_STATUS(aihw_batchnorm2d_create(3, 0, 2, NULL, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("height");
  CHECK_STATUS(aihw_digital_linear_create(0, 3, 1, 0, 0, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("in_features");
  CHECK_STATUS(aihw_digital_linear_create(3, 3, 2, 0, 0, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("bias");
  CHECK(m == NULL);
  /* training BatchNorm needs more than one value per channel, as torch */
  CHECK_OK(aihw_batchnorm1d_create(2, 1, NULL, &m));
  CHECK_OK(aihw_module_set_training(m, 1));
  const float x[2] = {1, 2};
  float y[2] = {7, 7};
  CHECK_STATUS(aihw_module_forward(m, x, 1, 2, y, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("more than 1 value per channel");
  int64_t tracked = -1;
  CHECK_OK(aihw_batchnorm_get_running_stats(m, NULL, NULL, &tracked));
  CHECK(tracked == 0 && y[0] == 7.0f);
  const float bad[2] = {1.0f, NAN};
  CHECK_STATUS(aihw_batchnorm_set_affine(m, bad, NULL), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("gamma[1]");
  aihw_module_destroy(m);
  m = NULL;
  CHECK_OK(aihw_digital_linear_create(2, 2, 1, 0, 0, &m));
  float w[4] = {1, 2, INFINITY, 4}, w0[4], w1[4];
  CHECK_OK(aihw_digital_linear_get_weights(m, w0, NULL));
  CHECK_STATUS(aihw_digital_linear_set_weights(m, w, NULL), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("w[1][0]");
  CHECK_OK(aihw_digital_linear_get_weights(m, w1, NULL));
  CHECK(memcmp(w0, w1, sizeof w0) == 0);
  CHECK_STATUS(aihw_linear_get_weights(m, w1, NULL, 1), AIHW_ERR_INVALID_ARGUMENT);
  aihw_module_destroy(m);
  CHECK_STATUS(aihw_activation_create(AIHW_MODULE_DIGITAL_LINEAR, 3, &m),
               AIHW_ERR_INVALID_ARGUMENT);
}

static void digital_layers_chain_in_a_sequential(void) {
  aihw_module *net = NULL, *m = NULL;
  CHECK_OK(aihw_sequential_create(&net));
  CHECK_OK(aihw_digital_linear_create(4, 6, 1, 1, 0, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_batchnorm1d_create(6, 1, NULL, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_RELU, 6, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_dropout_create(6, 0.2f, 1, 1, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_digital_linear_create(6, 3, 1, 1, 2, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_LOGSOFTMAX, 3, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_module_set_training(net, 1));
  /* learns 8 fixed samples of 3 classes: NLL falls by more than half in 40 steps (it does
   * in 15 already; fixed seeds, deterministic) */
  float x[8 * 4], y[8 * 3], dy[8 * 3], first = 0, loss = 0;
  const int32_t labels[8] = {0, 1, 2, 0, 1, 2, 0, 1};
  fill(x, 8 * 4, 3, 1.0f);
  for (int it = 0; it < 40; ++it) {
    CHECK_OK(aihw_module_forward(net, x, 8, 4, y, 3));
    CHECK_OK(aihw_loss_nll(y, labels, 8, 3, &loss, dy));
    if (it == 0)
      first = loss;
    CHECK_OK(aihw_module_backward(net, dy, 8, 3, NULL, 4));
    aihw_sgd_params sgd = aihw_sgd_params_default(0.1f);
    sgd.momentum = 0.9f;
    CHECK_OK(aihw_module_step_sgd(net, &sgd));
  }
  CHECK(loss < 0.5f * first);
  aihw_module_destroy(net);
}

/* Builds and trains (momentum) a network of every digital kind, exports its state, saves it
 * to `path` when `save` is set, and rebuilds a network from the file at `path`. */
static aihw_status build_train_save(const char *path, int save) {
  aihw_module *net = NULL, *m = NULL;
  aihw_status st = aihw_sequential_create(&net);
  if (st == AIHW_OK && (st = aihw_digital_linear_create(3, 4, 1, 1, 0, &m)) == AIHW_OK)
    st = aihw_sequential_append(net, m);
  if (st == AIHW_OK && (st = aihw_batchnorm2d_create(1, 2, 2, NULL, &m)) == AIHW_OK)
    st = aihw_sequential_append(net, m);
  if (st == AIHW_OK && (st = aihw_dropout_create(4, 0.5f, 1, 1, &m)) == AIHW_OK)
    st = aihw_sequential_append(net, m);
  if (st == AIHW_OK && (st = aihw_activation_create(AIHW_MODULE_SOFTMAX, 4, &m)) == AIHW_OK)
    st = aihw_sequential_append(net, m);
  if (st == AIHW_OK)
    st = aihw_module_set_training(net, 1);
  const float x[6] = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f};
  const float dy[8] = {0.1f, -0.1f, 0.2f, 0.0f, 0.3f, -0.2f, 0.1f, 0.05f};
  float y[8];
  aihw_sgd_params sgd = aihw_sgd_params_default(0.1f);
  sgd.momentum = 0.5f;
  if (st == AIHW_OK)
    st = aihw_module_forward(net, x, 2, 3, y, 4);
  if (st == AIHW_OK)
    st = aihw_module_backward(net, dy, 2, 4, NULL, 3);
  if (st == AIHW_OK)
    st = aihw_module_step_sgd(net, &sgd);
  if (st == AIHW_OK && save) /* the file is written once; the loop below only exports */
    st = aihw_module_save(net, path);
  aihw_st_dict *dict = NULL;
  if (st == AIHW_OK)
    st = aihw_st_dict_create(&dict);
  if (st == AIHW_OK)
    st = aihw_module_state_export(net, dict);
  aihw_st_dict_destroy(dict);
  aihw_module *back = NULL;
  if (st == AIHW_OK)
    st = aihw_module_load_new(path, &back);
  aihw_module_destroy(back);
  aihw_module_destroy(net);
  return st;
}

static void allocation_failures_are_clean(void) {
  char path[128];
  snprintf(path, sizeof path, "/tmp/aihw_test_digital_alloc_%d.safetensors", (int)getpid());
  CHECK_OK(build_train_save(path, 1));
  int completed = 0;
  for (long n = 1; n < 2000 && !completed; ++n) {
    aihw_alloc_fail_after(n);
    const aihw_status st = build_train_save(path, 0);
    aihw_alloc_fail_after(0);
    CHECK(st == AIHW_OK || st == AIHW_ERR_OUT_OF_MEMORY);
    completed = st == AIHW_OK;
  }
  CHECK(completed);
  remove(path);
}

TEST_MAIN(TEST(digital_linear_equals_fp_tile_network),
          TEST(digital_linear_gradients_match_float64),
          TEST(digital_linear_is_thread_count_independent),
          TEST(backward_of_every_layer_matches_finite_differences),
          TEST(batchnorm_matches_hand_computed_values),
          TEST(batchnorm2d_statistics_and_affine_gradients), TEST(batchnorm_options),
          TEST(dropout_keeps_1_minus_p_with_inverted_scaling),
          TEST(dropout_masks_are_reproducible), TEST(softmax_is_stable_at_large_logits),
          TEST(logsoftmax_plus_nll_equals_cross_entropy), TEST(bad_arguments_are_named_errors),
          TEST(digital_layers_chain_in_a_sequential), TEST(allocation_failures_are_clean))
