/* Internal safetensors reader and writer: the container of the module state files
 * (DESIGN.md §3, "Module state"). A file is
 *
 *   8 bytes   N, little-endian uint64: the header length
 *   N bytes   UTF-8 JSON object: for each tensor name
 *               {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
 *             plus an optional "__metadata__": {string: string}; trailing spaces allowed
 *   the data  every tensor's bytes, row-major, little-endian; offsets are relative to the
 *             start of the data and must tile it exactly (no holes, no overlaps, nothing
 *             after the last tensor)
 *
 * as defined by Hugging Face's safetensors (github.com/huggingface/safetensors, README
 * "Format"), so that Python's `safetensors` package reads what we write and we read what it
 * writes (tests/unit/test_safetensors.c checks both, against committed fixtures made by
 * scripts/make_safetensors_fixtures.py).
 *
 * An aihw_st_dict holds named tensors (each with its own copy of the data, in host byte
 * order, 64-byte aligned) and string metadata, both in insertion order; names and
 * metadata keys are unique. The readers validate the whole header against the real data
 * size before they allocate any tensor memory, so a lying header (offsets out of range,
 * overlaps, holes, a size that does not match dtype and shape, a huge shape) is an
 * AIHW_ERR_FORMAT naming the source, the tensor or key, and what is wrong; the tensor
 * memory they allocate never exceeds the data actually present. The writer writes to a
 * temporary file next to the target, syncs it and renames it over the target (DESIGN.md
 * §4 rule 7), so the previous file stays intact until the new one is complete.
 *
 * Every function that fails sets the calling thread's last error (core/error.h). A dict is
 * not thread-safe; distinct dicts may be used from distinct threads.
 */
#ifndef AIHW_CORE_SAFETENSORS_H
#define AIHW_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "aihw/common.h"

/* The largest header the readers accept and the writer produces, in bytes (the official
 * reader's limit, MAX_HEADER_SIZE). */
#define AIHW_ST_MAX_HEADER_BYTES 100000000u

/* Element types, named in files by the strings of aihw_st_dtype_name(). Append-only. Only
 * F32, F64, I32, I64 and U8 have typed accessors; the others are kept as raw elements. */
typedef enum {
  AIHW_ST_BOOL = 0, /* one byte, 0 or 1 (not checked) */
  AIHW_ST_U8,
  AIHW_ST_I8,
  AIHW_ST_U16,
  AIHW_ST_I16,
  AIHW_ST_F16,
  AIHW_ST_BF16,
  AIHW_ST_U32,
  AIHW_ST_I32,
  AIHW_ST_F32,
  AIHW_ST_U64,
  AIHW_ST_I64,
  AIHW_ST_F64,
  AIHW_ST_F8_E5M2,
  AIHW_ST_F8_E4M3,
  AIHW_ST_DTYPE_COUNT /* not a type */
} aihw_st_dtype;

/* "F32", "I64", ... for a valid dtype; "?" otherwise. */
const char *aihw_st_dtype_name(aihw_st_dtype dtype);
/* Bytes per element (1, 2, 4 or 8); 0 for an invalid dtype. */
size_t aihw_st_dtype_size(aihw_st_dtype dtype);

/* A view of one tensor of a dict. Every pointer is owned by the dict and stays valid until
 * the dict is destroyed (adding tensors or metadata does not move them). `data` is in host
 * byte order and 64-byte aligned (never NULL, even for zero elements); `shape` holds ndim
 * extents (NULL when ndim is 0, a scalar of one element). */
typedef struct {
  const char *name;
  aihw_st_dtype dtype;
  size_t ndim;
  const size_t *shape;
  size_t numel;  /* product of the extents (1 for a scalar) */
  size_t nbytes; /* numel * aihw_st_dtype_size(dtype) */
  const void *data;
} aihw_st_tensor;

typedef struct aihw_st_dict aihw_st_dict;

/* ---- building ----------------------------------------------------------------------- */

/* A new, empty dict in *out (the caller owns it; release with aihw_st_dict_destroy).
 * Returns AIHW_ERR_INVALID_ARGUMENT (out NULL) or AIHW_ERR_OUT_OF_MEMORY. */
aihw_status aihw_st_dict_create(aihw_st_dict **out);
/* Frees the dict and every tensor and string it owns; NULL is a no-op. */
void aihw_st_dict_destroy(aihw_st_dict *dict);

/* Appends tensor `name` (a NUL-terminated UTF-8 string; copied) of `dtype` with the ndim
 * extents of `shape` (may be NULL when ndim is 0), copying its numel * dtype size bytes
 * from `data` (host byte order; NULL means zero-filled). Returns
 * AIHW_ERR_INVALID_ARGUMENT for a NULL dict or name, a name that is not valid UTF-8 or is
 * "__metadata__", an invalid dtype, a NULL shape with ndim > 0, or a name
 * already present (the dict is unchanged); AIHW_ERR_OUT_OF_MEMORY when the byte size
 * overflows size_t or allocation fails (the dict is unchanged). */
aihw_status aihw_st_dict_add(aihw_st_dict *dict, const char *name, aihw_st_dtype dtype,
                             const size_t *shape, size_t ndim, const void *data);

/* Sets metadata `key` to `value` (both NUL-terminated UTF-8; copied), replacing an earlier
 * value of the same key in place (its position in the order stays). Returns
 * AIHW_ERR_INVALID_ARGUMENT for NULL arguments or invalid UTF-8, AIHW_ERR_OUT_OF_MEMORY
 * (the dict is unchanged). */
aihw_status aihw_st_dict_set_metadata(aihw_st_dict *dict, const char *key, const char *value);

/* ---- looking up --------------------------------------------------------------------- */

/* Number of tensors / metadata entries; 0 for a NULL dict. */
size_t aihw_st_dict_count(const aihw_st_dict *dict);
size_t aihw_st_dict_metadata_count(const aihw_st_dict *dict);

/* The index-th tensor in insertion order (for a dict read from a file: the order of the
 * header's keys). Returns AIHW_ERR_INVALID_ARGUMENT for NULL arguments or index >= count. */
aihw_status aihw_st_dict_at(const aihw_st_dict *dict, size_t index, aihw_st_tensor *out);

/* The index-th metadata entry in insertion order; *key and *value are owned by the dict.
 * Returns AIHW_ERR_INVALID_ARGUMENT for NULL arguments or index >= count. */
aihw_status aihw_st_dict_metadata_at(const aihw_st_dict *dict, size_t index, const char **key,
                                     const char **value);

/* The value of metadata `key`, owned by the dict; NULL when absent (sets no error). */
const char *aihw_st_dict_metadata(const aihw_st_dict *dict, const char *key);

/* 1 if the dict holds tensor `name`, else 0 (sets no error). */
int aihw_st_dict_contains(const aihw_st_dict *dict, const char *name);

/* Tensor `name` into *out. Returns AIHW_ERR_INVALID_ARGUMENT for NULL arguments and
 * AIHW_ERR_FORMAT "<source>: no tensor '<name>'" when absent, where <source> is the path
 * the dict was read from (or "safetensors buffer", or "safetensors dict" when built). */
aihw_status aihw_st_dict_get(const aihw_st_dict *dict, const char *name, aihw_st_tensor *out);

/* Typed access: as aihw_st_dict_get, then *data = the tensor's elements (owned by the dict)
 * and, when info is not NULL, *info = the tensor. A tensor of another dtype is an
 * AIHW_ERR_FORMAT naming it and both dtypes. */
aihw_status aihw_st_dict_get_f32(const aihw_st_dict *dict, const char *name, const float **data,
                                 aihw_st_tensor *info);
aihw_status aihw_st_dict_get_f64(const aihw_st_dict *dict, const char *name,
                                 const double **data, aihw_st_tensor *info);
aihw_status aihw_st_dict_get_i32(const aihw_st_dict *dict, const char *name,
                                 const int32_t **data, aihw_st_tensor *info);
aihw_status aihw_st_dict_get_i64(const aihw_st_dict *dict, const char *name,
                                 const int64_t **data, aihw_st_tensor *info);
aihw_status aihw_st_dict_get_u8(const aihw_st_dict *dict, const char *name,
                                const uint8_t **data, aihw_st_tensor *info);

/* AIHW_OK when tensor t has exactly the ndim extents of shape; else AIHW_ERR_FORMAT
 * "tensor '<name>': shape [..] where [..] was expected" (AIHW_ERR_INVALID_ARGUMENT for a
 * NULL t, or a NULL shape with ndim > 0). For loaders that know what they expect. */
aihw_status aihw_st_tensor_expect_shape(const aihw_st_tensor *t, const size_t *shape,
                                        size_t ndim);

/* ---- files -------------------------------------------------------------------------- */

/* Serializes the dict into a new buffer *bytes of *size bytes (the caller owns it; release
 * with aihw_free). Layout: the header lists "__metadata__" first (omitted when there is no
 * metadata), then the tensors in insertion order, compact JSON, padded with spaces to a
 * multiple of 8 bytes; the data places tensors by descending element size, ties in
 * insertion order, so that every tensor starts at a multiple of its element size (as the
 * official writer does). Returns AIHW_ERR_INVALID_ARGUMENT (NULL arguments),
 * AIHW_ERR_OUT_OF_MEMORY, AIHW_ERR_UNSUPPORTED (a header over AIHW_ST_MAX_HEADER_BYTES). */
aihw_status aihw_st_write_memory(const aihw_st_dict *dict, void **bytes, size_t *size);

/* Writes the bytes of aihw_st_write_memory to `path` without ever exposing a partial file:
 * they go to "<path>.tmp.<pid>" in the same directory (created with mode 0666 & ~umask,
 * truncated if a stale one exists), which is flushed, fsync'ed, closed and renamed over
 * `path`; then the directory is fsync'ed so that the rename survives a power loss. On any
 * failure the temporary file is removed and `path` is untouched. A process killed while
 * writing leaves `path` intact and may leave its temporary file behind. Not safe for two
 * threads of one process writing the same path at once (they share the temporary name).
 * Returns AIHW_ERR_INVALID_ARGUMENT, AIHW_ERR_OUT_OF_MEMORY, AIHW_ERR_UNSUPPORTED as
 * above, or AIHW_ERR_IO naming the file, the step and strerror(errno). */
aihw_status aihw_st_write_file(const aihw_st_dict *dict, const char *path);

/* Reads and validates a whole safetensors file (or the `size` bytes at `bytes`, which the
 * caller keeps owning) into a new dict *out (the caller owns it). On failure *out is NULL
 * and nothing is allocated. Returns AIHW_ERR_INVALID_ARGUMENT (NULL arguments),
 * AIHW_ERR_IO (cannot open, stat or read the file, or it is not a regular file; the
 * message names the path and strerror), AIHW_ERR_OUT_OF_MEMORY, or AIHW_ERR_FORMAT naming
 * the source and what is wrong: fewer than 8 bytes; a header length beyond the data or
 * over AIHW_ST_MAX_HEADER_BYTES; a header that is not UTF-8, not JSON, not an object, or
 * followed by anything but JSON whitespace; a tensor entry that is not an object with
 * exactly "dtype", "shape" and "data_offsets"; an unknown dtype; a shape that is not a
 * list of integers in [0, 2^53]; an element count or byte size that overflows size_t; a
 * byte size other than end - begin; offsets out of order or beyond the data; tensors
 * that overlap, leave holes, or do not reach the end of the data; a duplicate tensor name
 * or metadata key; "__metadata__" that is not an object of strings (null is accepted, as
 * by the official reader). Integral JSON numbers such as 2.0 are accepted as integers. */
aihw_status aihw_st_read_file(const char *path, aihw_st_dict **out);
aihw_status aihw_st_read_memory(const void *bytes, size_t size, aihw_st_dict **out);

#endif
