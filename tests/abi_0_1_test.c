/* A program built against release 0.1, run with today's library: compiled as C with 0.1's header
 * (tests/abi/v0_1/tp/tp.h, verbatim) instead of include/tp/tp.h. Its structs are the 0.1 sizes;
 * a library whose structs have grown must accept them, fill in its defaults for the fields they
 * lack, and never read or write past their end (checked with guard bytes after each struct). */
#include <stdatomic.h>
#include <string.h>

#include "c_test_support.h"
#include "tp/tp.h" /* 0.1's */

/* A program linked against 0.1 bound every call to its version node, TP_0. This one is linked
 * against today's library, where a function whose behaviour depends on a struct's size (the
 * initialiser) may have a newer default version: bind to the one 0.1 programs use. */
__asm__(".symver tp_pool_options_init, tp_pool_options_init@TP_0");

enum { kGuardBytes = 64, kGuard = 0xA5 };

/* A 0.1 struct followed by guard bytes the library must not touch. */
struct guarded_options {
  tp_pool_options options;
  unsigned char guard[kGuardBytes];
};
struct guarded_stats {
  tp_pool_stats stats;
  unsigned char guard[kGuardBytes];
};

static int guard_intact(const unsigned char *guard) {
  for (int i = 0; i < kGuardBytes; ++i) {
    if (guard[i] != kGuard) return 0;
  }
  return 1;
}

static atomic_int started, stopped;
static void on_start(size_t worker, void *user) {
  (void)worker;
  if (user == &started) atomic_fetch_add(&started, 1);
}
static void on_stop(size_t worker, void *user) {
  (void)worker;
  (void)user;
  atomic_fetch_add(&stopped, 1);
}
static void increment(void *arg) { atomic_fetch_add((atomic_ulong *)arg, 1); }

int main(void) {
  tp_test_watchdog_start("abi_0_1_test", 60);

  /* 0.1's sizes, as the 0.1 header documents them. */
  CHECK(sizeof(tp_pool_options) ==
        2 * sizeof(size_t) + sizeof(int) + sizeof(unsigned) + 4 * sizeof(void *));
  CHECK(sizeof(tp_pool_stats) == sizeof(size_t) + 6 * sizeof(uint64_t));

  /* tp_pool_options_init writes a 0.1 struct, and nothing after it. */
  struct guarded_options o;
  memset(&o, kGuard, sizeof o);
  tp_pool_options_init(&o.options);
  CHECK(guard_intact(o.guard));
  CHECK(o.options.size == sizeof(tp_pool_options));
  CHECK(o.options.workers >= 1 && o.options.pin == TP_PIN_CORES && o.options.spin_limit == 200);
  CHECK(o.options.thread_name != NULL && strcmp(o.options.thread_name, "tp-worker") == 0);

  /* Every 0.1 field is honoured; the fields it lacks take the library's defaults. */
  o.options.workers = 2;
  o.options.pin = TP_PIN_NONE;
  o.options.spin_limit = 10;
  o.options.thread_name = "abi-0.1";
  o.options.on_worker_start = on_start;
  o.options.on_worker_stop = on_stop;
  o.options.user = &started;
  tp_pool *pool = NULL;
  CHECK(tp_pool_create_with(&o.options, &pool) == TP_OK && pool != NULL);
  CHECK(guard_intact(o.guard));
  CHECK(tp_pool_workers(pool) == 2);
  CHECK(atomic_load(&started) == 2);

  atomic_ulong ran = 0;
  for (int i = 0; i < 100; ++i) CHECK(tp_pool_execute(pool, increment, &ran) == TP_OK);
  CHECK(tp_pool_wait_idle(pool) == TP_OK);

  /* Stats: the 0.1 fields are written, nothing after them. */
  struct guarded_stats s;
  memset(&s, kGuard, sizeof s);
  s.stats.size = sizeof s.stats;
  CHECK(tp_pool_get_stats(pool, &s.stats) == TP_OK);
  CHECK(guard_intact(s.guard));
  CHECK(s.stats.size == sizeof(tp_pool_stats));
  CHECK(s.stats.executed == 100 && s.stats.from_injector == 100 && s.stats.exceptions == 0);
  memset(&s, kGuard, sizeof s);
  s.stats.size = sizeof s.stats;
  CHECK(tp_pool_get_worker_stats(pool, 1, &s.stats) == TP_OK);
  CHECK(guard_intact(s.guard));
  CHECK(s.stats.executed <= 100);

  CHECK(tp_pool_destroy(pool) == TP_OK);
  CHECK(atomic_load(&ran) == 100 && atomic_load(&stopped) == 2);
  tp_test_watchdog_stop();
  return tp_test_finish("abi_0_1_test");
}
