/* The digital periphery of a LINEAR layer (reference §1.4, §7.3 learn_out_scaling, §8.3
 * input-range learning, handle_output_bound): exact forwards on crafted inputs through
 * FLOATING_POINT tiles (exact products), the learned-scale gradient against central finite
 * differences of a linear loss, the input-range gradient and its init-from-data averaging
 * on crafted inputs, the output-bound mask on a crafted saturating input, and the state of
 * all of it surviving a dict round trip bit for bit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/aihw.h"
#include "test_util.h"

static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t x = seed;
  for (int64_t k = 0; k < n; ++k) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[k] = scale * ((float)(x >> 8) * 0x1p-23f - 1.0f);
  }
}

static aihw_module *fp_linear(aihw_mapping_params mp, int64_t in, int64_t out, int bias) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  c.seed = 5;
  aihw_module *m = NULL;
  CHECK_OK(aihw_linear_create(&c, &mp, in, out, bias, &m));
  return m;
}

/* ---- learned output scales ---------------------------------------------------------------- */

static void learned_scales_multiply_before_the_bias(void) {
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.learn_out_scaling = 1;
  mp.out_scaling_columnwise = 1;
  aihw_module *m = fp_linear(mp, 2, 3, 1);
  const float w[6] = {1.0f, 2.0f, -1.0f, 0.5f, 0.25f, 4.0f}, b[3] = {0.5f, -1.0f, 2.0f};
  CHECK_OK(aihw_linear_set_weights(m, w, b, 1));
  int64_t n = 0;
  CHECK_OK(aihw_linear_get_out_scaling(m, NULL, 0, &n));
  CHECK(n == 3);
  float alpha[3];
  CHECK_OK(aihw_linear_get_out_scaling(m, alpha, 3, NULL));
  CHECK(alpha[0] == 1.0f && alpha[1] == 1.0f && alpha[2] == 1.0f);
  const float a[3] = {2.0f, 0.5f, -3.0f};
  CHECK_OK(aihw_linear_set_out_scaling(m, a, 3));
  const float x[2] = {1.0f, 2.0f};
  float y[3];
  CHECK_OK(aihw_module_forward(m, x, 1, 2, y, 3));
  /* W x = [5, 0, 8.25]; y = alpha (.) W x + b */
  CHECK_FEQ(y[0], 2.0f * 5.0f + 0.5f);
  CHECK_FEQ(y[1], 0.5f * 0.0f - 1.0f);
  CHECK_FEQ(y[2], -3.0f * 8.25f + 2.0f);
  /* logical weights include alpha; set_weights resets alpha to 1 (aihwkit set_scales) */
  float wl[6], bl[3];
  CHECK_OK(aihw_linear_get_weights(m, wl, bl, 1));
  CHECK_FEQ(wl[0], 2.0f);
  CHECK_FEQ(wl[5], -12.0f);
  CHECK_FEQ(bl[1], -1.0f);
  CHECK_OK(aihw_linear_set_weights(m, wl, bl, 1));
  CHECK_OK(aihw_linear_get_out_scaling(m, alpha, 3, NULL));
  CHECK(alpha[0] == 1.0f && alpha[1] == 1.0f && alpha[2] == 1.0f);
  float y2[3];
  CHECK_OK(aihw_module_forward(m, x, 1, 2, y2, 3));
  CHECK(memcmp(y, y2, sizeof y) == 0); /* same function */
  /* errors */
  const float bad[3] = {1.0f, NAN, 1.0f};
  CHECK_STATUS(aihw_linear_set_out_scaling(m, bad, 3), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("alpha[1]");
  CHECK_STATUS(aihw_linear_set_out_scaling(m, a, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("3 values");
  aihw_module *plain = fp_linear(aihw_mapping_params_default(), 2, 3, 1);
  CHECK_STATUS(aihw_linear_get_out_scaling(plain, alpha, 3, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("learn_out_scaling");
  aihw_module_destroy(plain);
  aihw_module_destroy(m);
}

/* L = sum c (.) y for fixed x, c: dL/dalpha_k by central differences (double), against the
 * gradient the SGD step applies (alpha_before - alpha_after) / lr. */
static void check_alpha_gradient(int columnwise) {
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.learn_out_scaling = 1;
  mp.out_scaling_columnwise = columnwise;
  mp.max_input_size = 3; /* 6 inputs: two input blocks, each tile its own alpha */
  mp.max_output_size = 0;
  aihw_module *m = fp_linear(mp, 6, 4, 1);
  int64_t n = 0;
  CHECK_OK(aihw_linear_get_out_scaling(m, NULL, 0, &n));
  CHECK(n == (columnwise ? 8 : 2));
  float a0[8];
  fill(a0, n, 3, 1.0f);
  for (int64_t k = 0; k < n; ++k)
    a0[k] += 1.5f;
  CHECK_OK(aihw_linear_set_out_scaling(m, a0, n));
  float x[18], c[12], y[12];
  fill(x, 18, 7, 1.0f);
  fill(c, 12, 9, 1.0f);
  double fd[8];
  for (int64_t k = 0; k < n; ++k) {
    double l[2];
    float a[2][8]; /* alpha + h e_k, alpha - h e_k */
    for (int side = 0; side < 2; ++side) {
      memcpy(a[side], a0, sizeof a[side]);
      a[side][k] += side ? -1e-2f : 1e-2f;
      CHECK_OK(aihw_linear_set_out_scaling(m, a[side], n));
      CHECK_OK(aihw_module_forward(m, x, 3, 6, y, 4));
      l[side] = 0.0;
      for (int j = 0; j < 12; ++j)
        l[side] += (double)c[j] * (double)y[j];
    }
    fd[k] = (l[0] - l[1]) / ((double)a[0][k] - (double)a[1][k]);
  }
  CHECK_OK(aihw_linear_set_out_scaling(m, a0, n));
  CHECK_OK(aihw_module_set_training(m, 1));
  CHECK_OK(aihw_module_forward(m, x, 3, 6, y, 4));
  CHECK_OK(aihw_module_backward(m, c, 3, 4, NULL, 6));
  const float lr = 0.5f;
  CHECK_OK(aihw_module_step(m, lr));
  float a1[8];
  CHECK_OK(aihw_linear_get_out_scaling(m, a1, n, NULL));
  for (int64_t k = 0; k < n; ++k) {
    const double g = ((double)a0[k] - (double)a1[k]) / (double)lr;
    /* L is linear in alpha: the differences are exact up to float rounding of y (|y| < 10,
     * eps 6e-8, over 12 terms, divided by 0.02): < 1e-3 absolute */
    CHECK_NEAR(g, fd[k], 1e-3 + 1e-4 * fabs(fd[k]));
    CHECK(fabs(fd[k]) > 1e-3); /* a test that can fail */
  }
  aihw_module_destroy(m);
}

static void alpha_gradient_matches_finite_differences_columnwise(void) { check_alpha_gradient(1); }
static void alpha_gradient_matches_finite_differences_scalar(void) { check_alpha_gradient(0); }

static void alpha_follows_momentum_sgd(void) {
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.learn_out_scaling = 1; /* scalar: one alpha */
  aihw_module *m = fp_linear(mp, 2, 1, 0);
  const float w[2] = {1.0f, 1.0f};
  CHECK_OK(aihw_linear_set_weights(m, w, NULL, 1));
  CHECK_OK(aihw_module_set_training(m, 1));
  /* x = (1, 1): y_pre = 2 (FP tile); dy = 1 => g = 2 on the first step. The tile update with
   * lr 0 keeps W, so the second gradient is 2 as well. */
  const float x[2] = {1.0f, 1.0f}, dy[1] = {1.0f};
  float y[1];
  aihw_sgd_params sgd = aihw_sgd_params_default(0.0f);
  sgd.momentum = 0.5f;
  for (int step = 0; step < 2; ++step) {
    CHECK_OK(aihw_module_forward(m, x, 1, 2, y, 1));
    CHECK_OK(aihw_module_backward(m, dy, 1, 1, NULL, 2));
    CHECK_OK(aihw_module_step_sgd(m, &sgd));
  }
  float a = 0.0f;
  CHECK_OK(aihw_linear_get_out_scaling(m, &a, 1, NULL));
  CHECK_FEQ(a, 1.0f); /* lr 0 */
  sgd.lr = 0.25f;
  CHECK_OK(aihw_module_forward(m, x, 1, 2, y, 1));
  CHECK_OK(aihw_module_backward(m, dy, 1, 1, NULL, 2));
  CHECK_OK(aihw_module_step_sgd(m, &sgd));
  /* buf = 2 (first), then 0.5 * 2 + 2 = 3, then 0.5 * 3 + 2 = 3.5; alpha = 1 - 0.25 * 3.5 */
  CHECK_OK(aihw_linear_get_out_scaling(m, &a, 1, NULL));
  CHECK_FEQ(a, 1.0f - 0.25f * 3.5f);
  aihw_module_destroy(m);
}

/* ---- handle_output_bound -------------------------------------------------------------------- */

static aihw_module *bounded_layer(aihw_tile_kind kind, int handle) {
  aihw_tile_config c = aihw_tile_config_default(kind);
  aihw_mapping_params mp = aihw_mapping_params_default();
  CHECK(mp.handle_output_bound == 1);
  mp.handle_output_bound = handle;
  c.forward.is_perfect = 1;
  c.forward.out_bound = 1.0f;
  c.backward.is_perfect = 1;
  c.update.pulse_type = AIHW_PULSE_NONE;
  aihw_module *m = NULL;
  CHECK_OK(aihw_linear_create(&c, &mp, 2, 2, 0, &m));
  const float w[4] = {1.0f, 0.0f, 0.0f, 1.0f};
  CHECK_OK(aihw_linear_set_weights(m, w, NULL, 1));
  CHECK_OK(aihw_module_set_training(m, 1));
  return m;
}

static void saturated_outputs_get_no_input_gradient(void) {
  const float x[4] = {2.0f, 0.5f, -0.9995f, 0.998f}; /* |y| = 2, 0.5, 0.9995, 0.998 */
  const float dy[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  float y[4], dx[4];
  aihw_module *m = bounded_layer(AIHW_TILE_INFERENCE, 1); /* IdealDevice: no bounds */
  CHECK_OK(aihw_module_forward(m, x, 2, 2, y, 2));
  CHECK_FEQ(y[0], 2.0f); /* is_perfect: no clipping, but the mask still applies (§1.4) */
  CHECK_OK(aihw_module_backward(m, dy, 2, 2, dx, 2));
  /* bound 0.999: 2 and 0.9995 are masked, 0.5 and 0.998 are not */
  CHECK_FEQ(dx[0], 0.0f);
  CHECK_FEQ(dx[1], 1.0f);
  CHECK_FEQ(dx[2], 0.0f);
  CHECK_FEQ(dx[3], 1.0f);
  /* the update still gets the unmasked d (aihwkit stores grad_output before pre_backward):
   * W -= 0.5 sum_b d_b x_b^T */
  CHECK_OK(aihw_module_step(m, 0.5f));
  float w[4];
  CHECK_OK(aihw_linear_get_weights(m, w, NULL, 1));
  CHECK_NEAR(w[0], 1.0f - 0.5f * (2.0f - 0.9995f), 1e-6);
  CHECK_NEAR(w[1], 0.0f - 0.5f * (0.5f + 0.998f), 1e-6);
  aihw_module_destroy(m);
  /* FLOATING_POINT tiles have no forward IO: no mask (aihwkit's get_forward_out_bound) */
  m = bounded_layer(AIHW_TILE_FLOATING_POINT, 1);
  CHECK_OK(aihw_module_forward(m, x, 2, 2, y, 2));
  CHECK_OK(aihw_module_backward(m, dy, 2, 2, dx, 2));
  CHECK(dx[0] == 1.0f && dx[1] == 1.0f && dx[2] == 1.0f && dx[3] == 1.0f);
  aihw_module_destroy(m);
  /* mapping.handle_output_bound = 0 (aihwkit's torch tiles): no mask; kept by the
   * mapping JSON (written only when 0) and the state's architecture */
  m = bounded_layer(AIHW_TILE_INFERENCE, 0);
  CHECK_OK(aihw_module_forward(m, x, 2, 2, y, 2));
  CHECK_OK(aihw_module_backward(m, dy, 2, 2, dx, 2));
  CHECK(dx[0] == 1.0f && dx[1] == 1.0f && dx[2] == 1.0f && dx[3] == 1.0f);
  CHECK_OK(aihw_module_step(m, 0.0f));
  aihw_module *back = NULL;
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_module_state_dict(m, &d));
  CHECK(strstr(aihw_state_dict_metadata(d, "architecture"), "\"handle_output_bound\":false") !=
        NULL);
  CHECK_OK(aihw_module_from_state_dict(d, &back));
  CHECK_OK(aihw_module_set_training(back, 1));
  CHECK_OK(aihw_module_forward(back, x, 2, 2, y, 2));
  CHECK_OK(aihw_module_backward(back, dy, 2, 2, dx, 2));
  CHECK(dx[0] == 1.0f && dx[2] == 1.0f);
  aihw_state_dict_destroy(d);
  aihw_module_destroy(back);
  aihw_module_destroy(m);
  aihw_mapping_params mp = aihw_mapping_params_default(), mp_back;
  char *text = NULL;
  CHECK_OK(aihw_mapping_params_to_json(&mp, &text));
  CHECK(strstr(text, "handle_output_bound") == NULL);
  free(text);
  mp.handle_output_bound = 0;
  CHECK_OK(aihw_mapping_params_to_json(&mp, &text));
  CHECK_OK(aihw_mapping_params_from_json(text, &mp_back));
  CHECK(mp_back.handle_output_bound == 0);
  free(text);
}

/* ---- input ranges --------------------------------------------------------------------------- */

static aihw_mapping_params range_mapping(float init_value, int64_t init_from_data) {
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.input_range.enable = 1;
  mp.input_range.init_value = init_value;
  mp.input_range.init_from_data = init_from_data;
  return mp;
}

static void input_range_clips_normalises_and_rescales(void) {
  aihw_module *m = fp_linear(range_mapping(1.5f, 0), 3, 3, 0);
  const float eye[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  CHECK_OK(aihw_linear_set_weights(m, eye, NULL, 1));
  const float x[3] = {2.0f, -3.0f, 0.75f};
  float y[3];
  CHECK_OK(aihw_module_forward(m, x, 1, 3, y, 3));
  CHECK_FEQ(y[0], 1.5f);
  CHECK_FEQ(y[1], -1.5f);
  CHECK_FEQ(y[2], 0.75f);
  float r = 0.0f;
  int64_t n = 0;
  CHECK_OK(aihw_linear_get_input_range(m, &r, 1, &n));
  CHECK(n == 1 && r == 1.5f);
  /* a negative range clips at |r| and divides by r: the output sign is restored by x r */
  const float neg = -1.5f;
  CHECK_OK(aihw_linear_set_input_range(m, &neg, 1));
  CHECK_OK(aihw_module_forward(m, x, 1, 3, y, 3));
  CHECK_FEQ(y[0], 1.5f);
  CHECK_FEQ(y[2], 0.75f);
  const float zero = 0.0f;
  CHECK_STATUS(aihw_linear_set_input_range(m, &zero, 1), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("ranges[0]");
  aihw_module_destroy(m);
}

static double unbiased_std(const float *v, int n) {
  double s = 0.0, q = 0.0;
  for (int k = 0; k < n; ++k)
    s += v[k];
  for (int k = 0; k < n; ++k)
    q += (v[k] - s / n) * (v[k] - s / n);
  return sqrt(q / (n - 1));
}

static void input_range_initialises_from_the_first_batches(void) {
  aihw_module *m = fp_linear(range_mapping(3.0f, 2), 4, 2, 0);
  CHECK_OK(aihw_module_set_training(m, 1));
  float x1[8], x2[8], x3[8], y[4];
  fill(x1, 8, 1, 1.0f);
  fill(x2, 8, 2, 2.0f);
  fill(x3, 8, 3, 5.0f);
  const float constant[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  float r = 0.0f;
  CHECK_OK(aihw_module_forward(m, constant, 2, 4, y, 2)); /* std 0: not counted */
  CHECK_OK(aihw_linear_get_input_range(m, &r, 1, NULL));
  CHECK_FEQ(r, 3.0f);
  CHECK_OK(aihw_module_forward(m, x1, 2, 4, y, 2));
  const double r1 = 3.0 * unbiased_std(x1, 8); /* (3 * 0 + 3 std) / 1 */
  CHECK_OK(aihw_linear_get_input_range(m, &r, 1, NULL));
  CHECK_NEAR(r, r1, 1e-6 * r1);
  CHECK_OK(aihw_module_forward(m, x2, 2, 4, y, 2));
  const double r2 = (r1 * 1.0 + 3.0 * unbiased_std(x2, 8)) / 2.0;
  CHECK_OK(aihw_linear_get_input_range(m, &r, 1, NULL));
  CHECK_NEAR(r, r2, 1e-6 * r2);
  CHECK_OK(aihw_module_forward(m, x3, 2, 4, y, 2)); /* init_from_data = 2 batches done */
  CHECK_OK(aihw_linear_get_input_range(m, &r, 1, NULL));
  CHECK_NEAR(r, r2, 1e-6 * r2);
  CHECK(fabs(r2 - 3.0) > 0.1);
  /* evaluation forwards never initialise */
  aihw_module *e = fp_linear(range_mapping(3.0f, 2), 4, 2, 0);
  CHECK_OK(aihw_module_forward(e, x1, 2, 4, y, 2));
  CHECK_OK(aihw_linear_get_input_range(e, &r, 1, NULL));
  CHECK_FEQ(r, 3.0f);
  aihw_module_destroy(e);
  aihw_module_destroy(m);
}

/* One forward/backward/step of an identity layer with range 1 and lr 0.1; returns r after. */
static float range_after_step(const float *x, const float *dy, float decay, int learn) {
  aihw_mapping_params mp = range_mapping(1.0f, 0);
  mp.input_range.decay = decay;
  mp.input_range.learn_input_range = learn;
  aihw_module *m = fp_linear(mp, 2, 2, 0);
  const float eye[4] = {1, 0, 0, 1};
  CHECK_OK(aihw_linear_set_weights(m, eye, NULL, 1));
  CHECK_OK(aihw_module_set_training(m, 1));
  float y[4];
  CHECK_OK(aihw_module_forward(m, x, 2, 2, y, 2));
  CHECK_OK(aihw_module_backward(m, dy, 2, 2, NULL, 2)); /* first layer: no dx, still drho */
  CHECK_OK(aihw_module_step(m, 0.1f));
  float r = 0.0f;
  CHECK_OK(aihw_linear_get_input_range(m, &r, 1, NULL));
  aihw_module_destroy(m);
  return r;
}

static void input_range_gradient_on_crafted_inputs(void) {
  /* identity: dx = dy. x >= 1 at (0,0) with dx -1: min(-1, 0) = -1; x <= -1 at (0,1) with
   * dx 2: -max(2, 0) = -2; the others inside. g = -3, relative: x r gradient_scale = -3;
   * inside fraction 0.5 < 0.95: no decay. r = 1 - 0.1 (-3) = 1.3. */
  const float x[4] = {2.0f, -2.0f, 0.5f, 0.1f}, dy[4] = {-1.0f, 2.0f, 3.0f, 4.0f};
  CHECK_NEAR(range_after_step(x, dy, 0.001f, 1), 1.3f, 1e-6);
  /* clipped elements whose gradient points outwards do not count: (0,0) dx +1, (0,1) dx -2 */
  const float dy_out[4] = {1.0f, -2.0f, 3.0f, 4.0f};
  CHECK_FEQ(range_after_step(x, dy_out, 0.0f, 1), 1.0f);
  /* all inside (fraction 1 > 0.95): decay only, g = 0.01 r; r = 1 - 0.1 * 0.01 */
  const float inside[4] = {0.5f, 0.1f, -0.2f, 0.3f};
  CHECK_NEAR(range_after_step(inside, dy, 0.01f, 1), 0.999f, 1e-7);
  /* learn_input_range = 0: fixed */
  CHECK_FEQ(range_after_step(x, dy, 0.001f, 0), 1.0f);
}

/* ---- state ------------------------------------------------------------------------------------ */

static void periphery_state_round_trips_bit_identically(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 3;
  aihw_mapping_params mp = range_mapping(2.0f, 2);
  mp.learn_out_scaling = 1;
  mp.out_scaling_columnwise = 1;
  mp.weight_scaling_omega = 1.0f;
  mp.max_input_size = 3;
  aihw_module *a = NULL;
  CHECK_OK(aihw_linear_create(&c, &mp, 5, 3, 1, &a));
  CHECK_OK(aihw_module_set_training(a, 1));
  float x[10], dy[6], ya[6], yb[6];
  aihw_sgd_params sgd = aihw_sgd_params_default(0.05f);
  sgd.momentum = 0.9f;
  for (int k = 0; k < 3; ++k) {
    fill(x, 10, 10u + (uint32_t)k, 2.0f);
    fill(dy, 6, 20u + (uint32_t)k, 1.0f);
    CHECK_OK(aihw_module_forward(a, x, 2, 5, ya, 3));
    CHECK_OK(aihw_module_backward(a, dy, 2, 3, NULL, 5));
    CHECK_OK(aihw_module_step_sgd(a, &sgd));
  }
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_module_state_dict(a, &d));
  CHECK(aihw_state_dict_contains(d, "out_scaling_alpha"));
  CHECK(aihw_state_dict_contains(d, "out_scaling_alpha.momentum"));
  CHECK(aihw_state_dict_contains(d, "input_range"));
  CHECK(aihw_state_dict_contains(d, "input_range.momentum"));
  CHECK(aihw_state_dict_contains(d, "input_range_update_idx"));
  CHECK(strstr(aihw_state_dict_metadata(d, "architecture"), "\"pre_post\"") != NULL);
  aihw_module *b = NULL;
  CHECK_OK(aihw_module_from_state_dict(d, &b));
  float ra[2], rb[2];
  CHECK_OK(aihw_linear_get_input_range(b, rb, 2, NULL));
  CHECK_OK(aihw_linear_get_input_range(a, ra, 2, NULL));
  CHECK(memcmp(ra, rb, sizeof ra) == 0);
  for (int k = 0; k < 3; ++k) {
    fill(x, 10, 30u + (uint32_t)k, 2.0f);
    fill(dy, 6, 40u + (uint32_t)k, 1.0f);
    CHECK_OK(aihw_module_forward(a, x, 2, 5, ya, 3));
    CHECK_OK(aihw_module_forward(b, x, 2, 5, yb, 3));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    CHECK_OK(aihw_module_backward(a, dy, 2, 3, NULL, 5));
    CHECK_OK(aihw_module_backward(b, dy, 2, 3, NULL, 5));
    CHECK_OK(aihw_module_step_sgd(a, &sgd));
    CHECK_OK(aihw_module_step_sgd(b, &sgd));
  }
  float aa[6], ab[6];
  CHECK_OK(aihw_linear_get_out_scaling(a, aa, 6, NULL));
  CHECK_OK(aihw_linear_get_out_scaling(b, ab, 6, NULL));
  CHECK(memcmp(aa, ab, sizeof aa) == 0);
  CHECK(aa[0] != 1.0f); /* it did learn */
  /* a strict load without the learned scales names them */
  aihw_state_dict *e = NULL;
  CHECK_OK(aihw_state_dict_create(&e));
  for (size_t k = 0; k < aihw_state_dict_metadata_count(d); ++k) {
    const char *key = NULL, *value = NULL;
    CHECK_OK(aihw_state_dict_metadata_at(d, k, &key, &value));
    CHECK_OK(aihw_state_dict_set_metadata(e, key, value));
  }
  for (size_t k = 0; k < aihw_state_dict_count(d); ++k) {
    aihw_state_tensor t;
    CHECK_OK(aihw_state_dict_at(d, k, &t));
    if (strcmp(t.name, "out_scaling_alpha") != 0)
      CHECK_OK(aihw_state_dict_add(e, t.name, t.dtype, t.shape, t.ndim, t.data));
  }
  CHECK_STATUS(aihw_module_load_state_dict(b, e, 1, AIHW_CONFIG_MUST_MATCH), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("out_scaling_alpha");
  aihw_state_dict_destroy(e);
  /* a zero input range is refused, b unchanged */
  CHECK_OK(aihw_state_dict_create(&e));
  for (size_t k = 0; k < aihw_state_dict_metadata_count(d); ++k) {
    const char *key = NULL, *value = NULL;
    CHECK_OK(aihw_state_dict_metadata_at(d, k, &key, &value));
    CHECK_OK(aihw_state_dict_set_metadata(e, key, value));
  }
  for (size_t k = 0; k < aihw_state_dict_count(d); ++k) {
    aihw_state_tensor t;
    CHECK_OK(aihw_state_dict_at(d, k, &t));
    const float zeros[2] = {1.0f, 0.0f};
    CHECK_OK(aihw_state_dict_add(e, t.name, t.dtype, t.shape, t.ndim,
                                 strcmp(t.name, "input_range") == 0 ? zeros : t.data));
  }
  float before[2], after[2];
  CHECK_OK(aihw_linear_get_input_range(b, before, 2, NULL));
  CHECK_STATUS(aihw_module_load_state_dict(b, e, 1, AIHW_CONFIG_MUST_MATCH), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("input range must be non-zero");
  CHECK_OK(aihw_linear_get_input_range(b, after, 2, NULL));
  CHECK(memcmp(before, after, sizeof before) == 0);
  aihw_state_dict_destroy(e);
  aihw_state_dict_destroy(d);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

static void rpu_config_json_reads_pre_post(void) {
  aihw_tile_config c;
  aihw_mapping_params mp;
  CHECK_OK(aihw_rpu_config_from_json(
      "{\"kind\": \"INFERENCE\", \"mapping\": {\"learn_out_scaling\": true}, "
      "\"pre_post\": {\"input_range\": {\"enable\": true, \"init_value\": 2.5, "
      "\"init_from_data\": 7}}}",
      &c, &mp));
  CHECK(mp.learn_out_scaling == 1 && mp.input_range.enable == 1);
  CHECK_FEQ(mp.input_range.init_value, 2.5f);
  CHECK(mp.input_range.init_from_data == 7);
  CHECK_FEQ(mp.input_range.decay, 0.001f); /* default kept */
  CHECK_STATUS(aihw_rpu_config_from_json(
                   "{\"kind\": \"INFERENCE\", \"pre_post\": {\"input_range\": {\"decai\": 1}}}",
                   &c, &mp),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("decai");
  CHECK_STATUS(aihw_rpu_config_from_json(
                   "{\"kind\": \"INFERENCE\", \"pre_post\": {\"output_range\": {}}}", &c, &mp),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("output_range");
  char *text = NULL;
  aihw_input_range_params ir = aihw_input_range_params_default(), back;
  ir.enable = 1;
  ir.gradient_scale = 0.25f;
  CHECK_OK(aihw_input_range_params_to_json(&ir, &text));
  CHECK_OK(aihw_input_range_params_from_json(text, &back));
  CHECK(memcmp(&ir, &back, sizeof ir) == 0);
  free(text);
}

static void manage_output_clipping_pushes_the_range_down(void) {
  /* identity layer, inference tile with perfect IO and out_bound 1 (bound 0.999), range 1,
   * no data init, decay 0: x = (2, 0.5) in both samples, dy = 0 except sample 0 output 1:
   * y = (1, 0.5) (clipped input 1 times range 1): output 0 hits the bound in both samples:
   * 2 masked of 4 => p = 1 - 2/4 = 0.5 < 0.95: g = 0 (no clipped gradient: x >= r only
   * at input 0, whose dx is 0 because its output is masked) - (1 - 0.5) r = -0.5;
   * r = 1 - 0.1 (-0.5) = 1.05. Without management: g = 0, r stays 1. */
  for (int manage = 0; manage < 2; ++manage) {
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
    c.forward.is_perfect = 1;
    c.forward.out_bound = 1.0f;
    aihw_mapping_params mp = range_mapping(1.0f, 0);
    mp.input_range.decay = 0.0f;
    mp.input_range.manage_output_clipping = manage;
    aihw_module *m = NULL;
    CHECK_OK(aihw_linear_create(&c, &mp, 2, 2, 0, &m));
    const float eye[4] = {1, 0, 0, 1};
    CHECK_OK(aihw_linear_set_weights(m, eye, NULL, 1));
    CHECK_OK(aihw_module_set_training(m, 1));
    const float x[4] = {2.0f, 0.5f, 2.0f, 0.5f}, dy[4] = {0.0f, 1.0f, 0.0f, 0.0f};
    float y[4], dx[4];
    CHECK_OK(aihw_module_forward(m, x, 2, 2, y, 2));
    CHECK_FEQ(y[0], 1.0f);
    CHECK_OK(aihw_module_backward(m, dy, 2, 2, dx, 2));
    CHECK_OK(aihw_module_step(m, 0.1f));
    float r = 0.0f;
    CHECK_OK(aihw_linear_get_input_range(m, &r, 1, NULL));
    if (manage)
      CHECK_NEAR(r, 1.05f, 1e-6);
    else
      CHECK_FEQ(r, 1.0f);
    aihw_module_destroy(m);
  }
}

static void convolutions_carry_the_periphery(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  c.seed = 8;
  aihw_mapping_params mp = range_mapping(3.0f, 5);
  mp.learn_out_scaling = 1;
  aihw_conv_params cp = aihw_conv_params_default(2, 3, 3);
  cp.groups = 1;
  aihw_module *a = NULL;
  CHECK_OK(aihw_conv2d_create(&c, &mp, &cp, 5, 5, &a));
  CHECK_OK(aihw_module_set_training(a, 1));
  float x[2 * 50], y[2 * 27], dy[2 * 27], dx[2 * 50];
  for (int k = 0; k < 2; ++k) {
    fill(x, 100, 60u + (uint32_t)k, 1.0f);
    fill(dy, 54, 70u + (uint32_t)k, 1.0f);
    CHECK_OK(aihw_module_forward(a, x, 2, 50, y, 27));
    CHECK_OK(aihw_module_backward(a, dy, 2, 27, dx, 50));
    CHECK_OK(aihw_module_step(a, 0.1f));
  }
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_module_state_dict(a, &d));
  aihw_state_tensor t;
  CHECK_OK(aihw_state_dict_find(d, "groups.0.input_range", &t));
  CHECK(t.numel == 1 && ((const float *)t.data)[0] != 3.0f); /* initialised from data */
  CHECK_OK(aihw_state_dict_find(d, "groups.0.out_scaling_alpha", &t));
  CHECK(t.numel == 1 && ((const float *)t.data)[0] != 1.0f); /* learned */
  aihw_module *b = NULL;
  CHECK_OK(aihw_module_from_state_dict(d, &b));
  float ya[54], yb[54];
  fill(x, 100, 99, 1.0f);
  CHECK_OK(aihw_module_forward(a, x, 2, 50, ya, 27));
  CHECK_OK(aihw_module_forward(b, x, 2, 50, yb, 27));
  CHECK(memcmp(ya, yb, sizeof ya) == 0);
  aihw_state_dict_destroy(d);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

/* ---- RPU-config presets (§8.2) ---------------------------------------------------------------- */

static void rpu_presets_carry_mapping_and_input_range(void) {
  aihw_tile_config c;
  aihw_mapping_params m;
  CHECK_OK(aihw_rpu_config_preset("StandardHWATrainingPreset", &c, &m));
  CHECK(c.kind == AIHW_TILE_INFERENCE);
  CHECK_FEQ(c.forward.inp_res, 254.0f);
  CHECK_FEQ(c.forward.out_res, 254.0f);
  CHECK(c.forward.bound_management == AIHW_BM_NONE);
  CHECK(c.forward.noise_management == AIHW_NM_CONSTANT);
  CHECK_FEQ(c.forward.nm_thres, 1.0f);
  CHECK_FEQ(c.forward.w_noise, 0.0175f);
  CHECK(c.forward.w_noise_type == AIHW_W_NOISE_PCM_READ);
  CHECK_FEQ(c.forward.ir_drop, 1.0f);
  CHECK_FEQ(c.forward.out_noise, 0.04f);
  CHECK_FEQ(c.forward.out_bound, 10.0f);
  CHECK(c.backward.is_perfect == 1);
  CHECK(c.inference.remap.type == AIHW_REMAP_CHANNELWISE_SYMMETRIC);
  CHECK_FEQ(c.inference.remap.remapped_wmax, 1.0f);
  CHECK(c.inference.clip.type == AIHW_CLIP_FIXED_VALUE);
  CHECK_FEQ(c.inference.clip.fixed_value, 1.0f);
  CHECK(c.inference.noise_model.type == AIHW_NOISE_PCM_LIKE);
  CHECK(c.inference.drift_compensation == AIHW_DRIFT_COMPENSATION_GLOBAL);
  CHECK_FEQ(m.weight_scaling_omega, 1.0f);
  CHECK(m.weight_scaling_columnwise == 1 && m.digital_bias == 1);
  CHECK(m.max_input_size == 512 && m.max_output_size == 0);
  CHECK(m.learn_out_scaling == 1 && m.out_scaling_columnwise == 1);
  CHECK(m.input_range.enable == 1 && m.input_range.learn_input_range == 1);
  CHECK_FEQ(m.input_range.init_value, 3.0f);
  CHECK(m.input_range.init_from_data == 100);
  CHECK_FEQ(m.input_range.init_std_alpha, 3.0f);
  CHECK_FEQ(m.input_range.decay, 0.001f);
  CHECK_FEQ(m.input_range.input_min_percentage, 0.95f);
  CHECK_FEQ(m.input_range.output_min_percentage, 0.95f);
  CHECK(m.input_range.manage_output_clipping == 0 && m.input_range.gradient_relative == 1);
  CHECK_FEQ(m.input_range.gradient_scale, 1.0f);
  /* the PresetIOParameters fields the preset keeps */
  aihw_io_params preset;
  CHECK_OK(aihw_io_params_preset("PresetIOParameters", &preset));
  CHECK_FEQ(c.forward.inp_bound, preset.inp_bound);
  CHECK(c.forward.mv_type == preset.mv_type);

  CHECK_OK(aihw_rpu_config_preset("WebComposerInferenceRPUConfig", &c, &m));
  CHECK(c.kind == AIHW_TILE_INFERENCE);
  CHECK(memcmp(&c.forward, &preset, sizeof preset) == 0);
  CHECK(c.inference.modifier.type == AIHW_MODIFIER_ADD_NORMAL);
  CHECK_FEQ(c.inference.modifier.std_dev, 0.1f);
  CHECK(c.inference.clip.type == AIHW_CLIP_FIXED_VALUE);
  CHECK_FEQ(m.weight_scaling_omega, 1.0f);
  CHECK(m.weight_scaling_columnwise == 1 && m.learn_out_scaling == 1 && m.digital_bias == 1);
  CHECK(m.max_input_size == 512 && m.max_output_size == 512 && m.input_range.enable == 0);

  CHECK_OK(aihw_rpu_config_preset("OldWebComposerInferenceRPUConfig", &c, &m));
  CHECK(m.digital_bias == 0 && m.learn_out_scaling == 0);
  CHECK(m.max_input_size == 0 && m.max_output_size == 0);
  CHECK(c.inference.modifier.type == AIHW_MODIFIER_ADD_NORMAL);

  /* the tile presets pass through with the default mapping */
  aihw_tile_config t;
  CHECK_OK(aihw_rpu_config_preset("ReRamSBPreset", &c, &m));
  CHECK_OK(aihw_tile_config_preset("ReRamSBPreset", &t));
  CHECK(memcmp(&c.device, &t.device, sizeof t.device) == 0);
  aihw_mapping_params d = aihw_mapping_params_default();
  CHECK(memcmp(&m, &d, sizeof d) == 0);
  /* unknown names: everything listed, nothing written */
  c.seed = 77;
  CHECK_STATUS(aihw_rpu_config_preset("StandardHWA", &c, &m), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("StandardHWATrainingPreset");
  CHECK_ERROR_MENTIONS("ReRamSBPreset");
  CHECK(c.seed == 77);
  /* a layer built from the preset: a 784-input layer splits into two blocks of 392 */
  aihw_module *layer = NULL;
  CHECK_OK(aihw_rpu_config_preset("StandardHWATrainingPreset", &c, &m));
  CHECK_OK(aihw_linear_create(&c, &m, 784, 10, 1, &layer));
  int64_t in_splits = 0, out_splits = 0, n = 0;
  CHECK_OK(aihw_linear_tile_grid(layer, &in_splits, &out_splits));
  CHECK(in_splits == 2 && out_splits == 1);
  CHECK_OK(aihw_linear_get_out_scaling(layer, NULL, 0, &n));
  CHECK(n == 20);
  CHECK_OK(aihw_linear_get_input_range(layer, NULL, 0, &n));
  CHECK(n == 2);
  aihw_module_destroy(layer);
}

TEST_MAIN(TEST(learned_scales_multiply_before_the_bias),
          TEST(alpha_gradient_matches_finite_differences_columnwise),
          TEST(alpha_gradient_matches_finite_differences_scalar),
          TEST(alpha_follows_momentum_sgd), TEST(saturated_outputs_get_no_input_gradient),
          TEST(input_range_clips_normalises_and_rescales),
          TEST(input_range_initialises_from_the_first_batches),
          TEST(input_range_gradient_on_crafted_inputs),
          TEST(periphery_state_round_trips_bit_identically),
          TEST(rpu_config_json_reads_pre_post),
          TEST(rpu_presets_carry_mapping_and_input_range),
          TEST(manage_output_clipping_pushes_the_range_down),
          TEST(convolutions_carry_the_periphery))
