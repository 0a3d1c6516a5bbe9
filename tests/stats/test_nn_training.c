/* Learning test of the module stack (reference §1.4, §7.4): a Linear(16,32) - Sigmoid -
 * Linear(32,4) network trained with mini-batch SGD and cross-entropy on a fixed synthetic
 * 4-class problem (Gaussian blobs: 512 samples, 16 inputs, class centres N(0, 1) per
 * coordinate, within-class spread 1.2, so that the classes overlap a little; fixed seeds), once
 * on FLOATING_POINT tiles and once on ANALOG tiles with aihwkit's default SingleRPUConfig
 * (ConstantStepDevice, pulsed update, noisy periphery). The loss is measured on the whole set
 * in evaluation mode.
 *
 * 5 epochs of 32 mini-batches of 16, lr 0.5. Observed with these seeds (the test prints
 * them): the untrained network starts at a loss of 1.43 (~log 4) and accuracy ~0.3; FP
 * ends at loss 0.096 / accuracy 0.967, ANALOG at 0.110 / 0.965. Bounds, with margin for
 * changes of the float summation order or of the device physics: FP loss < 0.2 and
 * accuracy >= 0.93; ANALOG loss < 0.35 (a drop by more than 4x) and accuracy >= 0.90. A
 * broken gradient, a wrong sign or an update that never reaches the tiles leaves the loss
 * near 1.4, far above both bounds. Everything is deterministic (counter-based streams),
 * so the test cannot pass or fail by luck. */
#include <math.h>
#include <stdint.h>

#include "aihw/aihw.h"
#include "test_util.h"

enum { N = 512, IN = 16, HID = 32, CLASSES = 4, BATCH = 16 };

static uint32_t xorshift(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static double gaussian(uint32_t *s) {
  const double u1 = ((double)(xorshift(s) >> 8) + 1.0) * 0x1p-24;
  const double u2 = (double)(xorshift(s) >> 8) * 0x1p-24;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static float data_x[N * IN];
static int32_t data_y[N];

static void make_blobs(void) {
  uint32_t s = 20240601u;
  double centres[CLASSES][IN];
  for (int c = 0; c < CLASSES; ++c)
    for (int j = 0; j < IN; ++j)
      centres[c][j] = gaussian(&s);
  for (int n = 0; n < N; ++n) {
    const int c = n % CLASSES;
    data_y[n] = c;
    for (int j = 0; j < IN; ++j)
      data_x[n * IN + j] = (float)(centres[c][j] + 1.2 * gaussian(&s));
  }
}

static aihw_module *make_net(aihw_tile_kind kind) {
  aihw_tile_config config = aihw_tile_config_default(kind);
  config.seed = 12;
  aihw_module *net = NULL, *m = NULL;
  CHECK_OK(aihw_sequential_create(&net));
  CHECK_OK(aihw_linear_create(&config, NULL, IN, HID, 1, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_SIGMOID, HID, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  config.tile_id = 1;
  CHECK_OK(aihw_linear_create(&config, NULL, HID, CLASSES, 1, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  return net;
}

/* Mean cross-entropy and accuracy over the whole set, evaluation mode. */
static float evaluate(aihw_module *net, float *accuracy) {
  static float logits[N * CLASSES];
  float loss = NAN;
  CHECK_OK(aihw_module_set_training(net, 0));
  CHECK_OK(aihw_module_forward(net, data_x, N, IN, logits, CLASSES));
  CHECK_OK(aihw_loss_cross_entropy(logits, data_y, N, CLASSES, &loss, NULL));
  int correct = 0;
  for (int n = 0; n < N; ++n) {
    int best = 0;
    for (int c = 1; c < CLASSES; ++c)
      best = logits[n * CLASSES + c] > logits[n * CLASSES + best] ? c : best;
    correct += best == data_y[n];
  }
  *accuracy = (float)correct / (float)N;
  return loss;
}

/* Mini-batch SGD, samples in a fixed order (the blobs are already interleaved). */
static void train(aihw_module *net, int epochs, float lr) {
  float logits[BATCH * CLASSES], dlogits[BATCH * CLASSES], loss = 0.0f;
  for (int e = 0; e < epochs; ++e) {
    CHECK_OK(aihw_module_set_training(net, 1));
    for (int start = 0; start < N; start += BATCH) {
      const float *x = data_x + start * IN;
      CHECK_OK(aihw_module_forward(net, x, BATCH, IN, logits, CLASSES));
      CHECK_OK(aihw_loss_cross_entropy(logits, data_y + start, BATCH, CLASSES, &loss, dlogits));
      CHECK_OK(aihw_module_backward(net, dlogits, BATCH, CLASSES, NULL, IN));
      CHECK_OK(aihw_module_step(net, lr));
    }
  }
}

static void run(aihw_tile_kind kind, int epochs, float lr, float max_final_loss,
                float min_accuracy) {
  make_blobs();
  aihw_module *net = make_net(kind);
  float acc0 = 0.0f, acc1 = 0.0f;
  const float loss0 = evaluate(net, &acc0);
  train(net, epochs, lr);
  const float loss1 = evaluate(net, &acc1);
  printf("  %s: loss %.4f -> %.4f (bound %.2f), accuracy %.3f -> %.3f (bound %.2f)\n",
         aihw_tile_kind_name(kind), (double)loss0, (double)loss1, (double)max_final_loss,
         (double)acc0, (double)acc1, (double)min_accuracy);
  CHECK(loss0 > 1.0f); /* the untrained network does not know the classes */
  CHECK(loss1 < max_final_loss);
  CHECK(acc1 >= min_accuracy);
  aihw_module_destroy(net);
}

static void floating_point_network_learns_blobs(void) {
  run(AIHW_TILE_FLOATING_POINT, 5, 0.5f, 0.2f, 0.93f);
}

static void analog_constant_step_network_learns_blobs(void) {
  run(AIHW_TILE_ANALOG, 5, 0.5f, 0.35f, 0.90f);
}

TEST_MAIN(TEST(floating_point_network_learns_blobs),
          TEST(analog_constant_step_network_learns_blobs))
