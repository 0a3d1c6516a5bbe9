/* What `aihw train` and `aihw infer` share: the data set (IDX files), the tile
 * configuration of --rpu, the built-in architectures of --arch and test accuracy.
 * Every function that can fail prints "aihw <cmd>: ..." to stderr and returns an exit
 * status (CLI_EXIT_*). */
#ifndef AIHW_TOOLS_MODELS_H
#define AIHW_TOOLS_MODELS_H

#include <stdint.h>

#include "aihw/aihw.h"

#define MODELS_CLASSES 10
#define MODELS_DEFAULT_DATA_DIR "/usr/share/datasets/fashion-mnist"

/* One split of an image classification set: pixels / 255, labels 0..9. */
typedef struct models_split {
  float *x;        /* [n][features] */
  int32_t *labels; /* [n] */
  int64_t n, features;
} models_split;

void models_split_free(models_split *s);

/* Loads the training split (train may be NULL to skip it) and the test split of the IDX
 * files in data_dir (NULL: the Debian package's directory; when it is missing the message
 * says how to install it). limit_*: first N items only (0 = all). */
int models_load_data(const char *cmd, const char *data_dir, long limit_train, long limit_test,
                     models_split *train, models_split *test);

/* --rpu: a preset name (aihw_tile_config_preset; its construction seed becomes `seed`) or
 * an RPU-config JSON file (aihw_rpu_config_from_json: tile configuration plus optional
 * "mapping"); then config->seed = seed. *mapping gets the file's or the defaults. */
int models_load_rpu(const char *cmd, const char *spec, uint32_t seed, aihw_tile_config *config,
                    aihw_mapping_params *mapping);

/* A built-in network by name ("mlp") or a network description file (a name ending in
 * .json or containing '/'; see models_build_json), every analog layer on tiles of
 * `config` with `mapping`; tile ids config->tile_id, +1, ... over every tile in layer
 * order. `in_features` is the data's pixel count. */
int models_build(const char *cmd, const char *arch, const aihw_tile_config *config,
                 const aihw_mapping_params *mapping, int64_t in_features, aihw_module **out);

/* A network from its JSON description (tools/model_json.c): {"input": [C, H, W] | [C, L]
 * | [F], "layers": [{"type": "Linear", "out_features": N, "bias": true}, {"type":
 * "Sigmoid"}, ...]}; input sizes follow from the shape; a layer's "rpu" (preset name)
 * overrides `config` for it. `source` names the text in messages. */
int models_build_json(const char *cmd, const char *json, const char *source,
                      const aihw_tile_config *config, const aihw_mapping_params *mapping,
                      int64_t in_features, aihw_module **out);

/* Names models_build knows, for messages ("mlp, lenet5"). */
const char *models_known_archs(void);

/* Test accuracy in percent (evaluation mode, argmax of the outputs, batches of 1000).
 * Returns AIHW_OK or the failing call's status (*what names it). */
aihw_status models_accuracy(aihw_module *model, const models_split *test, double *accuracy,
                            const char **what);

/* Training by mini-batch SGD (aihwkit's AnalogSGD through aihw_module_step_sgd): mean
 * NLL of the outputs when the network ends in LogSoftmax, else cross-entropy of the
 * logits, `batch` samples per step in an order shuffled per epoch as
 * a function of (seed, epoch) alone. bar: redraw a progress line with '\r' (terminals
 * only), cleared at the end; `label` prefixes it, `epochs` is shown as its total. */
typedef struct models_train_options {
  long batch, epochs;
  float lr;
  uint32_t seed;
  int bar;
  const char *label;
  /* torch SGD for the digital parameters (tiles get lr only) and the epoch's lr */
  float momentum, weight_decay;
  int nesterov;
  aihw_lr_schedule schedule;
} models_train_options;

typedef struct models_epoch {
  double loss, test_accuracy, time_s; /* mean training loss; percent; training seconds */
  float lr;                           /* the epoch's learning rate (schedule) */
} models_epoch;

/* One epoch (numbered from 1); fills loss and time_s. Returns AIHW_OK or the failing
 * call's status (*what names it). */
aihw_status models_train_epoch(aihw_module *model, const models_split *train,
                               const models_train_options *o, long epoch, models_epoch *r,
                               const char **what);

/* A time after programming for tables: "3.6e+03" seconds as "1 h", "1 d", "30 d", "1 y",
 * below a minute in seconds ("0 s", "1 s"). */
void models_format_time(double t, char *out, size_t size);

/* Monotonic clock in seconds. */
double models_now_s(void);

#endif
