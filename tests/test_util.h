/* Minimal test harness: each test program defines test functions, lists them in a
 * TEST_MAIN table and returns non-zero if any check failed. CTest runs each program.
 *
 *   static void rounding_is_half_to_even(void) { CHECK(...); CHECK_FEQ(a, b); }
 *   TEST_MAIN(TEST(rounding_is_half_to_even), TEST(...))
 */
#ifndef AIHW_TEST_UTIL_H
#define AIHW_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_ = 0;
static const char *test_current_ = "";

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__,           \
              test_current_, #cond);                                                 \
      ++test_failures_;                                                              \
    }                                                                                \
  } while (0)

/* Checks a status equals the expected one; prints aihw_last_error() if not. */
#define CHECK_STATUS(expr, expected)                                                 \
  do {                                                                               \
    int s_ = (int)(expr);                                                            \
    if (s_ != (int)(expected)) {                                                     \
      fprintf(stderr, "%s:%d: %s: %s returned %d, expected %d (%s)\n", __FILE__,     \
              __LINE__, test_current_, #expr, s_, (int)(expected), aihw_last_error()); \
      ++test_failures_;                                                              \
    }                                                                                \
  } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, AIHW_OK)

/* Exact float equality (+0 == -0), printing both values with full precision. */
#define CHECK_FEQ(a, b)                                                              \
  do {                                                                               \
    double a_ = (double)(a), b_ = (double)(b);                                       \
    if (!(a_ == b_)) {                                                               \
      fprintf(stderr, "%s:%d: %s: %s = %.9g != %s = %.9g\n", __FILE__, __LINE__,     \
              test_current_, #a, a_, #b, b_);                                        \
      ++test_failures_;                                                              \
    }                                                                                \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                        \
  do {                                                                               \
    double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                   \
    if (!(fabs(a_ - b_) <= t_)) {                                                    \
      fprintf(stderr, "%s:%d: %s: |%s - %s| = |%.9g - %.9g| = %.3g > %.3g\n",        \
              __FILE__, __LINE__, test_current_, #a, #b, a_, b_, fabs(a_ - b_), t_); \
      ++test_failures_;                                                              \
    }                                                                                \
  } while (0)

/* Checks the last error message contains `needle` (errors must name what was wrong). */
#define CHECK_ERROR_MENTIONS(needle)                                                 \
  do {                                                                               \
    if (strstr(aihw_last_error(), (needle)) == NULL) {                               \
      fprintf(stderr, "%s:%d: %s: error message \"%s\" does not mention \"%s\"\n",   \
              __FILE__, __LINE__, test_current_, aihw_last_error(), (needle));       \
      ++test_failures_;                                                              \
    }                                                                                \
  } while (0)

typedef struct {
  const char *name;
  void (*fn)(void);
} test_case_;

#define TEST(f) {#f, f}

#define TEST_MAIN(...)                                                               \
  int main(int argc, char **argv) {                                                  \
    static const test_case_ cases[] = {__VA_ARGS__};                                 \
    int n = (int)(sizeof cases / sizeof cases[0]), run = 0, failed = 0;              \
    for (int i = 0; i < n; ++i) {                                                    \
      if (argc > 1 && strcmp(argv[1], cases[i].name) != 0)                           \
        continue;                                                                    \
      int before = test_failures_;                                                   \
      test_current_ = cases[i].name;                                                 \
      cases[i].fn();                                                                 \
      ++run;                                                                         \
      if (test_failures_ != before) {                                                \
        ++failed;                                                                    \
        printf("FAIL %s\n", cases[i].name);                                          \
      } else {                                                                       \
        printf("ok   %s\n", cases[i].name);                                          \
      }                                                                              \
    }                                                                                \
    printf("%d passed, %d failed\n", run - failed, failed);                          \
    return failed == 0 && run > 0 ? 0 : 1;                                           \
  }

#endif
