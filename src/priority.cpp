#include "priority.hpp"

#include <cassert>

#include "shared_writes.hpp"

namespace tp::detail {

namespace {

// Nodes each queue starts with, so that the first priority submissions do not allocate.
constexpr std::size_t kPreallocatedNodes = 16;

}  // namespace

PriorityQueues::PriorityQueues() : high_(0), low_(0) {
  // Not in the constructors: see Injector::Injector.
  high_.reserve(kPreallocatedNodes);
  low_.reserve(kPreallocatedNodes);
}

bool PriorityQueues::push(Job job, Priority priority) noexcept {
  assert(priority != Priority::normal && "normal jobs take the pool's usual paths");
  const bool high = priority == Priority::high;
  const std::uint64_t one = high ? kHighOne : kLowOne;
  count_shared_write(SharedLine::priority, 2);  // the count and the queue
  waiting_.fetch_add(one, std::memory_order_seq_cst);
  bool pushed;
  try {
    pushed = (high ? high_ : low_).push(job);
  } catch (...) {
    pushed = false;
  }
  if (!pushed) waiting_.fetch_sub(one, std::memory_order_relaxed);
  return pushed;
}

Job PriorityQueues::take(Queue &queue, std::uint64_t one) noexcept {
  Job job;
  if (!queue.pop(job)) return Job{};
  count_shared_write(SharedLine::priority, 2);
  waiting_.fetch_sub(one, std::memory_order_relaxed);
  return job;
}

}  // namespace tp::detail
