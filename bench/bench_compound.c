/* `aihw bench compound`: the update of a Tiki-Taka tile (reference §5.10) against the
 * single-device update of the same shape, to show what the transfers cost.
 *
 * Each case is a square n x n ANALOG tile with SoftBoundsDevice at its aihwkit defaults,
 * default UpdateParameters (BL 31, UM, UBLM), x, d ~ U(-1, 1), lr 0.01, and one of:
 * the single device (the reference), TransferCompound (TTv1) or BufferedTransferCompound
 * (TTv2) of two such devices at their defaults (one column read through the default
 * noisy IOParameters and transferred per mini-batch). All three are timed interleaved in
 * one run; every round starts from the same weights W0 ~ U(-0.1, 0.1) (set untimed).
 * overhead = t_compound / t_single - 1: the fast update is the same pulsed update as the
 * single device's, so the overhead is the transfer (read, buffer, one-column update)
 * plus the visible-weight reduction.
 * Also timed: AGAD (DynamicTransferCompound with the c-TTv2 case's schedule: one column
 * per vector, fast_lr = lr absolute, auto_granularity 500, in_chop_prob 0.1),
 * MixedPrecisionCompound at its defaults (chi += lr d x^T per vector, all rows
 * transferred once per mini-batch with UM/UBLM on; set_weights clears the count, so each
 * round first runs one untimed batch and the timed one contains the transfer, as in
 * training) and OneSidedUnitCell (two devices, no
 * refresh: the same trains applied to g+ and g-).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/aihw.h"
#include "bench.h"
#include "bench_util.h"

static const int64_t full_sizes[] = {256, 512, 1024};
static const int64_t full_batches[] = {1, 64};
static const int64_t quick_sizes[] = {512};
static const int64_t quick_batches[] = {64};

#define COMPOUND_LR 0.01f
#define COMPOUND_W0_MAX 0.1f

void bench_compound_usage(FILE *out) {
  fprintf(out,
          "usage: aihw bench compound [--json] [--quick] [--repeats N] [--threads N] "
          "[--seed N]\n"
          "\n"
          "Times the update of Tiki-Taka tiles (TransferCompound = TTv1,\n"
          "BufferedTransferCompound = TTv2, two SoftBoundsDevices, defaults: one column\n"
          "transferred per mini-batch) against the single SoftBoundsDevice update of the\n"
          "same shape (default UpdateParameters, lr 0.01, x, d ~ U(-1, 1)), interleaved in\n"
          "one run; every round starts from the same weights. Reports medians and the\n"
          "transfer overhead t_compound / t_single - 1.\n"
          "Cases: square tiles 256, 512, 1024 at batch 1 and 64.\n"
          "\n"
          "  --json        one JSON object per case and line:\n"
          "                {\"op\": \"compound\", \"size\": N, \"batch\": B, \"t_single_ms\": S,\n"
          "                 \"t_ttv1_ms\": T1, \"t_ttv2_ms\": T2, \"overhead_ttv1\": O1,\n"
          "                 \"overhead_ttv2\": O2, \"t_chopped_ttv2_ms\": T3,\n"
          "                 \"overhead_chopped_ttv2\": O3, \"t_agad_ms\": T4,\n"
          "                 \"overhead_agad\": O4, \"t_mixed_ms\": T5,\n"
          "                 \"overhead_mixed\": O5, \"t_onesided_ms\": T6,\n"
          "                 \"overhead_onesided\": O6}\n"
          "  --quick       only 512 x 512 at batch 64\n"
          "  --repeats N   timed rounds per case (default: enough for 0.2 s, at least 5)\n"
          "  --threads N   OpenMP and OpenBLAS threads (default: all cores)\n"
          "  --seed N      seed of the data, the devices and the pulse trains (default 1)\n");
}

enum { SINGLE = 0, TTV1 = 1, TTV2 = 2, CTTV2 = 3, AGAD = 4, MIXED = 5, ONESIDED = 6, KINDS = 7 };

typedef struct compound_case {
  int64_t n, batch;
  aihw_tile *tile[KINDS];
  float *w0, *x, *d;
  aihw_status status;
  const char *failed;
} compound_case;

static int time_update(compound_case *c, int k) {
  c->status = aihw_tile_update(c->tile[k], c->x, c->batch, c->n, c->d, c->n, COMPOUND_LR);
  c->failed = "aihw_tile_update";
  return c->status == AIHW_OK ? 0 : 1;
}
static int time_single(void *ctx) { return time_update(ctx, SINGLE); }
static int time_ttv1(void *ctx) { return time_update(ctx, TTV1); }
static int time_ttv2(void *ctx) { return time_update(ctx, TTV2); }
static int time_cttv2(void *ctx) { return time_update(ctx, CTTV2); }
static int time_agad(void *ctx) { return time_update(ctx, AGAD); }
static int time_mixed(void *ctx) { return time_update(ctx, MIXED); }
static int time_onesided(void *ctx) { return time_update(ctx, ONESIDED); }

static int reset_weights(void *ctx) {
  compound_case *c = ctx;
  for (int k = 0; k < KINDS; ++k) {
    c->status = aihw_tile_set_weights(c->tile[k], c->w0, c->n, c->n);
    c->failed = "aihw_tile_set_weights";
    if (c->status != AIHW_OK)
      return 1;
    if (k == MIXED && time_update(c, MIXED) != 0) /* set_weights cleared chi's count: */
      return 1; /* one untimed batch, so that the timed one transfers as in training */
  }
  return 0;
}

static int run_case(const bench_options *opts, int64_t n, int64_t batch) {
  compound_case c = {.n = n, .batch = batch, .status = AIHW_OK};
  int rc = CLI_EXIT_FAILURE;
  c.w0 = bench_alloc_floats((size_t)(n * n));
  c.x = bench_alloc_floats((size_t)(batch * n));
  c.d = bench_alloc_floats((size_t)(batch * n));
  if (c.w0 == NULL || c.x == NULL || c.d == NULL)
    goto done;
  cli_fill_uniform(c.w0, n, n, -COMPOUND_W0_MAX, COMPOUND_W0_MAX, opts->seed, 1);
  cli_fill_uniform(c.x, batch, n, -1.0f, 1.0f, opts->seed, 2);
  cli_fill_uniform(c.d, batch, n, -1.0f, 1.0f, opts->seed, 3);
  aihw_device_params device = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
  device.construction_seed = opts->seed;
  for (int k = 0; k < KINDS; ++k) {
    aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_ANALOG);
    config.seed = opts->seed;
    config.device = device;
    if (k == TTV1 || k == TTV2)
      config.compound = aihw_compound_params_default(
          k == TTV1 ? AIHW_COMPOUND_TRANSFER : AIHW_COMPOUND_BUFFERED_TRANSFER, &device, 2);
    if (k == CTTV2 || k == AGAD) { /* TTv2 presets' schedule: one column per vector */
      config.compound = aihw_compound_params_default(
          k == AGAD ? AIHW_COMPOUND_DYNAMIC_TRANSFER : AIHW_COMPOUND_CHOPPED_TRANSFER,
          &device, 2);
      config.compound.in_chop_prob = k == AGAD ? 0.1f : 0.0f;
      config.compound.fast_lr = COMPOUND_LR; /* absolute: the same pulses as the others */
      config.compound.auto_granularity = 500.0f;
      config.compound.transfer_forward.noise_management = AIHW_NM_NONE;
      config.compound.transfer_forward.bound_management = AIHW_BM_NONE;
    }
    if (k == MIXED)
      config.compound = aihw_compound_params_default(AIHW_COMPOUND_MIXED_PRECISION, &device, 1);
    if (k == ONESIDED)
      config.compound = aihw_compound_params_default(AIHW_COMPOUND_ONE_SIDED, &device, 2);
    aihw_status s = aihw_tile_create(&config, n, n, &c.tile[k]);
    if (s != AIHW_OK) {
      rc = cli_report_failure("bench compound", "aihw_tile_create", s);
      goto done;
    }
  }
  if (reset_weights(&c) != 0) {
    rc = cli_report_failure("bench compound", c.failed, c.status);
    goto done;
  }
  const bench_call calls[KINDS + 1] = {{time_single, &c}, {time_ttv1, &c},  {time_ttv2, &c},
                                       {time_cttv2, &c},  {time_agad, &c},  {time_mixed, &c},
                                       {time_onesided, &c}, {reset_weights, &c}};
  double median_s[KINDS + 1];
  long rounds = 0;
  if (bench_time_interleaved(opts, calls, KINDS + 1, median_s, &rounds) != 0) {
    rc = c.status != AIHW_OK ? cli_report_failure("bench compound", c.failed, c.status)
                             : CLI_EXIT_FAILURE;
    goto done;
  }
  const double ts = 1e3 * median_s[0], t1 = 1e3 * median_s[1], t2 = 1e3 * median_s[2];
  const double t3 = 1e3 * median_s[3], t4 = 1e3 * median_s[4], t5 = 1e3 * median_s[5];
  const double t6 = 1e3 * median_s[6];
  if (opts->json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "compound");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "batch", batch);
    bench_json_number(&j, "t_single_ms", ts, 6);
    bench_json_number(&j, "t_ttv1_ms", t1, 6);
    bench_json_number(&j, "t_ttv2_ms", t2, 6);
    bench_json_number(&j, "overhead_ttv1", t1 / ts - 1.0, 4);
    bench_json_number(&j, "overhead_ttv2", t2 / ts - 1.0, 4);
    bench_json_number(&j, "t_chopped_ttv2_ms", t3, 6);
    bench_json_number(&j, "overhead_chopped_ttv2", t3 / ts - 1.0, 4);
    bench_json_number(&j, "t_agad_ms", t4, 6);
    bench_json_number(&j, "overhead_agad", t4 / ts - 1.0, 4);
    bench_json_number(&j, "t_mixed_ms", t5, 6);
    bench_json_number(&j, "overhead_mixed", t5 / ts - 1.0, 4);
    bench_json_number(&j, "t_onesided_ms", t6, 6);
    bench_json_number(&j, "overhead_onesided", t6 / ts - 1.0, 4);
    bench_json_end(&j);
  } else {
    printf("%6lld %6lld %12.4f %10.4f %10.4f %10.4f %10.4f %10.4f %10.4f %9.1f%% %9.1f%% "
           "%9.1f%% %9.1f%% %9.1f%% %9.1f%% %8ld\n",
           (long long)n, (long long)batch, ts, t1, t2, t3, t4, t5, t6,
           100.0 * (t1 / ts - 1.0), 100.0 * (t2 / ts - 1.0), 100.0 * (t3 / ts - 1.0),
           100.0 * (t4 / ts - 1.0), 100.0 * (t5 / ts - 1.0), 100.0 * (t6 / ts - 1.0), rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  for (int k = 0; k < KINDS; ++k)
    aihw_tile_destroy(c.tile[k]);
  free(c.w0);
  free(c.x);
  free(c.d);
  return rc;
}

int bench_compound_run(int argc, char **argv) {
  bench_options opts = bench_options_default();
  int parsed = bench_parse_options(argc, argv, &opts, NULL, NULL, bench_compound_usage);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  const int64_t *sizes = opts.quick ? quick_sizes : full_sizes;
  const int64_t *batches = opts.quick ? quick_batches : full_batches;
  const size_t n_sizes = opts.quick ? 1 : sizeof full_sizes / sizeof full_sizes[0];
  const size_t n_batches = opts.quick ? 1 : sizeof full_batches / sizeof full_batches[0];
  if (!opts.json) {
    printf("aihw bench compound: compound tile updates (TTv1, TTv2, c-TTv2, AGAD, "
           "MixedPrecision, OneSided; SoftBoundsDevice) vs the single-device update of the "
           "same shape\n");
    bench_print_environment(stdout);
    printf("# BL 31, UM on, lr %g, x, d ~ U(-1, 1), every round from W0 ~ U(-%g, %g), seed "
           "%u;\n# one column transferred per mini-batch; times are medians over "
           "interleaved rounds\n",
           (double)COMPOUND_LR, (double)COMPOUND_W0_MAX, (double)COMPOUND_W0_MAX,
           (unsigned)opts.seed);
    printf("%6s %6s %12s %10s %10s %10s %10s %10s %10s %10s %10s %10s %10s %10s %10s %8s\n",
           "size", "batch", "t_single_ms", "t_ttv1_ms", "t_ttv2_ms", "t_cttv2_ms", "t_agad_ms",
           "t_mixed_ms", "t_onesd_ms", "ovh_ttv1", "ovh_ttv2", "ovh_cttv2", "ovh_agad",
           "ovh_mixed", "ovh_onesd", "rounds");
  }
  for (size_t a = 0; a < n_sizes; ++a)
    for (size_t b = 0; b < n_batches; ++b) {
      int rc = run_case(&opts, sizes[a], batches[b]);
      if (rc != CLI_EXIT_OK)
        return rc;
    }
  return CLI_EXIT_OK;
}
