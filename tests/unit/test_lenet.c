/* LeNet-5 smoke test (torch's layout end to end): Conv2d(1, 16, 5) - Tanh - MaxPool2d(2) -
 * Conv2d(16, 32, 5) - Tanh - MaxPool2d(2) - Flatten - Linear(512, 128) - Tanh -
 * Linear(128, 10) on 28 x 28 images builds with the shapes torch gives, forwards a batch,
 * and forward/backward/step train on FLOATING_POINT tiles (the loss of a fixed batch
 * falls) and run on ANALOG ConstantStep tiles, with bit-identical results at 1 and 2
 * threads. */
#ifdef _OPENMP
#include <omp.h>
#endif

#include "aihw/aihw.h"
#include "test_util.h"

void openblas_set_num_threads(int num_threads);

static float urand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return (float)(x >> 8) * 0x1p-23f - 1.0f;
}

enum { IMG = 28 * 28, CLASSES = 10, BATCH = 16 };

static void append(aihw_module *seq, aihw_module *m) { CHECK_OK(aihw_sequential_append(seq, m)); }

static aihw_module *lenet(aihw_tile_kind kind) {
  aihw_tile_config c = aihw_tile_config_default(kind);
  c.seed = 3;
  aihw_module *net = NULL, *m = NULL;
  const int64_t k2[2] = {2, 2};
  CHECK_OK(aihw_sequential_create(&net));
  aihw_conv_params p = aihw_conv_params_default(1, 16, 5);
  CHECK_OK(aihw_conv2d_create(&c, NULL, &p, 28, 28, &m));
  append(net, m);
  CHECK(aihw_module_out_features(m) == 16 * 24 * 24);
  CHECK_OK(aihw_activation_create(AIHW_MODULE_TANH, 16 * 24 * 24, &m));
  append(net, m);
  CHECK_OK(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 16, 24, 24, k2, NULL, NULL, &m));
  append(net, m);
  c.tile_id = 1;
  p = aihw_conv_params_default(16, 32, 5);
  CHECK_OK(aihw_conv2d_create(&c, NULL, &p, 12, 12, &m));
  append(net, m);
  CHECK(aihw_module_out_features(m) == 32 * 8 * 8);
  CHECK_OK(aihw_activation_create(AIHW_MODULE_TANH, 32 * 8 * 8, &m));
  append(net, m);
  CHECK_OK(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 32, 8, 8, k2, NULL, NULL, &m));
  append(net, m);
  CHECK_OK(aihw_activation_create(AIHW_MODULE_FLATTEN, 512, &m));
  append(net, m);
  c.tile_id = 2;
  CHECK_OK(aihw_linear_create(&c, NULL, 512, 128, 1, &m));
  append(net, m);
  CHECK_OK(aihw_activation_create(AIHW_MODULE_TANH, 128, &m));
  append(net, m);
  c.tile_id = 3;
  CHECK_OK(aihw_linear_create(&c, NULL, 128, CLASSES, 1, &m));
  append(net, m);
  CHECK(aihw_module_in_features(net) == IMG && aihw_module_out_features(net) == CLASSES);
  return net;
}

static float train_step(aihw_module *net, const float *x, const int32_t *labels, float lr) {
  float logits[BATCH * CLASSES], dlogits[BATCH * CLASSES], loss = NAN;
  CHECK_OK(aihw_module_forward(net, x, BATCH, IMG, logits, CLASSES));
  CHECK_OK(aihw_loss_cross_entropy(logits, labels, BATCH, CLASSES, &loss, dlogits));
  CHECK_OK(aihw_module_backward(net, dlogits, BATCH, CLASSES, NULL, IMG));
  CHECK_OK(aihw_module_step(net, lr));
  return loss;
}

static void lenet_trains_on_a_batch(void) {
  static float x[BATCH * IMG];
  int32_t labels[BATCH];
  uint32_t s = 9;
  for (int k = 0; k < BATCH * IMG; ++k)
    x[k] = urand(&s) > 0.4f ? 1.0f : 0.0f; /* sparse binary "images" */
  for (int n = 0; n < BATCH; ++n)
    labels[n] = n % CLASSES;
  aihw_module *fp = lenet(AIHW_TILE_FLOATING_POINT);
  CHECK_OK(aihw_module_set_training(fp, 1));
  const float first = train_step(fp, x, labels, 0.5f);
  float last = first;
  for (int it = 0; it < 20; ++it)
    last = train_step(fp, x, labels, 0.5f);
  CHECK(isfinite(first) && first > 1.5f); /* ~ ln 10 at init */
  CHECK(last < 0.1f * first); /* fitting 16 samples (measured 2.30 -> 0.054): deterministic */
  aihw_module_destroy(fp);

  aihw_module *analog = lenet(AIHW_TILE_ANALOG);
  CHECK_OK(aihw_module_set_training(analog, 1));
  float w0[16 * 25], w1[16 * 25];
  CHECK_OK(aihw_conv_get_weights(aihw_module_child(analog, 0), w0, NULL, 1));
  const float loss = train_step(analog, x, labels, 0.05f);
  CHECK(isfinite(loss));
  CHECK_OK(aihw_conv_get_weights(aihw_module_child(analog, 0), w1, NULL, 1));
  CHECK(memcmp(w0, w1, sizeof w0) != 0); /* pulses reached the first conv's tile */
  aihw_module_destroy(analog);
}

/* Two ANALOG iterations and a forward at `threads`: logits, input gradient, weights. */
static void run_threads(int threads, float *logits, float *dx, float *w) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  openblas_set_num_threads(threads);
  static float x[BATCH * IMG];
  float dl[BATCH * CLASSES], loss = 0.0f;
  int32_t labels[BATCH];
  uint32_t s = 4;
  for (int k = 0; k < BATCH * IMG; ++k)
    x[k] = urand(&s) > 0.6f ? 1.0f : 0.0f;
  for (int n = 0; n < BATCH; ++n)
    labels[n] = n % CLASSES;
  aihw_module *net = lenet(AIHW_TILE_ANALOG);
  CHECK_OK(aihw_module_set_training(net, 1));
  for (int it = 0; it < 2; ++it) {
    CHECK_OK(aihw_module_forward(net, x, BATCH, IMG, logits, CLASSES));
    CHECK_OK(aihw_loss_cross_entropy(logits, labels, BATCH, CLASSES, &loss, dl));
    CHECK_OK(aihw_module_backward(net, dl, BATCH, CLASSES, dx, IMG));
    CHECK_OK(aihw_module_step(net, 0.05f));
  }
  CHECK_OK(aihw_module_forward(net, x, BATCH, IMG, logits, CLASSES));
  CHECK_OK(aihw_conv_get_weights(aihw_module_child(net, 3), w, NULL, 1));
  aihw_module_destroy(net);
}

static void lenet_is_identical_across_thread_counts(void) {
  static float l1[BATCH * CLASSES], l2[BATCH * CLASSES], d1[BATCH * IMG], d2[BATCH * IMG],
      w1[32 * 16 * 25], w2[32 * 16 * 25];
  run_threads(1, l1, d1, w1);
  run_threads(2, l2, d2, w2);
  CHECK(memcmp(l1, l2, sizeof l1) == 0);
  CHECK(memcmp(d1, d2, sizeof d1) == 0);
  CHECK(memcmp(w1, w2, sizeof w1) == 0);
}

TEST_MAIN(TEST(lenet_trains_on_a_batch), TEST(lenet_is_identical_across_thread_counts))
