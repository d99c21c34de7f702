// The injector: where jobs submitted from outside the pool wait for a worker.
//
// A single Boost.Lockfree queue costs one CAS on a shared line per push and per pop and tops out
// around 6-7 M operations/s under contention. The injector therefore
// - shards: one queue per worker (up to kMaxShards); each producer thread rotates over the shards,
//   so concurrent producers mostly hit different lines, and each worker looks at "its" shard first;
// - carries batches: tp_pool_execute_batch() copies its jobs into one heap block that travels as a
//   single queue entry (a Job whose fn is the batch marker), so a batch costs one push and one pop.
// - has a fast path for single jobs: submission lanes (lanes.hpp), single-producer rings that a
//   producer thread keeps to; a job goes to the shards only when every lane is busy or full.
// Nodes come from each queue's freelist, so a push allocates only until the freelist has grown to
// the largest backlog seen (allocation-free in steady state).
#pragma once

#include <boost/lockfree/queue.hpp>
#include <cstddef>
#include <memory>
#include <vector>

#include "job.hpp"
#include "lanes.hpp"

namespace tp::detail {

// A batch of jobs travelling as one injector entry. Allocated by Injector::push_batch, freed by
// whoever unpacks it (Batch::release).
struct Batch {
  std::size_t count;

  // The jobs follow the header in the same allocation.
  Job *jobs() noexcept { return reinterpret_cast<Job *>(this + 1); }

  static Batch *allocate(const Job *jobs, std::size_t count);  // throws std::bad_alloc
  static void release(Batch *batch) noexcept;
};

class Injector {
 public:
  static constexpr std::size_t kMaxShards = 16;

  // `asymmetric`: see Lanes::Lanes().
  explicit Injector(std::size_t workers, bool asymmetric = false);
  ~Injector();  // frees the batches still queued (only after a failed create)
  Injector(const Injector &) = delete;
  Injector &operator=(const Injector &) = delete;

  // Any thread. A submission lane with room for one job, its producer side held by the caller
  // (Lanes::acquire()); when every lane is full, it gives the core away a few times and tries
  // again. Empty when every lane stays busy or full: the job then goes to push_to_shards().
  Lanes::Producer acquire_lane() noexcept;

  // Any thread: jobs accepted through the lanes so far (pool.hpp, "Counting jobs").
  std::uint64_t accepted_through_lanes() const noexcept { return lanes_.accepted(); }

  // Any thread. One job into an MPMC shard. Throws std::bad_alloc when a queue node cannot be
  // allocated (nothing was queued).
  void push_to_shards(Job job);

  // Any thread. Copies `count` jobs (count >= 1) into one batch entry. Throws std::bad_alloc
  // (nothing was queued).
  void push_batch(const Job *jobs, std::size_t count);

  // Any thread. Moves up to `max` single jobs from one submission lane into `out`, looking at
  // `home` first; returns how many. `gather`: see Lanes::pop.
  std::size_t pop_from_lanes(Job *out, std::size_t max, std::size_t home,
                             bool gather = false) noexcept {
    return lanes_.pop(out, max, home, gather);
  }

  // Any thread. Takes one entry from the shards, looking at `home_shard` first. The entry is either
  // a plain job or a batch: is_batch() tells, as_batch() gets it, and the taker owns it from then
  // on.
  bool pop(Job &out, std::size_t home_shard) noexcept;

  // Any thread; a hint (exact only when no one pushes or pops meanwhile). Reads every lane's
  // publication first (Lanes::looks_empty()).
  bool looks_empty() const noexcept;

  std::size_t shards() const noexcept { return shards_.size(); }

  // A batch entry is the one job without a function: every job the pool accepts has one (the C
  // layer refuses a NULL fn). Not a marker function's address: a linker folding identical code
  // (--icf=all) could give a user's empty job function that same address.
  static bool is_batch(Job job) noexcept { return job.fn == nullptr; }
  static Batch *as_batch(Job job) noexcept { return static_cast<Batch *>(job.arg); }

 private:
  void push_entry(Job entry);  // a job or a batch into a shard; throws std::bad_alloc

  using Queue = boost::lockfree::queue<Job>;
  std::vector<std::unique_ptr<Queue>> shards_;
  Lanes lanes_;
};

}  // namespace tp::detail
