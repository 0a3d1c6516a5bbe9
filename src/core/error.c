/* Thread-local last-error state and status names (see include/aihw/common.h). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];
static _Thread_local aihw_status last_status = AIHW_OK;

aihw_status aihw_error(aihw_status status, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  vsnprintf(last_message, sizeof last_message, fmt, args);
  va_end(args);
  last_status = status;
  return status;
}

AIHW_API const char *aihw_last_error(void) { return last_message; }

AIHW_API aihw_status aihw_last_status(void) { return last_status; }

AIHW_API void aihw_clear_error(void) {
  last_message[0] = '\0';
  last_status = AIHW_OK;
}

AIHW_API const char *aihw_status_name(aihw_status status) {
  switch (status) {
  case AIHW_OK: return "AIHW_OK";
  case AIHW_ERR_INVALID_ARGUMENT: return "AIHW_ERR_INVALID_ARGUMENT";
  case AIHW_ERR_SHAPE: return "AIHW_ERR_SHAPE";
  case AIHW_ERR_NOT_FINITE: return "AIHW_ERR_NOT_FINITE";
  case AIHW_ERR_OUT_OF_MEMORY: return "AIHW_ERR_OUT_OF_MEMORY";
  case AIHW_ERR_IO: return "AIHW_ERR_IO";
  case AIHW_ERR_FORMAT: return "AIHW_ERR_FORMAT";
  case AIHW_ERR_UNSUPPORTED: return "AIHW_ERR_UNSUPPORTED";
  case AIHW_ERR_STATE: return "AIHW_ERR_STATE";
  case AIHW_ERR_INTERNAL: return "AIHW_ERR_INTERNAL";
  }
  return "AIHW_ERR_UNKNOWN";
}

AIHW_API const char *aihw_version_string(void) { return AIHW_VERSION_STRING; }

AIHW_API int aihw_version_number(void) { return AIHW_VERSION_NUMBER; }
