/* IDX reader (core/idx.h): header first, then the data in chunks into a buffer that
 * grows geometrically up to the size the header promises, so that memory follows the
 * bytes actually present and a truncated file is found by running out of data. */
#include "core/idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"

#define IDX_CHUNK_BYTES (1u << 20)       /* first buffer size and read size */
#define IDX_MAX_BYTES ((int64_t)1 << 40) /* refuse headers promising more */

/* Reads up to `size` bytes (size <= INT_MAX); returns how many were read (fewer only at
 * the end of the data), or -1 on a read error. */
static int64_t read_some(gzFile file, void *buf, unsigned size) {
  int got = gzread(file, buf, size);
  if (got < 0)
    return -1;
  return got;
}

static aihw_status read_error(gzFile file, const char *path) {
  int zerr = 0;
  const char *message = gzerror(file, &zerr);
  if (zerr == Z_DATA_ERROR || zerr == Z_BUF_ERROR)
    return aihw_error(AIHW_ERR_FORMAT,
                      "IDX file '%s': truncated or corrupt compressed data: %s", path, message);
  return aihw_error(AIHW_ERR_IO, "IDX file '%s': read error: %s", path,
                    zerr == Z_ERRNO ? strerror(errno) : message);
}

aihw_status aihw_idx_read_u8(const char *path, int rank, int64_t limit, aihw_idx_array *out) {
  if (out != NULL)
    memset(out, 0, sizeof *out);
  if (path == NULL || out == NULL)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_idx_read_u8: NULL %s",
                      path == NULL ? "path" : "out");
  if (rank != 1 && rank != 3)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "aihw_idx_read_u8: rank %d is not 1 or 3",
                      rank);
  errno = 0;
  gzFile file = gzopen(path, "rb");
  if (file == NULL)
    return aihw_error(AIHW_ERR_IO, "cannot open IDX file '%s': %s", path,
                      errno != 0 ? strerror(errno) : "out of memory");

  aihw_status status = AIHW_OK;
  uint8_t *data = NULL;
  unsigned char header[4 + 4 * AIHW_IDX_MAX_RANK];
  const unsigned header_bytes = 4u + 4u * (unsigned)rank;
  const uint32_t want_magic = 0x00000800u | (uint32_t)rank;

  int64_t got = read_some(file, header, 4);
  if (got < 0) {
    status = read_error(file, path);
    goto done;
  }
  if (got < 4) {
    status = aihw_error(AIHW_ERR_FORMAT, "IDX file '%s' is truncated: %lld of 4 magic bytes",
                        path, (long long)got);
    goto done;
  }
  const uint32_t magic = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 |
                         (uint32_t)header[2] << 8 | (uint32_t)header[3];
  if (magic != want_magic) {
    status =
        aihw_error(AIHW_ERR_FORMAT,
                   "'%s' is not an IDX file of unsigned bytes with %d dimension%s: "
                   "magic 0x%08x, expected 0x%08x",
                   path, rank, rank == 1 ? "" : "s", (unsigned)magic, (unsigned)want_magic);
    goto done;
  }
  got = read_some(file, header + 4, header_bytes - 4);
  if (got < 0) {
    status = read_error(file, path);
    goto done;
  }
  if (got < (int64_t)(header_bytes - 4)) {
    status = aihw_error(AIHW_ERR_FORMAT,
                        "IDX file '%s' is truncated: header has %lld of %u dimension bytes",
                        path, (long long)got, header_bytes - 4);
    goto done;
  }
  int64_t dims[AIHW_IDX_MAX_RANK] = {0};
  int64_t item_bytes = 1;
  for (int k = 0; k < rank; ++k) {
    const unsigned char *p = header + 4 + 4 * k;
    dims[k] = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                        (uint32_t)p[3]);
    if (dims[k] == 0) {
      status = aihw_error(AIHW_ERR_FORMAT, "IDX file '%s': dimension %d is 0", path, k);
      goto done;
    }
    if (k == 0)
      continue;
    if (dims[k] > IDX_MAX_BYTES / item_bytes) {
      status = aihw_error(AIHW_ERR_FORMAT,
                          "IDX file '%s': dimensions overflow (an item of "
                          "more than %lld bytes)",
                          path, (long long)IDX_MAX_BYTES);
      goto done;
    }
    item_bytes *= dims[k];
  }
  const int64_t items_in_file = dims[0];
  if (items_in_file > IDX_MAX_BYTES / item_bytes) {
    status = aihw_error(AIHW_ERR_FORMAT,
                        "IDX file '%s': dimensions overflow (%lld items of %lld bytes is "
                        "more than %lld bytes)",
                        path, (long long)items_in_file, (long long)item_bytes,
                        (long long)IDX_MAX_BYTES);
    goto done;
  }
  const int64_t items = limit > 0 && limit < items_in_file ? limit : items_in_file;
  const int64_t need = items * item_bytes;
  if ((uint64_t)need > (uint64_t)SIZE_MAX) {
    status = aihw_error(AIHW_ERR_OUT_OF_MEMORY,
                        "IDX file '%s': %lld bytes do not fit in "
                        "memory",
                        path, (long long)need);
    goto done;
  }

  int64_t capacity = 0, have = 0;
  while (have < need) {
    if (have == capacity) {
      int64_t grown = capacity == 0 ? IDX_CHUNK_BYTES : 2 * capacity;
      if (grown > need)
        grown = need;
      uint8_t *bigger = realloc(data, (size_t)grown);
      if (bigger == NULL) {
        status = aihw_error(AIHW_ERR_OUT_OF_MEMORY, "IDX file '%s': cannot allocate %lld bytes",
                            path, (long long)grown);
        goto done;
      }
      data = bigger;
      capacity = grown;
    }
    int64_t want = capacity - have;
    if (want > IDX_CHUNK_BYTES)
      want = IDX_CHUNK_BYTES;
    got = read_some(file, data + have, (unsigned)want);
    if (got < 0) {
      status = read_error(file, path);
      goto done;
    }
    if (got == 0) {
      status = aihw_error(AIHW_ERR_FORMAT,
                          "IDX file '%s' is truncated: header promises %lld items of %lld "
                          "bytes, data end after %lld bytes (%lld whole items)",
                          path, (long long)items_in_file, (long long)item_bytes,
                          (long long)have, (long long)(have / item_bytes));
      goto done;
    }
    have += got;
  }
  if (items == items_in_file) {
    unsigned char extra;
    got = read_some(file, &extra, 1);
    if (got < 0) {
      status = read_error(file, path);
      goto done;
    }
    if (got > 0) {
      status = aihw_error(AIHW_ERR_FORMAT,
                          "IDX file '%s' has data after the %lld items its header promises",
                          path, (long long)items_in_file);
      goto done;
    }
  }
  out->data = data;
  out->rank = rank;
  out->dims[0] = items;
  for (int k = 1; k < rank; ++k)
    out->dims[k] = dims[k];
  data = NULL;
done:
  free(data);
  gzclose(file);
  return status;
}
