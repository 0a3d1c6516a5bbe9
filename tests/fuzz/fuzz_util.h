/* Shared helpers of the fuzz targets (tests/fuzz/fuzz_*.c). Each target defines
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (clang, -DAIHW_FUZZ=ON, see
 * scripts/fuzz.sh) or with replay_main.c, which runs it over the committed seed corpus and
 * the regression inputs in the normal test suite (CTest fuzz/replay_*).
 *
 * FUZZ_REQUIRE states an invariant of the code under test; a violation aborts, which
 * libFuzzer reports as a crash and the replay test as a failure. */
#ifndef AIHW_FUZZ_UTIL_H
#define AIHW_FUZZ_UTIL_H

#define _XOPEN_SOURCE 700 /* mkstemp, fileno */

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REQUIRE(cond)                                                             \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);   \
      abort();                                                                         \
    }                                                                                  \
  } while (0)

/* The input as a NUL-terminated string (caller frees); NULL when out of memory. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s != NULL) {
    if (size > 0)
      memcpy(s, data, size);
    s[size] = '\0';
  }
  return s;
}

static char fuzz_path_[4096];

static void fuzz_remove_file_(void) {
  if (fuzz_path_[0] != '\0')
    unlink(fuzz_path_);
}

/* Writes the bytes to this process's scratch file (in $TMPDIR, else /dev/shm or /tmp;
 * created once, removed at exit) and returns its path; NULL if it cannot be written. */
static inline const char *fuzz_write_file(const uint8_t *data, size_t size) {
  if (fuzz_path_[0] == '\0') {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || access(dir, W_OK) != 0)
      dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_path_, sizeof fuzz_path_, "%s/aihw_fuzz_XXXXXX", dir);
    int fd = mkstemp(fuzz_path_);
    if (fd < 0) {
      fuzz_path_[0] = '\0';
      return NULL;
    }
    close(fd);
    atexit(fuzz_remove_file_);
  }
  FILE *f = fopen(fuzz_path_, "wb");
  if (f == NULL)
    return NULL;
  int ok = size == 0 || fwrite(data, 1, size, f) == size;
  ok = fclose(f) == 0 && ok;
  return ok ? fuzz_path_ : NULL;
}

#endif
