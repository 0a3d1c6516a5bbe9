/* The pulsed update's two ways of visiting coincidences give the same bits: every column
 * of a firing sample (dense) or only the columns whose x fires (sparse), with the
 * ConstantStep normals drawn for the whole row or block by block, the trains' uniforms
 * filled for every element or only for those that can fire (src/tile/update.c,
 * aihw_update_sparse_mode). Checked on weights, hidden parameters and pulse counters
 * after several updates, over device models, train lengths (one and two words), sparse
 * and dense inputs, an analog bias column, write noise and devices at their bounds. */
#include <string.h>

#include "aihw/aihw.h"
#include "test_util.h"
#include "tile/tile_internal.h"

enum { OUT = 37, IN = 83, BATCH = 11, ROUNDS = 4 };

typedef struct update_case {
  aihw_device_type type;
  int desired_bl;      /* BL; > 32: two words per train */
  int management;      /* update (and BL) management on */
  float zero_fraction; /* share of x and d entries set to 0 (sparse trains) */
  float lr;
  int analog_bias;
  float write_noise;
  float w_bound; /* small bounds: many devices at a bound (single steps) */
} update_case;

static unsigned lcg(unsigned *st) { return *st = *st * 1664525u + 1013904223u; }

static float uniform_pm1(unsigned *st) {
  return (float)(lcg(st) >> 8) * 0x1p-23f - 1.0f;
}

/* Runs ROUNDS updates in the given mode; writes weights (bias column included), hidden parameter 2 (scale_up)
 * and the pulse counters. */
static void run(const update_case *c, int mode, float *w, float *hidden, int64_t *pulses) {
  aihw_update_sparse_mode = mode;
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.device = aihw_device_params_default(c->type);
  cfg.device.construction_seed = 23;
  cfg.device.count_pulses = 1;
  cfg.device.w_max = c->w_bound;
  cfg.device.w_min = -c->w_bound;
  cfg.device.write_noise_std = c->write_noise;
  cfg.update.desired_bl = c->desired_bl;
  cfg.update.update_management = c->management;
  cfg.update.update_bl_management = c->management;
  cfg.analog_bias = c->analog_bias;
  cfg.seed = 9;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, OUT, IN, &t));
  if (t == NULL)
    return;
  static float x[BATCH * IN], d[BATCH * OUT];
  unsigned st = 77;
  for (int r = 0; r < ROUNDS; ++r) {
    for (int k = 0; k < BATCH * IN; ++k) {
      const float u = 0.5f * (uniform_pm1(&st) + 1.0f);
      x[k] = u < c->zero_fraction ? 0.0f : uniform_pm1(&st);
    }
    for (int k = 0; k < BATCH * OUT; ++k) {
      const float u = 0.5f * (uniform_pm1(&st) + 1.0f);
      d[k] = u < c->zero_fraction ? 0.0f : 0.3f * uniform_pm1(&st);
    }
    CHECK_OK(aihw_tile_update(t, x, BATCH, IN, d, OUT, c->lr));
  }
  const int64_t cols = IN + (c->analog_bias ? 1 : 0);
  float *full = malloc(sizeof(float) * OUT * (size_t)cols);
  CHECK_OK(aihw_tile_get_hidden(t, 2, full, OUT, cols));
  memcpy(hidden, full, sizeof(float) * OUT * (size_t)cols);
  CHECK_OK(aihw_tile_get_weights(t, full, OUT, cols));
  memcpy(w, full, sizeof(float) * OUT * (size_t)cols);
  CHECK_OK(aihw_tile_get_pulse_counts(t, pulses, OUT, cols));
  free(full);
  aihw_tile_destroy(t);
  aihw_update_sparse_mode = 0;
}

static void dense_and_sparse_visits_give_the_same_bits(void) {
  const update_case cases[] = {
      /* ConstantStep, short trains under management, mostly zeros: sparse territory */
      {AIHW_DEVICE_CONSTANT_STEP, 31, 1, 0.9f, 0.01f, 0, 0.0f, 0.6f},
      /* long fixed trains, dense inputs */
      {AIHW_DEVICE_CONSTANT_STEP, 31, 0, 0.0f, 0.05f, 0, 0.0f, 0.6f},
      /* two words per train, analog bias, bounds within reach */
      {AIHW_DEVICE_CONSTANT_STEP, 45, 0, 0.5f, 0.05f, 1, 0.0f, 0.02f},
      /* write noise (persistent weights) */
      {AIHW_DEVICE_LINEAR_STEP, 31, 1, 0.7f, 0.1f, 0, 1.0f, 0.3f},
      /* one-hot-like inputs (realistic writes): the bounds near, single steps masked */
      {AIHW_DEVICE_CONSTANT_STEP, 31, 0, 0.98f, 0.1f, 0, 0.0f, 0.05f},
      /* single-step models */
      {AIHW_DEVICE_SOFT_BOUNDS, 31, 1, 0.8f, 0.05f, 1, 0.0f, 0.6f},
      {AIHW_DEVICE_EXP_STEP, 45, 0, 0.5f, 0.05f, 0, 0.0f, 0.6f},
  };
  const int n_cases = (int)(sizeof cases / sizeof cases[0]);
  static float w[3][OUT * (IN + 1)], h[3][OUT * (IN + 1)];
  static int64_t p[3][OUT * (IN + 1) * 2];
  for (int k = 0; k < n_cases; ++k) {
    for (int mode = 0; mode < 3; ++mode)
      run(&cases[k], mode, w[mode], h[mode], p[mode]);
    const size_t cols = (size_t)(IN + (cases[k].analog_bias ? 1 : 0));
    int64_t steps = 0;
    for (size_t e = 0; e < OUT * cols * 2; ++e)
      steps += p[0][e];
    for (int mode = 1; mode < 3; ++mode) {
      CHECK(memcmp(w[0], w[mode], sizeof(float) * OUT * cols) == 0);
      CHECK(memcmp(h[0], h[mode], sizeof(float) * OUT * cols) == 0);
      CHECK(memcmp(p[0], p[mode], sizeof(int64_t) * OUT * cols * 2) == 0);
    }
    /* the case did something: pulses were applied, and not to every device */
    CHECK(steps > 100);
    if (steps <= 100)
      fprintf(stderr, "  case %d: only %lld pulses\n", k, (long long)steps);
  }
}

TEST_MAIN(TEST(dense_and_sparse_visits_give_the_same_bits))
