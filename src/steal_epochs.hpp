// When a deque's retired ring may be freed: quiescent-state-based reclamation for the thieves.
//
// A thief loads a deque's ring pointer and then reads a slot of that ring. When the owner replaces
// the ring (it grew, or shrank), a thief may still be between those two reads, so the old ring
// cannot be freed at once (deque.hpp). Each thief announces its steal passes here, with a counter
// of its own that is odd while a pass is under way. After publishing the new ring, the owner takes
// a snapshot of every thief's counter; the old ring may be freed once every thief whose counter
// was odd in the snapshot has moved on (its pass ended; any later pass loads the new ring).
//
// Why that is enough: the owner's publication of the new ring and its snapshot loads, and a
// thief's odd store and its load of the ring pointer, are seq_cst: they lie in one total order. If
// the snapshot read a thief's counter even (or older than the thief's current pass), that pass's
// odd store comes after the snapshot load, so after the publication, and the pass's ring load sees
// the new ring (or a newer one). A pass that was under way at the snapshot shows as the odd value
// it had, and the ring waits until the counter changes. Nothing is ever read from a freed ring.
//
// Costs: a thief writes its own cache line twice per steal pass (one locked instruction for the
// odd store); the owner reads every thief's line when it retires a ring (the snapshot) and when it
// frees rings, which happens when a ring grew or shrank and when the worker goes to sleep.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include "deque.hpp"  // kCacheLine

namespace tp::detail {

class StealEpochs {
 public:
  explicit StealEpochs(std::size_t thieves)
      : count_(thieves), slots_(new Slot[thieves == 0 ? 1 : thieves]) {}

  std::size_t thieves() const noexcept { return count_; }

  // Thief `thief` only: a steal pass begins; from now until leave() it may read any ring it loads.
  void enter(std::size_t thief) noexcept {
    std::atomic<std::uint64_t> &seq = slots_[thief].seq;
    seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
  }
  // Thief `thief` only: the pass is over; it holds no ring pointer any more.
  void leave(std::size_t thief) noexcept {
    std::atomic<std::uint64_t> &seq = slots_[thief].seq;
    seq.store(seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Every thief's counter, into `out` (thieves() entries), after the old ring was unpublished.
  void snapshot(std::uint64_t *out) const noexcept {
    for (std::size_t t = 0; t < count_; ++t) out[t] = slots_[t].seq.load(std::memory_order_seq_cst);
  }

  // True once no thief can still read a ring unpublished before `snapshot` was taken.
  bool passed(const std::uint64_t *snapshot) const noexcept {
    for (std::size_t t = 0; t < count_; ++t) {
      if (snapshot[t] % 2 == 1 && slots_[t].seq.load(std::memory_order_acquire) == snapshot[t]) {
        return false;
      }
    }
    return true;
  }

  // A thief's steal pass, as a scope, entered on the first enter() call (if any).
  class LazyPass {
   public:
    LazyPass(StealEpochs &epochs, std::size_t thief) noexcept : epochs_(epochs), thief_(thief) {}
    ~LazyPass() {
      if (entered_) epochs_.leave(thief_);
    }
    LazyPass(const LazyPass &) = delete;
    LazyPass &operator=(const LazyPass &) = delete;
    void enter() noexcept {
      if (entered_) return;
      entered_ = true;
      epochs_.enter(thief_);
    }

   private:
    StealEpochs &epochs_;
    std::size_t thief_;
    bool entered_ = false;
  };

  // A thief's steal pass, as a scope.
  class Pass {
   public:
    Pass(StealEpochs &epochs, std::size_t thief) noexcept : epochs_(epochs), thief_(thief) {
      epochs_.enter(thief_);
    }
    ~Pass() { epochs_.leave(thief_); }
    Pass(const Pass &) = delete;
    Pass &operator=(const Pass &) = delete;

   private:
    StealEpochs &epochs_;
    std::size_t thief_;
  };

 private:
  struct alignas(kCacheLine) Slot {
    std::atomic<std::uint64_t> seq{0};  // written by its thief only; odd during a steal pass
  };
  const std::size_t count_;
  const std::unique_ptr<Slot[]> slots_;
};

}  // namespace tp::detail
