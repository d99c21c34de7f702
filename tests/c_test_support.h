/* What the C tests share (the C counterpart of test_support.hpp): CHECK, stress sizes that shrink
 * under the sanitizers (TP_STRESS_SCALE), and a watchdog that turns a hang into a failure with a
 * message. Header-only, so that each test stays one file compiled as C. */
#ifndef TP_TESTS_C_TEST_SUPPORT_H
#define TP_TESTS_C_TEST_SUPPORT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Failures so far (atomically: jobs check too); main() returns non-zero when there are any. */
static atomic_int failures = 0;

#define CHECK(condition)                                                            \
  do {                                                                              \
    if (!(condition)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                   \
    }                                                                               \
  } while (0)

/* n multiplied by TP_STRESS_SCALE (default 1; the sanitizer presets set it lower), at least 1. */
static inline size_t tp_test_scaled(size_t n) {
  const char *text = getenv("TP_STRESS_SCALE");
  const double scale = text != NULL ? atof(text) : 1.0;
  const size_t value = (size_t)((double)n * (scale > 0 ? scale : 1.0));
  return value > 0 ? value : 1;
}

/* The watchdog: a thread that ends the process with a message if the test has not called
 * tp_test_watchdog_stop() within `seconds`. One at a time. pthreads rather than C11 <threads.h>:
 * glibc's mtx_lock and thrd_create bypass the entry points that ThreadSanitizer intercepts. */
struct tp_test_watchdog {
  pthread_t thread;
  pthread_mutex_t mutex;
  pthread_cond_t done_cv;
  int done;
  int seconds;
  const char *what;
};
static struct tp_test_watchdog tp_test_watchdog_state = {.mutex = PTHREAD_MUTEX_INITIALIZER,
                                                         .done_cv = PTHREAD_COND_INITIALIZER};

static inline void *tp_test_watchdog_main(void *arg) {
  struct tp_test_watchdog *w = arg;
  struct timespec deadline;
  timespec_get(&deadline, TIME_UTC); /* the clock pthread_cond_timedwait uses by default */
  deadline.tv_sec += w->seconds;
  pthread_mutex_lock(&w->mutex);
  int status = 0;
  while (!w->done && status != ETIMEDOUT) {
    status = pthread_cond_timedwait(&w->done_cv, &w->mutex, &deadline);
  }
  if (!w->done) {
    fprintf(stderr, "WATCHDOG: '%s' did not finish within %ds\n", w->what, w->seconds);
    fflush(stderr);
    _Exit(3);
  }
  pthread_mutex_unlock(&w->mutex);
  return NULL;
}

static inline void tp_test_watchdog_start(const char *what, int seconds) {
  struct tp_test_watchdog *w = &tp_test_watchdog_state;
  w->done = 0;
  w->seconds = seconds;
  w->what = what;
  if (pthread_create(&w->thread, NULL, tp_test_watchdog_main, w) != 0) {
    fprintf(stderr, "cannot start the watchdog thread\n");
    exit(EXIT_FAILURE);
  }
}

static inline void tp_test_watchdog_stop(void) {
  struct tp_test_watchdog *w = &tp_test_watchdog_state;
  pthread_mutex_lock(&w->mutex);
  w->done = 1;
  pthread_cond_signal(&w->done_cv);
  pthread_mutex_unlock(&w->mutex);
  pthread_join(w->thread, NULL);
}

/* The end of main(): the verdict, from the failures counted. */
static inline int tp_test_finish(const char *name) {
  if (failures != 0) {
    fprintf(stderr, "%s: %d check(s) failed\n", name, (int)failures);
    return EXIT_FAILURE;
  }
  printf("%s: all checks passed\n", name);
  return EXIT_SUCCESS;
}

#endif /* TP_TESTS_C_TEST_SUPPORT_H */
