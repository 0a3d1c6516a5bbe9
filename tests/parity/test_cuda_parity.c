/* CPU vs CUDA parity (DESIGN.md §4 rule 2): twin tiles with the same configuration, seed
 * and weights, one moved to the GPU, run the same calls; the outputs must agree.
 *
 * What "agree" means: every random number is the same on both backends (Philox by
 * coordinates) and every scalar step is the same function, so the only difference is the
 * summation order of the matrix product (OpenBLAS vs cuBLAS), a relative error of a few
 * float32 ulps of sum_j |w_ij x_j|. Without quantisation we therefore require
 * |y_gpu - y_cpu| <= 1e-5 (1 + |y_cpu|) for every element (the products here have at most
 * 700 terms of size <= 1, whose float32 rounding stays below 1e-5 relative by a wide
 * margin). With DAC/ADC quantisation a value within that distance of a rounding boundary
 * may land on the neighbouring level: such elements must be rare (<= 0.5 % of all) and
 * differ by at most one ADC step in output units. Sizes are not multiples of 4 or 32 so
 * that the Philox block tails and partial thread blocks are exercised.
 *
 * Without a CUDA device the program prints why and exits 77 (CTest: skipped). */
#include <stdint.h>

#include "aihw/aihw.h"
#include "backend/cuda_api.h"
#include "backend/tile_cuda.h"
#include "inference/inference_internal.h"
#include "test_util.h"
#include "tile/tile_internal.h"

#define SKIP_CODE 77

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static float uniform(float lo, float hi) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return lo + (hi - lo) * (float)((rng_state >> 40) * (1.0 / 16777216.0));
}

static float *random_floats(int64_t n, float lo, float hi) {
  float *v = malloc((size_t)n * sizeof(float));
  for (int64_t k = 0; k < n; ++k)
    v[k] = uniform(lo, hi);
  return v;
}

typedef struct twins {
  aihw_tile *cpu, *gpu;
  int64_t out, in, cols;
} twins;

static twins make_twins(const aihw_tile_config *c, int64_t out, int64_t in, float w_max) {
  twins t = {NULL, NULL, out, in, in + (c->analog_bias ? 1 : 0)};
  CHECK_OK(aihw_tile_create(c, out, in, &t.cpu));
  CHECK_OK(aihw_tile_create(c, out, in, &t.gpu));
  float *w = random_floats(out * t.cols, -w_max, w_max);
  CHECK_OK(aihw_tile_set_weights(t.cpu, w, out, t.cols));
  CHECK_OK(aihw_tile_set_weights(t.gpu, w, out, t.cols));
  free(w);
  CHECK_OK(aihw_tile_to_cuda(t.gpu, 0));
  CHECK(aihw_tile_device(t.gpu) == 0);
  return t;
}

static void free_twins(twins *t) {
  aihw_tile_destroy(t->cpu);
  aihw_tile_destroy(t->gpu);
}

/* Every element within the GEMM-rounding tolerance. */
static void check_close(const float *a, const float *b, int64_t n, const char *what) {
  int64_t bad = 0, first = -1;
  for (int64_t k = 0; k < n; ++k)
    if (!(fabsf(a[k] - b[k]) <= 1e-5f * (1.0f + fabsf(a[k])))) {
      if (first < 0)
        first = k;
      ++bad;
    }
  if (bad > 0) {
    fprintf(stderr, "%s: %s: %lld of %lld elements differ (first [%lld]: cpu %.9g, gpu %.9g)\n",
            test_current_, what, (long long)bad, (long long)n, (long long)first,
            (double)a[first], (double)b[first]);
    ++test_failures_;
  }
}

/* Quantised outputs: at most 0.5 % of the elements off the tolerance, each by at most
 * step_of_row[b] (one ADC level in output units). */
static void check_quantised(const float *a, const float *b, int64_t batch, int64_t m,
                            const float *step_of_row, const char *what) {
  int64_t off = 0, too_far = 0;
  for (int64_t r = 0; r < batch; ++r)
    for (int64_t i = 0; i < m; ++i) {
      const float d = fabsf(a[r * m + i] - b[r * m + i]);
      if (d <= 1e-5f * (1.0f + fabsf(a[r * m + i])))
        continue;
      ++off;
      if (d > 1.01f * step_of_row[r] + 1e-5f)
        ++too_far;
    }
  printf("  %s: %lld of %lld elements on a neighbouring level\n", what, (long long)off,
         (long long)(batch * m));
  CHECK(too_far == 0);
  CHECK(off * 200 <= batch * m);
}

static void exact_tiles_match(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  c.analog_bias = 1;
  twins t = make_twins(&c, 70, 133, 0.5f);
  const int64_t batch = 9;
  float *x = random_floats(batch * 133, -1.0f, 1.0f), *d = random_floats(batch * 70, -1, 1);
  float yc[9 * 70], yg[9 * 70], zc[9 * 133], zg[9 * 133];
  CHECK_OK(aihw_tile_forward(t.cpu, x, batch, 133, yc, 70));
  CHECK_OK(aihw_tile_forward(t.gpu, x, batch, 133, yg, 70));
  check_close(yc, yg, batch * 70, "forward");
  CHECK_OK(aihw_tile_backward(t.cpu, d, batch, 70, zc, 133));
  CHECK_OK(aihw_tile_backward(t.gpu, d, batch, 70, zg, 133));
  check_close(zc, zg, batch * 133, "backward");
  free(x);
  free(d);
  free_twins(&t);
}

/* Every noise source and non-ideality on, quantisation off: outputs agree to GEMM
 * rounding only if every draw is the same. */
static aihw_io_params noisy_unquantised(void) {
  aihw_io_params io = aihw_io_params_default();
  io.inp_res = -1.0f;
  io.out_res = -1.0f;
  io.out_bound = 0.0f;
  io.bound_management = AIHW_BM_NONE;
  io.inp_noise = 0.01f;
  io.inp_asymmetry = 0.03f;
  io.out_noise = 0.06f;
  io.out_noise_std = 0.2f;
  io.out_asymmetry = 0.05f;
  io.w_noise = 0.02f;
  io.w_noise_type = AIHW_W_NOISE_ADDITIVE_CONSTANT;
  io.out_nonlinearity = 0.1f;
  io.v_offset_std = 0.05f;
  io.r_series = 0.01f;
  return io;
}

static void noise_draws_match(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.device = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  c.forward = noisy_unquantised();
  c.backward = noisy_unquantised();
  c.analog_bias = 1;
  c.seed = 7;
  c.tile_id = 3;
  twins t = make_twins(&c, 67, 130, 0.3f);
  const int64_t batch = 13;
  float *x = random_floats(batch * 130, -1.0f, 1.0f), *d = random_floats(batch * 67, -1, 1);
  float yc[13 * 67], yg[13 * 67], zc[13 * 130], zg[13 * 130];
  for (int rep = 0; rep < 2; ++rep) { /* the second call draws from op counter + 2 */
    CHECK_OK(aihw_tile_forward(t.cpu, x, batch, 130, yc, 67));
    CHECK_OK(aihw_tile_forward(t.gpu, x, batch, 130, yg, 67));
    check_close(yc, yg, batch * 67, "forward");
    CHECK_OK(aihw_tile_backward(t.cpu, d, batch, 67, zc, 130));
    CHECK_OK(aihw_tile_backward(t.gpu, d, batch, 67, zg, 130));
    check_close(zc, zg, batch * 130, "backward");
  }
  uint64_t kc, kg;
  CHECK_OK(aihw_tile_get_counter(t.cpu, &kc));
  CHECK_OK(aihw_tile_get_counter(t.gpu, &kg));
  CHECK(kc == kg);
  free(x);
  free(d);
  free_twins(&t);
}

/* One ADC level of sample b in output units: out_res_eff times the NM factor (abs max of
 * the row, bias included) times the BM reduction 2^(rounds - 1). */
static void adc_steps(const aihw_tile *t, const float *x, int64_t batch, int64_t n,
                      const int *rounds, float *steps) {
  const float res = t->forward.out_res;
  for (int64_t b = 0; b < batch; ++b) {
    float a = t->config.analog_bias ? 1.0f : 0.0f;
    for (int64_t j = 0; j < n; ++j)
      a = fabsf(x[b * n + j]) > a ? fabsf(x[b * n + j]) : a;
    int r = rounds != NULL && rounds[b] > 1 ? rounds[b] : 1;
    steps[b] = res * a * (float)(1 << (r - 1)) * 2.0f; /* x2: worst-case round-1 factor */
  }
}

/* aihwkit's default IOParameters both ways: 7-bit DAC, 9-bit ADC, output noise, bound
 * management, with stochastic rounding added; a few rows with large weights make some
 * samples saturate and take further BM rounds. */
static void default_io_with_bound_management(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.device = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  c.forward.inp_sto_round = 1;
  c.forward.out_sto_round = 1;
  c.seed = 11;
  const int64_t out = 150, in = 301, batch = 64;
  twins t = make_twins(&c, out, in, 0.2f);
  float *w = random_floats(out * in, -0.2f, 0.2f);
  for (int64_t j = 0; j < 3 * in; ++j) /* rows 0..2 saturate for many inputs */
    w[j] = w[j] > 0.0f ? 0.9f : -0.9f;
  CHECK_OK(aihw_tile_set_weights(t.cpu, w, out, in));
  CHECK_OK(aihw_tile_set_weights(t.gpu, w, out, in)); /* copied to the device */
  float *x = random_floats(batch * in, -1.0f, 1.0f);
  float *yc = malloc(sizeof(float) * (size_t)(batch * out));
  float *yg = malloc(sizeof(float) * (size_t)(batch * out));
  int rc[64], rg[64];
  CHECK_OK(aihw_tile_forward(t.cpu, x, batch, in, yc, out));
  memcpy(rc, aihw_tile_last_forward_rounds(t.cpu), sizeof rc);
  CHECK_OK(aihw_tile_forward(t.gpu, x, batch, in, yg, out));
  memcpy(rg, aihw_tile_last_forward_rounds(t.gpu), sizeof rg);
  int same_rounds = 0, repeated = 0;
  for (int b = 0; b < batch; ++b) {
    same_rounds += rc[b] == rg[b];
    repeated += rc[b] > 1;
  }
  printf("  %d of %d samples needed more than one BM round; %d agree in rounds\n", repeated,
         (int)batch, same_rounds);
  CHECK(repeated > 0);
  CHECK(same_rounds >= batch - 1);
  /* A sample whose saturation test fell the other way by GEMM rounding ran a different
   * number of rounds: its outputs are not comparable and are left out. */
  for (int b = 0; b < batch; ++b)
    if (rc[b] != rg[b])
      memcpy(yg + b * out, yc + b * out, sizeof(float) * (size_t)out);
  float steps[64];
  adc_steps(t.cpu, x, batch, in, rc, steps);
  check_quantised(yc, yg, batch, out, steps, "forward");
  /* backward through the default IO (no BM backward) */
  float *d = random_floats(batch * out, -1.0f, 1.0f);
  float *zc = malloc(sizeof(float) * (size_t)(batch * in));
  float *zg = malloc(sizeof(float) * (size_t)(batch * in));
  CHECK_OK(aihw_tile_backward(t.cpu, d, batch, out, zc, in));
  CHECK_OK(aihw_tile_backward(t.gpu, d, batch, out, zg, in));
  for (int64_t b = 0; b < batch; ++b) {
    float a = 0.0f;
    for (int64_t i = 0; i < out; ++i)
      a = fabsf(d[b * out + i]) > a ? fabsf(d[b * out + i]) : a;
    steps[b] = t.cpu->backward.out_res * a;
  }
  check_quantised(zc, zg, batch, in, steps, "backward");
  free(w);
  free(x);
  free(d);
  free(yc);
  free(yg);
  free(zc);
  free(zg);
  free_twins(&t);
}

/* Noise-management variants, including the sequential running average. */
static void noise_management_variants(void) {
  const aihw_noise_management nms[] = {AIHW_NM_MAX, AIHW_NM_CONSTANT, AIHW_NM_ABS_MAX_NP_SUM,
                                       AIHW_NM_AVERAGE_ABS_MAX, AIHW_NM_NONE};
  for (size_t k = 0; k < sizeof nms / sizeof nms[0]; ++k) {
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
    c.device = aihw_device_params_default(AIHW_DEVICE_IDEAL);
    c.forward = noisy_unquantised();
    c.forward.noise_management = nms[k];
    c.forward.nm_thres = nms[k] == AIHW_NM_CONSTANT ? 0.7f : 0.0f;
    if (nms[k] == AIHW_NM_NONE)
      c.forward.inp_bound = 0.0f;
    c.forward.nm_decay = 0.25f;
    twins t = make_twins(&c, 41, 57, 0.3f);
    float *x = random_floats(5 * 57, -2.0f, 1.5f);
    float yc[5 * 41], yg[5 * 41];
    for (int rep = 0; rep < 2; ++rep) {
      CHECK_OK(aihw_tile_forward(t.cpu, x, 5, 57, yc, 41));
      CHECK_OK(aihw_tile_forward(t.gpu, x, 5, 57, yg, 41));
      check_close(yc, yg, 5 * 41, "forward");
    }
    CHECK_FEQ(t.cpu->forward.nm_running, t.gpu->forward.nm_running);
    free(x);
    free_twins(&t);
  }
}

/* Device buffers in and out give the bits the host buffers give. */
static void device_buffers_match_host_buffers(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.device = aihw_device_params_default(AIHW_DEVICE_IDEAL);
  twins t = make_twins(&c, 33, 45, 0.3f);
  float *x = random_floats(6 * 45, -1.0f, 1.0f);
  float yh[6 * 33], yd_host[6 * 33];
  void *xd = NULL, *yd = NULL;
  CHECK_OK(aihw_cuda_malloc(0, sizeof(float) * 6 * 45, &xd));
  CHECK_OK(aihw_cuda_malloc(0, sizeof(float) * 6 * 33, &yd));
  CHECK_OK(aihw_cuda_memcpy_h2d(xd, x, sizeof(float) * 6 * 45));
  CHECK_OK(aihw_tile_forward(t.gpu, x, 6, 45, yh, 33));
  CHECK_OK(aihw_tile_set_counter(t.gpu, 1));
  CHECK_OK(aihw_tile_forward(t.gpu, xd, 6, 45, yd, 33));
  CHECK_OK(aihw_cuda_memcpy_d2h(yd_host, yd, sizeof yd_host));
  CHECK(memcmp(yh, yd_host, sizeof yh) == 0);
  /* A non-finite device input is refused before anything changes. */
  x[2 * 45 + 7] = NAN;
  CHECK_OK(aihw_cuda_memcpy_h2d(xd, x, sizeof(float) * 6 * 45));
  uint64_t before, after;
  CHECK_OK(aihw_tile_get_counter(t.gpu, &before));
  CHECK_STATUS(aihw_tile_forward(t.gpu, xd, 6, 45, yd, 33), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("x[2][7]");
  CHECK_OK(aihw_tile_get_counter(t.gpu, &after));
  CHECK(before == after);
  float y_after[6 * 33];
  CHECK_OK(aihw_cuda_memcpy_d2h(y_after, yd, sizeof y_after));
  CHECK(memcmp(y_after, yd_host, sizeof y_after) == 0); /* device y untouched */
  aihw_cuda_free(xd);
  aihw_cuda_free(yd);
  free(x);
  free_twins(&t);
}

/* The pulsed update of a GPU tile (host update, weights copied over) leaves the same
 * weights, and the next forward sees them. Calls without a GPU version are refused. */
static void update_and_host_only_calls(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.forward.is_perfect = 1;
  twins t = make_twins(&c, 24, 31, 0.3f);
  float *x = random_floats(4 * 31, -1.0f, 1.0f), *d = random_floats(4 * 24, -1.0f, 1.0f);
  CHECK_OK(aihw_tile_update(t.cpu, x, 4, 31, d, 24, 0.1f));
  CHECK_OK(aihw_tile_update(t.gpu, x, 4, 31, d, 24, 0.1f));
  float wc[24 * 31], wg[24 * 31];
  CHECK_OK(aihw_tile_get_weights(t.cpu, wc, 24, 31));
  CHECK_OK(aihw_tile_get_weights(t.gpu, wg, 24, 31));
  CHECK(memcmp(wc, wg, sizeof wc) == 0);
  float yc[4 * 24], yg[4 * 24];
  CHECK_OK(aihw_tile_forward(t.cpu, x, 4, 31, yc, 24));
  CHECK_OK(aihw_tile_forward(t.gpu, x, 4, 31, yg, 24));
  check_close(yc, yg, 4 * 24, "forward after update");
  CHECK_STATUS(aihw_tile_decay_weights(t.gpu, 1.0f), AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("aihw_tile_to_host");
  CHECK_OK(aihw_tile_to_host(t.gpu));
  CHECK(aihw_tile_device(t.gpu) == -1);
  CHECK_OK(aihw_tile_decay_weights(t.gpu, 1.0f));
  free(x);
  free(d);
  free_twins(&t);
}

/* Weights of both twins must be bit-identical. */
static void check_same_weights(const twins *t, const char *what) {
  const int64_t n = t->out * t->cols;
  float *wc = malloc(sizeof(float) * (size_t)n), *wg = malloc(sizeof(float) * (size_t)n);
  CHECK_OK(aihw_tile_get_weights(t->cpu, wc, t->out, t->cols));
  CHECK_OK(aihw_tile_get_weights(t->gpu, wg, t->out, t->cols));
  int64_t diff = 0, first = -1;
  for (int64_t k = 0; k < n; ++k)
    if (memcmp(&wc[k], &wg[k], sizeof(float)) != 0) {
      if (first < 0)
        first = k;
      ++diff;
    }
  if (diff > 0) {
    fprintf(stderr, "%s: %s: %lld of %lld weights differ (first [%lld]: cpu %.9g, gpu %.9g)\n",
            test_current_, what, (long long)diff, (long long)n, (long long)first,
            (double)wc[first], (double)wg[first]);
    ++test_failures_;
  }
  free(wc);
  free(wg);
}

/* The GPU ConstantStep update (trains, aggregation, noise) gives the CPU's weights bit
 * for bit, from host and from device buffers, over successive calls. */
static void constant_step_update_is_bit_identical(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.analog_bias = 1;
  c.seed = 21;
  c.device.construction_seed = 4;
  const int64_t out = 70, in = 45, batch = 9;
  twins t = make_twins(&c, out, in, 0.3f);
  float *x = random_floats(batch * in, -1.0f, 1.0f), *d = random_floats(batch * out, -1, 1);
  void *xd = NULL, *dd = NULL;
  CHECK_OK(aihw_cuda_malloc(0, sizeof(float) * (size_t)(batch * in), &xd));
  CHECK_OK(aihw_cuda_malloc(0, sizeof(float) * (size_t)(batch * out), &dd));
  CHECK_OK(aihw_cuda_memcpy_h2d(xd, x, sizeof(float) * (size_t)(batch * in)));
  CHECK_OK(aihw_cuda_memcpy_h2d(dd, d, sizeof(float) * (size_t)(batch * out)));
  const long gpu_updates = aihw_cuda_gpu_update_count;
  for (int rep = 0; rep < 3; ++rep) {
    CHECK_OK(aihw_tile_update(t.cpu, x, batch, in, d, out, 0.05f));
    if (rep == 1)
      CHECK_OK(aihw_tile_update(t.gpu, xd, batch, in, dd, out, 0.05f));
    else
      CHECK_OK(aihw_tile_update(t.gpu, x, batch, in, d, out, 0.05f));
    check_same_weights(&t, "after an update");
  }
  CHECK(aihw_cuda_gpu_update_count == gpu_updates + 3); /* the GPU path, not the host's */
  /* forward of the updated device weights (host copy never read in between) */
  float yc[9 * 70], yg[9 * 70];
  CHECK_OK(aihw_tile_update(t.cpu, x, batch, in, d, out, 0.05f));
  CHECK_OK(aihw_tile_update(t.gpu, x, batch, in, d, out, 0.05f));
  CHECK_OK(aihw_tile_set_counter(t.cpu, 1000));
  CHECK_OK(aihw_tile_set_counter(t.gpu, 1000));
  CHECK_OK(aihw_tile_forward(t.cpu, x, batch, in, yc, out));
  CHECK_OK(aihw_tile_forward(t.gpu, x, batch, in, yg, out));
  float steps[9];
  adc_steps(t.cpu, x, batch, in, NULL, steps);
  for (int b = 0; b < 9; ++b)
    steps[b] *= 8.0f; /* up to 3 BM rounds */
  check_quantised(yc, yg, batch, out, steps, "forward after GPU updates");
  check_same_weights(&t, "after forward");
  /* a non-finite gradient on the device: refused, nothing changed */
  d[3 * out + 5] = INFINITY;
  CHECK_OK(aihw_cuda_memcpy_h2d(dd, d, sizeof(float) * (size_t)(batch * out)));
  uint64_t before, after;
  CHECK_OK(aihw_tile_get_counter(t.gpu, &before));
  CHECK_STATUS(aihw_tile_update(t.gpu, xd, batch, in, dd, out, 0.05f), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("d[3][5]");
  CHECK_OK(aihw_tile_get_counter(t.gpu, &after));
  CHECK(before == after);
  check_same_weights(&t, "after a refused update");
  aihw_cuda_free(xd);
  aihw_cuda_free(dd);
  free(x);
  free(d);
  free_twins(&t);
}

/* Weights at their bounds and a large learning rate: many devices cannot be aggregated
 * and take single steps (sequential per row, noise by step position). */
static void constant_step_single_steps_are_bit_identical(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 8;
  const int64_t out = 33, in = 50, batch = 16;
  twins t = make_twins(&c, out, in, 0.3f);
  float *w = random_floats(out * in, -1.0f, 1.0f);
  for (int64_t k = 0; k < out * in; ++k)
    w[k] = w[k] > 0.0f ? 0.7f : -0.7f; /* beyond the bounds: clipped to them */
  CHECK_OK(aihw_tile_set_weights(t.cpu, w, out, in));
  CHECK_OK(aihw_tile_set_weights(t.gpu, w, out, in));
  float *x = random_floats(batch * in, -1.0f, 1.0f), *d = random_floats(batch * out, -1, 1);
  const long gpu_updates = aihw_cuda_gpu_update_count;
  for (int rep = 0; rep < 3; ++rep) {
    CHECK_OK(aihw_tile_update(t.cpu, x, batch, in, d, out, 0.5f));
    CHECK_OK(aihw_tile_update(t.gpu, x, batch, in, d, out, 0.5f));
    check_same_weights(&t, "near the bounds");
  }
  CHECK(aihw_cuda_gpu_update_count == gpu_updates + 3);
  /* moving back to the host keeps the GPU's weights */
  CHECK_OK(aihw_tile_to_host(t.gpu));
  check_same_weights(&t, "after to_host");
  free(w);
  free(x);
  free(d);
  free_twins(&t);
}

/* Weights spread up to near the bounds and a moderate learning rate: the GPU's two-pass
 * aggregation meets devices whose bounds test its count bounds cannot settle (the exact
 * path), beside certain passes and certain failures. */
static void constant_step_near_bounds_is_bit_identical(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 12;
  c.device.construction_seed = 9;
  const int64_t out = 64, in = 61, batch = 40;
  twins t = make_twins(&c, out, in, 0.58f);
  float *x = random_floats(batch * in, -1.0f, 1.0f), *d = random_floats(batch * out, -1, 1);
  const long gpu_updates = aihw_cuda_gpu_update_count;
  const float lrs[4] = {0.02f, 0.1f, 0.3f, 0.05f};
  for (int rep = 0; rep < 4; ++rep) {
    CHECK_OK(aihw_tile_update(t.cpu, x, batch, in, d, out, lrs[rep]));
    CHECK_OK(aihw_tile_update(t.gpu, x, batch, in, d, out, lrs[rep]));
    check_same_weights(&t, "near the bounds, moderate steps");
  }
  CHECK(aihw_cuda_gpu_update_count == gpu_updates + 4);
  free(x);
  free(d);
  free_twins(&t);
}

/* INFERENCE tile programmed and drifted on the host, then evaluated on the GPU: drift
 * compensation and output scales are applied in the output kernel. */
static void inference_digital_stage(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  c.seed = 5;
  aihw_tile *cpu = NULL, *gpu = NULL;
  CHECK_OK(aihw_tile_create(&c, 40, 50, &cpu));
  CHECK_OK(aihw_tile_create(&c, 40, 50, &gpu));
  float *w = random_floats(40 * 50, -0.5f, 0.5f), *s = random_floats(40, 0.5f, 2.0f);
  aihw_tile *both[2] = {cpu, gpu};
  for (int k = 0; k < 2; ++k) {
    CHECK_OK(aihw_tile_set_weights(both[k], w, 40, 50));
    CHECK_OK(aihw_tile_set_out_scales(both[k], s, 40));
    CHECK_OK(aihw_tile_drift_to(both[k], 3600.0f));
  }
  CHECK_OK(aihw_tile_to_cuda(gpu, 0));
  float *x = random_floats(8 * 50, -1.0f, 1.0f);
  float yc[8 * 40], yg[8 * 40];
  int rc[8];
  CHECK_OK(aihw_tile_forward(cpu, x, 8, 50, yc, 40));
  memcpy(rc, aihw_tile_last_forward_rounds(cpu), sizeof rc);
  CHECK_OK(aihw_tile_forward(gpu, x, 8, 50, yg, 40));
  float steps[8];
  adc_steps(cpu, x, 8, 50, rc, steps);
  float alpha[40];
  CHECK_OK(aihw_tile_get_drift_alpha(cpu, alpha, 40));
  float amax = 0.0f;
  for (int i = 0; i < 40; ++i)
    amax = fmaxf(amax, fabsf(alpha[i] * s[i]));
  for (int b = 0; b < 8; ++b)
    steps[b] *= amax;
  check_quantised(yc, yg, 8, 40, steps, "inference forward");
  free(w);
  free(s);
  free(x);
  aihw_tile_destroy(cpu);
  aihw_tile_destroy(gpu);
}

/* Drift-compensation factors of both twins: the readout's product has one non-zero term
 * per output (one-hot inputs), so it is exact on both backends and the factors should be
 * equal; required within 1e-6 relative (float rounding of a double sum). */
static void check_same_alpha(const twins *t, const char *what) {
  float ac[64], ag[64];
  CHECK(t->out <= 64);
  CHECK_OK(aihw_tile_get_drift_alpha(t->cpu, ac, t->out));
  CHECK_OK(aihw_tile_get_drift_alpha(t->gpu, ag, t->out));
  for (int64_t i = 0; i < t->out; ++i)
    if (!(fabsf(ac[i] - ag[i]) <= 1e-6f * fabsf(ac[i]))) {
      fprintf(stderr, "%s: %s: alpha[%lld]: cpu %.9g, gpu %.9g\n", test_current_, what,
              (long long)i, (double)ac[i], (double)ag[i]);
      ++test_failures_;
      return;
    }
}

/* Programmed weights and drift exponents of both twins bit for bit (the GPU twin's are
 * downloaded by to_host). */
static void check_same_programming(twins *t, const char *what) {
  CHECK_OK(aihw_tile_to_host(t->gpu));
  const size_t n = (size_t)(t->out * t->cols);
  const size_t slices = (size_t)aihw_converter_slices(&t->cpu->config.inference.converter);
  CHECK(t->cpu->programmed_valid && t->gpu->programmed_valid);
  if (memcmp(t->cpu->programmed, t->gpu->programmed, n * sizeof(float)) != 0 ||
      memcmp(t->cpu->nu, t->gpu->nu, n * slices * sizeof(float)) != 0) {
    fprintf(stderr, "%s: %s: programmed weights or nu differ\n", test_current_, what);
    ++test_failures_;
  }
  CHECK_OK(aihw_tile_to_cuda(t->gpu, 0));
}

/* Programming and drift on the GPU (every noise model and converter, the three
 * compensations, Q_s at the target, g_min > 0 for the pair kernels' generic path): the
 * CPU's weights, programmed weights and drift exponents bit for bit, the same op counter. */
static void inference_program_and_drift_match(void) {
  static const struct {
    aihw_noise_model_type noise;
    aihw_converter_type conv;
    aihw_drift_compensation comp;
    int at_target;
    float g_min;
  } cases[] = {
      {AIHW_NOISE_PCM_LIKE, AIHW_CONVERTER_SINGLE_PAIR, AIHW_DRIFT_COMPENSATION_GLOBAL, 0, 0},
      {AIHW_NOISE_PCM_LIKE, AIHW_CONVERTER_N_PAIR, AIHW_DRIFT_COMPENSATION_PER_COLUMN, 0, 0},
      {AIHW_NOISE_PCM_LIKE, AIHW_CONVERTER_DUAL_PAIR,
       AIHW_DRIFT_COMPENSATION_GLOBAL_EXACT_REFERENCE, 1, 0},
      {AIHW_NOISE_CUSTOM_DRIFT_PCM, AIHW_CONVERTER_CUSTOM_PAIR, AIHW_DRIFT_COMPENSATION_GLOBAL,
       0, -1},
      {AIHW_NOISE_STATE_INDEPENDENT, AIHW_CONVERTER_SINGLE_DEVICE,
       AIHW_DRIFT_COMPENSATION_NONE, 0, -1},
      {AIHW_NOISE_PCM_LIKE, AIHW_CONVERTER_SINGLE_PAIR, AIHW_DRIFT_COMPENSATION_PER_COLUMN, 1,
       2.0f},
      {AIHW_NOISE_NONE, AIHW_CONVERTER_SINGLE_PAIR, AIHW_DRIFT_COMPENSATION_GLOBAL, 0, 0},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
    c.seed = 40 + (uint32_t)k;
    c.inference.converter = aihw_converter_params_default(cases[k].conv);
    if (cases[k].g_min >= 0.0f)
      c.inference.converter.g_min = cases[k].g_min;
    c.inference.noise_model = aihw_noise_model_params_default(cases[k].noise);
    c.inference.noise_model.g_max = c.inference.converter.g_max;
    c.inference.noise_model.read_noise_at_target = cases[k].at_target;
    c.inference.drift_compensation = cases[k].comp;
    const int failures_before = test_failures_;
    twins t = make_twins(&c, 37, 45, 0.6f);
    CHECK_OK(aihw_tile_program_weights(t.cpu));
    CHECK_OK(aihw_tile_program_weights(t.gpu));
    check_same_weights(&t, "programmed");
    check_same_alpha(&t, "programmed");
    const float times[3] = {3600.0f, 0.0f, 1e6f};
    for (int r = 0; r < 3; ++r) {
      CHECK_OK(aihw_tile_drift_to(t.cpu, times[r]));
      CHECK_OK(aihw_tile_drift_to(t.gpu, times[r]));
      check_same_weights(&t, "drifted");
      check_same_alpha(&t, "drifted");
    }
    uint64_t cc, cg;
    CHECK_OK(aihw_tile_get_counter(t.cpu, &cc));
    CHECK_OK(aihw_tile_get_counter(t.gpu, &cg));
    CHECK(cc == cg);
    check_same_programming(&t, "after drift");
    if (test_failures_ > failures_before)
      fprintf(stderr, "  (case %zu)\n", k);
    free_twins(&t);
  }
}

/* A tile programmed on the host drifts on the GPU (programming uploaded); new weights
 * invalidate the device reference and programming (drift_to programs again). */
static void inference_copies_follow_the_host(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  c.seed = 77;
  twins t = make_twins(&c, 21, 30, 0.4f);
  CHECK_OK(aihw_tile_to_host(t.gpu));
  CHECK_OK(aihw_tile_program_weights(t.cpu));
  CHECK_OK(aihw_tile_program_weights(t.gpu));
  CHECK_OK(aihw_tile_to_cuda(t.gpu, 0));
  CHECK_OK(aihw_tile_drift_to(t.cpu, 86400.0f));
  CHECK_OK(aihw_tile_drift_to(t.gpu, 86400.0f));
  check_same_weights(&t, "host programming, GPU drift");
  check_same_alpha(&t, "host programming, GPU drift");
  float *w = random_floats(21 * 30, -0.3f, 0.3f);
  CHECK_OK(aihw_tile_set_weights(t.cpu, w, 21, 30));
  CHECK_OK(aihw_tile_set_weights(t.gpu, w, 21, 30));
  CHECK_OK(aihw_tile_drift_to(t.cpu, 60.0f));
  CHECK_OK(aihw_tile_drift_to(t.gpu, 60.0f));
  check_same_weights(&t, "new weights, drift");
  check_same_programming(&t, "new weights");
  /* training mode is refused as on the host; nothing changes */
  CHECK_OK(aihw_tile_set_training(t.gpu, 1));
  CHECK_STATUS(aihw_tile_drift_to(t.gpu, 1.0f), AIHW_ERR_STATE);
  CHECK_OK(aihw_tile_set_training(t.gpu, 0));
  CHECK_STATUS(aihw_tile_drift_to(t.gpu, -1.0f), AIHW_ERR_INVALID_ARGUMENT);
  check_same_weights(&t, "refused calls");
  free(w);
  free_twins(&t);
}

/* A LINEAR layer mapped onto a 3 x 3 grid of INFERENCE tiles, all on the GPU: one grid
 * call (cuda_grid.cu) gives the CPU module's output up to GEMM rounding; an element may sit
 * on a neighbouring ADC level in any of the in_splits tiles of its sum, so it may differ by
 * up to in_splits ADC steps of its row (BM rounds included, x8), and such elements must be
 * rare (<= 0.5 %). After programming and drift (compensation factors per tile) as well. */
static void mapped_layer_grid_matches(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  c.seed = 31;
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_input_size = 32;
  mp.max_output_size = 24;
  const int64_t in = 70, out = 50, batch = 40;
  aihw_module *mc = NULL, *mg = NULL;
  CHECK_OK(aihw_linear_create(&c, &mp, in, out, 1, &mc));
  CHECK_OK(aihw_linear_create(&c, &mp, in, out, 1, &mg));
  int64_t ni = 0, no = 0;
  CHECK_OK(aihw_linear_tile_grid(mg, &ni, &no));
  CHECK(ni == 3 && no == 3);
  float *w = random_floats(out * in, -0.3f, 0.3f), *bias = random_floats(out, -0.1f, 0.1f);
  CHECK_OK(aihw_linear_set_weights(mc, w, bias, 1));
  CHECK_OK(aihw_linear_set_weights(mg, w, bias, 1));
  CHECK_OK(aihw_module_to_cuda(mg, 0));
  float *x = random_floats(batch * in, -1.0f, 1.0f);
  float yc[40 * 50], yg[40 * 50], steps[40];
  const float res = aihw_linear_tile(mc, 0, 0)->forward.out_res;
  for (int64_t b = 0; b < batch; ++b) {
    float a = 0.0f;
    for (int64_t j = 0; j < in; ++j)
      a = fmaxf(a, fabsf(x[b * in + j]));
    steps[b] = (float)ni * res * a * 2.0f * 8.0f;
  }
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1) {
      CHECK_OK(aihw_module_drift_to(mc, 3600.0f));
      CHECK_OK(aihw_module_drift_to(mg, 3600.0f));
      for (int64_t b = 0; b < batch; ++b)
        steps[b] *= 1.5f; /* compensation factors above 1 */
    }
    const long grid_calls = aihw_cuda_grid_forward_count;
    CHECK_OK(aihw_module_forward(mc, x, batch, in, yc, out));
    CHECK_OK(aihw_module_forward(mg, x, batch, in, yg, out));
    CHECK(aihw_cuda_grid_forward_count == grid_calls + 1);
    check_quantised(yc, yg, batch, out, steps, pass ? "grid after drift" : "grid forward");
    for (int64_t r = 0; r < ni; ++r)
      for (int64_t o = 0; o < no; ++o) {
        uint64_t kc, kg;
        CHECK_OK(aihw_tile_get_counter(aihw_linear_tile(mc, r, o), &kc));
        CHECK_OK(aihw_tile_get_counter(aihw_linear_tile(mg, r, o), &kg));
        CHECK(kc == kg);
      }
  }
  /* the tile-by-tile GPU path agrees too */
  aihw_cuda_grid_disabled = 1;
  float yt[40 * 50];
  CHECK_OK(aihw_module_forward(mc, x, batch, in, yc, out));
  CHECK_OK(aihw_module_forward(mg, x, batch, in, yt, out));
  aihw_cuda_grid_disabled = 0;
  check_quantised(yc, yt, batch, out, steps, "tile by tile");
  free(w);
  free(bias);
  free(x);
  aihw_module_destroy(mc);
  aihw_module_destroy(mg);
}

static void unsupported_periphery_is_named(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.forward.ir_drop = 1.0f;
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&c, 4, 4, &t));
  CHECK_STATUS(aihw_tile_to_cuda(t, 0), AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("forward.ir_drop");
  CHECK(aihw_tile_device(t) == -1);
  aihw_tile_destroy(t);
}

static int gpu_available(void) {
  if (aihw_cuda_device_count() > 0) {
    char name[256];
    aihw_cuda_device_name(0, name, sizeof name);
    printf("CUDA device 0: %s\n", name);
    return 1;
  }
  printf("skip: %s\n", aihw_cuda_backend_available() ? "no CUDA device"
                                                     : "aihw was built without CUDA");
  return 0;
}

int parity_main(int argc, char **argv);
#define main parity_main
TEST_MAIN(TEST(exact_tiles_match), TEST(noise_draws_match),
          TEST(default_io_with_bound_management), TEST(noise_management_variants),
          TEST(device_buffers_match_host_buffers), TEST(update_and_host_only_calls),
          TEST(inference_digital_stage), TEST(unsupported_periphery_is_named),
          TEST(constant_step_update_is_bit_identical),
          TEST(constant_step_single_steps_are_bit_identical),
          TEST(constant_step_near_bounds_is_bit_identical),
          TEST(inference_program_and_drift_match), TEST(inference_copies_follow_the_host),
          TEST(mapped_layer_grid_matches))
#undef main

int main(int argc, char **argv) {
  if (!gpu_available())
    return SKIP_CODE;
  return parity_main(argc, argv);
}
