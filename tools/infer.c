/* `aihw infer`: test accuracy of a trained network after programming into analog memory
 * and drift (aihwkit's inference example, examples/05_simple_layer_inference.py and the
 * drift studies of Rasch et al.). The network comes from a module file (aihw train --save)
 * or from a built-in architecture plus PyTorch weights; it is converted (exact weights)
 * to tiles of the --rpu inference configuration, and for each repeat it is programmed
 * once and then drifted to every requested time (drift always restarts from the
 * programmed state, so the times of one repeat share one programming) and evaluated in
 * evaluation mode with the configuration's drift compensation. The floating-point
 * accuracy (the same weights on FLOATING_POINT tiles) is the reference.
 *
 * Randomness: the repeats differ because every programming and drift call advances each
 * tile's operation counter (Philox streams by (seed, tile id, counter)); the whole table
 * is a function of the options.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/aihw.h"
#include "cli.h"
#include "models.h"
#include "plot.h"

#define INFER_MAX_TIMES 64

void cli_infer_usage(FILE *out) {
  fprintf(out,
          "usage: aihw infer (--model FILE | --arch A --weights FILE) [--rpu R]\n"
          "                  [--times T,T,...] [--repeats N] [--no-compensation]\n"
          "                  [--data-dir DIR] [--limit-test N] [--seed N] [--threads N]\n"
          "                  [--plot FILE.png|.svg] [--json]\n"
          "\n"
          "Programs a trained network into analog tiles, drifts it to each time after\n"
          "programming and prints the test accuracy (mean +- std over the repeats).\n"
          "\n"
          "  --model FILE     a module file of aihw train --save (aihw_module_save)\n"
          "  --arch A         built-in network (%s) whose weights come from\n"
          "  --weights FILE   a PyTorch state_dict in safetensors (\"0.weight\", ...)\n"
          "  --rpu R          inference configuration: a preset name (default\n"
          "                   \"inference\", aihwkit's InferenceRPUConfig) or an RPU-config\n"
          "                   JSON file (may carry a \"mapping\")\n"
          "  --times LIST     seconds after programming, comma-separated (default\n"
          "                   0,1,3600,86400,2592000,31536000)\n"
          "  --repeats N      programmings per time (default 5)\n"
          "  --no-compensation  turn the configuration's drift compensation off\n"
          "  --data-dir DIR   IDX test files (default %s)\n"
          "  --limit-test N   evaluate on the first N test images only\n"
          "  --seed N         seed of programming and read noise (default 1)\n"
          "  --threads N      OpenMP and OpenBLAS threads\n"
          "  --plot FILE      accuracy vs time after programming (log axis), PNG or SVG\n"
          "  --json           one JSON object: {\"times\", \"accuracy_mean\",\n"
          "                   \"accuracy_std\", \"fp_accuracy\", \"repeats\",\n"
          "                   \"compensation\"} (accuracies in percent)\n",
          models_known_archs(), MODELS_DEFAULT_DATA_DIR);
}

typedef struct infer_options {
  const char *model, *arch, *weights, *rpu, *times_text, *data_dir, *plot;
  long repeats, limit_test, threads;
  uint32_t seed;
  int json, no_compensation;
  double times[INFER_MAX_TIMES];
  int n_times;
} infer_options;

static int parse_times(const char *text, infer_options *o) {
  const char *p = text;
  o->n_times = 0;
  while (*p != '\0') {
    char *end = NULL;
    double t = strtod(p, &end);
    if (end == p || !isfinite(t) || t < 0.0 || t > 1e12 || (*end != ',' && *end != '\0')) {
      fprintf(stderr,
              "aihw infer: option --times: '%s' is not a comma-separated list of seconds "
              "in [0, 1e12]\n",
              text);
      return -1;
    }
    if (o->n_times == INFER_MAX_TIMES) {
      fprintf(stderr, "aihw infer: option --times: at most %d times\n", INFER_MAX_TIMES);
      return -1;
    }
    o->times[o->n_times++] = t;
    p = *end == ',' ? end + 1 : end;
  }
  if (o->n_times == 0) {
    fprintf(stderr, "aihw infer: option --times: no time given\n");
    return -1;
  }
  return 0;
}

/* Returns 0 to go on, 1 after --help, 2 after a usage error (printed). */
static int parse_args(int argc, char **argv, infer_options *o) {
  const cli_option opts[] = {
      {"--json", CLI_OPT_FLAG, &o->json, 0, 0},
      {"--no-compensation", CLI_OPT_FLAG, &o->no_compensation, 0, 0},
      {"--model", CLI_OPT_STRING, &o->model, 0, 0},
      {"--arch", CLI_OPT_STRING, &o->arch, 0, 0},
      {"--weights", CLI_OPT_STRING, &o->weights, 0, 0},
      {"--rpu", CLI_OPT_STRING, &o->rpu, 0, 0},
      {"--times", CLI_OPT_STRING, &o->times_text, 0, 0},
      {"--data-dir", CLI_OPT_STRING, &o->data_dir, 0, 0},
      {"--plot", CLI_OPT_STRING, &o->plot, 0, 0},
      {"--repeats", CLI_OPT_LONG, &o->repeats, 1, 10000},
      {"--limit-test", CLI_OPT_LONG, &o->limit_test, 1, 100000000},
      {"--threads", CLI_OPT_LONG, &o->threads, 1, 4096},
      {"--seed", CLI_OPT_SEED, &o->seed, 0, 0}};
  for (int i = 1; i < argc; ++i) {
    if (cli_is_flag(argv, i, "--help") || cli_is_flag(argv, i, "-h")) {
      cli_infer_usage(stdout);
      return 1;
    }
    const int m = cli_match_option("infer", argc, argv, &i, opts, (int)(sizeof opts / sizeof opts[0]));
    if (m < 0)
      return 2;
    if (m == 0) {
      cli_usage_error("infer", argv[i], cli_infer_usage);
      return 2;
    }
  }
  if ((o->model != NULL) == (o->arch != NULL || o->weights != NULL)) {
    fprintf(stderr, "aihw infer: give either --model FILE or --arch A --weights FILE\n");
    return 2;
  }
  if (o->model == NULL && (o->arch == NULL || o->weights == NULL)) {
    fprintf(stderr, "aihw infer: --arch and --weights go together\n");
    return 2;
  }
  if (parse_times(o->times_text, o) != 0)
    return 2;
  if (o->plot != NULL) {
    char err[256];
    if (plot_check_path(o->plot, err, sizeof err) != 0) {
      fprintf(stderr, "aihw infer: --plot: %s\n", err);
      return 2;
    }
  }
  return 0;
}

/* The trained network, on whatever tiles it was saved with. */
static int load_source(const infer_options *o, int64_t features, aihw_module **out) {
  if (o->model != NULL) {
    aihw_status s = aihw_module_load_new(o->model, out);
    return s == AIHW_OK ? CLI_EXIT_OK : cli_report_failure("infer", "--model", s);
  }
  aihw_tile_config fp = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  aihw_mapping_params mapping = aihw_mapping_params_default();
  int rc = models_build("infer", o->arch, &fp, &mapping, features, out);
  if (rc != CLI_EXIT_OK)
    return rc;
  aihw_status s = aihw_module_load_torch(*out, o->weights, 1);
  if (s != AIHW_OK) {
    aihw_module_destroy(*out);
    *out = NULL;
    return cli_report_failure("infer", "--weights", s);
  }
  return CLI_EXIT_OK;
}

static void print_json(const infer_options *o, const double *mean, const double *sd,
                       double fp_accuracy) {
  printf("{\"times\": [");
  for (int k = 0; k < o->n_times; ++k)
    printf("%s%.10g", k ? ", " : "", o->times[k]);
  printf("], \"accuracy_mean\": [");
  for (int k = 0; k < o->n_times; ++k)
    printf("%s%.4f", k ? ", " : "", mean[k]);
  printf("], \"accuracy_std\": [");
  for (int k = 0; k < o->n_times; ++k)
    printf("%s%.4f", k ? ", " : "", sd[k]);
  printf("], \"fp_accuracy\": %.4f, \"repeats\": %ld, \"compensation\": %s}\n", fp_accuracy,
         o->repeats, o->no_compensation ? "false" : "true");
}


/* Accuracy vs time after programming on a log axis; t = 0 is drawn at 0.1 s. */
static int write_plot(const infer_options *o, const double *mean, const double *sd,
                      double fp_accuracy) {
  double x[INFER_MAX_TIMES], ref_x[2], ref_y[2] = {fp_accuracy, fp_accuracy};
  double lo = INFINITY, hi = 0.0;
  for (int k = 0; k < o->n_times; ++k) {
    x[k] = o->times[k] > 0.1 ? o->times[k] : 0.1;
    lo = fmin(lo, x[k]);
    hi = fmax(hi, x[k]);
  }
  if (!(hi > lo))
    hi = lo * 10.0;
  ref_x[0] = lo;
  ref_x[1] = hi;
  plot_series series[2] = {
      {x, mean, sd, (size_t)o->n_times,
       o->no_compensation ? "analog (no drift compensation)" : "analog (drift compensated)", 0,
       1},
      {ref_x, ref_y, NULL, 2, "floating point", 1, 0}};
  char title[256];
  snprintf(title, sizeof title, "Test accuracy after programming (%ld repeats, band: 1 std)",
           o->repeats);
  plot_lines_chart chart = {title, "time after programming (s; 0 drawn at 0.1 s)",
                            "test accuracy (%)", series, 2, 1, 0.0, 0.0, 0, 0, 0.0};
  char err[256];
  if (plot_lines_chart_write(o->plot, &chart, err, sizeof err) != 0) {
    fprintf(stderr, "aihw infer: --plot: %s\n", err);
    return CLI_EXIT_FAILURE;
  }
  return CLI_EXIT_OK;
}

int cli_infer_run(int argc, char **argv) {
  infer_options o = {.rpu = "inference",
                     .times_text = "0,1,3600,86400,2592000,31536000",
                     .repeats = 5,
                     .seed = 1};
  int parsed = parse_args(argc, argv, &o);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (o.threads > 0)
    cli_set_threads((int)o.threads);

  aihw_tile_config config;
  aihw_mapping_params mapping;
  int rc = models_load_rpu("infer", o.rpu, o.seed, &config, &mapping);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (config.kind != AIHW_TILE_INFERENCE) {
    fprintf(stderr, "aihw infer: --rpu %s: is a %s configuration; infer needs an INFERENCE one "
                    "(e.g. \"inference\")\n",
            o.rpu, aihw_tile_kind_name(config.kind));
    return CLI_EXIT_USAGE;
  }
  if (o.no_compensation)
    config.inference.drift_compensation = AIHW_DRIFT_COMPENSATION_NONE;

  models_split test = {0};
  aihw_module *source = NULL, *fp = NULL, *analog = NULL;
  double *acc = NULL;
  const char *what = NULL;
  rc = models_load_data("infer", o.data_dir, 0, o.limit_test, NULL, &test);
  if (rc == CLI_EXIT_OK)
    rc = load_source(&o, test.features, &source);
  if (rc != CLI_EXIT_OK)
    goto done;
  if (aihw_module_in_features(source) != test.features ||
      aihw_module_out_features(source) != MODELS_CLASSES) {
    fprintf(stderr, "aihw infer: the network maps %lld inputs to %lld outputs; the data have "
                    "%lld pixels and %d classes\n",
            (long long)aihw_module_in_features(source),
            (long long)aihw_module_out_features(source), (long long)test.features,
            MODELS_CLASSES);
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  aihw_tile_config fp_config = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  double fp_accuracy = 0.0;
  aihw_status s = aihw_module_convert(source, &fp_config, NULL, &fp);
  what = "aihw_module_convert";
  if (s == AIHW_OK)
    s = models_accuracy(fp, &test, &fp_accuracy, &what);
  if (s == AIHW_OK) {
    what = "aihw_module_convert";
    /* a preset carries no mapping: the network keeps its own */
    s = aihw_module_convert(source, &config, cli_names_a_file(o.rpu) ? &mapping : NULL,
                            &analog);
  }
  if (s == AIHW_OK) {
    what = "aihw_module_set_training";
    s = aihw_module_set_training(analog, 0);
  }
  acc = calloc((size_t)(o.repeats * o.n_times), sizeof *acc);
  if (acc == NULL) {
    fprintf(stderr, "aihw infer: out of memory\n");
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  if (!o.json && s == AIHW_OK)
    printf("aihw infer: %s, --rpu %s%s, %lld test images, %ld repeats, seed %u, %d threads\n"
           "floating-point accuracy: %.2f %%\n",
           o.model != NULL ? o.model : o.arch, o.rpu,
           o.no_compensation ? " (no drift compensation)" : "", (long long)test.n, o.repeats,
           (unsigned)o.seed, cli_max_threads(), fp_accuracy);
  for (long r = 0; r < o.repeats && s == AIHW_OK; ++r) {
    what = "aihw_module_program_weights";
    s = aihw_module_program_weights(analog);
    for (int k = 0; k < o.n_times && s == AIHW_OK; ++k) {
      what = "aihw_module_drift_to";
      s = aihw_module_drift_to(analog, (float)o.times[k]);
      if (s == AIHW_OK)
        s = models_accuracy(analog, &test, &acc[r * o.n_times + k], &what);
    }
  }
  if (s != AIHW_OK) {
    rc = cli_report_failure("infer", what, s);
    goto done;
  }
  double mean[INFER_MAX_TIMES], sd[INFER_MAX_TIMES];
  for (int k = 0; k < o.n_times; ++k) {
    double sum = 0.0, sq = 0.0;
    for (long r = 0; r < o.repeats; ++r)
      sum += acc[r * o.n_times + k];
    mean[k] = sum / (double)o.repeats;
    for (long r = 0; r < o.repeats; ++r)
      sq += (acc[r * o.n_times + k] - mean[k]) * (acc[r * o.n_times + k] - mean[k]);
    sd[k] = o.repeats > 1 ? sqrt(sq / (double)(o.repeats - 1)) : 0.0;
  }
  if (o.json) {
    print_json(&o, mean, sd, fp_accuracy);
  } else {
    printf("%14s  %s\n", "time", "test accuracy (%, mean +- std)");
    for (int k = 0; k < o.n_times; ++k) {
      char t[32];
      models_format_time(o.times[k], t, sizeof t);
      printf("%14s  %6.2f +- %.2f\n", t, mean[k], sd[k]);
    }
  }
  rc = o.plot != NULL ? write_plot(&o, mean, sd, fp_accuracy) : CLI_EXIT_OK;
  if (rc == CLI_EXIT_OK && o.plot != NULL && !o.json)
    printf("plot: %s\n", o.plot);
done:
  free(acc);
  aihw_module_destroy(analog);
  aihw_module_destroy(fp);
  aihw_module_destroy(source);
  models_split_free(&test);
  return rc;
}
