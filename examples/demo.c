/* libtp's quick start in C: the seed's 8 jobs, a result sent back to the caller, and the errors a
 * user meets. Prints what it does. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <tp/tp.h>

/* The seed's first example: 8 jobs that say where they ran. */
struct hello {
  tp_pool *pool;
  int number;
};

static void say_hello(void *arg) {
  const struct hello *job = arg;
  printf("job %d ran on worker %d\n", job->number, tp_pool_current_worker(job->pool));
}

/* A result back to the caller: the job writes into memory the caller owns, and the caller reads
 * it after tp_pool_wait_idle(), which orders the job's writes before its return. */
struct sum_of_squares {
  uint64_t below;
  uint64_t result;
};

static void sum_squares(void *arg) {
  struct sum_of_squares *job = arg;
  uint64_t sum = 0;
  for (uint64_t i = 0; i < job->below; ++i) sum += i * i;
  job->result = sum;
}

static void nothing(void *arg) { (void)arg; }

int main(void) {
  tp_pool *pool = NULL;
  tp_status status = tp_pool_create(4, &pool);
  if (status != TP_OK) {
    fprintf(stderr, "tp_pool_create: %s\n", tp_status_string(status));
    return 1;
  }
  printf("libtp %u: a pool of %zu workers\n", tp_version(), tp_pool_workers(pool));

  struct hello jobs[8];
  for (int i = 0; i < 8; ++i) {
    jobs[i].pool = pool;
    jobs[i].number = i;
    tp_pool_execute(pool, say_hello, &jobs[i]);
  }
  tp_pool_wait_idle(pool);

  struct sum_of_squares sum = {10000, 0};
  tp_pool_execute(pool, sum_squares, &sum);
  tp_pool_wait_idle(pool);
  printf("sum of i*i for i < %llu, computed on the pool: %llu\n", (unsigned long long)sum.below,
         (unsigned long long)sum.result);

  tp_pool_stats stats = {sizeof stats};
  tp_pool_get_stats(pool, &stats);
  printf("stats: %llu jobs executed, %llu stolen, %llu from the injector\n",
         (unsigned long long)stats.executed, (unsigned long long)stats.stolen,
         (unsigned long long)stats.from_injector);

  /* The errors. */
  tp_pool *none = NULL;
  printf("tp_pool_create(0, ...)          -> %s\n", tp_status_string(tp_pool_create(0, &none)));
  printf("tp_pool_execute(pool, NULL, ..) -> %s\n",
         tp_status_string(tp_pool_execute(pool, NULL, NULL)));
  tp_pool_shutdown(pool);
  printf("tp_pool_execute after shutdown  -> %s\n",
         tp_status_string(tp_pool_execute(pool, nothing, NULL)));
  status = tp_pool_destroy(pool);
  printf("tp_pool_destroy                 -> %s\n", tp_status_string(status));
  return status == TP_OK && sum.result == 333283335000ull ? 0 : 1;
}
