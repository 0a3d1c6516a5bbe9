/* `aihw train`: trains a network on Fashion-MNIST (or other IDX data) with analog tiles
 * and reports the loss and test accuracy of every epoch.
 *
 * The network is aihwkit's MNIST example (examples/03_mnist_training.py):
 * 784-256-128-10 linear layers with sigmoid activations, pixels / 255 as inputs, mean
 * cross-entropy of the logits, plain SGD (AnalogSGD) with every tile updated through its
 * own update path. Every layer gets the same tile configuration (--rpu), with tile ids
 * 0, 1, 2 so that their random streams differ.
 *
 * Reproducibility: the weights come from Philox (seed, tile id); the training order is a
 * Fisher-Yates shuffle per epoch driven by splitmix64 of (seed, epoch), so that a run is
 * a function of its options (and of nothing else, threads included, as far as the tiles
 * are).
 *
 * Output: a progress bar redrawn with '\r' while stdout is a terminal, else one plain line
 * per epoch; --json one object and nothing else on stdout.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty, fileno */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "cli.h"
#include "models.h"

#define TRAIN_CLASSES MODELS_CLASSES
#define TRAIN_PROGRESS_INTERVAL_S 0.1 /* redraw the bar at most this often */

void cli_train_usage(FILE *out) {
  fprintf(out,
          "usage: aihw train [--arch A] [--rpu <name | config.json>] [--data fashion-mnist]\n"
          "                  [--data-dir DIR] [--epochs N] [--batch N] [--lr F] [--momentum F]\n"
          "                  [--nesterov] [--weight-decay F] [--schedule S] [--seed N]\n"
          "                  [--threads N] [--limit-train N] [--limit-test N] [--save FILE]\n"
          "                  [--json]\n"
          "\n"
          "Trains aihwkit's MNIST example network (784-256-128-10, sigmoid, cross-entropy,\n"
          "SGD) on Fashion-MNIST with every layer on tiles of one configuration, and prints\n"
          "the mean training loss and test accuracy of every epoch.\n"
          "\n"
          "  --arch A         network: mlp, lenet5, or a network description .json\n"
          "  --rpu R          tile configuration: a name aihw_rpu_config_preset() knows\n"
          "                   (\"floating-point\", \"analog\", \"inference\",\n"
          "                   \"ConstantStepDevice\", \"ReRamSBPreset\",\n"
          "                   \"StandardHWATrainingPreset\", ...; default\n"
          "                   floating-point) or an RPU-config JSON file (a\n"
          "                   name ending in .json or containing '/')\n"
          "  --data D         data set: fashion-mnist (default)\n"
          "  --data-dir DIR   directory with train-images-idx3-ubyte[.gz],\n"
          "                   train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],\n"
          "                   t10k-labels-idx1-ubyte[.gz] (default %s)\n"
          "  --epochs N       epochs (default 1)\n"
          "  --batch N        mini-batch size (default 64)\n"
          "  --lr F           learning rate (default 0.05)\n"
          "  --momentum F     torch SGD momentum of the digital parameters (biases, digital\n"
          "                   layers; tiles take the learning rate only), default 0\n"
          "  --nesterov       Nesterov momentum\n"
          "  --weight-decay F weight decay of the digital parameters, default 0\n"
          "  --schedule S     learning rate per epoch: constant (default), step:S:G (StepLR)\n"
          "                   or cosine[:ETA] (CosineAnnealingLR over the epochs)\n"
          "  --seed N         seed of the weights, the tiles' noise and the shuffling\n"
          "                   (default 1)\n"
          "  --threads N      OpenMP and OpenBLAS threads\n"
          "  --limit-train N  train on the first N training images only\n"
          "  --limit-test N   evaluate on the first N test images only\n"
          "  --save FILE      save the trained model (aihw_module_save, safetensors)\n"
          "  --init FILE      start from PyTorch weights: a state_dict of the same network\n"
          "                   in safetensors (\"0.weight\", \"0.bias\", ...)\n"
          "  --device D       cpu (default) or cuda: the tiles on CUDA device 0\n"
          "                   (aihw_module_to_cuda; the data stays in host memory)\n"
          "  --json           one JSON object: {\"epochs\": [{\"epoch\", \"loss\",\n"
          "                   \"test_accuracy\", \"time_s\"}, ...], \"final_test_accuracy\"}\n"
          "                   (accuracies in percent; time_s: training time of the epoch)\n",
          MODELS_DEFAULT_DATA_DIR);
}

typedef struct train_options {
  const char *arch, *rpu, *data, *data_dir, *save_path, *init_path, *device, *schedule_text;
  const char *lr_text, *momentum_text, *weight_decay_text;
  long epochs, batch, threads, limit_train, limit_test;
  float lr, momentum, weight_decay;
  int nesterov;
  aihw_lr_schedule schedule;
  uint32_t seed;
  int json;
} train_options;

/* --schedule: "constant", "step:S:G" (StepLR, every S epochs times G) or "cosine[:ETA]"
 * (CosineAnnealingLR over the run's epochs, down to ETA, default 0). */
static int parse_schedule(const char *text, long epochs, aihw_lr_schedule *out) {
  aihw_lr_schedule s = aihw_lr_schedule_default();
  char *end = NULL;
  if (strcmp(text, "constant") == 0) {
    s.kind = AIHW_LR_CONSTANT;
  } else if (strncmp(text, "step:", 5) == 0) {
    s.kind = AIHW_LR_STEP;
    s.step_size = strtol(text + 5, &end, 10);
    if (end == text + 5 || *end != ':')
      goto bad;
    const char *g = end + 1;
    s.gamma = strtof(g, &end);
    if (end == g || *end != '\0')
      goto bad;
  } else if (strncmp(text, "cosine", 6) == 0) {
    s.kind = AIHW_LR_COSINE;
    s.t_max = epochs;
    if (text[6] == ':') {
      s.eta_min = strtof(text + 7, &end);
      if (end == text + 7 || *end != '\0')
        goto bad;
    } else if (text[6] != '\0') {
      goto bad;
    }
  } else {
    goto bad;
  }
  if (aihw_lr_schedule_validate(&s) != AIHW_OK) {
    fprintf(stderr, "aihw train: option --schedule: %s\n", aihw_last_error());
    return -1;
  }
  *out = s;
  return 0;
bad:
  fprintf(stderr,
          "aihw train: option --schedule: '%s' is not constant, step:S:G or cosine[:ETA]\n",
          text);
  return -1;
}

static int parse_unit_float(const char *name, const char *text, float *out) {
  char *end = NULL;
  double v = strtod(text, &end);
  if (text[0] == '\0' || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0) {
    fprintf(stderr, "aihw train: option %s: '%s' is not a number in [0, 1]\n", name, text);
    return -1;
  }
  *out = (float)v;
  return 0;
}

static int parse_lr(const char *text, float *out) {
  char *end = NULL;
  double v = strtod(text, &end);
  if (text[0] == '\0' || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1e6) {
    fprintf(stderr, "aihw train: option --lr: '%s' is not a number in [0, 1e6]\n", text);
    return -1;
  }
  *out = (float)v;
  return 0;
}

/* Returns 0 to go on, 1 after --help (exit 0), 2 after a usage error (printed). */
static int parse_args(int argc, char **argv, train_options *o) {
  const cli_option opts[] = {{"--json", CLI_OPT_FLAG, &o->json, 0, 0},
                             {"--nesterov", CLI_OPT_FLAG, &o->nesterov, 0, 0},
                             {"--arch", CLI_OPT_STRING, &o->arch, 0, 0},
                             {"--rpu", CLI_OPT_STRING, &o->rpu, 0, 0},
                             {"--data", CLI_OPT_STRING, &o->data, 0, 0},
                             {"--data-dir", CLI_OPT_STRING, &o->data_dir, 0, 0},
                             {"--save", CLI_OPT_STRING, &o->save_path, 0, 0},
                             {"--init", CLI_OPT_STRING, &o->init_path, 0, 0},
                             {"--device", CLI_OPT_STRING, &o->device, 0, 0},
                             {"--schedule", CLI_OPT_STRING, &o->schedule_text, 0, 0},
                             {"--lr", CLI_OPT_STRING, &o->lr_text, 0, 0},
                             {"--momentum", CLI_OPT_STRING, &o->momentum_text, 0, 0},
                             {"--weight-decay", CLI_OPT_STRING, &o->weight_decay_text, 0, 0},
                             {"--epochs", CLI_OPT_LONG, &o->epochs, 1, 100000},
                             {"--batch", CLI_OPT_LONG, &o->batch, 1, 1000000},
                             {"--threads", CLI_OPT_LONG, &o->threads, 1, 4096},
                             {"--limit-train", CLI_OPT_LONG, &o->limit_train, 1, 100000000},
                             {"--limit-test", CLI_OPT_LONG, &o->limit_test, 1, 100000000},
                             {"--seed", CLI_OPT_SEED, &o->seed, 0, 0}};
  for (int i = 1; i < argc; ++i) {
    if (cli_is_flag(argv, i, "--help") || cli_is_flag(argv, i, "-h")) {
      cli_train_usage(stdout);
      return 1;
    }
    const int m = cli_match_option("train", argc, argv, &i, opts, (int)(sizeof opts / sizeof opts[0]));
    if (m < 0)
      return 2;
    if (m == 0) {
      cli_usage_error("train", argv[i], cli_train_usage);
      return 2;
    }
  }
  if ((o->lr_text != NULL && parse_lr(o->lr_text, &o->lr) != 0) ||
      (o->momentum_text != NULL &&
       parse_unit_float("--momentum", o->momentum_text, &o->momentum) != 0) ||
      (o->weight_decay_text != NULL &&
       parse_unit_float("--weight-decay", o->weight_decay_text, &o->weight_decay) != 0))
    return 2;
  if (parse_schedule(o->schedule_text, o->epochs, &o->schedule) != 0)
    return 2;
  if (o->nesterov && !(o->momentum > 0.0f)) {
    fprintf(stderr, "aihw train: --nesterov needs --momentum > 0 (as torch)\n");
    return 2;
  }
  if (strcmp(o->data, "fashion-mnist") != 0) {
    fprintf(stderr, "aihw train: --data: unknown data set '%s' (known: fashion-mnist)\n",
            o->data);
    return 2;
  }
  return 0;
}

/* ---- training ----------------------------------------------------------------------- */

static void print_json(const models_epoch *results, long epochs) {
  printf("{\"epochs\": [");
  for (long e = 0; e < epochs; ++e)
    printf("%s{\"epoch\": %ld, \"loss\": %.6g, \"test_accuracy\": %.2f, \"time_s\": %.3f}",
           e > 0 ? ", " : "", e + 1, results[e].loss, results[e].test_accuracy,
           results[e].time_s);
  printf("], \"final_test_accuracy\": %.2f}\n", results[epochs - 1].test_accuracy);
}

int cli_train_run(int argc, char **argv) {
  train_options o = {.arch = "mlp",
                     .rpu = "floating-point",
                     .data = "fashion-mnist",
                     .epochs = 1,
                     .batch = 64,
                     .lr = 0.05f,
                     .seed = 1,
                     .device = "cpu",
                     .schedule_text = "constant"};
  int parsed = parse_args(argc, argv, &o);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (strcmp(o.device, "cpu") != 0 && strcmp(o.device, "cuda") != 0) {
    fprintf(stderr, "aihw train: --device %s: must be cpu or cuda\n", o.device);
    return CLI_EXIT_USAGE;
  }
  if (o.threads > 0)
    cli_set_threads((int)o.threads);

  aihw_tile_config config;
  aihw_mapping_params mapping;
  int rc = models_load_rpu("train", o.rpu, o.seed, &config, &mapping);
  if (rc != CLI_EXIT_OK)
    return rc;

  models_split train = {0}, test = {0};
  aihw_module *model = NULL;
  models_epoch *results = NULL;
  rc = models_load_data("train", o.data_dir, o.limit_train, o.limit_test, &train, &test);
  if (rc != CLI_EXIT_OK)
    goto done;
  rc = models_build("train", o.arch, &config, &mapping, train.features, &model);
  if (rc == CLI_EXIT_OK && strcmp(o.device, "cuda") == 0) {
    aihw_status ds = aihw_module_to_cuda(model, 0);
    if (ds != AIHW_OK)
      rc = cli_report_failure("train", "aihw_module_to_cuda", ds);
  }
  if (rc != CLI_EXIT_OK)
    goto done;
  results = calloc((size_t)o.epochs, sizeof *results);
  if (results == NULL) {
    fprintf(stderr, "aihw train: out of memory\n");
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  const char *what = NULL;
  aihw_status s = AIHW_OK;
  if (o.init_path != NULL) {
    s = aihw_module_load_torch(model, o.init_path, 1);
    if (s != AIHW_OK) {
      rc = cli_report_failure("train", "--init", s);
      goto done;
    }
  }
  models_train_options topt;
  memset(&topt, 0, sizeof topt);
  topt.batch = o.batch;
  topt.epochs = o.epochs;
  topt.lr = o.lr;
  topt.seed = o.seed;
  topt.bar = !o.json && isatty(fileno(stdout));
  topt.momentum = o.momentum;
  topt.weight_decay = o.weight_decay;
  topt.nesterov = o.nesterov;
  topt.schedule = o.schedule;
  if (!o.json)
    printf("aihw train: %s (%lld inputs), --rpu %s (%s tiles), %lld training / %lld test "
           "images, batch %ld, lr %g, seed %u, %d threads\n",
           o.arch, (long long)train.features, o.rpu, aihw_tile_kind_name(config.kind),
           (long long)train.n, (long long)test.n, o.batch, (double)o.lr, (unsigned)o.seed,
           cli_max_threads());
  for (long e = 0; e < o.epochs; ++e) {
    s = models_train_epoch(model, &train, &topt, e + 1, &results[e], &what);
    if (s == AIHW_OK)
      s = models_accuracy(model, &test, &results[e].test_accuracy, &what);
    if (s != AIHW_OK) {
      fflush(stdout);
      rc = cli_report_failure("train", what, s);
      goto done;
    }
    if (!o.json) {
      printf("epoch %ld/%ld: loss %.4f, test accuracy %.2f %%, %.1f s (%.0f samples/s)%s",
             e + 1, o.epochs, results[e].loss, results[e].test_accuracy, results[e].time_s,
             (double)train.n / results[e].time_s,
             o.schedule.kind != AIHW_LR_CONSTANT ? "" : "\n");
      if (o.schedule.kind != AIHW_LR_CONSTANT)
        printf(", lr %g\n", (double)results[e].lr);
      fflush(stdout);
    }
  }
  if (o.save_path != NULL) {
    s = aihw_module_save(model, o.save_path);
    if (s != AIHW_OK) {
      rc = cli_report_failure("train", "aihw_module_save", s);
      goto done;
    }
    if (!o.json)
      printf("saved the model to %s\n", o.save_path);
  }
  if (o.json)
    print_json(results, o.epochs);
  else
    printf("final test accuracy: %.2f %%\n", results[o.epochs - 1].test_accuracy);
  rc = CLI_EXIT_OK;
done:
  aihw_module_destroy(model);
  models_split_free(&train);
  models_split_free(&test);
  free(results);
  return rc;
}
