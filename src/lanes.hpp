// Submission lanes: the injector's fast path for single jobs submitted from outside the pool.
//
// A lane also counts the jobs accepted through it (`accepted`, on its producer's line): the pool
// adds these to its tally of accepted jobs instead of incrementing one shared counter per
// submission (pool.hpp, "Counting jobs"). And the producer gives the lane back with a seq_cst store
// (the unlock of its producer side), which is what the sleep protocol pairs with: a submission
// through a lane writes no line but the ring's index that the whole pool shares.
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
#include <cstdint>
#include <memory>
#include <utility>

#include "deque.hpp"  // kCacheLine
#include "job.hpp"

namespace tp::detail {

class Lanes {
  struct Lane;

 public:
  // Jobs a lane holds: 64 KiB of slots, touched only as far as a backlog reaches. With 512 the
  // lanes of D_throughput's four producers filled up and a fifth of the jobs spilled to the MPMC
  // shards (4 producers, 2 workers: 165 -> 150 ms for 2*10^6 jobs with 4096).
  static constexpr std::size_t kCapacity = 4096;

  // count >= 1; throws std::bad_alloc. `asymmetric`: Producer::accept() is a plain store, and the
  // pool runs a heavy fence on the other side of its pair (asymmetric_fence.hpp).
  explicit Lanes(std::size_t count, bool asymmetric = false);

  // A lane held by one producer (its producer side locked) with room for one job, as acquire()
  // returns it. Empty when no lane was free; then `why` says whether some lane was taken by
  // another producer (busy) or every lane was full. Releases the lane when it goes.
  class Producer {
   public:
    enum class Why { busy, full };
    Producer() noexcept = default;
    Producer(Producer &&other) noexcept
        : lane_(std::exchange(other.lane_, nullptr)),
          pushed_to_(other.pushed_to_),
          was_empty_(other.was_empty_),
          why_(other.why_),
          asymmetric_(other.asymmetric_) {}
    Producer &operator=(Producer &&) = delete;
    ~Producer() { release(); }
    explicit operator bool() const noexcept { return lane_ != nullptr; }
    Why why() const noexcept { return why_; }

    // Counts one job accepted through this lane, before it is visible: the first half of the
    // pool's Dekker pair with shutdown, which stores accepting_ and then reads the counts. A
    // seq_cst store, or with asymmetric fences a plain one (shutdown then runs the heavy fence).
    void accept() noexcept;
    // Takes the count back: the pool refused the job (it shuts down). The job was never pushed.
    void unaccept() noexcept;
    // Pushes the job (there is room: acquire() made sure). True when the lane held no other job:
    // nothing queued ahead of it (a round trip's job, not a stream's).
    bool push(Job job) noexcept;
    // Gives the lane back, with a seq_cst store: after a push, the store that the sleep protocol
    // pairs with (Lanes::looks_empty() reads it first). Then read the sleep state.
    void release() noexcept;
    // After push() and release(): whether the lane pushed to is empty, that is, a worker has taken
    // the job (and whatever other producers pushed since). A hint; any thread may be pushing or
    // taking meanwhile.
    bool taken() const noexcept;

   private:
    friend class Lanes;
    Lanes::Lane *lane_ = nullptr;
    Lanes::Lane *pushed_to_ = nullptr;  // kept after release(), for taken()
    // The lane held no job when acquire() read its room (exact or, while a consumer takes, an
    // underestimate: a lane that read empty is empty, since only the holder pushes), until the
    // first push.
    bool was_empty_ = false;
    Why why_ = Why::full;
    bool asymmetric_ = false;
  };

  // Any thread: a lane with room for a job, its producer side locked for the caller.
  Producer acquire() noexcept;

  // Any thread: the jobs accepted through every lane so far (monotonic but for a refused job's
  // take-back). seq_cst loads: see Producer::accept().
  std::uint64_t accepted() const noexcept;

  // Any thread. Moves up to `max` jobs from one lane, `home` first, into `out`; returns how many.
  // With `gather`, a lane holding one job gives just that one, and a lane holding more (its
  // producer is at work) is first given a moment to fill: the caller pauses while the lane keeps
  // growing, until it holds `max` (at most kGatherRounds pauses). It looks at the lane once every
  // kGatherLookRounds pauses, and a look that finds no new job ends the wait (the producer
  // stopped). It waits holding the lane's consumer side: other workers look elsewhere meanwhile.
  // Taken one at a time as they come, a stream's jobs move the ring's indices and slots between
  // the producer's core and the workers' once per job; gathered, once per `max` jobs.
  std::size_t pop(Job *out, std::size_t max, std::size_t home, bool gather = false) noexcept;

  static constexpr unsigned kGatherRounds = 64;  // ~1.7 us of pauses on this project's CI machine
  // ~0.2 us. Each look reads the ring's write index, whose line the producer then has to take back
  // for its next push: looking after every pause (as at first) made most of the producer's pushes
  // wait for that line. One look per 8 pauses: D_throughput_1p 1.3x, C_burst 1.4x faster.
  static constexpr unsigned kGatherLookRounds = 8;

  // Any thread; a hint (exact only when no one pushes or pops meanwhile). Reads each lane's
  // producer lock (seq_cst) before its ring: the second half of the sleep protocol's pair with
  // Producer::release(), for the last searcher's re-check (sleep.md, "Why no wake-up is lost").
  bool looks_empty() const noexcept;

  std::size_t count() const noexcept { return count_; }

 private:
  // Holds kCapacity jobs (Boost adds the slot that tells a full ring from an empty one).
  using Ring = boost::lockfree::spsc_queue<Job, boost::lockfree::capacity<kCapacity>>;

  // The producer side (one line, written only by the producer that holds `producing`), the
  // consumer side's lock, and the ring.
  struct alignas(kCacheLine) Lane {
    std::atomic<bool> producing{false};
    std::atomic<std::uint64_t> accepted{0};
    alignas(kCacheLine) std::atomic<bool> consuming{false};
    alignas(kCacheLine) Ring ring;  // spsc_queue pads its two indices onto lines of their own
  };

  std::size_t count_;
  bool asymmetric_;
  std::unique_ptr<Lane[]> lanes_;
};

}  // namespace tp::detail
