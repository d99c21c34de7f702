#include "deque.hpp"

#include <bit>
#include <cassert>
#include <utility>

namespace tp::detail {

namespace {
constexpr std::memory_order relaxed = std::memory_order_relaxed;
constexpr std::memory_order acquire = std::memory_order_acquire;
constexpr std::memory_order release = std::memory_order_release;
constexpr std::memory_order seq_cst = std::memory_order_seq_cst;
}  // namespace

StealingDeque::StealingDeque(std::size_t initial_capacity)
    : ring_(new Ring(std::bit_ceil(initial_capacity < 2 ? std::size_t{2} : initial_capacity))) {}

StealingDeque::~StealingDeque() {
  delete ring_.load(relaxed);
  while (retired_ != nullptr) {
    delete std::exchange(retired_, retired_->retired_next);
  }
}

void StealingDeque::push(Job job) {
  assert(called_by_owner());
  const std::int64_t bottom = bottom_.load(relaxed);
  // Acquire pairs with the thieves' CAS on top: once we see that a slot was stolen, we may reuse
  // it.
  const std::int64_t top = top_.load(acquire);
  Ring *ring = ring_.load(relaxed);
  if (bottom - top > ring->capacity() - 1) {
    ring = grow(ring, top, bottom, bottom - top + 1);
  }
  ring->put(bottom, job);
  // Publishes the slot (and everything the submitter wrote before, e.g. the job's argument) to
  // the thief that acquires `bottom_`. The paper needs only release here; seq_cst also makes the
  // push the first half of the sleep protocol's store-load pair (Sleep::notify_pushed()), which
  // then needs no fence. On x86-64 that is one xchg instead of a mov, and no shared line is
  // written.
  bottom_.store(bottom + 1, seq_cst);
}

void StealingDeque::push_many(const Job *jobs, std::size_t count) noexcept {
  assert(called_by_owner());
  const std::int64_t bottom = bottom_.load(relaxed);
  Ring *ring = ring_.load(relaxed);
  assert(bottom - top_.load(relaxed) + static_cast<std::int64_t>(count) <= ring->capacity() &&
         "push_many() needs the room reserve() makes");
  for (std::size_t i = 0; i < count; ++i) ring->put(bottom + static_cast<std::int64_t>(i), jobs[i]);
  // One store publishes them all (seq_cst for the same reason as in push()): a refill of seven
  // jobs costs one xchg instead of seven.
  bottom_.store(bottom + static_cast<std::int64_t>(count), seq_cst);
}

void StealingDeque::reserve(std::size_t count) {
  assert(called_by_owner());
  const std::int64_t bottom = bottom_.load(relaxed);
  const std::int64_t top = top_.load(acquire);
  Ring *ring = ring_.load(relaxed);
  const std::int64_t needed = bottom - top + static_cast<std::int64_t>(count);
  if (needed > ring->capacity()) {
    grow(ring, top, bottom, needed);
  }
}

Job StealingDeque::pop() noexcept {
  assert(called_by_owner());
  const std::int64_t bottom = bottom_.load(relaxed) - 1;
  Ring *ring = ring_.load(relaxed);
  // Claim the bottom slot before looking at top: the seq_cst store/load pair is the store-load
  // barrier that keeps a thief and the owner from both taking the last job.
  bottom_.store(bottom, seq_cst);
  std::int64_t top = top_.load(seq_cst);
  if (top > bottom) {  // empty
    bottom_.store(bottom + 1, relaxed);
    return Job{};
  }
  Job job = ring->get(bottom);
  if (top == bottom) {  // the last job: race the thieves for it
    if (!top_.compare_exchange_strong(top, top + 1, seq_cst, relaxed)) {
      job = Job{};
    }
    bottom_.store(bottom + 1, relaxed);
  }
  return job;
}

StealingDeque::StealResult StealingDeque::steal(Job &out) noexcept {
  std::int64_t top = top_.load(seq_cst);
  // seq_cst orders this read after the read of top (the paper's fence) and acquires the owner's
  // release store in push, which makes the slot and the job's data visible.
  const std::int64_t bottom = bottom_.load(seq_cst);
  if (top >= bottom) {
    return StealResult::empty;
  }
  // Read the ring after bottom: a bottom that covers a slot in a newer ring implies we see that
  // ring.
  const Ring *ring = ring_.load(acquire);
  const Job job = ring->get(top);
  if (!top_.compare_exchange_strong(top, top + 1, seq_cst, relaxed)) {
    return StealResult::lost_race;
  }
  out = job;
  return StealResult::success;
}

std::size_t StealingDeque::size_hint() const noexcept {
  const std::int64_t size = bottom_.load(relaxed) - top_.load(relaxed);
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

StealingDeque::Ring *StealingDeque::grow(Ring *ring, std::int64_t top, std::int64_t bottom,
                                         std::int64_t min_capacity) {
  std::int64_t capacity = ring->capacity() * 2;
  while (capacity < min_capacity) {
    capacity *= 2;
  }
  auto bigger = std::make_unique<Ring>(static_cast<std::size_t>(capacity));  // may throw
  for (std::int64_t i = top; i < bottom; ++i) {
    bigger->put(i, ring->get(i));
  }
  ring->retired_next = retired_;
  retired_ = ring;
  Ring *published = bigger.release();
  // Release: a thief that acquires the new ring sees the copied slots.
  ring_.store(published, release);
  return published;
}

}  // namespace tp::detail
