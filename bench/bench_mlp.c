/* `aihw bench mlp`: training time of aihwkit's MNIST example network, 784-256-128-10
 * (sigmoid, LogSoftmax, NLL, SGD lr 0.05, batch 64), on Fashion-MNIST itself — the
 * configuration of issue 5's target. The pulsed update's cost depends on how sparse the
 * pulse trains of real data and real gradients are, so synthetic inputs would not show
 * it: this benchmark needs the data set (scripts/install-deps.sh installs it).
 *
 * One round trains the network of --rpu (default ConstantStepDevice) and the same network
 * on FLOATING_POINT tiles (the floor: the same GEMMs and digital layers without any
 * analog periphery or device) over the first N images (default the whole training set;
 * --quick 6400), interleaved; the rounds continue training (epoch 1, 2, ...). Reported:
 * the median per-round time, projected to one epoch of 60000 images, wall clock and
 * process CPU time, and the ratio to the floor. One thread unless --threads says
 * otherwise (the target is quoted for one thread: aihwkit v1.1.0 takes 4.8 s per epoch on
 * one core of this machine, issue 5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aihw/aihw.h"
#include "bench.h"
#include "bench_util.h"
#include "models.h"

#define AIHWKIT_EPOCH_S 4.8 /* aihwkit v1.1.0, one CPU thread, issue 5 */

typedef struct mlp_options {
  const char *rpu;
  const char *data_dir;
  long images;
} mlp_options;

void bench_mlp_usage(FILE *out) {
  fprintf(out,
          "usage: aihw bench mlp [--json] [--quick] [--repeats N] [--threads N] [--seed N]\n"
          "                      [--rpu R] [--images N] [--data-dir DIR]\n"
          "Trains the MLP 784-256-128-10 (sigmoid, batch 64, lr 0.05) on the first N\n"
          "Fashion-MNIST training images (default 60000; --quick 6400) with tiles of --rpu\n"
          "(default ConstantStepDevice) and with FLOATING_POINT tiles, interleaved, and\n"
          "reports the median time of a round projected to one epoch (60000 images).\n"
          "One thread unless --threads is given. Needs the data set (Debian package\n"
          "dataset-fashion-mnist, installed by scripts/install-deps.sh).\n"
          "--json prints one line: {\"op\": \"mlp_epoch\", \"rpu\": R, \"images\": N,\n"
          "  \"epoch_s\": E, \"epoch_cpu_s\": C, \"epoch_floor_s\": F, \"ratio\": E/F,\n"
          "  \"aihwkit_epoch_s\": 4.8, \"speedup_vs_aihwkit\": 4.8/E, \"loss\": L, \"rounds\": R}\n");
}

static int parse_extra(void *ctx, int argc, char **argv, int *i) {
  mlp_options *m = ctx;
  const char *value = NULL;
  int found;
  if ((found = cli_option_value(argc, argv, i, "--rpu", &value)) != 0) {
    if (found < 0)
      return -1;
    m->rpu = value;
    return 1;
  }
  if ((found = cli_option_value(argc, argv, i, "--data-dir", &value)) != 0) {
    if (found < 0)
      return -1;
    m->data_dir = value;
    return 1;
  }
  if ((found = cli_option_value(argc, argv, i, "--images", &value)) != 0) {
    if (found < 0 || cli_parse_long("bench mlp", "--images", value, 64, 60000, &m->images) != 0)
      return -1;
    return 1;
  }
  return 0;
}

static double cpu_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int bench_mlp_run(int argc, char **argv) {
  static const char *cmd = "bench mlp";
  bench_options opts = bench_options_default();
  mlp_options m = {"ConstantStepDevice", NULL, 0};
  opts.threads = 1;
  int parsed = bench_parse_options(argc, argv, &opts, parse_extra, &m, bench_mlp_usage);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (m.images == 0)
    m.images = opts.quick ? 6400 : 60000;
  const long rounds = opts.repeats > 0 ? opts.repeats : (opts.quick ? 2 : 3);
  models_split train, test;
  memset(&train, 0, sizeof train);
  memset(&test, 0, sizeof test);
  int rc = models_load_data(cmd, m.data_dir, m.images, 1, &train, &test);
  if (rc != CLI_EXIT_OK)
    return rc;
  aihw_module *nets[2] = {NULL, NULL};
  const char *specs[2] = {m.rpu, "floating-point"};
  for (int k = 0; k < 2 && rc == CLI_EXIT_OK; ++k) {
    aihw_tile_config config;
    aihw_mapping_params mapping;
    rc = models_load_rpu(cmd, specs[k], opts.seed, &config, &mapping);
    if (rc == CLI_EXIT_OK)
      rc = models_build(cmd, "mlp", &config, &mapping, train.features, &nets[k]);
  }
  double *t = malloc(sizeof *t * (size_t)(4 * rounds));
  if (rc == CLI_EXIT_OK && t == NULL) {
    fprintf(stderr, "aihw %s: out of memory\n", cmd);
    rc = CLI_EXIT_FAILURE;
  }
  if (rc != CLI_EXIT_OK)
    goto done;
  if (!opts.json) {
    printf("aihw bench mlp: MLP 784-256-128-10 on %ld Fashion-MNIST images, --rpu %s vs "
           "floating-point tiles\n",
           m.images, m.rpu);
    bench_print_environment(stdout);
  }
  models_train_options o;
  memset(&o, 0, sizeof o);
  o.batch = 64;
  o.epochs = rounds;
  o.lr = 0.05f;
  o.seed = opts.seed;
  o.schedule = aihw_lr_schedule_default();
  double loss = 0.0;
  for (long r = 0; r < rounds; ++r)
    for (int k = 0; k < 2; ++k) {
      models_epoch e;
      const char *what = NULL;
      const double c0 = cpu_now_s();
      const aihw_status s = models_train_epoch(nets[k], &train, &o, r + 1, &e, &what);
      if (s != AIHW_OK) {
        rc = cli_report_failure(cmd, what, s);
        goto done;
      }
      t[2 * k * rounds + r] = e.time_s;
      t[(2 * k + 1) * rounds + r] = cpu_now_s() - c0;
      if (k == 0)
        loss = e.loss;
    }
  const double scale = 60000.0 / (double)m.images;
  const double epoch_s = scale * bench_median(t, (size_t)rounds);
  const double epoch_cpu_s = scale * bench_median(t + rounds, (size_t)rounds);
  const double floor_s = scale * bench_median(t + 2 * rounds, (size_t)rounds);
  if (opts.json) {
    bench_json j;
    bench_json_begin(&j, stdout);
    bench_json_string(&j, "op", "mlp_epoch");
    bench_json_string(&j, "rpu", m.rpu);
    bench_json_int(&j, "images", m.images);
    bench_json_number(&j, "epoch_s", epoch_s, 4);
    bench_json_number(&j, "epoch_cpu_s", epoch_cpu_s, 4);
    bench_json_number(&j, "epoch_floor_s", floor_s, 4);
    bench_json_number(&j, "ratio", epoch_s / floor_s, 4);
    bench_json_number(&j, "aihwkit_epoch_s", AIHWKIT_EPOCH_S, 3);
    bench_json_number(&j, "speedup_vs_aihwkit", AIHWKIT_EPOCH_S / epoch_s, 4);
    bench_json_number(&j, "loss", loss, 5);
    bench_json_int(&j, "rounds", rounds);
    bench_json_end(&j);
  } else {
    printf("%10s %12s %14s %7s %18s %8s\n", "epoch_s", "epoch_cpu_s", "epoch_floor_s",
           "ratio", "speedup_vs_aihwkit", "rounds");
    printf("%10.3f %12.3f %14.3f %7.2f %18.2f %8ld\n", epoch_s, epoch_cpu_s, floor_s,
           epoch_s / floor_s, AIHWKIT_EPOCH_S / epoch_s, rounds);
  }
  rc = CLI_EXIT_OK;
done:
  for (int k = 0; k < 2; ++k)
    aihw_module_destroy(nets[k]);
  free(t);
  models_split_free(&train);
  models_split_free(&test);
  return rc;
}
