// libtp for C++: a header-only wrapper over the C ABI in tp.h. It needs C++17 and exposes no C++
// ABI of the library: everything here is inline code calling tp_* functions.
//
//   auto pool = tp::ThreadPool::build(4);               // tp::Result<tp::ThreadPool>
//   if (!pool) return pool.error();                     // tp::PoolError::ZeroWorkers, ...
//   pool->execute([] { std::puts("hello"); });          // tp::Result<void>
//   pool->execute([] { redraw(); }, tp::Priority::high); // taken before normal and low jobs
//   std::future<int> answer = pool->submit([] { return 42; });
//   pool->join([&] { left(); }, [&] { right(); });      // both done when it returns
//   pool->parallel_for(0, n, [&](std::size_t i) { v[i] *= 2; });
//   tp::TaskGroup group(*pool);
//   group.spawn([&] { work(); });
//   group.wait();
//   tp::ThreadPool &shared = tp::ThreadPool::global();  // the process-wide pool (tp_pool_default)
//   group.notify([] { wake_my_event_loop(); });         // once the group is empty; never blocks
//   if (group.wait_for(std::chrono::milliseconds(5)).error() == tp::PoolError::Timeout) ...
//   tp::SerialQueue log(*pool);                         // one at a time, in submission order
//   log.submit([&] { file.append(line); });             // no lock around `file` needed
//   log.wait();
//
// Exceptions: a job started with execute() that throws goes to the handler set with
// set_exception_handler(); without one it is caught and counted by the pool (tp_pool_stats'
// `exceptions`), never std::terminate. From submit() it travels through the future. From join(),
// parallel_for(), TaskGroup::wait() and SerialQueue::wait(), the first one is rethrown in the
// caller after all the work has finished. Calls the pool refuses throw tp::Error where they return
// no Result.
#ifndef TP_TP_HPP
#define TP_TP_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tp/tp.h"

namespace tp {

// One enumerator per tp_status error, with the same value. SendError is the seed's name for
// TP_ERR_SHUTDOWN: the pool no longer accepts jobs.
enum class PoolError : int {
  ZeroWorkers = TP_ERR_ZERO_WORKERS,
  SendError = TP_ERR_SHUTDOWN,
  InvalidArgument = TP_ERR_INVALID_ARGUMENT,
  OutOfMemory = TP_ERR_OUT_OF_MEMORY,
  ThreadStart = TP_ERR_THREAD_START,
  Topology = TP_ERR_TOPOLOGY,
  WouldDeadlock = TP_ERR_WOULD_DEADLOCK,
  Timeout = TP_ERR_TIMEOUT,
  Cancelled = TP_ERR_CANCELLED,
  AlreadyCreated = TP_ERR_ALREADY_CREATED,
};

// A job's priority level (tp_priority): the order in which workers take waiting jobs.
enum class Priority : int {
  normal = TP_PRIORITY_NORMAL,
  high = TP_PRIORITY_HIGH,  // taken before any waiting normal or low job
  low = TP_PRIORITY_LOW,    // taken when nothing else waits, or once it has aged (tp.h)
};

inline const char *to_string(PoolError error) noexcept {
  return tp_status_string(static_cast<tp_status>(error));
}

// The exception the wrapper throws where a call has no Result to carry an error.
class Error : public std::runtime_error {
 public:
  explicit Error(PoolError error) : std::runtime_error(to_string(error)), error_(error) {}
  PoolError error() const noexcept { return error_; }

 private:
  PoolError error_;
};

// A value or the PoolError that prevented it (like std::expected<T, PoolError>).
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}        // NOLINT: implicit on purpose
  Result(PoolError error) noexcept : error_(error) {}  // NOLINT: implicit on purpose
  explicit operator bool() const noexcept { return value_.has_value(); }
  bool has_value() const noexcept { return value_.has_value(); }
  // Only when there is a value (as with std::optional); value() checks and throws tp::Error.
  T *operator->() noexcept { return &*value_; }
  const T *operator->() const noexcept { return &*value_; }
  T &operator*() &noexcept { return *value_; }
  const T &operator*() const &noexcept { return *value_; }
  T &value() & {
    if (!value_) throw Error(error_);
    return *value_;
  }
  const T &value() const & {
    if (!value_) throw Error(error_);
    return *value_;
  }
  T &&value() && {
    if (!value_) throw Error(error_);
    return std::move(*value_);
  }
  // The error; meaningful only when there is no value.
  PoolError error() const noexcept { return error_; }

 private:
  std::optional<T> value_;
  PoolError error_ = PoolError::InvalidArgument;
};

template <>
class Result<void> {
 public:
  Result() noexcept = default;
  Result(PoolError error) noexcept : ok_(false), error_(error) {}  // NOLINT: implicit on purpose
  explicit operator bool() const noexcept { return ok_; }
  bool has_value() const noexcept { return ok_; }
  void value() const {
    if (!ok_) throw Error(error_);
  }
  PoolError error() const noexcept { return error_; }

 private:
  bool ok_ = true;
  PoolError error_ = PoolError::InvalidArgument;
};

namespace detail {

inline Result<void> to_result(tp_status status) noexcept {
  if (status == TP_OK) return {};
  return static_cast<PoolError>(status);
}

inline void throw_if_error(tp_status status) {
  if (status != TP_OK) throw Error(static_cast<PoolError>(status));
}

// The first exception of several jobs, kept until they have all finished. The flag keeps the
// common no-exception path to one atomic load; the mutex orders writers and the reader.
class FirstException {
 public:
  void capture() noexcept {
    std::lock_guard<std::mutex> lock(mutex_);
    if (error_) return;
    error_ = std::current_exception();
    captured_.store(true, std::memory_order_release);
  }
  void rethrow_and_clear() {
    if (!captured_.load(std::memory_order_acquire)) return;
    std::exception_ptr error;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error = std::exchange(error_, nullptr);
      captured_.store(false, std::memory_order_relaxed);
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  std::atomic<bool> captured_{false};
  std::mutex mutex_;
  std::exception_ptr error_;  // guarded by mutex_
};

// Calls a callable through the C ABI's (fn, arg) pair, with `arg` pointing at it.
template <class F>
void call(void *callable) {
  (*static_cast<F *>(callable))();
}

// A timeout for the C ABI: nanoseconds, negative as zero, too long for 64 bits as the longest.
template <class Rep, class Period>
std::uint64_t to_ns(std::chrono::duration<Rep, Period> timeout) noexcept {
  if (timeout <= timeout.zero()) return 0;
  using Nanoseconds = std::chrono::duration<long double, std::nano>;
  const long double ns = std::chrono::duration_cast<Nanoseconds>(timeout).count();
  return ns >= 1.8e19L ? UINT64_MAX : static_cast<std::uint64_t>(ns);
}

}  // namespace detail

class TaskGroup;

class ThreadPool {
 public:
  // A pool of `workers` threads with default options (pinned to cores, TP_DEFAULT_SPIN_LIMIT spin
  // rounds).
  static Result<ThreadPool> build(std::size_t workers) {
    tp_pool_options options;
    tp_pool_options_init(&options);
    options.workers = workers;
    return build(options);
  }

  // A pool with options prepared by tp_pool_options_init().
  static Result<ThreadPool> build(const tp_pool_options &options) {
    std::unique_ptr<State> state(new (std::nothrow) State);
    if (!state) return PoolError::OutOfMemory;
    const tp_status status = tp_pool_create_with(&options, &state->pool);
    if (status != TP_OK) return static_cast<PoolError>(status);
    return ThreadPool(std::move(state));
  }

  // The process-wide pool (tp_pool_default()), shared with every other user of libtp in the
  // process: a handle that does not own it (it is never shut down; shutdown() is refused with
  // PoolError::InvalidArgument). Each call into it looks the pool up again (one atomic load), so
  // that in a child after fork() it is the child's fresh pool. Throws tp::Error when the pool
  // cannot be created.
  static ThreadPool &global() {
    tp_pool *pool = nullptr;
    detail::throw_if_error(tp_pool_default(&pool));
    // Never destroyed: jobs of the default pool may still run during static destruction.
    static ThreadPool *const handle = [] {
      std::unique_ptr<State> state(new State);
      state->global = true;
      return new ThreadPool(std::move(state));
    }();
    return *handle;
  }

  ThreadPool(ThreadPool &&) noexcept = default;
  ThreadPool &operator=(ThreadPool &&other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  // Blocks until every accepted job has run, then frees the pool. Must not run inside one of the
  // pool's own jobs (the pool would be left running: tp_pool_destroy refuses).
  ~ThreadPool() { close(); }

  // Runs f() once on some worker, taken at `priority` (tp_pool_execute_priority). f may be
  // move-only. After shutdown: PoolError::SendError.
  template <class F>
  Result<void> execute(F &&f, Priority priority = Priority::normal) {
    using Task = ExecuteTask<std::decay_t<F>>;
    auto *task = new (std::nothrow) Task{std::forward<F>(f), state_.get()};
    if (task == nullptr) return PoolError::OutOfMemory;
    const tp_status status = tp_pool_execute_priority(native_handle(), &Task::run, task,
                                                      static_cast<tp_priority>(priority));
    if (status != TP_OK) delete task;
    return detail::to_result(status);
  }

  // Runs f() on some worker, taken at `priority`; its result (or exception) arrives through the
  // future. When the pool refuses the job, the future holds a tp::Error (get() throws it). Throws
  // std::bad_alloc if the job's state cannot be allocated.
  template <class F, class R = std::invoke_result_t<std::decay_t<F> &>>
  std::future<R> submit(F &&f, Priority priority = Priority::normal) {
    std::promise<R> promise;
    std::future<R> future = promise.get_future();
    auto task = [f = std::forward<F>(f), promise = std::move(promise)]() mutable {
      try {
        if constexpr (std::is_void_v<R>) {
          f();
          promise.set_value();
        } else {
          promise.set_value(f());
        }
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    };
    using Task = ExecuteTask<decltype(task)>;
    auto *job = new Task{std::move(task), state_.get()};
    const tp_status status = tp_pool_execute_priority(native_handle(), &Task::run, job,
                                                      static_cast<tp_priority>(priority));
    if (status != TP_OK) {
      std::promise<R> refused;
      future = refused.get_future();
      refused.set_exception(std::make_exception_ptr(Error(static_cast<PoolError>(status))));
      delete job;
    }
    return future;
  }

  // Runs a() and b(), possibly in parallel, and returns when both have run. On a worker nothing is
  // allocated. If either throws, rethrows the first exception caught (in time) after both
  // finished; throws tp::Error when the pool refuses (after shutdown, from outside the pool).
  template <class A, class B>
  void join(A &&a, B &&b) {
    detail::FirstException error;
    auto run_a = [&]() noexcept {
      try {
        a();
      } catch (...) {
        error.capture();
      }
    };
    auto run_b = [&]() noexcept {
      try {
        b();
      } catch (...) {
        error.capture();
      }
    };
    detail::throw_if_error(tp_pool_join(native_handle(), &detail::call<decltype(run_a)>, &run_a,
                                        &detail::call<decltype(run_b)>, &run_b));
    error.rethrow_and_clear();
  }

  // Calls body(i) for every i in [begin, end), in parallel pieces of at most `grain` indices
  // (0: adaptive, as rayon's: about two pieces per worker, more where workers steal). Rethrows the
  // first exception after every piece finished (a piece stops at its first exception). Inside a
  // job of a TaskGroup that gets cancelled, it stops starting pieces and returns (the group's wait
  // reports the cancel).
  template <class F>
  void parallel_for(std::size_t begin, std::size_t end, std::size_t grain, F &&body) {
    struct Context {
      F &body;
      detail::FirstException error;
    } context{body, {}};
    auto piece = [](std::size_t lo, std::size_t hi, void *arg) {
      auto &c = *static_cast<Context *>(arg);
      try {
        for (std::size_t i = lo; i < hi; ++i) c.body(i);
      } catch (...) {
        c.error.capture();
      }
    };
    const tp_status status =
        tp_pool_parallel_for(native_handle(), begin, end, grain, piece, &context);
    if (status != TP_ERR_CANCELLED) detail::throw_if_error(status);
    context.error.rethrow_and_clear();
  }
  template <class F>
  void parallel_for(std::size_t begin, std::size_t end, F &&body) {
    parallel_for(begin, end, 0, std::forward<F>(body));
  }

  // Stops accepting jobs, runs every accepted one and stops the workers. Idempotent.
  Result<void> shutdown() noexcept { return detail::to_result(tp_pool_shutdown(native_handle())); }

  // Blocks until the pool was idle at some moment after the call began (so every job accepted
  // before it has run); under a never-ending stream of submissions, use a TaskGroup instead (tp.h).
  Result<void> wait_idle() noexcept {
    return detail::to_result(tp_pool_wait_idle(native_handle()));
  }

  // As wait_idle(), but gives up after `timeout` with PoolError::Timeout.
  template <class Rep, class Period>
  Result<void> wait_idle_for(std::chrono::duration<Rep, Period> timeout) noexcept {
    return detail::to_result(tp_pool_wait_idle_for(native_handle(), detail::to_ns(timeout)));
  }

  std::size_t workers() const noexcept { return tp_pool_workers(native_handle()); }

  // Receives the exceptions of execute() jobs, on the worker that ran the job; replaces the
  // default (caught and counted in tp_pool_stats). An exception thrown by the handler is ignored.
  void set_exception_handler(std::function<void(std::exception_ptr)> handler) {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->handler = std::move(handler);
  }

  tp_pool *native_handle() const noexcept {
    if (!state_->global) return state_->pool;
    tp_pool *pool = nullptr;
    tp_pool_default(&pool);  // one atomic load once it exists; NULL if it cannot be created
    return pool;
  }

 private:
  // Heap-allocated so that jobs can keep pointing at it while the ThreadPool object moves.
  struct State {
    bool global = false;      // the default pool: looked up on each call, never destroyed
    tp_pool *pool = nullptr;  // the owned pool
    std::mutex mutex;
    std::function<void(std::exception_ptr)> handler;  // guarded by mutex
  };

  template <class F>
  struct ExecuteTask {
    F f;
    State *state;

    static void run(void *arg) {
      std::unique_ptr<ExecuteTask> task(static_cast<ExecuteTask *>(arg));
      try {
        task->f();
      } catch (...) {
        std::function<void(std::exception_ptr)> handler;
        {
          std::lock_guard<std::mutex> lock(task->state->mutex);
          handler = task->state->handler;
        }
        if (!handler) throw;  // the pool catches it and counts it in tp_pool_stats
        try {
          handler(std::current_exception());
        } catch (...) {
          // A handler's own exception has nowhere to go.
        }
      }
    }
  };

  explicit ThreadPool(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}

  void close() noexcept {
    if (state_ && !state_->global && tp_pool_destroy(state_->pool) != TP_OK) {
      (void)state_.release();  // destroyed from one of its own jobs: leave it running, not freed
    }
  }

  friend class TaskGroup;
  std::unique_ptr<State> state_;
};

// Jobs spawned from any thread, waited for together. Destroying the group waits for its jobs.
class TaskGroup {
 public:
  explicit TaskGroup(ThreadPool &pool) {
    detail::throw_if_error(tp_group_create(pool.native_handle(), &group_));
  }
  TaskGroup(const TaskGroup &) = delete;
  TaskGroup &operator=(const TaskGroup &) = delete;
  ~TaskGroup() {
    tp_group_destroy(group_);  // waits; a job's exception still pending is dropped
  }

  // Runs f() as a job of the group; if the group is cancelled before it starts, f is destroyed
  // without running. After the pool's shutdown: PoolError::SendError.
  template <class F>
  Result<void> spawn(F &&f) {
    using Task = SpawnTask<std::decay_t<F>>;
    auto *task = new (std::nothrow) Task{std::forward<F>(f), &error_};
    if (task == nullptr) return PoolError::OutOfMemory;
    const tp_status status = tp_group_spawn_cancellable(group_, &Task::run, &Task::drop, task);
    if (status != TP_OK) delete task;
    return detail::to_result(status);
  }

  // Returns when every job spawned so far has run; then rethrows the first exception one of them
  // threw. PoolError::Cancelled when the group was cancelled since the last wait (the mark is
  // cleared). Throws tp::Error(WouldDeadlock) from inside one of the group's own jobs.
  Result<void> wait() { return finish(tp_group_wait(group_)); }

  // As wait(), but gives up after `timeout` with PoolError::Timeout (nothing changes then: no
  // exception is rethrown, nothing is cancelled).
  template <class Rep, class Period>
  Result<void> wait_for(std::chrono::duration<Rep, Period> timeout) {
    const tp_status status = tp_group_wait_for(group_, detail::to_ns(timeout));
    if (status == TP_ERR_TIMEOUT) return PoolError::Timeout;
    return finish(status);
  }

  // Runs f() once, as a job of the pool outside the group, the next time the group has no
  // unfinished job (at once if it has none). Never blocks. An exception f throws is caught and
  // counted by the pool. After the pool's shutdown, when due at once: PoolError::SendError.
  template <class F>
  Result<void> notify(F &&f) {
    using Task = NotifyTask<std::decay_t<F>>;
    auto *task = new (std::nothrow) Task{std::forward<F>(f)};
    if (task == nullptr) return PoolError::OutOfMemory;
    const tp_status status = tp_group_notify(group_, &Task::run, task);
    if (status != TP_OK) delete task;
    return detail::to_result(status);
  }

  // Jobs that have not started are dropped without running, until the next wait returns;
  // running jobs finish (they may poll is_cancelled()).
  void cancel() noexcept { tp_group_cancel(group_); }
  bool is_cancelled() const noexcept { return tp_group_is_cancelled(group_) != 0; }

  tp_group *native_handle() const noexcept { return group_; }

 private:
  Result<void> finish(tp_status status) {
    if (status != TP_ERR_CANCELLED) detail::throw_if_error(status);
    error_.rethrow_and_clear();
    return detail::to_result(status);
  }

  template <class F>
  struct SpawnTask {
    F f;
    detail::FirstException *error;

    static void run(void *arg) {
      std::unique_ptr<SpawnTask> task(static_cast<SpawnTask *>(arg));
      try {
        task->f();
      } catch (...) {
        task->error->capture();
      }
    }
    static void drop(void *arg) { delete static_cast<SpawnTask *>(arg); }
  };

  template <class F>
  struct NotifyTask {
    F f;

    static void run(void *arg) {
      std::unique_ptr<NotifyTask> task(static_cast<NotifyTask *>(arg));
      task->f();
    }
  };

  tp_group *group_ = nullptr;
  detail::FirstException error_;
};

// Jobs that run one at a time, in the order they were submitted, on whichever worker is free; two
// queues (and ordinary jobs) run in parallel. What a job writes is visible to the queue's next
// job. Destroying the queue waits for its jobs.
class SerialQueue {
 public:
  explicit SerialQueue(ThreadPool &pool) {
    detail::throw_if_error(tp_queue_create(pool.native_handle(), &queue_));
  }
  SerialQueue(const SerialQueue &) = delete;
  SerialQueue &operator=(const SerialQueue &) = delete;
  ~SerialQueue() {
    tp_queue_destroy(queue_);  // waits; a job's exception still pending is dropped
  }

  // Runs f() after every job submitted to the queue before it. f may be move-only. After the
  // pool's shutdown: PoolError::SendError. Callable from the queue's own jobs (f then runs after
  // the job that submitted it).
  template <class F>
  Result<void> submit(F &&f) {
    using Job = Task<std::decay_t<F>>;
    auto *task = new (std::nothrow) Job{std::forward<F>(f), &error_};
    if (task == nullptr) return PoolError::OutOfMemory;
    const tp_status status = tp_queue_submit(queue_, &Job::run, task);
    if (status != TP_OK) delete task;
    return detail::to_result(status);
  }

  // Returns when every job submitted before the call has run; then rethrows the first exception
  // one of them threw. Throws tp::Error(WouldDeadlock) from inside one of the queue's own jobs.
  Result<void> wait() {
    detail::throw_if_error(tp_queue_wait(queue_));
    error_.rethrow_and_clear();
    return {};
  }

  tp_queue *native_handle() const noexcept { return queue_; }

 private:
  template <class F>
  struct Task {
    F f;
    detail::FirstException *error;

    static void run(void *arg) {
      std::unique_ptr<Task> task(static_cast<Task *>(arg));
      try {
        task->f();
      } catch (...) {
        task->error->capture();
      }
    }
  };

  tp_queue *queue_ = nullptr;
  detail::FirstException error_;
};

}  // namespace tp

#endif  // TP_TP_HPP
