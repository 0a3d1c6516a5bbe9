/* Data, tile configurations and built-in networks of `aihw train` and `aihw infer`
 * (models.h). */
#define _POSIX_C_SOURCE 200809L /* access, clock_gettime */
#include "models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core/error.h" /* AIHW_TRY */
#include "core/idx.h"

#define MODELS_MAX_CONFIG_BYTES (16L << 20)
#define MODELS_EVAL_BATCH 1000

/* ---- data --------------------------------------------------------------------------- */

void models_split_free(models_split *s) {
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

/* Loads one split (prefix "train" or "t10k"). */
static int load_split(const char *cmd, const char *dir, const char *prefix, long limit,
                      models_split *out) {
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
    fprintf(stderr, "aihw %s: %s\n", cmd, aihw_last_error());
    goto done;
  }
  if (images.dims[0] != labels.dims[0]) {
    fprintf(stderr, "aihw %s: '%s' has %lld images but '%s' has %lld labels\n", cmd,
            images_path, (long long)images.dims[0], labels_path, (long long)labels.dims[0]);
    goto done;
  }
  out->n = images.dims[0];
  out->features = images.dims[1] * images.dims[2];
  out->x = malloc(sizeof *out->x * (size_t)(out->n * out->features));
  out->labels = malloc(sizeof *out->labels * (size_t)out->n);
  if (out->x == NULL || out->labels == NULL) {
    fprintf(stderr, "aihw %s: out of memory for %lld images\n", cmd, (long long)out->n);
    models_split_free(out);
    goto done;
  }
  for (int64_t k = 0; k < out->n * out->features; ++k)
    out->x[k] = (float)images.data[k] / 255.0f;
  for (int64_t k = 0; k < out->n; ++k) {
    if (labels.data[k] >= MODELS_CLASSES) {
      fprintf(stderr, "aihw %s: '%s': label %d of item %lld is not a class 0..%d\n", cmd,
              labels_path, labels.data[k], (long long)k, MODELS_CLASSES - 1);
      models_split_free(out);
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

int models_load_data(const char *cmd, const char *data_dir, long limit_train, long limit_test,
                     models_split *train, models_split *test) {
  const char *dir = data_dir != NULL ? data_dir : MODELS_DEFAULT_DATA_DIR;
  if (data_dir == NULL) {
    char probe[512];
    idx_path(dir, "t10k-images-idx3-ubyte", probe, sizeof probe);
    if (access(probe, R_OK) != 0) {
      fprintf(stderr,
              "aihw %s: Fashion-MNIST not found in %s: install Debian's "
              "dataset-fashion-mnist package (sudo apt-get install dataset-fashion-mnist, "
              "or scripts/install-deps.sh), or give --data-dir DIR with the IDX files\n",
              cmd, dir);
      return CLI_EXIT_FAILURE;
    }
  }
  int rc = train != NULL ? load_split(cmd, dir, "train", limit_train, train) : CLI_EXIT_OK;
  if (rc == CLI_EXIT_OK)
    rc = load_split(cmd, dir, "t10k", limit_test, test);
  if (rc == CLI_EXIT_OK && train != NULL && train->features != test->features) {
    fprintf(stderr, "aihw %s: training images have %lld pixels, test images %lld\n", cmd,
            (long long)train->features, (long long)test->features);
    models_split_free(train);
    models_split_free(test);
    rc = CLI_EXIT_FAILURE;
  }
  return rc;
}

/* ---- tile configuration ---------------------------------------------------------------- */

int models_load_rpu(const char *cmd, const char *spec, uint32_t seed, aihw_tile_config *config,
                    aihw_mapping_params *mapping) {
  *mapping = aihw_mapping_params_default();
  if (!cli_names_a_file(spec)) {
    if (aihw_rpu_config_preset(spec, config, mapping) != AIHW_OK) {
      fprintf(stderr, "aihw %s: --rpu: %s\n", cmd, aihw_last_error());
      return CLI_EXIT_USAGE;
    }
    /* a named configuration has no seeds of its own: --seed sets them all (compound
     * sub-devices too) */
    config->device.construction_seed = seed;
    for (int k = 0; k < config->compound.n_devices; ++k)
      config->compound.devices[k].construction_seed = seed;
  } else {
    char *text = cli_read_text_file(cmd, "--rpu file", spec, MODELS_MAX_CONFIG_BYTES);
    if (text == NULL)
      return CLI_EXIT_FAILURE;
    aihw_status s = aihw_rpu_config_from_json(text, config, mapping);
    free(text);
    if (s != AIHW_OK) {
      fprintf(stderr, "aihw %s: --rpu file '%s': %s: %s\n", cmd, spec, aihw_status_name(s),
              aihw_last_error());
      return CLI_EXIT_FAILURE;
    }
  }
  config->seed = seed;
  return CLI_EXIT_OK;
}

/* ---- networks ------------------------------------------------------------------------- */

const char *models_known_archs(void) { return "mlp, lenet5, or a network description .json"; }

/* aihwkit's MNIST example: in-256-128-10, sigmoid between the layers, log-softmax
 * outputs (torch's indices: parameters at 0, 2, 4). */
static const char MLP_JSON[] =
    "{\"input\": [784], \"layers\": ["
    "{\"type\": \"Linear\", \"out_features\": 256}, {\"type\": \"Sigmoid\"},"
    "{\"type\": \"Linear\", \"out_features\": 128}, {\"type\": \"Sigmoid\"},"
    "{\"type\": \"Linear\", \"out_features\": 10}, {\"type\": \"LogSoftmax\"}]}";

/* LeNet-5 as in aihwkit's examples (issue 6's exact layers; torch's Sequential indices
 * 0, 3, 7, 9 carry the parameters, 10 is the LogSoftmax). */
static const char LENET5_JSON[] =
    "{\"input\": [1, 28, 28], \"layers\": ["
    "{\"type\": \"Conv2d\", \"out_channels\": 16, \"kernel_size\": 5},"
    "{\"type\": \"Tanh\"}, {\"type\": \"MaxPool2d\", \"kernel_size\": 2},"
    "{\"type\": \"Conv2d\", \"out_channels\": 32, \"kernel_size\": 5},"
    "{\"type\": \"Tanh\"}, {\"type\": \"MaxPool2d\", \"kernel_size\": 2},"
    "{\"type\": \"Flatten\"}, {\"type\": \"Linear\", \"out_features\": 128},"
    "{\"type\": \"Tanh\"}, {\"type\": \"Linear\", \"out_features\": 10},"
    "{\"type\": \"LogSoftmax\"}]}";

int models_build(const char *cmd, const char *arch, const aihw_tile_config *config,
                 const aihw_mapping_params *mapping, int64_t in_features, aihw_module **out) {
  if (strcmp(arch, "mlp") == 0)
    return models_build_json(cmd, MLP_JSON, "mlp", config, mapping, in_features, out);
  if (strcmp(arch, "lenet5") == 0)
    return models_build_json(cmd, LENET5_JSON, "lenet5", config, mapping, in_features, out);
  if (!cli_names_a_file(arch)) {
    fprintf(stderr, "aihw %s: --arch: unknown network '%s' (known: %s)\n", cmd, arch,
            models_known_archs());
    return CLI_EXIT_USAGE;
  }
  char *text = cli_read_text_file(cmd, "--arch file", arch, MODELS_MAX_CONFIG_BYTES);
  if (text == NULL)
    return CLI_EXIT_FAILURE;
  int rc = models_build_json(cmd, text, arch, config, mapping, in_features, out);
  free(text);
  return rc;
}

/* ---- evaluation ------------------------------------------------------------------------ */

aihw_status models_accuracy(aihw_module *model, const models_split *test, double *accuracy,
                            const char **what) {
  const int64_t classes = aihw_module_out_features(model);
  float *out = malloc(sizeof *out * (size_t)(MODELS_EVAL_BATCH * classes));
  *what = "malloc";
  if (out == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  *what = "aihw_module_set_training";
  aihw_status s = aihw_module_set_training(model, 0);
  int64_t correct = 0;
  for (int64_t first = 0; first < test->n && s == AIHW_OK; first += MODELS_EVAL_BATCH) {
    const int64_t m =
        first + MODELS_EVAL_BATCH <= test->n ? MODELS_EVAL_BATCH : test->n - first;
    *what = "aihw_module_forward";
    s = aihw_module_forward(model, test->x + first * test->features, m, test->features, out,
                            classes);
    for (int64_t i = 0; i < m && s == AIHW_OK; ++i) {
      const float *row = out + i * classes;
      int64_t best = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (row[c] > row[best])
          best = c;
      correct += best == test->labels[first + i];
    }
  }
  free(out);
  *accuracy = 100.0 * (double)correct / (double)test->n;
  return s;
}

/* ---- training ------------------------------------------------------------------------- */

double models_now_s(void) {
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

static void format_duration(double s, char *out, size_t size) {
  if (!isfinite(s) || s < 0)
    snprintf(out, size, "--:--");
  else if (s >= 3600)
    snprintf(out, size, "%d:%02d:%02d", (int)(s / 3600), (int)fmod(s / 60, 60),
             (int)fmod(s, 60));
  else
    snprintf(out, size, "%02d:%02d", (int)(s / 60), (int)fmod(s, 60));
}

static void draw_bar(const models_train_options *o, long epoch, int64_t done, int64_t total,
                     int64_t batch_k, int64_t batches, double loss, double rate, double eta_s) {
  const int width = 24, filled = (int)((double)width * (double)done / (double)total);
  char bar[32], eta[32];
  for (int k = 0; k < width; ++k)
    bar[k] = k < filled ? '#' : '.';
  bar[width] = '\0';
  format_duration(eta_s, eta, sizeof eta);
  printf("\r%sepoch %ld/%ld [%s] batch %lld/%lld  loss %.4f  %.0f samples/s  ETA %s ",
         o->label != NULL ? o->label : "", epoch, o->epochs, bar, (long long)batch_k,
         (long long)batches, loss, rate, eta);
  fflush(stdout);
}

aihw_status models_train_epoch(aihw_module *model, const models_split *train,
                               const models_train_options *o, long epoch, models_epoch *r,
                               const char **what) {
  const int64_t n = train->n, f = train->features, batches = (n + o->batch - 1) / o->batch;
  const int64_t classes = aihw_module_out_features(model);
  int64_t *order = malloc(sizeof *order * (size_t)n);
  float *x = malloc(sizeof *x * (size_t)(o->batch * f));
  float *logits = malloc(sizeof *logits * (size_t)(o->batch * classes));
  float *dlogits = malloc(sizeof *dlogits * (size_t)(o->batch * classes));
  int32_t *labels = malloc(sizeof *labels * (size_t)o->batch);
  aihw_status s = AIHW_OK;
  *what = "malloc";
  if (order == NULL || x == NULL || logits == NULL || dlogits == NULL || labels == NULL)
    s = AIHW_ERR_OUT_OF_MEMORY;
  /* a network ending in LogSoftmax gives log-probabilities: NLL, as torch's examples */
  const int n_children = aihw_module_child_count(model);
  const int log_probs =
      n_children > 0 && aihw_module_kind_of(aihw_module_child(model, n_children - 1)) ==
                            AIHW_MODULE_LOGSOFTMAX;
  aihw_sgd_params sgd = aihw_sgd_params_default(o->lr);
  sgd.momentum = o->momentum;
  sgd.weight_decay = o->weight_decay;
  sgd.nesterov = o->nesterov;
  if (s == AIHW_OK) {
    *what = "learning rate schedule";
    s = aihw_lr_at(&o->schedule, o->lr, epoch - 1, &sgd.lr);
  }
  if (s == AIHW_OK) {
    *what = "SGD parameters";
    s = aihw_sgd_params_validate(&sgd);
  }
  r->lr = sgd.lr;
  if (s == AIHW_OK) {
    shuffle(order, n, o->seed, epoch);
    *what = "aihw_module_set_training";
    s = aihw_module_set_training(model, 1);
  }
  double loss_sum = 0.0, last_draw = 0.0;
  const double start = models_now_s();
  for (int64_t k = 0; k < batches && s == AIHW_OK; ++k) {
    const int64_t first = k * o->batch;
    const int64_t m = first + o->batch <= n ? o->batch : n - first;
    for (int64_t i = 0; i < m; ++i) {
      const int64_t item = order[first + i];
      memcpy(x + i * f, train->x + item * f, sizeof *x * (size_t)f);
      labels[i] = train->labels[item];
    }
    float loss = 0.0f;
    *what = "aihw_module_forward";
    s = aihw_module_forward(model, x, m, f, logits, classes);
    if (s == AIHW_OK && log_probs) {
      *what = "aihw_loss_nll";
      s = aihw_loss_nll(logits, labels, m, classes, &loss, dlogits);
    } else if (s == AIHW_OK) {
      *what = "aihw_loss_cross_entropy";
      s = aihw_loss_cross_entropy(logits, labels, m, classes, &loss, dlogits);
    }
    if (s == AIHW_OK) {
      *what = "aihw_module_backward";
      s = aihw_module_backward(model, dlogits, m, classes, NULL, f);
    }
    if (s == AIHW_OK) {
      *what = "aihw_module_step_sgd";
      s = aihw_module_step_sgd(model, &sgd);
    }
    loss_sum += (double)loss * (double)m;
    if (o->bar && s == AIHW_OK) {
      const double t = models_now_s(), elapsed = t - start;
      if (t - last_draw >= 0.1 || k + 1 == batches) {
        const int64_t done = first + m;
        const double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
        const double eta = rate > 0 ? (double)(n - done) / rate : NAN;
        draw_bar(o, epoch, done, n, k + 1, batches, loss_sum / (double)done, rate, eta);
        last_draw = t;
      }
    }
  }
  if (o->bar)
    printf("\r\033[K"); /* clear the bar line */
  r->time_s = models_now_s() - start;
  r->loss = loss_sum / (double)n;
  free(order);
  free(x);
  free(logits);
  free(dlogits);
  free(labels);
  return s;
}

void models_format_time(double t, char *out, size_t size) {
  static const struct {
    double s;
    const char *unit;
  } units[] = {{31536000.0, "y"}, {86400.0, "d"}, {3600.0, "h"}, {60.0, "min"}};
  for (size_t k = 0; k < sizeof units / sizeof units[0]; ++k)
    if (t >= units[k].s) {
      snprintf(out, size, "%.3g %s", t / units[k].s, units[k].unit);
      return;
    }
  snprintf(out, size, "%.3g s", t);
}
