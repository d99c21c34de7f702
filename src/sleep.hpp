// The idle protocol: which workers are searching for work, which are parked, and whom to wake.
// The reasoning (why no wake-up is lost, why submissions make no system call while workers are
// busy) is in sleep.md beside this file.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "deque.hpp"  // kCacheLine

namespace tp::detail {

class Sleep {
 public:
  explicit Sleep(std::size_t workers);
  Sleep(const Sleep &) = delete;
  Sleep &operator=(const Sleep &) = delete;

  // Any thread, right after it made a job visible in the injector (or found work it wants a
  // peer to take). Wakes one parked worker when no worker is searching; costs one atomic
  // read-modify-write otherwise.
  void notify_work() noexcept;

  // The same, right after a push onto a deque, which publishes with a seq_cst store: then a
  // seq_cst load is enough and no shared line is written. This is the fork-join hot path.
  void notify_pushed() noexcept;

  // The worker found no work in its own deque and starts looking elsewhere.
  void start_searching() noexcept;

  // The searching worker found a job. True when it was the last searcher: it must then wake
  // another worker if more work is visible (see sleep.md, "the last searcher").
  bool stop_searching() noexcept;

  struct ParkTicket {
    bool stopping;       // the pool is stopping: do not park, exit the worker loop
    bool last_searcher;  // the caller was the last searcher: re-check for work before waiting
  };

  // A searching worker that found nothing registers as parked. Unless `stopping`, it must then
  // (if `last_searcher`) re-check for work and call notify_work() if it finds any, and then call
  // wait(). From this call on, the worker is counted as parked and searching no more.
  ParkTicket prepare_park(std::size_t worker) noexcept;

  // Blocks until a notify_work() or stop_all() chose this worker. The worker then counts as
  // unparked and searching (the waker counted it so before waking it).
  void wait(std::size_t worker) noexcept;

  // Marks the pool stopping and wakes every parked worker; later prepare_park() calls say stop.
  void stop_all() noexcept;

 private:
  // state_ packs two counters so that one load sees them consistently:
  // the low half counts searching workers, the high half unparked workers.
  static constexpr std::uint64_t kSearchingOne = 1;
  static constexpr std::uint64_t kUnparkedOne = std::uint64_t{1} << 32;
  static std::uint64_t searching(std::uint64_t state) noexcept { return state & 0xffffffffu; }
  static std::uint64_t unparked(std::uint64_t state) noexcept { return state >> 32; }

  bool should_wake(std::uint64_t state) const noexcept {
    return searching(state) == 0 && unparked(state) < workers_;
  }
  void wake_one() noexcept;
  void unpark(std::size_t worker) noexcept;

  // One wake-up token per worker, each on its own line: the waker writes it, the sleeper waits
  // on it (futex through std::atomic::wait).
  struct alignas(kCacheLine) Parker {
    std::atomic<std::uint32_t> token{0};
  };

  const std::uint64_t workers_;
  alignas(kCacheLine) std::atomic<std::uint64_t> state_;
  alignas(kCacheLine) std::mutex mutex_;
  std::vector<std::uint32_t> sleepers_;  // guarded by mutex_; capacity reserved: never allocates
  bool stopping_ = false;                // guarded by mutex_
  std::unique_ptr<Parker[]> parkers_;
};

}  // namespace tp::detail
