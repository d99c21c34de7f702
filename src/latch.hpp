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
  explicit Latch(std::uint32_t count = 0) noexcept : state_(count * kOne) {}
  Latch(const Latch &) = delete;
  Latch &operator=(const Latch &) = delete;

  // Any thread: `count` more jobs will finish() this latch. Relaxed: the job that carries the
  // latch is published afterwards with release semantics, which orders this increment first.
  // At most 2^31 - 1 jobs may be unfinished at once.
  void add(std::uint32_t count = 1) noexcept {
    state_.fetch_add(count * kOne, std::memory_order_relaxed);
  }

  // Any thread, once per job, after the job ran. The release pairs with done()'s acquire: what the
  // job wrote is visible to the thread that sees the latch open.
  //
  // Only a finisher that takes the count to zero while a waiter is blocked wakes anyone, so the
  // common case (nobody blocked: the joining worker took its job back, or is helping) makes no
  // system call. The finisher touches the latch only through its RMW: once the count is zero the
  // waiter may return and free the latch (often on its stack). The wake that may follow is a futex
  // system call on the address, which reads no user memory; at worst it wakes an unrelated waiter
  // on reused memory spuriously, and every waiter re-checks its condition.
  void finish() noexcept {
    if (state_.fetch_sub(kOne, std::memory_order_acq_rel) == (kOne | kWaiter)) state_.notify_all();
  }

  bool done() const noexcept { return count(state_.load(std::memory_order_acquire)) == 0; }

  // Blocks until done(). For threads that cannot help (outside the pool), or for a worker that
  // found nothing to help with. Any number of threads may wait.
  void wait() noexcept {
    std::uint32_t state = state_.load(std::memory_order_acquire);
    while (count(state) != 0) {
      // Announce a blocked waiter in the same word as the count, so that the last finish() sees
      // it in its RMW (no separate flag it would have to read after the latch may be gone).
      if ((state & kWaiter) == 0 &&
          !state_.compare_exchange_weak(state, state | kWaiter, std::memory_order_acquire)) {
        continue;  // `state` was reloaded
      }
      state |= kWaiter;
      state_.wait(state, std::memory_order_acquire);  // futex on this word; re-checked in the loop
      state = state_.load(std::memory_order_acquire);
    }
  }

 private:
  // state_ = 2 * (unfinished jobs) + (1 if a waiter may be blocked). 32 bits: a futex word.
  static constexpr std::uint32_t kWaiter = 1;
  static constexpr std::uint32_t kOne = 2;
  static std::uint32_t count(std::uint32_t state) noexcept { return state / kOne; }

  std::atomic<std::uint32_t> state_;
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
