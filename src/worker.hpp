// One worker: its deque, its counters, its thread, and the loop that finds and runs jobs.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>

#include "deadline.hpp"
#include "deque.hpp"
#include "injector.hpp"
#include "job.hpp"
#include "latch.hpp"
#include "placement.hpp"
#include "sleep.hpp"
#include "spin_wait.hpp"
#include "status.hpp"
#include "trace.hpp"
#include "tsan_edges.hpp"

namespace tp::detail {

class Group;
class Pool;
class Worker;

// The function a user knows a job by, for the trace: libtp's own wrappers (a join's half, a
// group's job, a parallel loop's piece) name the function they call (a serial queue's turn keeps
// its own address: its jobs are recorded one by one inside it). Only before the job runs,
// while its record is sure to exist.
const void *traced_function(Job job) noexcept;

// How many jobs a worker takes out of the injector at once: one to run and the rest onto its own
// deque, where it pops them without touching the shared queue and idle peers can steal them.
inline constexpr std::size_t kRefill = 8;

// A worker looks at the injector before its own deque once every this many turns at its own deque
// (jobs moved there from the injector do not count), so that local work (a job that keeps
// re-submitting itself, a waiter's own spawns) cannot starve outside work: an outside job waits
// behind at most this many local jobs on each worker. tokio's choice (its global_queue_interval): a
// prime, so that the check does not fall into step with a periodic pattern of the local work. Its
// cost is one look at the lanes and shards per 61 jobs (a few shared cache lines), nothing on the
// join path: a join takes its second half back with its own pop.
inline constexpr std::uint32_t kInjectorInterval = 61;

// How long a sleeper that registered while peers were awake waits before it looks for work once
// more: the bound on how long a light push (deque.hpp, kLightPushes) that raced with its
// registration can go unnoticed (sleep.md, "Light pushes"). A store leaves a core's store buffer
// in well under a microsecond; a millisecond is a wide margin and costs an idle worker one wake-up.
inline constexpr std::uint64_t kLightPushRecheckNs = 1'000'000;

// Company for a sleeping submitter (sleep.md): a job that a worker took alone from a submission
// lane, as a round trip's job comes, and that ran kCompanyFromNs or longer (up to kCompanyUpToNs:
// beyond, the submitter's wake-up onto a halted core is a small part of its wait) outlasted its
// submitter's spin, which then sleeps in the kernel. Two such jobs, the second starting within
// kCompanyWithinNs of the first one's end, make a pattern: the worker that ran the second, if it is
// the only one awake, wakes another to keep the submitter's core from halting.
inline constexpr std::uint64_t kCompanyFromNs = 3'000;
inline constexpr std::uint64_t kCompanyUpToNs = 200'000;
inline constexpr std::uint64_t kCompanyWithinNs = 50'000;
// Reading the clock twice costs about 60 ns here, a fifth of a no-op round trip: a worker times
// one lone job in this many, and every lone job after a long one, for as long as they stay long.
inline constexpr std::uint32_t kLoneJobTimedEvery = 64;

// The worker the current thread is, if any (a thread is a worker of at most one pool). Defined
// here, constant-initialised, so that the hot paths (every join and spawn asks) read it inline.
// initial-exec: a direct read at a fixed offset from the thread pointer instead of a
// __tls_get_addr call. In a dlopen()ed library this takes a few bytes of glibc's spare static TLS
// (512 bytes by default, glibc.rtld.optional_static_tls); libtp uses 16.
[[gnu::tls_model("initial-exec")]] inline constinit thread_local Worker *tls_worker = nullptr;

// Counters written only by the owning worker (a plain load and store, no locked instruction) and
// read by anyone with relaxed loads: a stats snapshot taken while jobs run may be slightly stale,
// and is exact once the pool is idle (wait_idle() orders the workers' writes before it returns).
class OwnerCounter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void subtract(std::uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

struct WorkerStats {
  OwnerCounter executed, stolen, from_injector, parks, exceptions, cancelled;
  std::atomic<bool> pinned{false};
};

class alignas(kCacheLine) Worker {
 public:
  Worker(Pool &pool, std::size_t index, std::size_t deque_capacity);

  std::size_t index() const noexcept { return index_; }
  // Before the thread starts: the peers to steal from, nearest first (empty: all, rotating).
  void set_victims(VictimOrder victims) { victims_ = std::move(victims); }
  StealingDeque &deque() noexcept { return deque_; }
  const StealingDeque &deque() const noexcept { return deque_; }
  const WorkerStats &stats() const noexcept { return stats_; }
  std::thread &thread() noexcept { return thread_; }

  // The worker this thread is, if it is one of `pool`'s workers.
  static Worker *current(const Pool *pool) noexcept {
    Worker *self = tls_worker;
    return self != nullptr && &self->pool_ == pool ? self : nullptr;
  }

  // The inside half of admission (Pool::submit): jobs spawned by the job running on this worker,
  // from this worker's thread. Counted before they become visible on the deque, then announced
  // (a parked peer may take them). All or nothing: out_of_memory when the deque cannot grow,
  // shutdown once the worker left its loop (from on_worker_stop: nobody would run them).
  //
  // `counted`: false for a job that runs within the running job (a join's second half: the joiner
  // cannot return before it has run), which then is no unfinished job of its own: the joiner
  // stands for it in the counts. Nothing is written to a shared line for it, at any depth of a
  // fork-join tree, also on a thief that descends a stolen subtree (which used to add to the
  // pool's count at each level until it had finished jobs of its own to offset).
  //
  // `kWatched` false: the caller checked observed() and found it false, so that the TSan check
  // is left out (a join checks once for its spawn and both halves, join.hpp).
  template <bool kWatched = true>
  Status spawn(Job job, bool counted = true) noexcept {
    assert(tls_worker == this && "only the worker's own thread pushes onto its deque");
    assert((kWatched || !observed_) && "an unwatched spawn on a watched worker");
    if (exiting_) return Status::shutdown;
    if (counted) count_spawned(1);
    if (kWatched && tsan_edges_ != nullptr) [[unlikely]]
      tsan::release(&tsan_edges_->submitted);
    try {
      deque_.push(job);
    } catch (...) {
      if (counted) cancel_spawned(1);
      return Status::out_of_memory;
    }
    sleep_.notify_pushed_light(deque_);
    return Status::ok;
  }
  Status spawn(const Job *jobs, std::size_t count) noexcept;  // count >= 2: one publishing push

  // Runs a job that was accepted (counted) on this worker's thread. It starts as a job of no
  // group (a group's job names its group itself): whatever ran lower on this stack is not its.
  void run(Job job) noexcept {
    if (observed_) [[unlikely]] {
      run_observed(job);
      return;
    }
    const Group *const outer = std::exchange(running_group_, nullptr);
    invoke(job.fn, job.arg);
    running_group_ = outer;
    stats_.executed.add();
    ++unreported_;
  }

  // The group of the innermost job running on this worker (null: a job of no group, or none).
  // A join's halves run as part of the job that made them and keep it; a job that a waiting
  // worker runs on top of another starts with none (run()). A parallel loop takes its
  // cancellation from it (join.cpp).
  const Group *running_group() const noexcept { return running_group_; }
  void set_running_group(const Group *group) noexcept { running_group_ = group; }

  // Whether someone watches this worker's jobs: ThreadSanitizer is told of the edges, or the
  // pool is traced.
  bool observed() const noexcept { return observed_; }

  // Any thread; a hint: whether this worker is taking jobs from the injector that it may carry
  // along onto its deque, and that are in no queue meanwhile (Pool::normal_work_visible()).
  bool carrying() const noexcept { return carrying_.load(std::memory_order_seq_cst); }

  // Admission for jobs a carrier publishes later (Pool::admit()), on this worker's ledger as if its
  // running job spawned them, and taking them back (unadmit) when they cannot be kept.
  void admit(std::uint64_t count) noexcept {
    assert(!exiting_);
    count_spawned(count);
  }
  void unadmit(std::uint64_t count) noexcept { cancel_spawned(count); }

  // Any thread, after it counted and pushed a high or low job (Pool::submit(Job, Priority)): this
  // worker looks at the priority levels again before its next job. Reads first, so that a stream
  // of priority jobs writes the line once, not once per job. seq_cst: with the count's RMW before
  // it, the first half of a Dekker pair with the worker's drop of the hint (take_prioritized()):
  // either this read sees the hint still set, and the worker's re-check after dropping it sees the
  // count, or it sees the hint dropped and sets it again.
  void hint_priority_work() noexcept {
    if (!priority_hint_.load(std::memory_order_seq_cst)) {
      priority_hint_.store(true, std::memory_order_relaxed);
    }
  }

  // A carrier (Pool::submit_carrier()) that is ending: it is no job of its own, so it takes back
  // the finished job and the executed one that run() counts for it once it returns. Called after
  // the carrier ran at least one carried job, so the executed count never drops below what it was
  // before the carrier started; a stats reader may see it one lower for a moment than just before
  // (until run() adds the carrier's one back).
  void uncount_running_carrier() noexcept {
    --unreported_;
    stats_.executed.subtract(1);
  }

  // A job of a cancelled group ran its on_cancel instead of its function (it counts as executed
  // too: the worker ran it).
  void count_cancelled() noexcept { stats_.cancelled.add(); }

  // A job spawned uncounted (spawn(job, false)) that a thief runs: run() counts every job it runs
  // as finished once it returns, so the job takes that count back first. unreported_ may wrap
  // below zero in between; it is unsigned, and nothing reads it before run() adds the one back.
  void uncount_running_job() noexcept { --unreported_; }

  // Runs a job spawned uncounted on this worker that was not stolen (join's second half, taken
  // back): counted as executed, not as a finished job.
  template <bool kWatched = true>
  void run_uncounted(Job job) noexcept {
    run_inline<kWatched>(job.fn, job.arg);
    stats_.executed.add();
  }

  // Runs `fn(arg)` here as part of the job already running (join's first half): not counted as a
  // job of its own; an exception is caught and counted. `kWatched`: as for spawn().
  template <bool kWatched = true>
  void run_inline(JobFn fn, void *arg) noexcept {
    assert((kWatched || !observed_) && "an unwatched job on a watched worker");
    if (kWatched && trace_ != nullptr) [[unlikely]] {
      run_inline_traced(fn, arg);
      return;
    }
    invoke(fn, arg);
  }

  // Until `latch` opens (true) or `deadline` passes (false): run jobs from the own deque, the
  // injector and the peers; when there is nothing to run, sleep in the sleep protocol, woken by new
  // work (like a parked worker), by the latch opening (sleep.md, "Waiting sleepers") or by the
  // deadline. A job it runs meanwhile is not interrupted: the deadline is seen when it returns.
  bool wait_until(Latch &latch, Deadline deadline = Deadline::never()) noexcept;

  // The thread's body: start hooks, then find and run jobs until the pool stops.
  void main() noexcept;

  // True once the worker left its loop (its stop hook may run): it takes part in no more sleeping
  // or waking, so a wait from its stop hook blocks like an outside thread's.
  bool exiting() const noexcept { return exiting_; }

  // Any thread: the jobs this worker has reported finished, and the jobs its jobs spawned beyond
  // what they took over from its unreported finished ones (pool.hpp, "Counting jobs"). seq_cst
  // loads: the second half of the pairs in report_finished() and Pool::count_changed().
  std::uint64_t finished_jobs() const noexcept {
    return counts_.finished.load(std::memory_order_seq_cst);
  }
  std::uint64_t spawned_jobs() const noexcept {
    return counts_.spawned.load(std::memory_order_seq_cst);
  }

 private:
  // The spin phase, once the worker's own deque and its look at the priority levels (the hint, or
  // the levels themselves) had nothing: a job, or empty when the budget ran out (the worker then
  // parks). Out of line, so that the per-job loop keeps its deque's addresses in registers and
  // builds no SpinWait.
  [[gnu::noinline]] Job look_for_work() noexcept;
  // The spin phase, in two parts of one budget: quiet rounds (still counted as busy) up to
  // `quiet_rounds` of it, then searching rounds until it is spent.
  Job look_quietly(SpinWait &spin, unsigned quiet_rounds) noexcept;
  Job search(SpinWait &spin) noexcept;
  Job poll_injector(SpinWait &spin) noexcept;  // a worker the searcher cap kept from searching
  // How much a take from the injector moves: one job to run and up to kRefill - 1 more onto the
  // deque; `gather`: as much, but a lane holding several jobs is first given a moment to fill up
  // (Lanes::pop) and a shard gives one job; `one`: one job. A batch always comes whole.
  enum class Take { refill, gather, one };
  Job take_from_injector(Take take = Take::refill) noexcept;
  Job take_from_lanes_or_shards(Take take) noexcept;  // take_from_injector() without carrying_
  Job take_from_lanes(std::size_t home, Take take) noexcept;
  Job take_from_shards(std::size_t home, Take take) noexcept;
  Job steal_from_peers() noexcept;
  void unpack(Batch *batch) noexcept;
  void spill(const Job *jobs, std::size_t count) noexcept;
  bool park() noexcept;  // false: the pool stops
  // The next job of this worker's own: from its deque, or once in kInjectorInterval turns from
  // the injector first (jobs moved from the injector onto the deque do not count as turns).
  // Inlined into the loops, which run it once per job: GCC stops doing so by itself once the
  // priority look sits beside it, which adds a call to every job's path.
  [[gnu::always_inline]] inline Job pop_own() noexcept;
  // Priority levels (priority.hpp). Before its normal work, once per job: a high job, or a low one
  // after kLowAgeing looks of this worker while low jobs waited. The common case (nothing waits)
  // is one load of a read-mostly line (priority_hint_).
  Job take_before_normal() noexcept {
    if (!priority_hint_.load(std::memory_order_relaxed)) [[likely]]
      return Job{};
    return take_prioritized();
  }
  [[gnu::noinline]] Job take_prioritized() noexcept;
  // run() for a pool that someone watches (observed_): the same, with the TSan edges around it
  // and the job recorded in the trace.
  [[gnu::noinline]] void run_observed(Job job) noexcept;
  // run_inline() when the pool is traced. Out of line, so that the frame of every join level
  // (run_inline() sits inside the recursion) does not grow by the trace's locals.
  [[gnu::noinline]] void run_inline_traced(JobFn fn, void *arg) noexcept;
  // Calls the job's function; an exception is caught and counted.
  void invoke(JobFn fn, void *arg) noexcept {
    try {
      fn(arg);
    } catch (...) {
      stats_.exceptions.add();
    }
  }
  // Sleeps until a waker's token or `deadline`, as Sleep::wait() does; but a sleeper that
  // registered while `others_awake` looks for work once more after kLightPushRecheckNs.
  Sleep::Wake wait_for_token(bool others_awake, Deadline deadline) noexcept;
  // Sleeps through `wait` (a Sleep::wait() call); in the trace, when it is on, as a park span.
  template <class Wait>
  Sleep::Wake sleep_recorded(Wait wait) noexcept {
    if (trace_ == nullptr) return wait();
    const std::uint64_t parked_at = trace_now();
    const Sleep::Wake why = wait();
    trace_->span(TraceEvent::Kind::park, nullptr, parked_at);
    return why;
  }
  // For the trace, when it is on: what this worker took out of the injector.
  void note_injector_take(std::size_t count) noexcept {
    if (trace_ != nullptr) [[unlikely]]
      trace_->instant(TraceEvent::Kind::injector, static_cast<std::uint32_t>(count));
  }
  Job take_high() noexcept;  // at the start of each spin round: a high job if one waits
  // After a round found no normal work: a low job, if no normal one is visible anywhere.
  Job take_low_if_nothing_else() noexcept;
  Job take_low() noexcept;
  // A worker in wait_until() with nothing to help with sleeps until new work or `latch`. Returns
  // why it woke (Wake::none: the latch opened before it registered; it did not sleep).
  Sleep::Wake sleep_until_work_or(Latch &latch, Deadline deadline) noexcept;
  // The worker counts as searching in the sleep protocol (idempotent); false when the searcher
  // cap refuses (it then counts as running, and should sleep).
  bool start_searching() noexcept;
  // No longer searching (a no-op if it was not): it found a job, or its wait ended. If it was the
  // last searcher and more work is visible, another worker takes over the search.
  void stop_searching() noexcept;
  // run() for a job that came alone out of a lane, timed now and then (kLoneJobTimedEvery): the
  // second long one in a row wakes a sleeper to keep its submitter company (kCompanyFromNs).
  void run_lone(Job job) noexcept;
  void report_finished() noexcept;

  // Accounting for jobs this worker's jobs spawn, before they become visible. A job that finished
  // here but is not yet reported still counts as unfinished in the pool's totals; a spawned job
  // takes over that count instead of adding to this worker's spawned count (see `unreported_`).
  void count_spawned(std::uint64_t count) noexcept {
    if (unreported_ >= count) {
      unreported_ -= count;
      return;
    }
    count_spawned_beyond_unreported(count);
  }
  void count_spawned_beyond_unreported(std::uint64_t count) noexcept;
  // The spawn was refused after count_spawned(): its count is released like a finished job's.
  void cancel_spawned(std::uint64_t count) noexcept { unreported_ += count; }

  Pool &pool_;
  Sleep &sleep_;  // the pool's, for the spawn path's wake-up check
  const std::size_t index_;
  // True while high or low jobs may wait (priority.hpp): set by their submitters
  // (hint_priority_work()), dropped by this worker when it finds none. The one load its look at
  // the priority levels makes per job, on this line, which only priority submitters write (once
  // after each drop): a cache hit with no pointer to follow, where the pool's count would be a
  // second line and a second, dependent load for every job of a program that never uses
  // priorities.
  std::atomic<bool> priority_hint_{false};
  // Whether run() takes the watched path (run_observed()): ThreadSanitizer is told of the edges,
  // or the pool is traced. One predictable branch per job on this line, which the per-job path
  // reads anyway.
  const bool observed_;
  // This worker's trace buffer when the pool is traced (trace.hpp), else null: the one branch a
  // join's halves pay (run_inline()), and steals, injector takes and parks.
  TraceBuffer *const trace_;
  // The pool's addresses for TSan's edges (tsan_edges.hpp) when it announces them; else null,
  // and a spawn pays one predictable branch.
  const tsan::PoolEdges *const tsan_edges_;
  StealingDeque deque_;  // top and bottom each on their own line (see deque.hpp)
  alignas(kCacheLine) WorkerStats stats_;
  // Written by the owner only, read by waiters: on its own line, away from the deque's.
  struct alignas(kCacheLine) Counts {
    std::atomic<std::uint64_t> finished{0};
    std::atomic<std::uint64_t> spawned{0};
  } counts_;
  std::uint64_t victim_seed_;  // owner only: where the next steal pass starts
  VictimOrder victims_;        // read-only once the thread runs
  // Owner only: jobs that finished on this worker and are not yet added to its finished count.
  // Reporting them once per run of the own deque, rather than once per job, keeps the count's line
  // (which waiters read) quiet while the worker is busy. The totals only lag behind the truth,
  // and every worker reports before it searches or parks, so they meet as soon as the last job
  // has finished (sleep.md, "Counting jobs").
  std::uint64_t unreported_ = 0;
  // Owner only. True once the worker left its loop (its stop hook may still be running): what it
  // would push onto its deque now would never run, so spawn() refuses it.
  bool exiting_ = false;
  std::size_t injector_turns_ = 0;  // owner only: see take_from_injector()
  // Owner only: own-deque turns (pop_own() calls) before the next look at the injector.
  std::uint32_t own_turns_left_ = kInjectorInterval;
  bool took_along_ = false;  // owner only: spill() moved injector jobs onto the deque
  // Owner only: the job the main loop is about to run came alone out of a lane (run_lone()).
  bool took_lone_ = false;
  // Owner only, for run_lone(): when the last timed lone job ended if it was long, else the epoch;
  // and the lone jobs run untimed since the last timed one.
  Deadline::Clock::time_point last_long_lone_end_{};
  std::uint32_t lone_jobs_untimed_ = 0;
  // Owner writes, any thread reads: take_from_injector() is under way (carrying()).
  std::atomic<bool> carrying_{false};
  // Owner only: the looks for a job this worker made while low jobs waited without a break, since
  // it last took one (the low level's ageing: priority.hpp).
  std::uint32_t looked_while_low_waits_ = 0;
  // Owner only: whether the sleep protocol counts this worker as searching. A member, not a local
  // of the loop, because jobs run inside a wait or inline (spill()) and must see and settle it.
  bool searching_ = false;
  const Group *running_group_ = nullptr;  // owner only: see running_group()
  std::thread thread_;
};

}  // namespace tp::detail
