/* Fuzz target: module state files and model descriptions (aihw_module_load_new and
 * aihw_module_load; src/nn/state.c). Input byte 0 picks the mode:
 *   even  the rest is a whole state file (safetensors with aihw metadata);
 *   odd   the rest is a model description (the "architecture" JSON), wrapped into an
 *         otherwise valid header (format name and version) without tensors, so that the
 *         fuzzer works on the JSON directly.
 *
 * Invariants: load_new either fails leaving *out NULL or gives a module whose forward pass
 * runs on a small batch (returning cleanly); aihw_module_load into a fixed module (the
 * architecture of the seed files, strict or not by bit 1 of byte 0) either succeeds or
 * leaves that module's state unchanged; an accepted file saves and loads again. Sizes the
 * file declares are bounded by its data (see state.c), so no input allocates more than a
 * small multiple of its own size. */
#include "fuzz_util.h"

#include <math.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"

enum { FIXED_IN = 6, FIXED_HIDDEN = 5, FIXED_OUT = 3, BATCH = 2 };

/* The module of the seed corpus (make_fuzz_seeds.c builds the same). */
static aihw_module *fixed_module(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_module *seq = NULL, *l1 = NULL, *act = NULL, *l2 = NULL;
  if (aihw_sequential_create(&seq) != AIHW_OK ||
      aihw_linear_create(&c, NULL, FIXED_IN, FIXED_HIDDEN, 1, &l1) != AIHW_OK ||
      aihw_sequential_append(seq, l1) != AIHW_OK ||
      aihw_activation_create(AIHW_MODULE_SIGMOID, FIXED_HIDDEN, &act) != AIHW_OK ||
      aihw_sequential_append(seq, act) != AIHW_OK ||
      aihw_linear_create(&c, NULL, FIXED_HIDDEN, FIXED_OUT, 0, &l2) != AIHW_OK ||
      aihw_sequential_append(seq, l2) != AIHW_OK) {
    fprintf(stderr, "fuzz_module_state: cannot build the fixed module: %s\n",
            aihw_last_error());
    abort();
  }
  return seq;
}

/* The module's serialised state (caller frees with aihw_free). */
static void *state_bytes(const aihw_module *m, size_t *n) {
  aihw_st_dict *d = NULL;
  void *bytes = NULL;
  FUZZ_REQUIRE(aihw_st_dict_create(&d) == AIHW_OK);
  FUZZ_REQUIRE(aihw_module_state_export(m, d) == AIHW_OK);
  FUZZ_REQUIRE(aihw_st_write_memory(d, &bytes, n) == AIHW_OK);
  aihw_st_dict_destroy(d);
  return bytes;
}

/* The module's state equals the exported `ref` (tensor by tensor; the metadata holds only
 * the architecture, which a load never changes). */
static void unchanged(const aihw_module *m, const aihw_st_dict *ref) {
  aihw_st_dict *d = NULL;
  FUZZ_REQUIRE(aihw_st_dict_create(&d) == AIHW_OK);
  FUZZ_REQUIRE(aihw_module_state_export(m, d) == AIHW_OK);
  FUZZ_REQUIRE(aihw_st_dict_count(d) == aihw_st_dict_count(ref));
  for (size_t k = 0; k < aihw_st_dict_count(d); ++k) {
    aihw_st_tensor a, b;
    FUZZ_REQUIRE(aihw_st_dict_at(d, k, &a) == AIHW_OK);
    FUZZ_REQUIRE(aihw_st_dict_at(ref, k, &b) == AIHW_OK);
    FUZZ_REQUIRE(strcmp(a.name, b.name) == 0 && a.nbytes == b.nbytes);
    FUZZ_REQUIRE(memcmp(a.data, b.data, a.nbytes) == 0);
  }
  aihw_st_dict_destroy(d);
}

static void check_usable(aihw_module *m) {
  const int64_t in = aihw_module_in_features(m), out = aihw_module_out_features(m);
  /* bounded by the file's data: a linear layer's weights are in the file */
  if (in < 1 || out < 1 || in > (1 << 16) || out > (1 << 16))
    return;
  float *x = calloc((size_t)(BATCH * in), sizeof *x);
  float *y = calloc((size_t)(BATCH * out), sizeof *y);
  FUZZ_REQUIRE(x != NULL && y != NULL);
  for (int64_t k = 0; k < BATCH * in; ++k)
    x[k] = 0.25f * (float)(k % 5) - 0.5f;
  /* a loaded tree may still not chain (sizes of consecutive children), be empty, or
   * overflow with huge (finite) floating-point weights: only a clean return is required */
  const aihw_status s = aihw_module_forward(m, x, BATCH, in, y, out);
  FUZZ_REQUIRE(s == AIHW_OK || s == AIHW_ERR_SHAPE || s == AIHW_ERR_STATE ||
               s == AIHW_ERR_NOT_FINITE);
  free(x);
  free(y);
}

/* Wraps a model description into a state file without tensors; NULL when it cannot. */
static void *wrap_architecture(const uint8_t *data, size_t size, size_t *n) {
  char *text = fuzz_cstring(data, size);
  aihw_st_dict *d = NULL;
  void *bytes = NULL;
  if (text != NULL && aihw_st_dict_create(&d) == AIHW_OK &&
      aihw_st_dict_set_metadata(d, "aihw_format", "aihw-module") == AIHW_OK &&
      aihw_st_dict_set_metadata(d, "format_version", "1") == AIHW_OK &&
      aihw_st_dict_set_metadata(d, "architecture", text) == AIHW_OK &&
      aihw_st_write_memory(d, &bytes, n) != AIHW_OK)
    bytes = NULL;
  aihw_st_dict_destroy(d);
  free(text);
  return bytes;
}

/* The module every input is also loaded into, and its state (created once, freed at exit). */
static aihw_module *fixed = NULL;
static aihw_st_dict *fixed_dict = NULL;

static void free_fixed(void) {
  aihw_module_destroy(fixed);
  aihw_st_dict_destroy(fixed_dict);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fixed == NULL) {
    size_t n0 = 0;
    fixed = fixed_module();
    void *state = state_bytes(fixed, &n0);
    FUZZ_REQUIRE(aihw_st_read_memory(state, n0, &fixed_dict) == AIHW_OK);
    aihw_free(state);
    atexit(free_fixed);
  }
  if (size < 1)
    return 0;
  void *wrapped = NULL;
  size_t n = size - 1;
  const uint8_t *file = data + 1;
  if ((data[0] & 1) != 0) {
    wrapped = wrap_architecture(data + 1, size - 1, &n);
    if (wrapped == NULL)
      return 0;
    file = wrapped;
  }
  const char *path = fuzz_write_file(file, n);
  if (path == NULL) {
    aihw_free(wrapped);
    return 0;
  }

  aihw_module *m = (aihw_module *)(uintptr_t)1;
  const aihw_status s = aihw_module_load_new(path, &m);
  if (s != AIHW_OK) {
    FUZZ_REQUIRE(m == (aihw_module *)(uintptr_t)1);
  } else {
    FUZZ_REQUIRE(m != NULL);
    check_usable(m);
    /* what was accepted saves and loads again (the bytes of aihw_module_save, written
     * without its fsyncs, which would dominate the time per input) */
    size_t saved_n = 0;
    void *saved = state_bytes(m, &saved_n);
    aihw_module *again = NULL;
    FUZZ_REQUIRE(fuzz_write_file(saved, saved_n) != NULL);
    FUZZ_REQUIRE(aihw_module_load_new(path, &again) == AIHW_OK);
    aihw_free(saved);
    aihw_module_destroy(again);
    aihw_module_destroy(m);
    if (fuzz_write_file(file, n) == NULL) /* back to the input for the load below */
      return 0;
  }

  const int strict = (data[0] >> 1) & 1;
  if (aihw_module_load(fixed, path, strict) != AIHW_OK) {
    unchanged(fixed, fixed_dict);
  } else { /* accepted: back to the fixed state, so that every input runs alone */
    FUZZ_REQUIRE(aihw_module_state_import(fixed, fixed_dict, 1) == AIHW_OK);
  }
  aihw_free(wrapped);
  return 0;
}
