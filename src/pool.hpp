// The pool: lifecycle (running -> draining -> stopped), ownership of the workers, the injector
// and the sleep protocol, and the accounting of accepted jobs that wait_idle() and shutdown rely
// on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "injector.hpp"
#include "job.hpp"
#include "latch.hpp"
#include "placement.hpp"
#include "sleep.hpp"
#include "status.hpp"
#include "topology.hpp"
#include "worker.hpp"

namespace tp::detail {

struct PoolConfig {
  std::size_t workers = 1;
  Pin pin = Pin::cores;
  unsigned spin_limit = 200;
  std::string thread_name = "tp-worker";
  void (*on_worker_start)(std::size_t worker, void *user) = nullptr;
  void (*on_worker_stop)(std::size_t worker, void *user) = nullptr;
  void *user = nullptr;
  std::size_t deque_capacity = 256;  // initial capacity of each worker's deque
  // Tests only (not reachable through the C ABI): start_workers() acts as if the OS refused the
  // thread of this worker, to show that a failed create joins what it started and frees all.
  std::size_t refuse_thread_of_worker = SIZE_MAX;
  // Benchmarks only: false makes a pinned pool steal in plain rotating order, to measure what the
  // topology order costs.
  bool ordered_victims = true;
};

struct StatsSnapshot {
  std::uint64_t executed = 0, stolen = 0, from_injector = 0, parks = 0, exceptions = 0, pinned = 0;
};

class Pool {
 public:
  // Starts the workers. On failure nothing is left running and `out` is unchanged.
  static Status create(const PoolConfig &config, std::unique_ptr<Pool> &out) noexcept;

  ~Pool();  // shutdown() must have returned ok (or create failed before any job was accepted)
  Pool(const Pool &) = delete;
  Pool &operator=(const Pool &) = delete;

  Status execute(const Job &job) noexcept;
  Status execute_batch(const Job *jobs, std::size_t count) noexcept;
  Status wait_idle() noexcept;

  // Fork-join (join.cpp): runs a and b, possibly in parallel, and returns when both have run.
  // On one of this pool's workers, b goes onto the worker's deque with a latch on this stack,
  // a runs here, and the worker takes b back or helps with other work until b is done: nothing
  // is allocated. From any other thread both go to the injector and the caller blocks.
  Status join(Job a, Job b) noexcept;
  using RangeFn = void (*)(std::size_t lo, std::size_t hi, void *arg);
  // Splits [begin, end) in halves with join() down to `grain` indices (0: about 8 pieces per
  // worker) and calls body on each piece, every index exactly once.
  Status parallel_for(std::size_t begin, std::size_t end, std::size_t grain, RangeFn body,
                      void *arg) noexcept;
  // Waits until `latch` opens: a worker of this pool helps (own deque, injector, peers) and
  // blocks only when there is nothing to help with; other threads block.
  void wait_for(Latch &latch) noexcept;
  Status shutdown() noexcept;

  std::size_t workers() const noexcept { return workers_.size(); }
  int current_worker() const noexcept;
  StatsSnapshot stats() const noexcept;
  StatsSnapshot worker_stats(std::size_t worker) const noexcept;

  // ---- for the workers (worker.cpp) ----
  Injector &injector() noexcept { return injector_; }
  Sleep &sleep() noexcept { return sleep_; }
  Worker &worker(std::size_t index) noexcept { return *workers_[index]; }
  const PoolConfig &config() const noexcept { return config_; }
  const Topology *topology() const noexcept { return topology_.get(); }
  const CpuSet *placement(std::size_t worker) const noexcept {
    return placement_.empty() ? nullptr : &placement_[worker];
  }
  // The CPUs a worker runs on, in hwloc's list format: its placement if it was bound, else the
  // CPUs the pool's creator could use.
  const std::string &worker_cpus(std::size_t worker) const noexcept;
  // Any job anywhere that a searching worker could take (a hint; see sleep.md for why it is
  // enough where it is used).
  bool work_visible() const noexcept;
  // `count` more jobs are accepted (before they become visible).
  void add_pending(std::uint64_t count) noexcept {
    pending_.fetch_add(count, std::memory_order_seq_cst);
  }
  // `count` accepted jobs have run.
  void finished(std::uint64_t count) noexcept;
  // A hint: some thread waits in wait_idle() or shutdown() for the pending count to reach zero.
  bool has_idle_waiters() const noexcept {
    return idle_waiters_.load(std::memory_order_relaxed) != 0;
  }
  // A worker is bound and has run its start hook; create() returns once all of them have.
  void worker_started() noexcept;

 private:
  explicit Pool(const PoolConfig &config);
  void place_workers();  // throws TopologyError (pinning without hwloc), std::bad_alloc
  Status start_workers() noexcept;
  Status join_from_outside(Job a, Job b) noexcept;
  // Counts `count` jobs from a thread outside the pool as pending; false (and nothing counted)
  // once shutdown has begun.
  bool admit_from_outside(std::uint64_t count) noexcept;
  void stop_workers() noexcept;  // after the last job: wake everyone, join
  void wait_for_no_pending() noexcept;

  const PoolConfig config_;
  std::shared_ptr<const Topology> topology_;  // the machine's; null if hwloc cannot read it
  std::vector<CpuSet> placement_;             // one per worker when pinning
  std::vector<std::string> placement_lists_;  // placement_ as text, for worker_cpus()
  std::string usable_list_;                   // the CPUs the creator could use, as text
  Injector injector_;
  Sleep sleep_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Jobs accepted and not yet finished, including jobs spawned by jobs. Every submission adds
  // before the job becomes visible and every job subtracts after it ran, so it is 0 only when the
  // pool is quiescent. seq_cst: it takes part in two Dekker pairs (with accepting_ in submit and
  // shutdown, with idle_waiters_ in finished() and wait_idle()).
  alignas(kCacheLine) std::atomic<std::uint64_t> pending_{0};
  alignas(kCacheLine) std::atomic<bool> accepting_{true};
  std::atomic<std::uint32_t> idle_waiters_{0};
  std::mutex idle_mutex_;
  std::condition_variable idle_cv_;
  std::uint64_t idle_epoch_ = 0;  // guarded by idle_mutex_: bumped each time pending_ reaches 0

  std::atomic<std::uint32_t> started_{0};  // workers that called worker_started()
  std::mutex lifecycle_mutex_;             // serialises shutdown()
  bool stopped_ = false;                   // guarded by lifecycle_mutex_
};

}  // namespace tp::detail
