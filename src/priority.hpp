// Priority levels: jobs a worker takes before its normal work (high), and jobs it takes only when
// it finds no normal work, or once one has waited long enough (low).
//
// Normal jobs keep their paths (a worker's deque, the injector's lanes and shards), untouched. High
// and low jobs wait in two MPMC queues of their own, shared by the whole pool, whatever thread
// submits them, so that every worker sees them (a high job spawned by a job must not sit on its
// worker's deque behind that worker's normal jobs). One word counts what waits in both, on a line
// of its own that nothing but priority submissions and takes writes. A worker does not read it per
// job: it reads a hint on a read-mostly line of its own (Worker::priority_hint_), which each
// priority submission sets after counting its job and the worker drops when it finds the count
// zero. So the cost of the feature for those who never use it is that one load per job.
//
// The order is an order of *taking*: each worker, as it looks for its next job, takes a high one
// if one waits, else a normal one, else a low one. It is not an order of finishing: jobs taken
// earlier (and jobs on other workers) may still run.
//
// Ageing: a worker counts its looks for a job (one per job it runs, more while it waits in a join
// with nothing to run) made while low jobs waited without a break; at kLowAgeing it takes the
// oldest low job next, whatever else waits, and counts from zero again. So the low job at the head
// of the low queue starts before any one worker has taken more than kLowAgeing other jobs since
// it got there, in time at most kLowAgeing times the longest job (W workers race to reach the
// count first). A count per worker, on its own line: no shared write per job.
#pragma once

#include <atomic>
#include <boost/lockfree/queue.hpp>
#include <cstdint>

#include "deque.hpp"  // kCacheLine
#include "job.hpp"

namespace tp::detail {

enum class Priority { normal = 0, high = 1, low = 2 };

class PriorityQueues {
 public:
  PriorityQueues();  // throws std::bad_alloc
  PriorityQueues(const PriorityQueues &) = delete;
  PriorityQueues &operator=(const PriorityQueues &) = delete;

  // How many looks for a job a worker makes while low jobs wait before it takes one of them.
  static constexpr std::uint32_t kLowAgeing = 64;

  // Any thread; `priority` is high or low. Counts the job first and then pushes it, so that the
  // count is never below what the queues hold (a taker that sees a count and finds the queue
  // still empty just looks elsewhere; the submitter wakes a worker after its push). seq_cst: the
  // first half of the Dekker pairs with a parking worker's re-check (sleep.md) and with a
  // worker's drop of its hint (Worker::hint_priority_work()). False when no queue node can be
  // allocated (nothing is queued then).
  bool push(Job job, Priority priority) noexcept;

  // Zero when nothing waits (the common case). Relaxed: a hint, as a deque's looks_empty(); the
  // take that follows synchronises through the queue.
  std::uint64_t waiting() const noexcept { return waiting_.load(std::memory_order_relaxed); }
  // For the sleep protocol's re-checks (Pool::work_visible()): seq_cst, as the other queues'.
  bool looks_empty() const noexcept { return waiting_.load(std::memory_order_seq_cst) == 0; }

  static bool high_waits(std::uint64_t waiting) noexcept { return waiting >= kHighOne; }
  static bool low_waits(std::uint64_t waiting) noexcept { return (waiting & kLowMask) != 0; }

  // Any thread. A job of that level, or an empty Job when none could be taken.
  Job take_high() noexcept { return take(high_, kHighOne); }
  Job take_low() noexcept { return take(low_, kLowOne); }

 private:
  using Queue = boost::lockfree::queue<Job>;
  // waiting_ = high jobs * kHighOne + low jobs. 32 bits each: a count never underflows (a job is
  // counted before it is pushed and uncounted after it is popped), and 2^32 queued jobs would need
  // 64 GiB of queue nodes.
  static constexpr std::uint64_t kLowOne = 1;
  static constexpr std::uint64_t kHighOne = std::uint64_t{1} << 32;
  static constexpr std::uint64_t kLowMask = kHighOne - 1;

  Job take(Queue &queue, std::uint64_t one) noexcept;

  alignas(kCacheLine) std::atomic<std::uint64_t> waiting_{0};
  // The queues' own shared lines follow the count's: a push or a pop there does not take the
  // count's line away from the workers that read it.
  alignas(kCacheLine) Queue high_;
  Queue low_;
};

}  // namespace tp::detail
