/* Writes the seed corpora of the fuzz targets into <dir>/<target>/ (scripts/fuzz.sh
 * --seeds regenerates tests/fuzz/corpus/ with it; the results are committed):
 *   fuzz_json          defaults of every parameter area and every device type, the device
 *                      and tile presets (byte 0 picks the reader, see fuzz_json.c)
 *   fuzz_module_state  state files of the module fuzz_module_state.c loads into (analog,
 *                      inference and floating-point tiles; byte 0 = 0 and 2) and its
 *                      architecture text (byte 0 = 1)
 *   fuzz_safetensors   a module state file and small hand-made dicts
 *   fuzz_idx           labels and images, plain and gzip'd, with several limits
 * Usage: make_fuzz_seeds <dir>. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "aihw/aihw.h"
#include "core/alloc.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"

static const char *root;

static void die(const char *what) {
  fprintf(stderr, "make_fuzz_seeds: %s: %s\n", what, aihw_last_error());
  exit(1);
}

static void put(const char *target, const char *name, uint8_t prefix, int use_prefix,
                const void *data, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, target);
  if (mkdir(path, 0777) != 0 && errno != EEXIST)
    die(path);
  snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL || (use_prefix && fputc(prefix, f) == EOF) ||
      (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
    die(path);
}

static void put_json(const char *name, uint8_t reader, char *json, aihw_status s) {
  if (s != AIHW_OK)
    die(name);
  put("fuzz_json", name, reader, 1, json, strlen(json));
  free(json);
}

static void json_seeds(void) {
  char *j = NULL, name[128];
  aihw_io_params io = aihw_io_params_default();
  put_json("io_default", 0, j, aihw_io_params_to_json(&io, &j));
  aihw_update_params up = aihw_update_params_default();
  put_json("update_default", 1, j, aihw_update_params_to_json(&up, &j));
  for (int t = 0; t < AIHW_DEVICE_TYPE_COUNT; ++t) {
    aihw_device_params d = aihw_device_params_default((aihw_device_type)t);
    snprintf(name, sizeof name, "device_%s", aihw_device_type_name((aihw_device_type)t));
    put_json(name, 2, j, aihw_device_params_to_json(&d, &j));
  }
  static const char *presets[] = {"PCMPresetDevice", "ReRamArrayOMPresetDevice",
                                  "GokmenVlasovPresetDevice"};
  for (size_t k = 0; k < sizeof presets / sizeof *presets; ++k) {
    aihw_device_params d;
    if (aihw_device_params_preset(presets[k], &d) != AIHW_OK)
      die(presets[k]);
    snprintf(name, sizeof name, "device_%s", presets[k]);
    put_json(name, 2, j, aihw_device_params_to_json(&d, &j));
  }
  aihw_inference_params inf = aihw_inference_params_default();
  put_json("inference_default", 3, j, aihw_inference_params_to_json(&inf, &j));
  static const char *tiles[] = {"analog", "inference", "floating-point", "ReRamESPreset",
                                "PiecewiseStepDevice"};
  for (size_t k = 0; k < sizeof tiles / sizeof *tiles; ++k) {
    aihw_tile_config c;
    if (aihw_tile_config_preset(tiles[k], &c) != AIHW_OK)
      die(tiles[k]);
    snprintf(name, sizeof name, "tile_%s", tiles[k]);
    put_json(name, 4, j, aihw_tile_config_to_json(&c, &j));
  }
}

/* The fixed module of fuzz_module_state.c (6 -> 5 -> sigmoid -> 3) on `kind` tiles. */
static aihw_module *module_of(aihw_tile_kind kind) {
  aihw_tile_config c = aihw_tile_config_default(kind);
  aihw_module *seq = NULL, *l1 = NULL, *act = NULL, *l2 = NULL;
  if (aihw_sequential_create(&seq) != AIHW_OK ||
      aihw_linear_create(&c, NULL, 6, 5, 1, &l1) != AIHW_OK ||
      aihw_sequential_append(seq, l1) != AIHW_OK ||
      aihw_activation_create(AIHW_MODULE_SIGMOID, 5, &act) != AIHW_OK ||
      aihw_sequential_append(seq, act) != AIHW_OK ||
      aihw_linear_create(&c, NULL, 5, 3, 0, &l2) != AIHW_OK ||
      aihw_sequential_append(seq, l2) != AIHW_OK)
    die("module");
  return seq;
}

static void module_seeds(void) {
  static const struct {
    aihw_tile_kind kind;
    const char *name;
  } kinds[] = {{AIHW_TILE_ANALOG, "analog"},
               {AIHW_TILE_INFERENCE, "inference"},
               {AIHW_TILE_FLOATING_POINT, "floating_point"}};
  for (size_t k = 0; k < 3; ++k) {
    aihw_module *m = module_of(kinds[k].kind);
    aihw_st_dict *d = NULL;
    void *bytes = NULL;
    size_t n = 0;
    if (aihw_st_dict_create(&d) != AIHW_OK || aihw_module_state_export(m, d) != AIHW_OK ||
        aihw_st_write_memory(d, &bytes, &n) != AIHW_OK)
      die("module state");
    char name[128];
    snprintf(name, sizeof name, "state_%s", kinds[k].name);
    put("fuzz_module_state", name, 0, 1, bytes, n);
    if (k == 0) {
      snprintf(name, sizeof name, "state_%s_loose", kinds[k].name);
      put("fuzz_module_state", name, 2, 1, bytes, n);
      put("fuzz_safetensors", "module_state", 0, 0, bytes, n);
    }
    const char *arch = aihw_st_dict_metadata(d, "architecture");
    snprintf(name, sizeof name, "architecture_%s", kinds[k].name);
    put("fuzz_module_state", name, 1, 1, arch, strlen(arch));
    aihw_free(bytes);
    aihw_st_dict_destroy(d);
    aihw_module_destroy(m);
  }
}

static void safetensors_seeds(void) {
  aihw_st_dict *d = NULL;
  void *bytes = NULL;
  size_t n = 0;
  const size_t shape[2] = {2, 3};
  const float f[6] = {1, -2, 3.5f, 0, 1e-3f, 7};
  const int64_t i[2] = {-1, 1LL << 40};
  const uint8_t u[3] = {1, 2, 255};
  if (aihw_st_dict_create(&d) != AIHW_OK ||
      aihw_st_dict_add(d, "w", AIHW_ST_F32, shape, 2, f) != AIHW_OK ||
      aihw_st_dict_add(d, "idx", AIHW_ST_I64, shape + 1, 0, i) != AIHW_OK ||
      aihw_st_dict_add(d, "bytes", AIHW_ST_U8, (const size_t[]){3}, 1, u) != AIHW_OK ||
      aihw_st_dict_add(d, "empty", AIHW_ST_F64, (const size_t[]){0, 4}, 2, NULL) != AIHW_OK ||
      aihw_st_dict_set_metadata(d, "format", "pt") != AIHW_OK ||
      aihw_st_write_memory(d, &bytes, &n) != AIHW_OK)
    die("safetensors");
  put("fuzz_safetensors", "mixed", 0, 0, bytes, n);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
  if (aihw_st_dict_create(&d) != AIHW_OK || aihw_st_write_memory(d, &bytes, &n) != AIHW_OK)
    die("empty safetensors");
  put("fuzz_safetensors", "empty", 0, 0, bytes, n);
  aihw_free(bytes);
  aihw_st_dict_destroy(d);
}

/* An IDX file of rank 1 (n labels) or 3 (n images of r x c). */
static uint8_t *idx_bytes(int rank, uint32_t n, uint32_t r, uint32_t c, size_t *size) {
  const uint32_t dims[3] = {n, r, c};
  size_t data = rank == 1 ? n : (size_t)n * r * c;
  *size = 4 + 4 * (size_t)rank + data;
  uint8_t *b = malloc(*size);
  if (b == NULL)
    die("idx");
  b[0] = 0;
  b[1] = 0;
  b[2] = 0x08;
  b[3] = (uint8_t)rank;
  for (int k = 0; k < rank; ++k)
    for (int j = 0; j < 4; ++j)
      b[4 + 4 * k + j] = (uint8_t)(dims[k] >> (24 - 8 * j));
  for (size_t k = 0; k < data; ++k)
    b[4 + 4 * (size_t)rank + k] = (uint8_t)(k * 37u);
  return b;
}

static void put_gzip(const char *name, uint8_t prefix, const uint8_t *b, size_t n) {
  uLongf cap = compressBound((uLong)n) + 32;
  uint8_t *z = malloc(cap);
  z_stream s;
  memset(&s, 0, sizeof s);
  if (z == NULL || deflateInit2(&s, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    die("gzip");
  s.next_in = (Bytef *)(uintptr_t)b;
  s.avail_in = (uInt)n;
  s.next_out = z;
  s.avail_out = (uInt)cap;
  if (deflate(&s, Z_FINISH) != Z_STREAM_END)
    die("gzip");
  put("fuzz_idx", name, prefix, 1, z, s.total_out);
  deflateEnd(&s);
  free(z);
}

static void idx_seeds(void) {
  size_t n = 0;
  uint8_t *labels = idx_bytes(1, 10, 0, 0, &n);
  put("fuzz_idx", "labels_all", 0, 1, labels, n);
  put("fuzz_idx", "labels_limit3", 3 << 1, 1, labels, n);
  put_gzip("labels_gz", 0, labels, n);
  free(labels);
  uint8_t *images = idx_bytes(3, 4, 3, 2, &n);
  put("fuzz_idx", "images_all", 1, 1, images, n);
  put("fuzz_idx", "images_limit2", 1 | (2 << 1), 1, images, n);
  put_gzip("images_gz", 1, images, n);
  free(images);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_fuzz_seeds <dir>\n");
    return 2;
  }
  root = argv[1];
  if (mkdir(root, 0777) != 0 && errno != EEXIST)
    die(root);
  json_seeds();
  module_seeds();
  safetensors_seeds();
  idx_seeds();
  return 0;
}
