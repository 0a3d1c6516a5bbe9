/* One-hot batches (the realistic read and write of src/tile/realistic.c) skip the GEMM in
 * the periphery (gemm_rows: the product's only non-zero term). The result must be the
 * GEMM's: every sample of a batch is compared with the same sample alone (batch 1, the
 * GEMV path) through a noise-free periphery with DAC and ADC quantisation, forward and
 * backward, with scaled and negative one-hot entries, all-zero rows, zero and negative
 * zero weights, and a batch where one row has two non-zeros (no shortcut). */
#include <string.h>

#include "aihw/aihw.h"
#include "test_util.h"

enum { OUT = 23, IN = 31 };

static aihw_tile *make_tile(void) {
  aihw_tile_config cfg = aihw_tile_config_default(AIHW_TILE_ANALOG);
  cfg.forward.out_noise = 0.0f;
  cfg.backward.out_noise = 0.0f;
  cfg.seed = 4;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&cfg, OUT, IN, &t));
  static float w[OUT * IN];
  unsigned st = 12345;
  for (int k = 0; k < OUT * IN; ++k) {
    st = st * 1664525u + 1013904223u;
    w[k] = k % 11 == 0 ? 0.0f : k % 13 == 0 ? -0.0f : ((float)(st >> 8) * 0x1p-24f - 0.5f);
  }
  if (t != NULL)
    CHECK_OK(aihw_tile_set_weights(t, w, OUT, IN));
  return t;
}

/* u[b][n]: sample b is one-hot at column (3 b) % n with value v_b, sample 2 is all zero;
 * two_hot adds a second non-zero to the last sample. */
static void fill(float *u, int batch, int n, int two_hot) {
  memset(u, 0, sizeof(float) * (size_t)(batch * n));
  for (int b = 0; b < batch; ++b)
    if (b != 2)
      u[b * n + (3 * b) % n] = b % 3 == 0 ? 1.0f : (b % 3 == 1 ? -0.75f : 0.3f);
  if (two_hot)
    u[(batch - 1) * n + 1] = 0.5f;
}

static void compare(aihw_tile *t, int backward, int two_hot) {
  const int batch = 12;
  const int n = backward ? OUT : IN, m = backward ? IN : OUT;
  static float u[12 * IN], y[12 * IN], one[IN];
  fill(u, batch, n, two_hot);
  if (backward)
    CHECK_OK(aihw_tile_backward(t, u, batch, n, y, m));
  else
    CHECK_OK(aihw_tile_forward(t, u, batch, n, y, m));
  int bad = 0;
  for (int b = 0; b < batch; ++b) {
    if (backward)
      CHECK_OK(aihw_tile_backward(t, u + b * n, 1, n, one, m));
    else
      CHECK_OK(aihw_tile_forward(t, u + b * n, 1, n, one, m));
    bad += memcmp(one, y + b * m, sizeof(float) * (size_t)m) != 0;
  }
  CHECK(bad == 0);
  if (bad)
    fprintf(stderr, "  %s, %s: %d samples differ\n", backward ? "backward" : "forward",
            two_hot ? "two-hot" : "one-hot", bad);
}

static void one_hot_batches_equal_single_samples(void) {
  aihw_tile *t = make_tile();
  if (t == NULL)
    return;
  for (int backward = 0; backward < 2; ++backward)
    for (int two_hot = 0; two_hot < 2; ++two_hot)
      compare(t, backward, two_hot);
  aihw_tile_destroy(t);
}

TEST_MAIN(TEST(one_hot_batches_equal_single_samples))
