/* `aihw bench forward`: the analog tile forward pass against its floor (DESIGN.md §6).
 *
 * Each case is a square n x n ANALOG tile with default IOParameters (noise management,
 * 7-bit DAC, 9-bit ADC, output noise, bound management) and a batch of B inputs. It times
 * aihw_tile_forward() and a bare cblas_sgemm of the same shape, C[B][n] = X[B][n] W[n][n]^T
 * (CblasRowMajor, NoTrans, Trans), interleaved in the same run. For B = 1 the floor is
 * cblas_sgemv instead (y = W x): OpenBLAS runs a one-row sgemm several times slower than
 * sgemv, which would make the floor meaningless. The ratio of the medians
 * is the periphery's overhead (goal: <= 1.2). Weights ~ U(-1/sqrt(n), 1/sqrt(n)) (the
 * usual layer initialisation) and inputs ~ U(-1, 1) keep outputs well inside the ADC
 * range, so bound management does not repeat passes and the time is one analog MVM.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "aihw/aihw.h"
#include "backend/cuda_api.h"
#include "bench.h"
#include "bench_util.h"

static const int64_t full_sizes[] = {256, 512, 1024, 2048};
static const int64_t full_batches[] = {1, 64, 256};
static const int64_t quick_sizes[] = {256, 512};
static const int64_t quick_batches[] = {64};
/* --device cuda: the sizes and batches of the GPU targets (issue 7). */
static const int64_t cuda_sizes[] = {512, 1024, 2048, 4096, 8192};
static const int64_t cuda_batches[] = {64, 256, 1024, 4096};
static const int64_t cuda_quick_sizes[] = {512};
static const int64_t cuda_quick_batches[] = {64};

/* --device: where the tile runs. */
typedef struct forward_options {
  int cuda;
} forward_options;

static int parse_device(void *ctx, int argc, char **argv, int *i) {
  forward_options *fo = ctx;
  const char *value = NULL;
  int found = cli_option_value(argc, argv, i, "--device", &value);
  if (found == 0)
    return 0;
  if (found < 0)
    return -1;
  if (strcmp(value, "cpu") == 0) {
    fo->cuda = 0;
    return 1;
  }
  if (strcmp(value, "cuda") == 0) {
    fo->cuda = 1;
    return 1;
  }
  fprintf(stderr, "aihw bench forward: --device %s: must be cpu or cuda\n", value);
  return -1;
}

void bench_forward_usage(FILE *out) {
  fprintf(out,
          "usage: aihw bench forward [--json] [--quick] [--repeats N] [--threads N] "
          "[--seed N]\n"
          "\n"
          "Times the ANALOG tile forward (default IOParameters) against a bare cblas_sgemm\n"
          "of the same shape, interleaved in one run; reports medians and their ratio.\n"
          "Cases: square tiles 256, 512, 1024, 2048 at batch 1, 64, 256.\n"
          "\n"
          "  --json        one JSON object per case and line:\n"
          "                {\"op\": \"forward\", \"size\": N, \"batch\": B, \"t_ms\": T,\n"
          "                 \"t_floor_ms\": F, \"ratio\": T/F}\n"
          "  --quick       only sizes 256 and 512 at batch 64 (a few seconds)\n"
          "  --repeats N   timed rounds per case (default: enough for 0.2 s, at least 5)\n"
          "  --threads N   OpenMP and OpenBLAS threads (default: all cores)\n"
          "  --seed N      seed of the data and the tile's noise (default 1)\n"
          "  --device D    cpu (default) or cuda: the tile on CUDA device 0 with x and y in\n"
          "                device memory, against a bare cublasSgemm (float32) of the same\n"
          "                shape timed the same way (host clock around synchronous calls);\n"
          "                cases 512..8192 at batch 64..4096 (--quick: 512 at 64); JSON\n"
          "                lines gain \"device\": <GPU name>\n");
}

typedef struct forward_case {
  int64_t n, batch;
  aihw_tile *tile;
  float *w, *x, *y, *y_floor;
  void *x_dev, *y_dev; /* --device cuda */
  aihw_status status; /* first failure of the tile call, for the report */
} forward_case;

static int time_tile_forward_cuda(void *ctx) {
  forward_case *c = ctx;
  c->status = aihw_tile_forward(c->tile, c->x_dev, c->batch, c->n, c->y_dev, c->n);
  return c->status == AIHW_OK ? 0 : 1;
}

static int time_tile_forward(void *ctx) {
  forward_case *c = ctx;
  c->status = aihw_tile_forward(c->tile, c->x, c->batch, c->n, c->y, c->n);
  return c->status == AIHW_OK ? 0 : 1;
}

static int time_sgemm(void *ctx) {
  forward_case *c = ctx;
  const int n = (int)c->n, batch = (int)c->batch;
  if (batch == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, n, 1.0f, c->w, n, c->x, 1, 0.0f, c->y_floor,
                1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, n, n, 1.0f, c->x, n, c->w,
                n, 0.0f, c->y_floor, n);
  return 0;
}

static void case_free(forward_case *c) {
  aihw_tile_destroy(c->tile);
  free(c->w);
  free(c->x);
  free(c->y);
  free(c->y_floor);
  aihw_cuda_free(c->x_dev);
  aihw_cuda_free(c->y_dev);
}

/* --device cuda: the INFERENCE tile (default IOParameters forward, as aihwkit's
 * InferenceRPUConfig) on device 0, x and y in device memory; floor: cublasSgemm. */
static int run_case_cuda(const bench_options *opts, int64_t n, int64_t batch) {
  forward_case c = {.n = n, .batch = batch};
  int rc = CLI_EXIT_FAILURE;
  const char *what = "aihw_tile_create";
  c.w = bench_alloc_floats((size_t)(n * n));
  c.x = bench_alloc_floats((size_t)(batch * n));
  if (c.w == NULL || c.x == NULL)
    goto done;
  const float w_max = 1.0f / sqrtf((float)n);
  cli_fill_uniform(c.w, n, n, -w_max, w_max, opts->seed, 1);
  cli_fill_uniform(c.x, batch, n, -1.0f, 1.0f, opts->seed, 2);
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  config.seed = opts->seed;
  aihw_status s = aihw_tile_create(&config, n, n, &c.tile);
  if (s == AIHW_OK && (what = "aihw_tile_set_weights") &&
      (s = aihw_tile_set_weights(c.tile, c.w, n, n)) == AIHW_OK &&
      (what = "aihw_tile_to_cuda") && (s = aihw_tile_to_cuda(c.tile, 0)) == AIHW_OK &&
      (what = "device buffers") &&
      (s = aihw_cuda_malloc(0, (size_t)(batch * n) * sizeof(float), &c.x_dev)) == AIHW_OK &&
      (s = aihw_cuda_malloc(0, (size_t)(batch * n) * sizeof(float), &c.y_dev)) == AIHW_OK)
    s = aihw_cuda_memcpy_h2d(c.x_dev, c.x, (size_t)(batch * n) * sizeof(float));
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench forward", what, s);
    goto done;
  }
  const bench_call calls[1] = {{time_tile_forward_cuda, &c}};
  double t_s = 0.0, floor_s = 0.0;
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, 1, &t_s, &rounds) != 0) {
    rc = c.status != AIHW_OK
             ? cli_report_failure("bench forward", "aihw_tile_forward", c.status)
             : CLI_EXIT_FAILURE;
    goto done;
  }
  s = aihw_cuda_bench_sgemm(0, batch, n, n, rounds < 5 ? 5 : (int)rounds, &floor_s);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench forward", "cublasSgemm floor", s);
    goto done;
  }
  const double t_ms = 1e3 * t_s, t_floor_ms = 1e3 * floor_s, ratio = t_ms / t_floor_ms;
  if (opts->json) {
    char name[256];
    aihw_cuda_device_name(0, name, sizeof name);
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "forward");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", batch);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", ratio, 4);
    bench_json_string(&j, "device", name);
    bench_json_end(&j);
  } else {
    const double gflops = 2.0 * (double)batch * (double)n * (double)n / (floor_s * 1e9);
    printf("%6lld %6lld %10.4f %12.4f %7.2f %10.1f %8ld\n", (long long)n, (long long)batch,
           t_ms, t_floor_ms, ratio, gflops, rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  case_free(&c);
  return rc;
}

/* Runs one case; prints its row or JSON line. Returns an exit status. */
static int run_case(const bench_options *opts, int64_t n, int64_t batch) {
  forward_case c = {.n = n, .batch = batch};
  int rc = CLI_EXIT_FAILURE;
  c.w = bench_alloc_floats((size_t)(n * n));
  c.x = bench_alloc_floats((size_t)(batch * n));
  c.y = bench_alloc_floats((size_t)(batch * n));
  c.y_floor = bench_alloc_floats((size_t)(batch * n));
  if (c.w == NULL || c.x == NULL || c.y == NULL || c.y_floor == NULL)
    goto done;
  const float w_max = 1.0f / sqrtf((float)n);
  cli_fill_uniform(c.w, n, n, -w_max, w_max, opts->seed, 1);
  cli_fill_uniform(c.x, batch, n, -1.0f, 1.0f, opts->seed, 2);

  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_ANALOG);
  config.device = aihw_device_params_default(AIHW_DEVICE_IDEAL); /* forward only */
  config.seed = opts->seed;
  aihw_status s = aihw_tile_create(&config, n, n, &c.tile);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench forward", "aihw_tile_create", s);
    goto done;
  }
  s = aihw_tile_set_weights(c.tile, c.w, n, n);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench forward", "aihw_tile_set_weights", s);
    goto done;
  }

  const bench_call calls[2] = {{time_tile_forward, &c}, {time_sgemm, &c}};
  double median_s[2];
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, 2, median_s, &rounds) != 0) {
    rc = c.status != AIHW_OK
             ? cli_report_failure("bench forward", "aihw_tile_forward", c.status)
             : CLI_EXIT_FAILURE;
    goto done;
  }
  const double t_ms = 1e3 * median_s[0], t_floor_ms = 1e3 * median_s[1];
  const double ratio = t_ms / t_floor_ms;
  if (opts->json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "forward");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", batch);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", ratio, 4);
    bench_json_end(&j);
  } else {
    const double gflops = 2.0 * (double)batch * (double)n * (double)n / (median_s[1] * 1e9);
    printf("%6lld %6lld %10.4f %12.4f %7.2f %10.1f %8ld\n", (long long)n, (long long)batch,
           t_ms, t_floor_ms, ratio, gflops, rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  case_free(&c);
  return rc;
}

int bench_forward_run(int argc, char **argv) {
  bench_options opts = bench_options_default();
  forward_options fo = {0};
  int parsed = bench_parse_options(argc, argv, &opts, parse_device, &fo, bench_forward_usage);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (fo.cuda) {
    if (aihw_cuda_device_count() == 0) {
      fprintf(stderr, "aihw bench forward: --device cuda: %s\n",
              aihw_cuda_backend_available() ? "no CUDA device is available"
                                            : "aihw was built without CUDA");
      return CLI_EXIT_FAILURE;
    }
    const int64_t *sizes = opts.quick ? cuda_quick_sizes : cuda_sizes;
    const int64_t *batches = opts.quick ? cuda_quick_batches : cuda_batches;
    const size_t n_sizes = opts.quick ? 1 : sizeof cuda_sizes / sizeof cuda_sizes[0];
    const size_t n_batches = opts.quick ? 1 : sizeof cuda_batches / sizeof cuda_batches[0];
    if (!opts.json) {
      char name[256];
      aihw_cuda_device_name(0, name, sizeof name);
      printf("aihw bench forward --device cuda: INFERENCE tile forward (default "
             "IOParameters) on %s vs bare cublasSgemm, same shape\n",
             name);
      printf("# W ~ U(-1/sqrt(n), 1/sqrt(n)), X ~ U(-1, 1), seed %u; x, y in device memory; "
             "medians of host-timed synchronous calls\n",
             (unsigned)opts.seed);
      printf("%6s %6s %10s %12s %7s %10s %8s\n", "size", "batch", "t_ms", "t_floor_ms",
             "ratio", "GFLOP/s", "rounds");
    }
    for (size_t a = 0; a < n_sizes; ++a)
      for (size_t b = 0; b < n_batches; ++b) {
        int rc = run_case_cuda(&opts, sizes[a], batches[b]);
        if (rc != CLI_EXIT_OK)
          return rc;
      }
    return CLI_EXIT_OK;
  }

  const int64_t *sizes = opts.quick ? quick_sizes : full_sizes;
  const int64_t *batches = opts.quick ? quick_batches : full_batches;
  const size_t n_sizes = opts.quick ? sizeof quick_sizes / sizeof quick_sizes[0]
                                    : sizeof full_sizes / sizeof full_sizes[0];
  const size_t n_batches = opts.quick ? sizeof quick_batches / sizeof quick_batches[0]
                                      : sizeof full_batches / sizeof full_batches[0];
  if (!opts.json) {
    printf("aihw bench forward: ANALOG tile forward (default IOParameters) vs bare "
           "cblas_sgemm, same shape (sgemv at batch 1)\n");
    bench_print_environment(stdout);
    printf("# W ~ U(-1/sqrt(n), 1/sqrt(n)), X ~ U(-1, 1), seed %u; times are medians over "
           "interleaved rounds\n",
           (unsigned)opts.seed);
    printf("%6s %6s %10s %12s %7s %10s %8s\n", "size", "batch", "t_ms", "t_floor_ms", "ratio",
           "GFLOP/s", "rounds");
  }
  for (size_t a = 0; a < n_sizes; ++a) {
    for (size_t b = 0; b < n_batches; ++b) {
      int rc = run_case(&opts, sizes[a], batches[b]);
      if (rc != CLI_EXIT_OK)
        return rc;
    }
  }
  return CLI_EXIT_OK;
}
