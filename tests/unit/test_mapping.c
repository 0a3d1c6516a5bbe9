/* Mapping of layers onto tile grids (reference §7.3): the split rule of one dimension, the
 * tile grids of AnalogLinear layers against aihwkit 1.1.0 (tests/data/golden/mapping.json)
 * and validation of the mapping parameters. */
#include <stdio.h>
#include <stdlib.h>

#include "aihw/aihw.h"
#include "golden_util.h"
#include "test_util.h"

static void defaults_are_aihwkits_mapping_parameter(void) {
  aihw_mapping_params p = aihw_mapping_params_default();
  CHECK(p.digital_bias == 1);
  CHECK_FEQ(p.weight_scaling_omega, 0.0f);
  CHECK(p.weight_scaling_columnwise == 0 && p.weight_scaling_lr_compensation == 0);
  CHECK(p.learn_out_scaling == 0 && p.out_scaling_columnwise == 0);
  CHECK(p.max_input_size == 512 && p.max_output_size == 512);
  CHECK_OK(aihw_mapping_params_validate(&p, "mapping"));
}

static void split_edge_cases(void) {
  int64_t sizes[8] = {0}, n = 0;
  CHECK_OK(aihw_mapping_split(1300, 0, sizes, 8, &n)); /* max 0: no split */
  CHECK(n == 1 && sizes[0] == 1300);
  CHECK_OK(aihw_mapping_split(512, 512, sizes, 8, &n)); /* size == max: one piece */
  CHECK(n == 1 && sizes[0] == 512);
  CHECK_OK(aihw_mapping_split(513, 512, sizes, 8, &n)); /* max + 1: near-equal halves */
  CHECK(n == 2 && sizes[0] == 257 && sizes[1] == 256);
  CHECK_OK(aihw_mapping_split(1, 1, sizes, 8, &n));
  CHECK(n == 1 && sizes[0] == 1);
  CHECK_OK(aihw_mapping_split(7, 1, sizes, 8, &n));
  CHECK(n == 7 && sizes[6] == 1);
  CHECK_OK(aihw_mapping_split(600, 256, sizes, 8, &n)); /* §7.3 table */
  CHECK(n == 3 && sizes[0] == 200 && sizes[1] == 200 && sizes[2] == 200);
  CHECK_OK(aihw_mapping_split(1025, 512, sizes, 8, &n));
  CHECK(n == 3 && sizes[0] == 342 && sizes[1] == 342 && sizes[2] == 341);
}

static void split_counts_without_room_for_sizes(void) {
  int64_t sizes[2] = {-1, -1}, n = 0;
  CHECK_OK(aihw_mapping_split(4096, 512, NULL, 0, &n));
  CHECK(n == 8);
  CHECK_OK(aihw_mapping_split(4096, 512, sizes, 2, &n)); /* writes only what fits */
  CHECK(n == 8 && sizes[0] == 512 && sizes[1] == 512);
}

static void split_rejects_bad_arguments(void) {
  int64_t sizes[4], n = 0;
  CHECK_STATUS(aihw_mapping_split(0, 512, sizes, 4, &n), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("size");
  CHECK_STATUS(aihw_mapping_split(10, -1, sizes, 4, &n), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("max");
  CHECK_STATUS(aihw_mapping_split(10, 5, sizes, 4, NULL), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_STATUS(aihw_mapping_split(10, 5, NULL, 4, &n), AIHW_ERR_INVALID_ARGUMENT);
}

static void validation_names_the_bad_field(void) {
  aihw_mapping_params p = aihw_mapping_params_default();
  p.max_input_size = -1;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("max_input_size");
  p = aihw_mapping_params_default();
  p.max_output_size = -5;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("max_output_size");
  p = aihw_mapping_params_default();
  p.weight_scaling_omega = -0.5f;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("weight_scaling_omega");
  p.weight_scaling_omega = NAN;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_NOT_FINITE);
  p = aihw_mapping_params_default();
  p.digital_bias = 2;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("digital_bias");
  p = aihw_mapping_params_default();
  p.learn_out_scaling = 2;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("learn_out_scaling");
  p.learn_out_scaling = 1;
  CHECK_OK(aihw_mapping_params_validate(&p, "layer"));
  p.input_range.decay = -1.0f;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("input_range.decay");
  p.input_range = aihw_input_range_params_default();
  p.input_range.init_value = 0.0f;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("input_range.init_value");
  p.input_range.init_value = NAN;
  CHECK_STATUS(aihw_mapping_params_validate(&p, "layer"), AIHW_ERR_NOT_FINITE);
  CHECK_STATUS(aihw_mapping_params_validate(NULL, "layer"), AIHW_ERR_INVALID_ARGUMENT);
  p = aihw_mapping_params_default();
  p.weight_scaling_omega = 1.0f;
  p.weight_scaling_columnwise = 1;
  CHECK_OK(aihw_mapping_params_validate(&p, NULL));
}

/* Every record of mapping.json: split sizes and the tile grid in aihwkit's storage order
 * array[in_index][out_index], each tile's shape and offsets. */
static void tile_grids_match_aihwkit(void) {
  cJSON *root = golden_load("mapping.json");
  const cJSON *records = cJSON_GetObjectItemCaseSensitive(root, "records");
  const cJSON *rec;
  int count = 0;
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  cJSON_ArrayForEach(rec, records) {
    const int in = golden_int(rec, "in_features"), out = golden_int(rec, "out_features");
    size_t n_in = 0, n_out = 0;
    float *in_sizes = golden_floats(rec, "in_sizes", &n_in);
    float *out_sizes = golden_floats(rec, "out_sizes", &n_out);
    int64_t sizes[16], n = 0;
    CHECK_OK(aihw_mapping_split(in, 512, sizes, 16, &n));
    CHECK(n == (int64_t)n_in);
    for (int64_t k = 0; k < n && k < (int64_t)n_in; ++k)
      CHECK(sizes[k] == (int64_t)in_sizes[k]);
    CHECK_OK(aihw_mapping_split(out, 512, sizes, 16, &n));
    CHECK(n == (int64_t)n_out);
    for (int64_t k = 0; k < n && k < (int64_t)n_out; ++k)
      CHECK(sizes[k] == (int64_t)out_sizes[k]);

    aihw_module *layer = NULL;
    CHECK_OK(aihw_linear_create(&config, NULL, in, out, 1, &layer));
    int64_t in_splits = 0, out_splits = 0;
    CHECK_OK(aihw_linear_tile_grid(layer, &in_splits, &out_splits));
    CHECK(in_splits == (int64_t)n_in && out_splits == (int64_t)n_out);
    CHECK(in_splits * out_splits == golden_int(rec, "tile_count"));
    const cJSON *tiles = cJSON_GetObjectItemCaseSensitive(rec, "tiles"), *t;
    int64_t k = 0;
    cJSON_ArrayForEach(t, tiles) {
      const int64_t r = k / out_splits, c = k % out_splits;
      CHECK(golden_int(t, "in_index") == r && golden_int(t, "out_index") == c);
      const aihw_tile *tile = aihw_linear_tile(layer, r, c);
      CHECK(tile != NULL);
      if (tile != NULL) {
        CHECK(aihw_tile_out_size(tile) == golden_int(t, "out_size"));
        CHECK(aihw_tile_in_size(tile) == golden_int(t, "in_size"));
        CHECK(aihw_tile_weight_cols(tile) == golden_int(t, "in_size")); /* bias digital */
      }
      /* offsets: cumulative sizes of the earlier splits */
      int64_t in_start = 0, out_start = 0;
      for (int64_t q = 0; q < r; ++q)
        in_start += aihw_tile_in_size(aihw_linear_tile(layer, q, 0));
      for (int64_t q = 0; q < c; ++q)
        out_start += aihw_tile_out_size(aihw_linear_tile(layer, 0, q));
      CHECK(in_start == golden_int(t, "in_start") && out_start == golden_int(t, "out_start"));
      ++k;
    }
    CHECK(k == in_splits * out_splits);
    CHECK(aihw_linear_tile(layer, in_splits, 0) == NULL);
    CHECK(aihw_linear_tile(layer, 0, out_splits) == NULL);
    aihw_module_destroy(layer);
    free(in_sizes);
    free(out_sizes);
    ++count;
  }
  CHECK(count == 8);
  cJSON_Delete(root);
}

/* §7.3 (c): the size test ignores the analog bias column: 512 inputs with an analog bias
 * stay one tile of 513 columns; (a)/(b): a max size of 0 next to a non-zero one builds a
 * TileModuleArray, whose bias is digital. */
static void analog_bias_and_array_quirks(void) {
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  aihw_mapping_params mp = aihw_mapping_params_default();
  mp.digital_bias = 0;
  aihw_module *layer = NULL;
  CHECK_OK(aihw_linear_create(&config, &mp, 512, 10, 1, &layer));
  CHECK(aihw_tile_weight_cols(aihw_linear_tile(layer, 0, 0)) == 513);
  aihw_module_destroy(layer);
  CHECK_OK(aihw_linear_create(&config, &mp, 513, 10, 1, &layer));
  int64_t r = 0, c = 0;
  CHECK_OK(aihw_linear_tile_grid(layer, &r, &c));
  CHECK(r == 2 && c == 1);
  CHECK(aihw_tile_weight_cols(aihw_linear_tile(layer, 0, 0)) == 257);
  aihw_module_destroy(layer);
  mp.max_input_size = 0;
  mp.max_output_size = 256;
  CHECK_OK(aihw_linear_create(&config, &mp, 600, 100, 1, &layer));
  CHECK_OK(aihw_linear_tile_grid(layer, &r, &c));
  CHECK(r == 1 && c == 1);
  CHECK(aihw_tile_weight_cols(aihw_linear_tile(layer, 0, 0)) == 600);
  aihw_module_destroy(layer);
  mp.max_input_size = 256;
  mp.max_output_size = 0;
  CHECK_OK(aihw_linear_create(&config, &mp, 600, 600, 0, &layer));
  CHECK_OK(aihw_linear_tile_grid(layer, &r, &c));
  CHECK(r == 3 && c == 1);
  aihw_module_destroy(layer);
}

static void tiles_get_consecutive_ids(void) {
  aihw_tile_config config = aihw_tile_config_default(AIHW_TILE_FLOATING_POINT);
  config.tile_id = 40;
  config.seed = 7;
  aihw_module *layer = NULL;
  CHECK_OK(aihw_linear_create(&config, NULL, 1300, 700, 1, &layer));
  for (int64_t k = 0; k < 6; ++k) {
    aihw_tile_config tc;
    CHECK_OK(aihw_tile_get_config(aihw_linear_tile(layer, k / 2, k % 2), &tc));
    CHECK(tc.tile_id == 40u + (uint32_t)k);
    CHECK(tc.seed == 7u);
  }
  aihw_module_destroy(layer);
}


static void json_round_trip_and_defaults(void) {
  aihw_mapping_params m = aihw_mapping_params_default();
  m.digital_bias = 0;
  m.weight_scaling_omega = 0.6f;
  m.weight_scaling_columnwise = 1;
  m.max_input_size = 256;
  m.max_output_size = 0;
  char *text = NULL;
  CHECK_OK(aihw_mapping_params_to_json(&m, &text));
  CHECK(text != NULL && strstr(text, "\"max_input_size\":\t256") != NULL);
  aihw_mapping_params back = aihw_mapping_params_default();
  CHECK_OK(aihw_mapping_params_from_json(text, &back));
  free(text);
  CHECK(memcmp(&back, &m, sizeof m) == 0);
  /* absent keys keep the defaults */
  CHECK_OK(aihw_mapping_params_from_json("{\"max_output_size\": 128}", &back));
  aihw_mapping_params want = aihw_mapping_params_default();
  want.max_output_size = 128;
  CHECK(memcmp(&back, &want, sizeof want) == 0);
}

static void json_errors_name_the_key_and_change_nothing(void) {
  aihw_mapping_params m = aihw_mapping_params_default();
  m.max_input_size = 77;
  const aihw_mapping_params before = m;
  CHECK_STATUS(aihw_mapping_params_from_json("{\"max_inputs\": 3}", &m), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("max_inputs");
  CHECK_STATUS(aihw_mapping_params_from_json("{\"max_input_size\": 2.5}", &m),
               AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("max_input_size");
  CHECK_STATUS(aihw_mapping_params_from_json("{\"max_input_size\": -1}", &m),
               AIHW_ERR_FORMAT);
  CHECK_STATUS(aihw_mapping_params_from_json("{\"weight_scaling_omega\": -1}", &m),
               AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("weight_scaling_omega");
  CHECK_STATUS(aihw_mapping_params_from_json("{\"digital_bias\": \"yes\"}", &m),
               AIHW_ERR_FORMAT);
  CHECK_STATUS(
      aihw_mapping_params_from_json("{\"digital_bias\": true, \"digital_bias\": true}", &m),
      AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("twice");
  CHECK_STATUS(aihw_mapping_params_from_json("[1]", &m), AIHW_ERR_FORMAT);
  CHECK(memcmp(&m, &before, sizeof m) == 0);
}

static void rpu_config_json_carries_the_mapping(void) {
  aihw_tile_config tc = aihw_tile_config_default(AIHW_TILE_INFERENCE);
  tc.seed = 5;
  char *text = NULL;
  CHECK_OK(aihw_tile_config_to_json(&tc, &text));
  /* splice a mapping area into the tile configuration's object */
  const char *mapping = "\"mapping\": {\"max_input_size\": 300, \"digital_bias\": false}, ";
  char *joined = malloc(strlen(text) + strlen(mapping) + 1);
  CHECK(joined != NULL && text[0] == '{');
  sprintf(joined, "{%s%s", mapping, text + 1);
  aihw_tile_config got;
  aihw_mapping_params mp;
  CHECK_OK(aihw_rpu_config_from_json(joined, &got, &mp));
  CHECK(mp.max_input_size == 300 && mp.digital_bias == 0 && mp.max_output_size == 512);
  char *again = NULL;
  CHECK_OK(aihw_tile_config_to_json(&got, &again));
  CHECK(strcmp(again, text) == 0);
  free(again);
  /* without a mapping: defaults; a bad mapping key: named, outputs unchanged */
  CHECK_OK(aihw_rpu_config_from_json(text, &got, &mp));
  CHECK(mp.max_input_size == 512 && mp.digital_bias == 1);
  sprintf(joined, "{\"mapping\": {\"max_input_size\": 300, \"typo\": 1}, %s", text + 1);
  mp.max_input_size = 9;
  CHECK_STATUS(aihw_rpu_config_from_json(joined, &got, &mp), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("mapping.typo");
  CHECK(mp.max_input_size == 9);
  sprintf(joined, "{\"mapping\": 3, %s", text + 1);
  CHECK_STATUS(aihw_rpu_config_from_json(joined, &got, &mp), AIHW_ERR_FORMAT);
  CHECK_ERROR_MENTIONS("mapping");
  free(joined);
  free(text);
}

TEST_MAIN(TEST(defaults_are_aihwkits_mapping_parameter), TEST(split_edge_cases),
          TEST(split_counts_without_room_for_sizes), TEST(split_rejects_bad_arguments),
          TEST(validation_names_the_bad_field), TEST(tile_grids_match_aihwkit),
          TEST(analog_bias_and_array_quirks), TEST(tiles_get_consecutive_ids),
          TEST(json_round_trip_and_defaults), TEST(json_errors_name_the_key_and_change_nothing),
          TEST(rpu_config_json_carries_the_mapping))
