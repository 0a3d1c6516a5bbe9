/* End-to-end statistics against aihwkit: the MLP 784-256-128-10 (sigmoid, LogSoftmax,
 * NLL, SGD lr 0.05, batch 64) trained on all of Fashion-MNIST with ConstantStep tiles,
 * issue 5's configuration. aihwkit 1.1.0 trained it with seeds 1-3 for 2 epochs
 * (tests/data/aihwkit/training_mlp.json, scripts/aihwkit/crosscheck_training.py); this
 * test trains it with `aihw train` (the real command, one thread) for seeds 1-3 and
 * compares, per epoch, the mean over seeds of the training loss and of the test accuracy.
 *
 * Tolerance: the two means differ by chance with standard error
 * se = sqrt(s_a^2 / 3 + s_o^2 / 3), s_a and s_o the seed-to-seed standard deviations
 * (sample std of 3); we accept |diff| <= 4 se + a floor (loss 0.01, accuracy 1 point) for
 * the case that three seeds happen to agree closely. The pulsed MLP is still on its
 * initial plateau's steep exit after one epoch, where a different update rule (e.g. a
 * lost factor in the update management, or bit trains of the wrong length) shifts the
 * loss by far more than that. Needs the data set (Debian's dataset-fashion-mnist): exits
 * 77 (skipped) when it is not installed. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <unistd.h>

#include "test_util.h"

#define SEEDS 3
#define EPOCHS 2
#define DATA_DIR "/usr/share/datasets/fashion-mnist"

typedef struct run_stats {
  double loss[EPOCHS], accuracy[EPOCHS];
} run_stats;

static char *read_stream(FILE *f) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf != NULL && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (len + 1 == cap) {
      char *bigger = realloc(buf, cap *= 2);
      if (bigger == NULL)
        free(buf);
      buf = bigger;
    }
  }
  if (buf != NULL)
    buf[len] = '\0';
  return buf;
}

/* Fills r from the {"epochs": [{"loss", "test_accuracy"}, ...]} of a JSON text; 1 if ok. */
static int parse_epochs(const cJSON *epochs, const char *loss_key, run_stats *r) {
  if (!cJSON_IsArray(epochs) || cJSON_GetArraySize(epochs) < EPOCHS)
    return 0;
  for (int e = 0; e < EPOCHS; ++e) {
    const cJSON *ep = cJSON_GetArrayItem(epochs, e);
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(ep, loss_key);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(ep, "test_accuracy");
    if (!cJSON_IsNumber(l) || !cJSON_IsNumber(a))
      return 0;
    r->loss[e] = l->valuedouble;
    r->accuracy[e] = a->valuedouble;
  }
  return 1;
}

static int train_ours(int seed, run_stats *r) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "'%s' train --rpu ConstantStepDevice --epochs %d --seed %d --threads 1 --json",
           AIHW_CLI_PATH, EPOCHS, seed);
  FILE *p = popen(cmd, "r");
  if (p == NULL)
    return 0;
  char *text = read_stream(p);
  const int status = pclose(p);
  int ok = 0;
  if (text != NULL && status == 0) {
    cJSON *root = cJSON_Parse(text);
    ok = parse_epochs(cJSON_GetObjectItemCaseSensitive(root, "epochs"), "loss", r);
    cJSON_Delete(root);
  }
  if (!ok)
    fprintf(stderr, "  %s: exit status %d, output: %s\n", cmd, status, text ? text : "");
  free(text);
  return ok;
}

static void mean_std(const double *v, int n, double *mean, double *std) {
  double s = 0.0, q = 0.0;
  for (int k = 0; k < n; ++k)
    s += v[k];
  *mean = s / n;
  for (int k = 0; k < n; ++k)
    q += (v[k] - *mean) * (v[k] - *mean);
  *std = sqrt(q / (n - 1));
}

static void training_curve_matches_aihwkit(void) {
  FILE *f = fopen(AIHW_TEST_DATA_DIR "/aihwkit/training_mlp.json", "rb");
  CHECK(f != NULL);
  if (f == NULL)
    return;
  char *text = read_stream(f);
  fclose(f);
  cJSON *root = cJSON_Parse(text);
  free(text);
  const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "constant_step");
  CHECK(cJSON_GetArraySize(runs) == SEEDS);
  run_stats theirs[SEEDS], ours[SEEDS];
  for (int s = 0; s < SEEDS; ++s)
    CHECK(parse_epochs(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(runs, s), "epochs"),
                       "loss", &theirs[s]));
  cJSON_Delete(root);
  for (int s = 0; s < SEEDS; ++s)
    if (!train_ours(s + 1, &ours[s])) {
      CHECK(!"aihw train failed");
      return;
    }
  for (int e = 0; e < EPOCHS; ++e) {
    double v_a[SEEDS], v_o[SEEDS];
    for (int what = 0; what < 2; ++what) {
      for (int s = 0; s < SEEDS; ++s) {
        v_a[s] = what == 0 ? theirs[s].loss[e] : theirs[s].accuracy[e];
        v_o[s] = what == 0 ? ours[s].loss[e] : ours[s].accuracy[e];
      }
      double m_a, s_a, m_o, s_o;
      mean_std(v_a, SEEDS, &m_a, &s_a);
      mean_std(v_o, SEEDS, &m_o, &s_o);
      const double se = sqrt(s_a * s_a / SEEDS + s_o * s_o / SEEDS);
      const double tol = 4.0 * se + (what == 0 ? 0.01 : 1.0);
      fprintf(stderr, "  epoch %d %-8s aihwkit %.4f +- %.4f, aihw %.4f +- %.4f, tolerance %.4f\n",
              e + 1, what == 0 ? "loss" : "accuracy", m_a, s_a, m_o, s_o, tol);
      CHECK_NEAR(m_o, m_a, tol);
    }
  }
}

int main(void) {
  if (access(DATA_DIR "/t10k-images-idx3-ubyte.gz", R_OK) != 0 &&
      access(DATA_DIR "/t10k-images-idx3-ubyte", R_OK) != 0) {
    fprintf(stderr, "skipped: Fashion-MNIST is not installed in " DATA_DIR "\n");
    return 77;
  }
  test_current_ = "training_curve_matches_aihwkit";
  training_curve_matches_aihwkit();
  fprintf(stderr, "%s %s\n", test_failures_ ? "FAIL" : "ok  ", test_current_);
  return test_failures_ != 0;
}
