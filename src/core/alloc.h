/* Checked allocation. Every library allocation goes through these functions: a failure
 * (or a size product that overflows size_t) sets AIHW_ERR_OUT_OF_MEMORY with a message
 * saying what was being allocated, and returns NULL. Memory is 64-byte aligned so that
 * SIMD loops and BLAS see aligned rows; release it with aihw_free(). */
#ifndef AIHW_CORE_ALLOC_H
#define AIHW_CORE_ALLOC_H

#include <stddef.h>

/* count * size bytes, uninitialised; `what` names the buffer for the error message. */
void *aihw_alloc_array(size_t count, size_t size, const char *what);
/* Same, zero-filled. */
void *aihw_calloc_array(size_t count, size_t size, const char *what);
void aihw_free(void *p);

/* Test hook for allocation-failure injection: the n-th allocation from now (1-based)
 * and every later one fail while n > 0; 0 disables. Not thread-safe; tests only. */
void aihw_alloc_fail_after(long n);

#endif
