#include "deque.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <thread>
#include <utility>

#include "pause.hpp"
#include "spin_wait.hpp"
#include "steal_epochs.hpp"

namespace tp::detail {

namespace {
constexpr std::memory_order relaxed = std::memory_order_relaxed;
constexpr std::memory_order acquire = std::memory_order_acquire;
constexpr std::memory_order seq_cst = std::memory_order_seq_cst;
}  // namespace

namespace {
// A pop that leaves a ring less than 1/kShrinkRatio full halves it. Growth happens at full, so a
// ring must lose 7/8 of its jobs before it shrinks: no flapping between two sizes.
constexpr std::int64_t kShrinkRatio = 8;
// Rings up to this many jobs (64 KiB) are kept while the worker is busy, and trim() keeps them
// too: a batch of a few thousand jobs, unpacked onto the deque again and again, must not pay for
// a shrink and a regrowth each time (tp_batch in C_burst: 18 -> 24 us when every ring above the
// initial 256 jobs shrank). Memory that matters comes back: 16 workers keep at most 1 MiB.
constexpr std::int64_t kKeptCapacity = 4096;
// How many pause rounds trim() waits for the steal passes that may still read a retired ring. A
// pass takes well under a microsecond, so this is plenty unless the thief was preempted in it;
// then the ring is kept for the next trim (or growth) rather than keeping the worker, still
// counted as searching, from going to sleep.
constexpr unsigned kTrimPatience = 1024;
}  // namespace

StealingDeque::StealingDeque(std::size_t initial_capacity, StealEpochs *epochs)
    : ring_(new Ring(std::bit_ceil(initial_capacity < 2 ? std::size_t{2} : initial_capacity))),
      epochs_(epochs),
      initial_capacity_(ring_.load(relaxed)->capacity()) {}

StealingDeque::~StealingDeque() {
  delete ring_.load(relaxed);
  while (retired_ != nullptr) {
    delete std::exchange(retired_, retired_->retired_next);
  }
}

std::int64_t StealingDeque::wait_for_thief(std::int64_t index) const noexcept {
  // The thief is a few instructions from done: the pool's spin (pauses, then yields), and yields
  // past its budget, since only the thief's store ends this wait (it may have been preempted
  // inside its claim and need this core).
  constexpr unsigned kSpinRounds = 128;  // 64 pauses, then yields
  SpinWait spin(kSpinRounds);
  std::int64_t word;
  while ((word = top_.load(acquire)) == claim_word(index)) {
    if (!spin.spin()) std::this_thread::yield();
  }
  return word;
}

void StealingDeque::push_many(const Job *jobs, std::size_t count) noexcept {
  assert(called_by_owner());
  const std::int64_t bottom = bottom_.load(relaxed);
  Ring *ring = ring_.load(relaxed);
  assert(bottom - top_index(top_.load(relaxed)) + static_cast<std::int64_t>(count) <=
             ring->capacity() &&
         "push_many() needs the room reserve() makes");
  for (std::size_t i = 0; i < count; ++i) ring->put(bottom + static_cast<std::int64_t>(i), jobs[i]);
  // One store publishes them all (seq_cst for the same reason as in push()): a refill of seven
  // jobs costs one xchg instead of seven.
  bottom_.store(bottom + static_cast<std::int64_t>(count), seq_cst);
}

void StealingDeque::reserve(std::size_t count) {
  assert(called_by_owner());
  const std::int64_t bottom = bottom_.load(relaxed);
  const std::int64_t top = top_index(top_.load(acquire));
  Ring *ring = ring_.load(relaxed);
  const std::int64_t needed = bottom - top + static_cast<std::int64_t>(count);
  if (needed > ring->capacity()) {
    grow(ring, top, bottom, needed);
  }
}

std::size_t StealingDeque::size_hint() const noexcept {
  const std::int64_t size = bottom_.load(relaxed) - top_index(top_.load(relaxed));
  return size > 0 ? static_cast<std::size_t>(size) : 0;
}

bool StealingDeque::called_by_owner() const noexcept {
  // The address of a thread-local object names the calling thread.
  static thread_local const char thread_tag = 0;
  const void *expected = nullptr;
  return owner_.compare_exchange_strong(expected, &thread_tag, relaxed) || expected == &thread_tag;
}

std::size_t StealingDeque::capacity() const noexcept {
  return static_cast<std::size_t>(ring_.load(relaxed)->capacity());
}

StealingDeque::Ring *StealingDeque::replace(Ring *ring, std::int64_t top, std::int64_t bottom,
                                            std::int64_t capacity) {
  auto fresh = std::make_unique<Ring>(static_cast<std::size_t>(capacity));              // may throw
  if (epochs_ != nullptr) ring->snapshot.reset(new std::uint64_t[epochs_->thieves()]);  // may throw
  for (std::int64_t i = top; i < bottom; ++i) fresh->put(i, ring->get(i));
  Ring *published = fresh.release();
  // seq_cst, not just release (which lets a thief that acquires the new ring see the copied
  // slots): the snapshot's loads below must not be ordered before this store (steal_epochs.hpp).
  ring_.store(published, seq_cst);
  shrink_below_ = capacity > kKeptCapacity ? capacity / kShrinkRatio : 0;
  if (epochs_ != nullptr) epochs_->snapshot(ring->snapshot.get());
  ring->retired_next = retired_;
  retired_ = ring;
  return published;
}

StealingDeque::Ring *StealingDeque::grow(Ring *ring, std::int64_t top, std::int64_t bottom,
                                         std::int64_t min_capacity) {
  std::int64_t capacity = ring->capacity() * 2;
  while (capacity < min_capacity) {
    capacity *= 2;
  }
  Ring *bigger = replace(ring, top, bottom, capacity);
  reclaim(0);  // rings retired by earlier growth, once no thief can read them
  return bigger;
}

void StealingDeque::shrink_if_mostly_empty() noexcept {
  assert(called_by_owner());
  const std::int64_t bottom = bottom_.load(relaxed);
  const std::int64_t top = top_index(top_.load(acquire));
  if (bottom - top < shrink_below_) shrink(ring_.load(relaxed), top, bottom);
}

void StealingDeque::shrink(Ring *ring, std::int64_t top, std::int64_t bottom) noexcept {
  try {
    replace(ring, top, bottom, std::max(kKeptCapacity, ring->capacity() / 2));
  } catch (...) {
    return;  // no memory for the smaller ring: keep the bigger one
  }
  reclaim(0);
}

void StealingDeque::trim() noexcept {
  assert(called_by_owner());
  Ring *ring = ring_.load(relaxed);
  const std::int64_t top = top_index(top_.load(acquire));
  assert(bottom_.load(relaxed) <= top && "trim() is for an empty deque");
  if (ring->capacity() > std::max(initial_capacity_, kKeptCapacity)) {
    try {
      replace(ring, top, top, initial_capacity_);
    } catch (...) {
      // No memory for the small ring: keep the big one.
    }
  }
  reclaim(kTrimPatience);
}

void StealingDeque::reclaim(unsigned patience) noexcept {
  if (epochs_ == nullptr) return;  // nobody says when thieves are done: freed with the deque
  Ring **link = &retired_;
  while (Ring *ring = *link) {
    for (unsigned round = 0; round < patience && !epochs_->passed(ring->snapshot.get()); ++round) {
      cpu_pause();
    }
    if (epochs_->passed(ring->snapshot.get())) {
      *link = ring->retired_next;
      delete ring;
    } else {
      link = &ring->retired_next;
    }
  }
}

std::size_t StealingDeque::retired_rings() const noexcept {
  std::size_t count = 0;
  for (const Ring *ring = retired_; ring != nullptr; ring = ring->retired_next) ++count;
  return count;
}

}  // namespace tp::detail
