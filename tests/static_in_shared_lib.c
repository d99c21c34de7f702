/* A user's shared library that links libtp.a into itself (static_in_shared_test): it links only if
 * the static library carries no symbol versions (a shared object linking it has no TP_0 node for
 * them), and each call reaches the library through its plain name. */
#include "static_in_shared_lib.h"

#include <tp/tp.h>

static void add_one(void *arg) { __atomic_fetch_add((unsigned long *)arg, 1, __ATOMIC_RELAXED); }

int run_jobs_in_private_pool(unsigned long jobs, unsigned long *ran) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  if (options.size != sizeof options || options.trace_path != NULL) return 1;
  options.workers = 2;
  options.pin = TP_PIN_NONE;
  tp_pool *pool = NULL;
  if (tp_pool_create_with(&options, &pool) != TP_OK) return 2;
  for (unsigned long i = 0; i < jobs; ++i) {
    if (tp_pool_execute(pool, add_one, ran) != TP_OK) return 3;
  }
  return tp_pool_destroy(pool) == TP_OK ? 0 : 4;
}
