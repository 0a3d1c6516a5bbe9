#define _POSIX_C_SOURCE 200809L
/* In-memory state dicts (nn.h "In-memory state dicts"; reference §7.2 load_state_dict,
 * aihwkit issues 275 and 409): a module's dict rebuilt into a fresh module continues
 * training bit-identically; strict loads name every missing and unexpected key at once;
 * the three configuration policies; every failing load leaves the module unchanged; the
 * file layer writes exactly the dict. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "core/safetensors.h"
#include "test_util.h"

static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t x = seed;
  for (int64_t k = 0; k < n; ++k) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[k] = scale * ((float)(x >> 8) * 0x1p-23f - 1.0f);
  }
}

/* Linear(4, 3) on ConstantStep tiles (dw_min given), Sigmoid, Linear(3, 2). */
static aihw_module *make_net(float dw_min, int64_t hidden) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 11;
  c.device.dw_min = dw_min;
  aihw_module *seq = NULL, *a = NULL, *s = NULL, *b = NULL;
  CHECK_OK(aihw_sequential_create(&seq));
  CHECK_OK(aihw_linear_create(&c, NULL, 4, hidden, 1, &a));
  c.tile_id = 1;
  CHECK_OK(aihw_activation_create(AIHW_MODULE_SIGMOID, hidden, &s));
  CHECK_OK(aihw_linear_create(&c, NULL, hidden, 2, 1, &b));
  CHECK_OK(aihw_sequential_append(seq, a));
  CHECK_OK(aihw_sequential_append(seq, s));
  CHECK_OK(aihw_sequential_append(seq, b));
  CHECK_OK(aihw_module_set_training(seq, 1));
  return seq;
}

/* `steps` SGD steps on fixed data (batch 5); the last forward's output into y[10]. */
static void train(aihw_module *m, int steps, uint32_t seed, float *y) {
  float x[20], dy[10];
  for (int k = 0; k < steps; ++k) {
    fill(x, 20, seed + (uint32_t)k, 1.0f);
    fill(dy, 10, 1000u + seed + (uint32_t)k, 0.5f);
    CHECK_OK(aihw_module_forward(m, x, 5, 4, y, 2));
    CHECK_OK(aihw_module_backward(m, dy, 5, 2, NULL, 4));
    CHECK_OK(aihw_module_step(m, 0.1f));
  }
}

/* Equal tensors (names, dtypes, shapes, bytes) and equal architecture metadata. */
static int same_state(const aihw_module *a, const aihw_module *b) {
  aihw_state_dict *da = NULL, *db = NULL;
  CHECK_OK(aihw_module_state_dict(a, &da));
  CHECK_OK(aihw_module_state_dict(b, &db));
  int same = da != NULL && db != NULL && aihw_state_dict_count(da) == aihw_state_dict_count(db);
  same = same && strcmp(aihw_state_dict_metadata(da, "architecture"),
                        aihw_state_dict_metadata(db, "architecture")) == 0;
  for (size_t k = 0; same && k < aihw_state_dict_count(da); ++k) {
    aihw_state_tensor ta, tb;
    CHECK_OK(aihw_state_dict_at(da, k, &ta));
    CHECK_OK(aihw_state_dict_at(db, k, &tb));
    same = strcmp(ta.name, tb.name) == 0 && ta.dtype == tb.dtype && ta.nbytes == tb.nbytes &&
           memcmp(ta.data, tb.data, ta.nbytes) == 0;
  }
  aihw_state_dict_destroy(da);
  aihw_state_dict_destroy(db);
  return same;
}

/* A copy of `src` without the tensors named in `drop` (NULL-terminated) plus `extra` (a
 * new F32 scalar name, or NULL); metadata copied. */
static aihw_state_dict *edited(const aihw_state_dict *src, const char *const *drop,
                               const char *extra) {
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_state_dict_create(&d));
  for (size_t k = 0; k < aihw_state_dict_metadata_count(src); ++k) {
    const char *key = NULL, *value = NULL;
    CHECK_OK(aihw_state_dict_metadata_at(src, k, &key, &value));
    CHECK_OK(aihw_state_dict_set_metadata(d, key, value));
  }
  for (size_t k = 0; k < aihw_state_dict_count(src); ++k) {
    aihw_state_tensor t;
    CHECK_OK(aihw_state_dict_at(src, k, &t));
    int dropped = 0;
    for (const char *const *p = drop; p != NULL && *p != NULL; ++p)
      dropped |= strcmp(*p, t.name) == 0;
    if (!dropped)
      CHECK_OK(aihw_state_dict_add(d, t.name, t.dtype, t.shape, t.ndim, t.data));
  }
  if (extra != NULL) {
    const float one = 1.0f;
    CHECK_OK(aihw_state_dict_add(d, extra, AIHW_STATE_F32, NULL, 0, &one));
  }
  return d;
}

static void dict_round_trip_continues_training_bit_identically(void) {
  float ya[10], yb[10], yc[10];
  aihw_module *a = make_net(0.001f, 3);
  train(a, 3, 1, ya);
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_module_state_dict(a, &d));
  /* into a fresh module of the same configuration (other initial weights: seed steps) */
  aihw_module *b = make_net(0.001f, 3);
  train(b, 1, 77, yb);
  CHECK(!same_state(a, b));
  CHECK_OK(aihw_module_load_state_dict(b, d, 1, AIHW_CONFIG_MUST_MATCH));
  CHECK(same_state(a, b));
  /* and a module built from the dict alone */
  aihw_module *c = NULL;
  CHECK_OK(aihw_module_from_state_dict(d, &c));
  CHECK(c != NULL && same_state(a, c));
  train(a, 4, 50, ya);
  train(b, 4, 50, yb);
  train(c, 4, 50, yc);
  CHECK(memcmp(ya, yb, sizeof ya) == 0);
  CHECK(memcmp(ya, yc, sizeof ya) == 0);
  CHECK(same_state(a, b) && same_state(a, c));
  aihw_state_dict_destroy(d);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
  aihw_module_destroy(c);
}

static void dict_lists_tensors_and_metadata(void) {
  aihw_module *a = make_net(0.001f, 3);
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_module_state_dict(a, &d));
  CHECK(aihw_state_dict_count(d) > 4);
  CHECK(strcmp(aihw_state_dict_metadata(d, "aihw_format"), "aihw-module") == 0);
  CHECK(strcmp(aihw_state_dict_metadata(d, "format_version"), "1") == 0);
  CHECK(aihw_state_dict_metadata(d, "aihw_version") != NULL);
  const char *arch = aihw_state_dict_metadata(d, "architecture");
  CHECK(arch != NULL && strstr(arch, "\"tile_config\"") != NULL &&
        strstr(arch, "\"mapping\"") != NULL);
  CHECK(aihw_state_dict_metadata(d, "nope") == NULL);
  CHECK(aihw_state_dict_contains(d, "0.tiles.0.0.weights"));
  CHECK(aihw_state_dict_contains(d, "2.bias"));
  CHECK(!aihw_state_dict_contains(d, "1.bias"));
  aihw_state_tensor t;
  CHECK_OK(aihw_state_dict_find(d, "0.tiles.0.0.weights", &t));
  CHECK(t.dtype == AIHW_STATE_F32 && t.ndim == 2 && t.shape[0] == 3 && t.shape[1] == 4 &&
        t.numel == 12 && t.nbytes == 48);
  float w[12];
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(a, 0), w, NULL, 1));
  CHECK(memcmp(w, t.data, sizeof w) == 0);
  CHECK(strcmp(aihw_state_dtype_name(t.dtype), "F32") == 0);
  CHECK_STATUS(aihw_state_dict_find(d, "0.nothing", &t), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("0.nothing");
  CHECK_STATUS(aihw_state_dict_at(d, aihw_state_dict_count(d), &t), AIHW_ERR_INVALID_ARGUMENT);
  /* every name appears once when iterating */
  size_t found = 0;
  for (size_t k = 0; k < aihw_state_dict_count(d); ++k) {
    CHECK_OK(aihw_state_dict_at(d, k, &t));
    found += strcmp(t.name, "2.bias") == 0;
  }
  CHECK(found == 1);
  CHECK_STATUS(aihw_state_dict_add(d, "2.bias", AIHW_STATE_F32, NULL, 0, NULL),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_state_dict_add(d, "x", (aihw_state_dtype)40, NULL, 0, NULL),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dtype");
  aihw_state_dict_destroy(d);
  aihw_state_dict_destroy(NULL);
  aihw_module_destroy(a);
}

static void strict_load_names_every_missing_and_unexpected_key(void) {
  float y[10];
  aihw_module *a = make_net(0.001f, 3);
  train(a, 2, 3, y);
  aihw_module *b = make_net(0.001f, 3);
  aihw_state_dict *d = NULL, *before = NULL;
  CHECK_OK(aihw_module_state_dict(a, &d));
  CHECK_OK(aihw_module_state_dict(b, &before));
  static const char *const drop[] = {"0.tiles.0.0.weights", "2.bias", NULL};
  aihw_state_dict *e = edited(d, drop, "5.surplus");
  CHECK_STATUS(aihw_module_load_state_dict(b, e, 1, AIHW_CONFIG_MUST_MATCH), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("2 missing");
  CHECK_ERROR_MENTIONS("0.tiles.0.0.weights");
  CHECK_ERROR_MENTIONS("2.bias");
  CHECK_ERROR_MENTIONS("1 unexpected");
  CHECK_ERROR_MENTIONS("5.surplus");
  aihw_module *fresh = NULL;
  CHECK_OK(aihw_module_from_state_dict(before, &fresh));
  CHECK(same_state(b, fresh)); /* unchanged */
  /* non-strict: everything present is loaded, the missing tensors keep b's values */
  CHECK_OK(aihw_module_load_state_dict(b, e, 0, AIHW_CONFIG_MUST_MATCH));
  float wa[12], wb[12], wf[12], ba[2], bb[2], bf[2];
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(a, 0), wa, NULL, 1));
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(b, 0), wb, NULL, 1));
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(fresh, 0), wf, NULL, 1));
  CHECK(memcmp(wb, wf, sizeof wb) == 0 && memcmp(wb, wa, sizeof wb) != 0);
  float w2a[6], w2b[6], w2f[6];
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(a, 2), w2a, ba, 1));
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(b, 2), w2b, bb, 1));
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(fresh, 2), w2f, bf, 1));
  CHECK(memcmp(w2a, w2f, sizeof w2a) != 0);
  CHECK(memcmp(w2a, w2b, sizeof w2a) == 0); /* loaded */
  CHECK(memcmp(bb, bf, sizeof bb) == 0 && memcmp(ba, bb, sizeof ba) != 0); /* kept */
  aihw_state_dict_destroy(d);
  aihw_state_dict_destroy(e);
  aihw_state_dict_destroy(before);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
  aihw_module_destroy(fresh);
}

static float tile_dw_min(const aihw_module *net) {
  aihw_tile_config c;
  CHECK_OK(aihw_tile_get_config(aihw_linear_tile(aihw_module_child(net, 0), 0, 0), &c));
  return c.device.dw_min;
}

static void config_policies_decide_explicitly(void) {
  float y[10];
  aihw_module *a = make_net(0.002f, 3); /* the stored configuration: dw_min 0.002 */
  train(a, 2, 5, y);
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_module_state_dict(a, &d));
  aihw_module *b = make_net(0.001f, 3);
  aihw_module *b_copy = make_net(0.001f, 3);
  /* MUST_MATCH refuses and names the first differing field */
  CHECK_STATUS(aihw_module_load_state_dict(b, d, 1, AIHW_CONFIG_MUST_MATCH), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("children[0].tile_config.device.dw_min");
  CHECK_ERROR_MENTIONS("0.002");
  CHECK_ERROR_MENTIONS("AIHW_CONFIG_KEEP_MODULE");
  CHECK(same_state(b, b_copy));
  /* the file functions keep refusing, as before */
  char path[] = "/tmp/aihw_state_dict_XXXXXX";
  const int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK_OK(aihw_state_dict_save(d, path));
  CHECK_STATUS(aihw_module_load(b, path, 1), AIHW_ERR_FORMAT);
  CHECK(same_state(b, b_copy));
  /* KEEP_MODULE: the module's configuration stays, the tensors are loaded */
  CHECK_OK(aihw_module_load_state_dict(b, d, 1, AIHW_CONFIG_KEEP_MODULE));
  CHECK_FEQ(tile_dw_min(b), 0.001f);
  float wa[12], wb[12];
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(a, 0), wa, NULL, 1));
  CHECK_OK(aihw_linear_get_weights(aihw_module_child(b, 0), wb, NULL, 1));
  CHECK(memcmp(wa, wb, sizeof wa) == 0);
  CHECK(!same_state(a, b)); /* architecture metadata differs (dw_min) */
  /* FROM_STATE: rebuilt with the stored configuration: equals a in every respect */
  aihw_module *c = make_net(0.001f, 3);
  aihw_module *c_addr = c;
  CHECK_OK(aihw_module_load_state_dict(c, d, 1, AIHW_CONFIG_FROM_STATE));
  CHECK(c == c_addr);
  CHECK_FEQ(tile_dw_min(c), 0.002f);
  CHECK(same_state(a, c));
  float ya[10], yc[10];
  train(a, 3, 9, ya);
  train(c, 3, 9, yc);
  CHECK(memcmp(ya, yc, sizeof ya) == 0);
  /* a loaded file equals its dict */
  aihw_state_dict *back = NULL;
  CHECK_OK(aihw_state_dict_load(path, &back));
  CHECK(aihw_state_dict_count(back) == aihw_state_dict_count(d));
  aihw_module *from_file = NULL;
  CHECK_OK(aihw_module_load_new(path, &from_file));
  aihw_module *from_dict = NULL;
  CHECK_OK(aihw_module_from_state_dict(back, &from_dict));
  CHECK(same_state(from_file, from_dict));
  unlink(path);
  aihw_state_dict_destroy(back);
  aihw_module_destroy(from_file);
  aihw_module_destroy(from_dict);
  aihw_state_dict_destroy(d);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
  aihw_module_destroy(b_copy);
  aihw_module_destroy(c);
}

static void failing_loads_change_nothing(void) {
  float y[10];
  aihw_module *a = make_net(0.001f, 3);
  train(a, 2, 21, y);
  aihw_state_dict *d = NULL;
  CHECK_OK(aihw_module_state_dict(a, &d));
  aihw_module *b = make_net(0.001f, 3), *b_copy = make_net(0.001f, 3);
  /* arguments */
  CHECK_STATUS(aihw_module_load_state_dict(NULL, d, 1, AIHW_CONFIG_MUST_MATCH),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_module_load_state_dict(b, NULL, 1, AIHW_CONFIG_MUST_MATCH),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_module_load_state_dict(b, d, 2, AIHW_CONFIG_MUST_MATCH),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("strict");
  CHECK_STATUS(aihw_module_load_state_dict(b, d, 1, (aihw_config_policy)7),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("policy");
  CHECK_STATUS(aihw_module_state_dict(NULL, &d), AIHW_ERR_INVALID_ARGUMENT);
  /* a bad tensor (wrong shape), under every policy */
  static const char *const drop[] = {"2.bias", NULL};
  aihw_state_dict *e = edited(d, drop, NULL);
  const float three[3] = {0.1f, 0.2f, 0.3f};
  const size_t shape3[1] = {3};
  CHECK_OK(aihw_state_dict_add(e, "2.bias", AIHW_STATE_F32, shape3, 1, three));
  for (int p = 0; p < 3; ++p) {
    CHECK_STATUS(aihw_module_load_state_dict(b, e, 0, (aihw_config_policy)p), AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS("2.bias");
    CHECK(same_state(b, b_copy));
  }
  aihw_state_dict_destroy(e);
  /* a non-finite value */
  e = edited(d, drop, NULL);
  const float bad[2] = {0.0f, NAN};
  const size_t shape2[1] = {2};
  CHECK_OK(aihw_state_dict_add(e, "2.bias", AIHW_STATE_F32, shape2, 1, bad));
  CHECK_STATUS(aihw_module_load_state_dict(b, e, 1, AIHW_CONFIG_FROM_STATE),
               AIHW_ERR_NOT_FINITE);
  CHECK(same_state(b, b_copy));
  aihw_state_dict_destroy(e);
  /* no aihw metadata */
  aihw_state_dict *bare = NULL;
  CHECK_OK(aihw_state_dict_create(&bare));
  CHECK_STATUS(aihw_module_load_state_dict(b, bare, 0, AIHW_CONFIG_KEEP_MODULE),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("not an aihw module");
  aihw_module *none = NULL;
  CHECK_STATUS(aihw_module_from_state_dict(bare, &none), AIHW_ERR_FORMAT);
  CHECK(none == NULL);
  aihw_state_dict_destroy(bare);
  /* another structure (hidden 4 instead of 3) under every policy */
  aihw_module *wide = make_net(0.001f, 4);
  for (int p = 0; p < 3; ++p) {
    CHECK_STATUS(aihw_module_load_state_dict(wide, d, 0, (aihw_config_policy)p),
                 AIHW_ERR_FORMAT);
    CHECK_ERROR_MENTIONS("out_features");
  }
  aihw_module *wide_copy = make_net(0.001f, 4);
  CHECK(same_state(wide, wide_copy));
  /* gradients pending: no dict */
  float x[20], dy[10];
  fill(x, 20, 3, 1.0f);
  fill(dy, 10, 4, 1.0f);
  CHECK_OK(aihw_module_forward(b, x, 5, 4, y, 2));
  CHECK_OK(aihw_module_backward(b, dy, 5, 2, NULL, 4));
  aihw_state_dict *pending = NULL;
  CHECK_STATUS(aihw_module_state_dict(b, &pending), AIHW_ERR_STATE);
  CHECK(pending == NULL);
  aihw_state_dict_destroy(d);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
  aihw_module_destroy(b_copy);
  aihw_module_destroy(wide);
  aihw_module_destroy(wide_copy);
}

/* Files written before the state dicts existed (the fuzz seeds of tests/fuzz/corpus,
 * made by make_fuzz_seeds.c: one mode byte, then a module file) load through the dict
 * functions: strict into the module they came from, and rebuilt alone. */
static void earlier_files_still_load(void) {
  static const char *const names[] = {"state_analog", "state_inference",
                                      "state_floating_point"};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; ++k) {
    char path[512];
    snprintf(path, sizeof path, "%s/../fuzz/corpus/fuzz_module_state/%s", AIHW_TEST_DATA_DIR,
             names[k]);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    if (f == NULL)
      continue;
    static unsigned char bytes[1 << 20];
    const size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    CHECK(n > 1 && n < sizeof bytes);
    aihw_state_dict *d = NULL;
    CHECK_OK(aihw_st_read_memory(bytes + 1, n - 1, &d));
    aihw_module *m = NULL;
    CHECK_OK(aihw_module_from_state_dict(d, &m));
    CHECK(m != NULL && aihw_module_child_count(m) == 3);
    /* and strictly into a module of its architecture (MUST_MATCH: configs equal) */
    aihw_module *again = NULL;
    CHECK_OK(aihw_module_from_state_dict(d, &again));
    CHECK_OK(aihw_module_load_state_dict(again, d, 1, AIHW_CONFIG_MUST_MATCH));
    CHECK(same_state(m, again));
    aihw_module_destroy(again);
    aihw_module_destroy(m);
    aihw_state_dict_destroy(d);
  }
}

TEST_MAIN(TEST(dict_round_trip_continues_training_bit_identically),
          TEST(dict_lists_tensors_and_metadata),
          TEST(strict_load_names_every_missing_and_unexpected_key),
          TEST(config_policies_decide_explicitly), TEST(failing_loads_change_nothing),
          TEST(earlier_files_still_load))
