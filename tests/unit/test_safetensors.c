/* safetensors reader and writer (src/core/safetensors.h): round trips, the exact byte
 * layout of a tiny file, files written by Python's `safetensors` package (committed fixtures
 * from scripts/make_safetensors_fixtures.py; Python is not needed here), every truncation
 * and a catalogue of lying headers (each must be a clean AIHW_ERR_FORMAT naming what is
 * wrong; AddressSanitizer's leak check covers "no leak"), allocation failures, and the
 * crash safety of aihw_st_write_file: failed writes and a writer killed with SIGKILL in the
 * middle of a 50 MB file leave the previous file intact. */
#define _XOPEN_SOURCE 700 /* mkdtemp, fork, kill, nanosleep, setrlimit */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aihw/common.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char test_dir[64];

static const char *make_test_dir(void) {
  strcpy(test_dir, "/tmp/aihw_st_XXXXXX");
  return mkdtemp(test_dir);
}

/* Removes every file in test_dir, then the directory. */
static void remove_test_dir(void) {
  DIR *dir = opendir(test_dir);
  struct dirent *e;
  char path[512];
  while (dir != NULL && (e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", test_dir, e->d_name);
    if (rmdir(path) != 0)
      unlink(path);
  }
  if (dir != NULL)
    closedir(dir);
  rmdir(test_dir);
}

/* Number of files in test_dir whose name contains ".tmp.". */
static int count_temp_files(void) {
  DIR *dir = opendir(test_dir);
  struct dirent *e;
  int n = 0;
  while (dir != NULL && (e = readdir(dir)) != NULL)
    n += strstr(e->d_name, ".tmp.") != NULL;
  if (dir != NULL)
    closedir(dir);
  return n;
}

static void write_bytes(const char *path, const void *bytes, size_t size) {
  FILE *f = fopen(path, "wb");
  CHECK(f != NULL);
  if (f != NULL) {
    CHECK(fwrite(bytes, 1, size, f) == size);
    fclose(f);
  }
}

/* 8-byte little-endian header length + header + data into buf; returns the size. */
static size_t make_file(unsigned char *buf, const char *header, const void *data,
                        size_t data_size) {
  size_t n = strlen(header);
  for (int k = 0; k < 8; ++k)
    buf[k] = (unsigned char)((uint64_t)n >> (8 * k));
  memcpy(buf + 8, header, n);
  if (data_size > 0)
    memcpy(buf + 8 + n, data, data_size);
  return 8 + n + data_size;
}

/* A dict with one tensor of every typed dtype, a raw BF16 one, a scalar and a zero-size
 * tensor, and two metadata entries. */
static aihw_st_dict *sample_dict(void) {
  static const float w[6] = {1.5f, -2.0f, 0.0f, 3.25f, -0.125f, 1e-30f};
  static const double scale = -1.0 / 3.0;
  static const int32_t counts[4] = {-1, 0, 2147483647, -2147483647 - 1};
  static const uint8_t mask[6] = {0, 1, 2, 253, 254, 255};
  static const uint16_t half[2] = {0x3f80, 0xc000};
  const size_t w_shape[2] = {2, 3}, counts_shape[1] = {4}, empty_shape[2] = {0, 5};
  const size_t mask_shape[3] = {3, 1, 2}, half_shape[1] = {2};
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_st_dict_add(d, "mask", AIHW_ST_U8, mask_shape, 3, mask));
  CHECK_OK(aihw_st_dict_add(d, "weight", AIHW_ST_F32, w_shape, 2, w));
  CHECK_OK(aihw_st_dict_add(d, "scale", AIHW_ST_F64, NULL, 0, &scale));
  CHECK_OK(aihw_st_dict_add(d, "counts", AIHW_ST_I32, counts_shape, 1, counts));
  CHECK_OK(aihw_st_dict_add(d, "empty", AIHW_ST_I64, empty_shape, 2, NULL));
  CHECK_OK(aihw_st_dict_add(d, "half", AIHW_ST_BF16, half_shape, 1, half));
  CHECK_OK(aihw_st_dict_set_metadata(d, "format_version", "1"));
  CHECK_OK(aihw_st_dict_set_metadata(d, "config", "{\"a\": [1, 2], \"b\": \"x\\ny\"}\n"));
  return d;
}

/* Checks that b holds the same tensors (order, dtype, shape, bytes) and metadata as a. */
static void check_same_dict(const aihw_st_dict *a, const aihw_st_dict *b) {
  CHECK(aihw_st_dict_count(a) == aihw_st_dict_count(b));
  CHECK(aihw_st_dict_metadata_count(a) == aihw_st_dict_metadata_count(b));
  for (size_t i = 0; i < aihw_st_dict_count(a) && i < aihw_st_dict_count(b); ++i) {
    aihw_st_tensor x, y;
    CHECK_OK(aihw_st_dict_at(a, i, &x));
    CHECK_OK(aihw_st_dict_at(b, i, &y));
    CHECK(strcmp(x.name, y.name) == 0);
    CHECK(x.dtype == y.dtype && x.ndim == y.ndim && x.numel == y.numel);
    CHECK(x.nbytes == y.nbytes && memcmp(x.data, y.data, x.nbytes) == 0);
    CHECK(x.ndim == 0 || memcmp(x.shape, y.shape, x.ndim * sizeof *x.shape) == 0);
  }
  for (size_t i = 0; i < aihw_st_dict_metadata_count(a); ++i) {
    const char *key, *value, *key_b, *value_b;
    CHECK_OK(aihw_st_dict_metadata_at(a, i, &key, &value));
    CHECK_OK(aihw_st_dict_metadata_at(b, i, &key_b, &value_b));
    CHECK(strcmp(key, key_b) == 0 && strcmp(value, value_b) == 0);
  }
}

static void fixture_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/safetensors/%s", AIHW_TEST_DATA_DIR, name);
}

/* ---- round trips and layout --------------------------------------------------------- */

static void round_trip_keeps_tensors_dtypes_shapes_and_metadata(void) {
  aihw_st_dict *d = sample_dict(), *back = NULL, *from_file = NULL;
  void *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_write_memory(d, &bytes, &size));
  CHECK_OK(aihw_st_read_memory(bytes, size, &back));
  check_same_dict(d, back);
  CHECK(make_test_dir() != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/state.safetensors", test_dir);
  CHECK_OK(aihw_st_write_file(d, path));
  CHECK_OK(aihw_st_read_file(path, &from_file));
  check_same_dict(d, from_file);

  const float *w = NULL;
  const double *scale = NULL;
  const int64_t *empty = NULL;
  aihw_st_tensor info;
  CHECK_OK(aihw_st_dict_get_f32(from_file, "weight", &w, &info));
  CHECK(w != NULL && w[3] == 3.25f && w[5] == 1e-30f && info.numel == 6);
  CHECK_OK(aihw_st_tensor_expect_shape(&info, (const size_t[]){2, 3}, 2));
  CHECK_OK(aihw_st_dict_get_f64(from_file, "scale", &scale, &info));
  CHECK(scale != NULL && *scale == -1.0 / 3.0 && info.ndim == 0 && info.numel == 1);
  CHECK_OK(aihw_st_dict_get_i64(from_file, "empty", &empty, &info));
  CHECK(empty != NULL && info.numel == 0 && info.nbytes == 0 && info.shape[1] == 5);
  CHECK(strcmp(aihw_st_dict_metadata(from_file, "config"),
               "{\"a\": [1, 2], \"b\": \"x\\ny\"}\n") == 0);
  CHECK(aihw_st_dict_metadata(from_file, "absent") == NULL);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
  aihw_st_dict_destroy(back);
  aihw_st_dict_destroy(from_file);
  remove_test_dir();
}

static void names_with_quotes_controls_and_unicode_round_trip(void) {
  static const char *const names[] = {
      "a\"b", "back\\slash", "new\nline\x01", "Gewicht_\xc3\xa4", "", "\xf0\x9f\x98\x80"};
  aihw_st_dict *d = NULL, *back = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  for (int i = 0; i < 6; ++i)
    CHECK_OK(aihw_st_dict_add(d, names[i], AIHW_ST_U8, (const size_t[]){1}, 1, &(uint8_t){1}));
  CHECK_OK(aihw_st_dict_set_metadata(d, "k\"\t", "v\\\x1f"));
  void *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_write_memory(d, &bytes, &size));
  CHECK_OK(aihw_st_read_memory(bytes, size, &back));
  check_same_dict(d, back);
  CHECK(strcmp(aihw_st_dict_metadata(back, "k\"\t"), "v\\\x1f") == 0);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
  aihw_st_dict_destroy(back);
}

/* The header lists tensors in insertion order; the data places the F32 tensor before the
 * U8 one (descending element size); the header is padded with spaces to a multiple of 8
 * (130 + 6 = 136 = 0x88). */
static void tiny_file_has_exact_byte_layout(void) {
  static const char expected_header[] =
      "{\"__metadata__\":{\"v\":\"1\"},"
      "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[4,7]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}      ";
  static const unsigned char prefix[8] = {0x88, 0, 0, 0, 0, 0, 0, 0};
  static const unsigned char data[7] = {0x00, 0x00, 0x80, 0x3f, 1, 2, 3}; /* 1.0f, then U8 */
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(
      aihw_st_dict_add(d, "b", AIHW_ST_U8, (const size_t[]){3}, 1, (const uint8_t[]){1, 2, 3}));
  CHECK_OK(aihw_st_dict_add(d, "a", AIHW_ST_F32, NULL, 0, &(float){1.0f}));
  CHECK_OK(aihw_st_dict_set_metadata(d, "v", "1"));
  unsigned char *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_write_memory(d, (void **)&bytes, &size));
  CHECK(sizeof expected_header - 1 == 136 && size == 8 + 136 + 7);
  if (bytes != NULL && size == 151) {
    CHECK(memcmp(bytes, prefix, 8) == 0);
    CHECK(memcmp(bytes + 8, expected_header, 136) == 0);
    CHECK(memcmp(bytes + 144, data, 7) == 0);
  }
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
}

/* An empty dict is "{}" padded to 8, byte for byte what Python's save({}) returns. */
static void empty_dict_matches_the_official_writer(void) {
  static const unsigned char official[16] = {8,   0,   0,   0,   0,   0,   0,   0,
                                             '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
  aihw_st_dict *d = NULL, *back = NULL;
  unsigned char *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_st_write_memory(d, (void **)&bytes, &size));
  CHECK(size == 16 && bytes != NULL && memcmp(bytes, official, 16) == 0);
  CHECK_OK(aihw_st_read_memory(bytes, size, &back));
  CHECK(aihw_st_dict_count(back) == 0 && aihw_st_dict_metadata_count(back) == 0);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
  aihw_st_dict_destroy(back);
}

/* ---- files written by Python's safetensors (scripts/make_safetensors_fixtures.py) ---- */

static void reads_python_f32_i64_fixture(void) {
  char path[512];
  fixture_path(path, sizeof path, "python_f32_i64.safetensors");
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  CHECK(aihw_st_dict_count(d) == 4 && aihw_st_dict_metadata_count(d) == 2);
  const float *w = NULL, *bias = NULL;
  const int64_t *steps = NULL, *seed = NULL;
  aihw_st_tensor t;
  CHECK_OK(aihw_st_dict_get_f32(d, "weight", &w, &t));
  CHECK_OK(aihw_st_tensor_expect_shape(&t, (const size_t[]){2, 3}, 2));
  for (int i = 0; w != NULL && i < 6; ++i)
    CHECK_FEQ(w[i], 0.25f * (float)i - 1.0f);
  CHECK_OK(aihw_st_dict_get_f32(d, "bias", &bias, &t));
  CHECK(bias != NULL && t.numel == 2 && bias[0] == 1.5f && bias[1] == -2.0f);
  CHECK_OK(aihw_st_dict_get_i64(d, "steps", &steps, &t));
  CHECK(steps != NULL && t.numel == 5 && steps[2] == -1 && steps[3] == (int64_t)1 << 40 &&
        steps[4] == -((int64_t)1 << 62));
  CHECK_OK(aihw_st_dict_get_i64(d, "seed", &seed, &t));
  CHECK(seed != NULL && t.ndim == 0 && *seed == 1234567890123);
  const char *version = aihw_st_dict_metadata(d, "format_version");
  CHECK(version != NULL && strcmp(version, "1") == 0);
  CHECK(aihw_st_dict_metadata(d, "producer") != NULL);
  aihw_st_dict_destroy(d);
}

static void reads_python_mixed_fixture(void) {
  char path[512];
  fixture_path(path, sizeof path, "python_mixed.safetensors");
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  CHECK(aihw_st_dict_count(d) == 4 && aihw_st_dict_metadata_count(d) == 0);
  const double *f64 = NULL;
  const int32_t *i32 = NULL;
  const uint8_t *u8 = NULL;
  const float *empty = NULL;
  aihw_st_tensor t;
  CHECK_OK(aihw_st_dict_get_f64(d, "f64", &f64, &t));
  CHECK(f64 != NULL && f64[0] == 0.1 && f64[1] == -1e300 && f64[2] == 2.5 &&
        f64[3] == 1.0 / 3.0);
  CHECK_OK(aihw_st_dict_get_i32(d, "i32", &i32, &t));
  CHECK(i32 != NULL && i32[0] == -7 && i32[1] == 2147483647 && i32[2] == -2147483647 - 1);
  CHECK_OK(aihw_st_dict_get_u8(d, "u8", &u8, &t));
  CHECK_OK(aihw_st_tensor_expect_shape(&t, (const size_t[]){1, 2, 2}, 3));
  CHECK(u8 != NULL && u8[0] == 0 && u8[1] == 1 && u8[2] == 254 && u8[3] == 255);
  CHECK_OK(aihw_st_dict_get_f32(d, "empty", &empty, &t));
  CHECK(t.numel == 0 && t.ndim == 2 && t.shape[0] == 0 && t.shape[1] == 4);
  aihw_st_dict_destroy(d);
}

static void reads_python_metadata_only_fixture(void) {
  char path[512];
  fixture_path(path, sizeof path, "python_metadata_only.safetensors");
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  CHECK(aihw_st_dict_count(d) == 0);
  const char *note = aihw_st_dict_metadata(d, "note");
  CHECK(note != NULL && strcmp(note, "no tensors") == 0);
  aihw_st_dict_destroy(d);
}

/* ---- corrupt and lying files -------------------------------------------------------- */

static void every_truncation_fails_cleanly(void) {
  aihw_st_dict *d = sample_dict(), *back = NULL;
  unsigned char *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_write_memory(d, (void **)&bytes, &size));
  CHECK(make_test_dir() != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/cut.safetensors", test_dir);
  for (size_t n = 0; bytes != NULL && n < size; ++n) {
    back = (aihw_st_dict *)1;
    CHECK_STATUS(aihw_st_read_memory(bytes, n, &back), AIHW_ERR_FORMAT);
    CHECK(back == NULL);
    write_bytes(path, bytes, n);
    back = (aihw_st_dict *)1;
    CHECK_STATUS(aihw_st_read_file(path, &back), AIHW_ERR_FORMAT);
    CHECK(back == NULL);
    if (n >= 8 && n < 8 + 64) /* inside the header the length check names the truncation */
      CHECK_ERROR_MENTIONS("truncated");
  }
  CHECK_ERROR_MENTIONS(path);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
  remove_test_dir();
}

typedef struct {
  const char *header;
  size_t data_size; /* bytes of data after the header (all 0xab) */
  const char *mentions;
} lying_case;

static void lying_headers_are_format_errors(void) {
  static const lying_case cases[] = {
      /* offsets */
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 2, "out of range"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000,1000],\"data_offsets\":[0,"
       "4000000000000]}}",
       16, "out of range"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[3,2]}}", 4, "out of range"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
       "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}",
       3, "overlaps tensor 'a'"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
       "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}",
       3, "tensor 'b' begins at 2, leaving a hole"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 5,
       "cover 2 of the 5"}, /* trailing bytes: the official reader rejects them too */
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0]}}", 2, "data_offsets"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,-2]}}", 2, "data_offsets"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":\"0,2\"}}", 2, "data_offsets"},
      /* dtype and shape */
      {"{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
       "unknown dtype 'F33'"},
      {"{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
       "dtype is a number, not a string"},
      {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
       "span 8 bytes but F32 of 3 elements needs 12"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0, "shape entry 0"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1.5],\"data_offsets\":[0,1]}}", 1,
       "shape entry 1"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[\"2\"],\"data_offsets\":[0,2]}}", 2,
       "shape entry 0"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":2,\"data_offsets\":[0,2]}}", 2, "not a list"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[0,18014398509481984],\"data_offsets\":[0,0]}}", 0,
       "shape entry 1"},
      {"{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[0,0]}}",
       0, "overflows"},
      /* entry structure */
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2]}}", 2, "missing 'data_offsets'"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"x\":1}}", 2,
       "unexpected key 'x'"},
      {"{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2,
       "duplicate key 'dtype'"},
      {"{\"a\":[1,2]}", 0, "tensor 'a': entry is an array"},
      {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
       "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
       2, "tensor 'a' appears twice"},
      /* metadata */
      {"{\"__metadata__\":{\"k\":1}}", 0, "metadata key 'k': value is a number"},
      {"{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "metadata key 'k' appears twice"},
      {"{\"__metadata__\":[]}", 0, "'__metadata__' is an array"},
      {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "'__metadata__' appears twice"},
      /* the header as a whole */
      {"[1,2]", 0, "header is an array, not a JSON object"},
      {"\"x\"", 0, "not a JSON object"},
      {"null", 0, "not a JSON object"},
      {"{\"a\":", 0, "not valid JSON"},
      {"", 0, "not valid JSON"},
      {"{} x", 0, "text after its JSON value"},
      {"{}\x01", 0, "control byte 0x01"},
      {"{\"a\xff\":{}}", 0, "not valid UTF-8 (byte 3)"},
      {"{\"\xc0\xaf\":{}}", 0, "not valid UTF-8"}, /* overlong '/' */
      {"{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0, "\\u0000"},
  };
  unsigned char buf[512], data[64];
  memset(data, 0xab, sizeof data);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    size_t size = make_file(buf, cases[i].header, data, cases[i].data_size);
    aihw_st_dict *d = (aihw_st_dict *)1;
    aihw_status s = aihw_st_read_memory(buf, size, &d);
    if (s != AIHW_ERR_FORMAT || d != NULL ||
        strstr(aihw_last_error(), cases[i].mentions) == NULL) {
      fprintf(stderr, "case %zu (%s): status %d, error \"%s\", expected \"%s\"\n", i,
              cases[i].header, (int)s, aihw_last_error(), cases[i].mentions);
      CHECK(0);
    }
    CHECK(strstr(aihw_last_error(), "safetensors buffer") != NULL);
  }
}

/* Whitespace padding (the official writer's spaces, and any JSON whitespace) is fine. */
static void header_padding_and_null_metadata_are_accepted(void) {
  static const char *const headers[] = {"{}        ", " {} \t\r\n", "{\"__metadata__\":null}"};
  unsigned char buf[64];
  for (int i = 0; i < 3; ++i) {
    aihw_st_dict *d = NULL;
    CHECK_OK(aihw_st_read_memory(buf, make_file(buf, headers[i], NULL, 0), &d));
    CHECK(d != NULL && aihw_st_dict_count(d) == 0);
    aihw_st_dict_destroy(d);
  }
}

/* The length checks come before any allocation: with every allocation failing, a lying
 * length still reads as AIHW_ERR_FORMAT, never as an attempt to allocate it. */
static void huge_header_length_is_rejected_before_allocating(void) {
  static const uint64_t lengths[] = {UINT64_MAX, (uint64_t)1 << 63, 100000001u, 9};
  unsigned char buf[16] = "........{}      ";
  static const char *const mentions[] = {"exceeds the limit", "exceeds the limit",
                                         "exceeds the limit", "exceeds the 8 bytes"};
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 8; ++k)
      buf[k] = (unsigned char)(lengths[i] >> (8 * k));
    aihw_st_dict *d = NULL;
    aihw_alloc_fail_after(1);
    CHECK_STATUS(aihw_st_read_memory(buf, sizeof buf, &d), AIHW_ERR_FORMAT);
    aihw_alloc_fail_after(0);
    CHECK_ERROR_MENTIONS(mentions[i]);
    CHECK(d == NULL);
  }
}

static void allocation_failures_are_reported_and_leak_nothing(void) {
  aihw_st_dict *d = sample_dict();
  void *bytes = NULL;
  size_t size = 0;
  CHECK_OK(aihw_st_write_memory(d, &bytes, &size));
  int read_failures = 0, write_failures = 0;
  for (long n = 1; n < 200; ++n) { /* the n-th allocation of a read fails */
    aihw_st_dict *back = NULL;
    aihw_alloc_fail_after(n);
    aihw_status s = aihw_st_read_memory(bytes, size, &back);
    aihw_alloc_fail_after(0);
    if (s == AIHW_OK) {
      check_same_dict(d, back);
      aihw_st_dict_destroy(back);
      break;
    }
    CHECK_STATUS(s, AIHW_ERR_OUT_OF_MEMORY);
    CHECK(back == NULL);
    ++read_failures;
  }
  for (long n = 1; n < 200; ++n) { /* ... of a write */
    void *again = NULL;
    size_t again_size = 0;
    aihw_alloc_fail_after(n);
    aihw_status s = aihw_st_write_memory(d, &again, &again_size);
    aihw_alloc_fail_after(0);
    if (s == AIHW_OK) {
      CHECK(again_size == size && memcmp(again, bytes, size) == 0);
      aihw_free(again);
      break;
    }
    CHECK_STATUS(s, AIHW_ERR_OUT_OF_MEMORY);
    ++write_failures;
  }
  for (long n = 1; n < 20; ++n) { /* ... of adding a tensor: the dict stays as it was */
    aihw_alloc_fail_after(n);
    aihw_status s = aihw_st_dict_add(d, "late", AIHW_ST_F32, (const size_t[]){2}, 1, NULL);
    aihw_alloc_fail_after(0);
    CHECK(aihw_st_dict_count(d) == (s == AIHW_OK ? 7u : 6u));
    CHECK(aihw_st_dict_contains(d, "late") == (s == AIHW_OK));
    if (s == AIHW_OK)
      break;
  }
  CHECK(read_failures >= 10 && write_failures >= 3);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
}

/* ---- dict API ----------------------------------------------------------------------- */

static void dict_rejects_bad_names_dtypes_and_duplicates(void) {
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  const size_t two[1] = {2};
  CHECK_OK(aihw_st_dict_add(d, "w", AIHW_ST_F32, two, 1, NULL));
  CHECK_STATUS(aihw_st_dict_add(d, "w", AIHW_ST_F32, two, 1, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("'w' exists");
  CHECK_STATUS(aihw_st_dict_add(d, "__metadata__", AIHW_ST_U8, two, 1, NULL),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_st_dict_add(d, "bad\xff", AIHW_ST_U8, two, 1, NULL),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_st_dict_add(d, "x", AIHW_ST_DTYPE_COUNT, two, 1, NULL),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_st_dict_add(d, "x", AIHW_ST_U8, NULL, 1, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_st_dict_add(d, "x", AIHW_ST_F64, (const size_t[]){SIZE_MAX / 4}, 1, NULL),
               AIHW_ERR_OUT_OF_MEMORY);
  CHECK_STATUS(aihw_st_dict_set_metadata(d, "k", "\xc3"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK(aihw_st_dict_count(d) == 1 && aihw_st_dict_metadata_count(d) == 0);

  const int64_t *i64 = NULL;
  aihw_st_tensor t;
  CHECK_STATUS(aihw_st_dict_get_i64(d, "w", &i64, NULL), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("tensor 'w' has dtype F32 where I64 was expected");
  CHECK_STATUS(aihw_st_dict_get(d, "nope", &t), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("no tensor 'nope'");
  CHECK_OK(aihw_st_dict_get(d, "w", &t));
  CHECK_STATUS(aihw_st_tensor_expect_shape(&t, (const size_t[]){2, 1}, 2), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("tensor 'w': shape [2] where [2, 1] was expected");
  CHECK_STATUS(aihw_st_dict_at(d, 1, &t), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_st_dict_create(NULL), AIHW_ERR_INVALID_ARGUMENT);
  aihw_st_dict_destroy(NULL);
  CHECK(aihw_st_dict_count(NULL) == 0 && !aihw_st_dict_contains(NULL, "w"));
  aihw_st_dict_destroy(d);
}

static void set_metadata_replaces_value_in_place(void) {
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_st_dict_set_metadata(d, "a", "1"));
  CHECK_OK(aihw_st_dict_set_metadata(d, "b", "2"));
  CHECK_OK(aihw_st_dict_set_metadata(d, "a", "3"));
  const char *key, *value;
  CHECK(aihw_st_dict_metadata_count(d) == 2);
  CHECK_OK(aihw_st_dict_metadata_at(d, 0, &key, &value));
  CHECK(strcmp(key, "a") == 0 && strcmp(value, "3") == 0);
  CHECK_OK(aihw_st_dict_metadata_at(d, 1, &key, &value));
  CHECK(strcmp(key, "b") == 0 && strcmp(value, "2") == 0);
  aihw_st_dict_destroy(d);
}

/* 3000 tensors grow the name index many times; every one is found, and the views taken
 * before the growth stay valid. */
static void many_tensors_are_found_by_name(void) {
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  char name[32];
  for (int32_t i = 0; i < 3000; ++i) {
    snprintf(name, sizeof name, "layer%d.weight", (int)i);
    CHECK_OK(aihw_st_dict_add(d, name, AIHW_ST_I32, NULL, 0, &i));
  }
  aihw_st_tensor first;
  CHECK_OK(aihw_st_dict_at(d, 0, &first));
  for (int32_t i = 2999; i >= 0; --i) {
    const int32_t *v = NULL;
    snprintf(name, sizeof name, "layer%d.weight", (int)i);
    CHECK_OK(aihw_st_dict_get_i32(d, name, &v, NULL));
    CHECK(v != NULL && *v == i);
  }
  CHECK(strcmp(first.name, "layer0.weight") == 0 && *(const int32_t *)first.data == 0);
  aihw_st_dict_destroy(d);
}

/* ---- files and crash safety --------------------------------------------------------- */

static void read_file_errors_name_path_and_cause(void) {
  CHECK(make_test_dir() != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/missing.safetensors", test_dir);
  aihw_st_dict *d = NULL;
  CHECK_STATUS(aihw_st_read_file(path, &d), AIHW_ERR_IO);
  CHECK_ERROR_MENTIONS(path);
  CHECK_ERROR_MENTIONS("No such file");
  CHECK_STATUS(aihw_st_read_file(test_dir, &d), AIHW_ERR_IO);
  CHECK_ERROR_MENTIONS("not a regular file");
  CHECK(d == NULL);
  remove_test_dir();
}

static aihw_st_dict *filled_dict(size_t n_floats, float value) {
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_dict_create(&d));
  CHECK_OK(aihw_st_dict_add(d, "big", AIHW_ST_F32, &n_floats, 1, NULL));
  aihw_st_tensor t;
  CHECK_OK(aihw_st_dict_at(d, 0, &t));
  for (size_t i = 0; i < n_floats; ++i)
    ((float *)(uintptr_t)t.data)[i] = value + (float)(i % 1024);
  CHECK_OK(aihw_st_dict_set_metadata(d, "value", value == 0.0f ? "old" : "new"));
  return d;
}

/* The file at path reads back as a dict equal to `expected`. */
static void check_file_holds(const char *path, const aihw_st_dict *expected) {
  aihw_st_dict *d = NULL;
  CHECK_OK(aihw_st_read_file(path, &d));
  if (d != NULL)
    check_same_dict(expected, d);
  aihw_st_dict_destroy(d);
}

static void write_file_replaces_existing_file_completely(void) {
  CHECK(make_test_dir() != NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/state.safetensors", test_dir);
  aihw_st_dict *big = filled_dict(100000, 1.0f), *small = sample_dict();
  CHECK_OK(aihw_st_write_file(big, path));
  check_file_holds(path, big);
  CHECK_OK(aihw_st_write_file(small, path));
  check_file_holds(path, small);
  void *bytes = NULL;
  size_t size = 0;
  struct stat st;
  CHECK_OK(aihw_st_write_memory(small, &bytes, &size));
  CHECK(stat(path, &st) == 0 && (size_t)st.st_size == size);
  CHECK(count_temp_files() == 0);
  aihw_free(bytes);
  aihw_st_dict_destroy(big);
  aihw_st_dict_destroy(small);
  remove_test_dir();
}

/* Failures before the temporary file exists (no directory), at the rename (the target is
 * a directory) and while writing (a child process over its RLIMIT_FSIZE, EFBIG) leave the
 * old file as it was and no temporary file. (The tests run as root, so a read-only
 * directory would not fail.) */
static void failed_write_keeps_old_file_and_no_temp_file(void) {
  CHECK(make_test_dir() != NULL);
  char path[128], missing[160], dir_target[128];
  snprintf(path, sizeof path, "%s/state.safetensors", test_dir);
  snprintf(missing, sizeof missing, "%s/no/such/dir/state.safetensors", test_dir);
  snprintf(dir_target, sizeof dir_target, "%s/a_directory", test_dir);
  aihw_st_dict *old = sample_dict(), *big = filled_dict(1 << 18, 2.0f);
  CHECK_OK(aihw_st_write_file(old, path));

  CHECK_STATUS(aihw_st_write_file(big, missing), AIHW_ERR_IO);
  CHECK_ERROR_MENTIONS("cannot create");
  CHECK_ERROR_MENTIONS("No such file or directory");
  CHECK(mkdir(dir_target, 0755) == 0);
  CHECK_STATUS(aihw_st_write_file(big, dir_target), AIHW_ERR_IO);
  CHECK_ERROR_MENTIONS("cannot rename");
  CHECK(count_temp_files() == 0);

  pid_t child = fork();
  if (child == 0) {
    struct rlimit limit = {4096, 4096};
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &limit);
    aihw_status s = aihw_st_write_file(big, path);
    _exit(s == AIHW_ERR_IO && strstr(aihw_last_error(), "File too large") ? 0 : 1);
  }
  int wstatus = 0;
  CHECK(child > 0 && waitpid(child, &wstatus, 0) == child);
  CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  check_file_holds(path, old);
  CHECK(count_temp_files() == 0);
  aihw_st_dict_destroy(old);
  aihw_st_dict_destroy(big);
  remove_test_dir();
}

/* A child writes a 50 MB file over a valid one; the parent kills it with SIGKILL as soon
 * as its temporary file has grown but is not complete (polled every 100 us: 50 MB cannot
 * be written between two polls). The old file must be intact and loadable. */
static void killed_writer_leaves_previous_file_intact(void) {
  CHECK(make_test_dir() != NULL);
  char path[128], tmp[160];
  snprintf(path, sizeof path, "%s/state.safetensors", test_dir);
  aihw_st_dict *old = filled_dict(1000, 0.0f);
  CHECK_OK(aihw_st_write_file(old, path));
  const size_t n_floats = 50u << 18; /* 50 MiB */
  pid_t child = fork();
  if (child == 0) {
    aihw_st_dict *big = filled_dict(n_floats, 3.0f);
    aihw_st_write_file(big, path);
    _exit(0);
  }
  CHECK(child > 0);
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)child);
  struct stat st = {0};
  const struct timespec pause = {0, 100000};
  for (int i = 0; i < 100000 && !(stat(tmp, &st) == 0 && st.st_size > 0); ++i)
    nanosleep(&pause, NULL);
  kill(child, SIGKILL);
  int wstatus = 0;
  CHECK(waitpid(child, &wstatus, 0) == child);
  CHECK(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
  CHECK(stat(tmp, &st) == 0 && st.st_size > 0 && (size_t)st.st_size < 4 * n_floats);
  check_file_holds(path, old);
  aihw_st_dict_destroy(old);
  remove_test_dir();
}

TEST_MAIN(TEST(round_trip_keeps_tensors_dtypes_shapes_and_metadata),
          TEST(names_with_quotes_controls_and_unicode_round_trip),
          TEST(tiny_file_has_exact_byte_layout), TEST(empty_dict_matches_the_official_writer),
          TEST(reads_python_f32_i64_fixture), TEST(reads_python_mixed_fixture),
          TEST(reads_python_metadata_only_fixture), TEST(every_truncation_fails_cleanly),
          TEST(lying_headers_are_format_errors),
          TEST(header_padding_and_null_metadata_are_accepted),
          TEST(huge_header_length_is_rejected_before_allocating),
          TEST(allocation_failures_are_reported_and_leak_nothing),
          TEST(dict_rejects_bad_names_dtypes_and_duplicates),
          TEST(set_metadata_replaces_value_in_place), TEST(many_tensors_are_found_by_name),
          TEST(read_file_errors_name_path_and_cause),
          TEST(write_file_replaces_existing_file_completely),
          TEST(failed_write_keeps_old_file_and_no_temp_file),
          TEST(killed_writer_leaves_previous_file_intact))
