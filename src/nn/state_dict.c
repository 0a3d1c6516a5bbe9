/* Public in-memory state dicts (include/aihw/nn.h "In-memory state dicts", reference §7.2
 * load_state_dict / §1.5): a thin public face of the safetensors dict (core/safetensors.h)
 * that the module state files are made of, so that a state can be taken, inspected,
 * edited and loaded without a file, and the file functions (state.c) are these plus
 * aihw_st_write_file / aihw_st_read_file.
 *
 * aihw_state_dict is the internal aihw_st_dict itself; aihw_state_dtype numbers the
 * safetensors dtypes in the same order (checked below at compile time). */
#include "aihw/nn.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "nn/module_internal.h"

_Static_assert((int)AIHW_STATE_BOOL == (int)AIHW_ST_BOOL && (int)AIHW_STATE_U8 == (int)AIHW_ST_U8 &&
                   (int)AIHW_STATE_I8 == (int)AIHW_ST_I8 &&
                   (int)AIHW_STATE_U16 == (int)AIHW_ST_U16 &&
                   (int)AIHW_STATE_I16 == (int)AIHW_ST_I16 &&
                   (int)AIHW_STATE_F16 == (int)AIHW_ST_F16 &&
                   (int)AIHW_STATE_BF16 == (int)AIHW_ST_BF16 &&
                   (int)AIHW_STATE_U32 == (int)AIHW_ST_U32 &&
                   (int)AIHW_STATE_I32 == (int)AIHW_ST_I32 &&
                   (int)AIHW_STATE_F32 == (int)AIHW_ST_F32 &&
                   (int)AIHW_STATE_U64 == (int)AIHW_ST_U64 &&
                   (int)AIHW_STATE_I64 == (int)AIHW_ST_I64 &&
                   (int)AIHW_STATE_F64 == (int)AIHW_ST_F64,
               "aihw_state_dtype must number the safetensors dtypes as aihw_st_dtype");

static void to_public(const aihw_st_tensor *t, aihw_state_tensor *out) {
  out->name = t->name;
  out->dtype = (aihw_state_dtype)t->dtype;
  out->ndim = t->ndim;
  out->shape = t->shape;
  out->numel = t->numel;
  out->nbytes = t->nbytes;
  out->data = t->data;
}

AIHW_API aihw_status aihw_module_state_dict(const aihw_module *module, aihw_state_dict **out) {
  static const char *fn = "aihw_module_state_dict";
  if (module == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      module == NULL ? "module" : "out");
  aihw_st_dict *dict = NULL;
  AIHW_TRY(aihw_st_dict_create(&dict));
  const aihw_status s = aihw_module_state_export(module, dict);
  if (s != AIHW_OK) {
    aihw_st_dict_destroy(dict);
    return aihw_nn_wrap_error(s, fn);
  }
  *out = dict;
  return AIHW_OK;
}

AIHW_API aihw_status aihw_module_load_state_dict(aihw_module *module,
                                                 const aihw_state_dict *dict, int strict,
                                                 aihw_config_policy policy) {
  static const char *fn = "aihw_module_load_state_dict";
  if (module == NULL || dict == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn,
                      module == NULL ? "module" : "dict");
  if (strict != 0 && strict != 1)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "%s: strict = %d: must be 0 or 1", fn, strict);
  if (policy != AIHW_CONFIG_MUST_MATCH && policy != AIHW_CONFIG_KEEP_MODULE &&
      policy != AIHW_CONFIG_FROM_STATE)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "%s: policy = %d: must be AIHW_CONFIG_MUST_MATCH (0), "
                      "AIHW_CONFIG_KEEP_MODULE (1) or AIHW_CONFIG_FROM_STATE (2)",
                      fn, (int)policy);
  return aihw_module_state_load(module, dict, strict, (int)policy, "state dict");
}

AIHW_API aihw_status aihw_module_from_state_dict(const aihw_state_dict *dict,
                                                 aihw_module **out) {
  if (dict == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_module_from_state_dict: %s is NULL",
                      dict == NULL ? "dict" : "out");
  return aihw_module_state_build(dict, "state dict", out);
}

AIHW_API aihw_status aihw_state_dict_create(aihw_state_dict **out) {
  return aihw_st_dict_create(out);
}

AIHW_API aihw_status aihw_state_dict_add(aihw_state_dict *dict, const char *name,
                                         aihw_state_dtype dtype, const size_t *shape,
                                         size_t ndim, const void *data) {
  if ((int)dtype < 0 || (int)dtype > (int)AIHW_STATE_F64)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_state_dict_add: dtype = %d: must be an aihw_state_dtype (0 .. 12)",
                      (int)dtype);
  return aihw_st_dict_add(dict, name, (aihw_st_dtype)dtype, shape, ndim, data);
}

AIHW_API aihw_status aihw_state_dict_set_metadata(aihw_state_dict *dict, const char *key,
                                                  const char *value) {
  return aihw_st_dict_set_metadata(dict, key, value);
}

AIHW_API void aihw_state_dict_destroy(aihw_state_dict *dict) { aihw_st_dict_destroy(dict); }

AIHW_API size_t aihw_state_dict_count(const aihw_state_dict *dict) {
  return aihw_st_dict_count(dict);
}

AIHW_API aihw_status aihw_state_dict_at(const aihw_state_dict *dict, size_t index,
                                        aihw_state_tensor *out) {
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_state_dict_at: out is NULL");
  aihw_st_tensor t;
  AIHW_TRY(aihw_st_dict_at(dict, index, &t));
  to_public(&t, out);
  return AIHW_OK;
}

AIHW_API aihw_status aihw_state_dict_find(const aihw_state_dict *dict, const char *name,
                                          aihw_state_tensor *out) {
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_state_dict_find: out is NULL");
  aihw_st_tensor t;
  AIHW_TRY(aihw_st_dict_get(dict, name, &t));
  to_public(&t, out);
  return AIHW_OK;
}

AIHW_API int aihw_state_dict_contains(const aihw_state_dict *dict, const char *name) {
  return dict != NULL && name != NULL && aihw_st_dict_contains(dict, name);
}

AIHW_API const char *aihw_state_dict_metadata(const aihw_state_dict *dict, const char *key) {
  return dict != NULL && key != NULL ? aihw_st_dict_metadata(dict, key) : NULL;
}

AIHW_API size_t aihw_state_dict_metadata_count(const aihw_state_dict *dict) {
  return aihw_st_dict_metadata_count(dict);
}

AIHW_API aihw_status aihw_state_dict_metadata_at(const aihw_state_dict *dict, size_t index,
                                                 const char **key, const char **value) {
  return aihw_st_dict_metadata_at(dict, index, key, value);
}

AIHW_API const char *aihw_state_dtype_name(aihw_state_dtype dtype) {
  return aihw_st_dtype_name((aihw_st_dtype)dtype);
}

AIHW_API aihw_status aihw_state_dict_save(const aihw_state_dict *dict, const char *path) {
  return aihw_st_write_file(dict, path);
}

AIHW_API aihw_status aihw_state_dict_load(const char *path, aihw_state_dict **out) {
  return aihw_st_read_file(path, out);
}
