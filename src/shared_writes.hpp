// Counting the writes that every path makes to cache lines the whole pool shares: the figure that
// predicts how a path behaves on 64 cores when no such machine is at hand (each such write takes
// the line away from every other core that reads it). A build option, off by default
// (-DTP_COUNT_SHARED_WRITES=ON, the `counters` preset): then every such write adds one to a
// process-wide counter of its kind, and benchmarks/shared_writes_bench prints them per job. Off,
// count() compiles to nothing.
//
// What counts: an atomic write (a store or a read-modify-write) to a line that threads other than
// one owner read or write as part of the pool's protocol: the admitted count, the sleep state and
// its lock, another worker's wake-up token, a latch that another thread waits on, the injector's
// indices and locks, a group's record stack, the top of a deque a thief steals from. What does
// not: a worker's writes to its own deque's bottom, its own counters, its own steal-pass counter;
// plain reads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace tp::detail {

#ifdef TP_COUNT_SHARED_WRITES
inline constexpr bool kCountSharedWrites = true;
#else
inline constexpr bool kCountSharedWrites = false;
#endif

enum class SharedLine : std::size_t {
  admitted,     // Pool::admitted_ (batches, lane overflow, a join from outside)
  sleep_state,  // Sleep::state_
  sleep_lock,   // Sleep::mutex_ (a lock and an unlock count as one write)
  token,        // a sleeping worker's token, set by its waker
  latch,        // a latch written by a thread other than the one that waits on it
  lane,         // a submission lane's ring index (a push or a pop)
  shard,        // an MPMC shard (a push or a pop)
  group,        // a group's record stack (a record taken or given back)
  deque_top,    // the top of a deque: a thief's CAS, or its owner's when it takes the last job
  priority,     // the priority queues' count and nodes (a high or low job submitted or taken)
  count_,
};

inline constexpr std::size_t kSharedLines = static_cast<std::size_t>(SharedLine::count_);

inline const char *shared_line_name(SharedLine line) noexcept {
  static constexpr const char *names[kSharedLines] = {
      "admitted count", "sleep state", "sleep lock",    "wake-up token", "latch",
      "lane index",     "shard",       "group records", "deque top",     "priority queues"};
  return names[static_cast<std::size_t>(line)];
}

// The counters (relaxed: a counting build is not a timing build).
inline std::atomic<std::uint64_t> shared_write_counts[kSharedLines];

inline void count_shared_write(SharedLine line, std::uint64_t writes = 1) noexcept {
  if constexpr (kCountSharedWrites) {
    shared_write_counts[static_cast<std::size_t>(line)].fetch_add(writes,
                                                                  std::memory_order_relaxed);
  }
}

// How a lock on the pool's shared paths is used (the sleep lock): in a counting build, the
// acquisitions that found it held by another thread, and the nanoseconds it was held in all
// (each hold includes one clock read, about 30 ns here). Whether such a lock is a bottleneck on
// many cores follows from these and the acquisitions per job (SharedLine::sleep_lock).
struct LockCounts {
  // Each on its own line, so that the count of the waiting threads does not slow the holder's.
  alignas(64) std::atomic<std::uint64_t> contended{0};
  alignas(64) std::atomic<std::uint64_t> held_ns{0};
};
inline LockCounts sleep_lock_counts;

// std::mutex, counted into `counts` in a counting build; exactly std::mutex's work otherwise.
template <LockCounts &counts>
class CountedMutex {
 public:
  void lock() {
    if constexpr (kCountSharedWrites) {
      if (!mutex_.try_lock()) {
        counts.contended.fetch_add(1, std::memory_order_relaxed);
        mutex_.lock();
      }
      locked_at_ = std::chrono::steady_clock::now();
    } else {
      mutex_.lock();
    }
  }
  void unlock() {
    if constexpr (kCountSharedWrites) {
      const auto held = std::chrono::steady_clock::now() - locked_at_;
      mutex_.unlock();  // the count added after: not part of the hold
      counts.held_ns.fetch_add(
          static_cast<std::uint64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(held).count()),
          std::memory_order_relaxed);
    } else {
      mutex_.unlock();
    }
  }

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::time_point locked_at_{};  // guarded by mutex_ (counting builds only)
};

}  // namespace tp::detail
