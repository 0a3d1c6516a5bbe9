/* Internal JSON helpers shared by the parameter readers and writers (IO, update, device
 * and inference parameters): float text that round-trips bit-exactly, typed reading of
 * cJSON values with aihw error messages, field access by byte offset, and the parse and
 * print steps every *_from_json / *_to_json function starts and ends with.
 *
 * Error messages name the parameter area and key the same way everywhere:
 *
 *   "<area> parameter '<group>.<name>': expected <what>, got <JSON type>"
 *
 * where `area` is the caller's word ("IO", "update", "device", "inference") and `group`
 * is the key path of the enclosing object ("drift", "noise_model.g_converter"); a NULL
 * or empty group means a top-level key ("'name'"). Every function that fails sets the
 * calling thread's last error through aihw_error() (core/error.h) and returns its status.
 * None keeps state; all are thread-safe as far as cJSON and the C locale are.
 */
#ifndef AIHW_CORE_JSON_UTIL_H
#define AIHW_CORE_JSON_UTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "aihw/common.h"

/* ---- field storage ------------------------------------------------------------------ */

/* The float / int stored at byte `offset` of the struct at `base` (read and written
 * through memcpy, so any 4-byte field, including an int-sized enum, can be reached from a
 * field table). No error is possible. */
float aihw_json_get_float(const void *base, size_t offset);
int aihw_json_get_int(const void *base, size_t offset);
void aihw_json_set_float(void *base, size_t offset, float v);
void aihw_json_set_int(void *base, size_t offset, int v);

/* ---- writing ------------------------------------------------------------------------ */

/* Writes into buf the shortest decimal text that reads back (strtod, then to float, as
 * cJSON's parser and the readers do) to exactly v: 1 to 9 significant digits ("%.*g"),
 * or the plain integer when that is not longer ("1000", not "1e+03"). +-inf becomes
 * "1e999" / "-1e999" (JSON has no infinity; every IEEE reader turns these into inf). The
 * decimal point is always '.', whatever LC_NUMERIC says. NaN is not expected (callers
 * write validated values). A buf of 40 bytes always suffices; shorter buffers truncate. */
void aihw_json_format_float(float v, char *buf, size_t size);

/* A new raw cJSON number holding aihw_json_format_float(v); the caller owns it (or hands
 * it to aihw_json_add_item). NULL when out of memory; sets no error. */
cJSON *aihw_json_float_item(float v);

/* Adds item to the object `to` under name, or appends it to the array `to` when name is
 * NULL. On success `to` owns item and 1 is returned. On failure (item NULL, out of memory)
 * item is deleted and 0 is returned, so a builder can chain calls with && and report one
 * out-of-memory at the end. Sets no error. */
int aihw_json_add_item(cJSON *to, const char *name, cJSON *item);

/* A new JSON array of the n floats of values (each as aihw_json_float_item). The caller
 * owns it; NULL when out of memory (nothing leaks). Sets no error. */
cJSON *aihw_json_float_array(const float *values, int n);

/* Start of a *_to_json function: sets *json_out to NULL (when json_out is not NULL), then
 * returns AIHW_ERR_INVALID_ARGUMENT "<function>: params is NULL" (or "json_out is NULL")
 * if either is NULL, else AIHW_OK. */
aihw_status aihw_json_write_begin(const char *function, const void *params, char **json_out);

/* End of a *_to_json function: when ok is nonzero and root is not NULL, prints root
 * (cJSON_Print, which allocates with malloc under cJSON's default hooks) into *json_out;
 * the caller then owns the text and frees it with free(). root is deleted in every case.
 * Returns AIHW_ERR_OUT_OF_MEMORY
 * "<function>: out of memory" when ok is 0, root is NULL or printing fails (*json_out
 * stays as it was), else AIHW_OK. */
aihw_status aihw_json_write_end(const char *function, cJSON *root, int ok, char **json_out);

/* ---- reading ------------------------------------------------------------------------ */

/* Argument check of a *_from_json function: AIHW_ERR_INVALID_ARGUMENT "<function>: json is
 * NULL" (or "params is NULL") if either is NULL, else AIHW_OK. */
aihw_status aihw_json_read_begin(const char *function, const char *json, const void *params);

/* Parses the NUL-terminated text json, which must hold one JSON object and nothing after
 * it but whitespace. On success *root_out is the parsed tree, owned by the caller
 * (cJSON_Delete). On failure *root_out is NULL and the status is AIHW_ERR_FORMAT with
 * "<area> parameters: JSON parse error at byte N near '<20 bytes>'" or "<area>
 * parameters: expected a JSON object, got <JSON type>". */
aihw_status aihw_json_parse_object(const char *area, const char *json, cJSON **root_out);

/* "null", "a boolean", "a number", "a string", "an array", "an object" or "an invalid
 * value": the type of item as error messages name it. Static text, never NULL. */
const char *aihw_json_type_name(const cJSON *item);

/* Always returns AIHW_ERR_FORMAT with "<area> parameter '<group.>name': expected
 * <expected>, got <JSON type of item>". */
aihw_status aihw_json_wrong_type(const char *area, const char *group, const char *name,
                                 const cJSON *item, const char *expected);

/* A JSON number as float into *out. Doubles beyond the float range become +-inf (IEEE 754
 * conversion), which the callers' validation then rejects (AIHW_ERR_NOT_FINITE). Not a
 * number: aihw_json_wrong_type(..., "a number"); *out unchanged. */
aihw_status aihw_json_read_float(const char *area, const char *group, const char *name,
                                 const cJSON *item, float *out);

/* A JSON number that is an integer in int range into *out. Not a number:
 * aihw_json_wrong_type(..., "an integer"); fractional or out of range: AIHW_ERR_FORMAT
 * "<area> parameter '<group.>name': expected an integer in int range, got <%.17g>". *out
 * is unchanged on failure. */
aihw_status aihw_json_read_int(const char *area, const char *group, const char *name,
                               const cJSON *item, int *out);

/* 1 when d is an integer in [low, high] (NaN is not), else 0. */
int aihw_json_is_integral_in(double d, double low, double high);

/* 1 and *out = 0 or 1 when item is true/false or the number 0 or 1 (aihwkit writes
 * booleans either way); 0 otherwise, *out unchanged. Sets no error. */
int aihw_json_bool_value(const cJSON *item, int *out);

/* aihw_json_bool_value with errors: a number other than 0/1 is AIHW_ERR_FORMAT
 * "<area> parameter '<group.>name': expected true/false (or 0/1), got <%.17g>", any other
 * type aihw_json_wrong_type(..., "true/false (or 0/1)"). *out unchanged on failure. */
aihw_status aihw_json_read_bool(const char *area, const char *group, const char *name,
                                const cJSON *item, int *out);

/* The string of a JSON string into *out (owned by item: valid while item lives). Other
 * types: aihw_json_wrong_type(..., "a string"); *out unchanged. */
aihw_status aihw_json_read_string(const char *area, const char *group, const char *name,
                                  const cJSON *item, const char **out);

/* Index v in [0, count) with s equal to names[v] or to values[v] (an enum accepted by
 * Python member name or aihwkit Enum value), or -1 if none. NULL entries of names and a
 * NULL values array are skipped. */
int aihw_json_enum_index(const char *s, const char *const *names, const char *const *values,
                         int count);

/* 1 when s equals name or (value not NULL) value: matching an aihwkit member aihw does not
 * implement by either spelling. */
int aihw_json_names_member(const char *s, const char *name, const char *value);

/* Always returns AIHW_ERR_UNSUPPORTED "<area> parameter '<group.>name': <member> is not
 * supported: it <reason>". */
aihw_status aihw_json_unsupported_value(const char *area, const char *group, const char *name,
                                        const char *member, const char *reason);

/* Always returns AIHW_ERR_FORMAT "<area> parameter '<group.>name': unknown value
 * '<value>' (allowed: <allowed>)". */
aihw_status aihw_json_unknown_value(const char *area, const char *group, const char *name,
                                    const char *value, const char *allowed);

/* Index of the entry whose name equals key in an array of count structs of stride bytes
 * each, every one starting with a `const char *name` member (the field tables), or -1. */
int aihw_json_find_named(const void *entries, size_t stride, int count, const char *key);

/* Duplicate-key check of an object walk: sets seen[index] and returns AIHW_OK, or returns
 * AIHW_ERR_FORMAT "<area> parameter '<group.>key' appears twice" if it was already set. */
aihw_status aihw_json_mark_seen(const char *area, const char *group, const char *key,
                                char *seen, int index);

#endif
