/* A parallel merge sort in C with tp_pool_join: divide, sort both halves in parallel, merge.
 * Usage: merge_sort [count] (default 1000000). Checks its own result. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tp/tp.h>

/* Below this many elements a half is sorted serially: a join costs tens of nanoseconds. */
#define SERIAL_BELOW 2048

struct sort_task {
  tp_pool *pool;
  uint32_t *data, *scratch;
  size_t count;
};

static int compare(const void *a, const void *b) {
  const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static void merge(const uint32_t *left, size_t left_count, const uint32_t *right,
                  size_t right_count, uint32_t *out) {
  size_t i = 0, j = 0, k = 0;
  while (i < left_count && j < right_count) out[k++] = right[j] < left[i] ? right[j++] : left[i++];
  while (i < left_count) out[k++] = left[i++];
  while (j < right_count) out[k++] = right[j++];
}

/* Not static, and the program is linked with its symbols exported (ENABLE_EXPORTS, -rdynamic):
 * a trace (TP_TRACE=<prefix>, see the README) then names its jobs "sort_job". */
void sort_job(void *arg);
void sort_job(void *arg) {
  const struct sort_task *task = arg;
  if (task->count < SERIAL_BELOW) {
    qsort(task->data, task->count, sizeof *task->data, compare);
    return;
  }
  const size_t half = task->count / 2;
  struct sort_task left = {task->pool, task->data, task->scratch, half};
  struct sort_task right = {task->pool, task->data + half, task->scratch + half,
                            task->count - half};
  tp_pool_join(task->pool, sort_job, &left, sort_job, &right);
  merge(task->data, half, task->data + half, task->count - half, task->scratch);
  memcpy(task->data, task->scratch, task->count * sizeof *task->data);
}

int main(int argc, char **argv) {
  const size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
  uint32_t *data = malloc(count * sizeof *data), *scratch = malloc(count * sizeof *scratch);
  if (data == NULL || scratch == NULL) return 1;
  uint32_t state = 12345;
  for (size_t i = 0; i < count; ++i) {
    state = state * 1664525u + 1013904223u; /* a fixed pseudo-random sequence */
    data[i] = state;
  }

  tp_pool *pool = NULL;
  tp_status status = tp_pool_create(4, &pool);
  if (status != TP_OK) {
    fprintf(stderr, "tp_pool_create: %s\n", tp_status_string(status));
    return 1;
  }
  struct sort_task all = {pool, data, scratch, count}, none = {pool, data, scratch, 0};
  status = tp_pool_join(pool, sort_job, &all, sort_job, &none); /* from outside: blocks */
  tp_pool_destroy(pool);

  size_t disorder = 0;
  for (size_t i = 1; i < count; ++i) disorder += data[i - 1] > data[i];
  printf("sorted %zu numbers on 4 workers: %s\n", count,
         status == TP_OK && disorder == 0 ? "in order" : "NOT in order");
  free(data);
  free(scratch);
  return status == TP_OK && disorder == 0 ? 0 : 1;
}
