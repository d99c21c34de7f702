/* CHECK for the C tests: counts failures (atomically: jobs check too) and reports each. */
#ifndef TP_TESTS_C_CHECK_H
#define TP_TESTS_C_CHECK_H

#include <stdatomic.h>
#include <stdio.h>

static atomic_int failures = 0;

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

#endif /* TP_TESTS_C_CHECK_H */
