/* Internal reader of IDX files, the format of the MNIST and Fashion-MNIST data sets
 * (yann.lecun.com/exdb/mnist, "FILE FORMATS FOR THE MNIST DATABASE"), gzip'd or plain:
 *
 *   4 bytes   magic: 0x00 0x00, the element type (0x08 = unsigned byte), the rank R
 *   4R bytes  the dimensions, big-endian uint32; the first one is the number of items
 *   the data  prod(dims) unsigned bytes, row-major
 *
 * Only unsigned bytes are read (the only type of these data sets): rank 3 for images
 * (magic 0x00000803, [n][rows][cols]) and rank 1 for labels (magic 0x00000801, [n]).
 * zlib's gzread reads compressed and plain files alike.
 *
 * Validation: a magic other than the expected one, a zero or overflowing dimension, a
 * file shorter than its header says (truncated) and, when every item is read, data after
 * the last item are AIHW_ERR_FORMAT naming the file and what is wrong; a file that cannot
 * be opened or read is AIHW_ERR_IO naming it. The buffer grows with the data actually
 * read (at most twice their size), so a header claiming huge dimensions costs no more
 * memory than the file holds.
 *
 * Every function that fails sets the calling thread's last error (core/error.h).
 * Thread-safe (no shared state).
 */
#ifndef AIHW_CORE_IDX_H
#define AIHW_CORE_IDX_H

#include <stdint.h>

#include "aihw/common.h"

#define AIHW_IDX_MAGIC_U8_RANK1 0x00000801u /* labels  [n] */
#define AIHW_IDX_MAGIC_U8_RANK3 0x00000803u /* images  [n][rows][cols] */
#define AIHW_IDX_MAX_RANK 3

/* An array read from an IDX file. data holds dims[0] * ... * dims[rank - 1] bytes; the
 * caller releases it with free() (NULL-safe). */
typedef struct aihw_idx_array {
  uint8_t *data;
  int rank;
  int64_t dims[AIHW_IDX_MAX_RANK]; /* dims[0] = items actually read */
} aihw_idx_array;

/* Reads the unsigned-byte IDX file at `path`, which must have rank `rank` (1 or 3; the
 * magic must be 0x0000080<rank>). limit > 0 reads only the first min(limit, n) items;
 * limit <= 0 reads them all (and then refuses trailing data). On success *out owns the
 * data; on error *out is zeroed and nothing is leaked.
 * Errors: INVALID_ARGUMENT (NULL, rank not 1 or 3), IO (cannot open or read), FORMAT
 * (wrong magic, zero or overflowing dimensions, truncated data, trailing data),
 * OUT_OF_MEMORY. */
aihw_status aihw_idx_read_u8(const char *path, int rank, int64_t limit, aihw_idx_array *out);

#endif
