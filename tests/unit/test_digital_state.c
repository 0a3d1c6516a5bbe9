/* State files of networks with digital layers (nn.h aihw_module_save / _load / _load_new;
 * src/nn/digital_state.c): save -> load -> continue training is bit-identical with
 * momentum buffers, BatchNorm running statistics and dropout counters; momentum buffers are
 * optional tensors (absent = no buffer yet, as torch's optimizer state); architecture
 * differences and bad tensors are errors that change nothing. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"
#include "test_util.h"

enum { B = 6, IN = 5, HID = 8, OUT = 3 };

static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t s = seed * 2654435761u + 7u;
  for (int64_t k = 0; k < n; ++k) {
    s = s * 1664525u + 1013904223u;
    v[k] = scale * ((float)(s >> 8) * 0x1p-24f * 2.0f - 1.0f);
  }
}

static const char *temp_path(const char *name) {
  static char buf[2][256];
  static int next = 0;
  char *p = buf[next++ % 2];
  snprintf(p, sizeof buf[0], "/tmp/aihw_test_digital_state_%d_%s.safetensors", (int)getpid(),
           name);
  return p;
}

/* DigitalLinear(5, 8) - BatchNorm1d(8) - ReLU - Dropout(8, 0.25) - Linear(8, 3) on an
 * ANALOG tile (digital bias) - LogSoftmax(3), in training mode. */
static aihw_module *make_net(float bn_eps) {
  aihw_module *net = NULL, *m = NULL;
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 31;
  aihw_batchnorm_params bp = aihw_batchnorm_params_default();
  bp.eps = bn_eps;
  CHECK_OK(aihw_sequential_create(&net));
  CHECK_OK(aihw_digital_linear_create(IN, HID, 1, 31, 7, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_batchnorm1d_create(HID, 1, &bp, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_RELU, HID, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_dropout_create(HID, 0.25f, 31, 8, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_linear_create(&c, NULL, HID, OUT, 1, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_LOGSOFTMAX, OUT, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_module_set_training(net, 1));
  return net;
}

static aihw_sgd_params momentum_sgd(void) {
  aihw_sgd_params p = aihw_sgd_params_default(0.05f);
  p.momentum = 0.9f;
  p.nesterov = 1;
  p.weight_decay = 1e-3f;
  return p;
}

/* One iteration on batch `step` with NLL loss; y gets the log-probabilities. */
static void train_step(aihw_module *m, uint32_t step, const aihw_sgd_params *sgd, float *y) {
  float x[B * IN], dy[B * OUT], loss = 0.0f;
  int32_t labels[B];
  fill(x, B * IN, 300u + step, 1.0f);
  for (int b = 0; b < B; ++b)
    labels[b] = (int32_t)((step + (uint32_t)b) % OUT);
  CHECK_OK(aihw_module_forward(m, x, B, IN, y, OUT));
  CHECK_OK(aihw_loss_nll(y, labels, B, OUT, &loss, dy));
  CHECK_OK(aihw_module_backward(m, dy, B, OUT, NULL, IN));
  CHECK_OK(aihw_module_step_sgd(m, sgd));
}

static void *state_bytes(const aihw_module *m, size_t *size) {
  aihw_st_dict *d = NULL;
  void *bytes = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_module_state_export(m, d));
  CHECK_OK(aihw_st_write_memory(d, &bytes, size));
  aihw_st_dict_destroy(d);
  return bytes;
}

static int same_state(const aihw_module *a, const aihw_module *b) {
  size_t na = 0, nb = 0;
  void *ba = state_bytes(a, &na), *bb = state_bytes(b, &nb);
  const int same = ba != NULL && bb != NULL && na == nb && memcmp(ba, bb, na) == 0;
  aihw_free(ba);
  aihw_free(bb);
  return same;
}

static void save_load_continues_identically_with_momentum_and_dropout(void) {
  const aihw_sgd_params sgd = momentum_sgd();
  aihw_module *a = make_net(1e-5f), *fresh = make_net(1e-5f), *b = NULL;
  float ya[B * OUT], yb[B * OUT], yc[B * OUT];
  for (uint32_t s = 0; s < 3; ++s)
    train_step(a, s, &sgd, ya);
  const char *path = temp_path("continue");
  CHECK_OK(aihw_module_save(a, path));
  CHECK_OK(aihw_module_load_new(path, &b));
  CHECK_OK(aihw_module_load(fresh, path, 1));
  if (b == NULL)
    return;
  CHECK(aihw_module_kind_of(aihw_module_child(b, 1)) == AIHW_MODULE_BATCHNORM1D);
  CHECK(aihw_module_kind_of(aihw_module_child(b, 3)) == AIHW_MODULE_DROPOUT);
  CHECK(aihw_module_kind_of(aihw_module_child(b, 5)) == AIHW_MODULE_LOGSOFTMAX);
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  const char *names[] = {
      "0.weight",        "0.weight.momentum", "0.bias.momentum",       "1.weight",
      "1.bias.momentum", "1.running_var",     "1.num_batches_tracked", "3.step_counter",
      "4.bias.momentum"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
    CHECK(aihw_st_dict_contains(d, names[k]));
  aihw_st_dict_destroy(d);
  CHECK(same_state(a, b) && same_state(a, fresh));
  for (uint32_t s = 3; s < 7; ++s) {
    train_step(a, s, &sgd, ya);
    train_step(b, s, &sgd, yb);
    train_step(fresh, s, &sgd, yc);
    CHECK(memcmp(ya, yb, sizeof ya) == 0 && memcmp(ya, yc, sizeof ya) == 0);
  }
  CHECK(same_state(a, b) && same_state(a, fresh));
  int64_t tracked = 0;
  CHECK_OK(aihw_batchnorm_get_running_stats(aihw_module_child(b, 1), NULL, NULL, &tracked));
  CHECK(tracked == 7);
  remove(path);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
  aihw_module_destroy(fresh);
}

/* A file saved without momentum buffers (plain SGD so far) loaded into a module that has
 * them: the buffers become invalid, so both continue identically with momentum (the next
 * momentum step copies the gradient into the buffer, as torch's first momentum step). */
static void absent_momentum_resets_the_buffers(void) {
  const aihw_sgd_params mom = momentum_sgd(), plain = aihw_sgd_params_default(0.05f);
  aihw_module *a = make_net(1e-5f), *b = make_net(1e-5f);
  float ya[B * OUT], yb[B * OUT];
  for (uint32_t s = 0; s < 2; ++s) {
    train_step(a, s, &mom, ya);
    train_step(b, s, &plain, yb);
  }
  const char *path = temp_path("plain");
  CHECK_OK(aihw_module_save(b, path));
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  CHECK(!aihw_st_dict_contains(d, "0.weight.momentum"));
  aihw_st_dict_destroy(d);
  CHECK_OK(aihw_module_load(a, path, 1));
  CHECK(same_state(a, b));
  for (uint32_t s = 2; s < 4; ++s) {
    train_step(a, s, &mom, ya);
    train_step(b, s, &mom, yb);
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
  }
  remove(path);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

static void architecture_differences_and_bad_tensors_change_nothing(void) {
  const aihw_sgd_params sgd = momentum_sgd();
  aihw_module *a = make_net(1e-5f), *other = make_net(1e-3f);
  float y[B * OUT];
  train_step(a, 0, &sgd, y);
  const char *path = temp_path("arch");
  CHECK_OK(aihw_module_save(a, path));
  CHECK_STATUS(aihw_module_load(other, path, 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("children[1].eps");
  /* a negative running variance and a dropout counter below 0: FORMAT, nothing changes */
  aihw_st_dict *src = NULL;
  CHECK_OK(aihw_st_read_file(path, &src));
  const char *bad_names[2] = {"1.running_var", "3.step_counter"};
  for (int t = 0; t < 2; ++t) {
    aihw_st_dict *dst = NULL;
    CHECK_OK(aihw_st_dict_create(&dst));
    for (size_t k = 0; k < aihw_st_dict_metadata_count(src); ++k) {
      const char *key = NULL, *value = NULL;
      CHECK_OK(aihw_st_dict_metadata_at(src, k, &key, &value));
      CHECK_OK(aihw_st_dict_set_metadata(dst, key, value));
    }
    for (size_t k = 0; k < aihw_st_dict_count(src); ++k) {
      aihw_st_tensor tensor;
      CHECK_OK(aihw_st_dict_at(src, k, &tensor));
      if (strcmp(tensor.name, bad_names[t]) == 0) {
        const float neg[HID] = {1, 1, -0.5f, 1, 1, 1, 1, 1};
        const int64_t minus = -1;
        CHECK_OK(aihw_st_dict_add(dst, tensor.name, tensor.dtype, tensor.shape, tensor.ndim,
                                  t == 0 ? (const void *)neg : (const void *)&minus));
      } else {
        CHECK_OK(aihw_st_dict_add(dst, tensor.name, tensor.dtype, tensor.shape, tensor.ndim,
                                  tensor.data));
      }
    }
    size_t before_n = 0, after_n = 0;
    void *before = state_bytes(a, &before_n);
    CHECK_STATUS(aihw_module_state_import(a, dst, 1), AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS(bad_names[t]);
    void *after = state_bytes(a, &after_n);
    CHECK(before_n == after_n && memcmp(before, after, before_n) == 0);
    aihw_free(before);
    aihw_free(after);
    aihw_st_dict_destroy(dst);
  }
  aihw_st_dict_destroy(src);
  remove(path);
  aihw_module_destroy(a);
  aihw_module_destroy(other);
}

static void save_refuses_pending_digital_gradients(void) {
  aihw_module *a = make_net(1e-5f);
  float x[B * IN], y[B * OUT], dy[B * OUT];
  fill(x, B * IN, 1, 1.0f);
  fill(dy, B * OUT, 2, 0.1f);
  CHECK_OK(aihw_module_forward(a, x, B, IN, y, OUT));
  CHECK_OK(aihw_module_backward(a, dy, B, OUT, NULL, IN));
  CHECK_STATUS(aihw_module_save(a, temp_path("pending")), AIHW_ERR_STATE);
  CHECK_ERROR_MENTIONS("DIGITAL_LINEAR");
  aihw_module_destroy(a);
}

/* save_torch names the digital layers' tensors as torch's state_dict (num_batches_tracked
 * as I64); load_torch into a fresh network reproduces every parameter and running
 * statistic, so both evaluate identically; a negative running variance changes nothing. */
static void torch_files_carry_digital_layers(void) {
  const aihw_sgd_params sgd = momentum_sgd();
  aihw_module *a = make_net(1e-5f), *b = make_net(1e-5f);
  float ya[B * OUT], x[B * IN];
  for (uint32_t s = 0; s < 2; ++s)
    train_step(a, s, &sgd, ya);
  const char *path = temp_path("torch");
  CHECK_OK(aihw_module_save_torch(a, path));
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  aihw_st_tensor t;
  CHECK_OK(aihw_st_dict_get(d, "1.num_batches_tracked", &t));
  CHECK(t.dtype == AIHW_ST_I64 && t.ndim == 0 && *(const int64_t *)t.data == 2);
  CHECK_OK(aihw_st_dict_get(d, "0.weight", &t));
  CHECK(t.ndim == 2 && t.shape[0] == HID && t.shape[1] == IN);
  const char *names[] = {"0.bias",        "1.weight", "1.bias", "1.running_mean",
                         "1.running_var", "4.weight", "4.bias"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k)
    CHECK(aihw_st_dict_contains(d, names[k]));
  CHECK(aihw_st_dict_count(d) == 9);
  aihw_st_dict_destroy(d);
  CHECK_OK(aihw_module_load_torch(b, path, 1));
  int64_t tracked = 0;
  CHECK_OK(aihw_batchnorm_get_running_stats(aihw_module_child(b, 1), NULL, NULL, &tracked));
  CHECK(tracked == 2);
  CHECK_OK(aihw_module_set_training(a, 0));
  CHECK_OK(aihw_module_set_training(b, 0));
  fill(x, B * IN, 77, 1.0f);
  /* the analog tiles read with their own noise streams: compare the digital front end */
  aihw_module *fa = aihw_module_child(a, 0), *fb = aihw_module_child(b, 0);
  float ha[B * HID], hb[B * HID], za[B * HID], zb[B * HID];
  CHECK_OK(aihw_module_forward(fa, x, B, IN, ha, HID));
  CHECK_OK(aihw_module_forward(fb, x, B, IN, hb, HID));
  CHECK_OK(aihw_module_forward(aihw_module_child(a, 1), ha, B, HID, za, HID));
  CHECK_OK(aihw_module_forward(aihw_module_child(b, 1), hb, B, HID, zb, HID));
  CHECK(memcmp(za, zb, sizeof za) == 0);
  /* a negative running variance: INVALID_ARGUMENT naming it, b unchanged */
  aihw_st_dict *bad = NULL;
  CHECK_OK(aihw_st_dict_create(&bad));
  const float neg[HID] = {1, 1, 1, -1, 1, 1, 1, 1};
  const size_t shape[1] = {HID};
  CHECK_OK(aihw_st_dict_add(bad, "1.running_var", AIHW_ST_F32, shape, 1, neg));
  CHECK_OK(aihw_st_dict_set_metadata(bad, "format", "pt"));
  const char *bad_path = temp_path("torch_bad");
  CHECK_OK(aihw_st_write_file(bad, bad_path));
  aihw_st_dict_destroy(bad);
  CHECK_STATUS(aihw_module_load_torch(b, bad_path, 0), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("1.running_var");
  float var[HID];
  CHECK_OK(aihw_batchnorm_get_running_stats(aihw_module_child(b, 1), NULL, var, NULL));
  CHECK(var[3] > 0.0f);
  /* conversion to other tiles keeps the digital layers' parameters and statistics */
  aihw_tile_config fp = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  aihw_module *conv = NULL;
  CHECK_OK(aihw_module_convert(a, &fp, NULL, &conv));
  float wa[HID * IN], wc[HID * IN], ma[HID], mc[HID];
  CHECK_OK(aihw_digital_linear_get_weights(aihw_module_child(a, 0), wa, NULL));
  CHECK_OK(aihw_digital_linear_get_weights(aihw_module_child(conv, 0), wc, NULL));
  CHECK(memcmp(wa, wc, sizeof wa) == 0);
  CHECK_OK(aihw_batchnorm_get_running_stats(aihw_module_child(a, 1), ma, NULL, NULL));
  CHECK_OK(aihw_batchnorm_get_running_stats(aihw_module_child(conv, 1), mc, NULL, NULL));
  CHECK(memcmp(ma, mc, sizeof ma) == 0);
  aihw_module_destroy(conv);
  remove(path);
  remove(bad_path);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

TEST_MAIN(TEST(save_load_continues_identically_with_momentum_and_dropout),
          TEST(absent_momentum_resets_the_buffers),
          TEST(architecture_differences_and_bad_tensors_change_nothing),
          TEST(save_refuses_pending_digital_gradients), TEST(torch_files_carry_digital_layers))
