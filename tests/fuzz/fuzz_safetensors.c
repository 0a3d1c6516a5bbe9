/* Fuzz target: the safetensors reader (aihw_st_read_memory; the file reader shares its
 * parser), which reads module state files and PyTorch/Hugging Face weights.
 *
 * Invariants checked on every input: failure leaves *out NULL; an accepted file's
 * tensors have nbytes = numel * dtype size and fit in the input; the typed accessors
 * agree with the dtype; writing the dict and reading it back gives the same names,
 * dtypes, shapes, bytes and metadata, and a second write gives the same bytes. */
#include "fuzz_util.h"

#include "core/alloc.h"
#include "core/safetensors.h"

static void same_dicts(const aihw_st_dict *a, const aihw_st_dict *b) {
  FUZZ_REQUIRE(aihw_st_dict_count(a) == aihw_st_dict_count(b));
  FUZZ_REQUIRE(aihw_st_dict_metadata_count(a) == aihw_st_dict_metadata_count(b));
  for (size_t i = 0; i < aihw_st_dict_count(a); ++i) {
    aihw_st_tensor ta, tb;
    FUZZ_REQUIRE(aihw_st_dict_at(a, i, &ta) == AIHW_OK);
    FUZZ_REQUIRE(aihw_st_dict_get(b, ta.name, &tb) == AIHW_OK);
    FUZZ_REQUIRE(ta.dtype == tb.dtype && ta.ndim == tb.ndim && ta.nbytes == tb.nbytes);
    for (size_t d = 0; d < ta.ndim; ++d)
      FUZZ_REQUIRE(ta.shape[d] == tb.shape[d]);
    FUZZ_REQUIRE(ta.nbytes == 0 || memcmp(ta.data, tb.data, ta.nbytes) == 0);
  }
  for (size_t i = 0; i < aihw_st_dict_metadata_count(a); ++i) {
    const char *key = NULL, *value = NULL;
    FUZZ_REQUIRE(aihw_st_dict_metadata_at(a, i, &key, &value) == AIHW_OK);
    const char *other = aihw_st_dict_metadata(b, key);
    FUZZ_REQUIRE(other != NULL && strcmp(other, value) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  aihw_st_dict *dict = (aihw_st_dict *)(uintptr_t)1;
  if (aihw_st_read_memory(data, size, &dict) != AIHW_OK) {
    FUZZ_REQUIRE(dict == NULL);
    return 0;
  }
  size_t total = 0;
  for (size_t i = 0; i < aihw_st_dict_count(dict); ++i) {
    aihw_st_tensor t;
    FUZZ_REQUIRE(aihw_st_dict_at(dict, i, &t) == AIHW_OK);
    FUZZ_REQUIRE(t.data != NULL && t.name != NULL);
    size_t numel = 1;
    for (size_t d = 0; d < t.ndim; ++d)
      numel *= t.shape[d]; /* cannot overflow: the reader checked the product */
    FUZZ_REQUIRE(numel == t.numel && t.nbytes == numel * aihw_st_dtype_size(t.dtype));
    FUZZ_REQUIRE(t.nbytes <= size - total);
    total += t.nbytes;
    volatile uint8_t sink = 0; /* touch every byte: ASan checks they are ours */
    for (size_t k = 0; k < t.nbytes; ++k)
      sink ^= ((const uint8_t *)t.data)[k];
    (void)sink;
    const float *f = NULL;
    const aihw_status s = aihw_st_dict_get_f32(dict, t.name, &f, NULL);
    FUZZ_REQUIRE((s == AIHW_OK) == (t.dtype == AIHW_ST_F32));
    const int64_t *l = NULL;
    FUZZ_REQUIRE((aihw_st_dict_get_i64(dict, t.name, &l, NULL) == AIHW_OK) ==
                 (t.dtype == AIHW_ST_I64));
  }
  void *bytes = NULL, *again = NULL;
  size_t n = 0, n2 = 0;
  const aihw_status w = aihw_st_write_memory(dict, &bytes, &n);
  /* an accepted header is below the limit, and our compact header is never longer than
   * the input's, except for re-escaped strings; a failure may only be out of memory */
  FUZZ_REQUIRE(w == AIHW_OK || w == AIHW_ERR_OUT_OF_MEMORY || w == AIHW_ERR_UNSUPPORTED);
  if (w == AIHW_OK) {
    aihw_st_dict *back = NULL;
    FUZZ_REQUIRE(aihw_st_read_memory(bytes, n, &back) == AIHW_OK);
    same_dicts(dict, back);
    same_dicts(back, dict);
    FUZZ_REQUIRE(aihw_st_write_memory(back, &again, &n2) == AIHW_OK);
    FUZZ_REQUIRE(n == n2 && memcmp(bytes, again, n) == 0);
    aihw_st_dict_destroy(back);
  }
  aihw_free(bytes);
  aihw_free(again);
  aihw_st_dict_destroy(dict);
  return 0;
}
