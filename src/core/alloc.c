/* Checked, aligned allocation with an optional failure-injection hook (alloc.h). */
#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

enum { AIHW_ALIGNMENT = 64 };

static long fail_countdown = 0;

void aihw_alloc_fail_after(long n) { fail_countdown = n; }

void *aihw_alloc_array(size_t count, size_t size, const char *what) {
  if (size != 0 && count > SIZE_MAX / size) {
    aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: %zu x %zu bytes overflows the address space",
               what, count, size);
    return NULL;
  }
  size_t bytes = count * size;
  if (bytes == 0)
    bytes = 1;
  /* aligned_alloc needs a multiple of the alignment. */
  if (bytes > SIZE_MAX - AIHW_ALIGNMENT) {
    aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: %zu bytes is too large", what, bytes);
    return NULL;
  }
  bytes = (bytes + AIHW_ALIGNMENT - 1) / AIHW_ALIGNMENT * AIHW_ALIGNMENT;
  if (fail_countdown > 0 && --fail_countdown == 0) {
    fail_countdown = 1; /* keep failing until the test resets the hook */
    aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: allocation of %zu bytes failed (injected)", what,
               bytes);
    return NULL;
  }
  void *p = aligned_alloc(AIHW_ALIGNMENT, bytes);
  if (p == NULL)
    aihw_error(AIHW_ERR_OUT_OF_MEMORY, "%s: allocation of %zu bytes failed", what, bytes);
  return p;
}

void *aihw_calloc_array(size_t count, size_t size, const char *what) {
  void *p = aihw_alloc_array(count, size, what);
  if (p != NULL)
    memset(p, 0, count * size);
  return p;
}

void aihw_free(void *p) { free(p); }
