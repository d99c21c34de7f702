// A count of unfinished jobs that a thread can wait on: one per tp_pool_join (the job handed to
// the pool) and one per tp_group (its spawned jobs). It lives wherever its owner puts it, usually
// on the waiting thread's stack, and is never allocated by the pool.
#pragma once

#include <atomic>
#include <cstdint>

#include "job.hpp"

namespace tp::detail {

class Latch {
 public:
  explicit Latch(std::uint64_t count = 0) noexcept : remaining_(count) {}
  Latch(const Latch &) = delete;
  Latch &operator=(const Latch &) = delete;

  // Any thread: `count` more jobs will finish() this latch. Relaxed: the job that carries the
  // latch is published afterwards with release semantics, which orders this increment first.
  void add(std::uint64_t count = 1) noexcept {
    remaining_.fetch_add(count, std::memory_order_relaxed);
  }

  // Any thread, once per job, after the job ran. The release pairs with done()'s acquire: what the
  // job wrote is visible to the thread that sees the latch open.
  //
  // The last finisher wakes blocked waiters after its decrement, when a waiter may already have
  // seen zero and freed the latch (it is often on the waiter's stack). That is safe: the wake is
  // a futex system call on the address, which reads no user memory; at worst it wakes an unrelated
  // waiter on reused memory spuriously, and every waiter re-checks its condition.
  void finish() noexcept {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_all();
  }

  bool done() const noexcept { return remaining_.load(std::memory_order_acquire) == 0; }

  // Blocks until done(). For threads that cannot help (outside the pool), or for a worker that
  // found nothing to help with.
  void wait() const noexcept {
    for (std::uint64_t left = remaining_.load(std::memory_order_acquire); left != 0;
         left = remaining_.load(std::memory_order_acquire)) {
      remaining_.wait(left, std::memory_order_acquire);
    }
  }

  // Blocks until the count changes from `seen` (or returns at once if it already has).
  void wait_for_change(std::uint64_t seen) const noexcept {
    remaining_.wait(seen, std::memory_order_acquire);
  }
  std::uint64_t remaining() const noexcept { return remaining_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::uint64_t> remaining_;
};

// A job that finishes a latch after it ran. Its record lives where the latch's owner puts it (on
// the joining thread's stack, in a group's record pool), and the job that travels through the
// deques and the injector is the two-word Job{&LatchedJob::run, &record}. Keeping Job at two words
// keeps it in registers on every hot path (a three-word Job is passed through memory, and the
// store-forwarding stalls that causes halved the spawn rate).
struct LatchedJob {
  JobFn fn;
  void *arg;
  Latch *done;

  Job job() noexcept { return Job{&LatchedJob::run, this}; }

  // Runs fn(arg), then finishes the latch, also when fn throws (the exception then continues to
  // the worker, which counts it). The record may be gone once the latch is finished.
  static void run(void *record) {
    const LatchedJob job = *static_cast<const LatchedJob *>(record);
    try {
      job.fn(job.arg);
    } catch (...) {
      job.done->finish();
      throw;
    }
    job.done->finish();
  }
};

}  // namespace tp::detail
