// The idle protocol: which workers are searching for work, which are asleep, and whom to wake.
// A worker sleeps for one of two reasons: it found no work (parked), or it waits in a join or a
// group wait for a latch while there is no work to help with (a waiting sleeper). Both are woken
// by new work they could take; a waiting sleeper also by its latch opening. The reasoning (why no
// wake-up is lost, why submissions make no system call while workers are busy) is in sleep.md.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "deadline.hpp"
#include "deque.hpp"  // kCacheLine
#include "pause.hpp"
#include "shared_writes.hpp"

namespace tp::detail {

class Sleep {
 public:
  explicit Sleep(std::size_t workers);
  Sleep(const Sleep &) = delete;
  Sleep &operator=(const Sleep &) = delete;

  // Why a sleeping worker woke up.
  enum class Wake : std::uint32_t {
    none = 0,     // (not woken: the token is clear)
    work = 1,     // new work: the worker now counts as awake and searching
    latch = 2,    // the latch it waits for opened: it counts as awake, not searching
    stop = 3,     // the pool stops: leave the worker loop
    timeout = 4,  // (a waiting sleeper's deadline passed: it withdrew, and counts as awake)
  };

  // Any thread, right after it made a job visible in the injector (or found work it wants a
  // peer to take). Wakes one sleeper (up to `sleepers`) when no worker is searching; costs one
  // atomic read-modify-write otherwise.
  void notify_work(unsigned sleepers = 1) noexcept;

  // The same, right after a push onto a deque, which publishes with a seq_cst store: then a
  // seq_cst load is enough and no shared line is written. This is the fork-join hot path (inline).
  void notify_pushed() noexcept {
    // The push stored the deque's bottom with seq_cst; a seq_cst load of the state after it, and
    // the searcher's seq_cst RMW on the state before its seq_cst loads of every bottom, order all
    // four in the single total order of seq_cst operations: either we see the searcher gone, or
    // it sees our push (sleep.md).
    if (should_wake(state_.load(std::memory_order_seq_cst))) [[unlikely]]
      wake(1);
  }

  // notify_pushed() for a job that an outside thread submitted into a lane that held no other job
  // (Lanes::Producer::push() said so); `taken()` says whether a worker has taken it. Where
  // notify_pushed() would wake a sleeper while some worker is awake (running a job, or in its
  // quiet rounds), this waits a moment first (kLoneJobWaitRounds pauses) for a searcher to appear
  // or the job to be taken, and wakes no one if either happens. The thread that submits one job
  // and waits for its result submits the next while the worker that ran the last one is still on
  // its way back (inside the job's notification of that thread), and that worker takes it a moment
  // later: a sleeper woken for it finds nothing, and spins on the submitter's core (sleep.md, "A
  // lone job from outside").
  template <class Taken>
  void notify_submitted_alone(Taken taken) noexcept {
    const std::uint64_t state = state_.load(std::memory_order_seq_cst);
    if (should_wake(state)) [[unlikely]]
      wake_unless_taken(state, taken);
  }

  // The same, right after a light push onto `deque` (StealingDeque::push() where kLightPushes):
  // the fork-join hot path. While every worker is awake this is one plain load: a worker that goes
  // to sleep later re-checks once after kLightPushRecheckNs, by when the push is visible to it
  // (sleep.md, "Light pushes"). While some worker sleeps, the push is published again with seq_cst
  // when a searcher might otherwise miss it, and then this is notify_pushed().
  void notify_pushed_light(StealingDeque &deque) noexcept {
    std::uint64_t state = state_.load(std::memory_order_seq_cst);
    if (unparked(state) == workers_) [[likely]]
      return;
    if (searching(state) != 0) {
      deque.republish();
      state = state_.load(std::memory_order_seq_cst);
    }
    if (should_wake(state)) wake(1);
  }

  // A worker that has just run the second of two long jobs from outside in a row, whose submitter
  // sleeps while each runs (Worker::run_lone()): if this worker is the only one awake, wakes
  // another (counted searching, as any woken worker), so that the submitter's next wake-up lands on
  // a core that is running rather than one that halted (sleep.md, "Company for a sleeping
  // submitter"). Only ever an extra wake-up: no rule of the protocol relies on it.
  void keep_company() noexcept {
    const std::uint64_t state = state_.load(std::memory_order_seq_cst);
    if (unparked(state) == 1 && should_wake(state)) wake(1);
  }

  // The worker found no work in its own deque and starts looking elsewhere, unless half the
  // workers (at least one) search already: then false, and nothing changed (tokio's cap: more
  // searchers find no more work, they only read every deque's lines and take them from their
  // owners).
  bool try_start_searching() noexcept;

  // The searching worker found a job. True when it was the last searcher: it must then wake
  // another worker if more work is visible (see sleep.md, "the last searcher").
  bool stop_searching() noexcept;

  struct ParkTicket {
    bool stopping;      // the pool is stopping: do not park, exit the worker loop
    bool must_recheck;  // the caller was the last searcher, or no searcher: re-check for work
    bool others_awake;  // another worker was awake: a light push of its may still be on its way
  };

  // A worker that found nothing registers as parked: a searcher after its spin, or a worker the
  // searcher cap kept from searching (`searching` false). Unless `stopping`, it must then (if
  // `must_recheck`) re-check for work and call unpark_self() if it finds any, and then, unless
  // that returned true, call wait(). From this call on, the worker is counted as parked and
  // searching no more.
  ParkTicket prepare_park(std::size_t worker, bool searching) noexcept;

  // A parked or waiting sleeper whose re-check found work, in place of notify_work(): if a waker
  // would wake someone now (no worker searching), it takes itself off its list and counts as
  // awake and searching, as if woken for work, and returns true. notify_work() would have woken
  // the last worker to park, which need not be the caller: the caller then slept, and the other
  // woke to find the work taken (a wake-up no submission asked for). False when a searcher will
  // find the work, or a waker chose the caller already: then the caller calls wait() as before.
  bool unpark_self(std::size_t worker) noexcept;

  // A worker waiting for the latch whose address is `latch` (Latch::announce_sleeper() done), with
  // nothing to help with, registers as a waiting sleeper, unless `opened()` (read under the lock
  // that the latch's opener takes in wake_waiters_of()) says the latch opened meanwhile, or that
  // its opening would not look for sleepers (Latch::sleeper_announced()): then it returns false
  // and nothing changed. `searching`: whether the worker counts as searching now
  // (it was woken for work and found none). On true, the worker must re-check every queue and
  // call unpark_self() if it finds work (sleep.md, "Waiting sleepers"), then, unless that returned
  // true, call wait().
  // `others_awake` is set as ParkTicket's is.
  template <class Opened>
  bool prepare_wait(std::size_t worker, const void *latch, bool searching, Opened opened,
                    bool &others_awake) {
    const std::unique_lock lock = lock_sleepers();
    if (opened()) return false;
    others_awake = register_waiting(worker, latch, searching);
    return true;
  }

  // Blocks until notify_work(), wake_waiters_of() or stop_all() chose this worker, and says which.
  // A waiting sleeper may give a deadline: once it passes, the worker withdraws from the list
  // (counted awake, not searching, as after Wake::latch) and gets Wake::timeout, unless a waker
  // chose it first (then it gets the waker's reason, as without a deadline).
  Wake wait(std::size_t worker) noexcept;
  Wake wait(std::size_t worker, Deadline deadline) noexcept;

  // As wait(), but once `until` passes the worker stays listed and gets Wake::none: a sleeper's
  // first wait when others were awake as it registered, before its re-check (sleep.md, "Light
  // pushes").
  Wake wait_at_most(std::size_t worker, Deadline until) noexcept;

  // Any thread that opened a latch whose waiters may sleep here (Latch::finish()): wakes every
  // worker sleeping for it. `latch` is only compared, never read: the latch may be gone already.
  void wake_waiters_of(const void *latch) noexcept;

  // Marks the pool stopping and wakes every parked worker; later prepare_park() calls say stop.
  void stop_all() noexcept;

 private:
  // How long notify_submitted_alone() waits for an awake worker before it wakes a sleeper: a
  // worker's way back from a job to its next look, with room to spare (~1.7 us of pauses on this
  // project's CI machine, as Lanes::kGatherRounds).
  static constexpr unsigned kLoneJobWaitRounds = 64;

  // state_ packs two counters so that one load sees them consistently:
  // the low half counts searching workers, the high half awake (not sleeping) workers.
  static constexpr std::uint64_t kSearchingOne = 1;
  static constexpr std::uint64_t kUnparkedOne = std::uint64_t{1} << 32;
  static std::uint64_t searching(std::uint64_t state) noexcept { return state & 0xffffffffu; }
  static std::uint64_t unparked(std::uint64_t state) noexcept { return state >> 32; }

  // Takes mutex_, which every park and every wake-up takes once (never a job on its way in or out
  // of a busy pool), counted as a pool-wide write (and, in a counting build, how long it is held
  // and whether another thread held it: sleep_lock_counts).
  using SleepMutex = CountedMutex<sleep_lock_counts>;
  std::unique_lock<SleepMutex> lock_sleepers() noexcept {
    count_shared_write(SharedLine::sleep_lock);
    return std::unique_lock(mutex_);
  }

  bool should_wake(std::uint64_t state) const noexcept {
    return searching(state) == 0 && unparked(state) < workers_;
  }
  void wake(unsigned sleepers) noexcept;
  template <class Taken>
  [[gnu::noinline]] void wake_unless_taken(std::uint64_t state, Taken taken) noexcept {
    // Each seq_cst load comes after the submitter's seq_cst unlock of its lane, as the first one
    // does: a searcher it counts finds the job, by the argument of sleep.md ("Why no wake-up is
    // lost", into a submission lane), and so does a worker that parks after it (the last one
    // re-checks). Only while nobody is awake is there no one to wait for.
    for (unsigned round = 0; round < kLoneJobWaitRounds && unparked(state) != 0; ++round) {
      cpu_pause();
      if (taken()) return;
      state = state_.load(std::memory_order_seq_cst);
      if (!should_wake(state)) return;
    }
    wake(1);
  }
  bool register_waiting(std::size_t worker, const void *latch, bool searching) noexcept;
  void unpark(std::size_t worker, Wake why) noexcept;
  bool withdraw_waiting(std::size_t worker) noexcept;  // false: a waker chose it first

  // One wake-up token per worker, each on its own line: the waker writes it, the sleeper waits on
  // it (a futex).
  struct alignas(kCacheLine) Parker {
    std::atomic<std::uint32_t> token{0};  // a Wake, set once per sleep by the worker's waker
    const void *waiting_on = nullptr;     // guarded by mutex_: the latch a waiting sleeper awaits
  };

  const std::uint64_t workers_;
  alignas(kCacheLine) std::atomic<std::uint64_t> state_;
  alignas(kCacheLine) SleepMutex mutex_;
  // Guarded by mutex_; capacity reserved for every worker: never allocate. Idle sleepers are
  // woken for work first (LIFO: the most recently parked has the warmest cache); waiting sleepers
  // only when no idle one is left, since their latch may open any moment.
  std::vector<std::uint32_t> parked_;
  std::vector<std::uint32_t> waiting_;
  bool stopping_ = false;  // guarded by mutex_
  std::unique_ptr<Parker[]> parkers_;
};

}  // namespace tp::detail
