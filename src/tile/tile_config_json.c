/* JSON of a whole tile configuration (aihw_tile_config_to_json / _from_json, tile.h) and
 * the JSON helpers the state files share: exact printing of parsed parameter trees and
 * the first-difference search that names the field where two configurations disagree.
 *
 * A tile configuration is composed from the parameter areas' own JSON functions, never
 * re-implemented here: {"kind": "ANALOG", "forward": <io>, "backward": <io>, "update":
 * <update>, "device": <device>, "inference": <inference>, "analog_bias": false, "seed": 0,
 * "tile_id": 0}, plus "compound": <compound> for compound devices. Reading starts from aihw_tile_config_default(kind), so every key but
 * "kind" may be left out. Area texts are embedded as raw JSON so that their shortest
 * round-trip floats (and 1e999 for +inf) reach the file unchanged; on reading, each area's
 * subtree is printed back with aihw_json_print_exact before its reader parses it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json_util.h"
#include "tile/tile_internal.h"

#define AREA "tile config"

static const char *const kind_names[] = {"FLOATING_POINT", "ANALOG", "INFERENCE"};
enum { N_KINDS = 3 };

/* ---- exact printing ------------------------------------------------------------------ */

static int restore_infinities(cJSON *item) {
  for (cJSON *c = item != NULL ? item->child : NULL; c != NULL;) {
    cJSON *next = c->next;
    if (cJSON_IsNumber(c) && isinf(c->valuedouble)) {
      cJSON *raw = cJSON_CreateRaw(c->valuedouble > 0 ? "1e999" : "-1e999");
      /* the replacement keeps the member's key (ReplaceItemViaPointer does not copy it:
       * the object would print "": 1e999; found by tests/fuzz/fuzz_json.c) */
      char *key = NULL;
      if (raw != NULL && c->string != NULL) {
        const size_t n = strlen(c->string) + 1;
        key = malloc(n); /* freed by cJSON_Delete (default hooks) */
        if (key != NULL)
          memcpy(key, c->string, n);
        raw->string = key;
      }
      if (raw == NULL || (c->string != NULL && key == NULL) ||
          !cJSON_ReplaceItemViaPointer(item, c, raw)) {
        cJSON_Delete(raw);
        return 0;
      }
    } else if (!restore_infinities(c)) {
      return 0;
    }
    c = next;
  }
  return 1;
}

char *aihw_json_print_exact(cJSON *item) {
  if (item == NULL || !restore_infinities(item))
    return NULL;
  return cJSON_PrintUnformatted(item);
}

/* ---- first difference ---------------------------------------------------------------- */

static void path_append(char *path, size_t size, const char *key, int index) {
  const size_t len = strlen(path);
  if (len + 1 >= size)
    return;
  if (key != NULL)
    snprintf(path + len, size - len, "%s%s", len > 0 ? "." : "", key);
  else
    snprintf(path + len, size - len, "[%d]", index);
}

static int values_differ(const cJSON *a, const cJSON *b) {
  if (cJSON_IsRaw(a) || cJSON_IsRaw(b)) /* only our infinities are raw */
    return !(cJSON_IsRaw(a) && cJSON_IsRaw(b) && strcmp(a->valuestring, b->valuestring) == 0);
  if (cJSON_IsBool(a) || cJSON_IsBool(b))
    return !(cJSON_IsBool(a) && cJSON_IsBool(b) && cJSON_IsTrue(a) == cJSON_IsTrue(b));
  if ((a->type & 0xff) != (b->type & 0xff))
    return 1;
  if (cJSON_IsNumber(a))
    return !(a->valuedouble == b->valuedouble);
  if (cJSON_IsString(a))
    return strcmp(a->valuestring, b->valuestring) != 0;
  return 0; /* null */
}

typedef struct diff_ctx {
  const char *ignore_key;
  char *path;
  size_t size;
  const cJSON **at_a, **at_b;
} diff_ctx;

/* Records where the difference is: the two nodes (either may be NULL: absent). */
static int found(diff_ctx *c, const cJSON *a, const cJSON *b) {
  if (c->at_a != NULL)
    *c->at_a = a;
  if (c->at_b != NULL)
    *c->at_b = b;
  return 1;
}

static int ignored(const diff_ctx *c, const cJSON *item) {
  return c->ignore_key != NULL && strcmp(item->string, c->ignore_key) == 0;
}

static int differ(diff_ctx *c, const cJSON *a, const cJSON *b) {
  const size_t len = strlen(c->path);
  if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
    for (const cJSON *x = a->child; x != NULL; x = x->next) {
      if (ignored(c, x))
        continue;
      const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
      path_append(c->path, c->size, x->string, 0);
      if (y == NULL)
        return found(c, x, NULL);
      if (differ(c, x, y))
        return 1;
      c->path[len] = '\0';
    }
    for (const cJSON *y = b->child; y != NULL; y = y->next)
      if (!ignored(c, y) && cJSON_GetObjectItemCaseSensitive(a, y->string) == NULL) {
        path_append(c->path, c->size, y->string, 0);
        return found(c, NULL, y);
      }
    return 0;
  }
  if (cJSON_IsArray(a) && cJSON_IsArray(b)) {
    const cJSON *x = a->child, *y = b->child;
    for (int k = 0; x != NULL || y != NULL; ++k) {
      path_append(c->path, c->size, NULL, k);
      if (x == NULL || y == NULL)
        return found(c, x, y);
      if (differ(c, x, y))
        return 1;
      c->path[len] = '\0';
      x = x->next;
      y = y->next;
    }
    return 0;
  }
  return values_differ(a, b) ? found(c, a, b) : 0;
}

int aihw_json_first_difference(const cJSON *a, const cJSON *b, const char *ignore_key,
                               char *path, size_t size, const cJSON **at_a,
                               const cJSON **at_b) {
  if (size > 0)
    path[0] = '\0';
  diff_ctx c = {ignore_key, path, size, at_a, at_b};
  if (a == NULL || b == NULL)
    return a != b ? found(&c, a, b) : 0;
  return differ(&c, a, b);
}

/* ---- writing ------------------------------------------------------------------------- */

/* Re-raises the last error as "<context>: <message>" with its status. */
static aihw_status rewrap(aihw_status s, const char *context) {
  char msg[768];
  snprintf(msg, sizeof msg, "%s", aihw_last_error());
  return aihw_error(s, "%s: %s", context, msg);
}

AIHW_API aihw_status aihw_tile_config_to_json(const aihw_tile_config *config, char **json_out) {
  static const char *fn = "aihw_tile_config_to_json";
  AIHW_TRY(aihw_json_write_begin(fn, config, json_out));
  if (aihw_tile_kind_name(config->kind) == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: kind = %d is not a tile kind", fn,
                      (int)config->kind);
  if (config->analog_bias != 0 && config->analog_bias != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: analog_bias = %d: must be 0 or 1", fn,
                      config->analog_bias);
  enum { N_AREAS = 5 };
  static const char *const keys[N_AREAS] = {"forward", "backward", "update", "device",
                                            "inference"};
  char *text[N_AREAS] = {NULL, NULL, NULL, NULL, NULL};
  aihw_status s = aihw_io_params_to_json(&config->forward, &text[0]);
  if (s == AIHW_OK)
    s = aihw_io_params_to_json(&config->backward, &text[1]);
  if (s == AIHW_OK)
    s = aihw_update_params_to_json(&config->update, &text[2]);
  if (s == AIHW_OK)
    s = aihw_device_params_to_json(&config->device, &text[3]);
  if (s == AIHW_OK)
    s = aihw_inference_params_to_json(&config->inference, &text[4]);
  if (s != AIHW_OK) {
    int k = 0;
    while (k < N_AREAS - 1 && text[k] != NULL)
      ++k;
    s = rewrap(s, keys[k]);
  }
  char *compound = NULL; /* only when a compound device is configured */
  if (s == AIHW_OK && config->compound.type != AIHW_COMPOUND_NONE) {
    s = aihw_compound_params_to_json(&config->compound, &compound);
    if (s != AIHW_OK)
      s = rewrap(s, "compound");
  }
  cJSON *root = s == AIHW_OK ? cJSON_CreateObject() : NULL;
  int ok = root != NULL &&
           aihw_json_add_item(root, "kind", cJSON_CreateString(kind_names[config->kind]));
  for (int k = 0; k < N_AREAS && ok; ++k) {
    cJSON_Minify(text[k]);
    ok = aihw_json_add_item(root, keys[k], cJSON_CreateRaw(text[k]));
  }
  if (ok && compound != NULL) {
    cJSON_Minify(compound);
    ok = aihw_json_add_item(root, "compound", cJSON_CreateRaw(compound));
  }
  free(compound);
  ok = ok && aihw_json_add_item(root, "analog_bias", cJSON_CreateBool(config->analog_bias)) &&
       aihw_json_add_item(root, "seed", cJSON_CreateNumber((double)config->seed)) &&
       aihw_json_add_item(root, "tile_id", cJSON_CreateNumber((double)config->tile_id));
  for (int k = 0; k < N_AREAS; ++k)
    free(text[k]);
  if (s != AIHW_OK)
    return s;
  if (ok) {
    *json_out = cJSON_PrintUnformatted(root);
    ok = *json_out != NULL;
  }
  cJSON_Delete(root);
  return ok ? AIHW_OK : aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
}

/* ---- reading ------------------------------------------------------------------------- */

static aihw_status read_u32(const cJSON *item, const char *key, uint32_t *out) {
  if (!cJSON_IsNumber(item))
    return aihw_json_wrong_type(AREA, NULL, key, item, "an integer");
  if (!aihw_json_is_integral_in(item->valuedouble, 0.0, 4294967295.0))
    return aihw_error(AIHW_ERR_FORMAT,
                      AREA " parameter '%s': expected an integer in 0 .. 4294967295, got %.17g",
                      key, item->valuedouble);
  *out = (uint32_t)item->valuedouble;
  return AIHW_OK;
}

/* Reads the area subtree `item` with the area's reader into the field of *c. */
static aihw_status read_area(aihw_tile_config *c, int area, cJSON *item, const char *key) {
  if (!cJSON_IsObject(item))
    return aihw_json_wrong_type(AREA, NULL, key, item, "an object");
  char *text = aihw_json_print_exact(item);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_tile_config_from_json: out of memory");
  aihw_status s = AIHW_OK;
  switch (area) {
  case 0: s = aihw_io_params_from_json(text, &c->forward); break;
  case 1: s = aihw_io_params_from_json(text, &c->backward); break;
  case 2: s = aihw_update_params_from_json(text, &c->update); break;
  case 3: s = aihw_device_params_from_json(text, &c->device); break;
  default: s = aihw_inference_params_from_json(text, &c->inference); break;
  }
  free(text);
  return s == AIHW_OK ? s : rewrap(s, key);
}

static aihw_status read_compound(aihw_tile_config *c, cJSON *item) {
  if (!cJSON_IsObject(item))
    return aihw_json_wrong_type(AREA, NULL, "compound", item, "an object");
  char *text = aihw_json_print_exact(item);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_tile_config_from_json: out of memory");
  aihw_status s = aihw_compound_params_from_json(text, &c->compound);
  free(text);
  return s == AIHW_OK ? s : rewrap(s, "compound");
}

static aihw_status read_config(cJSON *root, aihw_tile_config *out) {
  static const char *const keys[] = {"forward", "backward",  "update",
                                     "device",  "inference", "analog_bias",
                                     "seed",    "tile_id",   "compound", "kind"};
  enum { N_KEYS = 10 }; /* "kind" (last) was read first */
  const cJSON *kind_item = cJSON_GetObjectItemCaseSensitive(root, "kind");
  if (kind_item == NULL)
    return aihw_error(AIHW_ERR_FORMAT, AREA ": the key 'kind' is required (one of "
                                            "FLOATING_POINT, ANALOG, INFERENCE)");
  const char *kind_text = NULL;
  AIHW_TRY(aihw_json_read_string(AREA, NULL, "kind", kind_item, &kind_text));
  const int kind = aihw_json_enum_index(kind_text, kind_names, NULL, N_KINDS);
  if (kind < 0)
    return aihw_json_unknown_value(AREA, NULL, "kind", kind_text,
                                   "FLOATING_POINT, ANALOG, INFERENCE");
  aihw_tile_config c = aihw_tile_config_default((aihw_tile_kind)kind);
  char seen[N_KEYS] = {0};
  for (cJSON *item = root->child; item != NULL; item = item->next) {
    int k = 0;
    while (k < N_KEYS && strcmp(keys[k], item->string) != 0)
      ++k;
    if (k == N_KEYS)
      return aihw_error(AIHW_ERR_FORMAT,
                        AREA ": unknown key '%s' (allowed: kind, forward, backward, update, "
                             "device, inference, analog_bias, seed, tile_id, compound)",
                        item->string);
    AIHW_TRY(aihw_json_mark_seen(AREA, NULL, item->string, seen, k));
    if (k < 5)
      AIHW_TRY(read_area(&c, k, item, keys[k]));
    else if (k == 5)
      AIHW_TRY(aihw_json_read_bool(AREA, NULL, "analog_bias", item, &c.analog_bias));
    else if (k == 6)
      AIHW_TRY(read_u32(item, "seed", &c.seed));
    else if (k == 7)
      AIHW_TRY(read_u32(item, "tile_id", &c.tile_id));
    else if (k == 8)
      AIHW_TRY(read_compound(&c, item));
  }
  *out = c;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_tile_config_from_json(const char *json, aihw_tile_config *config) {
  AIHW_TRY(aihw_json_read_begin("aihw_tile_config_from_json", json, config));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  const aihw_status s = read_config(root, config);
  cJSON_Delete(root);
  return s;
}
