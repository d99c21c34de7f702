/* Process exit with the default pool: returning from main() (exit(), atexit handlers, static
 * destructors) neither hangs nor crashes, whether the default pool is idle, busy with running
 * jobs, or has jobs queued that have not started (tp.h: they may or may not run).
 * Usage: default_pool_exit idle|busy|queued. ctest's timeout turns a hang into a failure. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "tp/tp.h"

static atomic_ulong started;

static void spin_a_while(void *arg) {
  (void)arg;
  atomic_fetch_add(&started, 1);
  for (volatile unsigned long i = 0; i < 200000000ul; i = i + 1) {
  }
}

static void no_op(void *arg) { (void)arg; }

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  tp_pool *pool = NULL;
  if (tp_pool_default(&pool) != TP_OK) return 3;
  if (strcmp(argv[1], "idle") == 0) {
    if (tp_pool_execute(pool, no_op, NULL) != TP_OK) return 4;
    if (tp_pool_wait_idle(pool) != TP_OK) return 5;
  } else if (strcmp(argv[1], "busy") == 0 || strcmp(argv[1], "queued") == 0) {
    const size_t jobs = strcmp(argv[1], "busy") == 0 ? tp_pool_workers(pool) : 2000;
    for (size_t i = 0; i < jobs; ++i) {
      if (tp_pool_execute(pool, spin_a_while, NULL) != TP_OK) return 6;
    }
    while (atomic_load(&started) == 0) {
    }
  } else {
    return 2;
  }
  printf("returning from main with the default pool %s\n", argv[1]);
  return 0;
}
