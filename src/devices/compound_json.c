/* JSON of compound device parameters (compound.h): aihwkit's field names, sub-devices as
 * the list "unit_cell_devices" of device objects (aihw_device_params_to_json), the
 * transfer periphery and update as nested objects (io_params / update_params JSON). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aihw/compound.h"
#include "core/error.h"
#include "core/json_util.h"
#include "tile/tile_internal.h"

#define AREA "compound"

enum { K_FLOAT, K_INT, K_BOOL, K_POLICY, K_FVEC, K_DEVICES, K_DEVICE, K_IO, K_UPDATE };
/* classes a field belongs to */
#define VEC (1u << AIHW_COMPOUND_VECTOR | 1u << AIHW_COMPOUND_REFERENCE)
#define DY (1u << AIHW_COMPOUND_DYNAMIC_TRANSFER)
#define CH (1u << AIHW_COMPOUND_CHOPPED_TRANSFER | DY)
#define TR (1u << AIHW_COMPOUND_TRANSFER | 1u << AIHW_COMPOUND_BUFFERED_TRANSFER | CH)
#define BUF (1u << AIHW_COMPOUND_BUFFERED_TRANSFER)
#define OS (1u << AIHW_COMPOUND_ONE_SIDED)
#define MP (1u << AIHW_COMPOUND_MIXED_PRECISION)
#define ALL (VEC | TR)

typedef struct field {
  const char *name;
  int kind;
  size_t offset;
  size_t count_offset; /* K_FVEC: the int holding the length */
  unsigned classes;
} field;

#define F(name, kind, classes) {#name, kind, offsetof(aihw_compound_params, name), 0, classes}
#define V(name, count, classes)                                                            \
  {#name, K_FVEC, offsetof(aihw_compound_params, name),                                     \
   offsetof(aihw_compound_params, count), classes}

static const field fields[] = {
    {"unit_cell_devices", K_DEVICES, 0, 0, ALL | OS},
    {"device", K_DEVICE, 0, 0, MP},
    F(update_policy, K_POLICY, VEC),
    F(first_update_idx, K_INT, VEC),
    V(gamma_vec, n_gamma, ALL),
    F(gamma, K_FLOAT, TR),
    F(transfer_every, K_FLOAT, TR | MP),
    F(no_self_transfer, K_BOOL, TR),
    V(transfer_every_vec, n_transfer_every, TR),
    F(units_in_mbatch, K_BOOL, TR | OS),
    F(n_reads_per_transfer, K_INT, TR),
    F(transfer_columns, K_BOOL, TR),
    F(with_reset_prob, K_FLOAT, TR),
    F(random_selection, K_BOOL, TR),
    F(fast_lr, K_FLOAT, TR),
    F(transfer_lr, K_FLOAT, TR | MP),
    V(transfer_lr_vec, n_transfer_lr, TR),
    F(scale_transfer_lr, K_BOOL, TR),
    F(scale_fast_lr, K_BOOL, TR),
    F(transfer_forward, K_IO, TR),
    F(transfer_update, K_UPDATE, TR),
    F(thres_scale, K_FLOAT, BUF),
    F(step, K_FLOAT, BUF | CH),
    F(momentum, K_FLOAT, BUF | CH),
    F(forget_buffer, K_BOOL, BUF | CH),
    F(in_chop_prob, K_FLOAT, CH),
    F(in_chop_random, K_BOOL, CH),
    F(out_chop_prob, K_FLOAT, CH),
    F(buffer_granularity, K_FLOAT, CH),
    F(auto_granularity, K_FLOAT, CH),
    F(no_buffer, K_BOOL, CH),
    F(auto_scale, K_BOOL, CH),
    F(auto_momentum, K_FLOAT, CH),
    F(correct_gradient_magnitudes, K_BOOL, CH),
    F(refresh_every, K_INT, OS),
    F(refresh_upper_thres, K_FLOAT, OS),
    F(refresh_lower_thres, K_FLOAT, OS),
    F(refresh_forward, K_IO, OS),
    F(refresh_update, K_UPDATE, OS),
    F(copy_inverted, K_BOOL, OS),
    F(tail_weightening, K_FLOAT, DY),
    F(buffer_cap, K_FLOAT, DY),
    F(experimental_correct_accumulation, K_BOOL, DY),
    F(n_rows_per_transfer, K_INT, MP),
    F(random_row, K_BOOL, MP),
    F(granularity, K_FLOAT, MP),
    F(n_x_bins, K_INT, MP),
    F(n_d_bins, K_INT, MP),
    F(stoc_round_x, K_BOOL, MP),
    F(stoc_round_d, K_BOOL, MP),
};
enum { N_FIELDS = sizeof fields / sizeof fields[0] };

static const char *const policy_names[] = {"ALL", "SINGLE_FIXED", "SINGLE_SEQUENTIAL",
                                           "SINGLE_RANDOM"};

static cJSON *raw_object(char *text) {
  if (text == NULL)
    return NULL;
  cJSON_Minify(text);
  cJSON *item = cJSON_CreateRaw(text);
  free(text);
  return item;
}

AIHW_API aihw_status aihw_compound_params_to_json(const aihw_compound_params *p,
                                                  char **json_out) {
  static const char *fn = "aihw_compound_params_to_json";
  AIHW_TRY(aihw_json_write_begin(fn, p, json_out));
  AIHW_TRY(aihw_compound_params_validate(p, AREA));
  if (p->type == AIHW_COMPOUND_NONE)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: type NONE has no JSON form", fn);
  cJSON *root = cJSON_CreateObject();
  int ok = root != NULL && aihw_json_add_item(root, "type", cJSON_CreateString(
                                                                aihw_compound_type_name(p->type)));
  const unsigned me = 1u << p->type;
  for (int f = 0; f < N_FIELDS && ok; ++f) {
    const field *fd = &fields[f];
    if (!(fd->classes & me))
      continue;
    cJSON *item = NULL;
    char *text = NULL;
    aihw_status s = AIHW_OK;
    switch (fd->kind) {
    case K_FLOAT: item = aihw_json_float_item(aihw_json_get_float(p, fd->offset)); break;
    case K_INT: item = cJSON_CreateNumber(aihw_json_get_int(p, fd->offset)); break;
    case K_BOOL: item = cJSON_CreateBool(aihw_json_get_int(p, fd->offset)); break;
    case K_POLICY: item = cJSON_CreateString(policy_names[p->update_policy]); break;
    case K_FVEC:
      item = aihw_json_float_array((const float *)(const void *)((const char *)p + fd->offset),
                                   aihw_json_get_int(p, fd->count_offset));
      break;
    case K_DEVICES:
      item = cJSON_CreateArray();
      for (int k = 0; k < p->n_devices && item != NULL && s == AIHW_OK; ++k) {
        s = aihw_device_params_to_json(&p->devices[k], &text);
        if (s == AIHW_OK && !aihw_json_add_item(item, NULL, raw_object(text)))
          s = aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
      }
      break;
    case K_DEVICE:
      s = aihw_device_params_to_json(&p->devices[0], &text);
      item = s == AIHW_OK ? raw_object(text) : NULL;
      break;
    case K_IO:
      s = aihw_io_params_to_json(
          (const aihw_io_params *)(const void *)((const char *)p + fd->offset), &text);
      item = s == AIHW_OK ? raw_object(text) : NULL;
      break;
    default:
      s = aihw_update_params_to_json(
          (const aihw_update_params *)(const void *)((const char *)p + fd->offset), &text);
      item = s == AIHW_OK ? raw_object(text) : NULL;
      break;
    }
    if (s != AIHW_OK) {
      cJSON_Delete(item);
      cJSON_Delete(root);
      return s;
    }
    ok = aihw_json_add_item(root, fd->name, item);
  }
  return aihw_json_write_end(fn, root, ok, json_out);
}

static aihw_status read_vec(const cJSON *item, const char *name, float *v, int *n) {
  if (!cJSON_IsArray(item))
    return aihw_json_wrong_type(AREA, NULL, name, item, "an array of numbers");
  const int len = cJSON_GetArraySize(item);
  if (len > AIHW_COMPOUND_MAX_DEVICES)
    return aihw_error(AIHW_ERR_FORMAT, AREA " parameter '%s': %d entries, at most %d", name,
                      len, AIHW_COMPOUND_MAX_DEVICES);
  int k = 0;
  for (const cJSON *e = item->child; e != NULL; e = e->next, ++k)
    AIHW_TRY(aihw_json_read_float(AREA, NULL, name, e, &v[k]));
  *n = len;
  return AIHW_OK;
}

static aihw_status read_sub(const cJSON *item, const char *name, int kind, void *out) {
  if (!cJSON_IsObject(item))
    return aihw_json_wrong_type(AREA, NULL, name, item, "an object");
  char *text = aihw_json_print_exact((cJSON *)item);
  if (text == NULL)
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, AREA ": out of memory");
  aihw_status s = kind == K_DEVICES ? aihw_device_params_from_json(text, out)
                  : kind == K_IO    ? aihw_io_params_from_json(text, out)
                                    : aihw_update_params_from_json(text, out);
  free(text);
  if (s != AIHW_OK) {
    char msg[768];
    snprintf(msg, sizeof msg, "%s", aihw_last_error());
    return aihw_error(s, AREA ".%s: %s", name, msg);
  }
  return AIHW_OK;
}

static aihw_status read_params(cJSON *root, aihw_compound_params *out) {
  const cJSON *type_item = cJSON_GetObjectItemCaseSensitive(root, "type");
  if (type_item == NULL)
    return aihw_error(AIHW_ERR_FORMAT, AREA ": the key 'type' is required (VectorUnitCell, "
                                            "ReferenceUnitCell, TransferCompound, "
                                            "BufferedTransferCompound, ...)");
  const char *type_text = NULL;
  AIHW_TRY(aihw_json_read_string(AREA, NULL, "type", type_item, &type_text));
  int type = 1;
  while (type < AIHW_COMPOUND_TYPE_COUNT &&
         strcmp(type_text, aihw_compound_type_name((aihw_compound_type)type)) != 0)
    ++type;
  if (type == AIHW_COMPOUND_TYPE_COUNT)
    return aihw_json_unknown_value(AREA, NULL, "type", type_text,
                                   "VectorUnitCell, ReferenceUnitCell, OneSidedUnitCell, "
                                   "TransferCompound, BufferedTransferCompound, "
                                   "ChoppedTransferCompound, DynamicTransferCompound, "
                                   "MixedPrecisionCompound");
  aihw_compound_params c = aihw_compound_params_default((aihw_compound_type)type, NULL, 1);
  const char *dev_key = type == AIHW_COMPOUND_MIXED_PRECISION ? "device" : "unit_cell_devices";
  if (cJSON_GetObjectItemCaseSensitive(root, dev_key) == NULL)
    return aihw_error(AIHW_ERR_FORMAT, AREA ": the key '%s' is required", dev_key);
  char seen[N_FIELDS + 1] = {0};
  for (cJSON *item = root->child; item != NULL; item = item->next) {
    if (strcmp(item->string, "type") == 0) {
      AIHW_TRY(aihw_json_mark_seen(AREA, NULL, "type", seen, N_FIELDS));
      continue;
    }
    const int f = aihw_json_find_named(fields, sizeof fields[0], N_FIELDS, item->string);
    if (f < 0 || !(fields[f].classes & (1u << type)))
      return aihw_error(AIHW_ERR_FORMAT, AREA ": '%s' is not a field of %s", item->string,
                        type_text);
    AIHW_TRY(aihw_json_mark_seen(AREA, NULL, item->string, seen, f));
    const field *fd = &fields[f];
    int iv = 0;
    float fv = 0.0f;
    switch (fd->kind) {
    case K_FLOAT:
      AIHW_TRY(aihw_json_read_float(AREA, NULL, fd->name, item, &fv));
      aihw_json_set_float(&c, fd->offset, fv);
      break;
    case K_INT:
      AIHW_TRY(aihw_json_read_int(AREA, NULL, fd->name, item, &iv));
      aihw_json_set_int(&c, fd->offset, iv);
      break;
    case K_BOOL:
      AIHW_TRY(aihw_json_read_bool(AREA, NULL, fd->name, item, &iv));
      aihw_json_set_int(&c, fd->offset, iv);
      break;
    case K_POLICY: {
      const char *text = NULL;
      AIHW_TRY(aihw_json_read_string(AREA, NULL, fd->name, item, &text));
      const int v = aihw_json_enum_index(text, policy_names, NULL, 4);
      if (v < 0)
        return aihw_json_unknown_value(AREA, NULL, fd->name, text,
                                       "ALL, SINGLE_FIXED, SINGLE_SEQUENTIAL, SINGLE_RANDOM");
      c.update_policy = (aihw_vector_policy)v;
      break;
    }
    case K_FVEC:
      AIHW_TRY(read_vec(item, fd->name, (float *)(void *)((char *)&c + fd->offset), &iv));
      aihw_json_set_int(&c, fd->count_offset, iv);
      break;
    case K_DEVICES: {
      if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) < 1 ||
          cJSON_GetArraySize(item) > AIHW_COMPOUND_MAX_DEVICES)
        return aihw_error(AIHW_ERR_FORMAT,
                          AREA " parameter 'unit_cell_devices': expected an array of 1..%d "
                               "device objects",
                          AIHW_COMPOUND_MAX_DEVICES);
      int k = 0;
      for (const cJSON *e = item->child; e != NULL; e = e->next, ++k) {
        char name[48];
        snprintf(name, sizeof name, "unit_cell_devices[%d]", k);
        AIHW_TRY(read_sub(e, name, K_DEVICES, &c.devices[k]));
      }
      c.n_devices = k;
      /* aihwkit: a ReferenceUnitCell with one device duplicates it; transfer compounds
       * use copies of the second device for further ones (not needed: lists are full) */
      if ((type == AIHW_COMPOUND_REFERENCE || type == AIHW_COMPOUND_ONE_SIDED) && k == 1) {
        c.devices[1] = c.devices[0];
        c.n_devices = 2;
      }
      break;
    }
    case K_DEVICE:
      AIHW_TRY(read_sub(item, fd->name, K_DEVICES, &c.devices[0]));
      c.n_devices = 1;
      break;
    case K_IO: AIHW_TRY(read_sub(item, fd->name, K_IO, (char *)&c + fd->offset)); break;
    default: AIHW_TRY(read_sub(item, fd->name, K_UPDATE, (char *)&c + fd->offset)); break;
    }
  }
  AIHW_TRY(aihw_compound_params_validate(&c, AREA));
  *out = c;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_compound_params_from_json(const char *json,
                                                    aihw_compound_params *params) {
  AIHW_TRY(aihw_json_read_begin("aihw_compound_params_from_json", json, params));
  cJSON *root = NULL;
  AIHW_TRY(aihw_json_parse_object(AREA, json, &root));
  aihw_status s = read_params(root, params);
  cJSON_Delete(root);
  return s;
}
