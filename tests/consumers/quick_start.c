/* A consumer of the installed libtp: the README's quick start, its results checked, and the
 * version macros checked against the runtime and against EXPECTED_VERSION (tp.pc's or the CMake
 * package's version, passed in by the build). Plain C11. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <tp/tp.h>

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)
#define HEADER_VERSION \
  STRINGIFY(TP_VERSION_MAJOR) "." STRINGIFY(TP_VERSION_MINOR) "." STRINGIFY(TP_VERSION_PATCH)

static void increment(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

int main(void) {
  int failures = 0;
  if (strcmp(HEADER_VERSION, EXPECTED_VERSION) != 0) {
    fprintf(stderr, "header says %s, the package says %s\n", HEADER_VERSION, EXPECTED_VERSION);
    ++failures;
  }
  if (tp_version() != TP_VERSION_NUMBER) {
    fprintf(stderr, "library %u, header %d\n", tp_version(), TP_VERSION_NUMBER);
    ++failures;
  }
  tp_pool *pool = NULL;
  if (tp_pool_create(0, &pool) != TP_ERR_ZERO_WORKERS || pool != NULL) ++failures;
  if (tp_pool_create(4, &pool) != TP_OK) return 1;
  atomic_int ran = 0;
  for (int i = 0; i < 8; ++i) failures += tp_pool_execute(pool, increment, &ran) != TP_OK;
  failures += tp_pool_wait_idle(pool) != TP_OK;
  failures += atomic_load(&ran) != 8;
  failures += tp_pool_shutdown(pool) != TP_OK;
  failures += tp_pool_execute(pool, increment, &ran) != TP_ERR_SHUTDOWN;
  failures += tp_pool_destroy(pool) != TP_OK;
  printf("quick start against libtp %s: %s\n", HEADER_VERSION, failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
