/* Allocation-failure injection (issue 9, item 3): for the create, forward, backward,
 * update, program/drift, save and load paths of tiles and modules, the n-th allocation
 * is made to fail (aihw_alloc_fail_after, src/core/alloc.h) for every n from 1 up to the
 * number of allocations the call makes. Each failure must be AIHW_ERR_OUT_OF_MEMORY,
 * change nothing (the object's complete exported state, its random-stream counters
 * included, is compared byte for byte) and leave the object usable: after the failures,
 * the same call succeeds and gives bit-identical results to an object that never saw a
 * failure. Exception: a container's backward and step are not transactional (layers that
 * ran before the failure keep their gradients / updates, as nn.h documents for the step);
 * for them only the status, the absence of leaks and further training are checked. Leaks are the sanitizer and valgrind stages' part (scripts/test.sh runs this
 * program under both).
 *
 * Only allocations through aihw_alloc_array / aihw_calloc_array can be injected; cJSON's
 * (configuration JSON, architecture) and OpenBLAS's own are not. */
#define _XOPEN_SOURCE 700 /* getpid */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"
#include "test_util.h"
#include "tile/tile_internal.h"

enum { OUT = 4, IN = 6, BATCH = 3, HIDDEN = 5, MAX_ALLOCS = 100000 };

static void fill(float *v, int64_t n, uint32_t seed, float scale) {
  uint32_t x = seed;
  for (int64_t k = 0; k < n; ++k) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[k] = scale * ((float)(x >> 8) * 0x1p-23f - 1.0f);
  }
}

/* ---- state snapshots ---------------------------------------------------------------- */

typedef struct snapshot {
  void *bytes;
  size_t size;
} snapshot;

static snapshot tile_snapshot(const aihw_tile *t) {
  snapshot s = {NULL, 0};
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_tile_state_export(t, d, "t."));
  CHECK_OK(aihw_st_write_memory(d, &s.bytes, &s.size));
  aihw_st_dict_destroy(d);
  return s;
}

static snapshot module_snapshot(const aihw_module *m) {
  snapshot s = {NULL, 0};
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_module_state_export(m, d));
  CHECK_OK(aihw_st_write_memory(d, &s.bytes, &s.size));
  aihw_st_dict_destroy(d);
  return s;
}

static int same_snapshot(snapshot a, snapshot b) {
  return a.bytes != NULL && b.bytes != NULL && a.size == b.size &&
         memcmp(a.bytes, b.bytes, a.size) == 0;
}

static void snapshot_free(snapshot *s) {
  aihw_free(s->bytes);
  s->bytes = NULL;
}

/* ---- the driver --------------------------------------------------------------------- */

/* One operation on an object: `run` performs it (returning its status), `snapshot`
 * captures the object's state (NULL: nothing to compare, e.g. creation). */
typedef struct op {
  const char *name;
  aihw_status (*run)(void *ctx);
  snapshot (*snap)(void *ctx);
  void *ctx;
} op;

/* Fails allocation n = 1, 2, ... of op until it succeeds; returns how many allocations
 * it needed (the successful run's n - 1), or -1 after a check failed. */
static long walk_failures(const op *o) {
  for (long n = 1; n <= MAX_ALLOCS; ++n) {
    snapshot before = o->snap != NULL ? o->snap(o->ctx) : (snapshot){NULL, 0};
    aihw_alloc_fail_after(n);
    const aihw_status s = o->run(o->ctx);
    aihw_alloc_fail_after(0);
    if (s == AIHW_OK) {
      snapshot_free(&before);
      return n - 1;
    }
    int ok = s == AIHW_ERR_OUT_OF_MEMORY && strstr(aihw_last_error(), "injected") != NULL;
    if (!ok)
      fprintf(stderr, "%s: allocation %ld failed: status %s (%s), expected OUT_OF_MEMORY\n",
              o->name, n, aihw_status_name(s), aihw_last_error());
    if (o->snap != NULL) {
      snapshot after = o->snap(o->ctx);
      if (!same_snapshot(before, after)) {
        fprintf(stderr, "%s: allocation %ld failed and the state changed\n", o->name, n);
        ok = 0;
      }
      snapshot_free(&after);
    }
    snapshot_free(&before);
    CHECK(ok);
    if (!ok)
      return -1;
  }
  fprintf(stderr, "%s: still failing after %d allocations\n", o->name, MAX_ALLOCS);
  CHECK(0);
  return -1;
}

/* ---- tiles -------------------------------------------------------------------------- */

typedef struct tile_ctx {
  aihw_tile_config config;
  aihw_tile *tile;
  float x[BATCH * IN], d[BATCH * OUT], y[BATCH * OUT], z[BATCH * IN];
} tile_ctx;

static snapshot tile_snap(void *p) { return tile_snapshot(((tile_ctx *)p)->tile); }

static aihw_status tile_create_op(void *p) {
  tile_ctx *c = p;
  aihw_tile *t = (aihw_tile *)(uintptr_t)1;
  const aihw_status s = aihw_tile_create(&c->config, OUT, IN, &t);
  if (s != AIHW_OK) {
    CHECK(t == (aihw_tile *)(uintptr_t)1); /* *out untouched on error */
    return s;
  }
  aihw_tile_destroy(c->tile);
  c->tile = t;
  return s;
}
static aihw_status tile_forward_op(void *p) {
  tile_ctx *c = p;
  return aihw_tile_forward(c->tile, c->x, BATCH, IN, c->y, OUT);
}
static aihw_status tile_backward_op(void *p) {
  tile_ctx *c = p;
  return aihw_tile_backward(c->tile, c->d, BATCH, OUT, c->z, IN);
}
static aihw_status tile_update_op(void *p) {
  tile_ctx *c = p;
  return aihw_tile_update(c->tile, c->x, BATCH, IN, c->d, OUT, 0.05f);
}
static aihw_status tile_post_update_op(void *p) {
  return aihw_tile_post_update_step(((tile_ctx *)p)->tile);
}
static aihw_status tile_program_op(void *p) {
  return aihw_tile_program_weights(((tile_ctx *)p)->tile);
}
static aihw_status tile_drift_op(void *p) { return aihw_tile_drift_to(((tile_ctx *)p)->tile, 3600.0f); }

/* Runs the sequence of tile operations on a tile that sees every failure and on a
 * reference that sees none; outputs and states must agree bit for bit after each step. */
static void check_tile_paths(const aihw_tile_config *config, int inference) {
  tile_ctx a, ref;
  memset(&a, 0, sizeof a);
  a.config = *config;
  fill(a.x, BATCH * IN, 11, 1.0f);
  fill(a.d, BATCH * OUT, 12, 0.5f);
  ref = a;
  float w[OUT * IN];
  fill(w, OUT * IN, 13, 0.3f);

  op create = {"tile create", tile_create_op, NULL, &a};
  CHECK(walk_failures(&create) > 0);
  CHECK_OK(tile_create_op(&ref));
  if (a.tile == NULL || ref.tile == NULL)
    return;
  CHECK_OK(aihw_tile_set_weights(a.tile, w, OUT, IN));
  CHECK_OK(aihw_tile_set_weights(ref.tile, w, OUT, IN));

  struct {
    const char *name;
    aihw_status (*run)(void *);
    int inference_only;
  } steps[] = {{"tile forward", tile_forward_op, 0},   {"tile backward", tile_backward_op, 0},
               {"tile update", tile_update_op, 0},     {"tile post-update", tile_post_update_op, 0},
               {"tile forward 2", tile_forward_op, 0}, {"tile program", tile_program_op, 1},
               {"tile drift", tile_drift_op, 1},       {"tile forward 3", tile_forward_op, 1}};
  for (size_t k = 0; k < sizeof steps / sizeof steps[0]; ++k) {
    if (steps[k].inference_only && !inference)
      continue;
    if (steps[k].inference_only && k == 5) { /* programming needs evaluation mode */
      CHECK_OK(aihw_tile_set_training(a.tile, 0));
      CHECK_OK(aihw_tile_set_training(ref.tile, 0));
    }
    op o = {steps[k].name, steps[k].run, tile_snap, &a};
    CHECK(walk_failures(&o) >= 0);
    CHECK_OK(steps[k].run(&ref));
    CHECK(memcmp(a.y, ref.y, sizeof a.y) == 0);
    CHECK(memcmp(a.z, ref.z, sizeof a.z) == 0);
    snapshot sa = tile_snap(&a), sr = tile_snap(&ref);
    if (!same_snapshot(sa, sr))
      fprintf(stderr, "after %s: the tile that saw failures differs from the reference\n",
              steps[k].name);
    CHECK(same_snapshot(sa, sr));
    snapshot_free(&sa);
    snapshot_free(&sr);
  }
  aihw_tile_destroy(a.tile);
  aihw_tile_destroy(ref.tile);
}

static void analog_tile_paths_survive_every_allocation_failure(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 5;
  c.device.dw_min_dtod = 0.2f;
  c.device.lifetime = 100.0f;
  c.device.diffusion = 0.01f;
  c.forward.noise_management = AIHW_NM_AVERAGE_ABS_MAX;
  check_tile_paths(&c, 0);
}

static void preset_tile_paths_survive_every_allocation_failure(void) {
  aihw_tile_config c;
  CHECK_OK(aihw_tile_config_preset("ReRamSBPreset", &c));
  check_tile_paths(&c, 0);
}

static void floating_point_tile_paths_survive_every_allocation_failure(void) {
  const aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  check_tile_paths(&c, 0);
}

static void inference_tile_paths_survive_every_allocation_failure(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  c.seed = 9;
  check_tile_paths(&c, 1);
}

/* ---- modules ------------------------------------------------------------------------ */

typedef struct module_ctx {
  aihw_tile_config config;
  aihw_module *m;
  const char *path;
  float x[BATCH * IN], y[BATCH * OUT], dy[BATCH * OUT], dx[BATCH * IN];
} module_ctx;

static snapshot module_snap(void *p) { return module_snapshot(((module_ctx *)p)->m); }

/* Linear(IN, HIDDEN) on a 2 x 1 grid (max_input_size 3) - Tanh - Linear(HIDDEN, OUT). */
static aihw_status module_create_op(void *p) {
  module_ctx *c = p;
  aihw_tile_config tc = c->config;
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.max_input_size = 3;
  aihw_module *net = NULL, *l1 = NULL, *act = NULL, *l2 = NULL;
  aihw_status s = aihw_sequential_create(&net);
  if (s == AIHW_OK)
    s = aihw_linear_create(&tc, &mp, IN, HIDDEN, 1, &l1);
  if (s == AIHW_OK)
    s = aihw_sequential_append(net, l1);
  if (s == AIHW_OK)
    s = aihw_activation_create(AIHW_MODULE_TANH, HIDDEN, &act);
  if (s == AIHW_OK)
    s = aihw_sequential_append(net, act);
  tc.tile_id = 2;
  if (s == AIHW_OK)
    s = aihw_linear_create(&tc, NULL, HIDDEN, OUT, 1, &l2);
  if (s == AIHW_OK)
    s = aihw_sequential_append(net, l2);
  if (s != AIHW_OK) {
    aihw_module_destroy(net);
    return s;
  }
  aihw_module_destroy(c->m);
  c->m = net;
  return AIHW_OK;
}
static aihw_status module_forward_op(void *p) {
  module_ctx *c = p;
  return aihw_module_forward(c->m, c->x, BATCH, IN, c->y, OUT);
}
static aihw_status module_backward_op(void *p) {
  module_ctx *c = p;
  return aihw_module_backward(c->m, c->dy, BATCH, OUT, c->dx, IN);
}
static aihw_status module_step_op(void *p) { return aihw_module_step(((module_ctx *)p)->m, 0.1f); }
static aihw_status module_save_op(void *p) {
  module_ctx *c = p;
  return aihw_module_save(c->m, c->path);
}
static aihw_status module_load_op(void *p) {
  module_ctx *c = p;
  return aihw_module_load(c->m, c->path, 1);
}
static aihw_status module_load_new_op(void *p) {
  module_ctx *c = p;
  aihw_module *m = (aihw_module *)(uintptr_t)1;
  const aihw_status s = aihw_module_load_new(c->path, &m);
  if (s != AIHW_OK) {
    CHECK(m == (aihw_module *)(uintptr_t)1);
    return s;
  }
  aihw_module_destroy(c->m);
  c->m = m;
  return s;
}

static int same_snapshot_of(module_ctx *a, module_ctx *b) {
  snapshot sa = module_snap(a), sb = module_snap(b);
  const int same = same_snapshot(sa, sb);
  snapshot_free(&sa);
  snapshot_free(&sb);
  return same;
}

static void *file_bytes(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  *size = 0;
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n)
    *size = (size_t)n;
  fclose(f);
  return buf;
}

static void check_module_paths(const aihw_tile_config *config) {
  char path[256], ref_path[256];
  snprintf(path, sizeof path, "/tmp/aihw_test_alloc_%d.safetensors", (int)getpid());
  snprintf(ref_path, sizeof ref_path, "/tmp/aihw_test_alloc_%d_ref.safetensors",
           (int)getpid());
  module_ctx a, ref;
  memset(&a, 0, sizeof a);
  a.config = *config;
  fill(a.x, BATCH * IN, 21, 1.0f);
  fill(a.dy, BATCH * OUT, 22, 0.5f);
  ref = a;
  a.path = path;
  ref.path = ref_path;

  op create = {"module create", module_create_op, NULL, &a};
  CHECK(walk_failures(&create) > 0);
  CHECK_OK(module_create_op(&ref));
  if (a.m == NULL || ref.m == NULL)
    return;
  /* a previous file that a failed save must leave as it was */
  CHECK_OK(aihw_module_save(a.m, path));
  size_t old_size = 0;
  void *old = file_bytes(path, &old_size);

  op fwd = {"module forward", module_forward_op, module_snap, &a};
  CHECK(walk_failures(&fwd) > 0);
  CHECK_OK(module_forward_op(&ref));
  CHECK(memcmp(a.y, ref.y, sizeof a.y) == 0);
  CHECK(same_snapshot_of(&a, &ref));

  /* backward and step of a container are not transactional: layers after (backward) or
   * before (step, as nn.h documents) the failing one keep what they did. Checked here:
   * out of memory, nothing leaked, and the module trains on afterwards. */
  for (long n = 1; n <= MAX_ALLOCS; ++n) {
    CHECK_OK(module_forward_op(&a));
    aihw_alloc_fail_after(n);
    const aihw_status s = module_backward_op(&a);
    aihw_alloc_fail_after(0);
    if (s == AIHW_OK)
      break;
    CHECK_STATUS(s, AIHW_ERR_OUT_OF_MEMORY);
    aihw_module_step(a.m, 0.0f); /* drops partial gradients (STATE when there are none) */
  }
  for (long n = 1; n <= MAX_ALLOCS; ++n) {
    aihw_alloc_fail_after(n);
    const aihw_status s = module_step_op(&a);
    aihw_alloc_fail_after(0);
    if (s == AIHW_OK)
      break;
    CHECK_STATUS(s, AIHW_ERR_OUT_OF_MEMORY);
    CHECK_OK(module_forward_op(&a));
    CHECK_OK(module_backward_op(&a));
  }
  CHECK_OK(module_forward_op(&a));
  CHECK_OK(module_backward_op(&a));
  CHECK_OK(module_step_op(&a));
  /* the reference continues from a's state */
  CHECK_OK(aihw_module_save(a.m, ref_path));
  CHECK_OK(aihw_module_load(ref.m, ref_path, 1));
  CHECK_OK(aihw_module_save(a.m, path));
  free(old);
  old = file_bytes(path, &old_size);

  struct {
    const char *name;
    aihw_status (*run)(void *);
  } steps[] = {{"module save", module_save_op},
               {"module load", module_load_op},
               {"module load_new", module_load_new_op},
               {"module forward 2", module_forward_op}};
  for (size_t k = 0; k < sizeof steps / sizeof steps[0]; ++k) {
    const int saving = steps[k].run == module_save_op;
    op o = {steps[k].name, steps[k].run, module_snap, &a};
    if (saving) { /* every failed save leaves the previous file complete */
      for (long n = 1;; ++n) {
        aihw_alloc_fail_after(n);
        const aihw_status s = module_save_op(&a);
        aihw_alloc_fail_after(0);
        if (s == AIHW_OK)
          break;
        CHECK_STATUS(s, AIHW_ERR_OUT_OF_MEMORY);
        size_t now_size = 0;
        void *now = file_bytes(path, &now_size);
        CHECK(now != NULL && now_size == old_size && memcmp(now, old, old_size) == 0);
        free(now);
        if (s != AIHW_ERR_OUT_OF_MEMORY || n > MAX_ALLOCS)
          break;
      }
    } else {
      CHECK(walk_failures(&o) >= 0);
    }
    CHECK_OK(steps[k].run(&ref));
    if (steps[k].run == module_forward_op)
      CHECK(memcmp(a.y, ref.y, sizeof a.y) == 0);
    snapshot sa = module_snap(&a), sr = module_snap(&ref);
    if (!same_snapshot(sa, sr))
      fprintf(stderr, "after %s: the module that saw failures differs from the reference\n",
              steps[k].name);
    CHECK(same_snapshot(sa, sr));
    snapshot_free(&sa);
    snapshot_free(&sr);
  }
  free(old);
  remove(path);
  remove(ref_path);
  aihw_module_destroy(a.m);
  aihw_module_destroy(ref.m);
}

static void analog_module_paths_survive_every_allocation_failure(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = 17;
  c.device.dw_min_dtod = 0.3f;
  check_module_paths(&c);
}

static void inference_module_paths_survive_every_allocation_failure(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  c.seed = 18;
  check_module_paths(&c);
}

TEST_MAIN(TEST(analog_tile_paths_survive_every_allocation_failure),
          TEST(preset_tile_paths_survive_every_allocation_failure),
          TEST(floating_point_tile_paths_survive_every_allocation_failure),
          TEST(inference_tile_paths_survive_every_allocation_failure),
          TEST(analog_module_paths_survive_every_allocation_failure),
          TEST(inference_module_paths_survive_every_allocation_failure))
