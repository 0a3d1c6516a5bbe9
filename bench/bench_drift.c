/* `aihw bench drift`: programming + drift of an inference tile against a memory copy of
 * the same bytes (DESIGN.md §6: programming and drift are elementwise, bandwidth-bound).
 *
 * Each case is a square n x n INFERENCE tile with the default PCMLikeNoiseModel and
 * SinglePair converter, drift compensation off (its readout is a full forward pass, not
 * part of the elementwise work). One timed round = aihw_tile_program_weights +
 * aihw_tile_drift_to(3600 s). Those two passes read 4 and write 5 arrays of n^2 floats
 * (programming: target -> programmed weights, two drift-exponent slices, tile weights;
 * drift: programmed weights and both slices -> tile weights), so the floor is a memcpy of
 * 5 n^2 floats (reads and writes 5 arrays), timed in the same run. Reference figure
 * (not measured here): aihwkit 1.1.0 needs ~38 ms per 512 x 512 tile on this machine.
 *
 * --device cuda: the tile on CUDA device 0 (backend/tile_cuda_inference.c), sizes 512 to
 * 8192; each size twice, drift compensation off and GLOBAL (aihwkit's default: two
 * readouts, each a forward pass of n one-hot inputs); the floor is a device-to-device copy
 * of the same 5 n^2 floats. The state never leaves the device between rounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/aihw.h"
#include "backend/cuda_api.h"
#include "bench.h"
#include "bench_util.h"

static const int64_t full_sizes[] = {512, 2048};
static const int64_t quick_sizes[] = {512};
static const int64_t cuda_sizes[] = {512, 2048, 4096, 8192};

/* --device: where the tile runs. */
static int parse_device(void *ctx, int argc, char **argv, int *i) {
  int *cuda = ctx;
  const char *value = NULL;
  int found = cli_option_value(argc, argv, i, "--device", &value);
  if (found <= 0)
    return found;
  if (strcmp(value, "cpu") == 0 || strcmp(value, "cuda") == 0) {
    *cuda = strcmp(value, "cuda") == 0;
    return 1;
  }
  fprintf(stderr, "aihw bench drift: --device %s: must be cpu or cuda\n", value);
  return -1;
}

typedef struct drift_case {
  int64_t n;
  aihw_tile *tile;
  float *w, *src, *dst;
  size_t copy_bytes;
  aihw_status status;
} drift_case;

void bench_drift_usage(FILE *out) {
  fprintf(out,
          "usage: aihw bench drift [--json] [--quick] [--repeats N] [--threads N] [--seed N]\n"
          "Times program_weights + drift_to(3600 s) of square INFERENCE tiles (512, 2048;\n"
          "--quick: 512) against a memcpy of 5 n^2 floats, the bytes the two passes move.\n"
          "--json prints one line per case: {\"op\": \"program_drift\", \"size\": N,\n"
          "  \"batch\": 1, \"t_ms\": T, \"t_floor_ms\": F, \"ratio\": T/F, \"ns_per_weight\": X}\n"
          "--device D  cpu (default) or cuda: the tile on CUDA device 0 (512 .. 8192, each\n"
          "            without and with GLOBAL drift compensation; --quick: 512) against a\n"
          "            device-to-device copy of 5 n^2 floats; JSON lines gain\n"
          "            \"compensation\": \"none\" | \"global\" and \"device\": <GPU name>\n");
}

static int time_program_drift(void *ctx) {
  drift_case *c = ctx;
  c->status = aihw_tile_program_weights(c->tile);
  if (c->status == AIHW_OK)
    c->status = aihw_tile_drift_to(c->tile, 3600.0f);
  return c->status != AIHW_OK;
}

static int time_memcpy(void *ctx) {
  drift_case *c = ctx;
  memcpy(c->dst, c->src, c->copy_bytes);
  return 0;
}

/* --device cuda: one case; `compensation` GLOBAL or NONE. */
static int run_case_cuda(const bench_options *opts, int64_t n, aihw_drift_compensation comp) {
  drift_case c = {.n = n};
  int rc = CLI_EXIT_FAILURE;
  const size_t count = (size_t)(n * n);
  c.w = bench_alloc_floats(count);
  if (c.w == NULL)
    return rc;
  cli_fill_uniform(c.w, n, n, -0.5f, 0.5f, opts->seed, 1);
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  config.inference.drift_compensation = comp;
  config.seed = opts->seed;
  const char *what = "aihw_tile_create";
  aihw_status s = aihw_tile_create(&config, n, n, &c.tile);
  if (s == AIHW_OK && (what = "aihw_tile_set_weights") &&
      (s = aihw_tile_set_weights(c.tile, c.w, n, n)) == AIHW_OK && (what = "aihw_tile_to_cuda"))
    s = aihw_tile_to_cuda(c.tile, 0);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench drift", what, s);
    goto done;
  }
  const bench_call calls[1] = {{time_program_drift, &c}};
  double t_s = 0.0, floor_s = 0.0;
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, 1, &t_s, &rounds) != 0) {
    rc = c.status != AIHW_OK ? cli_report_failure("bench drift", "program/drift", c.status)
                             : CLI_EXIT_FAILURE;
    goto done;
  }
  s = aihw_cuda_bench_copy(0, (int64_t)(5 * count * sizeof(float)), rounds < 5 ? 5 : (int)rounds,
                           &floor_s);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench drift", "device copy floor", s);
    goto done;
  }
  const double t_ms = 1e3 * t_s, t_floor_ms = 1e3 * floor_s;
  const char *comp_name = comp == AIHW_DRIFT_COMPENSATION_NONE ? "none" : "global";
  if (opts->json) {
    char name[256];
    aihw_cuda_device_name(0, name, sizeof name);
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "program_drift");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", 1);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", t_ms / t_floor_ms, 4);
    bench_json_number(&j, "ns_per_weight", 1e9 * t_s / (double)count, 4);
    bench_json_string(&j, "compensation", comp_name);
    bench_json_string(&j, "device", name);
    bench_json_end(&j);
  } else {
    printf("%6lld %8s %10.3f %12.3f %7.2f %14.3f %8ld\n", (long long)n, comp_name, t_ms,
           t_floor_ms, t_ms / t_floor_ms, 1e9 * t_s / (double)count, rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  aihw_tile_destroy(c.tile);
  free(c.w);
  return rc;
}

static int run_cuda(const bench_options *opts) {
  if (aihw_cuda_device_count() == 0) {
    fprintf(stderr, "aihw bench drift: --device cuda: %s\n",
            aihw_cuda_backend_available() ? "no CUDA device is available"
                                          : "aihw was built without CUDA");
    return CLI_EXIT_FAILURE;
  }
  const size_t n_sizes = opts->quick ? 1 : sizeof cuda_sizes / sizeof cuda_sizes[0];
  if (!opts->json) {
    char name[256];
    aihw_cuda_device_name(0, name, sizeof name);
    printf("aihw bench drift --device cuda: INFERENCE tile program + drift to 1 h "
           "(PCMLikeNoiseModel, SinglePair) on %s vs a device copy of 5 n^2 floats\n",
           name);
    printf("# reference (quoted, not measured): aihwkit 1.1.0 GPU, 4096 x 4096: program "
           "760 ms + drift 512 ms\n");
    printf("%6s %8s %10s %12s %7s %14s %8s\n", "size", "comp", "t_ms", "t_floor_ms", "ratio",
           "ns/weight", "rounds");
  }
  for (size_t k = 0; k < n_sizes; ++k) {
    int rc = run_case_cuda(opts, cuda_sizes[k], AIHW_DRIFT_COMPENSATION_NONE);
    if (rc == CLI_EXIT_OK)
      rc = run_case_cuda(opts, cuda_sizes[k], AIHW_DRIFT_COMPENSATION_GLOBAL);
    if (rc != CLI_EXIT_OK)
      return rc;
  }
  return CLI_EXIT_OK;
}

static int run_case(const bench_options *opts, int64_t n) {
  drift_case c = {.n = n};
  int rc = CLI_EXIT_FAILURE;
  const size_t count = (size_t)(n * n);
  c.copy_bytes = 5 * count * sizeof(float);
  c.w = bench_alloc_floats(count);
  c.src = bench_alloc_floats(5 * count);
  c.dst = bench_alloc_floats(5 * count);
  if (c.w == NULL || c.src == NULL || c.dst == NULL)
    goto done;
  cli_fill_uniform(c.w, n, n, -0.5f, 0.5f, opts->seed, 1);
  memset(c.src, 0x3f, c.copy_bytes);
  memset(c.dst, 0, c.copy_bytes);
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  config.inference.drift_compensation = AIHW_DRIFT_COMPENSATION_NONE;
  config.seed = opts->seed;
  aihw_status s = aihw_tile_create(&config, n, n, &c.tile);
  if (s == AIHW_OK)
    s = aihw_tile_set_weights(c.tile, c.w, n, n);
  if (s != AIHW_OK) {
    rc = cli_report_failure("bench drift", "tile setup", s);
    goto done;
  }
  const bench_call calls[2] = {{time_program_drift, &c}, {time_memcpy, &c}};
  double median_s[2];
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, 2, median_s, &rounds) != 0) {
    rc = c.status != AIHW_OK ? cli_report_failure("bench drift", "program/drift", c.status)
                             : CLI_EXIT_FAILURE;
    goto done;
  }
  const double t_ms = 1e3 * median_s[0], t_floor_ms = 1e3 * median_s[1];
  const double ns_per_weight = 1e9 * median_s[0] / (double)count;
  if (opts->json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "program_drift");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", 1);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", t_ms / t_floor_ms, 4);
    bench_json_number(&j, "ns_per_weight", ns_per_weight, 4);
    bench_json_end(&j);
  } else {
    printf("%6lld %10.3f %12.3f %7.2f %14.2f %8ld\n", (long long)n, t_ms, t_floor_ms,
           t_ms / t_floor_ms, ns_per_weight, rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  aihw_tile_destroy(c.tile);
  free(c.w);
  free(c.src);
  free(c.dst);
  return rc;
}

int bench_drift_run(int argc, char **argv) {
  bench_options opts = bench_options_default();
  int cuda = 0;
  int parsed = bench_parse_options(argc, argv, &opts, parse_device, &cuda, bench_drift_usage);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (cuda)
    return run_cuda(&opts);
  const int64_t *sizes = opts.quick ? quick_sizes : full_sizes;
  const size_t n_sizes = opts.quick ? sizeof quick_sizes / sizeof quick_sizes[0]
                                    : sizeof full_sizes / sizeof full_sizes[0];
  if (!opts.json) {
    printf("aihw bench drift: INFERENCE tile program + drift to 1 h (PCMLikeNoiseModel, "
           "SinglePair) vs memcpy of 5 n^2 floats\n");
    bench_print_environment(stdout);
    printf("# reference (quoted, not measured): aihwkit 1.1.0 ~38 ms = ~140 ns/weight at "
           "512 x 512\n");
    printf("%6s %10s %12s %7s %14s %8s\n", "size", "t_ms", "t_floor_ms", "ratio",
           "ns/weight", "rounds");
  }
  for (size_t k = 0; k < n_sizes; ++k) {
    int rc = run_case(&opts, sizes[k]);
    if (rc != CLI_EXIT_OK)
      return rc;
  }
  return CLI_EXIT_OK;
}
