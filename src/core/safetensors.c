/* safetensors reader and writer (safetensors.h).
 *
 * Invariants of a dict: entries[0..count) in insertion order, each with its own name,
 * shape and data allocations (so views stay valid while the dict grows); names unique,
 * found through an open-addressing hash index (FNV-1a, linear probing, load <= 1/2); the
 * same for metadata keys. Data is kept in host byte order; files are little-endian, so
 * the byte swap happens only at the file boundary, and only on big-endian hosts.
 *
 * Reading is two-phase: parse and validate the header against the real data size,
 * recording every tensor's [begin, end) span with no tensor memory allocated; sort the
 * spans and check that they tile the data exactly; only then allocate each tensor and
 * copy (or fread, in offset order) its bytes. This is the order of the official reader
 * (safetensors/src/tensor.rs, Metadata::validate), whose checks we follow, stricter where
 * it is lenient by accident (duplicate names, unknown keys in a tensor entry, "\u0000").
 */
#define _XOPEN_SOURCE 700 /* fsync, O_DIRECTORY, fileno */
#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"

/* JSON numbers are doubles in cJSON: integers above 2^53 are not exact. */
#define ST_MAX_JSON_INTEGER 9007199254740992.0

static const struct {
  const char *name;
  size_t size;
} dtype_table[AIHW_ST_DTYPE_COUNT] = {
    [AIHW_ST_BOOL] = {"BOOL", 1},       [AIHW_ST_U8] = {"U8", 1},
    [AIHW_ST_I8] = {"I8", 1},           [AIHW_ST_U16] = {"U16", 2},
    [AIHW_ST_I16] = {"I16", 2},         [AIHW_ST_F16] = {"F16", 2},
    [AIHW_ST_BF16] = {"BF16", 2},       [AIHW_ST_U32] = {"U32", 4},
    [AIHW_ST_I32] = {"I32", 4},         [AIHW_ST_F32] = {"F32", 4},
    [AIHW_ST_U64] = {"U64", 8},         [AIHW_ST_I64] = {"I64", 8},
    [AIHW_ST_F64] = {"F64", 8},         [AIHW_ST_F8_E5M2] = {"F8_E5M2", 1},
    [AIHW_ST_F8_E4M3] = {"F8_E4M3", 1},
};

const char *aihw_st_dtype_name(aihw_st_dtype dtype) {
  return (unsigned)dtype < AIHW_ST_DTYPE_COUNT ? dtype_table[dtype].name : "?";
}

size_t aihw_st_dtype_size(aihw_st_dtype dtype) {
  return (unsigned)dtype < AIHW_ST_DTYPE_COUNT ? dtype_table[dtype].size : 0;
}

/* ---- dict --------------------------------------------------------------------------- */

typedef struct {
  char *name;
  aihw_st_dtype dtype;
  size_t ndim;
  size_t *shape;
  size_t numel, nbytes;
  void *data;
} st_entry;

typedef struct {
  char *key;
  char *value;
} st_meta;

/* Slot values are index + 1; 0 marks an empty slot. capacity is 0 or a power of two. */
typedef struct {
  size_t *slots;
  size_t capacity;
} st_index;

struct aihw_st_dict {
  st_entry *entries;
  size_t count, capacity;
  st_index entry_index;
  st_meta *meta;
  size_t meta_count, meta_capacity;
  st_index meta_index;
  char *source; /* names the dict in error messages */
};

static const char *entry_key(const aihw_st_dict *d, size_t i) { return d->entries[i].name; }
static const char *meta_key(const aihw_st_dict *d, size_t i) { return d->meta[i].key; }
typedef const char *(*key_fn)(const aihw_st_dict *d, size_t i);

static size_t hash_name(const char *s) {
  uint64_t h = 14695981039346656037u; /* FNV-1a, 64-bit */
  for (; *s; ++s)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return (size_t)(h ^ (h >> 32));
}

/* Index of `name`, or SIZE_MAX when absent. */
static size_t index_find(const st_index *ix, const aihw_st_dict *d, key_fn key,
                         const char *name) {
  if (ix->capacity == 0)
    return SIZE_MAX;
  for (size_t s = hash_name(name) & (ix->capacity - 1);; s = (s + 1) & (ix->capacity - 1)) {
    if (ix->slots[s] == 0)
      return SIZE_MAX;
    if (strcmp(key(d, ix->slots[s] - 1), name) == 0)
      return ix->slots[s] - 1;
  }
}

/* Inserts i, whose key is absent; needs a free slot (index_reserve). */
static void index_put(st_index *ix, const aihw_st_dict *d, key_fn key, size_t i) {
  size_t s = hash_name(key(d, i)) & (ix->capacity - 1);
  while (ix->slots[s] != 0)
    s = (s + 1) & (ix->capacity - 1);
  ix->slots[s] = i + 1;
}

/* Makes room for `count` keys at load <= 1/2, re-inserting keys 0..count-2 (the last
 * one is about to be added). Unchanged on failure. */
static aihw_status index_reserve(st_index *ix, const aihw_st_dict *d, key_fn key,
                                 size_t count) {
  if (count <= ix->capacity / 2)
    return AIHW_OK;
  size_t capacity = ix->capacity ? ix->capacity : 16;
  while (count > capacity / 2) {
    if (capacity > SIZE_MAX / 4)
      return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "safetensors: too many names");
    capacity *= 2;
  }
  size_t *slots = aihw_calloc_array(capacity, sizeof *slots, "safetensors name index");
  if (slots == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  aihw_free(ix->slots);
  ix->slots = slots;
  ix->capacity = capacity;
  for (size_t i = 0; i + 1 < count; ++i)
    index_put(ix, d, key, i);
  return AIHW_OK;
}

/* `array` (of *capacity items of `size` bytes, `count` used) with room for count + 1:
 * itself, or a larger copy (the old one freed); NULL when out of memory (array kept). */
static void *grow_array(void *array, size_t *capacity, size_t count, size_t size) {
  if (count < *capacity)
    return array;
  void *p = aihw_alloc_array(*capacity ? *capacity * 2 : 8, size, "safetensors list");
  if (p == NULL)
    return NULL;
  if (count > 0)
    memcpy(p, array, count * size);
  aihw_free(array);
  *capacity = *capacity ? *capacity * 2 : 8;
  return p;
}

static char *copy_string(const char *s, const char *what) {
  size_t n = strlen(s) + 1;
  char *p = aihw_alloc_array(n, 1, what);
  if (p != NULL)
    memcpy(p, s, n);
  return p;
}

/* Number of bytes of the valid UTF-8 prefix of s[0..n); n when all is valid. Overlong
 * forms, surrogates and code points above U+10FFFF are invalid (RFC 3629). */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
    if ((c >= 0x80 && c < 0xc2) || c > 0xf4 || len > n - i)
      return i;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80)
        return i;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return i;
    i += len;
  }
  return n;
}

static int is_utf8(const char *s) {
  size_t n = strlen(s);
  return utf8_valid_prefix((const unsigned char *)s, n) == n;
}

aihw_status aihw_st_dict_create(aihw_st_dict **out) {
  if (out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_dict_create: out is NULL");
  *out = NULL;
  aihw_st_dict *d = aihw_calloc_array(1, sizeof *d, "safetensors dict");
  if (d == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  *out = d;
  return AIHW_OK;
}

void aihw_st_dict_destroy(aihw_st_dict *dict) {
  if (dict == NULL)
    return;
  for (size_t i = 0; i < dict->count; ++i) {
    aihw_free(dict->entries[i].name);
    aihw_free(dict->entries[i].shape);
    aihw_free(dict->entries[i].data);
  }
  for (size_t i = 0; i < dict->meta_count; ++i) {
    aihw_free(dict->meta[i].key);
    aihw_free(dict->meta[i].value);
  }
  aihw_free(dict->entries);
  aihw_free(dict->meta);
  aihw_free(dict->entry_index.slots);
  aihw_free(dict->meta_index.slots);
  aihw_free(dict->source);
  aihw_free(dict);
}

static const char *dict_source(const aihw_st_dict *d) {
  return d->source ? d->source : "safetensors dict";
}

/* numel and byte size of a shape, or 0 when either overflows size_t. */
static int shape_size(const size_t *shape, size_t ndim, size_t elem, size_t *numel,
                      size_t *nbytes) {
  size_t n = 1;
  for (size_t k = 0; k < ndim; ++k) {
    if (shape[k] != 0 && n > SIZE_MAX / shape[k])
      return 0;
    n *= shape[k];
  }
  if (n > SIZE_MAX / elem)
    return 0;
  *numel = n;
  *nbytes = n * elem;
  return 1;
}

/* Appends an entry (name absent, sizes checked) with copies of name and shape, taking
 * ownership of data only on success. The dict is unchanged on failure. */
static aihw_status append_entry(aihw_st_dict *d, const char *name, aihw_st_dtype dtype,
                                const size_t *shape, size_t ndim, size_t numel, size_t nbytes,
                                void *data) {
  st_entry e = {.dtype = dtype, .ndim = ndim, .numel = numel, .nbytes = nbytes};
  e.name = copy_string(name, "safetensors tensor name");
  if (e.name == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  if (ndim > 0) {
    e.shape = aihw_alloc_array(ndim, sizeof *e.shape, "safetensors tensor shape");
    if (e.shape == NULL) {
      aihw_free(e.name);
      return AIHW_ERR_OUT_OF_MEMORY;
    }
    memcpy(e.shape, shape, ndim * sizeof *shape);
  }
  st_entry *grown = grow_array(d->entries, &d->capacity, d->count, sizeof *d->entries);
  aihw_status s = grown ? AIHW_OK : AIHW_ERR_OUT_OF_MEMORY;
  if (grown != NULL) {
    d->entries = grown;
    d->entries[d->count] = e; /* visible to the index's key function, count not yet */
    s = index_reserve(&d->entry_index, d, entry_key, d->count + 1);
  }
  if (s != AIHW_OK) {
    aihw_free(e.name);
    aihw_free(e.shape);
    return s;
  }
  d->entries[d->count].data = data;
  index_put(&d->entry_index, d, entry_key, d->count);
  ++d->count;
  return AIHW_OK;
}

aihw_status aihw_st_dict_add(aihw_st_dict *dict, const char *name, aihw_st_dtype dtype,
                             const size_t *shape, size_t ndim, const void *data) {
  if (dict == NULL || name == NULL || (shape == NULL && ndim > 0))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_st_dict_add: dict, name or shape is NULL");
  if ((unsigned)dtype >= AIHW_ST_DTYPE_COUNT)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_st_dict_add: tensor '%s': invalid dtype %d", name, (int)dtype);
  if (!is_utf8(name) || strcmp(name, "__metadata__") == 0)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_st_dict_add: tensor name '%s' is not valid UTF-8 or is reserved",
                      name);
  if (index_find(&dict->entry_index, dict, entry_key, name) != SIZE_MAX)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_dict_add: tensor '%s' exists", name);
  size_t numel, nbytes;
  if (!shape_size(shape, ndim, aihw_st_dtype_size(dtype), &numel, &nbytes))
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY,
                      "aihw_st_dict_add: tensor '%s': byte size overflows size_t", name);
  void *copy = aihw_alloc_array(nbytes, 1, "safetensors tensor data");
  if (copy == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  if (data != NULL)
    memcpy(copy, data, nbytes);
  else
    memset(copy, 0, nbytes);
  aihw_status s = append_entry(dict, name, dtype, shape, ndim, numel, nbytes, copy);
  if (s != AIHW_OK)
    aihw_free(copy);
  return s;
}

/* Appends metadata (key absent) with copies of key and value; unchanged on failure. */
static aihw_status append_meta(aihw_st_dict *d, const char *key, const char *value) {
  st_meta m = {copy_string(key, "safetensors metadata key"),
               copy_string(value, "safetensors metadata value")};
  st_meta *grown = m.key && m.value
                       ? grow_array(d->meta, &d->meta_capacity, d->meta_count, sizeof *d->meta)
                       : NULL;
  aihw_status s = grown ? AIHW_OK : AIHW_ERR_OUT_OF_MEMORY;
  if (grown != NULL) {
    d->meta = grown;
    d->meta[d->meta_count] = m;
    s = index_reserve(&d->meta_index, d, meta_key, d->meta_count + 1);
  }
  if (s != AIHW_OK) {
    aihw_free(m.key);
    aihw_free(m.value);
    return s;
  }
  index_put(&d->meta_index, d, meta_key, d->meta_count);
  ++d->meta_count;
  return AIHW_OK;
}

aihw_status aihw_st_dict_set_metadata(aihw_st_dict *dict, const char *key, const char *value) {
  if (dict == NULL || key == NULL || value == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_st_dict_set_metadata: dict, key or value is NULL");
  if (!is_utf8(key) || !is_utf8(value))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_st_dict_set_metadata: key '%s' or its value is not valid UTF-8",
                      key);
  size_t i = index_find(&dict->meta_index, dict, meta_key, key);
  if (i == SIZE_MAX)
    return append_meta(dict, key, value);
  char *copy = copy_string(value, "safetensors metadata value");
  if (copy == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  aihw_free(dict->meta[i].value);
  dict->meta[i].value = copy;
  return AIHW_OK;
}

size_t aihw_st_dict_count(const aihw_st_dict *dict) { return dict ? dict->count : 0; }

size_t aihw_st_dict_metadata_count(const aihw_st_dict *dict) {
  return dict ? dict->meta_count : 0;
}

static void entry_view(const st_entry *e, aihw_st_tensor *out) {
  *out = (aihw_st_tensor){e->name, e->dtype, e->ndim, e->shape, e->numel, e->nbytes, e->data};
}

aihw_status aihw_st_dict_at(const aihw_st_dict *dict, size_t index, aihw_st_tensor *out) {
  if (dict == NULL || out == NULL || index >= dict->count)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_st_dict_at: NULL argument or index %zu out of range", index);
  entry_view(&dict->entries[index], out);
  return AIHW_OK;
}

aihw_status aihw_st_dict_metadata_at(const aihw_st_dict *dict, size_t index, const char **key,
                                     const char **value) {
  if (dict == NULL || key == NULL || value == NULL || index >= dict->meta_count)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT,
                      "aihw_st_dict_metadata_at: NULL argument or index %zu out of range",
                      index);
  *key = dict->meta[index].key;
  *value = dict->meta[index].value;
  return AIHW_OK;
}

const char *aihw_st_dict_metadata(const aihw_st_dict *dict, const char *key) {
  if (dict == NULL || key == NULL)
    return NULL;
  size_t i = index_find(&dict->meta_index, dict, meta_key, key);
  return i == SIZE_MAX ? NULL : dict->meta[i].value;
}

int aihw_st_dict_contains(const aihw_st_dict *dict, const char *name) {
  return dict != NULL && name != NULL &&
         index_find(&dict->entry_index, dict, entry_key, name) != SIZE_MAX;
}

aihw_status aihw_st_dict_get(const aihw_st_dict *dict, const char *name, aihw_st_tensor *out) {
  if (dict == NULL || name == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_dict_get: NULL argument");
  size_t i = index_find(&dict->entry_index, dict, entry_key, name);
  if (i == SIZE_MAX)
    return aihw_error(AIHW_ERR_FORMAT, "%s: no tensor '%s'", dict_source(dict), name);
  entry_view(&dict->entries[i], out);
  return AIHW_OK;
}

static aihw_status get_typed(const aihw_st_dict *dict, const char *name, aihw_st_dtype dtype,
                             const void **data, aihw_st_tensor *info) {
  aihw_st_tensor t;
  if (data == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_dict_get_*: data is NULL");
  AIHW_TRY(aihw_st_dict_get(dict, name, &t));
  if (t.dtype != dtype)
    return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s' has dtype %s where %s was expected",
                      dict_source(dict), name, aihw_st_dtype_name(t.dtype),
                      aihw_st_dtype_name(dtype));
  *data = t.data;
  if (info != NULL)
    *info = t;
  return AIHW_OK;
}

#define ST_TYPED_GETTER(suffix, ctype, dtype)                                       \
  aihw_status aihw_st_dict_get_##suffix(const aihw_st_dict *dict, const char *name, \
                                        const ctype **data, aihw_st_tensor *info) { \
    const void *p = NULL;                                                           \
    aihw_status s = get_typed(dict, name, dtype, &p, info);                         \
    if (s == AIHW_OK)                                                               \
      *data = p;                                                                    \
    return s;                                                                       \
  }
ST_TYPED_GETTER(f32, float, AIHW_ST_F32)
ST_TYPED_GETTER(f64, double, AIHW_ST_F64)
ST_TYPED_GETTER(i32, int32_t, AIHW_ST_I32)
ST_TYPED_GETTER(i64, int64_t, AIHW_ST_I64)
ST_TYPED_GETTER(u8, uint8_t, AIHW_ST_U8)

/* "[2, 3]" into buf (truncated with "..." when it does not fit). */
static void format_shape(const size_t *shape, size_t ndim, char *buf, size_t size) {
  size_t len = (size_t)snprintf(buf, size, "[");
  for (size_t k = 0; k < ndim && len < size; ++k)
    len += (size_t)snprintf(buf + len, size - len, k ? ", %zu" : "%zu", shape[k]);
  if (len < size)
    len += (size_t)snprintf(buf + len, size - len, "]");
  if (len >= size && size >= 4)
    memcpy(buf + size - 4, "...", 4);
}

aihw_status aihw_st_tensor_expect_shape(const aihw_st_tensor *t, const size_t *shape,
                                        size_t ndim) {
  if (t == NULL || (shape == NULL && ndim > 0))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_tensor_expect_shape: NULL argument");
  if (t->ndim == ndim && (ndim == 0 || memcmp(t->shape, shape, ndim * sizeof *shape) == 0))
    return AIHW_OK;
  char got[128], want[128];
  format_shape(t->shape, t->ndim, got, sizeof got);
  format_shape(shape, ndim, want, sizeof want);
  return aihw_error(AIHW_ERR_FORMAT, "tensor '%s': shape %s where %s was expected", t->name,
                    got, want);
}

/* ---- byte order --------------------------------------------------------------------- */

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  return first == 1;
}

/* Reverses the bytes of each of the n elements of `size` bytes at p (host <-> LE on a
 * big-endian host). */
static void swap_elements(unsigned char *p, size_t n, size_t size) {
  for (size_t i = 0; i < n; ++i, p += size)
    for (size_t a = 0, b = size - 1; a < b; ++a, --b) {
      unsigned char t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
}

static void put_u64_le(unsigned char *p, uint64_t v) {
  for (int k = 0; k < 8; ++k)
    p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_u64_le(const unsigned char *p) {
  uint64_t v = 0;
  for (int k = 7; k >= 0; --k)
    v = (v << 8) | p[k];
  return v;
}

/* ---- writing ------------------------------------------------------------------------ */

typedef struct {
  char *text;
  size_t len, capacity;
  int failed; /* 1: out of memory, 2: over the header limit */
} st_text;

/* Appends printf-style text, growing the buffer; records the first failure. */
static void AIHW_PRINTF(2, 3) text_printf(st_text *t, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  int n = t->failed ? -1
                    : vsnprintf(t->text ? t->text + t->len : NULL,
                                t->text ? t->capacity - t->len : 0, fmt, args);
  va_end(args);
  if (n < 0 || t->len + (size_t)n < t->capacity) {
    t->len += n < 0 ? 0 : (size_t)n;
    return;
  }
  if ((size_t)n > AIHW_ST_MAX_HEADER_BYTES - t->len) {
    t->failed = 2;
    return;
  }
  size_t capacity = t->capacity ? t->capacity : 256;
  while (capacity <= t->len + (size_t)n)
    capacity *= 2;
  char *p = aihw_alloc_array(capacity, 1, "safetensors header");
  if (p == NULL) {
    t->failed = 1;
    return;
  }
  if (t->len)
    memcpy(p, t->text, t->len);
  aihw_free(t->text);
  t->text = p;
  t->capacity = capacity;
  va_start(args, fmt);
  t->len += (size_t)vsnprintf(t->text + t->len, t->capacity - t->len, fmt, args);
  va_end(args);
}

/* s as a JSON string: '"' and '\' escaped, control characters as \n, \u001f, ... */
static void text_json_string(st_text *t, const char *s) {
  static const char special[] = "\"\\\n\r\t\b\f", letter[] = "\"\\nrtbf";
  text_printf(t, "\"");
  while (*s) {
    int run = 0;
    while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20)
      ++run;
    text_printf(t, "%.*s", run, s);
    s += run;
    const char *k = *s ? strchr(special, *s) : NULL;
    if (k != NULL)
      text_printf(t, "\\%c", letter[k - special]);
    else if (*s)
      text_printf(t, "\\u%04x", (unsigned)(unsigned char)*s);
    s += *s != '\0';
  }
  text_printf(t, "\"");
}

/* Where each tensor goes: order[] lists entry indices by position in the data (descending
 * element size, ties in insertion order), offset[i] is entry i's begin. */
typedef struct {
  size_t *order;
  uint64_t *offset;
  uint64_t data_size;
  st_text header; /* padded */
} st_layout;

static void layout_free(st_layout *l) {
  aihw_free(l->order);
  aihw_free(l->offset);
  aihw_free(l->header.text);
}

static aihw_status layout_make(const aihw_st_dict *d, st_layout *l) {
  *l = (st_layout){0};
  l->order = aihw_alloc_array(d->count, sizeof *l->order, "safetensors layout");
  l->offset = aihw_alloc_array(d->count, sizeof *l->offset, "safetensors layout");
  if (l->order == NULL || l->offset == NULL) {
    layout_free(l);
    return AIHW_ERR_OUT_OF_MEMORY;
  }
  size_t n = 0;
  for (size_t elem = 8; elem >= 1; elem /= 2)
    for (size_t i = 0; i < d->count; ++i)
      if (aihw_st_dtype_size(d->entries[i].dtype) == elem) {
        l->order[n++] = i;
        l->offset[i] = l->data_size;
        l->data_size += d->entries[i].nbytes; /* sums of allocated sizes: no overflow */
      }
  st_text *h = &l->header;
  text_printf(h, "{");
  if (d->meta_count > 0) {
    text_printf(h, "\"__metadata__\":{");
    for (size_t i = 0; i < d->meta_count; ++i) {
      text_printf(h, i ? "," : "");
      text_json_string(h, d->meta[i].key);
      text_printf(h, ":");
      text_json_string(h, d->meta[i].value);
    }
    text_printf(h, d->count ? "}," : "}");
  }
  for (size_t i = 0; i < d->count; ++i) {
    const st_entry *e = &d->entries[i];
    text_printf(h, i ? "," : "");
    text_json_string(h, e->name);
    text_printf(h, ":{\"dtype\":\"%s\",\"shape\":[", aihw_st_dtype_name(e->dtype));
    for (size_t k = 0; k < e->ndim; ++k)
      text_printf(h, k ? ",%zu" : "%zu", e->shape[k]);
    text_printf(h, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", l->offset[i],
                l->offset[i] + e->nbytes);
  }
  text_printf(h, "}");
  while (!h->failed && h->len % 8 != 0) /* the official writer's alignment */
    text_printf(h, " ");
  if (h->failed) {
    int too_long = h->failed == 2;
    layout_free(l);
    if (too_long)
      return aihw_error(AIHW_ERR_UNSUPPORTED,
                        "safetensors: header exceeds the limit of %u bytes (too many tensors)",
                        AIHW_ST_MAX_HEADER_BYTES);
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "safetensors: out of memory building the header");
  }
  return AIHW_OK;
}

aihw_status aihw_st_write_memory(const aihw_st_dict *dict, void **bytes, size_t *size) {
  if (dict == NULL || bytes == NULL || size == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_write_memory: NULL argument");
  st_layout l;
  AIHW_TRY(layout_make(dict, &l));
  size_t prefix = 8 + l.header.len;
  if (l.data_size > SIZE_MAX - prefix) {
    layout_free(&l);
    return aihw_error(AIHW_ERR_OUT_OF_MEMORY, "aihw_st_write_memory: size overflows size_t");
  }
  unsigned char *p = aihw_alloc_array(prefix + (size_t)l.data_size, 1, "safetensors buffer");
  if (p == NULL) {
    layout_free(&l);
    return AIHW_ERR_OUT_OF_MEMORY;
  }
  put_u64_le(p, l.header.len);
  memcpy(p + 8, l.header.text, l.header.len);
  for (size_t n = 0; n < dict->count; ++n) {
    const st_entry *e = &dict->entries[l.order[n]];
    unsigned char *dst = p + prefix + l.offset[l.order[n]];
    memcpy(dst, e->data, e->nbytes);
    if (!host_is_little_endian())
      swap_elements(dst, e->numel, aihw_st_dtype_size(e->dtype));
  }
  *bytes = p;
  *size = prefix + (size_t)l.data_size;
  layout_free(&l);
  return AIHW_OK;
}

/* Writes n bytes of host-order elements of `elem` bytes little-endian to f. */
static int write_le(FILE *f, const unsigned char *p, size_t n, size_t elem) {
  if (host_is_little_endian() || elem == 1)
    return fwrite(p, 1, n, f) == n;
  unsigned char chunk[1 << 16];
  while (n > 0) {
    size_t m = n < sizeof chunk ? n : sizeof chunk; /* a multiple of elem: all divide 2^16 */
    memcpy(chunk, p, m);
    swap_elements(chunk, m / elem, elem);
    if (fwrite(chunk, 1, m, f) != m)
      return 0;
    p += m;
    n -= m;
  }
  return 1;
}

/* fsync of the directory holding path (which it cuts to the directory name), so that a
 * rename in it is durable. Filesystems
 * that cannot sync a directory (EINVAL) are accepted as they are. */
static int sync_parent_dir(char *path) {
  char *slash = strrchr(path, '/');
  if (slash != NULL)
    slash[slash == path] = '\0'; /* "/x" -> "/", "a/b/x" -> "a/b" */
  int fd = open(slash ? path : ".", O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc == 0 || errno == EINVAL || errno == ENOTSUP ? 0 : -1;
}

aihw_status aihw_st_write_file(const aihw_st_dict *dict, const char *path) {
  if (dict == NULL || path == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_write_file: dict or path is NULL");
  st_layout l;
  AIHW_TRY(layout_make(dict, &l));
  size_t tmp_size = strlen(path) + 32;
  char *tmp = aihw_alloc_array(tmp_size, 1, "safetensors temporary file name");
  if (tmp == NULL) {
    layout_free(&l);
    return AIHW_ERR_OUT_OF_MEMORY;
  }
  snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());

  const char *step = "create", *failed_file = tmp;
  FILE *f = NULL;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  int created = fd >= 0;
  if (created && (f = fdopen(fd, "wb")) == NULL) {
    int saved = errno;
    close(fd);
    errno = saved;
  }
  int ok = f != NULL;
  if (ok) {
    step = "write";
    unsigned char len[8];
    put_u64_le(len, l.header.len);
    ok = fwrite(len, 1, 8, f) == 8 && fwrite(l.header.text, 1, l.header.len, f) == l.header.len;
    for (size_t n = 0; ok && n < dict->count; ++n) {
      const st_entry *e = &dict->entries[l.order[n]];
      ok = write_le(f, e->data, e->nbytes, aihw_st_dtype_size(e->dtype));
    }
    if (ok) {
      step = "flush";
      ok = fflush(f) == 0;
    }
    if (ok) {
      step = "sync";
      ok = fsync(fileno(f)) == 0;
    }
    int saved = errno;
    if (fclose(f) != 0 && ok) {
      step = "close";
      ok = 0;
    } else {
      errno = saved;
    }
  }
  if (ok) {
    step = "rename";
    ok = rename(tmp, path) == 0;
    failed_file = path;
  }
  aihw_status status = AIHW_OK;
  if (!ok) {
    int saved = errno;
    if (created)
      unlink(tmp);
    status = aihw_error(AIHW_ERR_IO, "safetensors: cannot %s '%s': %s", step, failed_file,
                        strerror(saved));
  } else if (strcpy(tmp, path) && sync_parent_dir(tmp) != 0) {
    status = aihw_error(AIHW_ERR_IO,
                        "safetensors: '%s' was written, but syncing its directory failed: %s",
                        path, strerror(errno));
  }
  aihw_free(tmp);
  layout_free(&l);
  return status;
}

/* ---- reading ------------------------------------------------------------------------ */

/* A tensor's place in the data, for the coverage check and the copy. */
typedef struct {
  uint64_t begin, end;
  size_t entry;
} st_span;

static int span_compare(const void *a, const void *b) {
  const st_span *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

static const char *json_type(const cJSON *item) {
  return cJSON_IsNull(item)     ? "null"
         : cJSON_IsBool(item)   ? "a boolean"
         : cJSON_IsNumber(item) ? "a number"
         : cJSON_IsString(item) ? "a string"
         : cJSON_IsArray(item)  ? "an array"
         : cJSON_IsObject(item) ? "an object"
                                : "an invalid value";
}

/* 1 and *out when item is a JSON number holding an integer in [0, 2^53]. */
static int json_uint(const cJSON *item, uint64_t *out) {
  if (!cJSON_IsNumber(item))
    return 0;
  double v = item->valuedouble;
  if (!(v >= 0.0 && v <= ST_MAX_JSON_INTEGER) || (double)(uint64_t)v != v)
    return 0;
  *out = (uint64_t)v;
  return 1;
}

/* Header bytes the JSON parser must not see: invalid UTF-8, NUL and other control bytes
 * (legal in JSON only as \t \n \r between tokens), and the escape \u0000, which cJSON
 * would turn into a C string cut short. */
static aihw_status check_header_text(const char *src, const unsigned char *h, size_t n) {
  size_t valid = utf8_valid_prefix(h, n);
  if (valid != n)
    return aihw_error(AIHW_ERR_FORMAT, "%s: header is not valid UTF-8 (byte %zu)", src, valid);
  size_t backslashes = 0;
  for (size_t i = 0; i < n; ++i) {
    if (h[i] < 0x20 && h[i] != '\t' && h[i] != '\n' && h[i] != '\r')
      return aihw_error(AIHW_ERR_FORMAT, "%s: header has control byte 0x%02x at byte %zu", src,
                        h[i], i);
    if (h[i] == 'u' && backslashes % 2 == 1 && n - i >= 5 && memcmp(h + i + 1, "0000", 4) == 0)
      return aihw_error(AIHW_ERR_FORMAT, "%s: header has the escape \\u0000 at byte %zu", src,
                        i - 1);
    backslashes = h[i] == '\\' ? backslashes + 1 : 0;
  }
  return AIHW_OK;
}

static aihw_status read_metadata(aihw_st_dict *d, const cJSON *meta) {
  const char *src = d->source;
  if (cJSON_IsNull(meta))
    return AIHW_OK;
  if (!cJSON_IsObject(meta))
    return aihw_error(AIHW_ERR_FORMAT, "%s: '__metadata__' is %s, not an object", src,
                      json_type(meta));
  for (const cJSON *m = meta->child; m != NULL; m = m->next) {
    if (!cJSON_IsString(m))
      return aihw_error(AIHW_ERR_FORMAT, "%s: metadata key '%s': value is %s, not a string",
                        src, m->string, json_type(m));
    if (aihw_st_dict_metadata(d, m->string) != NULL)
      return aihw_error(AIHW_ERR_FORMAT, "%s: metadata key '%s' appears twice", src, m->string);
    AIHW_TRY(append_meta(d, m->string, m->valuestring));
  }
  return AIHW_OK;
}

/* Validates one tensor entry against the data size and appends it (no data yet). */
static aihw_status read_tensor_entry(aihw_st_dict *d, const cJSON *t, uint64_t data_size,
                                     st_span *span) {
  const char *src = d->source, *name = t->string;
  if (!cJSON_IsObject(t))
    return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s': entry is %s, not an object", src, name,
                      json_type(t));
  if (aihw_st_dict_contains(d, name))
    return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s' appears twice", src, name);
  const cJSON *fields[3] = {NULL, NULL, NULL};
  static const char *const field_names[3] = {"dtype", "shape", "data_offsets"};
  for (const cJSON *f = t->child; f != NULL; f = f->next) {
    int k = 0;
    while (k < 3 && strcmp(f->string, field_names[k]) != 0)
      ++k;
    if (k == 3 || fields[k] != NULL)
      return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s': %s key '%s'", src, name,
                        k == 3 ? "unexpected" : "duplicate", f->string);
    fields[k] = f;
  }
  for (int k = 0; k < 3; ++k)
    if (fields[k] == NULL)
      return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s': missing '%s'", src, name,
                        field_names[k]);
  if (!cJSON_IsString(fields[0]))
    return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s': dtype is %s, not a string", src, name,
                      json_type(fields[0]));
  int dtype = 0;
  while (dtype < AIHW_ST_DTYPE_COUNT && strcmp(fields[0]->valuestring, dtype_table[dtype].name))
    ++dtype;
  if (dtype == AIHW_ST_DTYPE_COUNT)
    return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s': unknown dtype '%s'", src, name,
                      fields[0]->valuestring);
  if (!cJSON_IsArray(fields[1]))
    return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s': shape is %s, not a list", src, name,
                      json_type(fields[1]));
  size_t ndim = (size_t)cJSON_GetArraySize(fields[1]);
  size_t *shape = ndim ? aihw_alloc_array(ndim, sizeof *shape, "safetensors shape") : NULL;
  if (ndim && shape == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  size_t k = 0;
  for (const cJSON *x = fields[1]->child; x != NULL; x = x->next, ++k) {
    uint64_t v;
    if (!json_uint(x, &v) || v > SIZE_MAX) {
      aihw_free(shape);
      return aihw_error(AIHW_ERR_FORMAT,
                        "%s: tensor '%s': shape entry %zu is not an integer in [0, 2^53]", src,
                        name, k);
    }
    shape[k] = (size_t)v;
  }
  size_t elem = aihw_st_dtype_size((aihw_st_dtype)dtype), numel, nbytes;
  if (!shape_size(shape, ndim, elem, &numel, &nbytes)) {
    aihw_free(shape);
    return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s': element count overflows size_t", src,
                      name);
  }
  const cJSON *offsets = fields[2];
  uint64_t begin = 0, end = 0;
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_uint(offsets->child, &begin) || !json_uint(offsets->child->next, &end)) {
    aihw_free(shape);
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: tensor '%s': data_offsets is not a list of two integers", src, name);
  }
  aihw_status s = AIHW_OK;
  if (begin > end || end > data_size)
    s = aihw_error(AIHW_ERR_FORMAT,
                   "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                   "] out of range (data has %" PRIu64 " bytes)",
                   src, name, begin, end, data_size);
  else if (end - begin != nbytes)
    s = aihw_error(AIHW_ERR_FORMAT,
                   "%s: tensor '%s': data_offsets span %" PRIu64
                   " bytes but %s of %zu elements needs %zu",
                   src, name, end - begin, dtype_table[dtype].name, numel, nbytes);
  else
    s = append_entry(d, name, (aihw_st_dtype)dtype, shape, ndim, numel, nbytes, NULL);
  aihw_free(shape);
  if (s == AIHW_OK)
    *span = (st_span){begin, end, d->count - 1};
  return s;
}

/* Checks that the sorted spans tile [0, data_size) exactly. */
static aihw_status check_coverage(const aihw_st_dict *d, st_span *spans, size_t n,
                                  uint64_t data_size) {
  qsort(spans, n, sizeof *spans, span_compare);
  uint64_t covered = 0;
  for (size_t i = 0; i < n; ++i) {
    const char *name = d->entries[spans[i].entry].name;
    if (spans[i].begin < covered)
      return aihw_error(AIHW_ERR_FORMAT, "%s: tensor '%s' overlaps tensor '%s'", d->source,
                        name, d->entries[spans[i - 1].entry].name);
    if (spans[i].begin > covered)
      return aihw_error(AIHW_ERR_FORMAT,
                        "%s: tensor '%s' begins at %" PRIu64 ", leaving a hole after %" PRIu64,
                        d->source, name, spans[i].begin, covered);
    covered = spans[i].end;
  }
  if (covered != data_size)
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: tensors cover %" PRIu64 " of the %" PRIu64
                      " data bytes (extra bytes after the last tensor)",
                      d->source, covered, data_size);
  return AIHW_OK;
}

/* Parses and validates a header (n bytes at text, NUL-terminated) for data_size bytes
 * of data into a new dict with no tensor data, and *spans_out sorted by position. */
static aihw_status parse_header(const char *src, const char *text, size_t n, uint64_t data_size,
                                aihw_st_dict **out, st_span **spans_out) {
  *out = NULL;
  *spans_out = NULL;
  AIHW_TRY(check_header_text(src, (const unsigned char *)text, n));
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
  if (root == NULL) {
    size_t at = end && end >= text ? (size_t)(end - text) : 0;
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: header is not valid JSON (error at byte %zu of %zu)", src, at, n);
  }
  aihw_status s = AIHW_OK;
  for (const char *p = end; p < text + n && s == AIHW_OK; ++p)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
      s = aihw_error(AIHW_ERR_FORMAT, "%s: header has text after its JSON value (byte %zu)",
                     src, (size_t)(p - text));
  if (s == AIHW_OK && !cJSON_IsObject(root))
    s = aihw_error(AIHW_ERR_FORMAT, "%s: header is %s, not a JSON object", src,
                   json_type(root));
  aihw_st_dict *d = NULL;
  st_span *spans = NULL;
  size_t n_children = s == AIHW_OK ? (size_t)cJSON_GetArraySize(root) : 0;
  if (s == AIHW_OK)
    s = aihw_st_dict_create(&d);
  if (s == AIHW_OK && (d->source = copy_string(src, "safetensors source name")) == NULL)
    s = AIHW_ERR_OUT_OF_MEMORY;
  if (s == AIHW_OK &&
      (spans = aihw_alloc_array(n_children, sizeof *spans, "safetensors spans")) == NULL)
    s = AIHW_ERR_OUT_OF_MEMORY;
  int seen_metadata = 0;
  size_t n_spans = 0;
  for (const cJSON *c = s == AIHW_OK ? root->child : NULL; c != NULL && s == AIHW_OK;
       c = c->next) {
    if (strcmp(c->string, "__metadata__") != 0) {
      s = read_tensor_entry(d, c, data_size, &spans[n_spans]);
      n_spans += s == AIHW_OK;
    } else if (seen_metadata++) {
      s = aihw_error(AIHW_ERR_FORMAT, "%s: '__metadata__' appears twice", src);
    } else {
      s = read_metadata(d, c);
    }
  }
  cJSON_Delete(root);
  if (s == AIHW_OK)
    s = check_coverage(d, spans, n_spans, data_size);
  if (s != AIHW_OK) {
    aihw_st_dict_destroy(d);
    aihw_free(spans);
    return s;
  }
  *out = d;
  *spans_out = spans;
  return AIHW_OK;
}

/* Checks the 8-byte prefix of a `size`-byte source and returns the header length. */
static aihw_status check_prefix(const char *src, const unsigned char prefix[8], uint64_t size,
                                uint64_t *header_len) {
  uint64_t n = get_u64_le(prefix);
  if (n > AIHW_ST_MAX_HEADER_BYTES)
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: header length %" PRIu64 " exceeds the limit of %u bytes", src, n,
                      AIHW_ST_MAX_HEADER_BYTES);
  if (n > size - 8)
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: header length %" PRIu64 " exceeds the %" PRIu64
                      " bytes after the length field (truncated file?)",
                      src, n, size - 8);
  *header_len = n;
  return AIHW_OK;
}

/* Where the bytes come from: a file (read front to back) or a caller's buffer. */
typedef struct {
  const char *name;
  FILE *file;
  const unsigned char *bytes;
  uint64_t size, pos;
} st_source;

static aihw_status source_read(st_source *src, void *dst, size_t n) {
  if (src->file != NULL && fread(dst, 1, n, src->file) != n)
    return aihw_error(AIHW_ERR_IO, "%s: read failed or file shrank while reading: %s",
                      src->name, strerror(errno));
  if (src->file == NULL && n > 0)
    memcpy(dst, src->bytes + src->pos, n);
  src->pos += n;
  return AIHW_OK;
}

/* Validates everything, then allocates each tensor (the sizes sum to the data actually
 * present) and reads the data in file order (the spans tile it front to back). */
static aihw_status read_source(st_source *src, aihw_st_dict **out) {
  unsigned char prefix[8];
  uint64_t n = 0;
  if (src->size < 8)
    return aihw_error(AIHW_ERR_FORMAT,
                      "%s: %" PRIu64 " bytes, fewer than the 8 of the header length", src->name,
                      src->size);
  AIHW_TRY(source_read(src, prefix, 8));
  AIHW_TRY(check_prefix(src->name, prefix, src->size, &n));
  char *text = aihw_alloc_array((size_t)n + 1, 1, "safetensors header");
  if (text == NULL)
    return AIHW_ERR_OUT_OF_MEMORY;
  aihw_st_dict *d = NULL;
  st_span *spans = NULL;
  aihw_status s = source_read(src, text, (size_t)n);
  if (s == AIHW_OK) {
    text[n] = '\0';
    s = parse_header(src->name, text, (size_t)n, src->size - 8 - n, &d, &spans);
  }
  aihw_free(text);
  for (size_t i = 0; s == AIHW_OK && i < d->count; ++i) {
    st_entry *e = &d->entries[spans[i].entry];
    e->data = aihw_alloc_array(e->nbytes, 1, "safetensors tensor data");
    s = e->data == NULL ? AIHW_ERR_OUT_OF_MEMORY : AIHW_OK;
  }
  for (size_t i = 0; s == AIHW_OK && i < d->count; ++i) {
    st_entry *e = &d->entries[spans[i].entry];
    s = source_read(src, e->data, e->nbytes);
    if (!host_is_little_endian())
      swap_elements(e->data, e->numel, aihw_st_dtype_size(e->dtype));
  }
  aihw_free(spans);
  if (s != AIHW_OK) {
    aihw_st_dict_destroy(d);
    return s;
  }
  *out = d;
  return AIHW_OK;
}

aihw_status aihw_st_read_memory(const void *bytes, size_t size, aihw_st_dict **out) {
  if (out == NULL || (bytes == NULL && size > 0))
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_read_memory: NULL argument");
  *out = NULL;
  st_source src = {"safetensors buffer", NULL, bytes, size, 0};
  return read_source(&src, out);
}

aihw_status aihw_st_read_file(const char *path, aihw_st_dict **out) {
  if (out == NULL || path == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_st_read_file: path or out is NULL");
  *out = NULL;
  st_source src = {path, fopen(path, "rb"), NULL, 0, 0};
  if (src.file == NULL)
    return aihw_error(AIHW_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  aihw_status s = AIHW_OK;
  if (fstat(fileno(src.file), &st) != 0)
    s = aihw_error(AIHW_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode))
    s = aihw_error(AIHW_ERR_IO, "'%s' is not a regular file", path);
  src.size = s == AIHW_OK ? (uint64_t)st.st_size : 0;
  if (s == AIHW_OK)
    s = read_source(&src, out);
  fclose(src.file);
  return s;
}
