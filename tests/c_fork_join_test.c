/* Fork-join through the C ABI, compiled as C11: tp_pool_join, groups and tp_pool_parallel_for.
 * Results are checked exactly (every index and job once); sizes shrink with TP_STRESS_SCALE. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test_support.h"
#include "tp/tp.h"

static tp_pool *make_pool(size_t workers) {
  tp_pool *pool = NULL;
  if (tp_pool_create(workers, &pool) != TP_OK) {
    fprintf(stderr, "cannot create a pool of %zu workers\n", workers);
    exit(EXIT_FAILURE);
  }
  return pool;
}

/* ---- fib through join ---- */

struct fib {
  tp_pool *pool;
  unsigned n;
  uint64_t result;
};

static void fib_job(void *arg) {
  struct fib *f = arg;
  if (f->n < 2) {
    f->result = f->n;
    return;
  }
  struct fib a = {f->pool, f->n - 1, 0}, b = {f->pool, f->n - 2, 0};
  if (tp_pool_join(f->pool, fib_job, &a, fib_job, &b) != TP_OK) ++failures;
  f->result = a.result + b.result;
}

static void test_fib(size_t workers) {
  tp_pool *pool = make_pool(workers);
  struct fib f = {pool, 25, 0};
  CHECK(tp_pool_join(pool, fib_job, &f, fib_job, &(struct fib){pool, 0, 0}) == TP_OK);
  CHECK(f.result == 75025);
  CHECK(tp_pool_destroy(pool) == TP_OK);
}

/* ---- a recursion far deeper than the number of workers ---- */

struct deep {
  tp_pool *pool;
  unsigned depth;
  atomic_uint *visits;
};

static void count_visit(void *arg) { atomic_fetch_add(((struct deep *)arg)->visits, 1); }

static void deep_job(void *arg) {
  struct deep *d = arg;
  atomic_fetch_add(d->visits, 1);
  if (d->depth == 0) return;
  struct deep next = {d->pool, d->depth - 1, d->visits};
  struct deep leaf = {d->pool, 0, d->visits};
  /* b is the deep side, so a thief that steals it goes deep on another worker's stack too. */
  if (tp_pool_join(d->pool, count_visit, &leaf, deep_job, &next) != TP_OK) ++failures;
}

static void test_deep_recursion(void) {
  tp_pool *pool = make_pool(2);
  atomic_uint visits = 0;
  /* Under AddressSanitizer a level's frames are larger (redzones): 10,000 levels need 4-6 MiB of
   * a worker's 8 MiB stack there (they fail with `ulimit -s 4096`, pass with 6144), and a worker
   * that waits for a stolen level stacks the levels it helps with on top, which overflowed it in
   * one CI run. 2,500 levels are still far deeper than two workers. */
#if defined(__SANITIZE_ADDRESS__)
  const unsigned depth = 2500;
#else
  const unsigned depth = 10000;
#endif
  struct deep root = {pool, depth, &visits};
  struct deep leaf = {pool, 0, &visits};
  CHECK(tp_pool_join(pool, deep_job, &root, count_visit, &leaf) == TP_OK);
  CHECK(atomic_load(&visits) == 2 * depth + 2); /* each level: itself and a leaf; plus the root's */
  CHECK(tp_pool_destroy(pool) == TP_OK);
}

/* ---- parallel_for covers every index exactly once ---- */

struct coverage {
  atomic_uchar *seen;
  atomic_size_t pieces;
  atomic_size_t largest;
};

static void mark(size_t lo, size_t hi, void *arg) {
  struct coverage *c = arg;
  for (size_t i = lo; i < hi; ++i) atomic_fetch_add(&c->seen[i], 1);
  atomic_fetch_add(&c->pieces, 1);
  size_t largest = atomic_load(&c->largest);
  while (hi - lo > largest && !atomic_compare_exchange_weak(&c->largest, &largest, hi - lo)) {
  }
}

static void check_coverage(tp_pool *pool, size_t begin, size_t end, size_t grain) {
  struct coverage c;
  c.seen = calloc(end + 1, sizeof *c.seen);
  atomic_init(&c.pieces, 0);
  atomic_init(&c.largest, 0);
  CHECK(tp_pool_parallel_for(pool, begin, end, grain, mark, &c) == TP_OK);
  for (size_t i = 0; i < end + 1; ++i) {
    const unsigned expected = i >= begin && i < end ? 1u : 0u;
    if (atomic_load(&c.seen[i]) != expected) {
      fprintf(stderr, "index %zu of [%zu, %zu) grain %zu seen %u times\n", i, begin, end, grain,
              (unsigned)atomic_load(&c.seen[i]));
      ++failures;
      break;
    }
  }
  if (grain > 0 && end > begin) CHECK(atomic_load(&c.largest) <= grain);
  free(c.seen);
}

static void test_parallel_for(void) {
  tp_pool *pool = make_pool(2);
  const size_t n = tp_test_scaled(1000000);
  check_coverage(pool, 0, n, 0);
  check_coverage(pool, 0, n, 1000);
  check_coverage(pool, 17, 17 + 12345, 1);
  check_coverage(pool, 5, 6, 0);
  check_coverage(pool, 9, 9, 0); /* empty */
  check_coverage(pool, 0, 7, 100);
  CHECK(tp_pool_parallel_for(pool, 10, 3, 1, mark, NULL) == TP_OK); /* begin > end: nothing */
  CHECK(tp_pool_parallel_for(pool, 0, 10, 1, NULL, NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_parallel_for(NULL, 0, 10, 1, mark, NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_destroy(pool) == TP_OK);
}

/* Nested: each outer index runs an inner parallel_for over its own row. */
struct matrix {
  tp_pool *pool;
  size_t rows, columns;
  atomic_uchar *cells;
};

struct row {
  struct matrix *m;
  size_t r;
};

static void mark_cells(size_t lo, size_t hi, void *arg) {
  struct row *row = arg;
  for (size_t c = lo; c < hi; ++c)
    atomic_fetch_add(&row->m->cells[row->r * row->m->columns + c], 1);
}

static void mark_rows(size_t lo, size_t hi, void *arg) {
  struct matrix *m = arg;
  for (size_t r = lo; r < hi; ++r) {
    struct row row = {m, r};
    if (tp_pool_parallel_for(m->pool, 0, m->columns, 7, mark_cells, &row) != TP_OK) ++failures;
  }
}

static void test_nested_parallel_for(void) {
  tp_pool *pool = make_pool(2);
  struct matrix m = {pool, 64, 300, NULL};
  m.cells = calloc(m.rows * m.columns, sizeof *m.cells);
  CHECK(tp_pool_parallel_for(pool, 0, m.rows, 1, mark_rows, &m) == TP_OK);
  for (size_t i = 0; i < m.rows * m.columns; ++i) CHECK(atomic_load(&m.cells[i]) == 1);
  free(m.cells);
  CHECK(tp_pool_destroy(pool) == TP_OK);
}

/* ---- groups ---- */

struct tree {
  tp_group *group;
  atomic_uint *count;
  unsigned depth;
};

static void tree_job(void *arg);

/* Each node spawns its children into the same group; the records are freed by the parent's wait. */
static struct tree *nodes;
static atomic_uint next_node;

static void tree_job(void *arg) {
  struct tree *t = arg;
  atomic_fetch_add(t->count, 1);
  if (t->depth == 0) return;
  for (int child = 0; child < 2; ++child) {
    struct tree *c = &nodes[atomic_fetch_add(&next_node, 1)];
    *c = (struct tree){t->group, t->count, t->depth - 1};
    if (tp_group_spawn(t->group, tree_job, c) != TP_OK) ++failures;
  }
}

static void test_group_spawning_into_itself(void) {
  tp_pool *pool = make_pool(2);
  tp_group *group = NULL;
  CHECK(tp_group_create(pool, &group) == TP_OK && group != NULL);
  atomic_uint count = 0;
  const unsigned depth = 12; /* 2^13 - 1 jobs */
  nodes = calloc((size_t)1 << (depth + 1), sizeof *nodes);
  atomic_store(&next_node, 1);
  nodes[0] = (struct tree){group, &count, depth};
  CHECK(tp_group_spawn(group, tree_job, &nodes[0]) == TP_OK);
  CHECK(tp_group_wait(group) == TP_OK);
  CHECK(atomic_load(&count) == (1u << (depth + 1)) - 1);
  /* Reusable after a wait. */
  atomic_store(&count, 0);
  atomic_store(&next_node, 1);
  nodes[0] = (struct tree){group, &count, 3};
  CHECK(tp_group_spawn(group, tree_job, &nodes[0]) == TP_OK);
  CHECK(tp_group_wait(group) == TP_OK);
  CHECK(atomic_load(&count) == 15);
  CHECK(tp_group_destroy(group) == TP_OK);
  free(nodes);
  CHECK(tp_pool_destroy(pool) == TP_OK);
}

struct spawner {
  tp_group *group;
  atomic_uint *count;
  size_t jobs;
};

static void add_one(void *arg) { atomic_fetch_add((atomic_uint *)arg, 1); }

static void *spawn_many(void *arg) {
  struct spawner *s = arg;
  for (size_t i = 0; i < s->jobs; ++i) {
    if (tp_group_spawn(s->group, add_one, s->count) != TP_OK) ++failures;
  }
  return NULL;
}

static void test_group_from_several_threads(void) {
  tp_pool *pool = make_pool(2);
  tp_group *group = NULL;
  CHECK(tp_group_create(pool, &group) == TP_OK);
  atomic_uint count = 0;
  const size_t per_thread = tp_test_scaled(20000);
  struct spawner spawner = {group, &count, per_thread};
  pthread_t threads[4];
  for (int t = 0; t < 4; ++t) pthread_create(&threads[t], NULL, spawn_many, &spawner);
  for (int t = 0; t < 4; ++t) pthread_join(threads[t], NULL);
  CHECK(tp_group_wait(group) == TP_OK);
  CHECK(atomic_load(&count) == 4 * per_thread);
  CHECK(tp_group_destroy(group) == TP_OK);
  CHECK(tp_pool_destroy(pool) == TP_OK);
}

struct self_wait {
  tp_group *group;
  atomic_int status;
};

static void wait_for_own_group(void *arg) {
  struct self_wait *s = arg;
  atomic_store(&s->status, (int)tp_group_wait(s->group));
  if (tp_group_destroy(s->group) != TP_ERR_WOULD_DEADLOCK) ++failures;
}

static void test_group_misuse_and_shutdown(void) {
  tp_pool *pool = make_pool(2);
  tp_group *group = NULL;
  CHECK(tp_group_create(NULL, &group) == TP_ERR_INVALID_ARGUMENT && group == NULL);
  CHECK(tp_group_create(pool, NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_group_create(pool, &group) == TP_OK);
  CHECK(tp_group_spawn(NULL, add_one, NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_group_spawn(group, NULL, NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_group_wait(NULL) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_group_destroy(NULL) == TP_OK);
  CHECK(tp_group_wait(group) == TP_OK); /* nothing spawned: returns at once */

  struct self_wait self = {group, 1};
  CHECK(tp_group_spawn(group, wait_for_own_group, &self) == TP_OK);
  CHECK(tp_group_wait(group) == TP_OK);
  CHECK(atomic_load(&self.status) == TP_ERR_WOULD_DEADLOCK);

  /* Shutdown while the group is live: spawns are refused, waits still work, destroy after the
   * pool is fine. */
  atomic_uint count = 0;
  CHECK(tp_group_spawn(group, add_one, &count) == TP_OK);
  CHECK(tp_pool_shutdown(pool) == TP_OK);
  CHECK(atomic_load(&count) == 1);
  CHECK(tp_group_spawn(group, add_one, &count) == TP_ERR_SHUTDOWN);
  CHECK(tp_group_wait(group) == TP_OK);
  CHECK(tp_pool_join(pool, add_one, &count, add_one, &count) == TP_ERR_SHUTDOWN);
  CHECK(tp_pool_parallel_for(pool, 0, 10, 1, mark, NULL) == TP_ERR_SHUTDOWN);
  CHECK(tp_pool_destroy(pool) == TP_OK);
  CHECK(tp_group_destroy(group) == TP_OK);
  CHECK(atomic_load(&count) == 1);
}

static void test_join_arguments(void) {
  tp_pool *pool = make_pool(1);
  atomic_uint count = 0;
  CHECK(tp_pool_join(NULL, add_one, &count, add_one, &count) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_join(pool, NULL, &count, add_one, &count) == TP_ERR_INVALID_ARGUMENT);
  CHECK(tp_pool_join(pool, add_one, &count, NULL, &count) == TP_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&count) == 0);
  CHECK(tp_pool_join(pool, add_one, &count, add_one, &count) == TP_OK); /* from outside */
  CHECK(atomic_load(&count) == 2);
  CHECK(tp_pool_destroy(pool) == TP_OK);
}

int main(void) {
  tp_test_watchdog_start("c_fork_join_test", 240);
  test_join_arguments();
  test_fib(1);
  test_fib(2);
  test_fib(4);
  test_deep_recursion();
  test_parallel_for();
  test_nested_parallel_for();
  test_group_spawning_into_itself();
  test_group_from_several_threads();
  test_group_misuse_and_shutdown();
  tp_test_watchdog_stop();
  return tp_test_finish("c_fork_join_test");
}
