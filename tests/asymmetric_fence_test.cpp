// The asymmetric fence (src/asymmetric_fence.hpp) as a store-buffering litmus test: one thread
// stores x with store_light() and loads y; the other stores y, runs heavy_fence() and loads x.
// Without a barrier on both sides x86 lets both loads miss both stores (each store still sits in
// its core's store buffer); with the heavy fence that outcome is forbidden. The test fails if the
// fence does not drain the other thread's store buffer (with heavy_fence() replaced by a compiler
// barrier, it saw the forbidden outcome in each of three runs of 20000 rounds on a 2-core VM).
#include "asymmetric_fence.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace {

using tp::detail::asymmetric_fences;
using tp::detail::heavy_fence;
using tp::detail::store_light;

constexpr std::memory_order relaxed = std::memory_order_relaxed;

TEST(AsymmetricFence, ForbidsTheStoreBufferingOutcome) {
  if (!asymmetric_fences()) GTEST_SKIP() << "no membarrier here (or ThreadSanitizer)";
  constexpr std::uint64_t kRounds = 20000;
  // Each on its own line, as the pool's counters are.
  alignas(64) std::atomic<std::uint64_t> x{0};
  alignas(64) std::atomic<std::uint64_t> y{0};
  alignas(64) std::atomic<std::uint64_t> round{0};  // the round both threads may start
  alignas(64) std::atomic<std::uint64_t> common_done{0};
  alignas(64) std::atomic<std::uint64_t> common_saw{0};  // the y the common side read
  std::uint64_t forbidden = 0;

  std::thread common([&] {
    for (std::uint64_t r = 1; r <= kRounds; ++r) {
      while (round.load(std::memory_order_acquire) != r) {
      }
      store_light(x, r, true);
      common_saw.store(y.load(std::memory_order_seq_cst), relaxed);
      common_done.store(r, std::memory_order_release);
    }
  });
  for (std::uint64_t r = 1; r <= kRounds; ++r) {
    round.store(r, std::memory_order_release);
    y.store(r, relaxed);
    heavy_fence();
    const std::uint64_t rare_saw = x.load(relaxed);
    while (common_done.load(std::memory_order_acquire) != r) {
    }
    if (rare_saw != r && common_saw.load(relaxed) != r) ++forbidden;
  }
  common.join();
  EXPECT_EQ(forbidden, 0u) << "both sides missed the other's store";
}

TEST(AsymmetricFence, TheSymmetricFormIsAPlainSeqCstStore) {
  std::atomic<int> value{0};
  store_light(value, 7, false);
  EXPECT_EQ(value.load(), 7);
  store_light(value, 8, true);
  EXPECT_EQ(value.load(), 8);
}

}  // namespace
