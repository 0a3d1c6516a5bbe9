/* `aihw bench update`: the pulsed update of an analog tile against a floating-point
 * rank-1 update of the same shape (DESIGN.md §6).
 *
 * Each case is a square n x n ANALOG tile with a device model at its aihwkit defaults
 * (ConstantStepDevice, SoftBoundsDevice), default UpdateParameters (stochastic compressed
 * pulse trains, desired BL 31, update management and BL management on) and a batch of B
 * samples x, d ~ U(-1, 1), lr = 0.01. It times aihw_tile_update() and the floor, a plain
 * W <- W - lr d_b x_b^T per sample (cblas_sger, B calls, on a copy of the weights),
 * interleaved in the same run.
 *
 * Every round starts from the same weights W0 ~ U(-0.1, 0.1): repeated updates with the
 * same x and d would otherwise push the weights to the device bounds, where steps are
 * clipped and the work changes. A third, untimed-in-the-report call of each round sets
 * W0 again on the tile and on the floor's copy (aihw_tile_set_weights, memcpy) after the
 * two timed calls, so the reset never falls inside a timed region.
 *
 * The table also compares the 512 x 512, batch 64 ConstantStep case with a quoted
 * reference figure for aihwkit v1.1.0's CPU tile (about 330 ms per batch, one thread);
 * that figure is not measured here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "aihw/aihw.h"
#include "backend/cuda_api.h"
#include "bench.h"
#include "bench_util.h"

static const int64_t full_sizes[] = {256, 512, 1024, 2048};
static const int64_t full_batches[] = {1, 64};
static const int64_t quick_sizes[] = {256, 512};
static const int64_t quick_batches[] = {64};
static const aihw_device_type devices[] = {AIHW_DEVICE_CONSTANT_STEP, AIHW_DEVICE_SOFT_BOUNDS};

#define UPDATE_LR 0.01f
#define UPDATE_W0_MAX 0.1f

/* Quoted reference (not measured here): aihwkit v1.1.0 CPU tile, 512 x 512 ConstantStep,
 * one batch of 64 samples with default UpdateParameters, one thread. */
#define AIHWKIT_CPU_REF_SIZE 512
#define AIHWKIT_CPU_REF_BATCH 64
#define AIHWKIT_CPU_REF_MS 330.0
/* Quoted reference (DESIGN.md §6, not measured here): aihwkit's GPU tile on an H100,
 * 4096 x 4096 ConstantStep, batch 64, x, d ~ U(-1, 1), lr 0.01. */
#define AIHWKIT_GPU_REF_SIZE 4096
#define AIHWKIT_GPU_REF_MS 8.5

/* --device cuda cases (ConstantStep only: the GPU update's device model). */
static const int64_t cuda_sizes[] = {1024, 2048, 4096, 8192};
static const int64_t cuda_quick_sizes[] = {512};
/* Bytes per device an update must move at least: weight read + write, four state arrays
 * (bounds, step sizes) read. */
#define CUDA_BYTES_PER_DEVICE 24.0

typedef struct update_options {
  int cuda;
} update_options;

static int parse_device(void *ctx, int argc, char **argv, int *i) {
  update_options *uo = ctx;
  const char *value = NULL;
  int found = cli_option_value(argc, argv, i, "--device", &value);
  if (found <= 0)
    return found;
  if (strcmp(value, "cpu") == 0 || strcmp(value, "cuda") == 0) {
    uo->cuda = strcmp(value, "cuda") == 0;
    return 1;
  }
  fprintf(stderr, "aihw bench update: --device %s: must be cpu or cuda\n", value);
  return -1;
}

void bench_update_usage(FILE *out) {
  fprintf(
      out,
      "usage: aihw bench update [--json] [--quick] [--repeats N] [--threads N] "
      "[--seed N]\n"
      "\n"
      "Times the pulsed ANALOG tile update (default UpdateParameters: BL 31, update\n"
      "management on; lr 0.01; x, d ~ U(-1, 1)) of ConstantStepDevice and\n"
      "SoftBoundsDevice against a floating-point rank-1 update per sample (cblas_sger\n"
      "on a copy of the weights), interleaved in one run; every round starts from the\n"
      "same weights. Reports medians and their ratio.\n"
      "Cases: square tiles 256, 512, 1024, 2048 at batch 1 and 64, for both devices.\n"
      "\n"
      "  --json        one JSON object per case and line:\n"
      "                {\"op\": \"update\", \"device\": D, \"size\": N, \"batch\": B,\n"
      "                 \"t_ms\": T, \"t_floor_ms\": F, \"ratio\": T/F, \"samples_per_s\": S}\n"
      "  --quick       only sizes 256 and 512 at batch 64 (a few seconds)\n"
      "  --repeats N   timed rounds per case (default: enough for 0.2 s, at least 5)\n"
      "  --threads N   OpenMP and OpenBLAS threads (default: all cores)\n"
      "  --seed N      seed of the data, the devices and the pulse trains (default 1)\n"
      "  --device D    cpu (default) or cuda: ConstantStep tiles 1024..8192 at batch 64\n"
      "                on CUDA device 0 (x, d in device memory; --quick: 512), against\n"
      "                a device-to-device copy of the same bytes (24 per device: weight\n"
      "                read and write, bounds and step sizes read); JSON lines add\n"
      "                \"gb_per_s\" and \"gpu\"\n");
}

typedef struct update_case {
  int64_t n, batch;
  aihw_tile *tile;
  float *w0, *w_floor, *x, *d;
  void *x_dev, *d_dev; /* --device cuda */
  aihw_status status; /* first failure of a tile call, for the report */
  const char *failed; /* name of that call */
} update_case;

static int time_tile_update(void *ctx) {
  update_case *c = ctx;
  c->status = aihw_tile_update(c->tile, c->x, c->batch, c->n, c->d, c->n, UPDATE_LR);
  c->failed = "aihw_tile_update";
  return c->status == AIHW_OK ? 0 : 1;
}

static int time_tile_update_cuda(void *ctx) {
  update_case *c = ctx;
  c->status = aihw_tile_update(c->tile, c->x_dev, c->batch, c->n, c->d_dev, c->n, UPDATE_LR);
  c->failed = "aihw_tile_update";
  return c->status == AIHW_OK ? 0 : 1;
}

static int time_sger(void *ctx) {
  update_case *c = ctx;
  const int n = (int)c->n;
  for (int64_t b = 0; b < c->batch; ++b)
    cblas_sger(CblasRowMajor, n, n, -UPDATE_LR, c->d + b * c->n, 1, c->x + b * c->n, 1,
               c->w_floor, n);
  return 0;
}

/* Not reported: puts both weight copies back to W0 for the next round. */
static int reset_weights(void *ctx) {
  update_case *c = ctx;
  memcpy(c->w_floor, c->w0, sizeof *c->w0 * (size_t)(c->n * c->n));
  c->status = aihw_tile_set_weights(c->tile, c->w0, c->n, c->n);
  c->failed = "aihw_tile_set_weights";
  return c->status == AIHW_OK ? 0 : 1;
}

static void case_free(update_case *c) {
  aihw_tile_destroy(c->tile);
  free(c->w0);
  free(c->w_floor);
  free(c->x);
  free(c->d);
  aihw_cuda_free(c->x_dev);
  aihw_cuda_free(c->d_dev);
}

/* --device cuda: one ConstantStep case on device 0; floor: a device copy of the bytes. */
static int run_case_cuda(const bench_options *opts, int64_t n, int64_t batch) {
  update_case c = {.n = n, .batch = batch, .status = AIHW_OK};
  int rc = CLI_EXIT_FAILURE;
  c.w0 = bench_alloc_floats((size_t)(n * n));
  c.w_floor = bench_alloc_floats((size_t)(n * n));
  c.x = bench_alloc_floats((size_t)(batch * n));
  c.d = bench_alloc_floats((size_t)(batch * n));
  if (c.w0 == NULL || c.w_floor == NULL || c.x == NULL || c.d == NULL)
    goto done;
  cli_fill_uniform(c.w0, n, n, -UPDATE_W0_MAX, UPDATE_W0_MAX, opts->seed, 1);
  cli_fill_uniform(c.x, batch, n, -1.0f, 1.0f, opts->seed, 2);
  cli_fill_uniform(c.d, batch, n, -1.0f, 1.0f, opts->seed, 3);
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_ANALOG);
  config.seed = opts->seed;
  config.device = aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP);
  config.device.construction_seed = opts->seed;
  const size_t vbytes = (size_t)(batch * n) * sizeof(float);
  const char *what = "aihw_tile_create";
  aihw_status s = aihw_tile_create(&config, n, n, &c.tile);
  if (s == AIHW_OK && (what = "aihw_tile_set_weights") &&
      (s = aihw_tile_set_weights(c.tile, c.w0, n, n)) == AIHW_OK &&
      (what = "aihw_tile_to_cuda") && (s = aihw_tile_to_cuda(c.tile, 0)) == AIHW_OK &&
      (what = "device buffers") && (s = aihw_cuda_malloc(0, vbytes, &c.x_dev)) == AIHW_OK &&
      (s = aihw_cuda_malloc(0, vbytes, &c.d_dev)) == AIHW_OK &&
      (s = aihw_cuda_memcpy_h2d(c.x_dev, c.x, vbytes)) == AIHW_OK)
    s = aihw_cuda_memcpy_h2d(c.d_dev, c.d, vbytes);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench update", what, s);
    goto done;
  }
  const bench_call calls[2] = {{time_tile_update_cuda, &c}, {reset_weights, &c}};
  double median_s[2], floor_s = 0.0;
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, 2, median_s, &rounds) != 0) {
    rc = c.status != AIHW_OK ? cli_report_failure("bench update", c.failed, c.status)
                             : CLI_EXIT_FAILURE;
    goto done;
  }
  const double bytes = CUDA_BYTES_PER_DEVICE * (double)n * (double)n;
  /* a copy of bytes/2 reads and writes `bytes` in all */
  s = aihw_cuda_bench_copy(0, (int64_t)(bytes / 2.0), rounds < 5 ? 5 : (int)rounds, &floor_s);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench update", "device copy floor", s);
    goto done;
  }
  /* Philox floor: the draws of the call, each once: uniform blocks of the pulse trains
   * ((rows + cols) / 4 per slot and sample, BL 31) and the normal blocks of the aggregated
   * steps (one per two devices). */
  double philox_s = 0.0;
  s = aihw_cuda_bench_philox(0, (2 * n + 3) / 4 * 31 * batch, n * n / 2,
                             rounds < 5 ? 5 : (int)rounds, &philox_s);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench update", "Philox floor", s);
    goto done;
  }
  const double t_ms = 1e3 * median_s[0], t_floor_ms = 1e3 * floor_s;
  const double gb_per_s = bytes / median_s[0] * 1e-9;
  char gpu[256];
  aihw_cuda_device_name(0, gpu, sizeof gpu);
  if (opts->json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "update");
    bench_json_string(&j, "device", "ConstantStepDevice");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", batch);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", t_ms / t_floor_ms, 4);
    bench_json_number(&j, "samples_per_s", (double)batch / median_s[0], 6);
    bench_json_number(&j, "gb_per_s", gb_per_s, 5);
    bench_json_number(&j, "t_philox_ms", 1e3 * philox_s, 6);
    bench_json_string(&j, "gpu", gpu);
    bench_json_end(&j);
  } else {
    char versus[16] = "-";
    if (n == AIHWKIT_GPU_REF_SIZE && batch == 64)
      snprintf(versus, sizeof versus, "%.1f*", AIHWKIT_GPU_REF_MS / t_ms);
    printf("%-18s %6lld %6lld %10.4f %12.4f %8.2f %9.1f %10s %8ld %10.4f\n",
           "ConstantStepDevice", (long long)n, (long long)batch, t_ms, t_floor_ms,
           t_ms / t_floor_ms, gb_per_s, versus, rounds, 1e3 * philox_s);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  case_free(&c);
  return rc;
}

/* Runs one case; prints its row or JSON line. Returns an exit status. */
static int run_case(const bench_options *opts, aihw_device_type device, int64_t n,
                    int64_t batch) {
  update_case c = {.n = n, .batch = batch, .status = AIHW_OK};
  int rc = CLI_EXIT_FAILURE;
  const char *device_name = aihw_device_type_name(device);
  c.w0 = bench_alloc_floats((size_t)(n * n));
  c.w_floor = bench_alloc_floats((size_t)(n * n));
  c.x = bench_alloc_floats((size_t)(batch * n));
  c.d = bench_alloc_floats((size_t)(batch * n));
  if (c.w0 == NULL || c.w_floor == NULL || c.x == NULL || c.d == NULL)
    goto done;
  cli_fill_uniform(c.w0, n, n, -UPDATE_W0_MAX, UPDATE_W0_MAX, opts->seed, 1);
  cli_fill_uniform(c.x, batch, n, -1.0f, 1.0f, opts->seed, 2);
  cli_fill_uniform(c.d, batch, n, -1.0f, 1.0f, opts->seed, 3);

  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_ANALOG);
  config.seed = opts->seed;
  config.device = aihw_device_params_default(device);
  config.device.construction_seed = opts->seed;
  aihw_status s = aihw_tile_create(&config, n, n, &c.tile);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench update", "aihw_tile_create", s);
    goto done;
  }
  if (reset_weights(&c) != 0) {
    rc = cli_report_failure("bench update", c.failed, c.status);
    goto done;
  }

  const bench_call calls[3] = {{time_tile_update, &c}, {time_sger, &c}, {reset_weights, &c}};
  double median_s[3];
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, 3, median_s, &rounds) != 0) {
    rc = c.status != AIHW_OK ? cli_report_failure("bench update", c.failed, c.status)
                             : CLI_EXIT_FAILURE;
    goto done;
  }
  const double t_ms = 1e3 * median_s[0], t_floor_ms = 1e3 * median_s[1];
  const double ratio = t_ms / t_floor_ms;
  const double samples_per_s = (double)batch / median_s[0];
  if (opts->json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "update");
    bench_json_string(&j, "device", device_name);
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", batch);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", ratio, 4);
    bench_json_number(&j, "samples_per_s", samples_per_s, 6);
    bench_json_end(&j);
  } else {
    char versus[16] = "-";
    if (device == AIHW_DEVICE_CONSTANT_STEP && n == AIHWKIT_CPU_REF_SIZE &&
        batch == AIHWKIT_CPU_REF_BATCH)
      snprintf(versus, sizeof versus, "%.1f*", AIHWKIT_CPU_REF_MS / t_ms);
    printf("%-18s %6lld %6lld %10.4f %12.4f %8.2f %11.0f %10s %8ld\n", device_name,
           (long long)n, (long long)batch, t_ms, t_floor_ms, ratio, samples_per_s, versus,
           rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  case_free(&c);
  return rc;
}

int bench_update_run(int argc, char **argv) {
  bench_options opts = bench_options_default();
  update_options uo = {0};
  int parsed = bench_parse_options(argc, argv, &opts, parse_device, &uo, bench_update_usage);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (uo.cuda) {
    if (aihw_cuda_device_count() == 0) {
      fprintf(stderr, "aihw bench update: --device cuda: %s\n",
              aihw_cuda_backend_available() ? "no CUDA device is available"
                                            : "aihw was built without CUDA");
      return CLI_EXIT_FAILURE;
    }
    const int64_t *sz = opts.quick ? cuda_quick_sizes : cuda_sizes;
    const size_t n_sz = opts.quick ? 1 : sizeof cuda_sizes / sizeof cuda_sizes[0];
    if (!opts.json) {
      char gpu[256];
      aihw_cuda_device_name(0, gpu, sizeof gpu);
      printf("aihw bench update --device cuda: pulsed ConstantStep update on %s vs a device "
             "copy of the same bytes (%.0f per device)\n",
             gpu, CUDA_BYTES_PER_DEVICE);
      printf("# BL 31, update management on, lr %g, x, d ~ U(-1, 1) in device memory, every "
             "round from W0 ~ U(-%g, %g), seed %u; medians of host-timed synchronous calls\n",
             (double)UPDATE_LR, (double)UPDATE_W0_MAX, (double)UPDATE_W0_MAX,
             (unsigned)opts.seed);
      printf("%-18s %6s %6s %10s %12s %8s %9s %10s %8s %10s\n", "device", "size", "batch",
             "t_ms", "t_floor_ms", "ratio", "GB/s", "x aihwkit", "rounds", "philox_ms");
    }
    for (size_t a = 0; a < n_sz; ++a) {
      int rc = run_case_cuda(&opts, sz[a], 64);
      if (rc != CLI_EXIT_OK)
        return rc;
    }
    if (!opts.json)
      printf("# * x aihwkit = %.1f ms / t_ms: quoted (DESIGN.md section 6), NOT measured "
             "here: aihwkit's GPU tile, %d x %d, batch 64, on an H100\n",
             AIHWKIT_GPU_REF_MS, AIHWKIT_GPU_REF_SIZE, AIHWKIT_GPU_REF_SIZE);
    return CLI_EXIT_OK;
  }

  const int64_t *sizes = opts.quick ? quick_sizes : full_sizes;
  const int64_t *batches = opts.quick ? quick_batches : full_batches;
  const size_t n_sizes = opts.quick ? sizeof quick_sizes / sizeof quick_sizes[0]
                                    : sizeof full_sizes / sizeof full_sizes[0];
  const size_t n_batches = opts.quick ? sizeof quick_batches / sizeof quick_batches[0]
                                      : sizeof full_batches / sizeof full_batches[0];
  if (!opts.json) {
    printf("aihw bench update: pulsed ANALOG tile update (default UpdateParameters) vs "
           "floating-point rank-1 updates (cblas_sger per sample), same shape\n");
    bench_print_environment(stdout);
    printf("# BL 31, update management on, lr %g, x, d ~ U(-1, 1), every round from W0 ~ "
           "U(-%g, %g), seed %u;\n# times are medians over interleaved rounds\n",
           (double)UPDATE_LR, (double)UPDATE_W0_MAX, (double)UPDATE_W0_MAX,
           (unsigned)opts.seed);
    printf("%-18s %6s %6s %10s %12s %8s %11s %10s %8s\n", "device", "size", "batch", "t_ms",
           "t_floor_ms", "ratio", "samples/s", "x aihwkit", "rounds");
  }
  for (size_t k = 0; k < sizeof devices / sizeof devices[0]; ++k) {
    for (size_t a = 0; a < n_sizes; ++a) {
      for (size_t b = 0; b < n_batches; ++b) {
        int rc = run_case(&opts, devices[k], sizes[a], batches[b]);
        if (rc != CLI_EXIT_OK)
          return rc;
      }
    }
  }
  if (!opts.json)
    printf(
        "# * x aihwkit = %.0f ms / t_ms: a quoted reference figure, NOT measured here:\n"
        "#   aihwkit v1.1.0's CPU tile needs about %.0f ms for one batch of %d on a %d x %d\n"
        "#   ConstantStep tile (about %.0f samples/s, one thread); shown for that case "
        "only.\n",
        AIHWKIT_CPU_REF_MS, AIHWKIT_CPU_REF_MS, AIHWKIT_CPU_REF_BATCH, AIHWKIT_CPU_REF_SIZE,
        AIHWKIT_CPU_REF_SIZE, (double)AIHWKIT_CPU_REF_BATCH / (AIHWKIT_CPU_REF_MS * 1e-3));
  return CLI_EXIT_OK;
}
