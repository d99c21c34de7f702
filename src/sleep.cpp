#include "sleep.hpp"

#include <cassert>

namespace tp::detail {

Sleep::Sleep(std::size_t workers)
    : workers_(workers),
      state_(workers * kUnparkedOne),  // every worker starts awake, none searching yet
      parkers_(new Parker[workers]) {
  sleepers_.reserve(workers);
}

void Sleep::notify_work() noexcept {
  // Dekker with prepare_park() and stop_searching() (sleep.md, "Why no wake-up is lost"). The
  // job was published by a Boost.Lockfree push, whose orderings are not seq_cst, so we read the
  // state with a read-modify-write: it reads the latest value of state_, and if the last
  // searcher's RMW comes after it, that RMW synchronises with ours and its re-check of the
  // queues sees the job. No fence needed (ThreadSanitizer does not model fences).
  if (should_wake(state_.fetch_add(0, std::memory_order_seq_cst))) wake_one();
}

void Sleep::notify_pushed() noexcept {
  // The push stored the deque's bottom with seq_cst; a seq_cst load of the state after it, and
  // the searcher's seq_cst RMW on the state before its seq_cst loads of every bottom, order all
  // four in the single total order of seq_cst operations: either we see the searcher gone, or
  // it sees our push (sleep.md).
  if (should_wake(state_.load(std::memory_order_seq_cst))) wake_one();
}

void Sleep::wake_one() noexcept {
  std::size_t chosen;
  {
    std::lock_guard lock(mutex_);
    // Re-check under the lock: another notifier may have woken a worker meanwhile, and
    // unparked < workers_ implies sleepers_ is non-empty only while we hold the lock.
    if (!should_wake(state_.load(std::memory_order_seq_cst)) || sleepers_.empty()) {
      return;
    }
    chosen = sleepers_.back();
    sleepers_.pop_back();
    // The woken worker counts as awake and searching from now, so that the submissions racing
    // with its wake-up take the fast path instead of waking a second worker for the same job.
    state_.fetch_add(kUnparkedOne + kSearchingOne, std::memory_order_seq_cst);
  }
  unpark(chosen);
}

void Sleep::start_searching() noexcept {
  state_.fetch_add(kSearchingOne, std::memory_order_seq_cst);
}

bool Sleep::stop_searching() noexcept {
  // An RMW: it synchronises with every notify_work() RMW before it (see notify_work()).
  const std::uint64_t before = state_.fetch_sub(kSearchingOne, std::memory_order_seq_cst);
  assert(searching(before) >= 1 && "stop_searching() without start_searching()");
  return searching(before) == 1;
}

Sleep::ParkTicket Sleep::prepare_park(std::size_t worker) noexcept {
  assert(worker < workers_);
  std::uint64_t before;
  {
    std::lock_guard lock(mutex_);
    // Checked under the lock that stop_all() takes: a worker either sees stopping_ here, or is in
    // sleepers_ by the time stop_all() looks, and is woken by it.
    if (stopping_) return ParkTicket{true, false};
    before = state_.fetch_sub(kUnparkedOne + kSearchingOne, std::memory_order_seq_cst);
    assert(searching(before) >= 1 && "only a searching worker parks");
    sleepers_.push_back(static_cast<std::uint32_t>(worker));
  }
  return ParkTicket{false, searching(before) == 1};
}

void Sleep::wait(std::size_t worker) noexcept {
  std::atomic<std::uint32_t> &token = parkers_[worker].token;
  while (token.load(std::memory_order_acquire) == 0) {
    token.wait(0, std::memory_order_acquire);  // returns on notify or spuriously; loop re-checks
  }
  token.store(0, std::memory_order_relaxed);  // only this worker's waker sets it, once per park
}

void Sleep::stop_all() noexcept {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  while (!sleepers_.empty()) {
    const std::size_t worker = sleepers_.back();
    sleepers_.pop_back();
    state_.fetch_add(kUnparkedOne + kSearchingOne, std::memory_order_seq_cst);
    unpark(worker);
  }
}

void Sleep::unpark(std::size_t worker) noexcept {
  std::atomic<std::uint32_t> &token = parkers_[worker].token;
  token.store(1, std::memory_order_release);
  token.notify_one();
}

}  // namespace tp::detail
