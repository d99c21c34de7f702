// Helpers shared by the tests: sizes that shrink under sanitizers, a watchdog that turns a hang
// into a failure with a message, and an owning handle for pools.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tp/tp.h"

namespace tp_test {

// Stress sizes are multiplied by TP_STRESS_SCALE (default 1); the sanitizer presets set it lower.
inline std::size_t scaled(std::size_t n) {
  const char *text = std::getenv("TP_STRESS_SCALE");
  const double scale = text != nullptr ? std::atof(text) : 1.0;
  const auto value = static_cast<std::size_t>(static_cast<double>(n) * (scale > 0 ? scale : 1.0));
  return value > 0 ? value : 1;
}

// Fails the whole test binary (instead of letting it hang until ctest's timeout) when it is not
// disarmed within `limit`; `describe` says what was going on, e.g. each worker's counters.
class Watchdog {
 public:
  explicit Watchdog(std::string what, std::chrono::seconds limit = std::chrono::seconds(60),
                    std::function<std::string()> describe = {})
      : thread_([this, what = std::move(what), limit, describe = std::move(describe)] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "WATCHDOG: '%s' did not finish within %llds. %s\n", what.c_str(),
                         static_cast<long long>(limit.count()), describe ? describe().c_str() : "");
            std::fflush(stderr);
            std::_Exit(3);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

struct PoolDeleter {
  void operator()(tp_pool *pool) const noexcept { tp_pool_destroy(pool); }
};
using PoolPtr = std::unique_ptr<tp_pool, PoolDeleter>;

inline PoolPtr make_pool(std::size_t workers, unsigned spin_limit = TP_DEFAULT_SPIN_LIMIT,
                         tp_pin pin = TP_PIN_CORES) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  options.workers = workers;
  options.spin_limit = spin_limit;
  options.pin = pin;
  tp_pool *pool = nullptr;
  if (tp_pool_create_with(&options, &pool) != TP_OK) {
    std::fprintf(stderr, "could not create a pool of %zu workers\n", workers);
    std::abort();
  }
  return PoolPtr(pool);
}

struct GroupDeleter {
  void operator()(tp_group *group) const noexcept { tp_group_destroy(group); }
};
using GroupPtr = std::unique_ptr<tp_group, GroupDeleter>;

inline GroupPtr make_group(tp_pool *pool) {
  tp_group *group = nullptr;
  if (tp_group_create(pool, &group) != TP_OK) {
    std::fprintf(stderr, "could not create a group\n");
    std::abort();
  }
  return GroupPtr(group);
}

struct QueueDeleter {
  void operator()(tp_queue *queue) const noexcept { tp_queue_destroy(queue); }
};
using QueuePtr = std::unique_ptr<tp_queue, QueueDeleter>;

inline QueuePtr make_queue(tp_pool *pool) {
  tp_queue *queue = nullptr;
  if (tp_queue_create(pool, &queue) != TP_OK) {
    std::fprintf(stderr, "could not create a serial queue\n");
    std::abort();
  }
  return QueuePtr(queue);
}

// The pool's totals (TP_OK is checked by the caller's expectations on the fields).
inline tp_pool_stats stats_of(tp_pool *pool) {
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  tp_pool_get_stats(pool, &stats);
  return stats;
}

// One worker's counters.
inline tp_pool_stats stats_of(tp_pool *pool, std::size_t worker) {
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  tp_pool_get_worker_stats(pool, worker, &stats);
  return stats;
}

// Each worker's counters, for watchdog messages.
inline std::string describe_workers(tp_pool *pool) {
  std::string text;
  for (std::size_t i = 0; i < tp_pool_workers(pool); ++i) {
    tp_pool_stats stats{};
    stats.size = sizeof stats;
    tp_pool_get_worker_stats(pool, i, &stats);
    text += "worker " + std::to_string(i) + ": executed " + std::to_string(stats.executed) +
            ", stolen " + std::to_string(stats.stolen) + ", from_injector " +
            std::to_string(stats.from_injector) + ", parks " + std::to_string(stats.parks) + "; ";
  }
  return text;
}

// Jobs that hold their worker until the test opens the gate: hold(&gate) as the job, then
// wait_for_arrivals(n) to know n workers are held.
struct Gate {
  std::atomic<int> arrived{0};
  std::atomic<bool> open{false};

  static void hold(void *arg) {
    auto *gate = static_cast<Gate *>(arg);
    gate->arrived.fetch_add(1);
    while (!gate->open.load()) std::this_thread::yield();
  }
  void wait_for_arrivals(int count) const {
    while (arrived.load() < count) std::this_thread::yield();
  }
  void release() { open.store(true); }
};

// A job that counts its runs: arg is a std::atomic<std::uint64_t>.
inline void increment(void *arg) { static_cast<std::atomic<std::uint64_t> *>(arg)->fetch_add(1); }

// A job that tells its submitter it ran: arg is a std::atomic<bool>, set to true.
inline void set_flag(void *arg) { static_cast<std::atomic<bool> *>(arg)->store(true); }

}  // namespace tp_test
