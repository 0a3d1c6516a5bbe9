/* The optimizer (nn.h "Optimizer"): torch SGD sequences for digital parameters (momentum,
 * dampening, Nesterov, weight decay) against hand-computed values and exactly against the
 * same float operations in torch's order; analog tiles use the learning rate only;
 * aihw_module_step = step_sgd with defaults; LR schedules against torch's closed forms;
 * validation errors name the field. */
#include <math.h>
#include <string.h>

#include "aihw/nn.h"
#include "test_util.h"

/* A DIGITAL_LINEAR 1 -> 1 layer with bias, weight w0 and bias 0. With x = 1 and dy = 1 the
 * weight gradient and the bias gradient are exactly 1 at every step. */
static aihw_module *unit_layer(float w0) {
  aihw_module *m = NULL;
  CHECK_OK(aihw_digital_linear_create(1, 1, 1, 0, 0, &m));
  const float w = w0, b = 0.0f;
  CHECK_OK(aihw_digital_linear_set_weights(m, &w, &b));
  CHECK_OK(aihw_module_set_training(m, 1));
  return m;
}

static void unit_step(aihw_module *m, const aihw_sgd_params *sgd, float *w, float *b) {
  const float x = 1.0f, dy = 1.0f;
  float y = 0.0f;
  CHECK_OK(aihw_module_forward(m, &x, 1, 1, &y, 1));
  CHECK_OK(aihw_module_backward(m, &dy, 1, 1, NULL, 1));
  CHECK_OK(aihw_module_step_sgd(m, sgd));
  CHECK_OK(aihw_digital_linear_get_weights(m, w, b));
}

/* torch.optim.SGD on p = 1 with gradient 1 (or g = 1 + wd p), lr 0.1, worked by hand:
 *   momentum 0.9:            buf 1, 1.9, 2.71          p 0.9, 0.71, 0.439
 *   momentum 0.9, damp 0.5:  buf 1, 1.4, 1.76          p 0.9, 0.76, 0.584
 *   Nesterov 0.9:            buf 1, 1.9; g 1.9, 2.71   p 0.81, 0.539
 *   weight decay 0.1:        g 1.1, 1.089              p 0.89, 0.7811
 * (the first momentum step copies the gradient: no dampening on it, as torch). */
static void sgd_sequences_match_hand_computed_torch_values(void) {
  struct {
    aihw_sgd_params sgd;
    int steps;
    double p[3];
  } cases[4] = {
      {{0.1f, 0.9f, 0.0f, 0.0f, 0}, 3, {0.9, 0.71, 0.439}},
      {{0.1f, 0.9f, 0.5f, 0.0f, 0}, 3, {0.9, 0.76, 0.584}},
      {{0.1f, 0.9f, 0.0f, 0.0f, 1}, 2, {0.81, 0.539, 0}},
      {{0.1f, 0.0f, 0.0f, 0.1f, 0}, 2, {0.89, 0.7811, 0}},
  };
  for (int c = 0; c < 4; ++c) {
    aihw_module *m = unit_layer(1.0f);
    for (int s = 0; s < cases[c].steps; ++s) {
      float w = 0, b = 0;
      unit_step(m, &cases[c].sgd, &w, &b);
      CHECK_NEAR(w, cases[c].p[s], 2e-7);
    }
    aihw_module_destroy(m);
  }
}

/* The same sequences bit for bit against torch's operations in float (momentum, dampening,
 * Nesterov and weight decay together), for the weight and the bias (bias p starts at 0). */
static void sgd_sequences_match_torch_float_operations_exactly(void) {
  const aihw_sgd_params all[3] = {{0.05f, 0.8f, 0.25f, 0.01f, 0},
                                  {0.05f, 0.8f, 0.0f, 0.01f, 1},
                                  {0.3f, 0.0f, 0.0f, 0.2f, 0}};
  for (int c = 0; c < 3; ++c) {
    const aihw_sgd_params *p = &all[c];
    aihw_module *m = unit_layer(1.5f);
    float pw = 1.5f, pb = 0.0f, bw = 0.0f, bb = 0.0f;
    for (int s = 0; s < 5; ++s) {
      float w = 0, b = 0;
      unit_step(m, p, &w, &b);
      float *pv[2] = {&pw, &pb}, *bv[2] = {&bw, &bb};
      for (int t = 0; t < 2; ++t) {
        float g = 1.0f;
        g = g + p->weight_decay * *pv[t];
        if (p->momentum != 0.0f) {
          *bv[t] = s == 0 ? g : p->momentum * *bv[t] + (1.0f - p->dampening) * g;
          g = p->nesterov ? g + p->momentum * *bv[t] : *bv[t];
        }
        *pv[t] = *pv[t] - p->lr * g;
      }
      CHECK_FEQ(w, pw);
      CHECK_FEQ(b, pb);
    }
    aihw_module_destroy(m);
  }
}

/* Analog tiles take the learning rate only (aihwkit's AnalogSGD): an FP-tile LINEAR layer
 * stepped with momentum and weight decay has the same tile weights as one stepped with
 * plain SGD, while its digital bias follows torch SGD with momentum. */
static void analog_tiles_ignore_momentum_digital_bias_does_not(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  aihw_module *a = NULL, *b = NULL;
  CHECK_OK(aihw_linear_create(&c, NULL, 1, 1, 1, &a));
  CHECK_OK(aihw_linear_create(&c, NULL, 1, 1, 1, &b));
  const float w0 = 0.5f, b0 = 0.0f;
  CHECK_OK(aihw_linear_set_weights(a, &w0, &b0, 1));
  CHECK_OK(aihw_linear_set_weights(b, &w0, &b0, 1));
  CHECK_OK(aihw_module_set_training(a, 1));
  CHECK_OK(aihw_module_set_training(b, 1));
  aihw_sgd_params mom = aihw_sgd_params_default(0.1f);
  mom.momentum = 0.9f;
  mom.weight_decay = 0.5f;
  const aihw_sgd_params plain = aihw_sgd_params_default(0.1f);
  const double want_bias[2] = {-0.1, -0.1 - 0.1 * (0.9 * 1.0 + (1.0 - 0.05))};
  for (int s = 0; s < 2; ++s) {
    const float x = 1.0f, dy = 1.0f;
    float y, wa, ba, wb, bb;
    CHECK_OK(aihw_module_forward(a, &x, 1, 1, &y, 1));
    CHECK_OK(aihw_module_forward(b, &x, 1, 1, &y, 1));
    CHECK_OK(aihw_module_backward(a, &dy, 1, 1, NULL, 1));
    CHECK_OK(aihw_module_backward(b, &dy, 1, 1, NULL, 1));
    CHECK_OK(aihw_module_step_sgd(a, &mom));
    CHECK_OK(aihw_module_step_sgd(b, &plain));
    CHECK_OK(aihw_linear_get_weights(a, &wa, &ba, 1));
    CHECK_OK(aihw_linear_get_weights(b, &wb, &bb, 1));
    CHECK_FEQ(wa, wb);
    /* bias: g = 1 + 0.5 p; step 1: p 0 -> g 1, buf 1, p -0.1; step 2: g 0.95,
     * buf 0.9 + 0.95, p -0.1 - 0.1 x 1.85 */
    CHECK_NEAR(ba, want_bias[s], 1e-7);
  }
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

/* aihw_module_step(lr) and step_sgd(default(lr)) give the same bits on a mixed network. */
static void step_equals_step_sgd_with_defaults(void) {
  aihw_module *nets[2];
  for (int n = 0; n < 2; ++n) {
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
    c.seed = 5;
    aihw_module *m = NULL;
    CHECK_OK(aihw_sequential_create(&nets[n]));
    CHECK_OK(aihw_linear_create(&c, NULL, 4, 6, 1, &m));
    CHECK_OK(aihw_sequential_append(nets[n], m));
    CHECK_OK(aihw_batchnorm1d_create(6, 1, NULL, &m));
    CHECK_OK(aihw_sequential_append(nets[n], m));
    CHECK_OK(aihw_digital_linear_create(6, 2, 1, 5, 1, &m));
    CHECK_OK(aihw_sequential_append(nets[n], m));
    CHECK_OK(aihw_module_set_training(nets[n], 1));
  }
  float x[12] = {0.1f, -0.4f, 0.9f, 0.3f, 0.2f, 0.5f, -0.7f, 0.8f, -0.2f, 0.6f, 0.1f, -0.9f};
  float y[2][6], dy[6] = {0.3f, -0.2f, 0.1f, 0.4f, -0.5f, 0.2f};
  const aihw_sgd_params sgd = aihw_sgd_params_default(0.2f);
  for (int s = 0; s < 3; ++s)
    for (int n = 0; n < 2; ++n) {
      CHECK_OK(aihw_module_forward(nets[n], x, 3, 4, y[n], 2));
      CHECK_OK(aihw_module_backward(nets[n], dy, 3, 2, NULL, 4));
      CHECK_OK(n == 0 ? aihw_module_step(nets[n], 0.2f) : aihw_module_step_sgd(nets[n], &sgd));
    }
  CHECK(memcmp(y[0], y[1], sizeof y[0]) == 0);
  float w0[12], w1[12], g0[6], g1[6];
  CHECK_OK(aihw_digital_linear_get_weights(aihw_module_child(nets[0], 2), w0, NULL));
  CHECK_OK(aihw_digital_linear_get_weights(aihw_module_child(nets[1], 2), w1, NULL));
  CHECK(memcmp(w0, w1, sizeof w0) == 0);
  CHECK_OK(aihw_batchnorm_get_affine(aihw_module_child(nets[0], 1), g0, NULL));
  CHECK_OK(aihw_batchnorm_get_affine(aihw_module_child(nets[1], 1), g1, NULL));
  CHECK(memcmp(g0, g1, sizeof g0) == 0);
  aihw_module_destroy(nets[0]);
  aihw_module_destroy(nets[1]);
}

static void bad_sgd_params_are_named_and_change_nothing(void) {
  aihw_module *m = unit_layer(1.0f);
  const float x = 1.0f, dy = 1.0f;
  float y, w, b;
  CHECK_OK(aihw_module_forward(m, &x, 1, 1, &y, 1));
  CHECK_OK(aihw_module_backward(m, &dy, 1, 1, NULL, 1));
  struct {
    aihw_sgd_params p;
    aihw_status st;
    const char *name;
  } bad[] = {
      {{-0.1f, 0, 0, 0, 0}, AIHW_ERR_INVALID_ARGUMENT, "lr"},
      {{NAN, 0, 0, 0, 0}, AIHW_ERR_NOT_FINITE, "lr"},
      {{0.1f, -0.5f, 0, 0, 0}, AIHW_ERR_INVALID_ARGUMENT, "momentum"},
      {{0.1f, 0.5f, 1.5f, 0, 0}, AIHW_ERR_INVALID_ARGUMENT, "dampening"},
      {{0.1f, 0.5f, 0, -1.0f, 0}, AIHW_ERR_INVALID_ARGUMENT, "weight_decay"},
      {{0.1f, 0.5f, 0, INFINITY, 0}, AIHW_ERR_NOT_FINITE, "weight_decay"},
      {{0.1f, 0.5f, 0, 0, 2}, AIHW_ERR_INVALID_ARGUMENT, "nesterov"},
      {{0.1f, 0.0f, 0, 0, 1}, AIHW_ERR_INVALID_ARGUMENT, "momentum > 0"},
      {{0.1f, 0.5f, 0.1f, 0, 1}, AIHW_ERR_INVALID_ARGUMENT, "dampening = 0"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) {
    CHECK_STATUS(aihw_module_step_sgd(m, &bad[k].p), bad[k].st);
    CHECK_ERROR_MENTIONS(bad[k].name);
    CHECK_ERROR_MENTIONS("aihw_module_step_sgd");
  }
  CHECK_STATUS(aihw_module_step_sgd(m, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_OK(aihw_digital_linear_get_weights(m, &w, &b));
  CHECK_FEQ(w, 1.0f);
  /* the gradients are still there for a valid step */
  const aihw_sgd_params ok = aihw_sgd_params_default(0.5f);
  CHECK_OK(aihw_module_step_sgd(m, &ok));
  CHECK_OK(aihw_digital_linear_get_weights(m, &w, &b));
  CHECK_FEQ(w, 0.5f);
  CHECK_STATUS(aihw_module_step_sgd(m, &ok), AIHW_ERR_STATE);
  aihw_module_destroy(m);
}

/* torch StepLR(step_size 3, gamma 0.5) and CosineAnnealingLR(T_max 10, eta_min 0.001)
 * from base lr 0.1: lr_e = 0.1 x 0.5^floor(e / 3) and 0.001 + 0.099 (1 + cos(pi e / 10)) / 2,
 * to float rounding (half an ulp of 0.1 = 3.7e-9 bounds it: tolerance 4e-9). */
static void schedules_follow_torch_closed_forms(void) {
  aihw_lr_schedule s = aihw_lr_schedule_default();
  float lr = -1.0f;
  CHECK_OK(aihw_lr_at(&s, 0.1f, 7, &lr));
  CHECK_FEQ(lr, 0.1f);
  s.kind = AIHW_LR_STEP;
  s.step_size = 3;
  s.gamma = 0.5f;
  const double step_want[10] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125};
  for (int e = 0; e < 10; ++e) {
    CHECK_OK(aihw_lr_at(&s, 0.1f, e, &lr));
    CHECK_NEAR(lr, step_want[e], 4e-9);
  }
  s.kind = AIHW_LR_COSINE;
  s.t_max = 10;
  s.eta_min = 0.001f;
  CHECK_OK(aihw_lr_at(&s, 0.1f, 0, &lr));
  CHECK_FEQ(lr, 0.1f);
  CHECK_OK(aihw_lr_at(&s, 0.1f, 5, &lr));
  CHECK_NEAR(lr, 0.0505, 4e-9);
  CHECK_OK(aihw_lr_at(&s, 0.1f, 10, &lr));
  CHECK_NEAR(lr, 0.001, 4e-9);
  CHECK_OK(aihw_lr_at(&s, 0.1f, 2, &lr));
  CHECK_NEAR(lr, 0.001 + 0.099 * (1.0 + cos(3.14159265358979 * 0.2)) / 2.0, 4e-9);
  CHECK_OK(aihw_lr_at(&s, 0.1f, 15, &lr)); /* the closed form continues periodically */
  CHECK_NEAR(lr, 0.0505, 4e-9);
}

static void bad_schedules_are_named_errors(void) {
  aihw_lr_schedule s = aihw_lr_schedule_default();
  float lr = 7.0f;
  s.kind = AIHW_LR_STEP;
  s.step_size = 0;
  CHECK_STATUS(aihw_lr_at(&s, 0.1f, 0, &lr), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("step_size");
  s.step_size = 2;
  s.gamma = -1.0f;
  CHECK_STATUS(aihw_lr_schedule_validate(&s), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("gamma");
  s.gamma = NAN;
  CHECK_STATUS(aihw_lr_schedule_validate(&s), AIHW_ERR_NOT_FINITE);
  s = aihw_lr_schedule_default();
  s.kind = AIHW_LR_COSINE;
  s.t_max = 0;
  CHECK_STATUS(aihw_lr_at(&s, 0.1f, 0, &lr), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("t_max");
  s.t_max = 5;
  s.eta_min = -0.1f;
  CHECK_STATUS(aihw_lr_at(&s, 0.1f, 0, &lr), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("eta_min");
  s.eta_min = 0.0f;
  CHECK_STATUS(aihw_lr_at(&s, 0.1f, -1, &lr), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("epoch");
  CHECK_STATUS(aihw_lr_at(&s, -0.1f, 0, &lr), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("base_lr");
  CHECK_STATUS(aihw_lr_at(&s, INFINITY, 0, &lr), AIHW_ERR_NOT_FINITE);
  s.kind = (aihw_lr_schedule_kind)9;
  CHECK_STATUS(aihw_lr_at(&s, 0.1f, 0, &lr), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("kind");
  CHECK_STATUS(aihw_lr_at(NULL, 0.1f, 0, &lr), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_FEQ(lr, 7.0f);
}

TEST_MAIN(TEST(sgd_sequences_match_hand_computed_torch_values),
          TEST(sgd_sequences_match_torch_float_operations_exactly),
          TEST(analog_tiles_ignore_momentum_digital_bias_does_not),
          TEST(step_equals_step_sgd_with_defaults),
          TEST(bad_sgd_params_are_named_and_change_nothing),
          TEST(schedules_follow_torch_closed_forms), TEST(bad_schedules_are_named_errors))
