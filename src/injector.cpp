#include "injector.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstring>
#include <new>
#include <thread>

#include "shared_writes.hpp"
#include "tsan_edges.hpp"

namespace tp::detail {

namespace {

// Each producer thread walks the shards from its own starting point, so that concurrent producers
// spread out without sharing a counter (a shared counter would be one more contended line).
std::size_t next_shard(std::size_t shards) noexcept {
  static std::atomic<std::size_t> thread_seed{0};
  thread_local std::size_t cursor = thread_seed.fetch_add(1, std::memory_order_relaxed);
  return cursor++ % shards;
}

// Room for every queue node a worker's refill and a few producers typically need, so that a
// fresh pool does not allocate on its first submissions.
constexpr std::size_t kPreallocatedNodes = 64;

// How many times a submitter that finds every lane full yields its core before it spills the job
// to the shards.
constexpr unsigned kFullLaneYields = 4;

}  // namespace

static_assert(sizeof(Batch) % alignof(Job) == 0, "the jobs after the header must be aligned");

Batch *Batch::allocate(const Job *jobs, std::size_t count) {
  assert(count >= 1);
  void *block = ::operator new(sizeof(Batch) + count * sizeof(Job));  // throws std::bad_alloc
  auto *batch = new (block) Batch{count};
  std::memcpy(static_cast<void *>(batch->jobs()), jobs, count * sizeof(Job));
  // ThreadSanitizer (tsan_edges.hpp) sees the allocation here and the delete on the worker that
  // unpacks it: the one edge between them that it must be told of.
  tsan::release(batch);
  return batch;
}

void Batch::release(Batch *batch) noexcept {
  tsan::acquire(batch);
  ::operator delete(batch);
}

// A lane per worker (at least two, so that two submitting threads need not share one).
Injector::Injector(std::size_t workers, bool asymmetric)
    : lanes_(std::clamp<std::size_t>(workers, 2, kMaxShards), asymmetric) {
  const std::size_t count = std::clamp<std::size_t>(workers, 1, kMaxShards);
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    // Start with the one node a queue needs, then reserve: a constructor that preallocates and
    // fails halfway leaks the nodes it got (its destructor never runs), while reserve() hands each
    // node to the queue as it goes.
    shards_.push_back(std::make_unique<Queue>(0));
    shards_.back()->reserve(kPreallocatedNodes);
  }
}

Injector::~Injector() {
  for (auto &shard : shards_) {
    Job job;
    while (shard->pop(job)) {
      if (is_batch(job)) Batch::release(as_batch(job));
    }
  }
}

Lanes::Producer Injector::acquire_lane() noexcept {
  for (unsigned attempt = 0;; ++attempt) {
    Lanes::Producer lane = lanes_.acquire();
    if (lane) return lane;
    // Every lane full means the workers are thousands of jobs behind, usually because this
    // thread and other submitters hold the cores they need: give the core away a few times
    // before queueing where jobs are dearer to take. Bounded, so a submission never waits for
    // the workers.
    if (lane.why() == Lanes::Producer::Why::busy || attempt == kFullLaneYields) return lane;
    std::this_thread::yield();
  }
}

void Injector::push_to_shards(Job job) {
  assert(job.fn != nullptr && "a job without a function would read as a batch");
  push_entry(job);
}

void Injector::push_entry(Job entry) {
  count_shared_write(SharedLine::shard);
  if (!shards_[next_shard(shards_.size())]->push(entry)) {
    throw std::bad_alloc();
  }
}

void Injector::push_batch(const Job *jobs, std::size_t count) {
  Batch *batch = Batch::allocate(jobs, count);
  try {
    push_entry(Job{nullptr, batch});  // lanes carry single jobs only; see is_batch()
  } catch (...) {
    Batch::release(batch);
    throw;
  }
}

bool Injector::pop(Job &out, std::size_t home_shard) noexcept {
  const std::size_t count = shards_.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (shards_[(home_shard + i) % count]->pop(out)) {
      count_shared_write(SharedLine::shard);
      return true;
    }
  }
  return false;
}

bool Injector::looks_empty() const noexcept {
  return lanes_.looks_empty() &&
         std::all_of(shards_.begin(), shards_.end(),
                     [](const std::unique_ptr<Queue> &shard) { return shard->empty(); });
}

}  // namespace tp::detail
