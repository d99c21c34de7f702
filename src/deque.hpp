// The per-worker stealing deque: a growable Chase-Lev deque.
//
// Algorithm and memory orderings: N. M. Lê, A. Pop, A. Cohen, F. Zappa Nardelli, "Correct and
// Efficient Work-Stealing for Weak Memory Models", PPoPP 2013 (Fig. 1), itself a C11 rendering of
// D. Chase and Y. Lev, "Dynamic Circular Work-Stealing Deque", SPAA 2005; but the last job is
// arbitrated as in Cilk-5 (claims, below), not by a CAS of the owner.
//
// One owner thread pushes and pops at the bottom (LIFO: the most recently spawned job is the one
// whose data is still in cache); any number of thieves steal at the top (FIFO: the oldest job is
// usually the biggest piece of a divide-and-conquer tree).
//
// Deviations from the paper, each deliberate:
// - The paper's `store(relaxed); fence(seq_cst); load(relaxed)` pairs are written as seq_cst
//   store and load. Under C++20 all seq_cst operations lie in one total order, which gives the
//   same store-load ordering the fences give, and ThreadSanitizer understands it (it does not model
//   standalone fences). On x86-64 this is the same code: one locked instruction on the owner's pop.
//   The push's store is release, as in the paper (kLightPushes, below).
// - The paper's `consume` load of the array is `acquire`.
// - A slot is two relaxed atomics rather than one 16-byte atomic (which would need a lock or a
//   cmpxchg16b per read). A thief reads a slot only while it holds a claim on it, and the owner
//   neither pops a claimed slot (it waits) nor overwrites it (a push counts it as still in the
//   deque), so the two halves cannot be torn.
// - The last job goes to the owner without a compare-and-swap, as in Cilk-5's THE protocol
//   (M. Frigo, C. E. Leiserson, K. H. Randall, "The Implementation of the Cilk-5 Multithreaded
//   Language", PLDI 1998): a thief *claims* the top job (a CAS that sets top's low bit), then
//   looks at bottom again, and only then reads the job and releases the claim with top advanced
//   (a plain store); it gives the job back when the owner has taken it. The owner's pop is a store
//   to bottom and a load of top, nothing else, and waits only when a thief holds a claim on the
//   very job it is popping. The paper's owner CASes top to take the last job: one write to a line
//   thieves share on every join whose deque held just that job (a 1-worker pool, a worker's
//   deque at the bottom of a recursion), which issue #12 asks to bring to zero. A steal now writes
//   twice (claim and release) instead of once.
// - The ring also shrinks: shrink_if_mostly_empty() halves a ring of more than 4,096 jobs that is
//   less than 1/8 full (the worker calls it now and then), and trim() puts an empty deque of more
//   than 4,096 back to its initial capacity (the worker does so before it sleeps). Smaller rings
//   are kept: regrowing them for every batch cost more than they weigh.
// - A replaced ring (grown or shrunk) is retired, not freed: a thief may have loaded it and not yet
//   read its slot. It is freed once every steal pass that may have loaded it has ended
//   (steal_epochs.hpp, a quiescent-state scheme); without a StealEpochs, with the deque.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "job.hpp"
#include "shared_writes.hpp"
#include "tsan_edges.hpp"  // kBuiltWithTsan

namespace tp::detail {

inline constexpr std::size_t kCacheLine = 64;

// Whether push() publishes with a plain release store (a "light push") rather than a seq_cst one.
// A join pushes once and pops once; the seq_cst store was a locked instruction (xchg) on every
// join, and fib(30) ran 1.46x as fast without it (sleep.md, "Light pushes"). The sleep protocol
// then covers the store-load race with a timed re-check of sleepers instead of a fence. Not under
// ThreadSanitizer: it cannot follow an argument that rests on stores draining in bounded time, so
// its builds keep the seq_cst store and the fence-free argument it checks.
inline constexpr bool kLightPushes = !tsan::kBuiltWithTsan;

class StealEpochs;

class StealingDeque {
 public:
  // What a thief got: a job, nothing (the deque looked empty), or a lost race (try again later):
  // another thief held a claim or claimed first, or the owner took the job the claim was for.
  enum class StealResult { success, empty, lost_race };

  // `initial_capacity` is rounded up to a power of two (at least 2). `epochs`: the steal passes
  // of every thread that may steal from this deque (each thief wraps its steal() calls in a
  // StealEpochs::Pass); retired rings are freed as soon as it allows. Without it, only with the
  // deque.
  explicit StealingDeque(std::size_t initial_capacity = 256, StealEpochs *epochs = nullptr);
  ~StealingDeque();
  StealingDeque(const StealingDeque &) = delete;
  StealingDeque &operator=(const StealingDeque &) = delete;

  // Owner only. Throws std::bad_alloc when the deque is full and cannot grow; the job is then not
  // in the deque and nothing already in it is lost. Publishes with a release store (a seq_cst one
  // where !kLightPushes): see republish() for the sleep protocol's side. Inline, as
  // pop() is: a join is a push and a pop, and as calls they cost a third of its instructions
  // (the register saves that the grow path forces on a function of its own; callgrind).
  void push(Job job) {
    assert(called_by_owner());
    const std::int64_t bottom = bottom_.load(std::memory_order_relaxed);
    // Acquire pairs with a thief's release of its claim: once we see that a slot was stolen, we
    // may reuse it. A claimed slot counts as still in the deque.
    const std::int64_t top = top_index(top_.load(std::memory_order_acquire));
    Ring *ring = ring_.load(std::memory_order_relaxed);
    if (bottom - top > ring->mask) [[unlikely]] {
      ring = grow(ring, top, bottom, bottom - top + 1);
    }
    ring->put(bottom, job);
    // Publishes the slot (and everything the submitter wrote before, e.g. the job's argument) to
    // the thief that acquires `bottom_`: the paper needs only release. The signal fence keeps the
    // compiler from moving the sleep protocol's load of its state (Sleep::notify_pushed()) above
    // this store; the processor may still, which sleep.md's "Light pushes" allows for.
    if constexpr (kLightPushes) {
      bottom_.store(bottom + 1, std::memory_order_release);
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      bottom_.store(bottom + 1, std::memory_order_seq_cst);
    }
  }

  // Owner only, after a light push, when the sleep protocol finds a worker asleep: stores bottom
  // again, unchanged, with seq_cst. That makes the push the first half of the protocol's
  // store-load pair (a seq_cst store, then a seq_cst load of the sleep state), as a seq_cst push
  // is: on x86-64 the xchg that a light push leaves out, paid only while some worker sleeps.
  void republish() noexcept {
    assert(called_by_owner());
    bottom_.store(bottom_.load(std::memory_order_relaxed), std::memory_order_seq_cst);
  }

  // Owner only. Pushes `count` jobs in order (the last one is popped first) with one publishing
  // store, after reserve(count) made room: cannot fail then.
  void push_many(const Job *jobs, std::size_t count) noexcept;

  // Owner only. Makes room for `count` more pushes, so that they cannot fail. Throws
  // std::bad_alloc (nothing changes then).
  void reserve(std::size_t count);

  // Owner only. The most recently pushed job, or an empty Job. Always inlined: once the worker
  // loop grew, GCC made it a call there, and the call and its register saves cost every job a
  // worker takes from its own deque 11 more instructions (callgrind, a batch's jobs: 50 -> 61 a
  // job) and C_burst/tp_batch a fifth of its speed.
  [[gnu::always_inline]] Job pop() noexcept {
    assert(called_by_owner());
    const std::int64_t bottom = bottom_.load(std::memory_order_relaxed) - 1;
    Ring *ring = ring_.load(std::memory_order_relaxed);
    // Take the bottom slot before looking at top: the seq_cst store/load pair is the store-load
    // barrier that keeps a thief and the owner from both taking the last job. A thief claims
    // before it looks at bottom again: either we see its claim, or it sees our bottom and gives
    // the job back.
    bottom_.store(bottom, std::memory_order_seq_cst);
    std::int64_t word = top_.load(std::memory_order_seq_cst);
    // A claim on a job above ours is a thief's business, not ours. One comparison on the common
    // path: a claimed or unclaimed top below our job.
    if (top_index(word) >= bottom) [[unlikely]] {  // our job is the last one, or there is none
      if (word == claim_word(bottom)) word = wait_for_thief(bottom);  // a claim on our very job
      if (top_index(word) > bottom) {                                 // empty
        bottom_.store(bottom + 1, std::memory_order_relaxed);
        return Job{};
      }
    }
    return ring->get(bottom);
  }

  // Any thread. The oldest job, when this thread won it. `before_ring()` is called once the deque
  // is seen non-empty, before the ring is read: a thief announces its steal pass there
  // (steal_epochs.hpp), so that a look at an empty deque writes nothing.
  template <class BeforeRing>
  StealResult steal(Job &out, BeforeRing &&before_ring) noexcept {
    std::int64_t word = top_.load(std::memory_order_seq_cst);
    if ((word & kClaimed) != 0) return StealResult::lost_race;  // another thief is at it
    const std::int64_t top = top_index(word);
    // seq_cst orders this read after the read of top (the paper's fence).
    if (top >= bottom_.load(std::memory_order_seq_cst)) return StealResult::empty;
    count_shared_write(SharedLine::deque_top);
    if (!top_.compare_exchange_strong(word, claim_word(top), std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return StealResult::lost_race;
    }
    // The claim is ours, and only we write top until we release it. Look at bottom again, after
    // the claim: the owner may have taken this job since. Its pop stores bottom before it loads
    // top, so either it saw our claim (and waits for us if it wants this very job), or we see its
    // bottom here. seq_cst also acquires the push that filled the slot (its release store).
    if (top >= bottom_.load(std::memory_order_seq_cst)) {
      count_shared_write(SharedLine::deque_top);
      top_.store(word, std::memory_order_release);  // give it back: the owner is taking it
      return StealResult::lost_race;
    }
    before_ring();
    // Read the ring after bottom: a bottom that covers a slot in a newer ring implies we see that
    // ring. seq_cst rather than acquire: with the thief's odd store of its steal-pass counter it
    // makes the Dekker pair that lets the owner free retired rings (steal_epochs.hpp). The claimed
    // slot cannot change under us: the owner neither pops it (it waits) nor overwrites it (a push
    // counts it as still in the deque).
    const Ring *ring = ring_.load(std::memory_order_seq_cst);
    out = ring->get(top);
    // Release: the owner may reuse the slot once it sees top past it.
    count_shared_write(SharedLine::deque_top);
    top_.store((top + 1) << 1, std::memory_order_release);
    return StealResult::success;
  }
  StealResult steal(Job &out) noexcept {
    return steal(out, [] {});
  }

  // Any thread; a hint only (it may be stale by the time the caller looks at it).
  // A job a thief has claimed counts as still there: the claim may be a stale thief's, about to
  // be given back, on a job the owner has just pushed again (the sleep protocol's re-check must
  // see that job; sleep.md, "Onto a deque").
  bool looks_empty() const noexcept {
    return bottom_.load(std::memory_order_seq_cst) <=
           top_index(top_.load(std::memory_order_seq_cst));
  }

  // Any thread; a hint only.
  std::size_t size_hint() const noexcept;

  // Owner only: the ring's current capacity (tests use it to check growth and shrinking).
  std::size_t capacity() const noexcept;

  // Owner only: a ring of more than 4,096 jobs that holds less than 1/8 of its capacity is halved
  // (the hysteresis against growth at full keeps it from flapping). Not part of pop(): the call
  // made every pop save registers (9 instructions more per pop); the worker calls it now and then.
  void shrink_if_mostly_empty() noexcept;

  // Owner only, with the deque empty (the worker is about to sleep): a ring above 4,096 jobs back
  // to the initial capacity, and the retired rings freed, waiting a little for the steal passes
  // that may still read one (a pass is short; a ring whose thief was preempted mid-pass is kept for
  // the next trim). Allocation-free when the ring has its initial capacity already.
  void trim() noexcept;

  // Owner only: rings replaced and not yet freed (tests).
  std::size_t retired_rings() const noexcept;

  // For assertions (debug and sanitizer builds) of the "owner only" rule: the first thread that
  // calls an owner operation owns the deque from then on; true when that is the calling thread.
  bool called_by_owner() const noexcept;

 private:
  struct Slot {
    std::atomic<JobFn> fn{nullptr};
    std::atomic<void *> arg{nullptr};
  };

  struct Ring {
    explicit Ring(std::size_t capacity)
        : mask(static_cast<std::int64_t>(capacity) - 1), slots(new Slot[capacity]) {}

    void put(std::int64_t index, Job job) noexcept {
      Slot &slot = slots[static_cast<std::size_t>(index & mask)];
      slot.fn.store(job.fn, std::memory_order_relaxed);
      slot.arg.store(job.arg, std::memory_order_relaxed);
    }
    Job get(std::int64_t index) const noexcept {
      const Slot &slot = slots[static_cast<std::size_t>(index & mask)];
      return Job{slot.fn.load(std::memory_order_relaxed), slot.arg.load(std::memory_order_relaxed)};
    }
    std::int64_t capacity() const noexcept { return mask + 1; }

    const std::int64_t mask;
    const std::unique_ptr<Slot[]> slots;
    // Owner only, once retired: the next retired ring, and the thieves' counters when this one
    // was unpublished (StealEpochs::snapshot()).
    Ring *retired_next = nullptr;
    std::unique_ptr<std::uint64_t[]> snapshot;
  };

  // `top_` holds top * 2, plus kClaimed while a thief checks that the job at top is still there,
  // reads it, and then releases the claim with top + 1 (or gives it back, unclaimed top).
  static constexpr std::int64_t kClaimed = 1;
  // The word of a thief's claim on the job at `index`.
  static constexpr std::int64_t claim_word(std::int64_t index) noexcept {
    return index << 1 | kClaimed;
  }
  // The oldest job still in the deque. A claimed one counts: the thief may give it back, so the
  // owner must neither overwrite its slot nor leave it out of a new ring.
  static constexpr std::int64_t top_index(std::int64_t word) noexcept { return word >> 1; }
  // Owner, popping the job at `index` while a thief holds a claim on it: waits until the thief
  // released it (it took the job) or gave it back, and returns top's word then. Cold: the claim
  // lasts a few instructions, and only a steal of the deque's last job meets it.
  [[gnu::noinline, gnu::cold]] std::int64_t wait_for_thief(std::int64_t index) const noexcept;

  // Publishes a ring of `capacity` holding [top, bottom) of `ring` and retires `ring`. Throws
  // std::bad_alloc (then nothing changed).
  Ring *replace(Ring *ring, std::int64_t top, std::int64_t bottom, std::int64_t capacity);
  // Out of line and cold: inlined into push() and pop(), they made the hot paths save more
  // registers (4 instructions more per push, measured with callgrind).
  [[gnu::noinline, gnu::cold]] Ring *grow(Ring *ring, std::int64_t top, std::int64_t bottom,
                                          std::int64_t min_capacity);
  [[gnu::noinline, gnu::cold]] void shrink(Ring *ring, std::int64_t top,
                                           std::int64_t bottom) noexcept;
  // Frees the retired rings no thief can read any more, waiting up to `patience` pause rounds for
  // each one's thieves.
  void reclaim(unsigned patience) noexcept;

  // Thieves alone write `top_` (kClaimed, above); the owner alone writes `bottom_` and `ring_`.
  // They sit on separate cache lines so that steals do not invalidate the owner's line.
  alignas(kCacheLine) std::atomic<std::int64_t> top_{0};
  alignas(kCacheLine) std::atomic<std::int64_t> bottom_{0};
  std::atomic<Ring *> ring_;
  Ring *retired_ = nullptr;  // owner only
  StealEpochs *const epochs_;
  const std::int64_t initial_capacity_;
  // Owner only: fewer jobs than this make shrink_if_mostly_empty() shrink the ring (0: the ring is
  // small enough, never). Kept up to date by replace().
  std::int64_t shrink_below_ = 0;
  mutable std::atomic<const void *> owner_{nullptr};  // see called_by_owner(); never on a hot path
};

}  // namespace tp::detail
