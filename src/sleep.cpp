#include "sleep.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>

#include "shared_writes.hpp"
#include "spin_wait.hpp"

namespace tp::detail {

namespace {

// Raw futex calls on the token rather than std::atomic::wait/notify: libstdc++ 12's notify skips
// the system call when its own waiter count reads zero. With the token stored with release (as it
// was), that store and the count's load may be reordered against the sleeper's increment of the
// count and its check of the token (the store-buffer pattern), and the wake-up is lost.
// FUTEX_WAKE always enters the kernel, which compares the token with the sleeper's expected value
// atomically: no window.
void futex_wait(std::atomic<std::uint32_t> &word, std::uint32_t expected,
                const timespec *timeout = nullptr) noexcept {
  syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, expected, timeout, nullptr, 0);
}
void futex_wake_one(std::atomic<std::uint32_t> &word) noexcept {
  syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
}

// Rounds a sleeper spends on its token before the futex (half paused, half yielded).
constexpr unsigned kTokenSpinRounds = 16;

}  // namespace

Sleep::Sleep(std::size_t workers)
    : workers_(workers),
      state_(workers * kUnparkedOne),  // every worker starts awake, none searching yet
      parkers_(new Parker[workers]) {
  parked_.reserve(workers);
  waiting_.reserve(workers);
}

void Sleep::notify_work(unsigned sleepers) noexcept {
  // Dekker with prepare_park() and stop_searching() (sleep.md, "Why no wake-up is lost"). The
  // job was published by a Boost.Lockfree push, whose orderings are not seq_cst, so we read the
  // state with a read-modify-write: it reads the latest value of state_, and if the last
  // searcher's RMW comes after it, that RMW synchronises with ours and its re-check of the
  // queues sees the job. No fence needed (ThreadSanitizer does not model fences).
  count_shared_write(SharedLine::sleep_state);
  if (should_wake(state_.fetch_add(0, std::memory_order_seq_cst))) wake(sleepers);
}

void Sleep::wake(unsigned sleepers) noexcept {
  constexpr unsigned kMostAtOnce = 2;
  std::uint32_t chosen[kMostAtOnce];
  unsigned woken = 0;
  {
    const std::unique_lock lock = lock_sleepers();
    // Re-check under the lock: another notifier may have woken a worker meanwhile, and
    // unparked < workers_ implies a sleeper is listed only while we hold the lock.
    if (!should_wake(state_.load(std::memory_order_seq_cst))) return;
    while (woken < sleepers && woken < kMostAtOnce) {
      if (!parked_.empty()) {
        chosen[woken] = parked_.back();
        parked_.pop_back();
      } else if (!waiting_.empty()) {
        chosen[woken] = waiting_.back();
        waiting_.pop_back();
        parkers_[chosen[woken]].waiting_on = nullptr;  // it searches now; its latch need not
      } else {
        break;
      }
      ++woken;
    }
    if (woken == 0) return;
    // The woken workers count as awake and searching from now, so that the submissions racing
    // with their wake-up take the fast path instead of waking more workers for the same jobs.
    count_shared_write(SharedLine::sleep_state);
    state_.fetch_add(woken * (kUnparkedOne + kSearchingOne), std::memory_order_seq_cst);
  }
  for (unsigned i = 0; i < woken; ++i) unpark(chosen[i], Wake::work);
}

bool Sleep::try_start_searching() noexcept {
  // Half the workers, at least one. A CAS rather than an increment: the cap must hold.
  const std::uint64_t cap = workers_ / 2 > 0 ? workers_ / 2 : 1;
  std::uint64_t state = state_.load(std::memory_order_relaxed);
  do {
    if (searching(state) >= cap) return false;
  } while (!state_.compare_exchange_weak(state, state + kSearchingOne, std::memory_order_seq_cst,
                                         std::memory_order_relaxed));
  count_shared_write(SharedLine::sleep_state);
  return true;
}

bool Sleep::stop_searching() noexcept {
  // An RMW: it synchronises with every notify_work() RMW before it (see notify_work()).
  count_shared_write(SharedLine::sleep_state);
  const std::uint64_t before = state_.fetch_sub(kSearchingOne, std::memory_order_seq_cst);
  assert(searching(before) >= 1 && "stop_searching() without start_searching()");
  return searching(before) == 1;
}

Sleep::ParkTicket Sleep::prepare_park(std::size_t worker, bool searching_now) noexcept {
  assert(worker < workers_);
  std::uint64_t before;
  {
    count_shared_write(SharedLine::sleep_state);
    const std::unique_lock lock = lock_sleepers();
    // Checked under the lock that stop_all() takes: a worker either sees stopping_ here, or is
    // listed by the time stop_all() looks, and is woken by it.
    if (stopping_) return ParkTicket{true, false, false};
    before = state_.fetch_sub(kUnparkedOne + (searching_now ? kSearchingOne : 0),
                              std::memory_order_seq_cst);
    assert(!searching_now || searching(before) >= 1);
    parked_.push_back(static_cast<std::uint32_t>(worker));
  }
  // A worker that was not searching was counted as running by every publisher until now: like a
  // waiting sleeper, it re-checks whatever the other searchers do.
  return ParkTicket{false, !searching_now || searching(before) == 1, unparked(before) > 1};
}

bool Sleep::unpark_self(std::size_t worker) noexcept {
  assert(worker < workers_);
  const std::unique_lock lock = lock_sleepers();
  // The same condition as wake()'s, read under the same lock: where notify_work() would wake
  // nobody, a searcher finds the work, and the caller sleeps as it would have.
  if (!should_wake(state_.load(std::memory_order_seq_cst))) return false;
  const auto self = static_cast<std::uint32_t>(worker);
  if (const auto parked = std::find(parked_.begin(), parked_.end(), self);
      parked != parked_.end()) {
    parked_.erase(parked);
  } else if (const auto waiting = std::find(waiting_.begin(), waiting_.end(), self);
             waiting != waiting_.end()) {
    *waiting = waiting_.back();
    waiting_.pop_back();
    parkers_[worker].waiting_on = nullptr;
  } else {
    return false;  // a waker took us off the list: its token is on its way
  }
  count_shared_write(SharedLine::sleep_state);
  state_.fetch_add(kUnparkedOne + kSearchingOne, std::memory_order_seq_cst);
  return true;
}

bool Sleep::register_waiting(std::size_t worker, const void *latch, bool searching) noexcept {
  assert(worker < workers_ && latch != nullptr);
  assert(!stopping_ && "the pool stops only once no job is left, and a waiter is inside one");
  // The same seq_cst RMW as a parking searcher's: the first half of the Dekker pair with
  // notify_work()/notify_pushed() that the caller's re-check of the queues completes.
  count_shared_write(SharedLine::sleep_state);
  [[maybe_unused]] const std::uint64_t before =
      state_.fetch_sub(kUnparkedOne + (searching ? kSearchingOne : 0), std::memory_order_seq_cst);
  assert(unparked(before) >= 1 && (!searching || this->searching(before) >= 1));
  parkers_[worker].waiting_on = latch;
  waiting_.push_back(static_cast<std::uint32_t>(worker));
  return unparked(before) > 1;
}

void Sleep::wake_waiters_of(const void *latch) noexcept {
  const std::unique_lock lock = lock_sleepers();
  // Every worker still listed as waiting for this latch. One that a notify_work() took first is
  // awake already and will see the latch open by itself. Notified under the lock: few waiters, and
  // this is not a hot path (only a latch that a worker went to sleep on gets here).
  for (std::size_t i = 0; i < waiting_.size();) {
    const std::uint32_t worker = waiting_[i];
    if (parkers_[worker].waiting_on != latch) {
      ++i;
      continue;
    }
    parkers_[worker].waiting_on = nullptr;
    waiting_[i] = waiting_.back();
    waiting_.pop_back();
    count_shared_write(SharedLine::sleep_state);
    state_.fetch_add(kUnparkedOne, std::memory_order_seq_cst);  // awake, not searching
    unpark(worker, Wake::latch);
  }
}

Sleep::Wake Sleep::wait(std::size_t worker) noexcept {
  std::atomic<std::uint32_t> &token = parkers_[worker].token;
  // A few rounds before the futex: a wake-up that comes right after the worker listed itself (a
  // submission that found it asleep a moment ago) then costs the woken side nothing. As
  // libstdc++'s atomic wait did, which the token used before: without these rounds a round trip
  // of a 4.5 us job took 1.3-1.8x as long (B_cpu_bound, 12 interleaved pairs).
  SpinWait spin(kTokenSpinRounds);
  spin.until([&] { return token.load(std::memory_order_acquire) != 0; });
  std::uint32_t why;
  while ((why = token.load(std::memory_order_acquire)) == 0) {
    futex_wait(token, 0);  // returns on a wake, a signal, or at once if the token changed
  }
  token.store(0, std::memory_order_relaxed);  // only this worker's waker sets it, once per sleep
  return static_cast<Wake>(why);
}

Sleep::Wake Sleep::wait(std::size_t worker, Deadline deadline) noexcept {
  if (deadline.is_never()) return wait(worker);
  std::atomic<std::uint32_t> &token = parkers_[worker].token;
  while (token.load(std::memory_order_acquire) == 0) {
    if (!deadline.passed()) {
      const timespec left = deadline.remaining();
      futex_wait(token, 0, &left);  // a wake, a signal, the timeout, or the token changed
    } else if (withdraw_waiting(worker)) {
      return Wake::timeout;
    } else {
      return wait(worker);  // a waker took us off the list: its token is on its way
    }
  }
  return wait(worker);  // the token is set: take it as an untimed wait does
}

Sleep::Wake Sleep::wait_at_most(std::size_t worker, Deadline until) noexcept {
  std::atomic<std::uint32_t> &token = parkers_[worker].token;
  SpinWait spin(kTokenSpinRounds);  // as wait() does, for a wake-up that comes right away
  spin.until([&] { return token.load(std::memory_order_acquire) != 0; });
  while (token.load(std::memory_order_acquire) == 0) {
    if (until.passed()) return Wake::none;  // still listed: a waker may choose us yet
    const timespec left = until.remaining();
    futex_wait(token, 0, &left);  // a wake, a signal, the timeout, or the token changed
  }
  return wait(worker);  // the token is set: take it as an untimed wait does
}

bool Sleep::withdraw_waiting(std::size_t worker) noexcept {
  const std::unique_lock lock = lock_sleepers();
  // Every waker takes a sleeper off its list, and clears waiting_on, under this lock before it
  // sets the token: still listed means nobody chose us, and nobody can once we are off.
  Parker &parker = parkers_[worker];
  if (parker.waiting_on == nullptr) return false;
  parker.waiting_on = nullptr;
  const auto listed =
      std::find(waiting_.begin(), waiting_.end(), static_cast<std::uint32_t>(worker));
  assert(listed != waiting_.end() && "a worker with a latch to wait on is listed as waiting");
  *listed = waiting_.back();
  waiting_.pop_back();
  // Awake again, not searching, as a worker woken for its latch: it re-checks its latch and the
  // queues itself.
  count_shared_write(SharedLine::sleep_state);
  state_.fetch_add(kUnparkedOne, std::memory_order_seq_cst);
  return true;
}

void Sleep::stop_all() noexcept {
  const std::unique_lock lock = lock_sleepers();
  stopping_ = true;
  assert(waiting_.empty() && "stop_all() while a job waits");
  while (!parked_.empty()) {
    const std::size_t worker = parked_.back();
    parked_.pop_back();
    state_.fetch_add(kUnparkedOne + kSearchingOne, std::memory_order_seq_cst);
    unpark(worker, Wake::stop);
  }
}

void Sleep::unpark(std::size_t worker, Wake why) noexcept {
  std::atomic<std::uint32_t> &token = parkers_[worker].token;
  count_shared_write(SharedLine::token);
  [[maybe_unused]] const std::uint32_t previous =
      token.exchange(static_cast<std::uint32_t>(why), std::memory_order_release);
  assert(previous == 0 && "a sleeper is listed once, so it is woken once");
  futex_wake_one(token);
}

}  // namespace tp::detail
