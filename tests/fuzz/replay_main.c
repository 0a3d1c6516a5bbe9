/* Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput of the target it is
 * linked with on every file named on the command line, or on every regular file of a
 * directory named there (not recursive). Used by CTest (fuzz/replay_*) on the committed
 * seed corpora and regression inputs, so that every crash libFuzzer ever found stays a
 * test of the normal, sanitizer and valgrind runs. Exits 1 when a path cannot be read or
 * no input was found; a violated invariant aborts inside the target. */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 0;
  }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got = 0;
  while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf == NULL) {
    fprintf(stderr, "replay: out of memory reading %s\n", path);
    return 0;
  }
  /* an exact-size copy, so that ASan sees reads past the input's end */
  uint8_t *exact = malloc(n > 0 ? n : 1);
  if (exact == NULL) {
    free(buf);
    return 0;
  }
  memcpy(exact, buf, n);
  free(buf);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 1;
}

int main(int argc, char **argv) {
  long inputs = 0;
  int ok = 1;
  for (int i = 1; i < argc; ++i) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: cannot stat %s\n", argv[i]);
      ok = 0;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      ok = run_file(argv[i]) && ok;
      ++inputs;
      continue;
    }
    DIR *dir = opendir(argv[i]);
    if (dir == NULL) {
      fprintf(stderr, "replay: cannot open directory %s\n", argv[i]);
      ok = 0;
      continue;
    }
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      ok = run_file(path) && ok;
      ++inputs;
    }
    closedir(dir);
  }
  printf("replay: %ld inputs, %s\n", inputs, ok && inputs > 0 ? "no invariant violated" : "FAILED");
  return ok && inputs > 0 ? 0 : 1;
}
