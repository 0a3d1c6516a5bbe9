/* The bad-input catalogue (issue 9, item 4; docs/errors.md): one row per invalid input of
 * a public function, with the status it must produce and a piece of text its message must
 * contain. Each call runs on a fresh fixture (tiles, a module, files) and, where it acts on
 * an object, the object's complete exported state must be byte-identical before and after
 * the failed call ("bad input gets a clear error and changes nothing", random-stream
 * counters included); output buffers must be untouched where the header promises it.
 *
 *   test_bad_inputs                  runs the catalogue
 *   test_bad_inputs --markdown       prints it as the table of docs/errors.md
 *
 * A further check keeps docs/errors.md in step: every row's call and input appear there. */
#define _XOPEN_SOURCE 700 /* getpid */

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "core/idx.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"
#include "test_util.h"
#include "tile/tile_internal.h"

enum { OUT = 3, IN = 4, BATCH = 2 };

typedef struct fx {
  aihw_tile *tile;      /* ANALOG, ConstantStep, weights set */
  aihw_tile *inference; /* INFERENCE, evaluation mode */
  aihw_module *module;  /* Linear(IN, OUT) with bias, ANALOG */
  float x[BATCH * IN], d[BATCH * OUT], y[BATCH * OUT], z[BATCH * IN], w[OUT * IN];
  char path[256];       /* scratch file */
  char saved[256];      /* the module, saved */
} fx;

static void fx_init(fx *f) {
  memset(f, 0, sizeof *f);
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 3;
  CHECK_OK(aihw_tile_create(&c, OUT, IN, &f->tile));
  for (int k = 0; k < OUT * IN; ++k)
    f->w[k] = 0.05f * (float)(k % 7) - 0.15f;
  CHECK_OK(aihw_tile_set_weights(f->tile, f->w, OUT, IN));
  aihw_tile_config ci = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  CHECK_OK(aihw_tile_create(&ci, OUT, IN, &f->inference));
  CHECK_OK(aihw_tile_set_weights(f->inference, f->w, OUT, IN));
  CHECK_OK(aihw_linear_create(&c, NULL, IN, OUT, 1, &f->module));
  for (int k = 0; k < BATCH * IN; ++k)
    f->x[k] = 0.1f * (float)k - 0.3f;
  for (int k = 0; k < BATCH * OUT; ++k)
    f->d[k] = 0.05f * (float)k - 0.1f;
  for (int k = 0; k < BATCH * OUT; ++k)
    f->y[k] = 42.0f;
  for (int k = 0; k < BATCH * IN; ++k)
    f->z[k] = 42.0f;
  snprintf(f->path, sizeof f->path, "/tmp/aihw_test_bad_%d.bin", (int)getpid());
  snprintf(f->saved, sizeof f->saved, "/tmp/aihw_test_bad_%d_saved.safetensors",
           (int)getpid());
  CHECK_OK(aihw_module_save(f->module, f->saved));
}

static void fx_free(fx *f) {
  aihw_tile_destroy(f->tile);
  aihw_tile_destroy(f->inference);
  aihw_module_destroy(f->module);
  remove(f->path);
  remove(f->saved);
}

static void write_file(const char *path, const void *bytes, size_t n) {
  FILE *fp = fopen(path, "wb");
  CHECK(fp != NULL);
  if (fp != NULL) {
    CHECK(n == 0 || fwrite(bytes, 1, n, fp) == n);
    fclose(fp);
  }
}

/* A safetensors file of `header` (JSON) followed by `data_bytes` zero bytes. */
static void write_safetensors(const char *path, const char *header, size_t data_bytes) {
  const size_t h = strlen(header), n = 8 + h + data_bytes;
  unsigned char *b = calloc(n, 1);
  for (int k = 0; k < 8; ++k)
    b[k] = (unsigned char)((uint64_t)h >> (8 * k));
  memcpy(b + 8, header, h);
  write_file(path, b, n);
  free(b);
}

/* The saved module with its metadata value `key` replaced. */
static void write_module_with(const fx *f, const char *key, const char *value) {
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(f->saved, &d));
  CHECK_OK(aihw_st_dict_set_metadata(d, key, value));
  CHECK_OK(aihw_st_write_file(d, f->path));
  aihw_st_dict_destroy(d);
}

static const float NaN_ = NAN;
static const float Inf_ = INFINITY;

/* ---- the rows -------------------------------------------------------------------------- */

enum target { NONE, TILE, INFERENCE, MODULE };

typedef struct row {
  const char *call, *input;
  aihw_status status;
  const char *mentions;
  enum target target;
  aihw_status (*run)(fx *f);
  int keeps_y; /* 1: y (forward output) must be untouched */
} row;

#define RUN(name, ...)                                                                   \
  static aihw_status name(fx *f) {                                                       \
    (void)f;                                                                             \
    __VA_ARGS__                                                                          \
  }

/* tiles */
RUN(tile_create_null_config, aihw_tile *t = NULL; return aihw_tile_create(NULL, 3, 4, &t);)
RUN(tile_create_zero_rows, aihw_tile *t = NULL;
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
    return aihw_tile_create(&c, 0, 4, &t);)
RUN(tile_create_overflowing_size, aihw_tile *t = NULL;
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
    return aihw_tile_create(&c, INT64_C(1) << 40, INT64_C(1) << 40, &t);)
RUN(tile_create_nan_config, aihw_tile *t = NULL;
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG); c.forward.out_noise = NAN;
    return aihw_tile_create(&c, 3, 4, &t);)
RUN(tile_create_inf_dw_min, aihw_tile *t = NULL;
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG); c.device.dw_min = INFINITY;
    return aihw_tile_create(&c, 3, 4, &t);)
RUN(tile_set_weights_nan, f->w[5] = NaN_; return aihw_tile_set_weights(f->tile, f->w, OUT, IN);)
RUN(tile_set_weights_inf, f->w[0] = -Inf_; return aihw_tile_set_weights(f->tile, f->w, OUT, IN);)
RUN(tile_set_weights_shape, return aihw_tile_set_weights(f->tile, f->w, OUT + 1, IN);)
RUN(tile_forward_nan, f->x[3] = NaN_;
    return aihw_tile_forward(f->tile, f->x, BATCH, IN, f->y, OUT);)
RUN(tile_forward_inf, f->x[0] = Inf_;
    return aihw_tile_forward(f->tile, f->x, BATCH, IN, f->y, OUT);)
RUN(tile_forward_batch0, return aihw_tile_forward(f->tile, f->x, 0, IN, f->y, OUT);)
RUN(tile_forward_huge_batch,
    return aihw_tile_forward(f->tile, f->x, INT64_MAX / 2, IN, f->y, OUT);)
RUN(tile_forward_shape, return aihw_tile_forward(f->tile, f->x, BATCH, IN + 1, f->y, OUT);)
RUN(tile_forward_null, return aihw_tile_forward(f->tile, NULL, BATCH, IN, f->y, OUT);)
RUN(tile_backward_nan, f->d[1] = NaN_;
    return aihw_tile_backward(f->tile, f->d, BATCH, OUT, f->z, IN);)
RUN(tile_update_lr_nan,
    return aihw_tile_update(f->tile, f->x, BATCH, IN, f->d, OUT, NaN_);)
RUN(tile_update_lr_inf,
    return aihw_tile_update(f->tile, f->x, BATCH, IN, f->d, OUT, Inf_);)
RUN(tile_update_lr_negative,
    return aihw_tile_update(f->tile, f->x, BATCH, IN, f->d, OUT, -0.1f);)
RUN(tile_update_x_nan, f->x[2] = NaN_;
    return aihw_tile_update(f->tile, f->x, BATCH, IN, f->d, OUT, 0.1f);)
RUN(tile_update_d_inf, f->d[2] = -Inf_;
    return aihw_tile_update(f->tile, f->x, BATCH, IN, f->d, OUT, 0.1f);)
RUN(tile_update_overflow, aihw_tile *t = NULL;
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
    CHECK_OK(aihw_tile_create(&c, OUT, IN, &t)); f->x[0] = 1e30f; f->d[0] = 1e30f;
    aihw_status s = aihw_tile_update(t, f->x, BATCH, IN, f->d, OUT, 1.0f);
    float w[OUT * IN]; CHECK_OK(aihw_tile_get_weights(t, w, OUT, IN));
    for (int k = 0; k < OUT * IN; ++k) CHECK(w[k] == 0.0f);
    aihw_tile_destroy(t); return s;)
RUN(tile_set_alpha_nan, return aihw_tile_set_alpha(f->tile, NaN_, 1.0f);)
RUN(tile_set_hidden_nan, float v[OUT * IN]; int h = 0;
    CHECK_OK(aihw_tile_hidden_index(f->tile, "dwmin_up", &h));
    CHECK_OK(aihw_tile_get_hidden(f->tile, h, v, OUT, IN)); v[4] = NaN_;
    return aihw_tile_set_hidden(f->tile, h, v, OUT, IN);)
RUN(tile_set_hidden_crossed_bounds, float v[OUT * IN]; int h = 0;
    CHECK_OK(aihw_tile_hidden_index(f->tile, "min_bound", &h));
    CHECK_OK(aihw_tile_get_hidden(f->tile, h, v, OUT, IN)); v[0] = 1e6f;
    return aihw_tile_set_hidden(f->tile, h, v, OUT, IN);)
RUN(tile_decay_nan, return aihw_tile_decay_weights(f->tile, NaN_);)
RUN(tile_clip_nan, return aihw_tile_clip_weights(f->tile, NaN_);)
RUN(tile_drift_nan, return aihw_tile_drift_to(f->inference, NaN_);)
RUN(tile_drift_negative, return aihw_tile_drift_to(f->inference, -1.0f);)
RUN(tile_program_analog, return aihw_tile_program_weights(f->tile);)

/* modules */
RUN(linear_create_zero, aihw_module *m = NULL;
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
    return aihw_linear_create(&c, NULL, 0, 3, 1, &m);)
RUN(linear_create_overflowing, aihw_module *m = NULL;
    aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
    return aihw_linear_create(&c, NULL, INT64_C(1) << 40, INT64_C(1) << 40, 1, &m);)
RUN(module_forward_nan, f->x[7] = NaN_;
    return aihw_module_forward(f->module, f->x, BATCH, IN, f->y, OUT);)
RUN(module_forward_shape, return aihw_module_forward(f->module, f->x, BATCH, IN, f->y, OUT + 1);)
RUN(module_backward_without_forward,
    return aihw_module_backward(f->module, f->d, BATCH, OUT, f->z, IN);)
RUN(module_step_lr_nan, CHECK_OK(aihw_module_forward(f->module, f->x, BATCH, IN, f->y, OUT));
    CHECK_OK(aihw_module_backward(f->module, f->d, BATCH, OUT, f->z, IN));
    aihw_status s = aihw_module_step(f->module, NaN_); aihw_module_step(f->module, 0.0f);
    return s;)
RUN(module_step_lr_negative,
    CHECK_OK(aihw_module_forward(f->module, f->x, BATCH, IN, f->y, OUT));
    CHECK_OK(aihw_module_backward(f->module, f->d, BATCH, OUT, f->z, IN));
    aihw_status s = aihw_module_step(f->module, -1.0f); aihw_module_step(f->module, 0.0f);
    return s;)
RUN(module_step_without_gradients, return aihw_module_step(f->module, 0.1f);)
RUN(linear_set_weights_inf, f->w[2] = Inf_;
    return aihw_linear_set_weights(f->module, f->w, NULL, 1);)
RUN(loss_label_out_of_range, float logits[6] = {0}; int32_t labels[2] = {0, 3}; float l;
    return aihw_loss_cross_entropy(logits, labels, 2, 3, &l, NULL);)
RUN(loss_mse_nan, float yy[2] = {0, NaN_}, t[2] = {0, 0}; float l;
    return aihw_loss_mse(yy, t, 1, 2, &l, NULL);)

/* parameters from JSON */
RUN(io_json_not_json, aihw_io_params p = aihw_io_params_default();
    return aihw_io_params_from_json("{\"out_noise\": ", &p);)
RUN(io_json_unknown_key, aihw_io_params p = aihw_io_params_default();
    return aihw_io_params_from_json("{\"out_noize\": 0.1}", &p);)
RUN(io_json_infinite, aihw_io_params p = aihw_io_params_default();
    return aihw_io_params_from_json("{\"out_noise\": 1e999}", &p);)
RUN(device_json_negative_step, aihw_device_params p;
    return aihw_device_params_from_json("{\"type\": \"ConstantStepDevice\", \"dw_min\": -1}", &p);)
RUN(device_json_no_type, aihw_device_params p;
    return aihw_device_params_from_json("{\"dw_min\": 0.01}", &p);)
RUN(tile_json_wrong_type, aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
    return aihw_tile_config_from_json("{\"kind\": \"ANALOG\", \"seed\": \"7\"}", &c);)

/* files */
RUN(module_load_missing, return aihw_module_load(f->module, "/nonexistent/aihw.safetensors", 1);)
RUN(module_load_strict_2, return aihw_module_load(f->module, f->saved, 2);)
RUN(module_load_truncated, size_t n = 0; aihw_st_dict *d = NULL; void *b = NULL;
    CHECK_OK(aihw_st_read_file(f->saved, &d)); CHECK_OK(aihw_st_write_memory(d, &b, &n));
    write_file(f->path, b, n - 5); aihw_free(b); aihw_st_dict_destroy(d);
    return aihw_module_load(f->module, f->path, 1);)
RUN(module_load_new_huge_architecture,
    write_module_with(f, "architecture",
                      "{\"kind\": \"LINEAR\", \"in_features\": 2000000000, \"out_features\": "
                      "2000000000, \"bias\": true, \"mapping\": {}, \"tile_config\": {}}");
    aihw_module *m = NULL; return aihw_module_load_new(f->path, &m);)
RUN(module_load_new_version, write_module_with(f, "format_version", "99");
    aihw_module *m = NULL; return aihw_module_load_new(f->path, &m);)
RUN(st_offsets_out_of_range, aihw_st_dict *d = NULL;
    write_safetensors(f->path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4);
    return aihw_st_read_file(f->path, &d);)
RUN(st_overlapping, aihw_st_dict *d = NULL;
    write_safetensors(f->path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    return aihw_st_read_file(f->path, &d);)
RUN(st_wrong_dtype, aihw_st_dict *d = NULL;
    write_safetensors(f->path, "{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    return aihw_st_read_file(f->path, &d);)
RUN(st_size_mismatch, aihw_st_dict *d = NULL;
    write_safetensors(f->path, "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
    return aihw_st_read_file(f->path, &d);)
RUN(st_huge_shape, aihw_st_dict *d = NULL;
    write_safetensors(f->path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,"
                               "4294967296],\"data_offsets\":[0,4]}}", 4);
    return aihw_st_read_file(f->path, &d);)
RUN(st_huge_header_length, aihw_st_dict *d = NULL;
    unsigned char b[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    write_file(f->path, b, sizeof b); return aihw_st_read_file(f->path, &d);)
RUN(st_model_weights_typed_wrong, aihw_st_dict *d = NULL; const int32_t *p = NULL;
    CHECK_OK(aihw_st_read_file(f->saved, &d)); aihw_st_tensor t;
    CHECK_OK(aihw_st_dict_at(d, 0, &t));
    aihw_status s = t.dtype == AIHW_ST_I32 ? AIHW_OK : aihw_st_dict_get_i32(d, t.name, &p, NULL);
    aihw_st_dict_destroy(d); return s;)
RUN(idx_wrong_magic, aihw_idx_array a;
    const unsigned char b[9] = {0, 0, 8, 3, 0, 0, 0, 1, 7};
    write_file(f->path, b, sizeof b); return aihw_idx_read_u8(f->path, 1, 0, &a);)
RUN(idx_huge_dims, aihw_idx_array a;
    const unsigned char b[17] = {0, 0, 8, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
                                 0x7f, 0xff, 0xff, 0xff, 1};
    write_file(f->path, b, sizeof b); return aihw_idx_read_u8(f->path, 3, 0, &a);)

#define ROW(call, input, status, mentions, target, fn, keeps_y)                          \
  { call, input, AIHW_ERR_##status, mentions, target, fn, keeps_y }

static const row rows[] = {
    ROW("aihw_tile_create", "config NULL", INVALID_ARGUMENT, "config is NULL", NONE,
        tile_create_null_config, 0),
    ROW("aihw_tile_create", "out_size 0", INVALID_ARGUMENT, "out_size = 0", NONE,
        tile_create_zero_rows, 0),
    ROW("aihw_tile_create", "out_size = in_size = 2^40 (product overflows)", INVALID_ARGUMENT,
        "must be in [1,", NONE, tile_create_overflowing_size, 0),
    ROW("aihw_tile_create", "forward.out_noise NaN", NOT_FINITE, "forward.out_noise", NONE,
        tile_create_nan_config, 0),
    ROW("aihw_tile_create", "device.dw_min +Inf", NOT_FINITE, "device.dw_min", NONE,
        tile_create_inf_dw_min, 0),
    ROW("aihw_tile_set_weights", "a NaN weight", NOT_FINITE, "must be finite", TILE,
        tile_set_weights_nan, 0),
    ROW("aihw_tile_set_weights", "a -Inf weight", NOT_FINITE, "must be finite", TILE,
        tile_set_weights_inf, 0),
    ROW("aihw_tile_set_weights", "rows != out_size", SHAPE, "the tile holds [3][4]", TILE,
        tile_set_weights_shape, 0),
    ROW("aihw_tile_forward", "x holds NaN", NOT_FINITE, "x[0][3]", TILE, tile_forward_nan, 1),
    ROW("aihw_tile_forward", "x holds +Inf", NOT_FINITE, "must be finite", TILE,
        tile_forward_inf, 1),
    ROW("aihw_tile_forward", "batch 0", INVALID_ARGUMENT, "batch = 0", TILE,
        tile_forward_batch0, 1),
    ROW("aihw_tile_forward", "batch 2^62 (batch x in_size overflows)", INVALID_ARGUMENT,
        "batch = ", TILE, tile_forward_huge_batch, 1),
    ROW("aihw_tile_forward", "in_size != the tile's", SHAPE, "the tile expects 4", TILE,
        tile_forward_shape, 1),
    ROW("aihw_tile_forward", "x NULL", INVALID_ARGUMENT, "NULL", TILE, tile_forward_null, 1),
    ROW("aihw_tile_backward", "d holds NaN", NOT_FINITE, "must be finite", TILE,
        tile_backward_nan, 0),
    ROW("aihw_tile_update", "lr NaN", NOT_FINITE, "lr = nan", TILE, tile_update_lr_nan, 0),
    ROW("aihw_tile_update", "lr +Inf", NOT_FINITE, "lr = inf", TILE, tile_update_lr_inf, 0),
    ROW("aihw_tile_update", "lr < 0", INVALID_ARGUMENT, "lr", TILE, tile_update_lr_negative,
        0),
    ROW("aihw_tile_update", "x holds NaN", NOT_FINITE, "must be finite", TILE,
        tile_update_x_nan, 0),
    ROW("aihw_tile_update", "d holds -Inf", NOT_FINITE, "must be finite", TILE,
        tile_update_d_inf, 0),
    ROW("aihw_tile_update", "FLOATING_POINT tile, lr d x = 1e60 (overflows float)", NOT_FINITE,
        "would overflow float", NONE, tile_update_overflow, 0),
    ROW("aihw_tile_set_alpha", "forward_alpha NaN", NOT_FINITE, "alpha", TILE,
        tile_set_alpha_nan, 0),
    ROW("aihw_tile_set_hidden", "a NaN step size", NOT_FINITE, "dwmin_up", TILE,
        tile_set_hidden_nan, 0),
    ROW("aihw_tile_set_hidden", "min_bound above max_bound", INVALID_ARGUMENT, "min_bound",
        TILE, tile_set_hidden_crossed_bounds, 0),
    ROW("aihw_tile_decay_weights", "alpha NaN", NOT_FINITE, "alpha", TILE, tile_decay_nan, 0),
    ROW("aihw_tile_clip_weights", "clip NaN", NOT_FINITE, "clip", TILE, tile_clip_nan, 0),
    ROW("aihw_tile_drift_to", "t_inference NaN", NOT_FINITE, "t_inference", INFERENCE,
        tile_drift_nan, 0),
    ROW("aihw_tile_drift_to", "t_inference < 0", INVALID_ARGUMENT, "t_inference", INFERENCE,
        tile_drift_negative, 0),
    ROW("aihw_tile_program_weights", "an ANALOG tile", STATE, "INFERENCE", TILE,
        tile_program_analog, 0),
    ROW("aihw_linear_create", "in_features 0", INVALID_ARGUMENT, "in_features", NONE,
        linear_create_zero, 0),
    ROW("aihw_linear_create", "in = out = 2^40 (product overflows)", INVALID_ARGUMENT,
        "in_features", NONE, linear_create_overflowing, 0),
    ROW("aihw_module_forward", "x holds NaN", NOT_FINITE, "x[1][3]", MODULE,
        module_forward_nan, 1),
    ROW("aihw_module_forward", "out_features != the module's", SHAPE, "y has 4 features",
        MODULE, module_forward_shape, 1),
    ROW("aihw_module_backward", "no forward before", STATE, "without a matching forward",
        MODULE, module_backward_without_forward, 0),
    ROW("aihw_module_step", "lr NaN", NOT_FINITE, "lr", NONE, module_step_lr_nan, 0),
    ROW("aihw_module_step", "lr < 0", INVALID_ARGUMENT, "lr", NONE, module_step_lr_negative,
        0),
    ROW("aihw_module_step", "no gradients accumulated", STATE, "gradients", MODULE,
        module_step_without_gradients, 0),
    ROW("aihw_linear_set_weights", "a +Inf weight", NOT_FINITE, "must be finite", MODULE,
        linear_set_weights_inf, 0),
    ROW("aihw_loss_cross_entropy", "a label >= classes", INVALID_ARGUMENT, "label", NONE,
        loss_label_out_of_range, 0),
    ROW("aihw_loss_mse", "y holds NaN", NOT_FINITE, "must be finite", NONE, loss_mse_nan, 0),
    ROW("aihw_io_params_from_json", "truncated JSON", FORMAT, "JSON", NONE,
        io_json_not_json, 0),
    ROW("aihw_io_params_from_json", "an unknown key", FORMAT, "out_noize", NONE,
        io_json_unknown_key, 0),
    ROW("aihw_io_params_from_json", "out_noise 1e999 (infinite)", NOT_FINITE,
        "out_noise", NONE, io_json_infinite, 0),
    ROW("aihw_device_params_from_json", "dw_min -1", INVALID_ARGUMENT, "dw_min", NONE,
        device_json_negative_step, 0),
    ROW("aihw_device_params_from_json", "no \"type\"", FORMAT, "type", NONE,
        device_json_no_type, 0),
    ROW("aihw_tile_config_from_json", "seed a string", FORMAT, "seed", NONE,
        tile_json_wrong_type, 0),
    ROW("aihw_module_load", "a missing file", IO, "/nonexistent/aihw.safetensors", MODULE,
        module_load_missing, 0),
    ROW("aihw_module_load", "strict 2", INVALID_ARGUMENT, "strict = 2", MODULE,
        module_load_strict_2, 0),
    ROW("aihw_module_load", "a truncated file", FORMAT, "aihw_test_bad", MODULE,
        module_load_truncated, 0),
    ROW("aihw_module_load_new",
        "architecture declaring a 2e9 x 2e9 layer that the file's data cannot hold", FORMAT,
        "bytes of weights", NONE, module_load_new_huge_architecture, 0),
    ROW("aihw_module_load_new", "format_version 99", UNSUPPORTED, "format_version '99'", NONE,
        module_load_new_version, 0),
    ROW("aihw_st_read_file (state files, PyTorch weights)", "data_offsets beyond the data",
        FORMAT, "'a'", NONE, st_offsets_out_of_range, 0),
    ROW("aihw_st_read_file (state files, PyTorch weights)", "overlapping tensors", FORMAT,
        "overlap", NONE, st_overlapping, 0),
    ROW("aihw_st_read_file (state files, PyTorch weights)", "unknown dtype \"F31\"", FORMAT,
        "F31", NONE, st_wrong_dtype, 0),
    ROW("aihw_st_read_file (state files, PyTorch weights)",
        "F64 [1] in 4 bytes (size does not match dtype x shape)", FORMAT, "'a'", NONE,
        st_size_mismatch, 0),
    ROW("aihw_st_read_file (state files, PyTorch weights)",
        "shape [2^32, 2^32, 2^32] in 4 bytes (huge declared size)", FORMAT, "'a'", NONE,
        st_huge_shape, 0),
    ROW("aihw_st_read_file (state files, PyTorch weights)",
        "header length 2^63-1 in a 16-byte file", FORMAT, "header", NONE,
        st_huge_header_length, 0),
    ROW("aihw_st_dict_get_i32", "a tensor of another dtype", FORMAT, "I32", NONE,
        st_model_weights_typed_wrong, 0),
    ROW("aihw_idx_read_u8", "rank-3 magic where labels (rank 1) are read", FORMAT, "magic",
        NONE, idx_wrong_magic, 0),
    ROW("aihw_idx_read_u8", "dimensions 2^31-1 x 2^31-1 x 2^31-1 in a 17-byte file", FORMAT,
        "aihw_test_bad", NONE, idx_huge_dims, 0),
};

enum { N_ROWS = sizeof rows / sizeof rows[0] };

static void *snapshot_of(const fx *f, enum target t, size_t *n) {
  aihw_st_dict *d = NULL;
  void *b = NULL;
  *n = 0;
  if (t == NONE)
    return NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  if (t == MODULE)
    CHECK_OK(aihw_module_state_export(f->module, d));
  else
    CHECK_OK(aihw_tile_state_export(t == TILE ? f->tile : f->inference, d, "t."));
  CHECK_OK(aihw_st_write_memory(d, &b, n));
  aihw_st_dict_destroy(d);
  return b;
}

static void every_bad_input_gives_its_status_and_changes_nothing(void) {
  for (int r = 0; r < N_ROWS; ++r) {
    fx f;
    fx_init(&f);
    size_t n0 = 0, n1 = 0;
    void *before = snapshot_of(&f, rows[r].target, &n0);
    float y0[BATCH * OUT];
    memcpy(y0, f.y, sizeof y0);
    const aihw_status s = rows[r].run(&f);
    char message[1024];
    snprintf(message, sizeof message, "%s", aihw_last_error());
    if (s != rows[r].status || strstr(message, rows[r].mentions) == NULL) {
      fprintf(stderr, "row %d: %s with %s: got %s \"%s\", expected %s mentioning \"%s\"\n", r,
              rows[r].call, rows[r].input, aihw_status_name(s), message,
              aihw_status_name(rows[r].status), rows[r].mentions);
      CHECK(0);
    }
    void *after = snapshot_of(&f, rows[r].target, &n1);
    if (n0 != n1 || (n0 > 0 && memcmp(before, after, n0) != 0)) {
      fprintf(stderr, "row %d: %s with %s changed the object\n", r, rows[r].call,
              rows[r].input);
      CHECK(0);
    }
    if (rows[r].keeps_y && memcmp(y0, f.y, sizeof y0) != 0) {
      fprintf(stderr, "row %d: %s with %s wrote its output\n", r, rows[r].call, rows[r].input);
      CHECK(0);
    }
    aihw_free(before);
    aihw_free(after);
    fx_free(&f);
  }
}

/* docs/errors.md lists every row (regenerate its table with --markdown). */
static void docs_list_every_row(void) {
  FILE *fp = fopen(AIHW_TEST_DATA_DIR "/../../docs/errors.md", "rb");
  CHECK(fp != NULL);
  if (fp == NULL)
    return;
  static char text[1 << 18];
  const size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = '\0';
  fclose(fp);
  for (int r = 0; r < N_ROWS; ++r) {
    char line[600];
    snprintf(line, sizeof line, "| `%s` | %s | `%s` |", rows[r].call, rows[r].input,
             aihw_status_name(rows[r].status));
    if (strstr(text, line) == NULL) {
      fprintf(stderr, "docs/errors.md lacks the row \"%s\"\n", line);
      CHECK(0);
    }
  }
}

static int print_markdown(void) {
  printf("| call | invalid input | status | message (from this run) |\n");
  printf("| --- | --- | --- | --- |\n");
  for (int r = 0; r < N_ROWS; ++r) {
    fx f;
    fx_init(&f);
    const aihw_status s = rows[r].run(&f);
    char message[1024];
    snprintf(message, sizeof message, "%s", aihw_last_error());
    for (char *p = message; *p != '\0'; ++p)
      if (*p == '|')
        *p = '/';
    /* the process id in scratch paths varies; show a fixed one */
    char *pid = strstr(message, "aihw_test_bad_");
    if (pid != NULL) {
      char *end = pid + strlen("aihw_test_bad_");
      size_t digits = strspn(end, "0123456789");
      memmove(end + 3, end + digits, strlen(end + digits) + 1);
      memcpy(end, "PID", 3);
    }
    printf("| `%s` | %s | `%s` | %s |\n", rows[r].call, rows[r].input, aihw_status_name(s),
           message);
    fx_free(&f);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--markdown") == 0)
    return print_markdown();
  test_current_ = "every_bad_input_gives_its_status_and_changes_nothing";
  every_bad_input_gives_its_status_and_changes_nothing();
  test_current_ = "docs_list_every_row";
  docs_list_every_row();
  printf("%d rows, %s\n", N_ROWS, test_failures_ == 0 ? "all as catalogued" : "FAILED");
  return test_failures_ == 0 ? 0 : 1;
}
