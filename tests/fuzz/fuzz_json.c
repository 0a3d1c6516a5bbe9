/* Fuzz target: the JSON configuration readers of the public API. The first input byte
 * picks the reader, the rest is the JSON text:
 *   0 aihw_io_params_from_json        1 aihw_update_params_from_json
 *   2 aihw_device_params_from_json    3 aihw_inference_params_from_json
 *   4 aihw_tile_config_from_json      (model descriptions: fuzz_module_state)
 *
 * Invariants: a failed read leaves the parameters unchanged (same serialisation); an accepted
 * text gives parameters that serialise (to_json accepts only valid parameters), and the
 * serialisation reads back to the same text (a fixed point after one round). */
#include "fuzz_util.h"

#include "aihw/aihw.h"

/* Both parameter sets serialise to the same text. */
#define same_json(to_json, x, y)                                                         \
  do {                                                                                   \
    char *tx = NULL, *ty = NULL;                                                         \
    FUZZ_REQUIRE(to_json(x, &tx) == AIHW_OK && to_json(y, &ty) == AIHW_OK);              \
    FUZZ_REQUIRE(strcmp(tx, ty) == 0);                                                   \
    free(tx);                                                                            \
    free(ty);                                                                            \
  } while (0)

#define ROUND_TRIP(type, init, from_json, to_json)                                       \
  do {                                                                                   \
    type p = init, q = init;                                                             \
    type before = p;                                                                     \
    if (from_json(text, &p) != AIHW_OK) {                                                \
      same_json(to_json, &p, &before);                                                   \
      break;                                                                             \
    }                                                                                    \
    char *a = NULL, *b = NULL;                                                           \
    const aihw_status s = to_json(&p, &a);                                               \
    FUZZ_REQUIRE(s == AIHW_OK || s == AIHW_ERR_OUT_OF_MEMORY);                           \
    if (s == AIHW_OK) {                                                                  \
      FUZZ_REQUIRE(from_json(a, &q) == AIHW_OK);                                         \
      FUZZ_REQUIRE(to_json(&q, &b) == AIHW_OK);                                          \
      if (strcmp(a, b) != 0) {                                                           \
        fprintf(stderr, "first:  %s\nsecond: %s\n", a, b);                               \
        FUZZ_REQUIRE(!"to_json(from_json(to_json(p))) == to_json(p)");                   \
      }                                                                                  \
    }                                                                                    \
    free(a);                                                                             \
    free(b);                                                                             \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  char *text = fuzz_cstring(data + 1, size - 1);
  if (text == NULL)
    return 0;
  switch (data[0] % 5) {
  case 0:
    ROUND_TRIP(aihw_io_params, aihw_io_params_default(), aihw_io_params_from_json,
               aihw_io_params_to_json);
    break;
  case 1:
    ROUND_TRIP(aihw_update_params, aihw_update_params_default(),
               aihw_update_params_from_json, aihw_update_params_to_json);
    break;
  case 2:
    ROUND_TRIP(aihw_device_params, aihw_device_params_default(AIHW_DEVICE_CONSTANT_STEP),
               aihw_device_params_from_json, aihw_device_params_to_json);
    break;
  case 3:
    ROUND_TRIP(aihw_inference_params, aihw_inference_params_default(),
               aihw_inference_params_from_json, aihw_inference_params_to_json);
    break;
  default:
    ROUND_TRIP(aihw_tile_config, aihw_tile_config_default(AIHW_TILE_ANALOG),
               aihw_tile_config_from_json, aihw_tile_config_to_json);
    break;
  }
  free(text);
  return 0;
}
