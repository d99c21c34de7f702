/* The whole C ABI from C11: compiled as C, linked against the shared library. Every call and
 * every documented status is exercised once; stress lives in the C++ tests. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test_support.h"
#include "tp/tp.h"

static void increment(void *arg) { atomic_fetch_add((atomic_ulong *)arg, 1); }

struct spawner {
  tp_pool *pool;
  atomic_ulong *counter;
  atomic_int status;
  atomic_int worker;
  atomic_int wait_status;
};

static void spawn_two(void *arg) {
  struct spawner *s = arg;
  tp_job jobs[2] = {{increment, s->counter}, {increment, s->counter}};
  atomic_store(&s->status, (int)tp_pool_execute_batch(s->pool, jobs, 2));
  atomic_store(&s->worker, tp_pool_current_worker(s->pool));
  atomic_store(&s->wait_status, (int)tp_pool_wait_idle(s->pool));
}

static atomic_int started_hooks, stopped_hooks;
static void on_start(size_t worker, void *user) {
  (void)worker;
  (void)user;
  atomic_fetch_add(&started_hooks, 1);
}
static void on_stop(size_t worker, void *user) {
  (void)worker;
  (void)user;
  atomic_fetch_add(&stopped_hooks, 1);
}

int main(void) {
  tp_pool *pool = NULL;
  atomic_ulong counter = 0;
  tp_test_watchdog_start("c_api_test", 60);

  CHECK(tp_version() == TP_VERSION_NUMBER);
  CHECK(strncmp(tp_status_string(TP_ERR_SHUTDOWN), "TP_ERR_SHUTDOWN", 15) == 0);
  CHECK(tp_status_string((tp_status)99) != NULL);

  /* The seed's errors. */
  CHECK(tp_pool_create(0, &pool) == TP_ERR_ZERO_WORKERS && pool == NULL);
  CHECK(tp_pool_create(1, NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_create((size_t)TP_MAX_WORKERS + 1, &pool) == TP_ERR_INVALID_ARGUMENT);

  /* Options and hooks. */
  tp_pool_options options;
  tp_pool_options_init(&options);
  CHECK(options.size == sizeof options && options.pin == TP_PIN_CORES);
  options.workers = 2;
  options.pin = TP_PIN_NONE;
  options.spin_limit = 0;
  options.thread_name = "c-test";
  options.on_worker_start = on_start;
  options.on_worker_stop = on_stop;
  CHECK(tp_pool_create_with(&options, &pool) == TP_OK && pool != NULL);
  CHECK(tp_pool_workers(pool) == 2);
  CHECK(tp_pool_current_worker(pool) == -1);

  /* The seed's quick start: 8 jobs. */
  for (int i = 0; i < 8; ++i) CHECK(tp_pool_execute(pool, increment, &counter) == TP_OK);
  CHECK(tp_pool_execute(pool, NULL, &counter) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_wait_idle(pool) == TP_OK);
  CHECK(atomic_load(&counter) == 8);

  /* A batch from outside, a batch from inside, and what a job may not do. */
  tp_job batch[3] = {{increment, &counter}, {increment, &counter}, {increment, &counter}};
  CHECK(tp_pool_execute_batch(pool, batch, 3) == TP_OK);
  struct spawner spawner = {pool, &counter, 1, -2, 1};
  CHECK(tp_pool_execute(pool, spawn_two, &spawner) == TP_OK);
  CHECK(tp_pool_wait_idle(pool) == TP_OK);
  CHECK(atomic_load(&counter) == 13);
  CHECK(atomic_load(&spawner.status) == TP_OK);
  CHECK(atomic_load(&spawner.worker) == 0 || atomic_load(&spawner.worker) == 1);
  CHECK(atomic_load(&spawner.wait_status) == TP_ERR_WOULD_DEADLOCK);

  /* Stats. */
  tp_pool_stats stats;
  memset(&stats, 0, sizeof stats);
  stats.size = sizeof stats;
  CHECK(tp_pool_get_stats(pool, &stats) == TP_OK);
  CHECK(stats.executed == 14 && stats.exceptions == 0 && stats.pinned == 0);
  CHECK(stats.from_injector == 12); /* 8 + 3 + the spawner; its 2 children went to a deque */
  CHECK(tp_pool_get_worker_stats(pool, 1, &stats) == TP_OK);
  CHECK(tp_pool_get_worker_stats(pool, 2, &stats) == TP_ERR_INVALID_ARGUMENT);

  /* Shutdown. */
  CHECK(tp_pool_shutdown(pool) == TP_OK);
  CHECK(tp_pool_shutdown(pool) == TP_OK);
  CHECK(tp_pool_execute(pool, increment, &counter) == TP_ERR_SHUTDOWN);
  CHECK(tp_pool_destroy(pool) == TP_OK);
  CHECK(tp_pool_destroy(NULL) == TP_OK);
  CHECK(atomic_load(&counter) == 13);
  CHECK(atomic_load(&started_hooks) == 2 && atomic_load(&stopped_hooks) == 2);

  /* 0.2 from C: the default pool, notifications, cancellation, timed waits. */
  tp_pool *shared = NULL;
  CHECK(tp_pool_default(&shared) == TP_OK && shared != NULL);
  CHECK(tp_pool_destroy(shared) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_default_configure(&options) == TP_ERR_ALREADY_CREATED);
  tp_group *group = NULL;
  CHECK(tp_group_create(shared, &group) == TP_OK);
  atomic_ulong ran = 0, skipped = 0, notified = 0;
  CHECK(tp_group_spawn_cancellable(group, increment, increment, &ran) == TP_OK);
  CHECK(tp_group_wait_for(group, UINT64_MAX) == TP_OK);
  CHECK(tp_group_notify(group, increment, &notified) == TP_OK); /* empty: due at once */
  CHECK(tp_group_cancel(group) == TP_OK && tp_group_is_cancelled(group) == 1);
  CHECK(tp_group_spawn_cancellable(group, increment, increment, &skipped) == TP_OK);
  CHECK(tp_group_wait(group) == TP_ERR_CANCELLED && tp_group_is_cancelled(group) == 0);
  CHECK(tp_pool_wait_idle_for(shared, UINT64_MAX) == TP_OK);
  CHECK(atomic_load(&ran) == 1 && atomic_load(&skipped) == 1 && atomic_load(&notified) == 1);
  CHECK(tp_group_destroy(group) == TP_OK);
  CHECK(strcmp(tp_status_string(TP_ERR_TIMEOUT),
               "TP_ERR_TIMEOUT: the wait ran out before the "
               "work was done") == 0);

  /* 0.3 from C: serial queues, on the default pool. */
  tp_queue *queue = NULL;
  CHECK(tp_queue_create(shared, &queue) == TP_OK && queue != NULL);
  atomic_ulong queued = 0;
  for (int i = 0; i < 100; ++i) CHECK(tp_queue_submit(queue, increment, &queued) == TP_OK);
  CHECK(tp_queue_wait(queue) == TP_OK && atomic_load(&queued) == 100);
  CHECK(tp_queue_submit(queue, NULL, NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_queue_submit(queue, increment, &queued) == TP_OK);
  CHECK(tp_queue_destroy(queue) == TP_OK && atomic_load(&queued) == 101);
  CHECK(tp_queue_destroy(NULL) == TP_OK);

  /* 0.3 from C: priority levels, on the default pool; a C caller may pass any int. */
  atomic_ulong prioritized = 0;
  const tp_priority levels[] = {TP_PRIORITY_HIGH, TP_PRIORITY_NORMAL, TP_PRIORITY_LOW};
  for (int i = 0; i < 3; ++i) {
    CHECK(tp_pool_execute_priority(shared, increment, &prioritized, levels[i]) == TP_OK);
  }
  CHECK(tp_pool_execute_priority(shared, increment, &prioritized, (tp_priority)3) ==
        TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_wait_idle(shared) == TP_OK && atomic_load(&prioritized) == 3);

  tp_test_watchdog_stop();
  return tp_test_finish("c_api_test");
}
