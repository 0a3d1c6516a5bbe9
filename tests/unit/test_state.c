/* State files (DESIGN.md §3 "Module state"): tile configurations as JSON, tile state
 * export/import, module save/load. The central property: a tile or module rebuilt from its
 * state continues bit-identically to the original (same outputs, weights, hidden
 * parameters for the same later calls); everything else here is error handling — strict
 * and non-strict loading, configs that differ, truncated, corrupted and foreign files —
 * with the rule that a failed load changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"
#include "test_util.h"
#include "tile/tile_internal.h"

/* Deterministic uniforms in [-1, 1) for test inputs (xorshift32). */
static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t x = seed;
  for (int64_t k = 0; k < n; ++k) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[k] = scale * ((float)(x >> 8) * 0x1p-23f - 1.0f);
  }
}

/* Serialised bytes of a tile's exported state: equal bytes <=> equal state. */
static void *tile_state_bytes(const aihw_tile *t, size_t *size) {
  aihw_st_dict *d = NULL;
  void *bytes = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(t, d, "t."));
  CHECK_OK(aihw_st_write_memory(d, &bytes, size));
  aihw_st_dict_destroy(d);
  return bytes;
}

static int same_tile_state(const aihw_tile *a, const aihw_tile *b) {
  size_t na = 0, nb = 0;
  void *ba = tile_state_bytes(a, &na), *bb = tile_state_bytes(b, &nb);
  const int same = ba != NULL && bb != NULL && na == nb && memcmp(ba, bb, na) == 0;
  aihw_free(ba);
  aihw_free(bb);
  return same;
}

/* ---- tile configuration JSON ------------------------------------------------------------ */

static void check_config_round_trip(const aihw_tile_config *c) {
  char *a = NULL, *b = NULL;
  aihw_tile_config back = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  CHECK_OK(aihw_tile_config_to_json(c, &a));
  CHECK_OK(aihw_tile_config_from_json(a, &back));
  CHECK_OK(aihw_tile_config_to_json(&back, &b));
  CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
  CHECK(back.kind == c->kind && back.seed == c->seed && back.tile_id == c->tile_id);
  free(a);
  free(b);
}

static void tile_config_json_round_trips_every_kind_and_preset(void) {
  for (int k = 0; k < 3; ++k) {
    aihw_tile_config c = aihw_tile_config_default((aihw_tile_kind)k);
    c.seed = 4000000000u;
    c.tile_id = 7;
    c.analog_bias = 1;
    c.forward.out_noise = 0.0123456789f;
    check_config_round_trip(&c);
  }
  static const char *const presets[] = {"ReRamESPreset", "ReRamSBPreset", "EcRamMOPreset",
                                        "GokmenVlasovPreset", "InferenceRPUConfig"};
  for (size_t k = 0; k < sizeof presets / sizeof presets[0]; ++k) {
    aihw_tile_config c;
    CHECK_OK(aihw_tile_config_preset(presets[k], &c));
    check_config_round_trip(&c);
  }
}

static void tile_config_json_names_bad_keys_and_keeps_config(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 11;
  CHECK_STATUS(aihw_tile_config_from_json("{\"seed\": 1}", &c), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("kind");
  CHECK_STATUS(aihw_tile_config_from_json("{\"kind\": \"ANALOG\", \"colour\": 1}", &c),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("colour");
  CHECK_STATUS(aihw_tile_config_from_json("{\"kind\": \"DIGITAL\"}", &c), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("DIGITAL");
  CHECK_STATUS(aihw_tile_config_from_json(
                   "{\"kind\": \"ANALOG\", \"device\": {\"type\": \"ConstantStepDevice\", "
                   "\"dw_min\": \"big\"}}",
                   &c),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("device");
  CHECK_ERROR_MENTIONS("dw_min");
  CHECK_STATUS(aihw_tile_config_from_json("{\"kind\": \"ANALOG\", \"seed\": -1}", &c),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("seed");
  CHECK(c.seed == 11);
  /* absent keys take the kind's defaults */
  CHECK_OK(aihw_tile_config_from_json("{\"kind\": \"INFERENCE\", \"tile_id\": 3}", &c));
  CHECK(c.kind == AIHW_TILE_INFERENCE && c.tile_id == 3 && c.seed == 0 &&
        c.backward.is_perfect == 1);
}

/* ---- tile state ------------------------------------------------------------------------- */

enum { TO = 6, TI = 5, TB = 4 };

/* A step of training on a tile: forward, backward, update, post-update step, training
 * drift when the device drifts. Writes every output into out (length TRAIN_OUT). */
enum { TRAIN_OUT = TB * TO + TB * TI };
static void train_step(aihw_tile *t, uint32_t seed, float *out) {
  float x[TB * TI], d[TB * TO];
  fill(x, TB * TI, seed, 1.0f);
  fill(d, TB * TO, seed + 77u, 0.5f);
  CHECK_OK(aihw_tile_forward(t, x, TB, TI, out, TO));
  CHECK_OK(aihw_tile_backward(t, d, TB, TO, out + TB * TO, TI));
  CHECK_OK(aihw_tile_update(t, x, TB, TI, d, TO, 0.05f));
  CHECK_OK(aihw_tile_post_update_step(t));
  aihw_tile_config c;
  CHECK_OK(aihw_tile_get_config(t, &c));
  if (c.device.drift.nu > 0.0f)
    CHECK_OK(aihw_tile_drift_weights(t, 1.5f));
}

/* Trains `config` a few steps, moves the state through a safetensors buffer into a fresh
 * tile, then trains both the same further steps: every output and the final state agree
 * bit for bit. */
static void check_tile_continues_identically(const aihw_tile_config *config) {
  aihw_tile *a = NULL, *b = NULL;
  CHECK_OK(aihw_tile_create(config, TO, TI, &a));
  CHECK_OK(aihw_tile_create(config, TO, TI, &b));
  if (a == NULL || b == NULL)
    return;
  const int64_t cols = aihw_tile_weight_cols(a);
  float w[TO * (TI + 1)], ya[TRAIN_OUT], yb[TRAIN_OUT];
  fill(w, TO * cols, 5u, 0.3f);
  CHECK_OK(aihw_tile_set_weights(a, w, TO, cols));
  if (aihw_tile_hidden_count(a) > 0) { /* a hidden parameter set by the user is state too */
    int index = -1;
    float v[TO * (TI + 1)];
    CHECK_OK(aihw_tile_hidden_index(a, "reset_bias", &index));
    fill(v, TO * cols, 6u, 0.01f);
    CHECK_OK(aihw_tile_set_hidden(a, index, v, TO, cols));
  }
  CHECK_OK(aihw_tile_set_training(a, 1));
  for (uint32_t s = 1; s <= 3; ++s)
    train_step(a, s, ya);
  CHECK(!same_tile_state(a, b));

  aihw_st_dict *d = NULL, *back = NULL;
  void *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(a, d, "layer.tile."));
  CHECK_OK(aihw_st_write_memory(d, &bytes, &size));
  CHECK_OK(aihw_st_read_memory(bytes, size, &back));
  CHECK_OK(aihw_tile_state_import(b, back, "layer.tile.", 1));
  CHECK(same_tile_state(a, b));
  for (uint32_t s = 4; s <= 6; ++s) {
    train_step(a, s, ya);
    train_step(b, s, yb);
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
  }
  CHECK(same_tile_state(a, b));
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
  aihw_st_dict_destroy(back);
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

static void fp_tile_continues_identically(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  c.device.drift.nu = 0.05f; /* simple drift during training: its clock is state */
  check_tile_continues_identically(&c);
}

static void constant_step_tile_continues_identically(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 3;
  c.forward.noise_management = AIHW_NM_AVERAGE_ABS_MAX; /* running value is state */
  c.device.count_pulses = 1;
  c.device.dw_min_dtod = 0.3f;
  c.device.diffusion = 0.01f;
  c.device.drift.nu = 0.1f;
  c.device.drift.nu_dtod = 0.2f;
  check_tile_continues_identically(&c);
  c.analog_bias = 1;
  check_tile_continues_identically(&c);
}

static void soft_bounds_write_noise_tile_continues_identically(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 9;
  c.tile_id = 2;
  c.device = aihw_device_params_default(AIHW_DEVICE_SOFT_BOUNDS);
  c.device.write_noise_std = 1.0f; /* persistent weights are a hidden parameter */
  c.device.lifetime = 50.0f;
  check_tile_continues_identically(&c);
}

/* INFERENCE: hardware-aware training (modifier copy), then programming with drift
 * compensation; the restored tile drifts and reads out exactly as the original. */
static void inference_tile_continues_identically(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  c.seed = 21;
  c.inference.modifier.type = AIHW_MODIFIER_ADD_NORMAL;
  c.inference.modifier.std_dev = 0.05f;
  c.inference.remap.type = AIHW_REMAP_CHANNELWISE_SYMMETRIC;
  check_tile_continues_identically(&c); /* training part: modified copy, out scales */

  aihw_tile *a = NULL, *b = NULL;
  CHECK_OK(aihw_tile_create(&c, TO, TI, &a));
  CHECK_OK(aihw_tile_create(&c, TO, TI, &b));
  float w[TO * TI], x[TB * TI], ya[TB * TO], yb[TB * TO], al_a[TO], al_b[TO];
  fill(w, TO * TI, 8u, 0.4f);
  fill(x, TB * TI, 9u, 1.0f);
  CHECK_OK(aihw_tile_set_weights(a, w, TO, TI));
  CHECK_OK(aihw_tile_set_training(a, 1));
  train_step(a, 1, ya);
  CHECK_OK(aihw_tile_set_training(a, 0));
  CHECK_OK(aihw_tile_program_weights(a));
  CHECK_OK(aihw_tile_drift_to(a, 100.0f));
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(a, d, ""));
  CHECK(aihw_st_dict_contains(d, "programmed") && aihw_st_dict_contains(d, "nu") &&
        aihw_st_dict_contains(d, "drift_baseline") && aihw_st_dict_contains(d, "reference"));
  CHECK_OK(aihw_tile_state_import(b, d, "", 1));
  CHECK(same_tile_state(a, b));
  CHECK_OK(aihw_tile_forward(a, x, TB, TI, ya, TO)); /* compensated read before any drift */
  CHECK_OK(aihw_tile_forward(b, x, TB, TI, yb, TO));
  CHECK(memcmp(ya, yb, sizeof ya) == 0);
  for (int k = 0; k < 2; ++k) {
    const float t = k == 0 ? 1000.0f : 86400.0f;
    CHECK_OK(aihw_tile_drift_to(a, t));
    CHECK_OK(aihw_tile_drift_to(b, t));
    CHECK_OK(aihw_tile_forward(a, x, TB, TI, ya, TO));
    CHECK_OK(aihw_tile_forward(b, x, TB, TI, yb, TO));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    CHECK_OK(aihw_tile_get_drift_alpha(a, al_a, TO));
    CHECK_OK(aihw_tile_get_drift_alpha(b, al_b, TO));
    CHECK(memcmp(al_a, al_b, sizeof al_a) == 0);
  }
  CHECK(same_tile_state(a, b));
  aihw_st_dict_destroy(d);
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

/* Strict import names every missing and unexpected tensor; non-strict loads the rest; a
 * bad tensor (NaN, wrong dtype or shape, inverted bounds) fails and changes nothing. */
static void tile_import_errors_name_tensors_and_change_nothing(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_tile *a = NULL, *b = NULL;
  CHECK_OK(aihw_tile_create(&c, TO, TI, &a));
  CHECK_OK(aihw_tile_create(&c, TO, TI, &b));
  float w[TO * TI], y[TRAIN_OUT];
  fill(w, TO * TI, 1u, 0.3f);
  CHECK_OK(aihw_tile_set_weights(a, w, TO, TI));
  train_step(a, 1, y);
  aihw_st_dict *full = NULL;
  CHECK_OK(aihw_st_dict_create(&full));
  CHECK_OK(aihw_tile_state_export(a, full, ""));
  size_t n0 = 0;
  void *before = tile_state_bytes(b, &n0);

  /* a partial dict: everything but weights and hidden.reset_bias, plus a stranger */
  aihw_st_dict *part = NULL;
  CHECK_OK(aihw_st_dict_create(&part));
  for (size_t k = 0; k < aihw_st_dict_count(full); ++k) {
    aihw_st_tensor t;
    CHECK_OK(aihw_st_dict_at(full, k, &t));
    if (strcmp(t.name, "weights") != 0 && strcmp(t.name, "hidden.reset_bias") != 0)
      CHECK_OK(aihw_st_dict_add(part, t.name, t.dtype, t.shape, t.ndim, t.data));
  }
  const float one = 1.0f;
  CHECK_OK(aihw_st_dict_add(part, "hidden.colour", AIHW_ST_F32, NULL, 0, &one));
  CHECK_STATUS(aihw_tile_state_import(b, part, "", 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("'weights'");
  CHECK_ERROR_MENTIONS("'hidden.reset_bias'");
  CHECK_ERROR_MENTIONS("'hidden.colour'");
  size_t n1 = 0;
  void *after = tile_state_bytes(b, &n1);
  CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
  aihw_free(after);
  /* non-strict: the rest is loaded, weights stay */
  float wb[TO * TI], wb2[TO * TI];
  CHECK_OK(aihw_tile_get_weights(b, wb, TO, TI));
  CHECK_OK(aihw_tile_state_import(b, part, "", 0));
  CHECK_OK(aihw_tile_get_weights(b, wb2, TO, TI));
  CHECK(memcmp(wb, wb2, sizeof wb) == 0);
  uint64_t ca = 0, cb = 0;
  CHECK_OK(aihw_tile_get_counter(a, &ca));
  CHECK_OK(aihw_tile_get_counter(b, &cb));
  CHECK(ca == cb);

  /* bad contents: NaN weight, wrong dtype, wrong shape, min_bound > max_bound */
  aihw_tile *fresh = NULL;
  CHECK_OK(aihw_tile_create(&c, TO, TI, &fresh));
  n0 = 0;
  aihw_free(before);
  before = tile_state_bytes(fresh, &n0);
  for (int bad = 0; bad < 4; ++bad) {
    aihw_st_dict *d = NULL;
    CHECK_OK(aihw_st_dict_create(&d));
    for (size_t k = 0; k < aihw_st_dict_count(full); ++k) {
      aihw_st_tensor t;
      CHECK_OK(aihw_st_dict_at(full, k, &t));
      if (bad == 0 && strcmp(t.name, "weights") == 0) {
        float v[TO * TI];
        memcpy(v, t.data, sizeof v);
        v[7] = NAN;
        CHECK_OK(aihw_st_dict_add(d, t.name, t.dtype, t.shape, t.ndim, v));
      } else if (bad == 1 && strcmp(t.name, "alpha") == 0) {
        const double v[2] = {1.0, 1.0};
        CHECK_OK(aihw_st_dict_add(d, t.name, AIHW_ST_F64, t.shape, t.ndim, v));
      } else if (bad == 2 && strcmp(t.name, "hidden.dwmin_up") == 0) {
        const size_t shape[2] = {TI, TO};
        CHECK_OK(aihw_st_dict_add(d, t.name, t.dtype, shape, 2, t.data));
      } else if (bad == 3 && strcmp(t.name, "hidden.min_bound") == 0) {
        float v[TO * TI];
        for (int e = 0; e < TO * TI; ++e)
          v[e] = 5.0f;
        CHECK_OK(aihw_st_dict_add(d, t.name, t.dtype, t.shape, t.ndim, v));
      } else {
        CHECK_OK(aihw_st_dict_add(d, t.name, t.dtype, t.shape, t.ndim, t.data));
      }
    }
    static const aihw_status expected[4] = {AIHW_ERR_NOT_FINITE, AIHW_ERR_FORMAT,
                                            AIHW_ERR_FORMAT, AIHW_ERR_INVALID_ARGUMENT};
    static const char *const mention[4] = {"weights", "alpha", "dwmin_up", "min_bound"};
    CHECK_STATUS(aihw_tile_state_import(fresh, d, "", 0), expected[bad]);
    CHECK_ERROR_MENTIONS(mention[bad]);
    after = tile_state_bytes(fresh, &n1);
    CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
    aihw_free(after);
    aihw_st_dict_destroy(d);
  }
  aihw_free(before);
  aihw_st_dict_destroy(part);
  aihw_st_dict_destroy(full);
  aihw_tile_destroy(fresh);
  aihw_tile_destroy(a);
  aihw_tile_destroy(b);
}

/* ---- module state files ------------------------------------------------------------- */

enum { MI = 5, MH = 7, MO = 3, MB = 4 };

static const char *temp_path(const char *name) {
  static char buf[4][256];
  static int next = 0;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "/tmp/aihw_test_state_%d_%s.safetensors", (int)getpid(), name);
  return p;
}

/* Linear(5, 7) on a 2 x 1 grid (max_input_size 3) - Sigmoid - Linear(7, 3), ANALOG tiles
 * of `config` (tile ids 0, 1 and 2). */
static aihw_module *make_module(const aihw_tile_config *config) {
  aihw_tile_config c = *config;
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_input_size = 3;
  aihw_module *net = NULL, *l1 = NULL, *act = NULL, *l2 = NULL;
  CHECK_OK(aihw_sequential_create(&net));
  CHECK_OK(aihw_linear_create(&c, &mp, MI, MH, 1, &l1));
  c.tile_id = 2;
  CHECK_OK(aihw_linear_create(&c, NULL, MH, MO, 1, &l2));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_SIGMOID, MH, &act));
  CHECK_OK(aihw_sequential_append(net, l1));
  CHECK_OK(aihw_sequential_append(net, act));
  CHECK_OK(aihw_sequential_append(net, l2));
  return net;
}

static aihw_tile_config module_config(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 17;
  c.forward.noise_management = AIHW_NM_AVERAGE_ABS_MAX;
  c.device.dw_min_dtod = 0.3f;
  return c;
}

/* One training iteration on batch `step`: forward, MSE gradient, backward, step. y gets
 * the forward output. */
static void module_step(aihw_module *m, uint32_t step, float *y) {
  float x[MB * MI], target[MB * MO], dy[MB * MO], loss = 0.0f;
  fill(x, MB * MI, 100u + step, 1.0f);
  fill(target, MB * MO, 200u + step, 0.5f);
  CHECK_OK(aihw_module_forward(m, x, MB, MI, y, MO));
  CHECK_OK(aihw_loss_mse(y, target, MB, MO, &loss, dy));
  CHECK_OK(aihw_module_backward(m, dy, MB, MO, NULL, MI));
  CHECK_OK(aihw_module_step(m, 0.1f));
}

static void *module_state_bytes(const aihw_module *m, size_t *size) {
  aihw_st_dict *d = NULL;
  void *bytes = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_module_state_export(m, d));
  CHECK_OK(aihw_st_write_memory(d, &bytes, size));
  aihw_st_dict_destroy(d);
  return bytes;
}

static int same_module_state(const aihw_module *a, const aihw_module *b) {
  size_t na = 0, nb = 0;
  void *ba = module_state_bytes(a, &na), *bb = module_state_bytes(b, &nb);
  const int same = ba != NULL && bb != NULL && na == nb && memcmp(ba, bb, na) == 0;
  aihw_free(ba);
  aihw_free(bb);
  return same;
}

/* save -> load_new (and save -> load into a fresh module) -> the same N further steps as
 * the uninterrupted original: bit-identical outputs and final state. */
static void module_save_load_continues_identically(void) {
  const aihw_tile_config c = module_config();
  aihw_module *a = make_module(&c), *b = NULL, *fresh = make_module(&c);
  float ya[MB * MO], yb[MB * MO], yc[MB * MO];
  CHECK_OK(aihw_module_set_training(a, 1));
  for (uint32_t s = 0; s < 3; ++s)
    module_step(a, s, ya);
  const char *path = temp_path("continue");
  CHECK_OK(aihw_module_save(a, path));
  CHECK_OK(aihw_module_load_new(path, &b));
  CHECK_OK(aihw_module_load(fresh, path, 1));
  if (b == NULL)
    return;
  CHECK(aihw_module_child_count(b) == 3 &&
        aihw_module_kind_of(aihw_module_child(b, 1)) == AIHW_MODULE_SIGMOID);
  int64_t rows = 0, cols = 0;
  CHECK_OK(aihw_linear_tile_grid(aihw_module_child(b, 0), &rows, &cols));
  CHECK(rows == 2 && cols == 1);
  CHECK(same_module_state(a, b) && same_module_state(a, fresh));
  for (uint32_t s = 3; s < 8; ++s) {
    module_step(a, s, ya);
    module_step(b, s, yb);
    module_step(fresh, s, yc);
    CHECK(memcmp(ya, yb, sizeof ya) == 0 && memcmp(ya, yc, sizeof ya) == 0);
  }
  float wa[MO * MH], wb[MO * MH], ba[MO], bb[MO];
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(a, 2), wa, ba, 1));
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(b, 2), wb, bb, 1));
  CHECK(memcmp(wa, wb, sizeof wa) == 0 && memcmp(ba, bb, sizeof ba) == 0);
  CHECK(same_module_state(a, b) && same_module_state(a, fresh));
  remove(path);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
  aihw_module_destroy(fresh);
}

static void save_refuses_pending_gradients(void) {
  const aihw_tile_config c = module_config();
  aihw_module *a = make_module(&c);
  float x[MB * MI], y[MB * MO], dy[MB * MO];
  fill(x, MB * MI, 1u, 1.0f);
  fill(dy, MB * MO, 2u, 1.0f);
  CHECK_OK(aihw_module_forward(a, x, MB, MI, y, MO));
  CHECK_OK(aihw_module_backward(a, dy, MB, MO, NULL, MI));
  const char *path = temp_path("pending");
  CHECK_STATUS(aihw_module_save(a, path), AIHW_ERR_STATE);
  CHECK_ERROR_MENTIONS("aihw_module_step");
  CHECK(access(path, F_OK) != 0);
  aihw_module_destroy(a);
}

/* A module of another configuration or shape is never overwritten: the error names the
 * first difference, and for configurations the explicit alternative (load_new). */
static void load_rejects_other_architecture_or_config(void) {
  aihw_tile_config c = module_config();
  aihw_module *a = make_module(&c);
  const char *path = temp_path("arch");
  CHECK_OK(aihw_module_save(a, path));
  c.device.dw_min = 0.002f;
  aihw_module *other = make_module(&c);
  size_t n0 = 0, n1 = 0;
  void *before = module_state_bytes(other, &n0);
  for (int strict = 0; strict <= 1; ++strict) {
    CHECK_STATUS(aihw_module_load(other, path, strict), AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS("children[0].tile_config.device.dw_min");
    CHECK_ERROR_MENTIONS("aihw_module_load_new");
  }
  void *after = module_state_bytes(other, &n1);
  CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
  aihw_free(before);
  aihw_free(after);
  aihw_module *l = NULL;
  c = module_config();
  CHECK_OK(aihw_linear_create(&c, NULL, MI, MH, 1, &l));
  CHECK_STATUS(aihw_module_load(l, path, 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("differs");
  CHECK_ERROR_MENTIONS("kind");
  remove(path);
  aihw_module_destroy(l);
  aihw_module_destroy(other);
  aihw_module_destroy(a);
}

/* Strict loading lists every missing and unexpected tensor by name; non-strict loading
 * takes what is there. */
static void strict_load_names_missing_and_unexpected_tensors(void) {
  const aihw_tile_config c = module_config();
  aihw_module *a = make_module(&c), *b = make_module(&c);
  float y[MB * MO];
  module_step(a, 0, y);
  aihw_st_dict *full = NULL, *part = NULL;
  CHECK_OK(aihw_st_dict_create(&full));
  CHECK_OK(aihw_st_dict_create(&part));
  CHECK_OK(aihw_module_state_export(a, full));
  for (size_t k = 0; k < aihw_st_dict_metadata_count(full); ++k) {
    const char *key = NULL, *value = NULL;
    CHECK_OK(aihw_st_dict_metadata_at(full, k, &key, &value));
    CHECK_OK(aihw_st_dict_set_metadata(part, key, value));
  }
  for (size_t k = 0; k < aihw_st_dict_count(full); ++k) {
    aihw_st_tensor t;
    CHECK_OK(aihw_st_dict_at(full, k, &t));
    if (strcmp(t.name, "0.bias") != 0 && strcmp(t.name, "0.tiles.1.0.hidden.max_bound") != 0)
      CHECK_OK(aihw_st_dict_add(part, t.name, t.dtype, t.shape, t.ndim, t.data));
  }
  const float one = 1.0f;
  CHECK_OK(aihw_st_dict_add(part, "1.weights", AIHW_ST_F32, NULL, 0, &one));
  const char *path = temp_path("partial");
  CHECK_OK(aihw_st_write_file(part, path));
  size_t n0 = 0, n1 = 0;
  void *before = module_state_bytes(b, &n0);
  CHECK_STATUS(aihw_module_load(b, path, 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("2 missing");
  CHECK_ERROR_MENTIONS("'0.bias'");
  CHECK_ERROR_MENTIONS("'0.tiles.1.0.hidden.max_bound'");
  CHECK_ERROR_MENTIONS("1 unexpected");
  CHECK_ERROR_MENTIONS("'1.weights'");
  void *after = module_state_bytes(b, &n1);
  CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
  aihw_free(after);
  aihw_free(before);
  CHECK_OK(aihw_module_load(b, path, 0));
  float wa[MO * MH], wb[MO * MH];
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(a, 2), wa, NULL, 1));
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(b, 2), wb, NULL, 1));
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  remove(path);
  aihw_st_dict_destroy(full);
  aihw_st_dict_destroy(part);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

static void write_bytes(const char *path, const void *bytes, size_t size) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f != NULL) {
    CHECK(fwrite(bytes, 1, size, f) == size);
    fclose(f);
  }
}

/* Truncated, corrupted and foreign files: clear errors, module unchanged. */
static void bad_files_are_rejected_and_change_nothing(void) {
  const aihw_tile_config c = module_config();
  aihw_module *a = make_module(&c), *b = make_module(&c), *none = NULL;
  float y[MB * MO];
  module_step(a, 0, y);
  size_t size = 0, n0 = 0, n1 = 0;
  void *good = module_state_bytes(a, &size);
  void *before = module_state_bytes(b, &n0);
  const char *path = temp_path("bad");

  write_bytes(path, good, size / 2); /* truncated */
  CHECK_STATUS(aihw_module_load(b, path, 1), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS(path);
  CHECK_STATUS(aihw_module_load_new(path, &none), AIHW_ERR_FORMAT);
  CHECK(none == NULL);

  unsigned char *bad = malloc(size);
  memcpy(bad, good, size);
  bad[9] = '['; /* header JSON broken */
  write_bytes(path, bad, size);
  CHECK_STATUS(aihw_module_load(b, path, 0), AIHW_ERR_FORMAT);

  /* foreign: a plain safetensors file without aihw metadata */
  aihw_st_dict *d = NULL;
  const size_t shape[1] = {3};
  const float v[3] = {1, 2, 3};
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_st_dict_add(d, "weight", AIHW_ST_F32, shape, 1, v));
  CHECK_OK(aihw_st_write_file(d, path));
  CHECK_STATUS(aihw_module_load(b, path, 0), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("not an aihw module file");
  CHECK_STATUS(aihw_module_load_new(path, &none), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("aihw_format");
  CHECK_OK(aihw_st_dict_set_metadata(d, "aihw_format", "aihw-module"));
  CHECK_OK(aihw_st_dict_set_metadata(d, "format_version", "2"));
  CHECK_OK(aihw_st_write_file(d, path));
  CHECK_STATUS(aihw_module_load(b, path, 1), AIHW_ERR_UNSUPPORTED);
  CHECK_ERROR_MENTIONS("format_version '2'");
  CHECK_OK(aihw_st_dict_set_metadata(d, "format_version", "1"));
  CHECK_OK(aihw_st_dict_set_metadata(d, "architecture", "{\"kind\": \"CONV\"}"));
  CHECK_OK(aihw_st_write_file(d, path));
  CHECK_STATUS(aihw_module_load_new(path, &none), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("kind");
  CHECK(none == NULL);
  CHECK_STATUS(aihw_module_load(b, temp_path("does_not_exist"), 1), AIHW_ERR_IO);

  void *after = module_state_bytes(b, &n1);
  CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
  remove(path);
  free(bad);
  aihw_free(good);
  aihw_free(before);
  aihw_free(after);
  aihw_st_dict_destroy(d);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

/* Every allocation failure while loading is OUT_OF_MEMORY, leaks nothing (checked under
 * ASan) and leaves the target module as it was. */
static void allocation_failures_during_load_are_clean(void) {
  const aihw_tile_config c = module_config();
  aihw_module *a = make_module(&c), *b = make_module(&c);
  float y[MB * MO];
  module_step(a, 0, y);
  const char *path = temp_path("oom");
  CHECK_OK(aihw_module_save(a, path));
  size_t n0 = 0;
  void *before = module_state_bytes(b, &n0);
  int completed = 0;
  for (long n = 1; n < 5000 && !completed; ++n) {
    aihw_module *m = NULL;
    aihw_alloc_fail_after(n);
    const aihw_status s1 = aihw_module_load_new(path, &m);
    aihw_alloc_fail_after(n);
    const aihw_status s2 = aihw_module_load(b, path, 1);
    aihw_alloc_fail_after(0);
    CHECK(s1 == AIHW_OK || s1 == AIHW_ERR_OUT_OF_MEMORY);
    CHECK((s1 == AIHW_OK) == (m != NULL));
    CHECK(s2 == AIHW_OK || s2 == AIHW_ERR_OUT_OF_MEMORY);
    if (s2 != AIHW_OK) {
      size_t n1 = 0;
      void *after = module_state_bytes(b, &n1);
      CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
      aihw_free(after);
    }
    completed = s1 == AIHW_OK && s2 == AIHW_OK;
    aihw_module_destroy(m);
  }
  CHECK(completed);
  CHECK(same_module_state(a, b));
  remove(path);
  aihw_free(before);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

TEST_MAIN(TEST(tile_config_json_round_trips_every_kind_and_preset),
          TEST(tile_config_json_names_bad_keys_and_keeps_config),
          TEST(fp_tile_continues_identically), TEST(constant_step_tile_continues_identically),
          TEST(soft_bounds_write_noise_tile_continues_identically),
          TEST(inference_tile_continues_identically),
          TEST(tile_import_errors_name_tensors_and_change_nothing),
          TEST(module_save_load_continues_identically), TEST(save_refuses_pending_gradients),
          TEST(load_rejects_other_architecture_or_config),
          TEST(strict_load_names_missing_and_unexpected_tensors),
          TEST(bad_files_are_rejected_and_change_nothing),
          TEST(allocation_failures_during_load_are_clean))
