/* libtp from dlopen, as an FFI runtime loads it: resolve the C ABI with dlsym, run jobs, shut
 * down, dlclose, and again, several times. No thread may outlive a cycle (checked in
 * /proc/self/task, against the count after the first cycle: a sanitizer runtime starts a thread
 * of its own once the first thread was created) and nothing may leak (LeakSanitizer in the asan
 * preset).
 * Usage: dlopen_test PATH_TO_LIBTP_SO */
#include <dirent.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tp/tp.h"

static int count_threads(void) {
  DIR *tasks = opendir("/proc/self/task");
  if (tasks == NULL) return -1;
  int count = 0;
  for (struct dirent *entry; (entry = readdir(tasks)) != NULL;) count += entry->d_name[0] != '.';
  closedir(tasks);
  return count;
}

static void increment(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

#define RESOLVE(name)                                     \
  name##_t name = (name##_t)dlsym(library, #name);        \
  if (name == NULL) {                                     \
    fprintf(stderr, "dlsym(%s): %s\n", #name, dlerror()); \
    return 1;                                             \
  }

typedef tp_status (*tp_pool_create_t)(size_t, tp_pool **);
typedef tp_status (*tp_pool_execute_t)(tp_pool *, tp_job_fn, void *);
typedef tp_status (*tp_pool_shutdown_t)(tp_pool *);
typedef tp_status (*tp_pool_destroy_t)(tp_pool *);
typedef const char *(*tp_status_string_t)(tp_status);

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH_TO_LIBTP_SO\n", argv[0]);
    return 2;
  }
  int threads_before = -1;
  for (int cycle = 0; cycle < 6; ++cycle) {
    void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
      fprintf(stderr, "dlopen: %s\n", dlerror());
      return 1;
    }
    RESOLVE(tp_pool_create)
    RESOLVE(tp_pool_execute)
    RESOLVE(tp_pool_shutdown)
    RESOLVE(tp_pool_destroy)
    RESOLVE(tp_status_string)
    tp_pool *pool = NULL;
    if (tp_pool_create(3, &pool) != TP_OK) return 1;
    atomic_int ran = 0;
    for (int i = 0; i < 1000; ++i) {
      if (tp_pool_execute(pool, increment, &ran) != TP_OK) return 1;
    }
    if (tp_pool_shutdown(pool) != TP_OK) return 1;
    const tp_status late = tp_pool_execute(pool, increment, &ran);
    if (tp_pool_destroy(pool) != TP_OK) return 1;
    if (atomic_load(&ran) != 1000 || late != TP_ERR_SHUTDOWN) {
      fprintf(stderr, "cycle %d: ran %d, late submission: %s\n", cycle, atomic_load(&ran),
              tp_status_string(late));
      return 1;
    }
    if (dlclose(library) != 0) {
      fprintf(stderr, "dlclose: %s\n", dlerror());
      return 1;
    }
    if (cycle == 0) threads_before = count_threads();
    /* A joined thread can linger in /proc for a moment while the kernel reaps it. */
    for (int wait = 0; wait < 200 && count_threads() != threads_before; ++wait) usleep(1000);
    if (count_threads() != threads_before) {
      fprintf(stderr, "cycle %d: %d threads, %d before\n", cycle, count_threads(), threads_before);
      return 1;
    }
  }
  puts("dlopen_test: 6 load/run/unload cycles, no thread left behind");
  return 0;
}
