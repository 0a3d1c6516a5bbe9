/* PyTorch parameter files and conversion (src/nn/torch.c): parameters written by torch
 * (tests/data/torch, made by scripts/aihwkit/make_torch_fixtures.py) load into the same
 * architecture and give torch's outputs; save -> load round trips; strict/non-strict
 * names; bad tensors change nothing; aihw_module_convert copies weights to another tile
 * kind. */
#define _POSIX_C_SOURCE 200809L /* mkstemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "core/safetensors.h"
#include "test_util.h"

static void data_path(const char *name, char *out, size_t size) {
  snprintf(out, size, "%s/torch/%s", AIHW_TEST_DATA_DIR, name);
}

/* Linear(6,5) -> Sigmoid -> Linear(5,3) on tiles of `kind`. */
static aihw_module *small_mlp(aihw_tile_kind kind, uint32_t seed) {
  aihw_tile_config c = aihw_tile_config_default(kind);
  c.seed = seed;
  aihw_module *seq = NULL, *l0 = NULL, *act = NULL, *l2 = NULL;
  CHECK_OK(aihw_sequential_create(&seq));
  CHECK_OK(aihw_linear_create(&c, NULL, 6, 5, 1, &l0));
  c.tile_id = 1;
  CHECK_OK(aihw_activation_create(AIHW_MODULE_SIGMOID, 5, &act));
  CHECK_OK(aihw_linear_create(&c, NULL, 5, 3, 1, &l2));
  CHECK_OK(aihw_sequential_append(seq, l0));
  CHECK_OK(aihw_sequential_append(seq, act));
  CHECK_OK(aihw_sequential_append(seq, l2));
  return seq;
}

static void get_layer(aihw_module *seq, int index, float *w, float *b) {
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(seq, index), w, b, 1));
}

static void torch_parameters_give_torchs_outputs(void) {
  const char *files[] = {"mlp_small.safetensors", "mlp_small_f16.safetensors",
                         "mlp_small_bf16.safetensors"};
  char path[512];
  data_path("mlp_small_io.safetensors", path, sizeof path);
  aihw_st_dict *io = NULL;
  CHECK_OK(aihw_st_read_file(path, &io));
  const float *x = NULL, *y = NULL;
  aihw_st_tensor xi, yi;
  CHECK_OK(aihw_st_dict_get_f32(io, "x", &x, &xi));
  CHECK_OK(aihw_st_dict_get_f32(io, "y", &y, &yi));
  CHECK(xi.shape[0] == 4 && xi.shape[1] == 6 && yi.shape[1] == 3);
  for (int f = 0; f < 3; ++f) {
    aihw_module *m = small_mlp(AIHW_TILE_FLOATING_POINT, 3);
    data_path(files[f], path, sizeof path);
    CHECK_OK(aihw_module_load_torch(m, path, 1));
    float out[12];
    CHECK_OK(aihw_module_forward(m, x, 4, 6, out, 3));
    /* F32: the same products up to summation order (a few ulp); F16/BF16 parameters are
     * rounded copies: 1e-2 and 5e-2 of these O(1) outputs */
    const float tol = f == 0 ? 1e-6f : (f == 1 ? 1e-2f : 5e-2f);
    for (int k = 0; k < 12; ++k)
      CHECK_NEAR(out[k], y[k], tol);
    aihw_module_destroy(m);
  }
  aihw_st_dict_destroy(io);
}

static void save_then_load_round_trips_exactly(void) {
  aihw_module *a = small_mlp(AIHW_TILE_FLOATING_POINT, 1);
  aihw_module *b = small_mlp(AIHW_TILE_FLOATING_POINT, 2); /* other initial weights */
  char path[] = "/tmp/aihw_test_torch_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK_OK(aihw_module_save_torch(a, path));
  CHECK_OK(aihw_module_load_torch(b, path, 1));
  for (int layer = 0; layer <= 2; layer += 2) {
    float wa[30], ba[5], wb[30], bb[5];
    get_layer(a, layer, wa, ba);
    get_layer(b, layer, wb, bb);
    const int n = layer == 0 ? 30 : 15, nb = layer == 0 ? 5 : 3;
    CHECK(memcmp(wa, wb, sizeof(float) * (size_t)n) == 0);
    CHECK(memcmp(ba, bb, sizeof(float) * (size_t)nb) == 0);
  }
  /* the file carries torch's names and shapes */
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  CHECK(aihw_st_dict_count(d) == 4);
  aihw_st_tensor t;
  CHECK_OK(aihw_st_dict_get(d, "2.weight", &t));
  CHECK(t.ndim == 2 && t.shape[0] == 3 && t.shape[1] == 5 && t.dtype == AIHW_ST_F32);
  CHECK(aihw_st_dict_contains(d, "0.bias") && !aihw_st_dict_contains(d, "1.weight"));
  aihw_st_dict_destroy(d);
  remove(path);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

static void write_dict(const char *path, const char *const *names, const size_t shapes[][2],
                       const size_t *ndims, int n, aihw_st_dtype dtype, float poison) {
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  for (int k = 0; k < n; ++k) {
    float values[64];
    for (int j = 0; j < 64; ++j)
      values[j] = 0.01f * (float)j;
    values[1] = poison;
    CHECK_OK(aihw_st_dict_add(d, names[k], dtype, shapes[k], ndims[k],
                              dtype == AIHW_ST_F32 ? values : NULL));
  }
  CHECK_OK(aihw_st_write_file(d, path));
  aihw_st_dict_destroy(d);
}

static void bad_files_change_nothing(void) {
  aihw_module *m = small_mlp(AIHW_TILE_FLOATING_POINT, 1);
  float before[30], after[30];
  get_layer(m, 0, before, NULL);
  char path[] = "/tmp/aihw_test_torch_bad_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  const char *names[] = {"0.weight", "0.bias", "2.weight", "2.bias", "5.weight"};
  const size_t shapes[][2] = {{5, 6}, {5, 0}, {3, 5}, {3, 0}, {1, 1}};
  const size_t ndims[] = {2, 1, 2, 1, 2};
  /* missing 2.bias and an unexpected 5.weight: strict names both */
  const char *n2[] = {"0.weight", "0.bias", "2.weight", "5.weight"};
  const size_t s2[][2] = {{5, 6}, {5, 0}, {3, 5}, {1, 1}};
  const size_t d2[] = {2, 1, 2, 2};
  write_dict(path, n2, s2, d2, 4, AIHW_ST_F32, 0.5f);
  CHECK_STATUS(aihw_module_load_torch(m, path, 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'2.bias'");
  CHECK_ERROR_MENTIONS("'5.weight'");
  get_layer(m, 0, after, NULL);
  CHECK(memcmp(before, after, sizeof before) == 0);
  /* non-strict: present tensors load, the rest is kept or ignored */
  float b2_before[3], b2_after[3], w2[15];
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(m, 2), w2, b2_before, 1));
  CHECK_OK(aihw_module_load_torch(m, path, 0));
  get_layer(m, 0, after, NULL);
  CHECK(after[1] == 0.5f && after[2] == 0.02f);
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(m, 2), w2, b2_after, 1));
  CHECK(memcmp(b2_before, b2_after, sizeof b2_before) == 0);
  memcpy(before, after, sizeof before);
  /* wrong shape, NaN, wrong dtype: errors in both modes, nothing changes */
  const size_t bad_shape[][2] = {{6, 5}, {5, 0}, {3, 5}, {3, 0}};
  write_dict(path, names, bad_shape, ndims, 4, AIHW_ST_F32, 0.25f);
  CHECK_STATUS(aihw_module_load_torch(m, path, 0), AIHW_ERR_SHAPE);
  CHECK_ERROR_MENTIONS("0.weight");
  write_dict(path, names, shapes, ndims, 4, AIHW_ST_F32, NAN);
  CHECK_STATUS(aihw_module_load_torch(m, path, 1), AIHW_ERR_NOT_FINITE);
  CHECK_ERROR_MENTIONS("element 1");
  write_dict(path, names, shapes, ndims, 4, AIHW_ST_I32, 0.0f);
  CHECK_STATUS(aihw_module_load_torch(m, path, 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("I32");
  get_layer(m, 0, after, NULL);
  CHECK(memcmp(before, after, sizeof before) == 0);
  /* a file that is not safetensors */
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  fputs("PK\003\004 not a safetensors file", f);
  fclose(f);
  CHECK(aihw_module_load_torch(m, path, 1) != AIHW_OK);
  remove(path);
  CHECK_STATUS(aihw_module_load_torch(m, "/nonexistent/w.safetensors", 1), AIHW_ERR_IO);
  CHECK_STATUS(aihw_module_load_torch(m, path, 2), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_module_load_torch(NULL, path, 1), AIHW_ERR_INVALID_ARGUMENT);
  aihw_module_destroy(m);
}

static void convert_copies_weights_to_another_kind(void) {
  aihw_module *fp = small_mlp(AIHW_TILE_FLOATING_POINT, 9);
  aihw_tile_config inf = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  inf.seed = 77;
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_input_size = 4; /* the first layer (6 inputs) becomes a grid of 2 tiles */
  aihw_module *an = NULL;
  CHECK_OK(aihw_module_convert(fp, &inf, &mp, &an));
  CHECK(aihw_module_child_count(an) == 3);
  int64_t in_splits = 0, out_splits = 0;
  CHECK_OK(aihw_linear_tile_grid(aihw_module_child(an, 0), &in_splits, &out_splits));
  CHECK(in_splits == 2 && out_splits == 1);
  aihw_tile_config got;
  CHECK_OK(aihw_tile_get_config(aihw_linear_tile(aihw_module_child(an, 2), 0, 0), &got));
  CHECK(got.kind == AIHW_TILE_INFERENCE && got.seed == 77u && got.tile_id == 2u); /* layer 0 took ids 0 and 1 */
  for (int layer = 0; layer <= 2; layer += 2) {
    float wa[30], ba[5], wb[30], bb[5];
    get_layer(fp, layer, wa, ba);
    get_layer(an, layer, wb, bb);
    const int n = layer == 0 ? 30 : 15;
    CHECK(memcmp(wa, wb, sizeof(float) * (size_t)n) == 0);
  }
  /* and it can be programmed and drifted */
  CHECK_OK(aihw_module_drift_to(an, 3600.0f));
  aihw_tile_config bad = inf;
  bad.forward.out_noise = -1.0f;
  aihw_module *none = NULL;
  CHECK(aihw_module_convert(fp, &bad, NULL, &none) != AIHW_OK);
  CHECK(none == NULL);
  aihw_module_destroy(an);
  aihw_module_destroy(fp);
}

TEST_MAIN(TEST(torch_parameters_give_torchs_outputs), TEST(save_then_load_round_trips_exactly),
          TEST(bad_files_change_nothing), TEST(convert_copies_weights_to_another_kind))
