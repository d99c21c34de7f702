// The pool, what rayon-core calls the registry: its workers, the one way jobs come in (admission),
// the accounting of accepted jobs, and waiting (for the pool to drain, for a latch). Fork-join
// (join.hpp) and groups (group.hpp) are built on top of it, through submit() and wait_for().
#pragma once

#include <atomic>
#include <cassert>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config.hpp"
#include "deadline.hpp"
#include "injector.hpp"
#include "job.hpp"
#include "latch.hpp"
#include "placement.hpp"
#include "priority.hpp"
#include "shared_writes.hpp"
#include "sleep.hpp"
#include "status.hpp"
#include "steal_epochs.hpp"
#include "topology.hpp"
#include "trace.hpp"
#include "tsan_edges.hpp"
#include "worker.hpp"

namespace tp::detail {

struct StatsSnapshot {
  std::uint64_t executed = 0, stolen = 0, from_injector = 0, parks = 0, exceptions = 0, pinned = 0,
                cancelled = 0;
};

class Pool {
 public:
  // Starts the workers. On failure nothing is left running and `out` is unchanged.
  static Status create(const PoolConfig &config, std::unique_ptr<Pool> &out) noexcept;

  ~Pool();  // shutdown() must have returned ok (or create failed before any job was accepted)
  Pool(const Pool &) = delete;
  Pool &operator=(const Pool &) = delete;

  // Admission: the one way in. Every job enters the pool here, from execute, batches, joins,
  // groups and whatever comes next, so that counting, routing, the shutdown check and the wake-up
  // are written once. All or nothing: either every job is accepted (ok) and will run exactly
  // once, or none is (shutdown, out_of_memory) and none runs. From one of this pool's jobs the
  // jobs go onto the running worker's deque (accepted even while the pool drains: the spawning
  // job keeps it from quiescence); from any other thread into the injector, one job alone through
  // a submission lane, several as one batch entry.
  Status submit(const Job *jobs, std::size_t count) noexcept {
    if (count <= 1) return count == 0 ? Status::ok : submit(jobs[0]);
    if (Worker *self = Worker::current(this)) return self->spawn(jobs, count);
    return submit_from_outside(jobs, count);
  }
  // One job: the hot path of execute, joins and group spawns. By value, so that on a worker the
  // job stays in registers down to the deque (a join's stack frame is its nesting cost).
  Status submit(Job job) noexcept {
    if (Worker *self = Worker::current(this)) return self->spawn(job);
    return submit_from_outside(&job, 1);
  }
  // One job at a priority level (priority.hpp). Normal is submit(job). High and low jobs go into
  // the pool's priority queues from any thread, a job's included, so that every worker sees them;
  // admitted as submit() admits (refused after shutdown), then every worker's hint is set (its
  // per-job look: Worker::hint_priority_work()) and a worker is woken.
  Status submit(Job job, Priority priority) noexcept;

  // Admission without a job to publish, for jobs that a carrier publishes later (a serial
  // queue's entries: serial_queue.hpp). Counts `count` jobs as accepted on this thread's ledger
  // (the running worker's, or admitted_ from outside), or refuses them as submit() would
  // (shutdown). Each admitted job must then run through Worker::run(), which counts it finished,
  // or be taken back on the same thread with unadmit_here().
  Status admit(std::uint64_t count) noexcept;
  void unadmit_here(std::uint64_t count) noexcept;
  // Publishes `carrier`: a job that is not counted itself (it takes back the finished job its run
  // counts: Worker::uncount_running_carrier()) and runs admitted jobs. Never refused for shutdown:
  // the admitted jobs it carries keep the pool from quiescence, so its workers are there to run it.
  // On a worker it goes onto its deque, unless `behind_queued_work` (a carrier that yields its
  // worker to other work): then into the injector's shards. From outside, into the thread's lane
  // (uncounted there), or the shards when no lane has room. out_of_memory when it cannot be
  // pushed.
  Status submit_carrier(Job carrier, bool behind_queued_work) noexcept;

  // Until every job accepted before the call, and what they spawned, has run (from outside the
  // pool only: a job would wait for itself), or until `deadline` (timeout).
  Status wait_idle(Deadline deadline = Deadline::never()) noexcept;

  // Until `latch` opens (true) or `deadline` passes (false): a worker of this pool helps (own
  // deque, injector, peers) and sleeps only when there is nothing to help with; any other thread
  // blocks. A latch that this pool's workers may wait for is made with sleep(), so that opening it
  // wakes a worker sleeping for it.
  bool wait_for(Latch &latch, Deadline deadline = Deadline::never()) noexcept;
  Sleep &sleep() noexcept { return sleep_; }

  Status shutdown() noexcept;

  // The process's default pool (default_pool.cpp), also in a child after fork(), where the
  // parent's is no longer the default but a caller may still hold its handle: such a pool is never
  // shut down or freed by a caller. Marked once, before the pool is published.
  void mark_process_default() noexcept { process_default_ = true; }
  bool process_default() const noexcept { return process_default_; }

  std::size_t workers() const noexcept { return workers_.size(); }
  int current_worker() const noexcept;
  StatsSnapshot stats() const noexcept;
  StatsSnapshot worker_stats(std::size_t worker) const noexcept;
  // The CPUs a worker runs on, in hwloc's list format: its placement if it was bound, else the
  // CPUs the pool's creator could use.
  const std::string &worker_cpus(std::size_t worker) const noexcept;

 private:
  // The workers are part of the registry: they take jobs from the injector and their peers, report
  // finished jobs, park and wake through the members below.
  friend class Worker;

  explicit Pool(const PoolConfig &config);
  void place_workers();  // throws TopologyError (pinning without hwloc), std::bad_alloc
  Status start_workers() noexcept;
  void worker_started() noexcept;  // a worker is bound and hooked; create() waits for all
  void stop_workers() noexcept;    // after the last job: wake everyone, join

  Status submit_from_outside(const Job *jobs, std::size_t count) noexcept;
  // Pushes `job` into `lane`, gives the lane back (which publishes the job) and tells the sleep
  // protocol: notify_submitted_alone() for a job alone in its lane, else notify_pushed().
  // Inlined into both callers: the single submission's hot path makes no call for it.
  [[gnu::always_inline]] inline void publish_in_lane(Lanes::Producer &lane, Job job) noexcept;
  // For ThreadSanitizer (tsan_edges.hpp), after a push into one of the pool's Boost.Lockfree
  // queues: the push may have allocated a node, which the pool frees when it is destroyed, on
  // whichever thread destroys it. The destructor acquires what this releases.
  void announce_allocations() noexcept { tsan::release(&tsan_edges_.allocated); }
  // Counts `count` jobs from a thread outside the pool, not through a lane, as admitted; false
  // (and nothing counted) once shutdown has begun.
  bool admit_from_outside(std::uint64_t count) noexcept;
  void unadmit(std::uint64_t count) noexcept;  // admitted jobs that will not run after all

  // Counting jobs. No counter is shared by every submission and every finished job: accepted jobs
  // are counted where they come in (a lane's producer line, a worker's line for what its jobs
  // spawn, admitted_ for batches and lane overflow), finished jobs on the line of the worker that
  // ran them, and a waiter compares the totals (quiescent()). A worker publishes its finished count
  // when it runs dry (before it searches or sleeps), so the totals meet as soon as the last job
  // has finished and its worker looks for more (sleep.md, "Counting jobs").
  bool quiescent() const noexcept;
  // A count changed (a worker published its finished jobs, an admission was taken back): if
  // someone waits and the pool is quiescent, wake the waiters.
  void count_changed() noexcept;
  // A hint: some thread waits in wait_idle() or shutdown() for the pool to be quiescent.
  bool has_idle_waiters() const noexcept {
    return idle_waiters_.load(std::memory_order_relaxed) != 0;
  }
  bool wait_until_quiescent(Deadline deadline = Deadline::never()) noexcept;  // false: timed out

  // Any job anywhere that a searching worker could take (a hint; see sleep.md for why it is
  // enough where it is used: the last searcher's re-check, the second half of the sleep
  // protocol's Dekker pairs).
  bool work_visible() const noexcept;
  // The same for normal jobs only (the injector and the deques): a worker takes a low job only
  // when this is false, since a steal or a lane it found busy may have hidden a normal job.
  bool normal_work_visible() const noexcept;
  const CpuSet *placement(std::size_t worker) const noexcept {
    return placement_.empty() ? nullptr : &placement_[worker];
  }

  const PoolConfig config_;
  // membarrier is available (asymmetric_fence.hpp). Declared before injector_, which takes it.
  const bool asymmetric_fences_;
  std::shared_ptr<const Topology> topology_;  // the machine's; null if hwloc cannot read it
  std::vector<CpuSet> placement_;             // one per worker when pinning
  std::vector<std::string> placement_lists_;  // placement_ as text, for worker_cpus()
  std::string usable_list_;                   // the CPUs the creator could use, as text
  Injector injector_;
  PriorityQueues priorities_;
  Sleep sleep_;
  StealEpochs steal_epochs_;  // the workers' steal passes, for freeing their deques' old rings
  // The pool's trace when it is traced (trace.hpp), else null. Before workers_, which record
  // into it.
  const std::unique_ptr<Trace> trace_;
  std::vector<std::unique_ptr<Worker>> workers_;
  tsan::PoolEdges tsan_edges_;  // the addresses of this pool's edges for TSan (tsan_edges.hpp)

  // Jobs admitted from outside not through a lane (batches, a lane's overflow, a join from
  // outside), counted before they become visible. seq_cst: it takes part in the Dekker pair with
  // accepting_ (admission against shutdown).
  alignas(kCacheLine) std::atomic<std::uint64_t> admitted_{0};
  alignas(kCacheLine) std::atomic<bool> accepting_{true};
  std::atomic<std::uint32_t> idle_waiters_{0};
  std::mutex idle_mutex_;
  std::condition_variable idle_cv_;
  std::uint64_t idle_epoch_ = 0;  // guarded by idle_mutex_: bumped at each moment of quiescence

  std::atomic<std::uint32_t> started_{0};  // workers that called worker_started()
  std::mutex lifecycle_mutex_;             // serialises shutdown()
  bool stopped_ = false;                   // guarded by lifecycle_mutex_
  bool process_default_ = false;           // see process_default()
};

}  // namespace tp::detail
