/* Common definitions of the public aihw API: export macro, status codes, error messages,
 * runtime version.
 *
 * Every public function returns an aihw_status (or a plain value where it cannot fail).
 * On failure it also records a message naming what was wrong, readable with
 * aihw_last_error() on the same thread. Objects are never left half-changed by a call
 * that fails.
 */
#ifndef AIHW_COMMON_H
#define AIHW_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "aihw/version.h"

#if defined(AIHW_BUILDING_LIBRARY)
#define AIHW_API __attribute__((visibility("default")))
#else
#define AIHW_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes. Append-only: values never change meaning. */
typedef enum aihw_status {
  AIHW_OK = 0,
  AIHW_ERR_INVALID_ARGUMENT = 1, /* NULL handle, bad size, value out of its range */
  AIHW_ERR_SHAPE = 2,            /* array dimensions disagree with the object */
  AIHW_ERR_NOT_FINITE = 3,       /* NaN or Inf where a finite number is required */
  AIHW_ERR_OUT_OF_MEMORY = 4,    /* an allocation failed; nothing was changed */
  AIHW_ERR_IO = 5,               /* a file could not be read or written */
  AIHW_ERR_FORMAT = 6,           /* malformed, truncated or foreign data (JSON, files) */
  AIHW_ERR_UNSUPPORTED = 7,      /* valid request this build or version cannot do */
  AIHW_ERR_STATE = 8,            /* the object is not in a state that allows the call */
  AIHW_ERR_INTERNAL = 9          /* a bug in aihw: please report it */
} aihw_status;

/* Short constant name of a status ("AIHW_OK", "AIHW_ERR_SHAPE", ...). Never NULL. */
AIHW_API const char *aihw_status_name(aihw_status status);

/* Message of the last failing call on the calling thread ("" if none yet).
 * The pointer stays valid until the next failing aihw call on the same thread. */
AIHW_API const char *aihw_last_error(void);

/* Status of the last failing call on the calling thread (AIHW_OK if none yet). */
AIHW_API aihw_status aihw_last_status(void);

/* Clears the calling thread's last error. */
AIHW_API void aihw_clear_error(void);

/* Version of the library actually linked, "MAJOR.MINOR.PATCH" (compare with
 * AIHW_VERSION_STRING from the header you compiled against). */
AIHW_API const char *aihw_version_string(void);
AIHW_API int aihw_version_number(void);

#ifdef __cplusplus
}
#endif
#endif
