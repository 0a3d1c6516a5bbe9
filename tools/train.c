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
#include "core/idx.h"

#define TRAIN_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"
#define TRAIN_CLASSES 10
#define TRAIN_EVAL_BATCH 1000
#define TRAIN_MAX_CONFIG_BYTES (16L << 20)
#define TRAIN_PROGRESS_INTERVAL_S 0.1 /* redraw the bar at most this often */

void cli_train_usage(FILE *out) {
  fprintf(out,
          "usage: aihw train [--arch mlp | lenet5] [--rpu <name | config.json>] [--data fashion-mnist]\n"
          "                  [--data-dir DIR] [--epochs N] [--batch N] [--lr F] [--seed N]\n"
          "                  [--threads N] [--limit-train N] [--limit-test N] [--save FILE]\n"
          "                  [--json]\n"
          "\n"
          "Trains aihwkit's MNIST example network (784-256-128-10, sigmoid, cross-entropy,\n"
          "SGD) on Fashion-MNIST with every layer on tiles of one configuration, and prints\n"
          "the mean training loss and test accuracy of every epoch.\n"
          "\n"
          "  --arch A         network: mlp (784-256-128-10, sigmoid) or lenet5 (Conv2d(1,16,5)\n"
          "                   tanh maxpool2 Conv2d(16,32,5) tanh maxpool2 512-128-10, tanh)\n"
          "  --rpu R          tile configuration: a name aihw_tile_config_preset() knows\n"
          "                   (\"floating-point\", \"analog\", \"inference\",\n"
          "                   \"ConstantStepDevice\", \"ReRamSBPreset\", ...; default\n"
          "                   floating-point) or a JSON file of aihw_tile_config_to_json (a\n"
          "                   name ending in .json or containing '/')\n"
          "  --data D         data set: fashion-mnist (default)\n"
          "  --data-dir DIR   directory with train-images-idx3-ubyte[.gz],\n"
          "                   train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz],\n"
          "                   t10k-labels-idx1-ubyte[.gz] (default %s)\n"
          "  --epochs N       epochs (default 1)\n"
          "  --batch N        mini-batch size (default 64)\n"
          "  --lr F           learning rate (default 0.05)\n"
          "  --seed N         seed of the weights, the tiles' noise and the shuffling\n"
          "                   (default 1)\n"
          "  --threads N      OpenMP and OpenBLAS threads\n"
          "  --limit-train N  train on the first N training images only\n"
          "  --limit-test N   evaluate on the first N test images only\n"
          "  --save FILE      save the trained model (aihw_module_save, safetensors)\n"
          "  --json           one JSON object: {\"epochs\": [{\"epoch\", \"loss\",\n"
          "                   \"test_accuracy\", \"time_s\"}, ...], \"final_test_accuracy\"}\n"
          "                   (accuracies in percent; time_s: training time of the epoch)\n",
          TRAIN_DEFAULT_DATA_DIR);
}

typedef struct train_options {
  const char *arch, *rpu, *data, *data_dir, *save_path;
  long epochs, batch, threads, limit_train, limit_test;
  float lr;
  uint32_t seed;
  int json;
} train_options;

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
  for (int i = 1; i < argc; ++i) {
    const char *value = NULL;
    long v = 0;
    int found;
    if (cli_is_flag(argv, i, "--help") || cli_is_flag(argv, i, "-h")) {
      cli_train_usage(stdout);
      return 1;
    }
    if (cli_is_flag(argv, i, "--json")) {
      o->json = 1;
      continue;
    }
    const char **strings[] = {&o->arch, &o->rpu, &o->data, &o->data_dir, &o->save_path};
    const char *string_names[] = {"--arch", "--rpu", "--data", "--data-dir", "--save"};
    int matched = 0;
    for (int k = 0; k < 5 && !matched; ++k) {
      if ((found = cli_option_value(argc, argv, &i, string_names[k], &value)) != 0) {
        if (found < 0)
          return 2;
        *strings[k] = value;
        matched = 1;
      }
    }
    if (matched)
      continue;
    long *longs[] = {&o->epochs, &o->batch, &o->threads, &o->limit_train, &o->limit_test};
    const char *long_names[] = {"--epochs", "--batch", "--threads", "--limit-train",
                                "--limit-test"};
    const long long_max[] = {100000, 1000000, 4096, 100000000, 100000000};
    for (int k = 0; k < 5 && !matched; ++k) {
      if ((found = cli_option_value(argc, argv, &i, long_names[k], &value)) != 0) {
        if (found < 0 || cli_parse_long("train", long_names[k], value, 1, long_max[k], &v))
          return 2;
        *longs[k] = v;
        matched = 1;
      }
    }
    if (matched)
      continue;
    if ((found = cli_option_value(argc, argv, &i, "--lr", &value)) != 0) {
      if (found < 0 || parse_lr(value, &o->lr) != 0)
        return 2;
      continue;
    }
    if ((found = cli_option_value(argc, argv, &i, "--seed", &value)) != 0) {
      if (found < 0 || cli_parse_long("train", "--seed", value, 0, 4294967295L, &v) != 0)
        return 2;
      o->seed = (uint32_t)v;
      continue;
    }
    cli_usage_error("train", argv[i], cli_train_usage);
    return 2;
  }
  if (strcmp(o->arch, "mlp") != 0 && strcmp(o->arch, "lenet5") != 0) {
    fprintf(stderr, "aihw train: --arch: unknown network '%s' (known: mlp, lenet5)\n",
            o->arch);
    return 2;
  }
  if (strcmp(o->data, "fashion-mnist") != 0) {
    fprintf(stderr, "aihw train: --data: unknown data set '%s' (known: fashion-mnist)\n",
            o->data);
    return 2;
  }
  return 0;
}

/* Fills *config from --rpu and the seed. Returns an exit status. */
static int load_config(const train_options *o, aihw_tile_config *config) {
  if (!cli_names_a_file(o->rpu)) {
    if (aihw_tile_config_preset(o->rpu, config) != AIHW_OK) {
      fprintf(stderr, "aihw train: --rpu: %s\n", aihw_last_error());
      return CLI_EXIT_USAGE;
    }
    /* a named configuration has no seeds of its own: --seed sets them all */
    config->device.construction_seed = o->seed;
  } else {
    char *text = cli_read_text_file("train", "--rpu file", o->rpu, TRAIN_MAX_CONFIG_BYTES);
    if (text == NULL)
      return CLI_EXIT_FAILURE;
    aihw_status s = aihw_tile_config_from_json(text, config);
    free(text);
    if (s != AIHW_OK) {
      fprintf(stderr, "aihw train: --rpu file '%s': %s: %s\n", o->rpu, aihw_status_name(s),
              aihw_last_error());
      return CLI_EXIT_FAILURE;
    }
  }
  config->seed = o->seed;
  return CLI_EXIT_OK;
}

/* ---- data --------------------------------------------------------------------------- */

typedef struct train_split {
  float *x;        /* [n][features], pixels / 255 */
  int32_t *labels; /* [n] */
  int64_t n, features;
} train_split;

static void split_free(train_split *s) {
  free(s->x);
  free(s->labels);
  memset(s, 0, sizeof *s);
}

/* Path of an IDX file in dir: "<name>.gz" if it exists, else "<name>". */
static void idx_path(const char *dir, const char *name, char *out, size_t size) {
  snprintf(out, size, "%s/%s.gz", dir, name);
  if (access(out, F_OK) != 0)
    snprintf(out, size, "%s/%s", dir, name);
}

/* Loads one split (prefix "train" or "t10k"); returns an exit status. */
static int load_split(const char *dir, const char *prefix, long limit, train_split *out) {
  char images_path[4096], labels_path[4096], name[64];
  snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
  idx_path(dir, name, images_path, sizeof images_path);
  snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
  idx_path(dir, name, labels_path, sizeof labels_path);

  aihw_idx_array images = {0}, labels = {0};
  int rc = CLI_EXIT_FAILURE;
  aihw_status s = aihw_idx_read_u8(images_path, 3, limit, &images);
  if (s == AIHW_OK)
    s = aihw_idx_read_u8(labels_path, 1, limit, &labels);
  if (s != AIHW_OK) {
    fprintf(stderr, "aihw train: %s\n", aihw_last_error());
    goto done;
  }
  if (images.dims[0] != labels.dims[0]) {
    fprintf(stderr, "aihw train: '%s' has %lld images but '%s' has %lld labels\n", images_path,
            (long long)images.dims[0], labels_path, (long long)labels.dims[0]);
    goto done;
  }
  out->n = images.dims[0];
  out->features = images.dims[1] * images.dims[2];
  out->x = malloc(sizeof *out->x * (size_t)(out->n * out->features));
  out->labels = malloc(sizeof *out->labels * (size_t)out->n);
  if (out->x == NULL || out->labels == NULL) {
    fprintf(stderr, "aihw train: out of memory for %lld images\n", (long long)out->n);
    split_free(out);
    goto done;
  }
  for (int64_t k = 0; k < out->n * out->features; ++k)
    out->x[k] = (float)images.data[k] / 255.0f;
  for (int64_t k = 0; k < out->n; ++k) {
    if (labels.data[k] >= TRAIN_CLASSES) {
      fprintf(stderr, "aihw train: '%s': label %d of item %lld is not a class 0..%d\n",
              labels_path, labels.data[k], (long long)k, TRAIN_CLASSES - 1);
      split_free(out);
      goto done;
    }
    out->labels[k] = labels.data[k];
  }
  rc = CLI_EXIT_OK;
done:
  free(images.data);
  free(labels.data);
  return rc;
}

/* Loads both splits; a missing default directory says how to install the data. */
static int load_data(const train_options *o, train_split *train, train_split *test) {
  const char *dir = o->data_dir != NULL ? o->data_dir : TRAIN_DEFAULT_DATA_DIR;
  if (o->data_dir == NULL) {
    char probe[512];
    idx_path(dir, "train-images-idx3-ubyte", probe, sizeof probe);
    if (access(probe, R_OK) != 0) {
      fprintf(stderr,
              "aihw train: Fashion-MNIST not found in %s: install Debian's "
              "dataset-fashion-mnist package (sudo apt-get install dataset-fashion-mnist, "
              "or scripts/install-deps.sh), or give --data-dir DIR with the IDX files\n",
              dir);
      return CLI_EXIT_FAILURE;
    }
  }
  int rc = load_split(dir, "train", o->limit_train, train);
  if (rc == CLI_EXIT_OK)
    rc = load_split(dir, "t10k", o->limit_test, test);
  if (rc == CLI_EXIT_OK && train->features != test->features) {
    fprintf(stderr, "aihw train: training images have %lld pixels, test images %lld\n",
            (long long)train->features, (long long)test->features);
    rc = CLI_EXIT_FAILURE;
  }
  return rc;
}

/* ---- model -------------------------------------------------------------------------- */

/* aihwkit's example: in-256-128-10, sigmoid between the layers. */
static aihw_status build_mlp(const aihw_tile_config *base, int64_t in_features,
                             aihw_module **out, const char **what) {
  const int64_t sizes[4] = {in_features, 256, 128, TRAIN_CLASSES};
  aihw_module *seq = NULL;
  *what = "aihw_sequential_create";
  aihw_status s = aihw_sequential_create(&seq);
  for (int layer = 0; layer < 3 && s == AIHW_OK; ++layer) {
    aihw_tile_config config = *base;
    config.tile_id = (uint32_t)layer;
    aihw_module *linear = NULL;
    *what = "aihw_linear_create";
    s = aihw_linear_create(&config, NULL, sizes[layer], sizes[layer + 1], 1, &linear);
    if (s == AIHW_OK) {
      *what = "aihw_sequential_append";
      s = aihw_sequential_append(seq, linear);
    }
    if (s == AIHW_OK && layer < 2) {
      aihw_module *act = NULL;
      *what = "aihw_activation_create";
      s = aihw_activation_create(AIHW_MODULE_SIGMOID, sizes[layer + 1], &act);
      if (s == AIHW_OK) {
        *what = "aihw_sequential_append";
        s = aihw_sequential_append(seq, act);
      }
    }
  }
  if (s != AIHW_OK) {
    aihw_module_destroy(seq);
    return s;
  }
  *out = seq;
  return AIHW_OK;
}

/* aihwkit's LeNet-5 example on 28 x 28 images: Conv2d(1, 16, 5) - Tanh - MaxPool2d(2) -
 * Conv2d(16, 32, 5) - Tanh - MaxPool2d(2) - Flatten - Linear(512, 128) - Tanh -
 * Linear(128, 10), every conv and linear layer on tiles of `base` (tile ids 0..3). */
static aihw_status build_lenet5(const aihw_tile_config *base, aihw_module **out,
                                const char **what) {
  aihw_tile_config config = *base;
  const int64_t k2[2] = {2, 2};
  aihw_module *seq = NULL, *m = NULL;
  *what = "aihw_sequential_create";
  aihw_status s = aihw_sequential_create(&seq);
#define TRAIN_ADD(name, expr)                                                              \
  do {                                                                                     \
    if (s == AIHW_OK) {                                                                    \
      *what = name;                                                                        \
      if ((s = (expr)) == AIHW_OK) {                                                       \
        *what = "aihw_sequential_append";                                                  \
        s = aihw_sequential_append(seq, m);                                                \
      }                                                                                    \
    }                                                                                      \
  } while (0)
  aihw_conv_params p = aihw_conv_params_default(1, 16, 5);
  config.tile_id = 0;
  TRAIN_ADD("aihw_conv2d_create", aihw_conv2d_create(&config, NULL, &p, 28, 28, &m));
  TRAIN_ADD("aihw_activation_create", aihw_activation_create(AIHW_MODULE_TANH, 9216, &m));
  TRAIN_ADD("aihw_pool2d_create",
            aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 16, 24, 24, k2, NULL, NULL, &m));
  p = aihw_conv_params_default(16, 32, 5);
  config.tile_id = 1;
  TRAIN_ADD("aihw_conv2d_create", aihw_conv2d_create(&config, NULL, &p, 12, 12, &m));
  TRAIN_ADD("aihw_activation_create", aihw_activation_create(AIHW_MODULE_TANH, 2048, &m));
  TRAIN_ADD("aihw_pool2d_create",
            aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 32, 8, 8, k2, NULL, NULL, &m));
  TRAIN_ADD("aihw_activation_create", aihw_activation_create(AIHW_MODULE_FLATTEN, 512, &m));
  config.tile_id = 2;
  TRAIN_ADD("aihw_linear_create", aihw_linear_create(&config, NULL, 512, 128, 1, &m));
  TRAIN_ADD("aihw_activation_create", aihw_activation_create(AIHW_MODULE_TANH, 128, &m));
  config.tile_id = 3;
  TRAIN_ADD("aihw_linear_create",
            aihw_linear_create(&config, NULL, 128, TRAIN_CLASSES, 1, &m));
#undef TRAIN_ADD
  if (s != AIHW_OK) {
    aihw_module_destroy(seq);
    return s;
  }
  *out = seq;
  return AIHW_OK;
}

/* ---- training ----------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* order = a permutation of 0..n-1, a function of (seed, epoch) only. */
static void shuffle(int64_t *order, int64_t n, uint32_t seed, long epoch) {
  uint64_t state = ((uint64_t)seed << 32) ^ (uint64_t)epoch ^ 0x5348554646ull; /* "SHUFF" */
  for (int64_t k = 0; k < n; ++k)
    order[k] = k;
  for (int64_t k = n - 1; k > 0; --k) {
    /* modulo bias is below 2^-40 for n < 2^24: irrelevant for an order */
    const int64_t j = (int64_t)(splitmix64(&state) % (uint64_t)(k + 1));
    const int64_t t = order[k];
    order[k] = order[j];
    order[j] = t;
  }
}

typedef struct epoch_result {
  double loss, test_accuracy, time_s;
} epoch_result;

typedef struct train_buffers {
  int64_t *order;
  float *x, *logits, *dlogits;
  int32_t *labels;
} train_buffers;

static void format_duration(double s, char *out, size_t size) {
  if (!isfinite(s) || s < 0)
    snprintf(out, size, "--:--");
  else if (s >= 3600)
    snprintf(out, size, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60),
             (int)fmod(s, 60));
  else
    snprintf(out, size, "%02d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

static void draw_bar(long epoch, long epochs, int64_t done, int64_t total, int64_t batch_k,
                     int64_t batches, double loss, double rate, double eta_s) {
  const int width = 24, filled = (int)((double)width * (double)done / (double)total);
  char bar[32], eta[32];
  for (int k = 0; k < width; ++k)
    bar[k] = k < filled ? '#' : '.';
  bar[width] = '\0';
  format_duration(eta_s, eta, sizeof eta);
  printf("\repoch %ld/%ld [%s] batch %lld/%lld  loss %.4f  %.0f samples/s  ETA %s ", epoch,
         epochs, bar, (long long)batch_k, (long long)batches, loss, rate, eta);
  fflush(stdout);
}

/* One epoch of SGD; returns AIHW_OK or the failing call's status (*what names it). */
static aihw_status train_epoch(aihw_module *model, const train_options *o,
                               const train_split *train, long epoch, train_buffers *b, int bar,
                               epoch_result *r, const char **what) {
  const int64_t n = train->n, f = train->features, batches = (n + o->batch - 1) / o->batch;
  shuffle(b->order, n, o->seed, epoch);
  *what = "aihw_module_set_training";
  aihw_status s = aihw_module_set_training(model, 1);
  double loss_sum = 0.0, last_draw = 0.0;
  const double start = now_s();
  for (int64_t k = 0; k < batches && s == AIHW_OK; ++k) {
    const int64_t first = k * o->batch;
    const int64_t m = first + o->batch <= n ? o->batch : n - first;
    for (int64_t i = 0; i < m; ++i) {
      const int64_t item = b->order[first + i];
      memcpy(b->x + i * f, train->x + item * f, sizeof *b->x * (size_t)f);
      b->labels[i] = train->labels[item];
    }
    float loss = 0.0f;
    *what = "aihw_module_forward";
    s = aihw_module_forward(model, b->x, m, f, b->logits, TRAIN_CLASSES);
    if (s == AIHW_OK) {
      *what = "aihw_loss_cross_entropy";
      s = aihw_loss_cross_entropy(b->logits, b->labels, m, TRAIN_CLASSES, &loss, b->dlogits);
    }
    if (s == AIHW_OK) {
      *what = "aihw_module_backward";
      s = aihw_module_backward(model, b->dlogits, m, TRAIN_CLASSES, NULL, f);
    }
    if (s == AIHW_OK) {
      *what = "aihw_module_step";
      s = aihw_module_step(model, o->lr);
    }
    loss_sum += (double)loss * (double)m;
    if (bar && s == AIHW_OK) {
      const double t = now_s(), elapsed = t - start;
      if (t - last_draw >= TRAIN_PROGRESS_INTERVAL_S || k + 1 == batches) {
        const int64_t done = first + m;
        const double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
        const double eta = rate > 0 ? (double)(n - done) / rate : NAN;
        draw_bar(epoch, o->epochs, done, n, k + 1, batches, loss_sum / (double)done, rate, eta);
        last_draw = t;
      }
    }
  }
  r->time_s = now_s() - start;
  r->loss = loss_sum / (double)n;
  return s;
}

/* Test accuracy in percent (evaluation mode, argmax of the logits). */
static aihw_status evaluate(aihw_module *model, const train_split *test, train_buffers *b,
                            double *accuracy, const char **what) {
  *what = "aihw_module_set_training";
  aihw_status s = aihw_module_set_training(model, 0);
  int64_t correct = 0;
  for (int64_t first = 0; first < test->n && s == AIHW_OK; first += TRAIN_EVAL_BATCH) {
    const int64_t m = first + TRAIN_EVAL_BATCH <= test->n ? TRAIN_EVAL_BATCH : test->n - first;
    *what = "aihw_module_forward";
    s = aihw_module_forward(model, test->x + first * test->features, m, test->features,
                            b->logits, TRAIN_CLASSES);
    for (int64_t i = 0; i < m && s == AIHW_OK; ++i) {
      const float *row = b->logits + i * TRAIN_CLASSES;
      int best = 0;
      for (int c = 1; c < TRAIN_CLASSES; ++c)
        if (row[c] > row[best])
          best = c;
      correct += best == test->labels[first + i];
    }
  }
  *accuracy = 100.0 * (double)correct / (double)test->n;
  return s;
}

static void print_json(const epoch_result *results, long epochs) {
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
                     .seed = 1};
  int parsed = parse_args(argc, argv, &o);
  if (parsed == 1)
    return CLI_EXIT_OK;
  if (parsed != 0)
    return CLI_EXIT_USAGE;
  if (o.threads > 0)
    cli_set_threads((int)o.threads);

  aihw_tile_config config;
  int rc = load_config(&o, &config);
  if (rc != CLI_EXIT_OK)
    return rc;

  train_split train = {0}, test = {0};
  train_buffers b = {0};
  aihw_module *model = NULL;
  epoch_result *results = NULL;
  rc = load_data(&o, &train, &test);
  if (rc != CLI_EXIT_OK)
    goto done;

  const char *what = NULL;
  const int lenet = strcmp(o.arch, "lenet5") == 0;
  if (lenet && train.features != 28 * 28) {
    fprintf(stderr, "aihw train: --arch lenet5 needs 28 x 28 images; the data have %lld "
                    "pixels per image\n",
            (long long)train.features);
    rc = CLI_EXIT_FAILURE;
    goto done;
  }
  aihw_status s = lenet ? build_lenet5(&config, &model, &what)
                        : build_mlp(&config, train.features, &model, &what);
  if (s != AIHW_OK) {
    rc = cli_report_failure("train", what, s);
    goto done;
  }
  const int64_t logits_rows = o.batch > TRAIN_EVAL_BATCH ? o.batch : TRAIN_EVAL_BATCH;
  b.order = malloc(sizeof *b.order * (size_t)train.n);
  b.x = malloc(sizeof *b.x * (size_t)(o.batch * train.features));
  b.labels = malloc(sizeof *b.labels * (size_t)o.batch);
  b.logits = malloc(sizeof *b.logits * (size_t)(logits_rows * TRAIN_CLASSES));
  b.dlogits = malloc(sizeof *b.dlogits * (size_t)(o.batch * TRAIN_CLASSES));
  results = calloc((size_t)o.epochs, sizeof *results);
  if (b.order == NULL || b.x == NULL || b.labels == NULL || b.logits == NULL ||
      b.dlogits == NULL || results == NULL) {
    fprintf(stderr, "aihw train: out of memory for the training buffers\n");
    rc = CLI_EXIT_FAILURE;
    goto done;
  }

  const int bar = !o.json && isatty(fileno(stdout));
  if (!o.json) {
    if (lenet)
      printf("aihw train: lenet5 conv(1,16,5)-pool-conv(16,32,5)-pool-512-128-%d (tanh)",
             TRAIN_CLASSES);
    else
      printf("aihw train: mlp %lld-256-128-%d (sigmoid)", (long long)train.features,
             TRAIN_CLASSES);
    printf(", --rpu %s (%s tiles), %lld training / %lld test images, batch %ld, lr %g, seed "
           "%u, %d threads\n",
           o.rpu, aihw_tile_kind_name(config.kind), (long long)train.n, (long long)test.n,
           o.batch, (double)o.lr, (unsigned)o.seed, cli_max_threads());
  }
  for (long e = 0; e < o.epochs; ++e) {
    s = train_epoch(model, &o, &train, e + 1, &b, bar, &results[e], &what);
    if (s == AIHW_OK)
      s = evaluate(model, &test, &b, &results[e].test_accuracy, &what);
    if (bar)
      printf("\r\033[K"); /* clear the bar line before the epoch's summary */
    if (s != AIHW_OK) {
      fflush(stdout);
      rc = cli_report_failure("train", what, s);
      goto done;
    }
    if (!o.json) {
      printf("epoch %ld/%ld: loss %.4f, test accuracy %.2f %%, %.1f s (%.0f samples/s)\n",
             e + 1, o.epochs, results[e].loss, results[e].test_accuracy, results[e].time_s,
             (double)train.n / results[e].time_s);
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
  split_free(&train);
  split_free(&test);
  free(b.order);
  free(b.x);
  free(b.labels);
  free(b.logits);
  free(b.dlogits);
  free(results);
  return rc;
}
