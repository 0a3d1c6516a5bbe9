/* `aihw bench lenet`: one training iteration of LeNet-5 on 28 x 28 images — Conv2d(1, 16,
 * 5) - Tanh - MaxPool2d(2) - Conv2d(16, 32, 5) - Tanh - MaxPool2d(2) - Flatten -
 * Linear(512, 128) - Tanh - Linear(128, 10) — with ANALOG tiles (ConstantStep, default
 * IO and pulsed update) against the same network on FLOATING_POINT tiles, timed in the same
 * run. One round = forward + cross-entropy + backward + step of one batch (64; --quick:
 * 16). The convolutions make batch x positions tile rows (64 x 576 and 64 x 64), which is
 * what the projected epoch time (60000 images) is made of.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/aihw.h"
#include "bench.h"
#include "bench_util.h"

enum { IMG = 28 * 28, CLASSES = 10 };

typedef struct lenet_case {
  aihw_module *net;
  const float *x;
  const int32_t *labels;
  float *logits, *dlogits;
  int64_t batch;
  aihw_status status;
} lenet_case;

void bench_lenet_usage(FILE *out) {
  fprintf(out,
          "usage: aihw bench lenet [--json] [--quick] [--repeats N] [--threads N] [--seed N]\n"
          "Times one training iteration (forward, cross-entropy, backward, SGD step) of\n"
          "LeNet-5 on a batch of 64 28x28 images (--quick: 16) with ANALOG ConstantStep tiles\n"
          "against FLOATING_POINT tiles, and projects one epoch of 60000 images.\n"
          "--json prints one line: {\"op\": \"lenet_train\", \"batch\": B, \"t_ms\": T,\n"
          "  \"t_floor_ms\": F, \"ratio\": T/F, \"epoch_s\": E, \"epoch_floor_s\": EF}\n");
}

static aihw_status build(aihw_tile_kind kind, uint32_t seed, aihw_module **out) {
  aihw_tile_config c = aihw_tile_config_default(kind);
  c.seed = seed;
  const int64_t k2[2] = {2, 2};
  aihw_module *net = NULL, *m = NULL;
  aihw_status s = aihw_sequential_create(&net);
  if (s != AIHW_OK)
    return s;
#define ADD(expr)                                                                          \
  do {                                                                                     \
    if (s == AIHW_OK && (s = (expr)) == AIHW_OK)                                           \
      s = aihw_sequential_append(net, m);                                                  \
  } while (0)
  aihw_conv_params p = aihw_conv_params_default(1, 16, 5);
  ADD(aihw_conv2d_create(&c, NULL, &p, 28, 28, &m));
  ADD(aihw_activation_create(AIHW_MODULE_TANH, 16 * 24 * 24, &m));
  ADD(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 16, 24, 24, k2, NULL, NULL, &m));
  c.tile_id = 1;
  p = aihw_conv_params_default(16, 32, 5);
  ADD(aihw_conv2d_create(&c, NULL, &p, 12, 12, &m));
  ADD(aihw_activation_create(AIHW_MODULE_TANH, 32 * 8 * 8, &m));
  ADD(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 32, 8, 8, k2, NULL, NULL, &m));
  ADD(aihw_activation_create(AIHW_MODULE_FLATTEN, 512, &m));
  c.tile_id = 2;
  ADD(aihw_linear_create(&c, NULL, 512, 128, 1, &m));
  ADD(aihw_activation_create(AIHW_MODULE_TANH, 128, &m));
  c.tile_id = 3;
  ADD(aihw_linear_create(&c, NULL, 128, CLASSES, 1, &m));
#undef ADD
  if (s == AIHW_OK)
    s = aihw_module_set_training(net, 1);
  if (s != AIHW_OK) {
    aihw_module_destroy(net);
    return s;
  }
  *out = net;
  return AIHW_OK;
}

static int time_iteration(void *ctx) {
  lenet_case *c = ctx;
  float loss = 0.0f;
  c->status = aihw_module_forward(c->net, c->x, c->batch, IMG, c->logits, CLASSES);
  if (c->status == AIHW_OK)
    c->status = aihw_loss_cross_entropy(c->logits, c->labels, c->batch, CLASSES, &loss,
                                        c->dlogits);
  if (c->status == AIHW_OK)
    c->status = aihw_module_backward(c->net, c->dlogits, c->batch, CLASSES, NULL, IMG);
  if (c->status == AIHW_OK)
    c->status = aihw_module_step(c->net, 0.01f);
  return c->status != AIHW_OK;
}

int bench_lenet_run(int argc, char **argv) {
  bench_options opts = bench_options_default();
  int parsed = bench_parse_options(argc, argv, &opts, NULL, NULL, bench_lenet_usage);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  const int64_t batch = opts.quick ? 16 : 64;
  int rc = CLI_EXIT_FAILURE;
  lenet_case cases[2];
  memset(cases, 0, sizeof cases);
  float *x = bench_alloc_floats((size_t)(batch * IMG));
  float *buf = bench_alloc_floats((size_t)(4 * batch * CLASSES));
  int32_t *labels = malloc((size_t)batch * sizeof *labels);
  if (x == NULL || buf == NULL || labels == NULL)
    goto done;
  /* MNIST-like inputs: ~20% of the pixels lit, in [0, 1] */
  cli_fill_uniform(x, batch, IMG, 0.0f, 1.0f, opts.seed, 2);
  for (int64_t k = 0; k < batch * IMG; ++k)
    x[k] = x[k] > 0.8f ? (x[k] - 0.8f) * 5.0f : 0.0f;
  for (int64_t n = 0; n < batch; ++n)
    labels[n] = (int32_t)(n % CLASSES);
  const aihw_tile_kind kinds[2] = {AIHW_TILE_ANALOG, AIHW_TILE_FLOATING_POINT};
  for (int k = 0; k < 2; ++k) {
    aihw_status s = build(kinds[k], opts.seed, &cases[k].net);
    if (s != AIHW_OK) {
      rc = cli_report_failure("bench lenet", "network setup", s);
      goto done;
    }
    cases[k].x = x;
    cases[k].labels = labels;
    cases[k].logits = buf + 2 * k * batch * CLASSES;
    cases[k].dlogits = cases[k].logits + batch * CLASSES;
    cases[k].batch = batch;
  }
  if (!opts.json) {
    printf("aihw bench lenet: LeNet-5 training iteration, ANALOG ConstantStep vs "
           "FLOATING_POINT tiles\n");
    bench_print_environment(stdout);
    printf("%6s %10s %12s %7s %10s %14s %8s\n", "batch", "t_ms", "t_floor_ms", "ratio",
           "epoch_s", "epoch_floor_s", "rounds");
  }
  const bench_call calls[2] = {{time_iteration, &cases[0]}, {time_iteration, &cases[1]}};
  double median_s[2];
  long rounds = 0;
  if (bench_time_interleaved(&opts, calls, 2, median_s, &rounds) != 0) {
    const aihw_status s = cases[0].status != AIHW_OK ? cases[0].status : cases[1].status;
    rc = s != AIHW_OK ? cli_report_failure("bench lenet", "training iteration", s)
                      : CLI_EXIT_FAILURE;
    goto done;
  }
  const double batches = 60000.0 / (double)batch;
  const double t_ms = 1e3 * median_s[0], t_floor_ms = 1e3 * median_s[1];
  if (opts.json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "lenet_train");
    bench_json_int(&j, "batch", batch);
    bench_json_number(&j, "t_ms", t_ms, 6);
    bench_json_number(&j, "t_floor_ms", t_floor_ms, 6);
    bench_json_number(&j, "ratio", t_ms / t_floor_ms, 4);
    bench_json_number(&j, "epoch_s", batches * median_s[0], 4);
    bench_json_number(&j, "epoch_floor_s", batches * median_s[1], 4);
    bench_json_end(&j);
  } else {
    printf("%6lld %10.3f %12.3f %7.2f %10.1f %14.1f %8ld\n", (long long)batch, t_ms,
           t_floor_ms, t_ms / t_floor_ms, batches * median_s[0], batches * median_s[1],
           rounds);
    fflush(stdout);
  }
  rc = CLI_EXIT_OK;
done:
  for (int k = 0; k < 2; ++k)
    aihw_module_destroy(cases[k].net);
  free(x);
  free(buf);
  free(labels);
  return rc;
}
