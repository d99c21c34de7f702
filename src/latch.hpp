// A count of unfinished jobs that a thread can wait on: one per tp_pool_join (the job handed to
// the pool) and one per tp_group (its spawned jobs). It lives wherever its owner keeps it, usually
// on the waiting thread's stack, and is never allocated by the pool.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include "deadline.hpp"
#include "job.hpp"
#include "shared_writes.hpp"
#include "sleep.hpp"
#include "tsan_edges.hpp"

namespace tp::detail {

class Latch {
 public:
  // `sleep`: the sleep protocol of the pool whose workers may wait for this latch (a join's, a
  // group's); null when only threads outside any pool wait (they block on the latch itself).
  explicit Latch(std::uint32_t count = 0, Sleep *sleep = nullptr) noexcept
      : state_(count * kOne), sleep_(sleep) {}
  Latch(const Latch &) = delete;
  Latch &operator=(const Latch &) = delete;

  // Any thread: `count` more jobs will finish() this latch. Relaxed: the job that carries the
  // latch is published afterwards with release semantics, which orders this increment first.
  // At most 2^29 - 1 jobs may be unfinished at once.
  void add(std::uint32_t count = 1) noexcept {
    count_shared_write(SharedLine::latch);
    [[maybe_unused]] const std::uint32_t before =
        state_.fetch_add(count * kOne, std::memory_order_relaxed);
    assert(Latch::count(before) + count < (1u << 29) && "too many unfinished jobs on one latch");
  }

  // As add(1), for a latch whose finisher must see what the caller wrote just before (a serial
  // queue's entry, pushed first): release, which the finisher's acquiring RMW reads (or a later
  // value in the RMW chain, which carries it). True when the latch was open: the caller then starts
  // the work that will finish it (the queue's carrier), and the acquire half orders what the
  // previous finisher did (the queue's last job) before that work, wherever it runs.
  bool add_one_after_publishing() noexcept {
    count_shared_write(SharedLine::latch);
    const std::uint32_t before = state_.fetch_add(kOne, std::memory_order_acq_rel);
    assert(Latch::count(before) + 1 < (1u << 29) && "too many unfinished jobs on one latch");
    if (count(before) != 0) return false;
    tsan::acquire(this);  // the acquire half, for ThreadSanitizer (tsan_edges.hpp)
    return true;
  }

  // Any thread, once per job, after the job ran. The release pairs with done()'s acquire: what the
  // job wrote is visible to the thread that sees the latch open.
  //
  // Only a finisher that takes the count to zero while someone sleeps on the latch wakes anyone,
  // so the common case (nobody asleep: the joining worker took its job back, or is helping) makes
  // no system call and takes no lock. The finisher touches the latch only through its RMW (and
  // reads `sleep_`, which never changes, before it): once the count is zero the waiter may return
  // and free the latch (often on its stack). What may follow uses only the latch's address, as a
  // value: a futex wake on it, which reads no user memory (at worst it wakes an unrelated waiter on
  // reused memory spuriously, and every waiter re-checks its condition), and the sleep protocol's
  // search for workers waiting for this address (sleep.md, "Waiting sleepers").
  //
  // True when this finish opened the latch (then the caller must not touch the latch's owner,
  // which may be gone: a serial queue's carrier stops there).
  bool finish() noexcept {
    // Everything needed after the RMW is read before it: the latch may be gone after it.
    Sleep *const sleep = sleep_;
    std::atomic<std::uint32_t> *const word = &state_;
    const void *const key = this;
    tsan::release(this);  // the release half, for ThreadSanitizer (tsan_edges.hpp)
    count_shared_write(SharedLine::latch);
    const std::uint32_t before = word->fetch_sub(kOne, std::memory_order_acq_rel);
    assert(count(before) != 0 && "a latch finished more often than jobs were added");
    assert((count(before) != 1 || (before & kAction) == 0) &&
           "a latch with an action is finished with finish_with()");
    if (count(before) != 1) return false;
    wake_on_opening(before, word, sleep, key);
    return true;
  }

  // As finish(), for a latch whose owner may have an action due when it opens (a group's
  // notifications): when this looks like the last job and the action flag is set, `act()` runs
  // first, with this job's count still held, so the owner (and the latch) is still alive. It must
  // clear the flag (clear_action()) once it took what was due, or leave it when unfinished() shows
  // that a job was added since this look (then that job's finisher acts; we only finish ours). A
  // CAS loop rather than one RMW: only the finisher that takes the count from 1 to 0 may open the
  // latch, and it must do so from a state without the flag. set_action() succeeds only while the
  // count is not zero, so an action set before the opening is seen here, and one set after it finds
  // the latch open (its caller acts itself).
  template <class Act>
  void finish_with(Act act) noexcept {
    Sleep *const sleep = sleep_;
    std::atomic<std::uint32_t> *const word = &state_;
    const void *const key = this;
    tsan::release(this);  // as in finish()
    std::uint32_t before = state_.load(std::memory_order_acquire);
    for (;;) {
      assert(count(before) != 0 && "a latch finished more often than jobs were added");
      if (count(before) == 1 && (before & kAction) != 0) {
        // The action (a group's notifications) follows every job that finished before: for
        // ThreadSanitizer, as the acquiring load above orders them.
        tsan::acquire(this);
        act();
        before = state_.load(std::memory_order_acquire);
        continue;
      }
      count_shared_write(SharedLine::latch);
      if (word->compare_exchange_weak(before, before - kOne, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        break;
      }
    }
    if (count(before) == 1) wake_on_opening(before, word, sleep, key);
  }

  // The owner marks that it has an action due at the next opening (see finish_with()). False when
  // the latch is open now (nothing marked: the action is due at once).
  bool set_action() noexcept { return announce(kAction); }
  // The owner, from inside `act` of finish_with() (the count is held there, so the latch is not
  // open), or when the action it marked was taken back.
  void clear_action() noexcept { state_.fetch_and(~kAction, std::memory_order_acq_rel); }

  // The owner, between uses (a group after its wait): an open latch forgets its waiters' marks, so
  // that its next opening does not look for sleepers that are long gone. A no-op unless open. A
  // waiter still on its way to sleep may have seen a mark cleared here: it sleeps only on a word
  // that holds its flag (wait(), sleeper_announced()), and so sets it again.
  void forget_waiters() noexcept {
    std::uint32_t state = state_.load(std::memory_order_relaxed);
    while (count(state) == 0 && state != 0 &&
           !state_.compare_exchange_weak(state, 0, std::memory_order_relaxed)) {
    }
  }

  bool done() const noexcept { return count(state_.load(std::memory_order_acquire)) == 0; }
  std::uint32_t unfinished() const noexcept {
    return count(state_.load(std::memory_order_acquire));
  }

  // A worker of the latch's pool is about to sleep in the sleep protocol until this latch opens
  // (Sleep::prepare_wait()): marks the latch so that the finisher that opens it looks for sleepers.
  // False when it is open already (nothing marked). The mark stays until the latch is reused; a
  // finisher that finds it with no sleeper left only costs a look under the sleep lock.
  bool announce_sleeper() noexcept {
    assert(sleep_ != nullptr && "only a latch of a pool's job can have sleeping workers");
    return announce(kSleeper);
  }

  // Blocks until done() or until `deadline` passed; returns done(). For threads that cannot help
  // (outside the pool). Any number of threads may wait.
  bool wait(Deadline deadline = Deadline::never()) noexcept {
    std::uint32_t state = state_.load(std::memory_order_acquire);
    for (;;) {
      if (count(state) == 0) {
        tsan::acquire(this);  // the finishers' releases, for ThreadSanitizer (tsan_edges.hpp)
        return true;
      }
      if (deadline.passed()) return false;
      // Sleep only on a word that holds kBlocked itself, announced in the same word as the count
      // so that the opening RMW reads it (no separate flag it would read after the latch may be
      // gone). A flag seen in an earlier load is not enough: it may be an earlier round's, which
      // forget_waiters() cleared after that round opened and before a spawn closed the latch again.
      if ((state & kBlocked) == 0) {
        if (!state_.compare_exchange_weak(state, state | kBlocked, std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
          continue;
        }
        state |= kBlocked;
      }
      timespec relative{};
      if (!deadline.is_never()) relative = deadline.remaining();
      // Sleeps only while the word still holds `state` (the count, and kBlocked: until the
      // opening, which then wakes us); returns on a wake, a timeout, a signal or a change, and the
      // loop tells which mattered.
      syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, state,
              deadline.is_never() ? nullptr : &relative, nullptr, 0);
      state = state_.load(std::memory_order_acquire);
    }
  }

  // Under the sleep mutex, as a worker registers as a waiting sleeper for this latch
  // (Sleep::prepare_wait()): whether the latch is closed and carries kSleeper, so that its opening
  // will look for sleepers under that mutex. The mark announce_sleeper() saw may be an earlier
  // round's, cleared by forget_waiters() since: then the worker announces again. Only an opening
  // clears a mark (and the count is zero then), so one seen on a closed latch holds until the
  // opening that reads it.
  bool sleeper_announced() const noexcept {
    const std::uint32_t state = state_.load(std::memory_order_acquire);
    return count(state) != 0 && (state & kSleeper) != 0;
  }

 private:
  // state_ = 8 * (unfinished jobs) + kBlocked (a thread may block on the futex word) + kSleeper (a
  // worker may sleep in the sleep protocol for it) + kAction (the owner has an action due at the
  // opening: finish_with()). 32 bits: a futex word.
  static constexpr std::uint32_t kBlocked = 1;
  static constexpr std::uint32_t kSleeper = 2;
  static constexpr std::uint32_t kAction = 4;
  static constexpr std::uint32_t kOne = 8;
  static std::uint32_t count(std::uint32_t state) noexcept { return state / kOne; }

  // Sets `flag` unless the latch is open; false when it is.
  // An RMW in the word the finisher decrements: either the finisher's RMW reads the flag, or this
  // CAS reads the count the finisher left (zero) and fails.
  bool announce(std::uint32_t flag) noexcept {
    std::uint32_t state = state_.load(std::memory_order_acquire);
    for (;;) {
      if (count(state) == 0) return false;
      if ((state & flag) != 0) return true;
      if (state_.compare_exchange_weak(state, state | flag, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        return true;
      }
    }
  }

  // After the RMW that opened the latch (`before` is what it read): wakes whoever waits for it.
  // Only addresses are used: the latch may be gone.
  static void wake_on_opening(std::uint32_t before, std::atomic<std::uint32_t> *word, Sleep *sleep,
                              const void *key) noexcept {
    if ((before & kBlocked) != 0) wake_all(word);
    if ((before & kSleeper) != 0) sleep->wake_waiters_of(key);
  }

  // Raw futex calls rather than std::atomic::wait/notify: a timed wait needs a timeout, and a
  // libstdc++ notify skips the system call unless its own waiter table has a waiter.
  static void wake_all(std::atomic<std::uint32_t> *word) noexcept {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
  }

  std::atomic<std::uint32_t> state_;
  Sleep *const sleep_;
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t),
                "the futex word is the atomic itself");
};

// A job that finishes a latch after it ran. Its record lives where the latch's owner keeps it (on
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
