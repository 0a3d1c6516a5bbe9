/* `aihw bench realistic`: the realistic write of issue 5's target — closed-loop pulsed
 * programming (aihw_tile_set_weights_realistic, n_loops 10, lr 0.01) of an n x n ANALOG
 * ConstantStep tile to W ~ U(-0.3, 0.3), 387 iterations of "one-hot read, D = read - W,
 * pulsed update" — against the same iterations on a FLOATING_POINT tile through the same
 * public calls (forward of the identity batch, exact update) as the floor. Every round
 * starts from the same initial weights. Target (issue 5): under 2 s at 512 x 512; aihwkit
 * users report 43 minutes for 150 x 150 with a mixed-precision PCM preset.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/aihw.h"
#include "bench.h"
#include "bench_util.h"

typedef struct realistic_case {
  aihw_tile *analog, *fp;
  int64_t n, iterations;
  float *target, *w0, *eye, *y;
  aihw_status status;
} realistic_case;

void bench_realistic_usage(FILE *out) {
  fprintf(out,
          "usage: aihw bench realistic [--json] [--quick] [--repeats N] [--threads N] "
          "[--seed N]\n"
          "Times the realistic write (closed-loop pulsed programming, n_loops 10, lr 0.01)\n"
          "of a 512 x 512 ConstantStep tile (--quick: 128) against the same number of\n"
          "identity reads and exact updates on a FLOATING_POINT tile. One round each\n"
          "unless --repeats says more.\n"
          "--json prints one line: {\"op\": \"realistic_write\", \"size\": N, \"iterations\":\n"
          "  I, \"t_s\": T, \"t_floor_s\": F, \"ratio\": T/F, \"rms_error\": E}\n");
}

static int time_analog(void *ctx) {
  realistic_case *c = ctx;
  c->status = aihw_tile_set_weights(c->analog, c->w0, c->n, c->n);
  if (c->status == AIHW_OK)
    c->status = aihw_tile_set_weights_realistic(c->analog, c->target, c->n, c->n, 10, 0.01f,
                                                &c->iterations);
  return c->status != AIHW_OK;
}

static int time_floor(void *ctx) {
  realistic_case *c = ctx;
  const int64_t n = c->n;
  c->status = aihw_tile_set_weights(c->fp, c->w0, n, n);
  for (int64_t it = 0; it < c->iterations && c->status == AIHW_OK; ++it) {
    c->status = aihw_tile_forward(c->fp, c->eye, n, n, c->y, n);
    if (c->status != AIHW_OK)
      break;
    for (int64_t j = 0; j < n; ++j) /* D[j][i] = Y[j][i] - target[i][j] */
      for (int64_t i = 0; i < n; ++i)
        c->y[j * n + i] -= c->target[i * n + j];
    c->status = aihw_tile_update(c->fp, c->eye, n, n, c->y, n, 0.01f);
  }
  return c->status != AIHW_OK;
}

int bench_realistic_run(int argc, char **argv) {
  static const char *cmd = "bench realistic";
  bench_options opts = bench_options_default();
  opts.warmup = 0;
  opts.min_repeats = 1;
  opts.min_time_s = 0.0;
  int parsed = bench_parse_options(argc, argv, &opts, NULL, NULL, bench_realistic_usage);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  realistic_case c;
  memset(&c, 0, sizeof c);
  c.n = opts.quick ? 128 : 512;
  const int64_t n = c.n;
  int rc = CLI_EXIT_FAILURE;
  c.target = bench_alloc_floats((size_t)(n * n));
  c.w0 = bench_alloc_floats((size_t)(n * n));
  c.eye = bench_alloc_floats((size_t)(n * n));
  c.y = bench_alloc_floats((size_t)(n * n));
  if (c.target == NULL || c.w0 == NULL || c.eye == NULL || c.y == NULL)
    goto done;
  cli_fill_uniform(c.target, n, n, -0.3f, 0.3f, opts.seed, 1);
  memset(c.w0, 0, sizeof(float) * (size_t)(n * n));
  memset(c.eye, 0, sizeof(float) * (size_t)(n * n));
  for (int64_t j = 0; j < n; ++j)
    c.eye[j * n + j] = 1.0f;
  aihw_tile_config ca = aihw_tile_config_default(AIHW_TILE_ANALOG);
  ca.seed = opts.seed;
  aihw_tile_config cf = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  aihw_status s = aihw_tile_create(&ca, n, n, &c.analog);
  if (s == AIHW_OK)
    s = aihw_tile_create(&cf, n, n, &c.fp);
  if (s != AIHW_OK) {
    rc = cli_report_failure(cmd, "tile setup", s);
    goto done;
  }
  if (!opts.json) {
    printf("aihw bench realistic: realistic write of a ConstantStep tile vs the same identity "
           "reads and exact updates on a FLOATING_POINT tile\n");
    bench_print_environment(stdout);
  }
  /* the analog call first: it sets the iteration count the floor repeats */
  const bench_call calls[2] = {{time_analog, &c}, {time_floor, &c}};
  double median_s[2];
  long rounds = 0;
  if (bench_time_interleaved(&opts, calls, 2, median_s, &rounds) != 0) {
    rc = cli_report_failure(cmd, "realistic write", c.status);
    goto done;
  }
  /* error of the last write */
  s = time_analog(&c);
  double err = 0.0;
  if (s == AIHW_OK)
    s = aihw_tile_get_weights(c.analog, c.y, n, n);
  if (s != AIHW_OK) {
    rc = cli_report_failure(cmd, "realistic write", s);
    goto done;
  }
  for (int64_t k = 0; k < n * n; ++k)
    err += (double)(c.y[k] - c.target[k]) * (double)(c.y[k] - c.target[k]);
  err = sqrt(err / (double)(n * n));
  if (opts.json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "realistic_write");
    bench_json_int(&j, "size", n);
    bench_json_int(&j, "iterations", c.iterations);
    bench_json_number(&j, "t_s", median_s[0], 4);
    bench_json_number(&j, "t_floor_s", median_s[1], 4);
    bench_json_number(&j, "ratio", median_s[0] / median_s[1], 4);
    bench_json_number(&j, "rms_error", err, 4);
    bench_json_end(&j);
  } else {
    printf("%6s %10s %8s %10s %7s %10s %7s\n", "size", "iterations", "t_s", "t_floor_s",
           "ratio", "rms_error", "rounds");
    printf("%6lld %10lld %8.3f %10.3f %7.2f %10.4f %7ld\n", (long long)n,
           (long long)c.iterations, median_s[0], median_s[1], median_s[0] / median_s[1], err,
           rounds);
  }
  rc = CLI_EXIT_OK;
done:
  aihw_tile_destroy(c.analog);
  aihw_tile_destroy(c.fp);
  free(c.target);
  free(c.w0);
  free(c.eye);
  free(c.y);
  return rc;
}
