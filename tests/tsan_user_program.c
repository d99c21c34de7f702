/* A user's program built with -fsanitize=thread over the release libtp.so, which is not: every
 * call of the C API, each handing plain (non-atomic) data between the caller and the jobs, or
 * between jobs, the way the API promises is safe. ThreadSanitizer must report nothing
 * (tsan_uninstrumented_clean): it sees this program's accesses but not libtp's atomics, so only
 * the edges libtp announces (src/tsan_edges.hpp) order them.
 *
 * With the argument "race" it does one thing wrong instead (a job and the main thread write the
 * same variable, unsynchronised), and TSan must still report it (tsan_uninstrumented_race): the
 * announcements must not hide real races. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tp/tp.h>
#include <unistd.h>

#define CHECK(call)                                              \
  do {                                                           \
    tp_status status_ = (call);                                  \
    if (status_ != TP_OK) {                                      \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #call); \
      fprintf(stderr, "  -> %s\n", tp_status_string(status_));   \
      exit(1);                                                   \
    }                                                            \
  } while (0)
#define EXPECT(condition)                                                      \
  do {                                                                         \
    if (!(condition)) {                                                        \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #condition); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

enum { kCells = 64 };

/* A cell the caller fills before submitting, the job reads and writes, the caller reads after. */
typedef struct {
  long input;
  long output;
} cell;

static void square(void *arg) {
  cell *c = arg;
  c->output = c->input * c->input;
}

static void fill(cell *cells, long base) {
  for (int i = 0; i < kCells; ++i) {
    cells[i].input = base + i;
    cells[i].output = -1;
  }
}

static void expect_squared(const cell *cells, long base) {
  for (int i = 0; i < kCells; ++i) EXPECT(cells[i].output == (base + i) * (base + i));
}

/* ---- worker hooks: written on the workers, read by the caller after create and destroy ---- */
static long started_hooks[8], stopped_hooks[8];
static void on_start(size_t worker, void *user) {
  (void)user;
  started_hooks[worker] = (long)worker + 1;
}
static void on_stop(size_t worker, void *user) {
  (void)user;
  stopped_hooks[worker] = (long)worker + 1;
}

/* ---- a job that spawns a job, handing it what it wrote ---- */
typedef struct {
  tp_pool *pool;
  long handed;
  long seen;
} spawn_record;
static void child(void *arg) {
  spawn_record *r = arg;
  r->seen = r->handed;
}
static void parent(void *arg) {
  spawn_record *r = arg;
  r->handed = 42;
  CHECK(tp_pool_execute(r->pool, child, r));
}

/* ---- fork-join: fib with results in the callers' frames ---- */
typedef struct {
  tp_pool *pool;
  int n;
  long result;
} fib_record;
static void fib(void *arg) {
  fib_record *r = arg;
  if (r->n < 2) {
    r->result = r->n;
    return;
  }
  fib_record a = {r->pool, r->n - 1, 0}, b = {r->pool, r->n - 2, 0};
  CHECK(tp_pool_join(r->pool, fib, &a, fib, &b));
  r->result = a.result + b.result;
}

static long range_cells[1000];
static void range_body(size_t lo, size_t hi, void *arg) {
  long *out = arg;
  for (size_t i = lo; i < hi; ++i) out[i] = (long)i * 3;
}

/* ---- groups: the notification reads what the group's jobs wrote ---- */
typedef struct {
  cell *cells;
  long sum;
} notify_record;
static void sum_cells(void *arg) {
  notify_record *r = arg;
  long sum = 0;
  for (int i = 0; i < kCells; ++i) sum += r->cells[i].output;
  r->sum = sum;
}
static long cancelled_cells[kCells];
static void mark_cancelled(void *arg) { *(long *)arg = -2; }
static void mark_ran(void *arg) { *(long *)arg = 1; }

/* ---- serial queues: jobs of one queue write one plain counter, from several submitters ---- */
typedef struct {
  long counter;
  long order[3 * 200];
} queue_state;
static void bump(void *arg) {
  queue_state *q = arg;
  q->order[q->counter] = q->counter;
  ++q->counter;
}
typedef struct {
  tp_queue *queue;
  queue_state *state;
} submitter;
static void *submit_200(void *arg) {
  submitter *s = arg;
  for (int i = 0; i < 200; ++i) CHECK(tp_queue_submit(s->queue, bump, s->state));
  return NULL;
}

/* ---- the one deliberate race ---- */
/* Read at the end, so that the compiler keeps both writes (a variable only written is removed). */
static long raced;
static void write_raced(void *arg) {
  (void)arg;
  /* Later than the main thread's write, whatever the timing: so no lock libtp's sleep protocol
   * takes after the job (a worker parking) can come between the two writes and order them. */
  usleep(20 * 1000);
  raced = 1;
}

static int race(void) {
  tp_pool *pool;
  CHECK(tp_pool_create(2, &pool));
  CHECK(tp_pool_execute(pool, write_raced, NULL));
  raced = 2; /* after the submission, with nothing between it and the job: a race */
  CHECK(tp_pool_wait_idle(pool));
  CHECK(tp_pool_destroy(pool));
  EXPECT(raced == 1 || raced == 2);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "race") == 0) return race();

  static cell cells[kCells];
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = 2;
  options.pin = TP_PIN_NONE;
  options.thread_name = "tsan-user";
  options.on_worker_start = on_start;
  options.on_worker_stop = on_stop;
  tp_pool *pool;
  CHECK(tp_pool_create_with(&options, &pool));
  EXPECT(started_hooks[0] == 1 && started_hooks[1] == 2);
  EXPECT(tp_pool_workers(pool) == 2);
  EXPECT(tp_pool_current_worker(pool) == -1);
  char cpus[64];
  CHECK(tp_pool_worker_cpus(pool, 0, cpus, sizeof cpus));

  /* execute, then wait_idle; and the same buffer reused at once for the next round */
  for (long round = 0; round < 3; ++round) {
    fill(cells, round * 100);
    for (int i = 0; i < kCells; ++i) CHECK(tp_pool_execute(pool, square, &cells[i]));
    CHECK(tp_pool_wait_idle(pool));
    expect_squared(cells, round * 100);
  }

  /* a batch, and the timed wait */
  tp_job batch[kCells];
  fill(cells, 7);
  for (int i = 0; i < kCells; ++i) batch[i] = (tp_job){square, &cells[i]};
  CHECK(tp_pool_execute_batch(pool, batch, kCells));
  CHECK(tp_pool_wait_idle_for(pool, 60ull * 1000 * 1000 * 1000));
  expect_squared(cells, 7);

  /* priorities */
  fill(cells, 11);
  for (int i = 0; i < kCells; ++i) {
    const tp_priority level = i % 3 == 0   ? TP_PRIORITY_HIGH
                              : i % 3 == 1 ? TP_PRIORITY_LOW
                                           : TP_PRIORITY_NORMAL;
    CHECK(tp_pool_execute_priority(pool, square, &cells[i], level));
  }
  CHECK(tp_pool_wait_idle(pool));
  expect_squared(cells, 11);

  /* a job spawning a job */
  spawn_record spawned = {pool, 0, 0};
  CHECK(tp_pool_execute(pool, parent, &spawned));
  CHECK(tp_pool_wait_idle(pool));
  EXPECT(spawned.seen == 42);

  /* fork-join from outside and inside, and a parallel loop */
  fib_record top = {pool, 18, 0};
  CHECK(tp_pool_join(pool, fib, &top, mark_ran, &cancelled_cells[0]));
  EXPECT(top.result == 2584 && cancelled_cells[0] == 1);
  CHECK(tp_pool_parallel_for(pool, 0, 1000, 16, range_body, range_cells));
  for (long i = 0; i < 1000; ++i) EXPECT(range_cells[i] == i * 3);

  /* a group: spawn, notify (reads the jobs' results), wait, wait_for; then cancellation */
  tp_group *group;
  CHECK(tp_group_create(pool, &group));
  fill(cells, 3);
  notify_record notified = {cells, 0};
  for (int i = 0; i < kCells; ++i) CHECK(tp_group_spawn(group, square, &cells[i]));
  CHECK(tp_group_notify(group, sum_cells, &notified));
  CHECK(tp_group_wait(group));
  expect_squared(cells, 3);
  CHECK(tp_pool_wait_idle(pool)); /* the notification is a job of the pool */
  long expected_sum = 0;
  for (int i = 0; i < kCells; ++i) expected_sum += (3L + i) * (3L + i);
  EXPECT(notified.sum == expected_sum);
  fill(cells, 5);
  for (int i = 0; i < kCells; ++i) CHECK(tp_group_spawn(group, square, &cells[i]));
  CHECK(tp_group_wait_for(group, 60ull * 1000 * 1000 * 1000));
  expect_squared(cells, 5);
  /* A notification asked for once the group has (almost surely) emptied, with no wait before it:
   * due at once, it must still see the jobs' results. On a pool whose workers keep spinning
   * rather than park, so that no lock of the sleep protocol orders the jobs before the call. */
  {
    tp_pool_options spinning;
    tp_pool_options_init(&spinning);
    spinning.workers = 2;
    spinning.pin = TP_PIN_NONE;
    spinning.spin_limit = TP_MAX_SPIN_LIMIT;
    tp_pool *busy;
    CHECK(tp_pool_create_with(&spinning, &busy));
    tp_group *late_group;
    CHECK(tp_group_create(busy, &late_group));
    fill(cells, 7);
    for (int i = 0; i < kCells; ++i) CHECK(tp_group_spawn(late_group, square, &cells[i]));
    usleep(20 * 1000);
    notify_record late = {cells, 0};
    CHECK(tp_group_notify(late_group, sum_cells, &late));
    CHECK(tp_group_wait(late_group));
    CHECK(tp_pool_wait_idle(busy));
    expected_sum = 0;
    for (int i = 0; i < kCells; ++i) expected_sum += (7L + i) * (7L + i);
    EXPECT(late.sum == expected_sum);
    CHECK(tp_group_destroy(late_group));
    CHECK(tp_pool_destroy(busy));
  }
  CHECK(tp_group_cancel(group));
  EXPECT(tp_group_is_cancelled(group));
  for (int i = 0; i < kCells; ++i) {
    cancelled_cells[i] = 0;
    const tp_status status =
        tp_group_spawn_cancellable(group, mark_ran, mark_cancelled, &cancelled_cells[i]);
    EXPECT(status == TP_OK);
  }
  const tp_status waited = tp_group_wait(group);
  EXPECT(waited == TP_ERR_CANCELLED);
  for (int i = 0; i < kCells; ++i) EXPECT(cancelled_cells[i] == -2);
  CHECK(tp_group_destroy(group));

  /* a serial queue fed by three threads; its jobs share a plain counter */
  tp_queue *queue;
  CHECK(tp_queue_create(pool, &queue));
  static queue_state state;
  submitter s = {queue, &state};
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) EXPECT(pthread_create(&threads[i], NULL, submit_200, &s) == 0);
  submit_200(&s);
  for (int i = 0; i < 2; ++i) EXPECT(pthread_join(threads[i], NULL) == 0);
  CHECK(tp_queue_wait(queue));
  EXPECT(state.counter == 600);
  for (int i = 0; i < 600; ++i) EXPECT(state.order[i] == i);
  for (int i = 0; i < 200; ++i) CHECK(tp_queue_submit(queue, bump, &state));
  CHECK(tp_queue_destroy(queue));
  EXPECT(state.counter == 800);

  /* stats after a wait */
  tp_pool_stats stats;
  stats.size = sizeof stats;
  CHECK(tp_pool_get_stats(pool, &stats));
  CHECK(tp_pool_get_worker_stats(pool, 1, &stats));

  /* shutdown runs what was accepted; destroy after it */
  fill(cells, 13);
  for (int i = 0; i < kCells; ++i) CHECK(tp_pool_execute(pool, square, &cells[i]));
  CHECK(tp_pool_shutdown(pool));
  expect_squared(cells, 13);
  CHECK(tp_pool_destroy(pool));
  EXPECT(stopped_hooks[0] == 1 && stopped_hooks[1] == 2);

  /* destroy alone drains too */
  CHECK(tp_pool_create(2, &pool));
  fill(cells, 17);
  for (int i = 0; i < kCells; ++i) CHECK(tp_pool_execute(pool, square, &cells[i]));
  CHECK(tp_pool_destroy(pool));
  expect_squared(cells, 17);

  /* the process's default pool */
  tp_pool_options defaults;
  tp_pool_options_init(&defaults);
  defaults.workers = tp_default_workers() < 2 ? 2 : tp_default_workers();
  CHECK(tp_pool_default_configure(&defaults));
  tp_pool *shared;
  CHECK(tp_pool_default(&shared));
  fill(cells, 19);
  for (int i = 0; i < kCells; ++i) CHECK(tp_pool_execute(shared, square, &cells[i]));
  CHECK(tp_pool_wait_idle(shared));
  expect_squared(cells, 19);

  puts("every call, no report expected");
  return 0;
}
