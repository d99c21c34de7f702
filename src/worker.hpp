// One worker: its deque, its counters, its thread, and the loop that finds and runs jobs.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "deque.hpp"
#include "injector.hpp"
#include "job.hpp"

namespace tp::detail {

class Pool;

// Counters written only by the owning worker (a plain load and store, no locked instruction) and
// read by anyone with relaxed loads: a stats snapshot taken while jobs run may be slightly stale,
// and is exact once the pool is idle (wait_idle() orders the workers' writes before it returns).
class OwnerCounter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

struct WorkerStats {
  OwnerCounter executed, stolen, from_injector, parks, exceptions;
  std::atomic<bool> pinned{false};
};

class alignas(kCacheLine) Worker {
 public:
  Worker(Pool &pool, std::size_t index, std::size_t deque_capacity)
      : pool_(pool), index_(index), deque_(deque_capacity) {}

  std::size_t index() const noexcept { return index_; }
  StealingDeque &deque() noexcept { return deque_; }
  const StealingDeque &deque() const noexcept { return deque_; }
  const WorkerStats &stats() const noexcept { return stats_; }
  std::thread &thread() noexcept { return thread_; }

  // The worker this thread is, if it is one of `pool`'s workers.
  static Worker *current(const Pool *pool) noexcept;

  // Runs a job that was accepted (counted as pending) on this worker's thread.
  void run(Job job) noexcept;

  // The thread's body: start hooks, then find and run jobs until the pool stops.
  void main() noexcept;

 private:
  Job search() noexcept;
  Job take_from_injector() noexcept;
  Job steal_from_peers() noexcept;
  void unpack(Batch *batch) noexcept;
  void spill(const Job *jobs, std::size_t count) noexcept;
  bool park() noexcept;

  Pool &pool_;
  const std::size_t index_;
  StealingDeque deque_;  // top and bottom each on their own line (see deque.hpp)
  alignas(kCacheLine) WorkerStats stats_;
  std::uint64_t victim_seed_;  // owner only: where the next steal pass starts
  std::thread thread_;
};

}  // namespace tp::detail
