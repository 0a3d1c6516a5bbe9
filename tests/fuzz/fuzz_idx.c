/* Fuzz target: the IDX reader (aihw_idx_read_u8: MNIST/Fashion-MNIST images and labels,
 * gzip'd or plain; zlib reads both). The first input byte picks the rank (1 or 3) and the
 * item limit (0 = all, else 1..127); the rest is the file.
 *
 * Invariants: failure leaves the array zeroed; success gives the requested rank, positive
 * dimensions, dims[0] within the limit, and a buffer of prod(dims) bytes that the reader
 * allocated itself (every byte is touched, so ASan checks the size). */
#include "fuzz_util.h"

#include "core/idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const int rank = (data[0] & 1) != 0 ? 3 : 1;
  const int64_t limit = data[0] >> 1;
  const char *path = fuzz_write_file(data + 1, size - 1);
  if (path == NULL)
    return 0;
  aihw_idx_array a;
  memset(&a, 0xA5, sizeof a);
  if (aihw_idx_read_u8(path, rank, limit, &a) != AIHW_OK) {
    FUZZ_REQUIRE(a.data == NULL && a.rank == 0 && a.dims[0] == 0);
    return 0;
  }
  FUZZ_REQUIRE(a.rank == rank && a.data != NULL);
  size_t n = 1;
  for (int d = 0; d < rank; ++d) {
    FUZZ_REQUIRE(a.dims[d] > 0);
    n *= (size_t)a.dims[d];
  }
  FUZZ_REQUIRE(limit <= 0 || a.dims[0] <= limit);
  volatile uint8_t sink = 0;
  for (size_t k = 0; k < n; ++k)
    sink ^= a.data[k];
  (void)sink;
  free(a.data);
  return 0;
}
