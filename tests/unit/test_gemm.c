/* The CPU products (src/backend/cpu/gemm.h) give the same bits for 1, 2 and 3 OpenMP
 * threads (OpenBLAS given the same count, as the aihw command does), for the shapes of
 * the MLP's layers — several blocks, and a single block (64 x 128), which OpenBLAS
 * partitions by its own thread count when called outside an active parallel region. */
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "backend/cpu/gemm.h"
#include "test_util.h"

void openblas_set_num_threads(int num_threads);

static void set_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  openblas_set_num_threads(n);
}

static void products_are_identical_across_thread_counts(void) {
  const int shapes[][3] = {{64, 256, 392}, {64, 128, 256}, {64, 10, 128},
                           {256, 392, 64}, {128, 256, 64}, {300, 520, 70}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
    const int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
    float *a = malloc(sizeof(float) * (size_t)(m * k)), *b = malloc(sizeof(float) * (size_t)(k * n));
    float *c[3], *y[3], *x = malloc(sizeof(float) * (size_t)k);
    unsigned st = 7;
    for (int i = 0; i < m * k; ++i)
      a[i] = (float)((st = st * 1664525u + 1013904223u) >> 8) * 0x1p-24f - 0.5f;
    for (int i = 0; i < k * n; ++i)
      b[i] = (float)((st = st * 1664525u + 1013904223u) >> 8) * 0x1p-24f - 0.5f;
    for (int i = 0; i < k; ++i)
      x[i] = b[i];
    for (int t = 0; t < 3; ++t) {
      set_threads(t + 1);
      c[t] = malloc(sizeof(float) * (size_t)(m * n));
      y[t] = malloc(sizeof(float) * (size_t)m);
      aihw_sgemm(0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c[t], n);
      aihw_sgemv(0, m, k, 1.0f, a, k, x, 0.0f, y[t]);
    }
    for (int t = 1; t < 3; ++t) {
      CHECK(memcmp(c[0], c[t], sizeof(float) * (size_t)(m * n)) == 0);
      CHECK(memcmp(y[0], y[t], sizeof(float) * (size_t)m) == 0);
    }
    for (int t = 0; t < 3; ++t) {
      free(c[t]);
      free(y[t]);
    }
    free(a);
    free(b);
    free(x);
  }
  set_threads(2);
}

TEST_MAIN(TEST(products_are_identical_across_thread_counts))
