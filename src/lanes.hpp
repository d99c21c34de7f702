// Submission lanes: the injector's fast path for single jobs submitted from outside the pool.
//
// Why they exist: a Boost.Lockfree MPMC queue makes every push and every pop CAS the queue's tail
// or head and its node freelist, lines that producer and consumers share: about six cache-line
// transfers per job, which capped one outside thread at ~8 M jobs/s on two cores. A lane is a
// Boost.Lockfree single-producer single-consumer ring (`spsc_queue`): a push is one slot store and
// one index store, and a worker takes up to a refill's worth of jobs with one index update.
//
// A ring needs one producer and one consumer at a time, so each lane has two try-locks, one per
// side, that nobody ever waits on: a producer that finds a lane's producer side taken (another
// thread is submitting through it) tries the next lane, and if every lane is taken or full the job
// goes to the MPMC shards instead; a worker that finds the consumer side taken looks elsewhere.
// Submission therefore stays lock-free: a thread stalled while holding a side only makes others go
// elsewhere. Each producer thread keeps to the lane it used last, so the producer-side lines stay
// in its cache while it submits.
#pragma once

#include <atomic>
#include <boost/lockfree/spsc_queue.hpp>
#include <cstddef>
#include <memory>

#include "deque.hpp"  // kCacheLine
#include "job.hpp"

namespace tp::detail {

class Lanes {
 public:
  // Jobs a lane holds: 64 KiB of slots, touched only as far as a backlog reaches. With 512 the
  // lanes of D_throughput's four producers filled up and a fifth of the jobs spilled to the MPMC
  // shards (4 producers, 2 workers: 165 -> 150 ms for 2*10^6 jobs with 4096).
  static constexpr std::size_t kCapacity = 4096;

  explicit Lanes(std::size_t count);  // count >= 1; throws std::bad_alloc

  // What try_push() did: queued the job, or not because some lane was taken by another producer
  // (the rest full), or because every lane was full.
  enum class Push { done, busy, full };

  // Any thread. Nothing was queued unless it returns Push::done.
  Push try_push(Job job) noexcept;

  // Any thread. Moves up to `max` jobs from one lane, `home` first, into `out`; returns how many.
  // With `backlog` > 0 it moves more than one only from a lane holding at least `backlog` jobs.
  std::size_t pop(Job *out, std::size_t max, std::size_t home, std::size_t backlog = 0) noexcept;

  // Any thread; a hint (exact only when no one pushes or pops meanwhile).
  bool looks_empty() const noexcept;

  std::size_t count() const noexcept { return count_; }

 private:
  // Holds kCapacity jobs (Boost adds the slot that tells a full ring from an empty one).
  using Ring = boost::lockfree::spsc_queue<Job, boost::lockfree::capacity<kCapacity>>;

  struct alignas(kCacheLine) Lane {
    std::atomic<bool> producing{false};
    alignas(kCacheLine) std::atomic<bool> consuming{false};
    alignas(kCacheLine) Ring ring;  // spsc_queue pads its two indices onto lines of their own
  };

  std::size_t count_;
  std::unique_ptr<Lane[]> lanes_;
};

}  // namespace tp::detail
