/* `aihw demo`: the README's main job — what analog in-memory computing does to a network,
 * end to end, in a few minutes on two cores:
 *
 *   1. the periphery: one tile's forward/backward error under several IO settings
 *      (demo_periphery.c);
 *   2. hardware-aware training (HWA) of LeNet-5 on INFERENCE tiles (aihwkit's
 *      InferenceRPUConfig with additive weight noise during training, Gaussian weight
 *      clipping and PCM-like programming/drift/read noise) on Fashion-MNIST;
 *   3. programming that network into PCM and evaluating it from 1 s to 10 years after
 *      programming, with and without global drift compensation, against its
 *      floating-point accuracy;
 *   4. pulsed training of aihwkit's MLP on ConstantStep devices next to the same MLP in
 *      floating point.
 *
 * Writes training.png, drift.png and report.json (every number printed) into --out and
 * prints where. --quick runs the same steps on small subsets (the CLI test).
 */
#define _POSIX_C_SOURCE 200809L /* mkdir, isatty, fileno */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "cli.h"
#include "core/error.h" /* AIHW_TRY */
#include "models.h"
#include "plot.h"

#define DEMO_MAX_EPOCHS 20
#define DEMO_N_TIMES 8
#define DEMO_DRIFT_TEST_IMAGES 2000 /* test images of the drift table (first ones) */
#define DEMO_QUICK_HWA_IMAGES 1000  /* --quick: LeNet-5 training images */

void cli_demo_usage(FILE *out) {
  fprintf(out,
          "usage: aihw demo [--out DIR] [--quick] [--hwa-epochs N] [--seed N] [--threads N]\n"
          "                 [--data-dir DIR] [--json]\n"
          "\n"
          "Shows what analog hardware does to a network: the periphery's error on one tile,\n"
          "hardware-aware training on Fashion-MNIST, accuracy from 1 s to 10 years after\n"
          "programming into PCM (with and without drift compensation), and pulsed training\n"
          "on ConstantStep devices. Writes training.png, drift.png and report.json.\n"
          "\n"
          "  --out DIR        output folder (default aihw-demo; created if needed)\n"
          "  --quick          small subsets of the data (seconds instead of minutes)\n"
          "  --hwa-epochs N   epochs of hardware-aware training (default 1)\n"
          "  --seed N         seed of weights, noise and shuffling (default 1)\n"
          "  --threads N      OpenMP and OpenBLAS threads\n"
          "  --data-dir DIR   Fashion-MNIST IDX files (default %s)\n"
          "  --json           print report.json on stdout (the commentary goes to stderr)\n",
          MODELS_DEFAULT_DATA_DIR);
}

typedef struct demo_options {
  const char *out, *data_dir;
  long hwa_epochs, threads;
  uint32_t seed;
  int quick, json;
} demo_options;

static int parse_args(int argc, char **argv, demo_options *o) {
  const cli_option opts[] = {{"--quick", CLI_OPT_FLAG, &o->quick, 0, 0},
                             {"--json", CLI_OPT_FLAG, &o->json, 0, 0},
                             {"--out", CLI_OPT_STRING, &o->out, 0, 0},
                             {"--data-dir", CLI_OPT_STRING, &o->data_dir, 0, 0},
                             {"--hwa-epochs", CLI_OPT_LONG, &o->hwa_epochs, 1, DEMO_MAX_EPOCHS},
                             {"--threads", CLI_OPT_LONG, &o->threads, 1, 4096},
                             {"--seed", CLI_OPT_SEED, &o->seed, 0, 0}};
  for (int i = 1; i < argc; ++i) {
    if (cli_is_flag(argv, i, "--help") || cli_is_flag(argv, i, "-h")) {
      cli_demo_usage(stdout);
      return 1;
    }
    const int m = cli_match_option("demo", argc, argv, &i, opts, (int)(sizeof opts / sizeof opts[0]));
    if (m < 0)
      return 2;
    if (m == 0) {
      cli_usage_error("demo", argv[i], cli_demo_usage);
      return 2;
    }
  }
  return 0;
}

/* ---- results ------------------------------------------------------------------------- */

typedef struct demo_run {
  const char *name, *arch, *rpu;
  long epochs, batch;
  float lr;
  models_epoch e[DEMO_MAX_EPOCHS];
} demo_run;

typedef struct demo_drift {
  double times[DEMO_N_TIMES];
  int n_times;
  long repeats;
  int64_t test_images;
  double fp_accuracy;
  double mean[2][DEMO_N_TIMES], sd[2][DEMO_N_TIMES]; /* [0]: compensated, [1]: not */
} demo_drift;

/* Trains `model` for run->epochs epochs, printing one line per epoch. */
static int train_run(aihw_module *model, const models_split *train, const models_split *test,
                     uint32_t seed, demo_run *run) {
  models_train_options topt;
  memset(&topt, 0, sizeof topt);
  topt.batch = run->batch;
  topt.epochs = run->epochs;
  topt.lr = run->lr;
  topt.seed = seed;
  topt.bar = isatty(fileno(stdout));
  topt.label = run->name;
  topt.schedule = aihw_lr_schedule_default();
  for (long e = 0; e < run->epochs; ++e) {
    const char *what = NULL;
    aihw_status s = models_train_epoch(model, train, &topt, e + 1, &run->e[e], &what);
    if (s == AIHW_OK)
      s = models_accuracy(model, test, &run->e[e].test_accuracy, &what);
    if (s != AIHW_OK)
      return cli_report_failure("demo", what, s);
    printf("  %s epoch %ld/%ld: loss %.4f, test accuracy %.2f %% (%.1f s)\n", run->name, e + 1,
           run->epochs, run->e[e].loss, run->e[e].test_accuracy, run->e[e].time_s);
    fflush(stdout);
  }
  return CLI_EXIT_OK;
}

/* The HWA configuration: aihwkit's InferenceRPUConfig with additive Gaussian weight noise
 * of 10 % of the largest weight during training, weights clipped at 2.5 sigma of the
 * layer after every update. No weight scaling (omega = 0): scaled to max |W| = 1 the
 * outputs of the first layers exceed the ADC bound and iterative bound management repeats
 * the products several times per batch (about ten times slower training). */
static aihw_status hwa_config(uint32_t seed, aihw_tile_config *config,
                              aihw_mapping_params *mapping) {
  AIHW_TRY(aihw_tile_config_preset("inference", config));
  config->seed = seed;
  config->inference.modifier.type = AIHW_MODIFIER_ADD_NORMAL;
  config->inference.modifier.std_dev = 0.1f;
  config->inference.clip.type = AIHW_CLIP_LAYER_GAUSSIAN;
  config->inference.clip.sigma = 2.5f;
  *mapping = aihw_mapping_params_default();
  mapping->weight_scaling_omega = 0.0f;
  return AIHW_OK;
}

/* Accuracy after programming and drift: `repeats` programmings, each drifted to every
 * time; compensation on (index 0) and off (1). */
static int drift_study(const aihw_module *trained, const models_split *test, uint32_t seed,
                       demo_drift *d) {
  const char *what = "aihw_module_convert";
  aihw_tile_config fp_config = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  aihw_module *fp = NULL;
  aihw_status s = aihw_module_convert(trained, &fp_config, NULL, &fp);
  if (s == AIHW_OK)
    s = models_accuracy(fp, test, &d->fp_accuracy, &what);
  aihw_module_destroy(fp);
  for (int variant = 0; variant < 2 && s == AIHW_OK; ++variant) {
    aihw_tile_config config;
    aihw_mapping_params mapping;
    hwa_config(seed, &config, &mapping);
    config.inference.drift_compensation =
        variant == 0 ? AIHW_DRIFT_COMPENSATION_GLOBAL : AIHW_DRIFT_COMPENSATION_NONE;
    aihw_module *net = NULL;
    what = "aihw_module_convert";
    s = aihw_module_convert(trained, &config, NULL, &net);
    double acc[16][DEMO_N_TIMES];
    for (long r = 0; r < d->repeats && s == AIHW_OK; ++r) {
      what = "aihw_module_program_weights";
      s = aihw_module_set_training(net, 0);
      if (s == AIHW_OK)
        s = aihw_module_program_weights(net);
      for (int k = 0; k < d->n_times && s == AIHW_OK; ++k) {
        what = "aihw_module_drift_to";
        s = aihw_module_drift_to(net, (float)d->times[k]);
        if (s == AIHW_OK)
          s = models_accuracy(net, test, &acc[r][k], &what);
      }
    }
    aihw_module_destroy(net);
    for (int k = 0; k < d->n_times && s == AIHW_OK; ++k) {
      double sum = 0.0, sq = 0.0;
      for (long r = 0; r < d->repeats; ++r)
        sum += acc[r][k];
      const double mean = sum / (double)d->repeats;
      for (long r = 0; r < d->repeats; ++r)
        sq += (acc[r][k] - mean) * (acc[r][k] - mean);
      d->mean[variant][k] = mean;
      d->sd[variant][k] = d->repeats > 1 ? sqrt(sq / (double)(d->repeats - 1)) : 0.0;
    }
  }
  if (s != AIHW_OK)
    return cli_report_failure("demo", what, s);
  return CLI_EXIT_OK;
}

/* ---- output ---------------------------------------------------------------------------- */


static int write_training_plot(const char *path, const demo_run *runs, int n_runs) {
  double x[3][DEMO_MAX_EPOCHS], y[3][DEMO_MAX_EPOCHS];
  plot_series series[3];
  for (int r = 0; r < n_runs; ++r) {
    for (long e = 0; e < runs[r].epochs; ++e) {
      x[r][e] = (double)(e + 1);
      y[r][e] = runs[r].e[e].test_accuracy;
    }
    series[r] = (plot_series){x[r], y[r], NULL, (size_t)runs[r].epochs, runs[r].name, 0, 1};
  }
  plot_lines_chart chart = {"Training on Fashion-MNIST", "epoch", "test accuracy (%)",
                            series, (size_t)n_runs, 0, 0.0, 0.0, 0, 0, 1.0};
  char err[256];
  if (plot_lines_chart_write(path, &chart, err, sizeof err) != 0) {
    fprintf(stderr, "aihw demo: %s\n", err);
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

static int write_drift_plot(const char *path, const demo_drift *d, const char *arch) {
  double ref_x[2] = {d->times[0], d->times[d->n_times - 1]};
  double ref_y[2] = {d->fp_accuracy, d->fp_accuracy};
  plot_series series[3] = {
      {d->times, d->mean[0], d->sd[0], (size_t)d->n_times, "PCM, global drift compensation", 0,
       1},
      {d->times, d->mean[1], d->sd[1], (size_t)d->n_times, "PCM, no compensation", 0, 1},
      {ref_x, ref_y, NULL, 2, "floating point", 1, 0}};
  char title[160];
  snprintf(title, sizeof title, "%s (HWA-trained) after programming into PCM (%ld repeats)",
           arch, d->repeats);
  plot_lines_chart chart = {title, "time after programming (s)", "test accuracy (%)", series,
                            3, 1, 0.0, 0.0, 0, 0, 0.0};
  char err[256];
  if (plot_lines_chart_write(path, &chart, err, sizeof err) != 0) {
    fprintf(stderr, "aihw demo: %s\n", err);
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

static void json_run(FILE *f, const demo_run *r) {
  fprintf(f, "{\"name\": \"%s\", \"arch\": \"%s\", \"rpu\": \"%s\", \"epochs\": [", r->name,
          r->arch, r->rpu);
  for (long e = 0; e < r->epochs; ++e)
    fprintf(f, "%s{\"epoch\": %ld, \"loss\": %.6g, \"test_accuracy\": %.2f, \"time_s\": %.3f}",
            e ? ", " : "", e + 1, r->e[e].loss, r->e[e].test_accuracy, r->e[e].time_s);
  fprintf(f, "]}");
}

static void json_array(FILE *f, const double *v, int n, const char *fmt) {
  fputc('[', f);
  for (int k = 0; k < n; ++k) {
    if (k)
      fputs(", ", f);
    fprintf(f, fmt, v[k]);
  }
  fputc(']', f);
}

/* report.json, written to a temporary name and renamed. */
static int write_report(const char *path, const demo_options *o, const demo_run *runs,
                        int n_runs, const demo_drift *d, double total_s) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL) {
    fprintf(stderr, "aihw demo: cannot write '%s': %s\n", tmp, strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  fprintf(f, "{\"aihw_version\": \"%s\", \"seed\": %u, \"quick\": %s, \"threads\": %d,\n",
          aihw_version_string(), (unsigned)o->seed, o->quick ? "true" : "false",
          cli_max_threads());
  fprintf(f, " \"training\": [");
  for (int r = 0; r < n_runs; ++r) {
    fputs(r ? ",\n   " : "", f);
    json_run(f, &runs[r]);
  }
  fprintf(f, "],\n \"drift\": {\"arch\": \"%s\", \"test_images\": %lld, \"repeats\": %ld, "
             "\"fp_accuracy\": %.2f, \"times\": ",
          runs[0].arch, (long long)d->test_images, d->repeats, d->fp_accuracy);
  json_array(f, d->times, d->n_times, "%.10g");
  fputs(",\n   \"compensated\": {\"accuracy_mean\": ", f);
  json_array(f, d->mean[0], d->n_times, "%.2f");
  fputs(", \"accuracy_std\": ", f);
  json_array(f, d->sd[0], d->n_times, "%.2f");
  fputs("},\n   \"uncompensated\": {\"accuracy_mean\": ", f);
  json_array(f, d->mean[1], d->n_times, "%.2f");
  fputs(", \"accuracy_std\": ", f);
  json_array(f, d->sd[1], d->n_times, "%.2f");
  fprintf(f, "}},\n \"total_time_s\": %.1f}\n", total_s);
  int bad = ferror(f);
  if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
    fprintf(stderr, "aihw demo: cannot write '%s': %s\n", path, strerror(errno));
    remove(tmp);
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

/* ---- the demo --------------------------------------------------------------------------- */

int cli_demo_run(int argc, char **argv) {
  demo_options o = {.out = "aihw-demo", .seed = 1};
  int parsed = parse_args(argc, argv, &o);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (o.threads > 0)
    cli_set_threads((int)o.threads);
  if (o.hwa_epochs == 0)
    o.hwa_epochs = 1;
  if (mkdir(o.out, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "aihw demo: cannot create the output folder '%s': %s\n", o.out,
            strerror(errno));
    return CLI_EXIT_FAILURE;
  }
  char training_png[4096], drift_png[4096], report[4096];
  snprintf(training_png, sizeof training_png, "%s/training.png", o.out);
  snprintf(drift_png, sizeof drift_png, "%s/drift.png", o.out);
  snprintf(report, sizeof report, "%s/report.json", o.out);
  char err[256];
  if (plot_check_path(training_png, err, sizeof err) != 0) {
    fprintf(stderr, "aihw demo: --out: %s\n", err);
    return CLI_EXIT_FAILURE;
  }
  const double start = models_now_s();
  /* --json: the report is the only thing on stdout; the running commentary goes to
   * stderr (stdout is pointed at it until the report is printed) */
  int saved_stdout = -1;
  if (o.json) {
    fflush(stdout);
    saved_stdout = dup(STDOUT_FILENO);
    if (saved_stdout < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
      fprintf(stderr, "aihw demo: --json: cannot redirect the commentary: %s\n",
              strerror(errno));
      return CLI_EXIT_FAILURE;
    }
  }

  printf("== 1. The periphery: one tile against the exact product ==\n");
  int rc = demo_periphery(o.seed);

  models_split train = {0}, test = {0}, drift_test = {0};
  aihw_module *hwa = NULL, *pulsed = NULL, *fp = NULL;
  if (rc != CLI_EXIT_OK)
    goto done;
  rc = models_load_data("demo", o.data_dir, o.quick ? 2000 : 0, o.quick ? 500 : 0, &train,
                        &test);
  if (rc != CLI_EXIT_OK)
    goto done;
  /* the drift table evaluates many times: the first half of the test set */
  drift_test = test;
  drift_test.n = o.quick ? test.n : DEMO_DRIFT_TEST_IMAGES;
  /* LeNet-5 costs about 30x the MLP per image: its HWA training sees a subset in --quick */
  models_split hwa_train = train;
  if (o.quick && hwa_train.n > DEMO_QUICK_HWA_IMAGES)
    hwa_train.n = DEMO_QUICK_HWA_IMAGES;

  demo_run runs[3];
  memset(runs, 0, sizeof runs);
  /* --quick: small batches and a larger rate get the sigmoid MLP off its initial
   * plateau within 2,000 images */
  const long batch = o.quick ? 8 : 64;
  const float lr = o.quick ? 0.2f : 0.1f;
  runs[0] = (demo_run){.name = "HWA LeNet-5 (PCM inference tiles)", .arch = "lenet5",
                       .rpu = "inference + HWA", .epochs = o.hwa_epochs, .batch = batch,
                       .lr = o.quick ? 0.05f : 0.1f};
  runs[1] = (demo_run){.name = "mlp, ConstantStep devices", .arch = "mlp",
                       .rpu = "ConstantStepDevice", .epochs = o.quick ? 1 : 3, .batch = batch,
                       .lr = lr};
  runs[2] = (demo_run){.name = "mlp, floating point", .arch = "mlp", .rpu = "floating-point",
                       .epochs = o.quick ? 1 : 3, .batch = batch, .lr = lr};

  printf("\n== 2. Hardware-aware training on Fashion-MNIST (%lld training images) ==\n",
         (long long)hwa_train.n);
  aihw_tile_config config;
  aihw_mapping_params mapping;
  aihw_status s = hwa_config(o.seed, &config, &mapping);
  if (s != AIHW_OK) {
    rc = cli_report_failure("demo", "HWA configuration", s);
    goto done;
  }
  printf("  %s: InferenceRPUConfig, training weight noise N(0, (0.1 max|W|)^2), clip at "
         "2.5 sigma\n",
         runs[0].arch);
  rc = models_build("demo", runs[0].arch, &config, &mapping, train.features, &hwa);
  if (rc == CLI_EXIT_OK)
    rc = train_run(hwa, &hwa_train, &test, o.seed, &runs[0]);
  if (rc != CLI_EXIT_OK)
    goto done;

  static const double times[DEMO_N_TIMES] = {1.0,      60.0,      3600.0,     86400.0,
                                             604800.0, 2592000.0, 31536000.0, 315360000.0};
  demo_drift d;
  memset(&d, 0, sizeof d);
  memcpy(d.times, times, sizeof times);
  d.n_times = DEMO_N_TIMES;
  d.repeats = o.quick ? 1 : 3;
  d.test_images = drift_test.n;
  if (o.quick) {
    d.times[1] = 86400.0;
    d.times[2] = 315360000.0;
    d.n_times = 3;
  }
  printf("\n== 3. Programmed into PCM: accuracy from 1 s to 10 years (%ld repeats, %lld test "
         "images) ==\n",
         d.repeats, (long long)d.test_images);
  rc = drift_study(hwa, &drift_test, o.seed, &d);
  if (rc != CLI_EXIT_OK)
    goto done;
  printf("  floating-point accuracy of the same weights: %.2f %%\n", d.fp_accuracy);
  printf("  %12s  %22s  %22s\n", "time", "drift compensated", "not compensated");
  for (int k = 0; k < d.n_times; ++k) {
    char t[32];
    models_format_time(d.times[k], t, sizeof t);
    printf("  %12s  %13.2f +- %5.2f  %13.2f +- %5.2f\n", t, d.mean[0][k], d.sd[0][k],
           d.mean[1][k], d.sd[1][k]);
  }

  printf("\n== 4. Pulsed training of the MLP on ConstantStep devices (batch %ld, lr %g) ==\n",
         batch, (double)lr);
  for (int r = 1; r <= 2; ++r) {
    aihw_module **net = r == 1 ? &pulsed : &fp;
    rc = models_load_rpu("demo", runs[r].rpu, o.seed, &config, &mapping);
    if (rc == CLI_EXIT_OK)
      rc = models_build("demo", runs[r].arch, &config, &mapping, train.features, net);
    if (rc == CLI_EXIT_OK)
      rc = train_run(*net, &train, &test, o.seed, &runs[r]);
    if (rc != CLI_EXIT_OK)
      goto done;
  }

  rc = write_training_plot(training_png, runs, 3);
  if (rc == CLI_EXIT_OK)
    rc = write_drift_plot(drift_png, &d, runs[0].arch);
  if (rc == CLI_EXIT_OK)
    rc = write_report(report, &o, runs, 3, &d, models_now_s() - start);
  if (rc == CLI_EXIT_OK)
    printf("\nwrote %s, %s and %s (%.0f s)\n", training_png, drift_png, report,
           models_now_s() - start);
done:
  aihw_module_destroy(hwa);
  aihw_module_destroy(pulsed);
  aihw_module_destroy(fp);
  models_split_free(&train);
  models_split_free(&test);
  if (saved_stdout >= 0) {
    fflush(stdout);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    if (rc == CLI_EXIT_OK) { /* the report, as written */
      FILE *f = fopen(report, "r");
      char buf[4096];
      size_t n;
      while (f != NULL && (n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
      if (f != NULL)
        fclose(f);
      else
        rc = CLI_EXIT_FAILURE;
    }
  }
  return rc;
}
