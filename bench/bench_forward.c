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
#include "backend/tile_cuda.h"
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
  int cuda, mapped;
} forward_options;

static int parse_device(void *ctx, int argc, char **argv, int *i) {
  forward_options *fo = ctx;
  if (strcmp(argv[*i], "--mapped") == 0) {
    fo->mapped = 1;
    return 1;
  }
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
          "                lines gain \"device\": <GPU name>\n"
          "  --mapped      with --device cuda: a LINEAR layer n -> n mapped onto 512 x 512\n"
          "                INFERENCE tiles (default mapping), all on device 0, its grid run\n"
          "                in one call with x, y in device memory, against a cublasSgemm of\n"
          "                the whole layer; n 2048, 4096 at batch 256, 1024 (--quick: 1024 at\n"
          "                256); JSON lines have \"op\": \"forward_mapped\", \"tiles\": K\n");
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

/* --device cuda --mapped: one LINEAR layer n -> n (512 x 512 tiles, digital bias) on device
 * 0; times its tile grid's fused forward (aihw_tile_cuda_grid_forward, what
 * aihw_module_forward runs for it, here with x and y in device memory: the module API takes
 * host buffers) against a cublasSgemm of the whole layer. */
typedef struct mapped_case {
  aihw_module *m;
  aihw_tile **tiles;
  int64_t ni, no, n, batch;
  int64_t starts_sizes[4 * 64];
  void *x_dev, *y_dev;
  float *bias;
  aihw_status status;
} mapped_case;

static int time_mapped(void *ctx) {
  mapped_case *c = ctx;
  const int64_t *st = c->starts_sizes;
  c->status = aihw_tile_cuda_grid_forward(c->tiles, c->ni, c->no, st, st + 64, st + 128,
                                          st + 192, c->x_dev, c->batch, c->n, c->y_dev, c->n,
                                          c->bias);
  return c->status == AIHW_OK ? 0 : 1;
}

static int run_case_mapped(const bench_options *opts, int64_t n, int64_t batch) {
  mapped_case c = {.n = n, .batch = batch};
  int rc = CLI_EXIT_FAILURE;
  const char *what = "aihw_linear_create";
  float *w = bench_alloc_floats((size_t)(n * n)), *x = bench_alloc_floats((size_t)(batch * n));
  c.bias = bench_alloc_floats((size_t)n);
  if (w == NULL || x == NULL || c.bias == NULL)
    goto done;
  const float w_max = 1.0f / sqrtf((float)n);
  cli_fill_uniform(w, n, n, -w_max, w_max, opts->seed, 1);
  cli_fill_uniform(x, batch, n, -1.0f, 1.0f, opts->seed, 2);
  cli_fill_uniform(c.bias, 1, n, -0.1f, 0.1f, opts->seed, 3);
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  config.seed = opts->seed;
  aihw_mapping_params mp = aihw_mapping_params_default();
  aihw_status s = aihw_linear_create(&config, &mp, n, n, 1, &c.m);
  if (s == AIHW_OK && (what = "aihw_linear_set_weights"))
    s = aihw_linear_set_weights(c.m, w, c.bias, 1);
  if (s == AIHW_OK && (what = "aihw_module_to_cuda"))
    s = aihw_module_to_cuda(c.m, 0);
  if (s == AIHW_OK && (what = "aihw_linear_tile_grid"))
    s = aihw_linear_tile_grid(c.m, &c.ni, &c.no);
  if (s == AIHW_OK && (c.ni > 64 || c.no > 64))
    s = AIHW_ERR_UNSUPPORTED;
  if (s == AIHW_OK) {
    c.tiles = calloc((size_t)(c.ni * c.no), sizeof *c.tiles);
    int64_t at = 0;
    for (int64_t r = 0; r < c.ni; ++r) {
      const aihw_tile *t = aihw_linear_tile(c.m, r, 0);
      c.starts_sizes[r] = at;
      c.starts_sizes[64 + r] = aihw_tile_in_size(t);
      at += aihw_tile_in_size(t);
    }
    at = 0;
    for (int64_t o = 0; o < c.no; ++o) {
      const aihw_tile *t = aihw_linear_tile(c.m, 0, o);
      c.starts_sizes[128 + o] = at;
      c.starts_sizes[192 + o] = aihw_tile_out_size(t);
      at += aihw_tile_out_size(t);
    }
    for (int64_t r = 0; r < c.ni; ++r)
      for (int64_t o = 0; o < c.no; ++o)
        c.tiles[r * c.no + o] = aihw_linear_tile(c.m, r, o);
  }
  if (s == AIHW_OK && (what = "device buffers") &&
      (s = aihw_cuda_malloc(0, (size_t)(batch * n) * sizeof(float), &c.x_dev)) == AIHW_OK &&
      (s = aihw_cuda_malloc(0, (size_t)(batch * n) * sizeof(float), &c.y_dev)) == AIHW_OK)
    s = aihw_cuda_memcpy_h2d(c.x_dev, x, (size_t)(batch * n) * sizeof(float));
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench forward", what, s);
    goto done;
  }
  const bench_call calls[1] = {{time_mapped, &c}};
  double t_s = 0.0, floor_s = 0.0;
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, 1, &t_s, &rounds) != 0) {
    rc = cli_report_failure("bench forward", "grid forward", c.status);
    goto done;
  }
  s = aihw_cuda_bench_sgemm(0, batch, n, n, rounds < 5 ? 5 : (int)rounds, &floor_s);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench forward", "cublasSgemm floor", s);
    goto done;
  }
  const double t_ms = 1e3 * t_s, t_floor_ms = 1e3 * floor_s;
  if (opts->json) {
    char name[256];
    aihw_cuda_device_name(0, name, sizeof name);
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "forward_mapped");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", batch);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", t_ms / t_floor_ms, 4);
    bench_json_int(&j, "tiles", c.ni * c.no);
    bench_json_string(&j, "device", name);
    bench_json_end(&j);
  } else {
    printf("%6lld %6lld %6lld %10.4f %12.4f %7.2f %8ld\n", (long long)n, (long long)batch,
           (long long)(c.ni * c.no), t_ms, t_floor_ms, t_ms / t_floor_ms, rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  aihw_module_destroy(c.m);
  free(c.tiles);
  free(w);
  free(x);
  free(c.bias);
  aihw_cuda_free(c.x_dev);
  aihw_cuda_free(c.y_dev);
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
    if (fo.mapped) {
      static const int64_t m_sizes[] = {2048, 4096}, m_batches[] = {256, 1024};
      if (!opts.json)
        printf("aihw bench forward --device cuda --mapped: LINEAR layer n -> n on 512 x 512 "
               "INFERENCE tiles, grid in one call, vs cublasSgemm of the layer\n"
               "%6s %6s %6s %10s %12s %7s %8s\n",
               "size", "batch", "tiles", "t_ms", "t_floor_ms", "ratio", "rounds");
      for (size_t a = 0; a < (opts.quick ? 1u : 2u); ++a)
        for (size_t b = 0; b < (opts.quick ? 1u : 2u); ++b) {
          int rc = run_case_mapped(&opts, opts.quick ? 1024 : m_sizes[a], m_batches[b]);
          if (rc != CLI_EXIT_OK)
            return rc;
        }
      return CLI_EXIT_OK;
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
