#include "default_pool.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "machine.hpp"

// LeakSanitizer's entry points, present only when the program runs under it (weak: null otherwise).
extern "C" {
[[gnu::weak]] void __lsan_disable();
[[gnu::weak]] void __lsan_enable();
}

namespace tp::detail {

namespace {

// The default pool is never freed, on purpose, and LeakSanitizer cannot follow every pointer to
// what it holds (Boost.Lockfree keeps tagged pointers, with a counter in the upper bits): what it
// allocates at creation is declared a non-leak, so that a program that uses the default pool and
// runs under LeakSanitizer gets no report for it.
class LeakCheckPause {
 public:
  LeakCheckPause() noexcept {
    if (__lsan_disable != nullptr) __lsan_disable();
  }
  ~LeakCheckPause() {
    if (__lsan_enable != nullptr) __lsan_enable();
  }
  LeakCheckPause(const LeakCheckPause &) = delete;
  LeakCheckPause &operator=(const LeakCheckPause &) = delete;
};

// Nothing here has a destructor that runs at exit: the default pool outlives static destruction
// (its workers may still be running jobs then), so its state is plain data and heap objects that
// are never freed.
std::atomic<Pool *> the_pool{nullptr};
// Serialises creation and configuration, and is held across fork() (see the handlers below), so
// that a child never inherits it locked by a thread that does not exist there.
pthread_mutex_t creation = PTHREAD_MUTEX_INITIALIZER;
PoolConfig *configured = nullptr;  // guarded by creation; set by configure_default_pool()
pthread_once_t fork_handlers_registered = PTHREAD_ONCE_INIT;

void lock_before_fork() noexcept { pthread_mutex_lock(&creation); }
void unlock_in_parent() noexcept { pthread_mutex_unlock(&creation); }
void forget_in_child() noexcept {
  // The parent's default pool has no worker in the child: it is left as it is (never freed, as in
  // the parent), and the next tp_pool_default() creates the child's own.
  the_pool.store(nullptr, std::memory_order_relaxed);
  pthread_mutex_unlock(&creation);  // the forking thread locked it, and it is this thread
}

void register_fork_handlers() noexcept {
  pthread_atfork(&lock_before_fork, &unlock_in_parent, &forget_in_child);
}

class CreationLock {
 public:
  CreationLock() noexcept {
    pthread_once(&fork_handlers_registered, &register_fork_handlers);
    pthread_mutex_lock(&creation);
  }
  ~CreationLock() { pthread_mutex_unlock(&creation); }
  CreationLock(const CreationLock &) = delete;
  CreationLock &operator=(const CreationLock &) = delete;
};

}  // namespace

std::size_t worker_count_from_environment() noexcept {
  const char *text = std::getenv("TP_NUM_THREADS");
  if (text == nullptr || *text == '\0') return 0;
  std::size_t value = 0;
  for (const char *c = text; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9') return 0;
    value = value * 10 + static_cast<std::size_t>(*c - '0');
    if (value > TP_MAX_WORKERS) return 0;
  }
  return value;
}

Status default_pool(Pool *&out) noexcept {
  out = the_pool.load(std::memory_order_acquire);
  if (out != nullptr) return Status::ok;
  const CreationLock lock;
  out = the_pool.load(std::memory_order_relaxed);
  if (out != nullptr) return Status::ok;
  try {
    PoolConfig config;
    if (configured != nullptr) {
      config = *configured;
    } else {
      config.workers = default_worker_count();
    }
    if (const std::size_t workers = worker_count_from_environment(); workers != 0) {
      config.workers = workers;
    }
    config.traceable = false;  // never destroyed: it would never write a trace
    std::unique_ptr<Pool> pool;
    const LeakCheckPause not_a_leak;
    if (const Status status = Pool::create(config, pool); status != Status::ok) return status;
    pool->mark_process_default();
    out = pool.release();  // never freed: see the comment at the top
  } catch (...) {
    return Status::out_of_memory;  // the copy of the configuration (its thread name)
  }
  the_pool.store(out, std::memory_order_release);
  return Status::ok;
}

Status configure_default_pool(const PoolConfig &config) noexcept {
  const CreationLock lock;
  if (the_pool.load(std::memory_order_relaxed) != nullptr) return Status::already_created;
  try {
    if (configured == nullptr) {
      configured = new PoolConfig(config);  // never freed: read at creation, in a child too
    } else {
      *configured = config;
    }
  } catch (...) {
    return Status::out_of_memory;
  }
  return Status::ok;
}

bool is_default_pool(const Pool *pool) noexcept {
  // The mark rather than the_pool: a child's stale handle to its parent's default pool is one too.
  return pool != nullptr && pool->process_default();
}

}  // namespace tp::detail
