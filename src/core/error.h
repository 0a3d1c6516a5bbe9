/* Internal error reporting: set the calling thread's last error and return its status.
 * Every public entry point that fails goes through aihw_error(). */
#ifndef AIHW_CORE_ERROR_H
#define AIHW_CORE_ERROR_H

#include "aihw/common.h"

#if defined(__GNUC__)
#define AIHW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define AIHW_PRINTF(a, b)
#endif

/* Records status + formatted message for aihw_last_error(); returns status. */
aihw_status aihw_error(aihw_status status, const char *fmt, ...) AIHW_PRINTF(2, 3);

/* Propagate a failing status from a callee (which already set the message). */
#define AIHW_TRY(expr)                  \
  do {                                  \
    aihw_status aihw_try_s_ = (expr);   \
    if (aihw_try_s_ != AIHW_OK)         \
      return aihw_try_s_;               \
  } while (0)

#endif
