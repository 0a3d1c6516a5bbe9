/* Crash-safe saving (issue 9, item 5): a child process saves module checkpoints over one
 * path in a loop, alternating two different modules (A and B); the parent kills it with
 * SIGKILL after a pseudo-random delay (0 to 40 ms, 25 kill points from a fixed seed, so
 * the kill lands before, inside and between writes). After every kill the file at the
 * path must be complete: exactly the bytes of A's or B's checkpoint, and it must load
 * (aihw_module_load_new) and produce the same output as the module it came from. A killed
 * writer may leave its temporary file "<path>.tmp.<pid>" behind (nn.h, safetensors.h);
 * the test removes those. */
#define _XOPEN_SOURCE 700 /* fork, kill, nanosleep */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aihw/aihw.h"
#include "test_util.h"

enum { IN = 64, HIDDEN = 256, OUT = 32, BATCH = 2, KILLS = 25 };

static aihw_module *make_module(uint32_t seed) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  c.seed = seed;
  aihw_module *net = NULL, *l1 = NULL, *act = NULL, *l2 = NULL;
  CHECK_OK(aihw_sequential_create(&net));
  CHECK_OK(aihw_linear_create(&c, NULL, IN, HIDDEN, 1, &l1));
  CHECK_OK(aihw_sequential_append(net, l1));
  CHECK_OK(aihw_activation_create(AIHW_MODULE_RELU, HIDDEN, &act));
  CHECK_OK(aihw_sequential_append(net, act));
  c.tile_id = 1;
  CHECK_OK(aihw_linear_create(&c, NULL, HIDDEN, OUT, 1, &l2));
  CHECK_OK(aihw_sequential_append(net, l2));
  return net;
}

static void *file_bytes(const char *path, size_t *size) {
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  fseek(f, 0, SEEK_END);
  const long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n)
    *size = (size_t)n;
  fclose(f);
  return buf;
}

static void forward(aihw_module *m, float *y) {
  float x[BATCH * IN];
  for (int k = 0; k < BATCH * IN; ++k)
    x[k] = (float)((k * 7) % 13) / 13.0f - 0.5f;
  CHECK_OK(aihw_module_set_training(m, 0));
  CHECK_OK(aihw_module_forward(m, x, BATCH, IN, y, OUT));
}

static void killed_saves_leave_a_complete_loadable_checkpoint(void) {
  char path[256], path_a[256], path_b[256];
  const int pid = (int)getpid();
  snprintf(path, sizeof path, "/tmp/aihw_test_crash_%d.safetensors", pid);
  snprintf(path_a, sizeof path_a, "/tmp/aihw_test_crash_%d_a.safetensors", pid);
  snprintf(path_b, sizeof path_b, "/tmp/aihw_test_crash_%d_b.safetensors", pid);
  aihw_module *a = make_module(1), *b = make_module(2);
  CHECK_OK(aihw_module_save(a, path_a));
  CHECK_OK(aihw_module_save(b, path_b));
  size_t na = 0, nb = 0;
  void *bytes_a = file_bytes(path_a, &na), *bytes_b = file_bytes(path_b, &nb);
  CHECK(bytes_a != NULL && bytes_b != NULL && na > 100000 && na == nb &&
        memcmp(bytes_a, bytes_b, na) != 0);
  /* reference outputs from the checkpoints (a forward changes a module's random streams,
   * so the modules themselves stay untouched) */
  float ya[BATCH * OUT], yb[BATCH * OUT], y[BATCH * OUT];
  aihw_module *ra = NULL, *rb = NULL;
  CHECK_OK(aihw_module_load_new(path_a, &ra));
  CHECK_OK(aihw_module_load_new(path_b, &rb));
  if (ra == NULL || rb == NULL)
    return;
  forward(ra, ya);
  forward(rb, yb);
  CHECK(memcmp(ya, yb, sizeof ya) != 0);
  aihw_module_destroy(ra);
  aihw_module_destroy(rb);
  CHECK_OK(aihw_module_save(a, path)); /* the previous checkpoint */

  uint32_t rng = 2024;
  int saw_a = 0, saw_b = 0;
  for (int kill_index = 0; kill_index < KILLS; ++kill_index) {
    rng = rng * 1664525u + 1013904223u;
    const long delay_us = (long)(rng >> 8) % 40000;
    fflush(NULL);
    const pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) { /* saves forever, alternating; only the kill ends it */
      for (unsigned k = 0;; ++k)
        if (aihw_module_save((k & 1) != 0 ? a : b, path) != AIHW_OK)
          _exit(3);
    }
    struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    kill(child, SIGKILL);
    int wstatus = 0;
    CHECK(waitpid(child, &wstatus, 0) == child);
    CHECK(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)child);
    remove(tmp);

    size_t n = 0;
    void *now = file_bytes(path, &n);
    const int is_a = now != NULL && n == na && memcmp(now, bytes_a, na) == 0;
    const int is_b = now != NULL && n == nb && memcmp(now, bytes_b, nb) == 0;
    if (!is_a && !is_b)
      fprintf(stderr, "kill %d after %ld us: the file (%zu bytes) is neither checkpoint\n",
              kill_index, delay_us, n);
    CHECK(is_a || is_b);
    saw_a += is_a;
    saw_b += is_b;
    free(now);
    aihw_module *m = NULL;
    CHECK_OK(aihw_module_load_new(path, &m));
    if (m != NULL) {
      forward(m, y);
      CHECK(memcmp(y, is_a ? ya : yb, sizeof y) == 0);
      aihw_module_destroy(m);
    }
  }
  printf("crash-safe saving: %d kills, file held checkpoint A %d times, B %d times\n", KILLS,
         saw_a, saw_b);
  remove(path);
  remove(path_a);
  remove(path_b);
  free(bytes_a);
  free(bytes_b);
  aihw_module_destroy(a);
  aihw_module_destroy(b);
}

TEST_MAIN(TEST(killed_saves_leave_a_complete_loadable_checkpoint))
