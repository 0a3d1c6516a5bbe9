/* State files of networks with convolutions and pooling (nn.h aihw_module_save / load /
 * load_new): a network of Conv2d (groups, split grids), MaxPool2d, Conv1d (analog bias),
 * AvgPool2d and Linear on ConstantStep tiles is rebuilt from the file alone and continues
 * training bit-identically; tensors are named per group; another geometry is refused
 * naming the field. */
#include <stdio.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"
#include "test_util.h"

static float urand(uint32_t *state) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  return (float)(x >> 8) * 0x1p-23f - 1.0f;
}

static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t s = seed;
  for (int64_t k = 0; k < n; ++k)
    v[k] = scale * urand(&s);
}

enum { IN = 2 * 6 * 6, OUT = 3, B = 3 };

/* Conv2d(2, 4, 3, padding 1, groups 2; 2 tiles per group) - Tanh - MaxPool2d(2) -
 * Conv1d(4, 6, 3, padding 1, analog bias) over length 9 - AvgPool2d(6 x 3 x 3, kernel 2,
 * stride 1) - Flatten - Linear(24, 3). `groups` changes the first layer (for mismatches). */
static aihw_module *make_net(int64_t groups) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 23;
  c.device.dw_min_dtod = 0.3f;
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_output_size = 1;
  aihw_module *net = NULL, *m = NULL;
  CHECK_OK(aihw_sequential_create(&net));
  aihw_conv_params p = aihw_conv_params_default(2, 4, 3);
  p.padding[0] = p.padding[1] = 1;
  p.groups = groups;
  CHECK_OK(aihw_conv2d_create(&c, &mp, &p, 6, 6, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_TANH, 144, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  const int64_t k2[2] = {2, 2}, s1[2] = {1, 1};
  CHECK_OK(aihw_pool2d_create(AIHW_MODULE_MAXPOOL2D, 4, 6, 6, k2, NULL, NULL, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  c.tile_id = 10;
  mp = aihw_mapping_params_default();
  mp.digital_bias = 0;
  p = aihw_conv_params_default(4, 6, 3);
  p.padding[0] = 1;
  CHECK_OK(aihw_conv1d_create(&c, &mp, &p, 9, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_pool2d_create(AIHW_MODULE_AVGPOOL2D, 6, 3, 3, k2, s1, NULL, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_FLATTEN, 24, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  c.tile_id = 11;
  CHECK_OK(aihw_linear_create(&c, NULL, 24, OUT, 1, &m));
  CHECK_OK(aihw_sequential_append(net, m));
  return net;
}

static void train_step(aihw_module *m, uint32_t step, float *y) {
  float x[B * IN], target[B * OUT], dy[B * OUT], loss = 0.0f;
  fill(x, B * IN, 100u + step, 1.0f);
  fill(target, B * OUT, 200u + step, 0.5f);
  CHECK_OK(aihw_module_forward(m, x, B, IN, y, OUT));
  CHECK_OK(aihw_loss_mse(y, target, B, OUT, &loss, dy));
  CHECK_OK(aihw_module_backward(m, dy, B, OUT, NULL, IN));
  CHECK_OK(aihw_module_step(m, 0.1f));
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

static const char *temp_path(const char *name) {
  static char buf[256];
  snprintf(buf, sizeof buf, "/tmp/aihw_test_conv_state_%d_%s.safetensors", (int)getpid(),
           name);
  return buf;
}

static void conv_network_continues_identically(void) {
  aihw_module *a = make_net(2), *b = NULL, *fresh = make_net(2);
  float ya[B * OUT], yb[B * OUT], yc[B * OUT];
  CHECK_OK(aihw_module_set_training(a, 1));
  for (uint32_t s = 0; s < 3; ++s)
    train_step(a, s, ya);
  const char *path = temp_path("continue");
  CHECK_OK(aihw_module_save(a, path));
  CHECK_OK(aihw_module_load_new(path, &b));
  CHECK_OK(aihw_module_load(fresh, path, 1));
  if (b == NULL)
    return;
  CHECK(aihw_module_child_count(b) == 7);
  CHECK(aihw_module_kind_of(aihw_module_child(b, 0)) == AIHW_MODULE_CONV2D);
  CHECK(aihw_module_kind_of(aihw_module_child(b, 2)) == AIHW_MODULE_MAXPOOL2D);
  CHECK(aihw_module_kind_of(aihw_module_child(b, 3)) == AIHW_MODULE_CONV1D);
  CHECK(aihw_module_kind_of(aihw_module_child(b, 4)) == AIHW_MODULE_AVGPOOL2D);
  aihw_conv_params p;
  CHECK_OK(aihw_conv_geometry(aihw_module_child(b, 0), &p, NULL, NULL, NULL, NULL));
  CHECK(p.groups == 2 && p.padding[1] == 1);
  int64_t r = 0, k = 0;
  CHECK_OK(aihw_linear_tile_grid(aihw_conv_group(aihw_module_child(b, 0), 1), &r, &k));
  CHECK(r == 1 && k == 2);
  CHECK(aihw_tile_is_training(aihw_linear_tile(aihw_conv_group(aihw_module_child(b, 0), 1), 0,
                                               1)) == 1);
  CHECK(same_state(a, b) && same_state(a, fresh));
  for (uint32_t s = 3; s < 8; ++s) {
    train_step(a, s, ya);
    train_step(b, s, yb);
    train_step(fresh, s, yc);
    CHECK(memcmp(ya, yb, sizeof ya) == 0 && memcmp(ya, yc, sizeof ya) == 0);
  }
  CHECK(same_state(a, b) && same_state(a, fresh));
  /* tensor names: per group, then the LINEAR's names */
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  CHECK(aihw_st_dict_contains(d, "0.groups.1.bias"));
  CHECK(aihw_st_dict_contains(d, "0.groups.1.tiles.0.1.weights"));
  CHECK(aihw_st_dict_contains(d, "3.groups.0.tiles.0.0.weights"));
  CHECK(!aihw_st_dict_contains(d, "3.groups.0.bias")); /* analog bias column */
  aihw_st_dict_destroy(d);
  remove(path);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
  aihw_module_destroy(fresh);
}

static void other_geometry_is_refused(void) {
  aihw_module *a = make_net(2), *other = make_net(1);
  const char *path = temp_path("geometry");
  CHECK_OK(aihw_module_save(a, path));
  size_t before_n = 0;
  void *before = state_bytes(other, &before_n);
  CHECK_STATUS(aihw_module_load(other, path, 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("children[0].groups");
  size_t after_n = 0;
  void *after = state_bytes(other, &after_n);
  CHECK(before_n == after_n && memcmp(before, after, before_n) == 0);
  aihw_free(before);
  aihw_free(after);
  /* pending gradients inside a group are refused, naming the group */
  float x[B * IN], y[B * OUT];
  fill(x, B * IN, 1, 1.0f);
  CHECK_OK(aihw_module_forward(a, x, B, IN, y, OUT));
  CHECK_OK(aihw_module_backward(a, y, B, OUT, NULL, IN));
  CHECK_STATUS(aihw_module_save(a, path), AIHW_ERR_STATE);
  CHECK_ERROR_MENTIONS("0.groups.0.");
  remove(path);
  aihw_module_destroy(a);
  aihw_module_destroy(other);
}

TEST_MAIN(TEST(conv_network_continues_identically), TEST(other_geometry_is_refused))
