#include "lanes.hpp"

#include <cassert>
#include <utility>

#include "asymmetric_fence.hpp"
#include "pause.hpp"
#include "shared_writes.hpp"

namespace tp::detail {

namespace {

// Test first, then take: a side that is taken costs a shared read, not a stolen line. The acquire
// orders this holder's ring accesses after the previous holder's (released by unlock()).
bool try_lock(std::atomic<bool> &side) noexcept {
  return !side.load(std::memory_order_relaxed) && !side.exchange(true, std::memory_order_acquire);
}

void unlock(std::atomic<bool> &side) noexcept { side.store(false, std::memory_order_release); }

// The producer side's unlock publishes what the holder pushed: a seq_cst store, which the sleep
// protocol pairs with (sleep.md, "Into a submission lane"). One xchg per submission, and at the
// end of the hold: a publication inside it (a counter on the same line) kept the lane busy for
// the time its store buffer took to drain, and four producers sharing two lanes collided (and
// fell back to the MPMC shards) four to ten times as often: D_throughput_4p 20-30% slower.
void unlock_publishing(std::atomic<bool> &side) noexcept {
  side.store(false, std::memory_order_seq_cst);
}

// The lane this thread pushed through last (kept modulo each pool's lane count when used). Threads
// start spread out, so that concurrent producers mostly own different lanes from the start.
// Constant-initialised and initial-exec, so that reading it costs no __tls_get_addr call.
constexpr std::size_t kNoHint = ~std::size_t{0};
[[gnu::tls_model("initial-exec")]] constinit thread_local std::size_t tls_lane_hint = kNoHint;

std::size_t &producer_hint() noexcept {
  if (tls_lane_hint == kNoHint) {
    static std::atomic<std::size_t> thread_seed{0};
    tls_lane_hint = thread_seed.fetch_add(1, std::memory_order_relaxed);
  }
  return tls_lane_hint;
}

}  // namespace

Lanes::Lanes(std::size_t count, bool asymmetric)
    : count_(count), asymmetric_(asymmetric), lanes_(new Lane[count]) {
  assert(count >= 1);
}

Lanes::Producer Lanes::acquire() noexcept {
  std::size_t &hint = producer_hint();
  Producer producer;
  producer.asymmetric_ = asymmetric_;
  std::size_t index = hint < count_ ? hint : hint % count_;  // usually no division
  for (std::size_t i = 0; i < count_; ++i, index = index + 1 == count_ ? 0 : index + 1) {
    Lane &lane = lanes_[index];
    if (!try_lock(lane.producing)) {
      producer.why_ = Producer::Why::busy;
      continue;
    }
    const std::size_t room = lane.ring.write_available();
    if (room == 0) {  // full (only we could fill it: we hold it)
      unlock(lane.producing);
      continue;
    }
    hint = index;
    producer.lane_ = &lane;
    producer.was_empty_ = room == kCapacity;
    return producer;
  }
  return producer;
}

void Lanes::Producer::accept() noexcept {
  store_light(lane_->accepted, lane_->accepted.load(std::memory_order_relaxed) + 1, asymmetric_);
}

void Lanes::Producer::unaccept() noexcept {
  // seq_cst whatever the fences: the pool then looks for waiters (Pool::count_changed()), which
  // register and then read the counts; neither side of that pair is rare.
  lane_->accepted.store(lane_->accepted.load(std::memory_order_relaxed) - 1,
                        std::memory_order_seq_cst);
}

bool Lanes::Producer::push(Job job) noexcept {
  [[maybe_unused]] const bool pushed = lane_->ring.push(job);
  assert(pushed && "acquire() found room, and only the holder pushes");
  pushed_to_ = lane_;
  // The ring's write index, which consumers read: the one line the whole pool shares that a
  // submission writes. (The producer side, lock and counters, is a line the producer keeps to
  // itself while it submits: not counted.)
  count_shared_write(SharedLine::lane);
  return std::exchange(was_empty_, false);
}

bool Lanes::Producer::taken() const noexcept {
  assert(pushed_to_ != nullptr && "taken() after push()");
  return pushed_to_->ring.empty();
}

void Lanes::Producer::release() noexcept {
  if (lane_ == nullptr) return;
  unlock_publishing(lane_->producing);
  lane_ = nullptr;
}

std::uint64_t Lanes::accepted() const noexcept {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < count_; ++i) {
    total += lanes_[i].accepted.load(std::memory_order_seq_cst);
  }
  return total;
}

std::size_t Lanes::pop(Job *out, std::size_t max, std::size_t home, bool gather) noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    Lane &lane = lanes_[(home + i) % count_];
    if (lane.ring.empty() || !try_lock(lane.consuming)) continue;
    std::size_t most = max;
    if (gather) {
      std::size_t held = lane.ring.read_available();
      if (held == 1) {
        most = 1;  // a lone job (a round trip): no one to wait for
      } else {
        for (unsigned round = 0; held < max && round < kGatherRounds; round += kGatherLookRounds) {
          for (unsigned pause = 0; pause < kGatherLookRounds; ++pause) cpu_pause();
          const std::size_t now = lane.ring.read_available();
          if (now == held) break;  // no new job since the last look: the producer stopped
          held = now;
        }
      }
    }
    const std::size_t taken = lane.ring.pop(out, most);
    unlock(lane.consuming);
    count_shared_write(SharedLine::lane, 2);  // the consumer-side lock and the read index
    if (taken != 0) return taken;
  }
  return 0;
}

bool Lanes::looks_empty() const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    // The lane's producer lock first: a job pushed by a producer whose seq_cst unlock (or a later
    // value) we read is then visible in the ring (the unlock came after the push; sleep.md).
    (void)lanes_[i].producing.load(std::memory_order_seq_cst);
    if (!lanes_[i].ring.empty()) return false;
  }
  return true;
}

}  // namespace tp::detail
